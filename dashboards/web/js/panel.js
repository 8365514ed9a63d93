// The device panel: identity, location, online state, latest values with units, the device's open
// alerts, and a uPlot chart per metric of the last 24 h (readings API, 5-minute step: rollups, cheap)
// with the rule thresholds that apply to this device drawn as horizontal lines coloured by severity.
// Live telemetry for the open device is appended to its chart; the arrays are trimmed to 24 h so a
// panel left open for days stays the same size.

import uPlot from '../vendor/uplot/uPlot.esm.js';
import { api } from './api.js';
import { t, fmtNumber, fmtDateTime, unitLabel, metricLabel, measureLabel, ruleLabel, locale } from './i18n.js';
import { COLORS } from './map.js';
import { STATUS, STATUS_SEVERITY } from './store.js';
import { appEvents } from './events.js';
import { nearestCamera } from './cameras.js';
import { CameraTile } from './camera-grid.js';

const SEV_COLOR = { info: COLORS[STATUS.INFO], warning: COLORS[STATUS.WARNING], critical: COLORS[STATUS.CRITICAL] };
const HIDDEN = new Set(['lat', 'lon']);
const WINDOW_S = 24 * 3600;
const STEP_S = 300;

export class DevicePanel {
  constructor(el, store, { onClose } = {}) {
    this.el = el;
    this.store = store;
    this.onClose = onClose;
    this.key = null;
    this.charts = new Map(); // metric -> {plot, data, thresholds}
    this.gen = 0;
    store.on('telemetry', (m) => { if (m.device === this.key) this._live(m); });
    store.on('status', (k) => { if (k === this.key) this._renderHead(); });
    store.on('alert', ({ alert }) => { if (alert.device === this.key) this._renderHead(); });
    appEvents.on('langchange', () => { if (this.key) this.open(this.key); });
    this.ro = new ResizeObserver(() => this._resize());
    this.ro.observe(el);
  }

  close() {
    this.key = null;
    this._stopCamera();
    this._destroyCharts();
    this.el.hidden = true;
    this.el.replaceChildren();
    this.onClose?.();
  }

  _stopCamera() {
    this.camera?.stop();
    this.camera = null;
  }

  /** The device's own video when it is a camera, else the nearest camera's, within the radius. */
  async _showCamera(d, gen) {
    const near = await nearestCamera(d.lat, d.lon, d.key);
    const box = this.el.querySelector('.panel-camera');
    if (gen !== this.gen || !near || !box) return;
    const h = document.createElement('h3');
    h.textContent = near.distance === 0 ? t('camera_live')
      : `${t('camera_nearest')} · ${fmtNumber(near.distance < 1000 ? near.distance : near.distance / 1000, 0)}${near.distance < 1000 ? ' m' : ' km'}`;
    this.camera = new CameraTile(near.camera, 'sub');
    box.replaceChildren(h, this.camera.el);
  }

  _destroyCharts() {
    for (const c of this.charts.values()) c.plot.destroy();
    this.charts.clear();
  }

  async open(key) {
    const gen = ++this.gen;
    this.key = key;
    this._stopCamera();
    this._destroyCharts();
    this.el.hidden = false;
    this.el.innerHTML = `
      <header class="panel-head">
        <div><div class="panel-title" translate="no"></div><div class="panel-key mono"></div></div>
        <button class="btn icon panel-close" type="button" aria-label="${t('panel_close')}" title="${t('panel_close')}">×</button>
      </header>
      <dl class="panel-facts"></dl>
      <section class="panel-alerts"></section>
      <section class="panel-camera"></section>
      <h3>${t('latest_values')}</h3>
      <div class="panel-latest"></div>
      <h3>${t('last_24h')}</h3>
      <div class="panel-charts"><p class="muted">${t('loading')}</p></div>`;
    this.el.querySelector('.panel-close').addEventListener('click', () => this.close());
    this._renderHead();
    try {
      const d = await api(`/api/v1/devices/${encodeURIComponent(key)}`);
      if (gen !== this.gen) return;
      this.store.upsertDevice(d);
      this._renderHead();
    } catch { /* the store's copy is shown */ }
    const d = this.store.devices.get(key);
    if (d) this._showCamera(d, gen);
    await this._loadCharts(key, gen);
  }

