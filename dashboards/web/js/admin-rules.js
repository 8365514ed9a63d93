// The rules, for an administrator: the active rules with their unresolved alerts; the rules file
// in an editor, checked by the hub (the rule and field of what is wrong), tried on the stored
// readings of the last days before it is saved (how often each rule would have fired, and a
// chart of a device's series with the times it would have been in alert), and saved (the hub
// writes the file atomically, applies it at once and records who changed what).

import { api } from './api.js';
import { t, applyI18n, fmtDateTime, fmtNumber, metricLabel } from './i18n.js';
import { esc, options } from './html.js';

const PANE = `
  <div class="rules-pane">
    <section>
      <h3 data-i18n="rules_active"></h3>
      <table class="admin-table" data-table="active"><thead><tr>
        <th data-i18n="rules_id"></th><th data-i18n="rules_kind"></th><th data-i18n="rules_metric"></th>
        <th data-i18n="rules_severity"></th><th data-i18n="rules_category"></th><th data-i18n="rules_open"></th></tr></thead><tbody></tbody></table>
    </section>
    <section>
      <h3 data-i18n="rules_edit"></h3>
      <p class="muted small" data-i18n="rules_edit_hint"></p>
      <textarea class="rules-text mono" name="rules" rows="18" spellcheck="false" aria-label="rules"></textarea>
      <div class="rules-actions">
        <button class="btn" type="button" data-action="validate" data-i18n="rules_validate"></button>
        <label class="field inline"><span data-i18n="rules_days"></span><select name="days"></select></label>
        <button class="btn" type="button" data-action="backtest" data-i18n="rules_backtest"></button>
        <button class="btn primary" type="button" data-action="save" data-i18n="rules_save"></button>
      </div>
      <p class="rules-check" role="status" hidden></p>
      <div class="rules-progress" hidden><progress max="1" value="0"></progress> <span></span></div>
      <table class="admin-table" data-table="backtest" hidden><thead><tr>
        <th data-i18n="rules_id"></th><th data-i18n="rules_devices"></th><th data-i18n="rules_opened"></th>
        <th data-i18n="rules_in_alert"></th><th data-i18n="rules_share"></th><th></th></tr></thead><tbody></tbody></table>
      <div class="rules-alerts" hidden></div>
      <figure class="rules-chart" hidden><figcaption></figcaption><svg viewBox="0 0 900 260" role="img"></svg></figure>
    </section>
  </div>`;

const DAYS = [1, 7, 30];
/** How often a running backtest is asked for its progress. */
const POLL_MS = 400;
/** Alerts listed under a rule picked in the results. */
const LISTED = 20;

