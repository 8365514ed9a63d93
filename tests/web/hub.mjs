// Helpers shared by run.mjs and bench.mjs: free ports, a throwaway `iochub demo`, Chromium.

import { spawn } from 'node:child_process';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '../..');
export const HUB_BIN = process.env.IOCHUB_BIN || path.join(os.homedir(), '.cache/iochub-target/release/iochub');
export const SIM_BIN = process.env.IOCHUB_SIM_BIN || path.join(path.dirname(HUB_BIN), 'iochub-sim');
export const ARTIFACTS = process.env.IOCHUB_ARTIFACTS || path.join(here, 'artifacts');
export const PASSWORD = 'web-test-Pa55';

/** A port the OS says is free right now (bind port 0, read it, close). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Poll fn until it returns truthy (then return that), or throw after timeoutMs naming what. */
export async function waitFor(what, fn, timeoutMs = 20000, everyMs = 100) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try { const v = await fn(); if (v) return v; } catch (e) { last = e; }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last.message})` : ''}`);
    await sleep(everyMs);
  }
}

/** A demo hub on the given ports and data dir; .stop() sends SIGTERM and waits for the exit. */
export class Hub {
  constructor({ http, mqtt, dataDir, extraArgs = [], env = {}, log }) {
    Object.assign(this, { http, mqtt, dataDir, extraArgs, extraEnv: env, log });
    this.base = `http://127.0.0.1:${http}`;
    this.mqttUrl = `mqtt://127.0.0.1:${mqtt}`;
  }

  async start() {
    if (!fs.existsSync(HUB_BIN)) throw new Error(`hub binary not found at ${HUB_BIN} (set IOCHUB_BIN)`);
    // The browser tests log in more often than a person would in a minute.
    const env = { ...process.env, IOCHUB_ADMIN_PASSWORD: PASSWORD, IOCHUB_LOGINS_PER_MINUTE: '10000', ...this.extraEnv };
    delete env.IOCHUB_WEB_DIR;
    if (process.env.IOCHUB_WEB_EMBEDDED !== '1') env.IOCHUB_WEB_DIR = process.env.IOCHUB_TEST_WEB_DIR || path.join(repo, 'dashboards/web'); // override: compare another checkout's app
    // the simulated cameras' port, kept across restarts: their URLs are in the data dir
    this.rtsp ??= await freePort();
    const out = fs.openSync(this.log, 'a');
    this.proc = spawn(HUB_BIN, ['demo', '--http', `127.0.0.1:${this.http}`, '--mqtt', `127.0.0.1:${this.mqtt}`, '--rtsp', `127.0.0.1:${this.rtsp}`, '--data-dir', this.dataDir, ...this.extraArgs],
      { env, cwd: repo, stdio: ['ignore', out, out] });
    fs.closeSync(out);
    this.exited = new Promise((r) => this.proc.once('exit', (code, sig) => r({ code, sig })));
    let dead = null;
    this.exited.then((x) => { dead = x; });
    await waitFor(`the hub on ${this.base} to answer /healthz`, async () => {
      if (dead) throw new Error(`hub exited early (${JSON.stringify(dead)}); see ${this.log}`);
      const r = await fetch(`${this.base}/healthz`).catch(() => null);
      return r && (r.status === 200 || r.status === 503);
    }, 30000, 150);
    return this;
  }

  async stop(signal = 'SIGTERM') {
    if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode) return;
    this.proc.kill(signal);
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 15000);
    await this.exited;
    clearTimeout(t);
  }

  async token() {
    const r = await fetch(`${this.base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: PASSWORD }) });
    if (!r.ok) throw new Error(`login failed: ${r.status}`);
    return (await r.json()).token;
  }

  async get(p, token) {
    const r = await fetch(`${this.base}${p}`, { headers: { authorization: `Bearer ${token}` } });
    if (!r.ok) throw new Error(`GET ${p}: ${r.status}`);
    return r.json();
  }

  async post(p, body, token) {
    const r = await fetch(`${this.base}${p}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!r.ok) throw new Error(`POST ${p}: ${r.status} ${await r.text()}`);
    return r.json();
  }
}

// WebGL through SwiftShader (software; this machine has no GPU), the page composited by Chromium's
// own software compositor, as Chromium does on any PC without a usable GPU. Until 2026-12-03 the
// tests also passed --use-angle=swiftshader, which puts the compositor on SwiftShader's emulated
// Vulkan as well: every frame of the whole 1600x900 page then cost ~15-25 ms in SwapBuffers
// (docs/PERFORMANCE.md). IOCHUB_CHROMIUM_ARGS adds flags, e.g. that one to compare.
export async function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless=new', '--no-sandbox', '--disable-background-networking', '--disable-component-update',
      '--disable-dev-shm-usage', '--enable-unsafe-swiftshader',
      ...(process.env.IOCHUB_CHROMIUM_ARGS || '').split(' ').filter(Boolean)],
  });
}

/** Fill the login form of whatever page is loaded and wait until the app says it is ready. */
export async function logIn(page, password = PASSWORD, username = 'admin') {
  await page.waitForSelector('#login form', { state: 'visible', timeout: 15000 });
  await page.fill('#login [name=username]', username);
  await page.fill('#login [name=password]', password);
  await page.click('#login button[type=submit]');
}
