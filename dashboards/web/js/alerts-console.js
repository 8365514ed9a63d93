// The alert console: every alert the account sees, filtered by handling state, agency, severity,
// category, area and time; actions on one or several at once; each alert's facts, deadlines,
// timeline and webhook deliveries. It lives: alert frames from the store update the list and the
// open alert without a reload. Which buttons show is this file's guess from the role and the
// state (the table in docs/CONTRACT.md "Alert handling"); the hub decides, and says why when not.
// An alert's card plays the nearest live camera (the alert's own when a camera raised it, else
// one within the hub's `camera_radius_m`), so the operator sees the flooded bridge, not only its
// water level; the video survives the card's re-renders and stops when the card closes.

import { api } from './api.js';
import { t, applyI18n, fmtDateTime, fmtNumber, measureLabel, ruleLabel, relTime } from './i18n.js';
import { esc, options } from './html.js';
import { appEvents } from './events.js';
import { STATES, STATE_RANK, SEV_RANK } from './store.js';
import { nearestCamera } from './cameras.js';
import { CameraTile } from './camera-grid.js';

const CATEGORIES = ['flood', 'landslide', 'forest_fire', 'air_pollution', 'equipment', 'other'];
const IOC = ['admin', 'supervisor', 'operator'];
const PAGE = 500;
const UNRESOLVED = STATES.filter((s) => STATE_RANK[s] < STATE_RANK.resolved);

/** The actions `me` is offered on `a` (the hub checks again). */
export function actionsFor(a, me) {
  if (!me?.permissions?.includes('alerts_act')) return [];
  const s = a.state;
  const unresolved = UNRESOLVED.includes(s);
  const out = [];
  if (IOC.includes(me.role)) {
    if (s === 'open') out.push('acknowledge');
    if (['open', 'acknowledged', 'dispatched'].includes(s)) out.push('dispatch');
    if (me.role === 'operator' ? ['open', 'acknowledged'].includes(s) : unresolved) out.push('resolve');
    if (s === 'resolved') out.push('close', 'reopen');
    if (s !== 'closed') out.push('comment');
    if (unresolved) out.push('assign');
    return out;
  }
  const lead = me.agency && a.agency === me.agency;
  const forwarded = me.agency && (a.agencies || []).includes(me.agency);
  if (lead && s === 'dispatched') out.push('start');
  if (lead && ['dispatched', 'in_progress'].includes(s)) out.push('resolve');
  if (forwarded && s !== 'closed') out.push('comment');
  return out;
}

/** The deadline that matters now: to acknowledge while open, to resolve until resolved. */
export function deadlineOf(a) {
  if (a.state === 'open' && a.ack_deadline) return { kind: 'ack', at: new Date(a.ack_deadline).getTime() };
  if (UNRESOLVED.includes(a.state) && a.resolve_deadline) return { kind: 'resolve', at: new Date(a.resolve_deadline).getTime() };
  return null;
}

function countdown(ms) {
  const m = Math.round(Math.abs(ms) / 60000);
  const text = m >= 120 ? `${Math.round(m / 60)} ${t('unit_hours')}` : `${m} ${t('unit_minutes')}`;
  return ms >= 0 ? t('due_in').replace('{t}', text) : t('overdue_by').replace('{t}', text);
}

