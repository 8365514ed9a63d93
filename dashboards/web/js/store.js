// The app's live picture of the province: devices, open alerts and rules, fed by the REST lists and
// then by WebSocket frames. Every collection is bounded (a wall runs for days): devices by what the
// hub knows (one entry per device, replaced not appended), open alerts capped at MAX_ALERTS (the
// least severe, oldest go first), latest values one per metric. Views subscribe with on(event, fn)
// (events.js): status (key), reset, positions (device), telemetry (frame), alert ({alert, isNew}),
// counts, lagged.

import { api } from './api.js';
import { Emitter } from './events.js';

/** The store's requests are the app's own refreshes, not the person's activity (idle timeout). */
const BACKGROUND = { background: true };

export const SEV_RANK = { info: 1, warning: 2, critical: 3 };
/** The handling states, in order (DESIGN §3b "Alert handling"). */
export const STATES = ['open', 'acknowledged', 'dispatched', 'in_progress', 'resolved', 'closed'];
export const STATE_RANK = Object.fromEntries(STATES.map((s, i) => [s, i]));
export const MAX_ALERTS = 2000;
/** Live frames kept while a list reload is in flight; past this the reload is done again. */
export const MAX_JOURNAL = 50000;
/** A device's status code (statusOf): the map's colour, ordered from best to worst after ONLINE. */
export const STATUS = Object.freeze({ OFFLINE: 0, ONLINE: 1, INFO: 2, WARNING: 3, CRITICAL: 4 });
/** The severity name of a status code of an open alert (INFO and up). */
export const STATUS_SEVERITY = Object.freeze({ [STATUS.INFO]: 'info', [STATUS.WARNING]: 'warning', [STATUS.CRITICAL]: 'critical' });

export class Store extends Emitter {
  constructor() {
    super(['status', 'reset', 'positions', 'telemetry', 'alert', 'counts', 'lagged', 'renamed']);
    /** @type {Map<string, object>} key -> device {key,name,lat,lon,online,last_seen,latest:Map} */
    this.devices = new Map();
    /** @type {Map<number, object>} id -> open alert */
    this.alerts = new Map();
    /** device key -> worst open severity rank (0 none) */
    this.worst = new Map();
    /** device key -> the least advanced handling state of its unresolved alerts */
    this.least = new Map();
    this.rules = [];
    // Devices seen on the live feed without a known position (the telemetry feed is filtered by
    // the viewport, so a new device's lat/lon may never come that way): fetched one by one, a few
    // per second, each at most every 5 s. Bounded by the device count.
    this.posQueue = new Set();
    this.posTried = new Map();
    this.posTimer = null;
    this.lastFullReload = 0;
    // Live frames received while a reload of the lists is in flight, one journal per reload: the
    // lists are a snapshot taken at some moment after the request left, so what the frames
    // changed since may be missing from them; replaying the frames over the lists puts it back.
    /** @type {Set<{frames: object[], overflow: boolean}>} */
    this.journals = new Set();
    this.replaying = false;
    // Devices the hub had no position for yet: ask again every 5 s — one by one when few, with
    // one list reload (at most every 30 s) when many.
    setInterval(() => this._sweepPositions(), 5000);
  }

  _sweepPositions() {
    const missing = [];
    for (const d of this.devices.values()) if (d.lat === null || d.lon === null) missing.push(d.key);
    if (!missing.length) return;
    if (missing.length <= 50) { for (const k of missing) this._ensurePosition(k); return; }
    if (Date.now() - this.lastFullReload > 30000 && this.listened('reset')) this.loadAll().catch(() => {});
  }

  _ensurePosition(key, { name = false } = {}) {
    const d = this.devices.get(key);
    // Known where it is (and, when asked, what it is called): nothing to fetch. A ticker row of an
    // alert that came before the device list asks for the name too (the demo names its stations
    // after they first report, and no live frame carries a name).
    if (d && d.lat !== null && d.lon !== null && (!name || d.name)) return;
    const tried = this.posTried.get(key);
    if (tried && Date.now() - tried < 5000) return;
    this.posQueue.add(key);
    this.posTimer ??= setTimeout(() => this._drainPositions(), 200);
  }

  async _drainPositions() {
    const batch = [...this.posQueue].slice(0, 10);
    for (const k of batch) { this.posQueue.delete(k); this.posTried.set(k, Date.now()); }
    if (this.posTried.size > this.devices.size + 1000) this.posTried.clear();
    await Promise.all(batch.map((k) => api(`/api/v1/devices/${encodeURIComponent(k)}`, { retry: false, background: true })
      .then((d) => {
        const had = this.devices.get(k);
        const hadPos = had && had.lat !== null && had.lon !== null;
        const renamed = (had?.name ?? null) !== (d.name ?? null);
        const dev = this.upsertDevice(d);
        if (!hadPos && dev.lat !== null && dev.lon !== null) this.emit('positions', dev);
        this.emit('status', k);
        if (renamed) this.emit('renamed', k);
      })
      .catch(() => {})));
    this.posTimer = this.posQueue.size ? setTimeout(() => this._drainPositions(), 200) : null;
  }

