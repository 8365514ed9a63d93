// Accounts, for an administrator: issue one (role, agency, area scope, contact; the temporary
// password is shown once), edit its powers, lock, unlock, reset the password or the second
// factor, revoke it for good (a confirming second click), find one by name.

import { api } from './api.js';
import { t, applyI18n, fmtDateTime } from './i18n.js';
import { esc, options } from './html.js';
import { formMode } from './admin-form.js';

const ROLES = ['admin', 'supervisor', 'operator', 'agency_handler', 'viewer', 'integrator'];

const PANE = `
  <form class="admin-issue" data-form="account">
    <h3 data-i18n="admin_issue" data-title></h3>
    <label class="field"><span data-i18n="login_user"></span><input name="username" required pattern="[a-z0-9._-]{2,64}" autocomplete="off"></label>
    <label class="field"><span data-i18n="admin_display_name"></span><input name="display_name" required></label>
    <label class="field"><span data-i18n="admin_role"></span><select name="role"></select></label>
    <label class="field"><span data-i18n="admin_agency"></span><select name="agency"></select></label>
    <label class="field"><span data-i18n="admin_areas"></span><select name="areas" multiple size="4"></select></label>
    <label class="field"><span data-i18n="admin_contact"></span><input name="contact" autocomplete="off"></label>
    <button class="btn primary" type="submit" data-i18n="admin_issue_submit" data-submit></button>
    <button class="btn" type="button" data-action="cancel-edit" data-i18n="admin_cancel" hidden></button>
  </form>
  <label class="field admin-search"><span data-i18n="admin_search"></span><input name="q" type="search"></label>
  <table class="admin-table" data-table="users"><thead><tr>
    <th data-i18n="login_user"></th><th data-i18n="admin_display_name"></th><th data-i18n="admin_role"></th>
    <th data-i18n="admin_agency"></th><th data-i18n="admin_areas"></th><th data-i18n="admin_state"></th>
    <th data-i18n="admin_last_active"></th><th data-i18n="admin_totp"></th><th data-i18n="admin_actions"></th></tr></thead><tbody></tbody></table>`;

export class AccountsPane {
  constructor(root, say) {
    this.root = root;
    this.say = say;
    root.innerHTML = PANE;
    applyI18n(root);
    this.form = root.querySelector('[data-form=account]');
    this.users = [];
    this.agencies = [];
    this.areas = [];
    this.editing = null; // the username whose powers the form edits; null = issuing a new account
    this.armed = null; // the username whose revoke waits for its confirming second click
    root.querySelector('[name=q]').addEventListener('input', () => this.renderRows());
    this.form.addEventListener('submit', (e) => { e.preventDefault(); this.submit(); });
    root.querySelector('[data-action=cancel-edit]').addEventListener('click', () => this.edit(null));
    root.querySelector('[data-table=users] tbody').addEventListener('click', (e) => {
      const b = e.target.closest('button[data-act]');
      if (b) this.act(b.dataset.user, b.dataset.act);
    });
  }

  async load() {
    const [users, agencies, areas] = await Promise.all([
      api('/api/v1/users'), api('/api/v1/agencies'), api('/api/v1/areas').catch(() => null)]);
    this.users = users;
    this.agencies = agencies;
    this.areas = (areas?.features ?? []).map((f) => f.properties).filter((p) => p.level !== 'province');
    this.render();
  }

  render() {
    const f = this.form;
    const keep = { role: f.role.value || 'operator', agency: f.agency.value, areas: [...f.areas.selectedOptions].map((o) => o.value) };
    f.role.innerHTML = options(ROLES.map((r) => [r, t(`role_${r}`)]), keep.role);
    f.agency.innerHTML = options([['', t('admin_no_agency')], ...this.agencies.map((a) => [a.id, a.name])], keep.agency);
    f.areas.innerHTML = options(this.areas.map((a) => [a.id, a.name]));
    for (const o of f.areas.options) o.selected = keep.areas.includes(o.value);
    f.areas.title = t('admin_areas_hint');
    this.renderRows();
  }