const SHEET = `
  <div class="admin-head">
    <h2 data-i18n="console_title"></h2>
    <div class="console-states" data-states></div>
    <button class="btn icon" type="button" data-action="console-close" data-i18n-aria="panel_close">×</button>
  </div>
  <p class="admin-notice" role="status" hidden></p>
  <form class="admin-filter console-filter" data-filter>
    <label class="field"><span data-i18n="f_state"></span><select name="state"></select></label>
    <label class="field"><span data-i18n="f_severity"></span><select name="severity"></select></label>
    <label class="field"><span data-i18n="f_category"></span><select name="category"></select></label>
    <label class="field"><span data-i18n="f_agency"></span><select name="agency"></select></label>
    <label class="field"><span data-i18n="f_area"></span><select name="area"></select></label>
    <label class="field"><span data-i18n="f_from"></span><input name="from" type="date"></label>
    <label class="field"><span data-i18n="f_to"></span><input name="to" type="date"></label>
  </form>
  <div class="console-bulk" data-bulk hidden>
    <span data-selected></span>
    <button class="btn" type="button" data-bulk-act="acknowledge" data-i18n="act_acknowledge"></button>
    <button class="btn" type="button" data-bulk-act="dispatch" data-i18n="act_dispatch_route"></button>
    <button class="btn" type="button" data-bulk-act="close" data-i18n="act_close"></button>
  </div>
  <div class="console-body">
    <div class="console-list">
      <table class="admin-table console-table"><thead><tr>
        <th><input type="checkbox" data-all data-i18n-aria="select_all"></th>
        <th data-i18n="f_severity"></th><th data-i18n="c_alert"></th><th data-i18n="c_place"></th>
        <th data-i18n="f_state"></th><th data-i18n="f_agency"></th><th data-i18n="c_deadline"></th><th data-i18n="c_opened"></th>
      </tr></thead><tbody></tbody></table>
      <p class="muted" data-empty hidden data-i18n="console_empty"></p>
    </div>
    <aside class="console-detail" data-detail hidden></aside>
  </div>`;

export class AlertConsole {
  constructor(root, store, { me, onLocate } = {}) {
    this.root = root;
    this.store = store;
    this.me = me;
    this.onLocate = onLocate;
    root.innerHTML = SHEET;
    applyI18n(root);
    this.notice = root.querySelector('.admin-notice');
    this.tbody = root.querySelector('tbody');
    this.detail = root.querySelector('[data-detail]');
    // the card: its head and facts, the camera (kept across re-renders), its actions and timeline
    this.detailHead = document.createElement('div');
    this.detailCamera = Object.assign(document.createElement('section'), { className: 'panel-camera console-camera', hidden: true });
    this.detailRest = document.createElement('div');
    this.detail.append(this.detailHead, this.detailCamera, this.detailRest);
    this.camera = null; // { id: the alert's, tile }
    this.filterForm = root.querySelector('[data-filter]');
    this.rows = new Map(); // id -> alert, as listed
    this.selected = new Set();
    this.openId = null;
    this.agencies = [];
    this.areas = [];
    this.timer = null;
    root.querySelector('[data-action=console-close]').addEventListener('click', () => this.close());
    this.filterForm.addEventListener('change', () => this.reload());
    this.tbody.addEventListener('click', (e) => this._rowClick(e));
    this.tbody.addEventListener('keydown', (e) => { if (e.key === 'Enter') this._rowClick(e); });
    root.querySelector('[data-all]').addEventListener('change', (e) => {
      this.selected = e.target.checked ? new Set(this.rows.keys()) : new Set();
      this.render();
    });
    root.querySelectorAll('[data-bulk-act]').forEach((b) => b.addEventListener('click', () => this.bulk(b.dataset.bulkAct)));
    this.detail.addEventListener('click', (e) => this._detailClick(e));
    this.detail.addEventListener('submit', (e) => { e.preventDefault(); this._detailSubmit(e.target); });
    store.on('alert', ({ alert }) => this._live(alert));
    appEvents.on('langchange', () => { if (!root.hidden) { this._fillFilters(); this.render(); this._renderDetail(); } });
    setInterval(() => this._tickDeadlines(), 5000);
  }

  setMe(me) { this.me = me; }

  async open({ state, id } = {}) {
    this.root.hidden = false;
    document.body.classList.add('console-open');
    if (!this.loaded) {
      this.loaded = true;
      const [agencies, areas] = await Promise.all([
        api('/api/v1/agencies').catch(() => []),
        api('/api/v1/areas').catch(() => null),
      ]);
      this.agencies = agencies || [];
      this.areas = (areas?.features || []).map((f) => f.properties).filter((p) => p.level !== 'province');
      this._fillFilters();
    }
    if (state) this.filterForm.state.value = state;
    await this.reload();
    if (id) await this.show(id);
  }

