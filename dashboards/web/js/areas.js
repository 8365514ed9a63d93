// Area tools: an administrative area from /api/v1/areas, a radius around a clicked point, or a
// polygon drawn by clicks; the hub computes the summary (POST /api/v1/areas/summary) and the
// selection is drawn on the map. Clicking a device in the breach list opens its panel.

import { api, HTTP } from './api.js';
import { circleRing } from './geo.js';
import { areaMetrics } from './catalog.js';
import { t, areaName, locale, fmtNumber, fmtInt, unitLabel, metricLabel, measureLabel, measureUnit, ruleLabel } from './i18n.js';
import { appEvents } from './events.js';

export class AreaTools {
  constructor(el, map, store, { onPick } = {}) {
    this.el = el;
    this.map = map;
    this.store = store;
    this.onPick = onPick;
    this.mode = null;
    this.points = [];
    this.center = null;
    this.request = null; // the last summary request body (without metric)
    this.result = null;
    this.render();
    appEvents.on('langchange', () => this.render());
  }

  render() {
    // The province first, then its wards, then its communes (and any other level) by name.
    const rank = (f) => ({ province: 0, ward: 1 }[f.properties.level] ?? 2);
    const areas = [...(this.map.areas?.features || [])].sort((a, b) => rank(a) - rank(b)
      || String(a.properties.name).localeCompare(String(b.properties.name), locale()));
    this.el.innerHTML = `
      <label class="field"><span>${t('area_pick')}</span>
        <select class="area-select"><option value="">${t('area_choose')}</option>
        ${areas.map((f) => `<option value="${esc(f.properties.id)}" translate="no">${esc(areaName(f.properties, { start: true }))}${f.properties.illustrative ? ` (${t('illustrative_short')})` : ''}</option>`).join('')}
        </select></label>
      <div class="area-draw">
        <button type="button" class="btn area-circle" aria-pressed="${this.mode === 'circle'}">${t('area_radius')}</button>
        <label class="field inline"><input class="area-radius" type="number" min="0.1" max="200" step="0.5" value="${this.radiusKm ?? 10}"> <span>${t('km')}</span></label>
        <button type="button" class="btn area-polygon" aria-pressed="${this.mode === 'polygon'}">${t('area_polygon')}</button>
        <button type="button" class="btn area-finish" ${this.mode === 'polygon' && this.points.length >= 3 ? '' : 'hidden'}>${t('area_finish')}</button>
        <button type="button" class="btn area-clear">${t('area_clear')}</button>
      </div>
      <p class="hint muted">${this.mode === 'circle' ? t('area_radius_hint') : this.mode === 'polygon' ? t('area_polygon_hint') : ''}</p>
      <label class="field"><span>${t('area_metric')}</span>
        <select class="area-metric"><option value="">${t('area_none')}</option>
        ${areaMetrics().map((m) => `<option value="${m}" ${m === (this.metric ?? 'water_level') ? 'selected' : ''}>${metricLabel(m)}</option>`).join('')}
        </select></label>
      <div class="area-result"></div>`;
    const q = (s) => this.el.querySelector(s);
    if (this.request?.area) q('.area-select').value = this.request.area;
    q('.area-select').addEventListener('change', (e) => this.pickArea(e.target.value));
    q('.area-circle').addEventListener('click', () => this._setMode(this.mode === 'circle' ? null : 'circle'));
    q('.area-polygon').addEventListener('click', () => this._setMode(this.mode === 'polygon' ? null : 'polygon'));
    q('.area-finish').addEventListener('click', () => this._finishPolygon());
    q('.area-clear').addEventListener('click', () => this.clear());
    q('.area-radius').addEventListener('change', (e) => {
      this.radiusKm = Number(e.target.value) || 10;
      if (this.center) this.circle(this.center, this.radiusKm * 1000);
    });
    q('.area-metric').addEventListener('change', (e) => { this.metric = e.target.value; if (this.request) this._summarise(); });
    this.metric ??= 'water_level';
    this.radiusKm ??= 10;
    this._renderResult();
  }

  _setMode(mode) {
    this.mode = mode;
    this.points = [];
    this.map.setDrawing(mode ? {
      onClick: (e) => this._click(e),
      onDblClick: mode === 'polygon' ? () => this._finishPolygon() : null,
    } : null);
    this.render();
  }