  async loadAll() {
    this.lastFullReload = Date.now();
    const journal = { frames: [], overflow: false };
    this.journals.add(journal);
    let devices, alerts, rules;
    try {
      [devices, alerts, rules] = await Promise.all([
        api('/api/v1/devices', BACKGROUND),
        api('/api/v1/alerts?state=unresolved&limit=10000', BACKGROUND),
        api('/api/v1/rules', BACKGROUND).catch(() => []),
      ]);
    } finally {
      this.journals.delete(journal);
    }
    this.rules = rules || [];
    const seen = new Set();
    for (const d of devices) { this.upsertDevice(d); seen.add(d.key); }
    for (const k of [...this.devices.keys()]) if (!seen.has(k)) this.devices.delete(k);
    this.alerts.clear();
    for (const a of alerts) if (isOpen(a)) this.alerts.set(a.id, a);
    // Frames that arrived while the lists were in flight, in order, over the lists: a device that
    // appeared or an alert that opened after the hub took its snapshot stays.
    this.replaying = true;
    try { for (const m of journal.frames) this._apply(m); } finally { this.replaying = false; }
    this._trimAlerts();
    this._recomputeWorst();
    this.emit('reset');
    this.emit('counts');
    for (const d of this.devices.values()) if (d.lat === null || d.lon === null) this._ensurePosition(d.key);
    for (const a of this.alerts.values()) if (a.device) this._ensurePosition(a.device, { name: true });
    if (journal.overflow) await this.loadAll();
  }

  /** Nothing is told while frames are replayed over a reload: the reload tells once, 'reset'. */
  emit(name, arg) {
    if (!this.replaying) super.emit(name, arg);
  }

  /** Merges a device as the REST API returns it (fields it lacks keep their known values);
   *  returns the store's entry. Emits nothing: the caller says what changed. */
  upsertDevice(d) {
    const prev = this.devices.get(d.key);
    const latest = prev ? prev.latest : new Map();
    for (const l of d.latest || []) latest.set(l.metric, { value: l.value, ts: l.ts, unit: l.unit ?? latest.get(l.metric)?.unit });
    const dev = {
      key: d.key, name: d.name ?? prev?.name ?? null,
      lat: d.lat ?? prev?.lat ?? null, lon: d.lon ?? prev?.lon ?? null,
      online: d.online ?? prev?.online ?? true,
      last_seen: d.last_seen ?? prev?.last_seen ?? null,
      latest,
    };
    this.devices.set(d.key, dev);
    return dev;
  }

  /** A status colour code for the map: 0 offline, 1 online, 2 info, 3 warning, 4 critical. */
  statusOf(key) {
    const w = this.worst.get(key) || 0;
    if (w) return STATUS.ONLINE + w;
    const d = this.devices.get(key);
    return d && d.online ? STATUS.ONLINE : STATUS.OFFLINE;
  }

  // The lines drawn on a device's chart of `metric`: threshold rules only (a window's or a
  // rate's line is on an aggregate or a change, not on the readings).
  rulesFor(key, metric) {
    return this.rules.filter((r) => r.kind === 'threshold' && r.metric === metric && (!r.devices || r.devices.includes(key)));
  }

  sortedAlerts() {
    return [...this.alerts.values()].sort(compareAlerts);
  }

  counts() {
    let online = 0, offline = 0;
    for (const d of this.devices.values()) d.online ? online++ : offline++;
    const bySev = { critical: 0, warning: 0, info: 0 };
    const byState = { open: 0, acknowledged: 0, dispatched: 0, in_progress: 0 };
    let criticalUnacknowledged = 0;
    for (const a of this.alerts.values()) {
      bySev[a.severity] = (bySev[a.severity] || 0) + 1;
      byState[a.state] = (byState[a.state] || 0) + 1;
      if (a.severity === 'critical' && a.state === 'open') criticalUnacknowledged++;
    }
    return { online, offline, total: this.devices.size, alerts: bySev, states: byState, criticalUnacknowledged };
  }

  /** The least advanced handling state of a device's unresolved alerts (null: none). */
  handlingOf(key) {
    return this.least.get(key) ?? null;
  }