  close() {
    this.root.hidden = true;
    document.body.classList.remove('console-open');
    this._stopCamera();
  }

  /** The nearest live camera of alert `a` on its card, unless it already plays there. */
  async _showCamera(a) {
    if (this.camera?.id === a.id) return;
    this._stopCamera();
    const mine = { id: a.id, tile: null };
    this.camera = mine;
    const near = await nearestCamera(a.lat, a.lon, a.device);
    if (this.camera !== mine || !near) return;
    const h = document.createElement('h3');
    h.textContent = near.distance === 0 ? t('camera_live')
      : `${t('camera_nearest')} · ${fmtNumber(near.distance < 1000 ? near.distance : near.distance / 1000, 0)}${near.distance < 1000 ? ' m' : ' km'}`;
    mine.tile = new CameraTile(near.camera, 'sub');
    this.detailCamera.replaceChildren(h, mine.tile.el);
    this.detailCamera.hidden = false;
  }

  _stopCamera() {
    this.camera?.tile?.stop();
    this.camera = null;
    this.detailCamera.replaceChildren();
    this.detailCamera.hidden = true;
  }

  say(text, kind) {
    this.notice.textContent = text || '';
    this.notice.className = `admin-notice ${kind || ''}`;
    this.notice.hidden = !text;
  }

  _fillFilters() {
    const f = this.filterForm;
    const keep = Object.fromEntries(new FormData(f));
    f.state.innerHTML = options([['unresolved', t('state_unresolved')], ...STATES.map((s) => [s, t(`state_${s}`)]), ['all', t('all')]]);
    f.severity.innerHTML = options([['', t('all')], ...['critical', 'warning', 'info'].map((s) => [s, t(s)])]);
    f.category.innerHTML = options([['', t('all')], ...CATEGORIES.map((c) => [c, t(`cat_${c}`)])]);
    f.agency.innerHTML = options([['', t('all')], ...this.agencies.map((a) => [a.id, a.name])]);
    f.area.innerHTML = options([['', t('all')], ...this.areas.map((a) => [a.id, a.name])]);
    for (const [k, v] of Object.entries(keep)) if (f[k]) f[k].value = v;
    if (!f.state.value) f.state.value = 'unresolved';
  }

  /** The filters as the list's query, and as a test for live frames. */
  _query() {
    const f = Object.fromEntries(new FormData(this.filterForm));
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (f.state && f.state !== 'all') q.set('state', f.state);
    for (const k of ['severity', 'category', 'agency', 'area']) if (f[k]) q.set(k, f[k]);
    if (f.from) q.set('from', new Date(`${f.from}T00:00:00`).toISOString());
    if (f.to) q.set('to', new Date(`${f.to}T23:59:59.999`).toISOString());
    return q;
  }

  _matches(a) {
    const q = this._query();
    const state = q.get('state');
    if (state === 'unresolved' ? !UNRESOLVED.includes(a.state) : state && a.state !== state) return false;
    if (q.get('severity') && a.severity !== q.get('severity')) return false;
    if (q.get('category') && a.category !== q.get('category')) return false;
    if (q.get('agency') && !(a.agencies || []).includes(q.get('agency'))) return false;
    if (q.get('area') && !(a.areas || []).includes(q.get('area'))) return false;
    const opened = new Date(a.opened_at).getTime();
    if (q.get('from') && opened < new Date(q.get('from')).getTime()) return false;
    if (q.get('to') && opened >= new Date(q.get('to')).getTime()) return false;
    return true;
  }