  _click(e) {
    const p = [e.lngLat.lng, e.lngLat.lat];
    if (this.mode === 'circle') {
      this.center = p;
      this._setMode(null);
      this.circle(p, this.radiusKm * 1000);
    } else if (this.mode === 'polygon') {
      // A double-click also fires two clicks: ignore a vertex on top of the previous one.
      const last = this.points[this.points.length - 1];
      if (last && Math.abs(last[0] - p[0]) < 1e-6 && Math.abs(last[1] - p[1]) < 1e-6) return;
      this.points.push(p);
      const ring = this.points.length >= 3 ? [{ type: 'Feature', geometry: { type: 'Polygon', coordinates: [[...this.points, this.points[0]]] } }] : [];
      const line = this.points.length >= 2 ? [{ type: 'Feature', geometry: { type: 'LineString', coordinates: this.points } }] : [];
      this.map.setSelection([...ring, ...line, ...this.points.map((c) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: c } }))]);
      const fin = this.el.querySelector('.area-finish');
      if (fin) fin.hidden = this.points.length < 3;
    }
  }

  _finishPolygon() {
    if (this.points.length < 3) return;
    const pts = this.points.slice();
    this._setMode(null);
    this.polygon(pts);
  }

  pickArea(id) {
    if (!id) { this.clear(); return; }
    const f = this.map.areas?.features.find((x) => String(x.properties.id) === id);
    if (f) { this.map.setSelection([f]); this.map.fitTo([f]); }
    this.request = { area: id };
    this.center = null;
    return this._summarise();
  }

  circle(center, radiusM) {
    this.map.setSelection([{ type: 'Feature', geometry: { type: 'Polygon', coordinates: [circleRing(center, radiusM)] } },
      { type: 'Feature', geometry: { type: 'Point', coordinates: center } }]);
    this.request = { circle: { center, radius_m: radiusM } };
    return this._summarise();
  }

  polygon(points) {
    this.map.setSelection([{ type: 'Feature', geometry: { type: 'Polygon', coordinates: [[...points, points[0]]] } }]);
    this.request = { polygon: points };
    return this._summarise();
  }

  clear() {
    this.request = null;
    this.result = null;
    this.center = null;
    this.points = [];
    this.map.setSelection([]);
    if (this.mode) this._setMode(null); else this.render();
  }

  async _summarise() {
    const body = { ...this.request };
    if (this.metric) body.metric = this.metric;
    const req = this.request;
    this.result = { loading: true };
    this._renderResult();
    try {
      const r = await api('/api/v1/areas/summary', { method: 'POST', body, retry: false });
      if (req !== this.request) return null;
      this.result = r;
    } catch (e) {
      if (req !== this.request) return null;
      this.result = { error: e.status === HTTP.NOT_FOUND || e.status === HTTP.METHOD_NOT_ALLOWED ? t('area_unavailable') : `${t('area_error')}: ${e.message}` };
    }
    this._renderResult();
    return this.result;
  }

  _renderResult() {
    const box = this.el.querySelector('.area-result');
    if (!box) return;
    const r = this.result;
    if (!r) { box.replaceChildren(); return; }
    if (r.loading) { box.innerHTML = `<p class="muted">${t('loading')}</p>`; return; }
    if (r.error) { box.innerHTML = `<p class="error-text">${esc(r.error)}</p>`; return; }
    const m = r.metric;
    const unit = m ? unitLabel(m.unit, m.name) : '';
    box.innerHTML = `
      <h3>${t('area_result')}</h3>
      <div class="summary-grid">
        <div class="stat"><b data-sum="devices">${fmtInt(r.devices)}</b><span>${t('area_devices')}</span></div>
        <div class="stat ok"><b data-sum="online">${fmtInt(r.online)}</b><span>${t('online')}</span></div>
        <div class="stat off"><b data-sum="offline">${fmtInt(r.offline)}</b><span>${t('offline')}</span></div>
        <div class="stat sev-critical"><b data-sum="critical">${fmtInt(r.alerts?.critical ?? 0)}</b><span>${t('critical')}</span></div>
        <div class="stat sev-warning"><b data-sum="warning">${fmtInt(r.alerts?.warning ?? 0)}</b><span>${t('warning')}</span></div>
        <div class="stat sev-info"><b data-sum="info">${fmtInt(r.alerts?.info ?? 0)}</b><span>${t('info')}</span></div>
      </div>
      ${m ? `<div class="metric-stats"><div class="metric-name">${metricLabel(m.name)}${unit ? ` (${unit})` : ''}</div>
        <div class="summary-grid">
          <div class="stat"><b>${fmtNumber(m.min)}</b><span>${t('min')}</span></div>
          <div class="stat"><b>${fmtNumber(m.avg)}</b><span>${t('avg')}</span></div>
          <div class="stat"><b>${fmtNumber(m.max)}</b><span>${t('max')}</span></div>
          <div class="stat"><b>${fmtInt(m.count)}</b><span>${t('count')}</span></div>
        </div></div>` : ''}
      <h3>${t('area_breaches')}</h3>
      <ul class="breaches">${(r.breaches || []).length ? r.breaches.slice(0, 100).map((b) => {
        const d = this.store.devices.get(b.device);
        const u = measureUnit(b, d?.latest.get(b.metric)?.unit);
        return `<li class="sev-${esc(b.severity)}" data-device="${esc(b.device)}" tabindex="0"><b translate="no">${esc(d?.name || b.device)}</b>
          <span>${esc(ruleLabel(b.rule, b.severity))} · ${esc(measureLabel(b))} ${fmtNumber(b.value)} ${esc(u)} ${esc(b.op)} ${fmtNumber(b.threshold)} ${esc(u)}</span></li>`;
      }).join('') : `<li class="muted">${t('area_no_breaches')}</li>`}</ul>`;
    box.querySelector('.breaches').addEventListener('click', (e) => {
      const li = e.target.closest('li[data-device]');
      if (li && this.onPick) this.onPick(li.dataset.device);
    });
  }
}

function esc(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}