/** Time shown around an alert on the chart, at least. */
const CHART_PAD_MS = 15 * 60 * 1000;
/** Up to this span the chart shows raw readings, beyond it buckets. */
const RAW_SPAN_MS = 6 * 3600 * 1000;
/** Points on a chart, about. */
const CHART_POINTS = 400;
/** The most raw readings a chart reads. */
const RAW_POINTS = 5000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class RulesPane {
  constructor(root, say) {
    this.root = root;
    this.say = say;
    root.innerHTML = PANE;
    this.text = root.querySelector('textarea');
    this.days = root.querySelector('select[name=days]');
    this.active = [];
    this.open = new Map();
    this.result = null;
    this.loaded = false;
    root.querySelector('[data-action=validate]').addEventListener('click', () => this.validate());
    root.querySelector('[data-action=backtest]').addEventListener('click', () => this.backtest());
    root.querySelector('[data-action=save]').addEventListener('click', () => this.save());
    root.querySelector('[data-table=backtest]').addEventListener('click', (e) => {
      const b = e.target.closest('[data-rule]');
      if (b) this.showAlerts(b.dataset.rule);
    });
    root.querySelector('.rules-alerts').addEventListener('click', (e) => {
      const b = e.target.closest('[data-alert]');
      if (b) this.chart(b.dataset.rule, Number(b.dataset.alert));
    });
    this.render();
  }

  render() {
    applyI18n(this.root);
    this.days.innerHTML = options(DAYS.map((d) => [d, t(`rules_days_${d}`)]), this.days.value || 7);
    this.root.querySelector('[data-table=active] tbody').innerHTML = this.active.map((r) => `<tr>
      <td class="mono">${esc(r.id)}</td><td>${esc(t(`rules_kind_${r.kind}`))}</td><td>${esc(r.metric ? metricLabel(r.metric) : t('rules_any_metric'))}</td>
      <td>${esc(t(r.severity))}</td>
      <td>${esc(r.category ? t(`cat_${r.category}`) : '')}</td><td>${esc(this.open.get(r.id) || 0)}</td></tr>`).join('')
      || `<tr><td colspan="6" class="muted">${esc(t('rules_none'))}</td></tr>`;
    if (this.result) this.showResult();
  }

  async load() {
    const [active, open] = await Promise.all([
      api('/api/v1/rules'),
      api('/api/v1/alerts?state=unresolved&limit=1000'),
    ]);
    this.active = active;
    this.open = new Map();
    for (const a of open) this.open.set(a.rule, (this.open.get(a.rule) || 0) + 1);
    if (!this.loaded) {
      this.text.value = await api('/api/v1/rules/file', { raw: true });
      this.loaded = true;
    }
    this.render();
  }

  /** The check's answer under the editor: OK with the rule count, or the rule and field at fault. */
  check(kind, text) {
    const p = this.root.querySelector('.rules-check');
    p.className = `rules-check ${kind}`;
    p.textContent = text;
    p.hidden = !text;
  }

  async validate() {
    const v = await api('/api/v1/rules/validate', { method: 'POST', toml: this.text.value });
    this.parsed = v.parsed;
    if (v.valid) {
      this.check('ok', `${t('rules_valid')} ${v.rules} ${t('rules_count')}`);
      return true;
    }
    const e = v.error || {};
    const where = [e.rule && `${t('rules_rule')} ${e.rule}`, e.field && `${t('rules_field')} ${e.field}`].filter(Boolean).join(', ');
    this.check('error', `${t('rules_invalid')}${where ? ` (${where})` : ''}: ${e.message || ''}`);
    return false;
  }

  async backtest() {
    if (!(await this.validate())) return;
    const bar = this.root.querySelector('.rules-progress');
    bar.hidden = false;
    this.result = null;
    this.root.querySelector('[data-table=backtest]').hidden = true;
    this.root.querySelector('.rules-alerts').hidden = true;
    this.root.querySelector('.rules-chart').hidden = true;
    try {
      let job = await api('/api/v1/rules/backtest', { method: 'POST', body: { rules: this.text.value, days: Number(this.days.value) } });
      while (job.state === 'running') {
        const p = job.progress || {};
        bar.querySelector('progress').value = p.devices ? p.devices_done / p.devices : 0;
        bar.querySelector('span').textContent = `${p.devices_done || 0}/${p.devices || 0} ${t('rules_devices_done')}, ${p.readings || 0} ${t('rules_readings')}${job.eta_s != null ? `, ${t('rules_eta')} ${Math.ceil(job.eta_s)} s` : ''}`;
        await sleep(POLL_MS);
        job = await api(`/api/v1/jobs/${job.id}`, { background: true });
      }
      if (job.state === 'failed') throw new Error(job.error || 'failed');
      this.result = job.result;
      this.showResult();
    } catch (err) {
      this.check('error', `${t('admin_refused')}: ${err.message}`);
    } finally {
      bar.hidden = true;
    }
  }

  showResult() {
    const r = this.result;
    const table = this.root.querySelector('[data-table=backtest]');
    table.hidden = false;
    table.querySelector('tbody').innerHTML = r.rules.map((x) => `<tr>
      <td class="mono">${esc(x.id)}</td><td>${esc(x.devices)}</td><td>${esc(x.opened)}</td>
      <td>${esc(fmtNumber(x.time_in_alert_s / 3600, 1))} h</td><td>${esc(fmtNumber(x.share_in_alert * 100, 2))} %</td>
      <td>${x.opened ? `<button class="btn small" type="button" data-rule="${esc(x.id)}">${esc(t('rules_when'))}</button>` : ''}</td></tr>`).join('');
    this.check('ok', `${t('rules_backtested')}: ${r.readings} ${t('rules_readings')}, ${r.devices} ${t('rules_devices')}, ${fmtDateTime(r.from)} – ${fmtDateTime(r.to)}`);
  }

  showAlerts(ruleId) {
    const rule = this.result.rules.find((x) => x.id === ruleId);
    const box = this.root.querySelector('.rules-alerts');
    box.hidden = false;
    box.innerHTML = `<h4>${esc(t('rules_alerts_of'))} <span class="mono">${esc(ruleId)}</span></h4><ul>${rule.alerts.slice(0, LISTED).map((a, i) => `<li>
      <button class="btn small" type="button" data-rule="${esc(ruleId)}" data-alert="${i}">${esc(a.device)}</button>
      ${esc(fmtDateTime(a.opened_at))} → ${esc(a.closed_at ? fmtDateTime(a.closed_at) : t('rules_still_open'))}</li>`).join('')}</ul>`;
    if (rule.alerts.length) this.chart(ruleId, 0);
  }

  /** The device's series over the backtest's range, with the times the rule would have been in alert. */
  async chart(ruleId, index) {
    const rule = this.result.rules.find((x) => x.id === ruleId);
    const alert = rule.alerts[index];
    const def = (this.parsedRule(ruleId) || {});
    const metric = def.metric;
    const fig = this.root.querySelector('.rules-chart');
    const svg = fig.querySelector('svg');
    fig.hidden = false;
    fig.querySelector('figcaption').textContent = `${alert.device} · ${metric ? metricLabel(metric) : t('rules_any_metric')} · ${ruleId}`;
    const intervals = rule.alerts.filter((a) => a.device === alert.device);
    // The chart spans the device's alerts with half as much again around them (at least
    // CHART_PAD_MS), within the backtest's range: when it fired, and what came before and after.
    const [start, end] = [Date.parse(this.result.from), Date.parse(this.result.to)];
    const first = Math.min(...intervals.map((a) => Date.parse(a.opened_at)));
    const last = Math.max(...intervals.map((a) => (a.closed_at ? Date.parse(a.closed_at) : end)));
    const pad = Math.max((last - first) / 2, CHART_PAD_MS);
    const from = Math.max(start, first - pad);
    const to = Math.min(end, last + pad);
    let points = [];
    if (metric) {
      const q = new URLSearchParams({ metric, from: new Date(from).toISOString(), to: new Date(to).toISOString(), limit: String(RAW_POINTS) });
      // raw readings for a short span, buckets for a long one
      if (to - from > RAW_SPAN_MS) q.set('step', `${Math.max(60, Math.round((to - from) / 1000 / CHART_POINTS))}s`);
      const data = await api(`/api/v1/devices/${encodeURIComponent(alert.device)}/readings?${q}`);
      points = data.points.map((p) => [Date.parse(p.ts), p.avg ?? p.value]);
    }
    svg.innerHTML = drawChart({ from, to, points, intervals, line: def.kind === 'threshold' ? def.value : null });
  }

  /** A rule of the edited file as the hub read it (the last check). */
  parsedRule(id) {
    return (this.parsed || []).find((r) => r.id === id) || this.active.find((r) => r.id === id);
  }

  async save() {
    const v = await api('/api/v1/rules/validate', { method: 'POST', toml: this.text.value });
    if (!v.valid) { await this.validate(); return; }
    try {
      const s = await api('/api/v1/rules', { method: 'PUT', toml: this.text.value });
      this.say(`${t('rules_saved')}: ${s.rules} ${t('rules_count')} (+${s.added.length} / −${s.removed.length} / ~${s.changed.length})`);
      await this.load();
    } catch (err) {
      this.say(`${t('admin_refused')}: ${err.message}`, 'error');
    }
  }
}