  async reload() {
    const t0 = performance.now();
    try {
      const list = await api(`/api/v1/alerts?${this._query()}`);
      this.rows = new Map(list.map((a) => [a.id, a]));
      for (const id of [...this.selected]) if (!this.rows.has(id)) this.selected.delete(id);
      this.say('');
    } catch (err) {
      this.say(`${t('admin_refused')}: ${err.message}`, 'error');
    }
    this.render();
    this.root.dataset.loadedMs = String(Math.round(performance.now() - t0));
  }

  _live(alert) {
    if (this.root.hidden) return;
    if (this._matches(alert)) this.rows.set(alert.id, alert); else this.rows.delete(alert.id);
    if (alert.id === this.openId) { this.current = alert; this._refreshDetail(); }
    this.timer ??= setTimeout(() => { this.timer = null; this.render(); }, 250);
  }

  _sorted() {
    // Most urgent first: unacknowledged critical on top, then by severity, state, newest.
    return [...this.rows.values()].sort((a, b) => {
      const ua = a.state === 'open' && a.severity === 'critical' ? 1 : 0;
      const ub = b.state === 'open' && b.severity === 'critical' ? 1 : 0;
      return (ub - ua) || (SEV_RANK[b.severity] - SEV_RANK[a.severity])
        || (STATE_RANK[a.state] - STATE_RANK[b.state]) || (b.id - a.id);
    });
  }

  _place(a) {
    if (a.source === 'field') return a.text || `${fmtNumber(a.lat, 4)}, ${fmtNumber(a.lon, 4)}`;
    const d = this.store.devices.get(a.device);
    return d?.name ? `${d.name} (${a.device})` : a.device;
  }

  _title(a) {
    if (a.source === 'field') return `${t('field_report')} · ${t(`cat_${a.category || 'other'}`)}`;
    return `${ruleLabel(a.rule, a.severity)} · ${measureLabel(a)} ${fmtNumber(a.value)}`;
  }

  _deadlineCell(a) {
    const d = deadlineOf(a);
    if (!d) return '';
    const left = d.at - Date.now();
    return `<span class="deadline ${left < 0 ? 'overdue' : ''}" data-deadline="${d.at}" data-kind="${d.kind}">${esc(countdown(left))}</span>`;
  }

  render() {
    const sorted = this._sorted();
    this.tbody.innerHTML = sorted.map((a) => {
      const urgent = a.state === 'open' && a.severity === 'critical';
      return `<tr data-id="${a.id}" tabindex="0" class="${urgent ? 'urgent' : ''} ${a.id === this.openId ? 'current' : ''}">
        <td><input type="checkbox" data-pick="${a.id}" ${this.selected.has(a.id) ? 'checked' : ''} aria-label="${esc(t('select'))} ${a.id}"></td>
        <td><span class="sev-badge sev-${esc(a.severity)}">${esc(t(a.severity))}</span>${a.escalations ? ` <span class="escalated" title="${esc(t('escalations'))}">↑${a.escalations}</span>` : ''}</td>
        <td>${esc(this._title(a))}</td>
        <td translate="no">${esc(this._place(a))}</td>
        <td><span class="state-chip st-${esc(a.state)}" data-state="${esc(a.state)}">${esc(t(`state_${a.state}`))}</span>${a.active ? '' : ` <span class="muted small">${esc(t('condition_cleared'))}</span>`}${a.flapping ? ` <span class="chip-flapping small" title="${esc(t('flapping_hint'))}">${esc(t('flapping'))}</span>` : ''}</td>
        <td>${esc((a.agencies || []).join(', '))}${(a.undelivered || []).length ? ` <span class="undelivered" title="${esc(t('undelivered'))}">⚠</span>` : ''}</td>
        <td>${this._deadlineCell(a)}</td>
        <td><time title="${esc(fmtDateTime(a.opened_at))}">${esc(relTime(a.opened_at))}</time></td>
      </tr>`;
    }).join('');
    this.root.querySelector('[data-empty]').hidden = sorted.length > 0;
    this.root.dataset.count = String(sorted.length);
    const c = { open: 0, acknowledged: 0, dispatched: 0, in_progress: 0 };
    for (const a of this.store.alerts.values()) if (a.state in c) c[a.state]++;
    this.root.querySelector('[data-states]').innerHTML = Object.entries(c)
      .map(([s, n]) => `<span class="state-chip st-${s}" data-state-count="${s}">${esc(t(`state_${s}`))}: <b>${n}</b></span>`).join('');
    const bulk = this.root.querySelector('[data-bulk]');
    bulk.hidden = !this.selected.size || !this.me?.permissions?.includes('alerts_act') || !IOC.includes(this.me?.role);
    bulk.querySelector('[data-selected]').textContent = t('selected_n').replace('{n}', String(this.selected.size));
  }

