// The agency registry, for an administrator: the competent bodies alerts are forwarded to — the
// province's departments and the People's Committees of its communes and wards — with their
// area, duty contacts and webhook. A webhook's secret is write-only: the hub says whether one is
// set, never what; left empty on an edit, the current one stays.

import { api } from './api.js';
import { t, applyI18n } from './i18n.js';
import { esc, options } from './html.js';
import { formMode } from './admin-form.js';

const KINDS = ['police', 'fire_rescue', 'health', 'environment', 'water', 'traffic', 'civil_defense', 'commune', 'other'];

const CONTACT = `
  <div class="admin-contact" data-contact>
    <input name="c_name" data-i18n-placeholder="agency_contact_name" data-i18n-aria="agency_contact_name">
    <input name="c_title" data-i18n-placeholder="agency_contact_title" data-i18n-aria="agency_contact_title">
    <input name="c_phone" type="tel" data-i18n-placeholder="agency_contact_phone" data-i18n-aria="agency_contact_phone">
    <input name="c_email" type="email" data-i18n-placeholder="agency_contact_email" data-i18n-aria="agency_contact_email">
    <button class="btn small" type="button" data-action="contact-remove" data-i18n-aria="agency_contact_remove">−</button>
  </div>`;

const PANE = `
  <form class="admin-issue" data-form="agency">
    <h3 data-i18n="agency_new" data-title></h3>
    <label class="field"><span data-i18n="agency_id"></span><input name="id" required pattern="[a-z0-9._-]{1,64}" autocomplete="off"></label>
    <label class="field wide"><span data-i18n="agency_name"></span><input name="name" required></label>
    <label class="field"><span data-i18n="agency_kind"></span><select name="kind"></select></label>
    <label class="field"><span data-i18n="agency_area"></span><select name="area"></select></label>
    <fieldset class="admin-contacts"><legend data-i18n="agency_contacts"></legend>
      <div data-contacts></div>
      <button class="btn small" type="button" data-action="contact-add" data-i18n="agency_contact_add"></button>
    </fieldset>
    <fieldset class="admin-webhook"><legend data-i18n="agency_webhook"></legend>
      <label class="field wide"><span data-i18n="agency_webhook_url"></span><input name="webhook_url" type="url" placeholder="https://…" autocomplete="off"></label>
      <label class="field wide"><span data-i18n="agency_webhook_secret"></span><input name="webhook_secret" type="password" autocomplete="new-password" data-i18n-placeholder="agency_secret_new"></label>
      <label class="check" data-remove-webhook hidden><input name="webhook_remove" type="checkbox"><span data-i18n="agency_webhook_remove"></span></label>
    </fieldset>
    <button class="btn primary" type="submit" data-i18n="agency_add" data-submit></button>
    <button class="btn" type="button" data-action="cancel-edit" data-i18n="admin_cancel" hidden></button>
  </form>
  <table class="admin-table" data-table="agencies"><thead><tr>
    <th data-i18n="agency_id"></th><th data-i18n="agency_name"></th><th data-i18n="agency_kind"></th><th data-i18n="agency_area"></th>
    <th data-i18n="agency_contacts"></th><th data-i18n="agency_webhook"></th><th data-i18n="admin_actions"></th></tr></thead><tbody></tbody></table>`;

export class AgenciesPane {
  constructor(root, say) {
    this.root = root;
    this.say = say;
    root.innerHTML = PANE;
    applyI18n(root);
    this.form = root.querySelector('[data-form=agency]');
    this.contacts = root.querySelector('[data-contacts]');
    this.agencies = [];
    this.areas = [];
    this.editing = null; // the agency the form edits; null = adding a new one
    this.form.addEventListener('submit', (e) => { e.preventDefault(); this.submit(); });
    root.querySelector('[data-action=contact-add]').addEventListener('click', () => this.addContact());
    this.contacts.addEventListener('click', (e) => {
      if (e.target.closest('[data-action=contact-remove]')) e.target.closest('[data-contact]').remove();
    });
    root.querySelector('[data-action=cancel-edit]').addEventListener('click', () => this.edit(null));
    root.querySelector('[data-table=agencies] tbody').addEventListener('click', (e) => {
      const b = e.target.closest('button[data-act=edit]');
      if (b) this.edit(b.dataset.agency);
    });
    this.addContact();
  }

  addContact(c = {}) {
    this.contacts.insertAdjacentHTML('beforeend', CONTACT);
    const row = this.contacts.lastElementChild;
    applyI18n(row);
    row.querySelector('[name=c_name]').value = c.name ?? '';
    row.querySelector('[name=c_title]').value = c.title ?? '';
    row.querySelector('[name=c_phone]').value = c.phone ?? '';
    row.querySelector('[name=c_email]').value = c.email ?? '';
  }

