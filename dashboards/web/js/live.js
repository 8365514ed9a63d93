// The live feed: a WebSocket to /ws (same origin; the session cookie authenticates the upgrade).
// Reconnects by itself with exponential backoff (0.5 s doubling to 15 s, jittered). A close can
// mean "hub down" or "session gone" (the upgrade is refused with 401 and the browser only sees a
// close), so after a failed attempt it asks the API which one it is: 401 -> sessionexpired event,
// unreachable -> keep retrying with the banner up. On every (re)connect it re-sends its current
// subscription and, once the hub confirms it (`subscribed`), calls onReconnect so the caller can
// reload lists it may have missed.

import { connection, sessionValid } from './api.js';
import { appEvents } from './events.js';

export class LiveFeed {
  /**
   * @param {object} o
   * @param {string[]} o.topics
   * @param {(msg: object) => void} o.onMessage
   * @param {() => void} [o.onReconnect]   called once a reconnect's subscription is confirmed
   * @param {string} [o.name]
   */
  constructor({ topics, onMessage, onReconnect, name = 'live' }) {
    this.topics = topics;
    this.filter = {};
    this.onMessage = onMessage;
    this.onReconnect = onReconnect;
    this.name = name;
    this.ws = null;
    this.delay = 500;
    this.everConnected = false;
    this.stopped = false;
    this.timer = null;
    this.frames = 0;
    this.confirmed = false;
    this.reloadWhenSubscribed = false;
    this.connectedAt = 0;
    /** @type {(() => void)[]} resolvers of whenSubscribed() */
    this.waiters = [];
  }

  start() { this.stopped = false; this._open(); }

  stop() {
    this.stopped = true;
    this.waiters = [];
    clearTimeout(this.timer);
    if (this.ws) { this.ws.onclose = null; this.ws.close(); this.ws = null; }
    connection.set('wsDown', false);
  }

  /** Replace the filter (bbox, devices, area); re-sent at once when connected. */
  setFilter(filter) {
    this.filter = filter;
    this._send();
  }

  get open() { return this.ws && this.ws.readyState === WebSocket.OPEN; }

  /** The hub has confirmed the current connection's subscription: from now on nothing is missed. */
  get subscribed() { return this.open && this.confirmed; }

  /** Resolves once the hub confirms the current (or the next) connection's subscription. */
  whenSubscribed() {
    if (this.subscribed) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  _send() {
    if (!this.open) return;
    this.ws.send(JSON.stringify({ op: 'subscribe', topics: this.topics, ...this.filter }));
  }

  _open() {
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
    let ws;
    try { ws = new WebSocket(url); } catch { this._retry(); return; }
    this.ws = ws;
    ws.onopen = () => {
      const reconnect = this.everConnected;
      this.everConnected = true;
      this.delay = 500;
      this.connectedAt = Date.now();
      connection.set('wsDown', false);
      this.confirmed = false;
      // Reload what may have been missed only once the hub confirms the subscription: a reload
      // sent before it could miss an alert committed between the reload and the subscription.
      this.reloadWhenSubscribed = reconnect;
      this._send();
    };
    ws.onmessage = (ev) => {
      this.frames++;
      let msg;
      try { msg = JSON.parse(ev.data); } catch { return; }
      if (msg.type === 'subscribed') {
        this.confirmed = true;
        if (this.reloadWhenSubscribed && this.onReconnect) this.onReconnect();
        this.reloadWhenSubscribed = false;
        for (const resolve of this.waiters.splice(0)) resolve();
      }
      this.onMessage(msg);
    };
    ws.onclose = () => {
      this.ws = null;
      this.confirmed = false;
      if (this.stopped) return;
      this._retry();
    };
    ws.onerror = () => { /* onclose follows */ };
  }

  async _retry() {
    // Was it the session? Ask the API (one cheap GET) before the banner goes up.
    try {
      const ok = await sessionValid();
      if (!ok) {
        appEvents.emit('sessionexpired');
        this.stopped = true;
        return;
      }
    } catch {
      connection.set('wsDown', true);
    }
    if (this.stopped) return;
    const wait = this.delay + Math.random() * this.delay * 0.3;
    this.delay = Math.min(this.delay * 2, 15000);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => { if (!this.stopped) this._open(); }, wait);
  }
}