  _tickDeadlines() {
    if (this.root.hidden) return;
    this.root.querySelectorAll('[data-deadline]').forEach((el) => {
      const left = Number(el.dataset.deadline) - Date.now();
      el.textContent = countdown(left);
      el.classList.toggle('overdue', left < 0);
    });
  }

  _rowClick(e) {
    const pick = e.target.closest('[data-pick]');
    if (pick) {
      const id = Number(pick.dataset.pick);
      if (pick.checked) this.selected.add(id); else this.selected.delete(id);
      this.render();
      return;
    }
    const tr = e.target.closest('tr[data-id]');
    if (tr) this.show(Number(tr.dataset.id));
  }

  async bulk(action) {
    const ids = [...this.selected];
    let done = 0;
    const failed = [];
    for (const id of ids) {
      try {
        await api(`/api/v1/alerts/${id}/${action}`, { method: 'POST', body: {} });
        done++;
      } catch (err) {
        failed.push(`#${id}: ${err.message}`);
      }
    }
    this.selected.clear();
    this.say(`${t(`act_${action}`)}: ${done}/${ids.length}${failed.length ? ` — ${failed.join('; ')}` : ''}`, failed.length ? 'error' : '');
    await this.reload();
  }

  async show(id) {
    this.openId = id;
    this.current = this.rows.get(id) || this.store.alerts.get(id) || null;
    try {
      this.current = await api(`/api/v1/alerts/${id}`);
    } catch (err) {
      this.say(`${t('admin_refused')}: ${err.message}`, 'error');
    }
    this.detail.hidden = false;
    this.render();
    if (this.current) this._showCamera(this.current);
    await this._refreshDetail();
  }

  async _refreshDetail() {
    const id = this.openId;
    if (id === null) return;
    const [timeline, deliveries] = await Promise.all([
      api(`/api/v1/alerts/${id}/timeline`, { background: true }).catch(() => []),
      api(`/api/v1/deliveries?alert=${id}`, { background: true }).catch(() => []),
    ]);
    if (id !== this.openId) return;
    this.timeline = timeline;
    this.deliveries = deliveries;
    this._renderDetail();
  }

