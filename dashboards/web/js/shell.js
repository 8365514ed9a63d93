// What the console (index.html) and the wall (wall/index.html) share: the login overlay, the
// session lifecycle (check at load, any 401 -> login with "session expired"), the connection banner,
// the two live feeds and the clock.
//
// Two WebSocket subscriptions, on purpose: "alerts"+"devices" without a bbox (the ticker, the
// map's colours and the headline counts are for the whole province, whatever the map shows; low
// volume) and "telemetry" (high volume) with a filter the view chooses: the viewport's bbox,
// re-sent on every pan/zoom end, or just the open device — or none at all (feed closed).

import { api, login, logout, whoAmI, connection, resetExpired, HTTP } from './api.js';
import { createPasswordChange } from './pwchange.js';
import { createTotpEnrolment } from './totp.js';
import { LiveFeed } from './live.js';
import { loadCatalog } from './catalog.js';
import { Store } from './store.js';
import { t, applyI18n, toggleLang, fmtTime, fmtDateLong } from './i18n.js';
import { appEvents } from './events.js';

/** How long entering waits for the live feed's subscription before loading the lists anyway. */
const FEED_WAIT_MS = 3000;

export function createShell({ onReady, telemetry = true }) {
  const store = new Store();
  const loginEl = document.getElementById('login');
  const form = loginEl.querySelector('form');
  const msg = loginEl.querySelector('.login-msg');
  const banner = document.getElementById('banner');
  let started = false;
  let feeds = [];
  let telemetryFilter = null;
  let lagTimer = null;
  let lagAgain = false;
  const pwChange = createPasswordChange(loginEl, { onLogout: () => shell.logout() });
  const totpEnrolment = createTotpEnrolment(loginEl, { onLogout: () => shell.logout() });
  // The second step of a login with a second factor: shown when the hub asks for the code.
  const totpField = document.createElement('label');
  totpField.className = 'field';
  totpField.dataset.field = 'totp';
  totpField.hidden = true;
  totpField.innerHTML = '<span data-i18n="login_totp"></span><input name="totp" inputmode="numeric" autocomplete="one-time-code" maxlength="19">';
  form.querySelector('button[type=submit]').before(totpField);

  const shell = {
    store,
    statusFeed: null,
    telemetryFeed: null,
    /** {bbox}, {devices}, or null to close the telemetry feed. */
    setTelemetryFilter(filter) {
      if (JSON.stringify(filter) === JSON.stringify(telemetryFilter)) return;
      telemetryFilter = filter;
      if (!telemetry || !feeds.length) return;
      if (!filter) {
        shell.telemetryFeed?.stop();
        feeds = feeds.filter((f) => f !== shell.telemetryFeed);
        shell.telemetryFeed = null;
        return;
      }
      if (!shell.telemetryFeed) startTelemetry(); else shell.telemetryFeed.setFilter(filter);
    },
    async logout() {
      stopFeeds();
      await logout();
      showLogin('');
    },
  };

  function setMsg(key, kind) {
    msg.dataset.i18n = key || '';
    msg.textContent = key ? t(key) : '';
    msg.className = `login-msg ${kind || ''}`;
    msg.hidden = !key;
  }

  function showLogin(key) {
    document.body.classList.add('logged-out');
    loginEl.hidden = false;
    pwChange.hide();
    totpEnrolment.hide();
    totpField.hidden = true;
    form.totp.value = '';
    form.hidden = false;
    setMsg(key, key === 'login_expired' ? 'warn' : 'error');
    const user = form.querySelector('[name=username]');
    (user.value ? form.querySelector('[name=password]') : user).focus();
  }

  function hideLogin() {
    document.body.classList.remove('logged-out');
    loginEl.hidden = true;
    setMsg('');
    form.querySelector('[name=password]').value = '';
    form.totp.value = '';
    totpField.hidden = true;
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const btn = form.querySelector('button[type=submit]');
    btn.disabled = true;
    btn.textContent = t('login_busy');
    try {
      const password = form.password.value;
      const code = totpField.hidden ? undefined : form.totp.value.trim();
      const res = await login(form.username.value.trim(), password, code);
      if (res?.must_change_password) await changeFirst(password);
      if (res?.must_enrol_totp) await enrolFirst();
      hideLogin();
      await enter();
    } catch (err) {
      if (err.code === 'totp_required') {
        totpField.hidden = false;
        setMsg('login_totp_needed', 'warn');
        form.totp.focus();
        return;
      }
      setMsg(err.status === HTTP.UNAUTHORIZED ? 'login_wrong' : err.code === 'unreachable' ? 'login_unreachable' : 'login_failed', 'error');
      if (err.status !== HTTP.UNAUTHORIZED && err.code !== 'unreachable') msg.textContent = `${t('login_failed')}: ${err.message}`;
      form.password.select();
    } finally {
      btn.disabled = false;
      btn.textContent = t('login_submit');
    }
  });

  /** The account must choose its own password before the hub allows anything else. */
  async function changeFirst(current) {
    document.body.classList.add('logged-out');
    loginEl.hidden = false;
    form.hidden = true;
    await pwChange.show(current);
    form.hidden = false;
  }

  /** The role needs a second factor before anything else (config require_totp). */
  async function enrolFirst() {
    document.body.classList.add('logged-out');
    loginEl.hidden = false;
    form.hidden = true;
    await totpEnrolment.show();
    form.hidden = false;
  }

  appEvents.on('sessionexpired', () => {
    stopFeeds();
    showLogin('login_expired');
  });

  appEvents.on('connectionchange', (down) => {
    banner.hidden = !down;
    document.body.classList.toggle('disconnected', down);
    document.querySelectorAll('[data-live]').forEach((el) => {
      el.dataset.i18n = down ? 'reconnecting' : 'live';
      el.textContent = t(el.dataset.i18n);
      el.classList.toggle('down', down);
    });
  });

  store.on('lagged', () => {
    // The hub dropped or conflated frames for us: the lists may be stale; reload them, a second
    // after the first notice. A notice that comes while that reload is pending or in flight
    // may be about frames its snapshot no longer covers: one more reload follows it.
    if (lagTimer) { lagAgain = true; return; }
    banner.hidden = false;
    banner.dataset.kind = 'lagged';
    lagAgain = false;
    lagTimer = setTimeout(async () => {
      try { await store.loadAll(); } catch { /* unreachable: the reconnect reloads */ } finally {
        lagTimer = null;
        delete banner.dataset.kind;
        banner.hidden = !connection.down;
        if (lagAgain && feeds.length) store.emit('lagged', {});
      }
    }, 1000);
  });

  function stopFeeds() {
    for (const f of feeds) f.stop();
    feeds = [];
    shell.statusFeed = shell.telemetryFeed = null;
  }

  function startFeeds() {
    stopFeeds();
    const onMessage = (m) => store.handle(m);
    // After a reconnect we may have missed alerts and state changes: reload the lists.
    const onReconnect = () => store.loadAll().catch(() => {});
    shell.statusFeed = new LiveFeed({ name: 'status', topics: ['alerts', 'devices'], onMessage, onReconnect });
    feeds.push(shell.statusFeed);
    shell.statusFeed.start();
    if (telemetry && telemetryFilter) startTelemetry();
  }

  function startTelemetry() {
    shell.telemetryFeed = new LiveFeed({ name: 'telemetry', topics: ['telemetry'], onMessage: (m) => store.handle(m) });
    shell.telemetryFeed.filter = telemetryFilter;
    feeds.push(shell.telemetryFeed);
    shell.telemetryFeed.start();
  }

  async function enter() {
    resetExpired();
    // Who is in: the views show only what the role may do (the hub refuses the rest anyway).
    shell.me = await whoAmI().catch(() => null);
    appEvents.emit('session', shell.me);
    // Feeds first, then the lists, once the hub confirms the status feed's subscription: a device
    // or alert committed after the lists' query then arrives as a frame, so nothing in between is
    // lost. A feed slower than FEED_WAIT_MS does not hold the page up; the lists load at once and
    // again when its subscription is confirmed.
    startFeeds();
    const catalog = loadCatalog();
    const feed = shell.statusFeed;
    const subscribed = feed.whenSubscribed();
    const inTime = await Promise.race([
      subscribed.then(() => true),
      new Promise((resolve) => { setTimeout(() => resolve(false), FEED_WAIT_MS); }),
    ]);
    if (!inTime) subscribed.then(() => { if (shell.statusFeed === feed) store.loadAll().catch(() => {}); });
    await Promise.all([store.loadAll(), catalog]);
    if (!started) {
      started = true;
      await onReady(shell);
      // A safety net for a screen that runs for days: resync the lists every 5 minutes, in place.
      setInterval(() => {
        if (!connection.down && feeds.length) store.loadAll().catch(() => {});
      }, 5 * 60 * 1000);
    }
  }

  async function boot() {
    applyI18n(document);
    document.querySelectorAll('[data-action=lang]').forEach((b) => b.addEventListener('click', toggleLang));
    document.querySelectorAll('[data-action=logout]').forEach((b) => b.addEventListener('click', () => shell.logout()));
    startClock();
    // Is the cookie still good? Retry with backoff while the hub is unreachable (a wall may boot
    // before the hub does).
    let delay = 1000;
    for (;;) {
      try {
        const me = await whoAmI();
        if (connection.fetchDown) connection.set('fetchDown', false);
        if (!me) { showLogin(''); return; }
        if (me.must_change_password) await changeFirst(null);
        if (me.must_enrol_totp) await enrolFirst();
        hideLogin();
        await enter();
        return;
      } catch {
        connection.set('fetchDown', true);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 15000);
      }
    }
  }

  shell.boot = boot;
  shell.api = api;
  return shell;
}

function startClock() {
  const els = document.querySelectorAll('[data-clock]');
  const dates = document.querySelectorAll('[data-date]');
  if (!els.length && !dates.length) return;
  const tick = () => {
    const now = Date.now();
    els.forEach((el) => { el.textContent = fmtTime(now); });
    dates.forEach((el) => { el.textContent = fmtDateLong(now); });
  };
  tick();
  setInterval(tick, 1000);
  appEvents.on('langchange', tick);
}