  _renderHead() {
    const d = this.store.devices.get(this.key);
    if (!d || this.el.hidden) return;
    const title = this.el.querySelector('.panel-title');
    title.textContent = d.name || t('unnamed');
    title.translate = !d.name;
    this.el.querySelector('.panel-key').textContent = d.key;
    const st = this.store.statusOf(d.key);
    const facts = [
      [t('status'), `<span class="dot" style="background:${COLORS[d.online ? STATUS.ONLINE : STATUS.OFFLINE]}"></span>${t(d.online ? 'online' : 'offline')}${STATUS_SEVERITY[st] ? ` · <span style="color:${COLORS[st]}">${t(STATUS_SEVERITY[st])}</span>` : ''}`],
      [t('location'), d.lat !== null && d.lon !== null ? `${fmtNumber(d.lat, 2).replace(/(\d)$/, '$1')}°N, ${fmtNumber(d.lon, 2)}°E` : t('unknown_position')],
      [t('last_seen'), d.last_seen ? fmtDateTime(d.last_seen) : '—'],
    ];
    const dl = this.el.querySelector('.panel-facts');
    dl.innerHTML = facts.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('');
    const alerts = this.store.sortedAlerts().filter((a) => a.device === d.key);
    const sec = this.el.querySelector('.panel-alerts');
    sec.replaceChildren();
    if (alerts.length) {
      const h = document.createElement('h3'); h.textContent = t('device_alerts'); sec.append(h);
      for (const a of alerts.slice(0, 10)) {
        const div = document.createElement('div');
        div.className = `mini-alert sev-${a.severity}`;
        div.textContent = `${t(a.severity)} · ${ruleLabel(a.rule, a.severity)} · ${measureLabel(a)} ${fmtNumber(a.value)} ${a.op} ${fmtNumber(a.threshold)}`;
        sec.append(div);
      }
    }
    this._renderLatest();
  }

  _renderLatest() {
    const d = this.store.devices.get(this.key);
    const box = this.el.querySelector('.panel-latest');
    if (!d || !box) return;
    const rows = [...d.latest.entries()].filter(([m]) => !HIDDEN.has(m)).sort(([a], [b]) => a.localeCompare(b));
    if (!rows.length) { box.innerHTML = `<p class="muted">${t('no_data')}</p>`; return; }
    box.replaceChildren(...rows.map(([m, l]) => {
      const div = document.createElement('div');
      div.className = 'latest';
      div.dataset.metric = m;
      const name = document.createElement('span'); name.className = 'latest-name'; name.textContent = metricLabel(m);
      const val = document.createElement('span'); val.className = 'latest-value'; val.textContent = fmtNumber(l.value);
      const unit = document.createElement('span'); unit.className = 'latest-unit'; unit.textContent = unitLabel(l.unit, m);
      div.append(name, val, unit);
      return div;
    }));
  }

  async _loadCharts(key, gen) {
    const d = this.store.devices.get(key);
    const metrics = d ? [...d.latest.keys()].filter((m) => !HIDDEN.has(m)).sort() : [];
    const box = this.el.querySelector('.panel-charts');
    const to = new Date();
    const from = new Date(to.getTime() - WINDOW_S * 1000);
    const results = await Promise.all(metrics.map((m) =>
      api(`/api/v1/devices/${encodeURIComponent(key)}/readings?metric=${encodeURIComponent(m)}&from=${from.toISOString()}&to=${to.toISOString()}&step=${STEP_S}s`)
        .then((r) => [m, r]).catch(() => [m, null])));
    if (gen !== this.gen) return;
    box.replaceChildren();
    if (!metrics.length) { box.innerHTML = `<p class="muted">${t('no_data')}</p>`; return; }
    for (const [m, r] of results) this._chart(box, key, m, r);
  }