  /** Unresolved field reports (alerts without a device), placed by their own lat/lon. */
  fieldAlerts() {
    return [...this.alerts.values()].filter((a) => a.source === 'field' && a.lat !== null && a.lon !== null);
  }

  // ---- live frames -------------------------------------------------------------------------
  handle(msg) {
    for (const j of this.journals) {
      if (j.frames.length < MAX_JOURNAL) j.frames.push(msg); else j.overflow = true;
    }
    this._apply(msg);
  }

  _apply(msg) {
    switch (msg.type) {
      case 'telemetry': return this._telemetry(msg);
      case 'alert': return this._alert(msg);
      case 'device': return this._device(msg);
      case 'position': return this._position(msg);
      case 'lagged': this.emit('lagged', msg); return;
      default: return;
    }
  }

  _telemetry(m) {
    let d = this.devices.get(m.device);
    if (!d) d = this.upsertDevice({ key: m.device, online: true });
    const iso = new Date(m.ts).toISOString();
    const prev = d.latest.get(m.metric);
    d.latest.set(m.metric, { value: m.value, ts: iso, unit: m.unit ?? prev?.unit });
    d.last_seen = iso;
    if (m.metric === 'lat' || m.metric === 'lon') {
      const hadPos = d.lat !== null && d.lon !== null;
      d[m.metric] = m.value;
      if (!hadPos && d.lat !== null && d.lon !== null) this.emit('positions', d);
    } else if (d.lat === null || d.lon === null) {
      this._ensurePosition(d.key);
    }
    if (!d.online) { d.online = true; this.emit('status', d.key); this.emit('counts'); }
    this.emit('telemetry', m);
  }

  // A device got or changed its position (also how a device new to the hub reaches the map).
  _position(m) {
    let d = this.devices.get(m.device);
    const isNew = !d;
    if (!d) d = this.upsertDevice({ key: m.device, online: true });
    if (d.lat === m.lat && d.lon === m.lon) return;
    d.lat = m.lat;
    d.lon = m.lon;
    this.emit('positions', d);
    if (isNew) { this.emit('status', d.key); this.emit('counts'); }
  }

  _device(m) {
    let d = this.devices.get(m.device);
    if (!d) d = this.upsertDevice({ key: m.device, online: m.online });
    this._ensurePosition(d.key);
    if (d.online !== m.online) {
      d.online = m.online;
      this.emit('status', d.key);
      this.emit('counts');
    }
  }

  _alert(a) {
    const wasOpen = this.alerts.has(a.id);
    if (isOpen(a)) {
      this.alerts.set(a.id, a);
      this._trimAlerts();
    } else {
      this.alerts.delete(a.id);
    }
    if (a.device) {
      if (!this.devices.has(a.device)) this.upsertDevice({ key: a.device, online: true });
      this._ensurePosition(a.device, { name: true });
      this._recomputeWorstFor(a.device);
    }
    this.emit('alert', { alert: a, isNew: !wasOpen && isOpen(a) });
    this.emit('counts');
  }

  _trimAlerts() {
    if (this.alerts.size <= MAX_ALERTS) return;
    const sorted = this.sortedAlerts();
    for (const a of sorted.slice(MAX_ALERTS)) this.alerts.delete(a.id);
  }

  _recomputeWorst() {
    const before = new Set(this.worst.keys());
    this.worst.clear();
    this.least.clear();
    for (const a of this.alerts.values()) {
      if (!a.device) continue;
      const r = SEV_RANK[a.severity] || 0;
      if (r > (this.worst.get(a.device) || 0)) this.worst.set(a.device, r);
      const l = this.least.get(a.device);
      if (l === undefined || STATE_RANK[a.state] < STATE_RANK[l]) this.least.set(a.device, a.state);
    }
    for (const k of before) if (!this.worst.has(k)) this.emit('status', k);
    for (const k of this.worst.keys()) this.emit('status', k);
  }

  _recomputeWorstFor(key) {
    let w = 0;
    let least = null;
    for (const a of this.alerts.values()) {
      if (a.device !== key) continue;
      w = Math.max(w, SEV_RANK[a.severity] || 0);
      if (least === null || STATE_RANK[a.state] < STATE_RANK[least]) least = a.state;
    }
    if (w) this.worst.set(key, w); else this.worst.delete(key);
    if (least) this.least.set(key, least); else this.least.delete(key);
    this.emit('status', key);
  }
}

export function isOpen(a) { return a.state !== 'resolved' && a.state !== 'closed'; }

export function compareAlerts(a, b) {
  const s = (SEV_RANK[b.severity] || 0) - (SEV_RANK[a.severity] || 0);
  if (s) return s;
  return new Date(b.opened_at || b.ts).getTime() - new Date(a.opened_at || a.ts).getTime();
}