  renderRows() {
    const q = this.root.querySelector('[name=q]').value.trim().toLowerCase();
    const areaName = (id) => this.areas.find((a) => a.id === id)?.name ?? id;
    const rows = this.users
      .filter((u) => !q || `${u.username} ${u.display_name} ${u.agency ?? ''} ${u.contact ?? ''}`.toLowerCase().includes(q))
      .map((u) => {
        const actions = [];
        if (u.state !== 'revoked') actions.push('edit');
        if (u.state === 'active') actions.push('lock');
        if (u.state === 'locked' || u.locked_until) actions.push('unlock');
        if (u.state !== 'revoked') actions.push('reset-password');
        if (u.totp_enabled && u.state !== 'revoked') actions.push('reset-totp');
        if (u.state !== 'revoked') actions.push('revoke');
        const buttons = actions.map((a) => {
          const label = a === 'revoke' && this.armed === u.username ? 'act_revoke_confirm' : `act_${a.replace('-', '_')}`;
          return `<button class="btn small${a === 'revoke' ? ' danger' : ''}" type="button" data-user="${esc(u.username)}" data-act="${a}">${t(label)}</button>`;
        }).join('');
        return `<tr data-user="${esc(u.username)}" data-state="${esc(u.state)}">
          <td class="mono">${esc(u.username)}</td><td>${esc(u.display_name)}${u.contact ? `<div class="muted small">${esc(u.contact)}</div>` : ''}</td>
          <td>${t(`role_${u.role}`)}</td><td>${esc(u.agency ?? '')}</td>
          <td>${u.areas.length ? esc(u.areas.map(areaName).join(', ')) : `<span class="muted">${t('admin_all_areas')}</span>`}</td>
          <td><span class="state state-${esc(u.state)}">${t(`state_${u.state}`)}</span></td>
          <td>${u.last_active_at ? fmtDateTime(u.last_active_at) : ''}</td><td>${u.totp_enabled ? '✓' : ''}</td>
          <td class="admin-actions">${buttons}</td></tr>`;
      });
    this.root.querySelector('[data-table=users] tbody').innerHTML = rows.join('');
  }

  /** Puts an account's powers into the form (null: back to issuing a new one). */
  edit(username) {
    const u = this.users.find((x) => x.username === username);
    this.editing = u ? u.username : null;
    const f = this.form;
    formMode(f, Boolean(u), 'username', { add: 'admin_issue', edit: 'admin_edit', submitAdd: 'admin_issue_submit' });
    if (u) {
      f.username.value = u.username;
      f.display_name.value = u.display_name;
      f.role.value = u.role;
      f.agency.value = u.agency ?? '';
      for (const o of f.areas.options) o.selected = u.areas.includes(o.value);
      f.contact.value = u.contact ?? '';
      f.display_name.focus();
    }
  }

  async act(username, act) {
    if (act === 'edit') { this.edit(username); return; }
    if (act === 'revoke' && this.armed !== username) {
      this.armed = username;
      this.renderRows();
      return;
    }
    this.armed = null;
    try {
      const res = await api(`/api/v1/users/${encodeURIComponent(username)}/${act}`, { method: 'POST', body: {}, retry: false });
      if (act === 'reset-password') this.say(`${t('admin_temporary')} ${username}: ${res.temporary_password}`);
      else this.say(`${t(`done_${act.replace('-', '_')}`)}: ${username}`);
      await this.load();
    } catch (err) {
      this.say(`${t('admin_refused')}: ${err.message}`, 'error');
    }
  }

  async submit() {
    const f = this.form;
    const fields = {
      display_name: f.display_name.value.trim(),
      role: f.role.value,
      areas: [...f.areas.selectedOptions].map((o) => o.value),
    };
    try {
      if (this.editing) {
        const body = { ...fields, agency: f.agency.value || null, contact: f.contact.value.trim() || null };
        await api(`/api/v1/users/${encodeURIComponent(this.editing)}`, { method: 'PATCH', body, retry: false });
        this.say(`${t('done_edit')}: ${this.editing}`);
      } else {
        const body = { username: f.username.value.trim(), ...fields };
        if (f.agency.value) body.agency = f.agency.value;
        if (f.contact.value.trim()) body.contact = f.contact.value.trim();
        const res = await api('/api/v1/users', { method: 'POST', body, retry: false });
        this.say(`${t('admin_temporary')} ${res.username}: ${res.temporary_password}`);
      }
      this.edit(null);
      await this.load();
    } catch (err) {
      this.say(`${t('admin_refused')}: ${err.message}`, 'error');
    }
  }
}