  _renderDetail() {
    const a = this.current;
    if (!a || this.detail.hidden) return;
    const acts = actionsFor(a, this.me);
    const fact = (k, v) => (v === null || v === undefined || v === '' ? '' : `<dt>${esc(t(k))}</dt><dd>${v}</dd>`);
    const dl = deadlineOf(a);
    const agencyName = (id) => this.agencies.find((x) => x.id === id)?.name || id;
    const agencyOpts = [['', t('dispatch_by_route')], ...this.agencies.map((x) => [x.id, x.name])];
    const forms = [];
    if (acts.includes('dispatch')) {
      forms.push(`<form class="console-act" data-form="dispatch">
        <select name="agency" aria-label="${esc(t('f_agency'))}">${options(agencyOpts)}</select>
        <input name="note" data-i18n-placeholder="note" placeholder="${esc(t('note'))}">
        <button class="btn primary" type="submit">${esc(t('act_dispatch'))}</button></form>`);
    }
    if (acts.includes('resolve')) {
      forms.push(`<form class="console-act" data-form="resolve">
        <select name="resolution" aria-label="${esc(t('resolution'))}">${options(['handled', 'false_alarm', 'duplicate'].map((r) => [r, t(`res_${r}`)]))}</select>
        <input name="note" placeholder="${esc(t('note'))}">
        <button class="btn" type="submit">${esc(t('act_resolve'))}</button></form>`);
    }
    if (acts.includes('assign')) {
      forms.push(`<form class="console-act" data-form="assign">
        <input name="user" required placeholder="${esc(t('assign_user'))}" autocomplete="off">
        <button class="btn" type="submit">${esc(t('act_assign'))}</button></form>`);
    }
    if (acts.includes('comment')) {
      forms.push(`<form class="console-act comment" data-form="comment">
        <textarea name="text" rows="2" placeholder="${esc(t('comment_text'))}"></textarea>
        <label class="btn small file"><input name="photo" type="file" accept="image/jpeg,image/png" hidden><span>${esc(t('attach_photo'))}</span></label>
        <button class="btn" type="submit">${esc(t('act_comment'))}</button></form>`);
    }
    const simple = acts.filter((x) => ['acknowledge', 'start', 'close', 'reopen'].includes(x));
    const photo = (sha) => `<a href="/api/v1/alerts/${a.id}/attachments/${esc(sha)}" target="_blank" rel="noopener"><img class="thumb" alt="${esc(t('photo'))}" src="/api/v1/alerts/${a.id}/attachments/${esc(sha)}"></a>`;
    const steps = (this.timeline || []).map((e) => {
      const move = e.to_state ? ` <span class="muted">${esc(t(`state_${e.from_state}`) || '')} → ${esc(t(`state_${e.to_state}`))}</span>` : '';
      const extra = [];
      if (e.detail?.agencies) extra.push(esc(e.detail.agencies.map(agencyName).join(', ')));
      if (e.detail?.user) extra.push(esc(e.detail.user));
      if (e.detail?.agency) extra.push(esc(agencyName(e.detail.agency)));
      if (e.detail?.reason) extra.push(esc(t(`reason_${e.detail.reason.replace(/ /g, '_')}`)));
      if (e.detail?.severity) extra.push(`${esc(t(e.detail.severity.from))} → ${esc(t(e.detail.severity.to))}`);
      return `<li data-kind="${esc(e.kind)}"><time title="${esc(fmtDateTime(e.ts))}">${esc(fmtDateTime(e.ts))}</time>
        <b>${esc(t(`ev_${e.kind}`))}</b> <span class="muted" translate="no">${esc(e.actor === 'system' ? t('system') : e.actor)}</span>${move}
        ${extra.length ? `<div class="muted small">${extra.join(' · ')}</div>` : ''}
        ${e.note ? `<div class="note">${esc(e.note)}</div>` : ''}${e.detail?.photo ? photo(e.detail.photo) : ''}</li>`;
    }).join('');
    const deliveries = (this.deliveries || []).map((d) => `<li data-delivery="${esc(d.state)}"><b>${esc(agencyName(d.agency))}</b> · ${esc(t(`del_${d.state}`))} · ${esc(t('attempts'))}: ${d.attempts}${d.last_error ? ` · <span class="muted">${esc(d.last_error)}</span>` : ''}</li>`).join('');
    this.detailHead.innerHTML = `
      <div class="panel-head"><div>
        <div class="panel-title">#${a.id} · ${esc(this._title(a))}</div>
        <div><span class="sev-badge sev-${esc(a.severity)}">${esc(t(a.severity))}</span>
          <span class="state-chip st-${esc(a.state)}" data-detail-state="${esc(a.state)}">${esc(t(`state_${a.state}`))}</span>
          <span class="muted">${esc(a.active ? t('condition_active') : t('condition_cleared'))}</span>${a.flapping ? ` <span class="chip-flapping small" title="${esc(t('flapping_hint'))}">${esc(t('flapping'))}</span>` : ''}</div>
      </div><button class="btn icon" type="button" data-action="detail-close" aria-label="${esc(t('panel_close'))}">×</button></div>
      ${(a.undelivered || []).length ? `<p class="admin-notice error">${esc(t('undelivered'))}: ${esc(a.undelivered.map(agencyName).join(', '))}</p>` : ''}
      <dl class="panel-facts">
        ${fact('c_place', `<span translate="no">${esc(this._place(a))}</span> ${a.lat !== null && a.lon !== null || a.device ? `<button class="btn link small" type="button" data-action="locate">${esc(t('show_on_map'))}</button>` : ''}`)}
        ${a.source === 'rule' ? fact('c_value', `${esc(measureLabel(a))}: ${esc(fmtNumber(a.value))} ${esc(a.op || '')} ${esc(fmtNumber(a.threshold))}`) : ''}
        ${fact('f_category', a.category ? esc(t(`cat_${a.category}`)) : '')}
        ${fact('f_agency', (a.agencies || []).map((x, i) => (i === 0 ? `<b>${esc(agencyName(x))}</b>` : esc(agencyName(x)))).join(', '))}
        ${fact('assignee', a.assignee ? `<span translate="no">${esc(a.assignee)}</span>` : '')}
        ${fact('c_opened', esc(fmtDateTime(a.opened_at)))}
        ${dl ? fact(dl.kind === 'ack' ? 'ack_deadline' : 'resolve_deadline', `${esc(fmtDateTime(dl.at))} · ${this._deadlineCell(a)}`) : ''}
        ${fact('escalations', a.escalations ? String(a.escalations) : '')}
        ${fact('resolution', a.resolution ? esc(t(`res_${a.resolution}`)) : '')}
      </dl>`;
    this.detailRest.innerHTML = `
      <div class="console-actions">${simple.map((x) => `<button class="btn ${x === 'acknowledge' || x === 'start' ? 'primary' : ''}" type="button" data-act="${x}">${esc(t(`act_${x}`))}</button>`).join('')}</div>
      ${forms.join('')}
      <h3>${esc(t('timeline'))}</h3><ol class="timeline">${steps}</ol>
      ${deliveries ? `<h3>${esc(t('deliveries'))}</h3><ul class="deliveries">${deliveries}</ul>` : ''}`;
  }