const W = 900;
const H = 260;
const PAD = { l: 48, r: 12, t: 10, b: 24 };

/** An SVG chart body: shaded alert intervals, the series, an optional threshold line, time ticks. */
function drawChart({ from, to, points, intervals, line }) {
  const x = (ts) => PAD.l + ((ts - from) / (to - from)) * (W - PAD.l - PAD.r);
  const values = points.map((p) => p[1]).filter((v) => Number.isFinite(v));
  if (line != null) values.push(line);
  const lo = values.length ? Math.min(...values) : 0;
  const hi = values.length ? Math.max(...values) : 1;
  const span = hi - lo || 1;
  const y = (v) => H - PAD.b - ((v - lo) / span) * (H - PAD.t - PAD.b);
  const shaded = intervals.map((a) => {
    const x0 = x(Math.max(from, Date.parse(a.opened_at)));
    const x1 = x(a.closed_at ? Math.min(to, Date.parse(a.closed_at)) : to);
    return `<rect class="in-alert" x="${x0.toFixed(1)}" y="${PAD.t}" width="${Math.max(1, x1 - x0).toFixed(1)}" height="${H - PAD.t - PAD.b}"></rect>`;
  }).join('');
  const path = points.length ? `<polyline class="series" points="${points.map(([ts, v]) => `${x(ts).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"></polyline>` : '';
  const threshold = line != null ? `<line class="threshold" x1="${PAD.l}" x2="${W - PAD.r}" y1="${y(line).toFixed(1)}" y2="${y(line).toFixed(1)}"></line>` : '';
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const ts = from + f * (to - from);
    const anchor = f === 0 ? 'start' : f === 1 ? 'end' : 'middle';
    return `<text class="tick" x="${x(ts).toFixed(1)}" y="${H - 6}" text-anchor="${anchor}">${esc(fmtDateTime(new Date(ts).toISOString()))}</text>`;
  }).join('');
  const axis = `<text class="tick" x="4" y="${PAD.t + 10}">${esc(fmtNumber(hi, 2))}</text><text class="tick" x="4" y="${H - PAD.b}">${esc(fmtNumber(lo, 2))}</text>`;
  return `${shaded}${threshold}${path}${ticks}${axis}`;
}
