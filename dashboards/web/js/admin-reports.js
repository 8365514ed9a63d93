// The periodic reports, for a supervisor or an administrator: pick a report and a period, look at
// it as the printable page (report/index.html, which prints or saves as PDF), download its CSV,
// or issue it (the next version, kept unchanged); below, every issued report with its version and
// SHA-256. The hub issues each month's, quarter's, half-year's and year's reports by itself.

import { api } from './api.js';
import { t, applyI18n, fmtDateTime, getLang } from './i18n.js';
import { esc, options } from './html.js';

const PANE = `
  <form class="admin-issue" data-form="report">
    <h3 data-i18n="report_pick"></h3>
    <label class="field"><span data-i18n="report_kind"></span><select name="kind"></select></label>
    <label class="field"><span data-i18n="report_span"></span><select name="span"></select></label>
    <label class="field" data-for="month"><span data-i18n="report_month"></span><input name="month" type="month"></label>
    <label class="field" data-for="quarter half year"><span data-i18n="report_year"></span><input name="year" type="number" min="2000" max="2100"></label>
    <label class="field" data-for="quarter"><span data-i18n="report_quarter"></span><select name="quarter">${[1, 2, 3, 4].map((q) => `<option value="${q}">${q}</option>`).join('')}</select></label>
    <label class="field" data-for="half"><span data-i18n="report_half"></span><select name="half"><option value="1">1</option><option value="2">2</option></select></label>
    <label class="field" data-for="range"><span data-i18n="report_from"></span><input name="from" type="date"></label>
    <label class="field" data-for="range"><span data-i18n="report_to"></span><input name="to" type="date"></label>
    <button class="btn primary" type="button" data-action="view" data-i18n="report_view"></button>
    <a class="btn" data-action="csv" data-i18n="report_csv"></a>
    <button class="btn" type="button" data-action="issue" data-i18n="report_issue"></button>
  </form>
  <h3 data-i18n="report_issued"></h3>
  <table class="admin-table" data-table="issued"><thead><tr>
    <th data-i18n="report_kind"></th><th data-i18n="report_period"></th><th data-i18n="report_version"></th>
    <th data-i18n="report_issued_at"></th><th data-i18n="report_issued_by"></th><th>SHA-256</th><th data-i18n="admin_actions"></th></tr></thead><tbody></tbody></table>`;

const KINDS = ['handling', 'data-supply'];
const SPANS = ['month', 'quarter', 'half', 'year', 'range'];

/** Local date parts in the province's zone. */
function today() {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Ho_Chi_Minh' }).format(new Date());
}

export class ReportsPane {
  constructor(root, say) {
    this.root = root;
    this.say = say;
    root.innerHTML = PANE;
    this.form = root.querySelector('[data-form=report]');
    this.issued = [];
    const now = today();
    const [y, m] = now.split('-').map(Number);
    const last = m === 1 ? `${y - 1}-12` : `${y}-${String(m - 1).padStart(2, '0')}`;
    this.form.month.value = last;
    this.form.year.value = String(m === 1 ? y - 1 : y);
    this.form.from.value = `${now.slice(0, 8)}01`;
    this.form.to.value = now;
    this.form.addEventListener('change', () => this.sync());
    root.querySelector('[data-action=view]').addEventListener('click', () => window.open(this.pageUrl(), '_blank', 'noopener'));
    root.querySelector('[data-action=issue]').addEventListener('click', () => this.issue());
    this.render();
  }

  /** The query naming the chosen period (period=… or from=…&to=…). */
  period() {
    const f = this.form;
    switch (f.span.value) {
      case 'month': return { period: f.month.value };
      case 'quarter': return { period: `${f.year.value}-Q${f.quarter.value}` };
      case 'half': return { period: `${f.year.value}-H${f.half.value}` };
      case 'year': return { period: f.year.value };
      default: return { from: f.from.value, to: f.to.value };
    }
  }

  pageUrl() {
    const q = new URLSearchParams({ kind: this.form.kind.value, ...this.period(), lang: getLang() });
    return `report/?${q}`;
  }

  sync() {
    const span = this.form.span.value;
    this.root.querySelectorAll('[data-for]').forEach((el) => { el.hidden = !el.dataset.for.split(' ').includes(span); });
    const q = new URLSearchParams({ ...this.period(), format: 'csv' });
    this.root.querySelector('[data-action=csv]').href = `/api/v1/reports/${this.form.kind.value}?${q}`;
  }

  render() {
    applyI18n(this.root);
    const kind = this.form.kind.value || 'handling';
    const span = this.form.span.value || 'month';
    this.form.kind.innerHTML = options(KINDS.map((k) => [k, t(`report_kind_${k}`)]), kind);
    this.form.span.innerHTML = options(SPANS.map((s) => [s, t(`report_span_${s}`)]), span);
    this.sync();
    this.root.querySelector('[data-table=issued] tbody').innerHTML = this.issued.map((r) => `<tr>
      <td>${esc(t(`report_kind_${r.kind}`))}</td><td class="mono">${esc(r.period)}</td><td>${esc(r.version)}</td>
      <td>${esc(fmtDateTime(r.issued_at))}</td><td>${esc(r.issued_by === 'system' ? t('report_by_system') : r.issued_by)}</td>
      <td class="mono" title="${esc(r.sha256)}">${esc(r.sha256.slice(0, 12))}…</td>
      <td><a class="btn small" href="report/?issued=${esc(r.id)}&lang=${getLang()}" target="_blank" rel="noopener" data-i18n="report_view"></a>
        <a class="btn small" href="/api/v1/reports/issued/${esc(r.id)}?format=csv" data-i18n="report_csv"></a></td></tr>`).join('')
      || `<tr><td colspan="7" class="muted">${esc(t('report_none'))}</td></tr>`;
    applyI18n(this.root.querySelector('[data-table=issued]'));
  }

  async load() {
    this.issued = await api('/api/v1/reports/issued');
    this.render();
  }

  async issue() {
    try {
      const r = await api('/api/v1/reports/issued', { method: 'POST', body: { kind: this.form.kind.value, ...this.period() } });
      this.say(`${t('report_issued_ok')} ${t(`report_kind_${r.kind}`)} ${r.period} v${r.version} (SHA-256 ${r.sha256.slice(0, 12)}…)`);
      await this.load();
    } catch (err) {
      this.say(`${t('admin_refused')}: ${err.message}`, 'error');
    }
  }
}