  _detailClick(e) {
    if (e.target.closest('[data-action=detail-close]')) {
      this.openId = null;
      this.detail.hidden = true;
      this._stopCamera();
      this.render();
      return;
    }
    if (e.target.closest('[data-action=locate]') && this.current) {
      this.onLocate?.(this.current);
      return;
    }
    const b = e.target.closest('button[data-act]');
    if (b) this.act(b.dataset.act, {});
  }

  async _detailSubmit(form) {
    const action = form.dataset.form;
    const f = Object.fromEntries(new FormData(form));
    const body = {};
    if (f.note) body.note = f.note;
    if (action === 'dispatch' && f.agency) body.agency = f.agency;
    if (action === 'resolve') body.resolution = f.resolution;
    if (action === 'assign') body.user = f.user;
    if (action === 'comment') {
      if (f.text) body.text = f.text;
      const file = form.photo?.files?.[0];
      if (file) body.photo = await readBase64(file);
    }
    await this.act(action, body);
  }

  async act(action, body) {
    const id = this.openId;
    try {
      const alert = await api(`/api/v1/alerts/${id}/${action}`, { method: 'POST', body });
      this.current = alert;
      if (this._matches(alert)) this.rows.set(alert.id, alert); else this.rows.delete(alert.id);
      this.say(`${t(`act_${action}`)}: #${id} → ${t(`state_${alert.state}`)}`);
      this.render();
      await this._refreshDetail();
    } catch (err) {
      this.say(`${t('admin_refused')}: ${err.message}`, 'error');
    }
  }
}

function readBase64(file) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result));
    r.onerror = () => reject(r.error);
    r.readAsDataURL(file);
  });
}
