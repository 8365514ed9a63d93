// HTTP to the hub. The browser authenticates with the HttpOnly session cookie (same origin); the
// token from the login answer is never stored. Two failure kinds matter to an operator:
//  - 401: the session is gone -> "sessionexpired" event (the app shows the login with a message);
//  - the hub is unreachable (network error, 502/503/504) -> connection.down(); GETs retry by
//    themselves with exponential backoff until the hub answers, and the banner stays up meanwhile.

import { appEvents } from './events.js';

/** The HTTP status codes the app tells apart. */
export const HTTP = Object.freeze({
  NO_CONTENT: 204,
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  BAD_GATEWAY: 502,
  GATEWAY_TIMEOUT: 504,
});

/** 502, 503, 504: a proxy in front of the hub answered, the hub did not. */
const hubUnreachable = (status) => status >= HTTP.BAD_GATEWAY && status <= HTTP.GATEWAY_TIMEOUT;

export class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

/** Shared connection state for fetches and the WebSocket: one banner, one truth. */
export const connection = {
  fetchDown: false,
  wsDown: false,
  get down() { return this.fetchDown || this.wsDown; },
  set(kind, isDown) {
    const before = this.down;
    this[kind] = isDown;
    if (before !== this.down) appEvents.emit('connectionchange', this.down);
  },
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let expiredSignalled = false;
export function resetExpired() { expiredSignalled = false; }

function signalExpired() {
  if (expiredSignalled) return;
  expiredSignalled = true;
  appEvents.emit('sessionexpired');
}

async function once(method, path, body, background = false, { toml, raw } = {}) {
  const init = { method, credentials: 'same-origin', headers: { accept: raw ? 'application/toml, text/plain' : 'application/json' } };
  // The app's own refreshes are not the person's activity: the hub's idle timeout ignores them.
  if (background) init.headers['x-iochub-background'] = '1';
  if (toml !== undefined) {
    init.headers['content-type'] = 'application/toml';
    init.body = toml;
  } else if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'unreachable', e.message || 'network error');
  }
  if (res.status === HTTP.NO_CONTENT) return null;
  let data;
  const text = await res.text();
  if (raw && res.ok) return text;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) {
    if (hubUnreachable(res.status)) throw new ApiError(res.status, 'unreachable', `HTTP ${res.status}`);
    const err = data && data.error ? data.error : {};
    throw new ApiError(res.status, err.code || `http_${res.status}`, err.message || `HTTP ${res.status}`);
  }
  return data;
}

/**
 * A request. GETs retry on "unreachable" with backoff (1 s doubling to 15 s) for as long as it
 * takes, unless opts.retry === false. A 401 signals session expiry (unless opts.quiet401).
 * opts.background marks the app's own refreshes, which do not keep an idle session alive.
 * opts.toml sends that text as the body (a rules file); opts.raw returns the answer as text.
 */
export async function api(path, opts = {}) {
  const method = opts.method || 'GET';
  const retry = opts.retry ?? method === 'GET';
  let delay = 1000;
  for (;;) {
    try {
      const data = await once(method, path, opts.body, opts.background, opts);
      if (connection.fetchDown) connection.set('fetchDown', false);
      return data;
    } catch (e) {
      if (e.status === HTTP.UNAUTHORIZED && !opts.quiet401) signalExpired();
      if (e.code !== 'unreachable' || !retry) {
        if (e.code !== 'unreachable' && connection.fetchDown) connection.set('fetchDown', false);
        throw e;
      }
      connection.set('fetchDown', true);
      await sleep(delay + Math.random() * 250);
      delay = Math.min(delay * 2, 15000);
    }
  }
}

/** `totp`: the authenticator's code (or a recovery code) of an account with a second factor. */
export async function login(username, password, totp) {
  const body = totp ? { username, password, totp } : { username, password };
  const res = await once('POST', '/api/v1/auth/login', body);
  resetExpired();
  return res;
}

/** Starts enrolling the logged-in account's second factor: {secret, otpauth_url}. */
export async function enrolTotp() {
  return once('POST', '/api/v1/auth/totp');
}

/** Confirms it with the app's first code: {recovery_codes}. */
export async function confirmTotp(code) {
  return once('POST', '/api/v1/auth/totp/confirm', { code });
}

/** Changes the logged-in account's own password; throws ApiError with the hub's code. */
export async function changePassword(current, next) {
  await once('POST', '/api/v1/auth/password', { current, new: next });
}

export async function logout() {
  try { await once('POST', '/api/v1/auth/logout'); } catch { /* already gone */ }
}

/** Is the session cookie still good? true / false; throws ApiError 'unreachable' when the hub is down. */
export async function sessionValid() {
  return (await whoAmI()) !== null;
}

/**
 * The logged-in account (GET /api/v1/auth/me: role, permissions, must_change_password, …), or
 * null without a session; throws ApiError 'unreachable' when the hub is down.
 */
export async function whoAmI() {
  try {
    return (await once('GET', '/api/v1/auth/me')) || {};
  } catch (e) {
    if (e.status === HTTP.UNAUTHORIZED) return null;
    if (e.status === HTTP.NOT_FOUND) {
      // Older hubs without /auth/me: any cheap authenticated GET tells the same.
      try { await once('GET', '/api/v1/rules'); return {}; } catch (e2) { if (e2.status === HTTP.UNAUTHORIZED) return null; throw e2; }
    }
    throw e;
  }
}