  _chart(box, key, metric, res) {
    const d = this.store.devices.get(key);
    const unit = unitLabel(d?.latest.get(metric)?.unit, metric);
    const pts = res?.points || [];
    const xs = [], avg = [], lo = [], hi = [];
    for (const p of pts) {
      xs.push(new Date(p.ts).getTime() / 1000);
      avg.push(p.avg ?? p.value);
      lo.push(p.min ?? p.value);
      hi.push(p.max ?? p.value);
    }
    const thresholds = this.store.rulesFor(key, metric).map((r) => ({ value: r.value, severity: r.severity, rule: r.id }));
    const wrap = document.createElement('div');
    wrap.className = 'chart';
    wrap.dataset.metric = metric;
    wrap.dataset.thresholds = String(thresholds.length);
    const title = document.createElement('div');
    title.className = 'chart-title';
    title.textContent = `${metricLabel(metric)}${unit ? ` (${unit})` : ''}`;
    wrap.append(title);
    if (thresholds.length) {
      const legend = document.createElement('div');
      legend.className = 'chart-thresholds';
      for (const th of thresholds.sort((a, b) => a.value - b.value)) {
        const s = document.createElement('span');
        s.style.color = SEV_COLOR[th.severity];
        s.textContent = `— ${ruleLabel(th.rule, th.severity)}: ${fmtNumber(th.value)} ${unit}`;
        legend.append(s);
      }
      wrap.append(legend);
    }
    box.append(wrap);
    const data = [xs, avg, lo, hi];
    const width = Math.max(260, box.clientWidth - 4);
    const fmtAxisTime = new Intl.DateTimeFormat(locale(), { hour: '2-digit', minute: '2-digit' });
    const plot = new uPlot({
      width, height: 150,
      padding: [8, 8, 0, 0],
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { size: 6 } },
      scales: {
        x: { time: true, range: () => { const now = Date.now() / 1000; return [now - WINDOW_S, now]; } },
        y: { range: (u, min, max) => yRange(min, max, thresholds) },
      },
      axes: [
        { stroke: '#9fb3c8', grid: { stroke: '#1e3348', width: 1 }, ticks: { stroke: '#1e3348' },
          values: (u, vals) => vals.map((v) => fmtAxisTime.format(new Date(v * 1000))) },
        { stroke: '#9fb3c8', grid: { stroke: '#1e3348', width: 1 }, ticks: { stroke: '#1e3348' }, size: 48,
          values: (u, vals) => vals.map((v) => fmtNumber(v)) },
      ],
      series: [
        {},
        // Few points (a new device): show them, a lone point draws no line.
        { label: 'avg', stroke: '#38bdf8', width: 2, points: { show: xs.length < 40, size: 6, fill: '#38bdf8' } },
        { label: 'min', stroke: 'rgba(56,189,248,0.25)', width: 1, points: { show: false } },
        { label: 'max', stroke: 'rgba(56,189,248,0.25)', width: 1, points: { show: false } },
      ],
      bands: [{ series: [3, 2], fill: 'rgba(56,189,248,0.10)' }],
      hooks: {
        draw: [(u) => {
          const ctx = u.ctx;
          ctx.save();
          ctx.lineWidth = 2 * devicePixelRatio;
          ctx.setLineDash([8 * devicePixelRatio, 5 * devicePixelRatio]);
          for (const th of thresholds) {
            const y = u.valToPos(th.value, 'y', true);
            if (y < u.bbox.top - 1 || y > u.bbox.top + u.bbox.height + 1) continue;
            ctx.strokeStyle = SEV_COLOR[th.severity];
            ctx.beginPath();
            ctx.moveTo(u.bbox.left, y);
            ctx.lineTo(u.bbox.left + u.bbox.width, y);
            ctx.stroke();
          }
          ctx.restore();
          u.thresholdsDrawn = thresholds.length;
        }],
      },
    }, data, wrap);
    if (!xs.length) {
      const p = document.createElement('p'); p.className = 'muted chart-empty'; p.textContent = t('no_data');
      wrap.append(p);
    }
    this.charts.set(metric, { plot, data, thresholds, lastLive: 0 });
  }

  _live(m) {
    this._renderLatestSoon();
    const c = this.charts.get(m.metric);
    if (!c) return;
    const x = m.ts / 1000;
    const [xs, avg, lo, hi] = c.data;
    if (xs.length && x <= xs[xs.length - 1]) return;
    xs.push(x); avg.push(m.value); lo.push(m.value); hi.push(m.value);
    const cut = Date.now() / 1000 - WINDOW_S;
    let drop = 0;
    while (drop < xs.length && xs[drop] < cut) drop++;
    if (drop) for (const arr of c.data) arr.splice(0, drop);
    // Redraw at most twice a second per chart.
    const now = performance.now();
    if (now - c.lastLive > 500) { c.lastLive = now; c.plot.setData(c.data); } else if (!c.pending) {
      c.pending = setTimeout(() => { c.pending = null; c.lastLive = performance.now(); if (this.charts.get(m.metric) === c) c.plot.setData(c.data); }, 500);
    }
  }

  _renderLatestSoon() {
    if (this.latestTimer) return;
    this.latestTimer = setTimeout(() => { this.latestTimer = null; this._renderLatest(); }, 300);
  }

  _resize() {
    const box = this.el.querySelector('.panel-charts');
    if (!box) return;
    const w = Math.max(260, box.clientWidth - 4);
    for (const c of this.charts.values()) if (c.plot.width !== w) c.plot.setSize({ width: w, height: 150 });
  }
}

function yRange(min, max, thresholds) {
  let lo = min, hi = max;
  for (const th of thresholds) { lo = lo === null ? th.value : Math.min(lo, th.value); hi = hi === null ? th.value : Math.max(hi, th.value); }
  if (lo === null || hi === null) return [0, 1];
  if (lo === hi) { lo -= 1; hi += 1; }
  const pad = (hi - lo) * 0.08;
  return [lo - pad, hi + pad];
}