  async load() {
    const [agencies, areas] = await Promise.all([api('/api/v1/agencies'), api('/api/v1/areas').catch(() => null)]);
    this.agencies = agencies;
    this.areas = (areas?.features ?? []).map((f) => f.properties).filter((p) => p.level !== 'province');
    this.render();
  }

  areaName(id) {
    return id ? this.areas.find((a) => a.id === id)?.name ?? id : t('agency_whole_province');
  }

  render() {
    const f = this.form;
    const keep = { kind: f.kind.value || 'commune', area: f.area.value };
    f.kind.innerHTML = options(KINDS.map((k) => [k, t(`kind_${k}`)]), keep.kind);
    f.area.innerHTML = options([['', t('agency_whole_province')], ...this.areas.map((a) => [a.id, a.name])], keep.area);
    const rows = this.agencies.map((a) => `<tr data-agency="${esc(a.id)}">
      <td class="mono">${esc(a.id)}</td><td>${esc(a.name)}</td><td>${t(`kind_${a.kind}`)}</td><td>${esc(this.areaName(a.area))}</td>
      <td>${a.contacts.map((c) => `<div>${esc(c.name)}${c.title ? `, ${esc(c.title)}` : ''}${c.phone ? ` · <span class="mono">${esc(c.phone)}</span>` : ''}${c.email ? ` · ${esc(c.email)}` : ''}</div>`).join('')}</td>
      <td>${a.webhook ? `<span class="mono">${esc(a.webhook.url)}</span><div class="muted small" data-secret-set>${t('agency_secret_set')}</div>` : ''}</td>
      <td class="admin-actions"><button class="btn small" type="button" data-act="edit" data-agency="${esc(a.id)}">${t('act_edit')}</button></td></tr>`);
    this.root.querySelector('[data-table=agencies] tbody').innerHTML = rows.join('');
  }

  /** Puts an agency into the form (null: back to adding a new one). */
  edit(id) {
    const a = this.agencies.find((x) => x.id === id);
    this.editing = a ? a.id : null;
    const f = this.form;
    f.querySelector('[data-remove-webhook]').hidden = !a?.webhook;
    f.webhook_secret.dataset.i18nPlaceholder = a?.webhook ? 'agency_secret_keep' : 'agency_secret_new';
    formMode(f, Boolean(a), 'id', { add: 'agency_new', edit: 'agency_edit', submitAdd: 'agency_add' });
    this.contacts.replaceChildren();
    if (a) {
      f.id.value = a.id;
      f.name.value = a.name;
      f.kind.value = a.kind;
      f.area.value = a.area ?? '';
      f.webhook_url.value = a.webhook?.url ?? '';
      a.contacts.forEach((c) => this.addContact(c));
      f.name.focus();
    }
    if (!this.contacts.children.length) this.addContact();
  }

  /** The contact rows that have a name; a field left empty is left out. */
  readContacts() {
    return [...this.contacts.querySelectorAll('[data-contact]')].map((row) => {
      const v = (n) => row.querySelector(`[name=${n}]`).value.trim();
      const c = { name: v('c_name') };
      for (const k of ['title', 'phone', 'email']) if (v(`c_${k}`)) c[k] = v(`c_${k}`);
      return c;
    }).filter((c) => c.name);
  }

  /** The webhook part of the request: undefined = unchanged, null = removed. */
  readWebhook(current) {
    const f = this.form;
    const url = f.webhook_url.value.trim();
    const secret = f.webhook_secret.value;
    if (f.webhook_remove.checked || (!url && current)) return null;
    if (!url) return undefined;
    if (current && url === current.url && !secret) return undefined;
    return secret ? { url, secret } : { url };
  }

  async submit() {
    const f = this.form;
    const current = this.agencies.find((a) => a.id === this.editing);
    const body = { name: f.name.value.trim(), kind: f.kind.value, area: f.area.value || null, contacts: this.readContacts() };
    const webhook = this.readWebhook(current?.webhook);
    if (webhook !== undefined && (webhook !== null || current)) body.webhook = webhook;
    try {
      if (current) {
        await api(`/api/v1/agencies/${encodeURIComponent(current.id)}`, { method: 'PATCH', body, retry: false });
        this.say(`${t('done_agency_edit')}: ${current.name}`);
      } else {
        body.id = f.id.value.trim();
        await api('/api/v1/agencies', { method: 'POST', body, retry: false });
        this.say(`${t('done_agency_add')}: ${body.name}`);
      }
      this.edit(null);
      await this.load();
    } catch (err) {
      this.say(`${t('admin_refused')}: ${err.message}`, 'error');
    }
  }
}
