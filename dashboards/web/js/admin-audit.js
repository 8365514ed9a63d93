// The audit trail, for an administrator: every record by actor, action and dates, newest first,
// and the same selection exported as CSV by the hub.

import { api } from './api.js';
import { t, applyI18n, fmtDateTime } from './i18n.js';
import { esc } from './html.js';

const PANE = `
  <form class="admin-filter" data-form="audit">
    <label class="field"><span data-i18n="audit_actor"></span><input name="actor"></label>
    <label class="field"><span data-i18n="audit_action"></span><input name="action" placeholder="user, auth.login…"></label>
    <label class="field"><span data-i18n="audit_from"></span><input name="from" type="date"></label>
    <label class="field"><span data-i18n="audit_to"></span><input name="to" type="date"></label>
    <button class="btn primary" type="submit" data-i18n="audit_apply"></button>
    <a class="btn" data-export download="audit.csv" data-i18n="audit_export"></a>
  </form>
  <table class="admin-table" data-table="audit"><thead><tr>
    <th>#</th><th data-i18n="audit_time"></th><th data-i18n="audit_actor"></th><th data-i18n="audit_address"></th>
    <th data-i18n="audit_action"></th><th data-i18n="audit_target"></th><th data-i18n="audit_result"></th></tr></thead><tbody></tbody></table>`;

export class AuditPane {
  constructor(root, say) {
    this.root = root;
    this.say = say;
    root.innerHTML = PANE;
    applyI18n(root);
    this.records = [];
    root.querySelector('[data-form=audit]').addEventListener('submit', (e) => { e.preventDefault(); this.load(); });
  }

  query() {
    const f = this.root.querySelector('[data-form=audit]');
    const p = new URLSearchParams();
    if (f.actor.value.trim()) p.set('actor', f.actor.value.trim());
    if (f.action.value.trim()) p.set('action', f.action.value.trim());
    if (f.from.value) p.set('from', new Date(`${f.from.value}T00:00:00`).toISOString());
    if (f.to.value) p.set('to', new Date(`${f.to.value}T23:59:59`).toISOString());
    return p;
  }

  async load() {
    const p = this.query();
    p.set('limit', '200');
    try {
      this.records = await api(`/api/v1/audit?${p}`);
    } catch (err) {
      this.records = [];
      this.say(`${t('admin_refused')}: ${err.message}`, 'error');
    }
    const csv = this.query();
    csv.set('format', 'csv');
    this.root.querySelector('[data-export]').href = `/api/v1/audit?${csv}`;
    this.render();
  }

  render() {
    const rows = this.records.map((r) => `<tr data-action="${esc(r.action)}">
      <td class="mono">${esc(r.seq)}</td><td>${fmtDateTime(r.ts)}</td><td class="mono">${esc(r.actor)}</td><td class="mono">${esc(r.address)}</td>
      <td class="mono">${esc(r.action)}</td><td>${esc(r.target)}</td><td class="${String(r.result).startsWith('ok') ? '' : 'warn'}">${esc(r.result)}</td></tr>`);
    this.root.querySelector('[data-table=audit] tbody').innerHTML = rows.join('');
  }
}
