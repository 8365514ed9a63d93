// The admin section of the console: accounts (issue, lock, unlock, reset the password or the
// second factor, revoke) and the audit trail (filter, export as CSV). Shown only to a role that
// holds `users_manage` (the hub refuses everyone else anyway); opened from the header.

import { api } from './api.js';
import { t, applyI18n, fmtDateTime } from './i18n.js';
import { appEvents } from './events.js';

const ROLES = ['admin', 'supervisor', 'operator', 'agency_handler', 'viewer', 'integrator'];

const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const SHELL = `
  <div class="admin-head">
    <h2 data-i18n="admin_title"></h2>
    <div class="admin-tabs" role="tablist">
      <button class="btn" type="button" role="tab" data-tab="accounts" data-i18n="admin_accounts"></button>
      <button class="btn" type="button" role="tab" data-tab="audit" data-i18n="admin_audit"></button>
    </div>
    <button class="btn icon" type="button" data-action="admin-close" data-i18n-aria="panel_close">×</button>
  </div>
  <p class="admin-notice" role="status" hidden></p>
  <div data-pane="accounts">
    <form class="admin-issue" data-form="issue">
      <h3 data-i18n="admin_issue"></h3>
      <label class="field"><span data-i18n="login_user"></span><input name="username" required pattern="[a-z0-9._-]{2,64}"></label>
      <label class="field"><span data-i18n="admin_display_name"></span><input name="display_name" required></label>
      <label class="field"><span data-i18n="admin_role"></span><select name="role">${ROLES.map((r) => `<option value="${r}" data-i18n="role_${r}"></option>`).join('')}</select></label>
      <label class="field"><span data-i18n="admin_agency"></span><select name="agency"><option value=""></option></select></label>
      <button class="btn primary" type="submit" data-i18n="admin_issue_submit"></button>
    </form>
    <label class="field admin-search"><span data-i18n="admin_search"></span><input name="q" type="search"></label>
    <table class="admin-table" data-table="users"><thead><tr>
      <th data-i18n="login_user"></th><th data-i18n="admin_display_name"></th><th data-i18n="admin_role"></th>
      <th data-i18n="admin_agency"></th><th data-i18n="admin_state"></th><th data-i18n="admin_last_active"></th>
      <th data-i18n="admin_totp"></th><th data-i18n="admin_actions"></th></tr></thead><tbody></tbody></table>
  </div>
  <div data-pane="audit" hidden>
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
      <th data-i18n="audit_action"></th><th data-i18n="audit_target"></th><th data-i18n="audit_result"></th></tr></thead><tbody></tbody></table>
  </div>`;

export class AdminView {
  constructor(root) {
    this.root = root;
    root.innerHTML = SHELL;
    applyI18n(root);
    this.notice = root.querySelector('.admin-notice');
    this.users = [];
    this.armed = null; // the username whose revoke waits for its confirming second click
    root.querySelector('[data-action=admin-close]').addEventListener('click', () => this.close());
    root.querySelectorAll('[data-tab]').forEach((b) => b.addEventListener('click', () => this.tab(b.dataset.tab)));
    root.querySelector('[name=q]').addEventListener('input', () => this.renderUsers());
    root.querySelector('[data-form=issue]').addEventListener('submit', (e) => { e.preventDefault(); this.issue(e.target); });
    root.querySelector('[data-form=audit]').addEventListener('submit', (e) => { e.preventDefault(); this.loadAudit(); });
    root.querySelector('[data-table=users] tbody').addEventListener('click', (e) => {
      const b = e.target.closest('button[data-act]');
      if (b) this.act(b.dataset.user, b.dataset.act);
    });
    appEvents.on('langchange', () => { if (!root.hidden) { this.renderUsers(); this.renderAudit(); } });
  }

  async open() {
    this.root.hidden = false;
    this.say('');
    await this.tab('accounts');
  }

  close() { this.root.hidden = true; }

  async tab(name) {
    this.root.querySelectorAll('[data-tab]').forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.tab === name)));
    this.root.querySelectorAll('[data-pane]').forEach((p) => { p.hidden = p.dataset.pane !== name; });
    if (name === 'accounts') await this.loadUsers(); else await this.loadAudit();
  }

  say(text, kind = 'ok') {
    this.notice.textContent = text;
    this.notice.className = `admin-notice ${kind}`;
    this.notice.hidden = !text;
  }

  async loadUsers() {
    const [users, agencies] = await Promise.all([api('/api/v1/users'), api('/api/v1/agencies')]);
    this.users = users;
    const select = this.root.querySelector('[name=agency]');
    select.replaceChildren(new Option('', ''), ...agencies.map((a) => new Option(a.name, a.id)));
    this.renderUsers();
  }

  renderUsers() {
    const q = this.root.querySelector('[name=q]').value.trim().toLowerCase();
    const rows = this.users
      .filter((u) => !q || `${u.username} ${u.display_name} ${u.agency ?? ''}`.toLowerCase().includes(q))
      .map((u) => {
        const actions = [];
        if (u.state === 'active') actions.push('lock');
        if (u.state === 'locked' || u.locked_until) actions.push('unlock');
        if (u.state !== 'revoked') actions.push('reset-password');
        if (u.totp_enabled && u.state !== 'revoked') actions.push('reset-totp');
        if (u.state !== 'revoked') actions.push('revoke');
        const buttons = actions.map((a) => {
          const label = a === 'revoke' && this.armed === u.username ? 'act_revoke_confirm' : `act_${a.replace('-', '_')}`;
          return `<button class="btn small${a === 'revoke' ? ' danger' : ''}" type="button" data-user="${esc(u.username)}" data-act="${a}">${t(label)}</button>`;
        }).join('');
        return `<tr data-user="${esc(u.username)}" data-state="${u.state}">
          <td class="mono">${esc(u.username)}</td><td>${esc(u.display_name)}</td><td>${t(`role_${u.role}`)}</td>
          <td>${esc(u.agency ?? '')}</td><td><span class="state state-${u.state}">${t(`state_${u.state}`)}</span></td>
          <td>${u.last_active_at ? fmtDateTime(u.last_active_at) : ''}</td><td>${u.totp_enabled ? '✓' : ''}</td>
          <td class="admin-actions">${buttons}</td></tr>`;
      });
    this.root.querySelector('[data-table=users] tbody').innerHTML = rows.join('');
  }

  async act(username, act) {
    if (act === 'revoke' && this.armed !== username) {
      this.armed = username;
      this.renderUsers();
      return;
    }
    this.armed = null;
    try {
      const res = await api(`/api/v1/users/${encodeURIComponent(username)}/${act}`, { method: 'POST', body: {}, retry: false });
      if (act === 'reset-password') this.say(`${t('admin_temporary')} ${username}: ${res.temporary_password}`);
      else this.say(`${t(`done_${act.replace('-', '_')}`)}: ${username}`);
      await this.loadUsers();
    } catch (err) {
      this.say(`${t('admin_refused')}: ${err.message}`, 'error');
    }
  }

  async issue(form) {
    const body = { username: form.username.value.trim(), display_name: form.display_name.value.trim(), role: form.role.value };
    if (form.agency.value) body.agency = form.agency.value;
    try {
      const res = await api('/api/v1/users', { method: 'POST', body, retry: false });
      this.say(`${t('admin_temporary')} ${res.username}: ${res.temporary_password}`);
      form.reset();
      await this.loadUsers();
    } catch (err) {
      this.say(`${t('admin_refused')}: ${err.message}`, 'error');
    }
  }

  auditQuery() {
    const f = this.root.querySelector('[data-form=audit]');
    const p = new URLSearchParams();
    if (f.actor.value.trim()) p.set('actor', f.actor.value.trim());
    if (f.action.value.trim()) p.set('action', f.action.value.trim());
    if (f.from.value) p.set('from', new Date(`${f.from.value}T00:00:00`).toISOString());
    if (f.to.value) p.set('to', new Date(`${f.to.value}T23:59:59`).toISOString());
    return p;
  }

  async loadAudit() {
    const p = this.auditQuery();
    p.set('limit', '200');
    try {
      this.records = await api(`/api/v1/audit?${p}`);
      this.say('');
    } catch (err) {
      this.records = [];
      this.say(`${t('admin_refused')}: ${err.message}`, 'error');
    }
    const csv = this.auditQuery();
    csv.set('format', 'csv');
    this.root.querySelector('[data-export]').href = `/api/v1/audit?${csv}`;
    this.renderAudit();
  }

  renderAudit() {
    const rows = (this.records || []).map((r) => `<tr data-action="${esc(r.action)}">
      <td class="mono">${r.seq}</td><td>${fmtDateTime(r.ts)}</td><td class="mono">${esc(r.actor)}</td><td class="mono">${esc(r.address)}</td>
      <td class="mono">${esc(r.action)}</td><td>${esc(r.target)}</td><td class="${String(r.result).startsWith('ok') ? '' : 'warn'}">${esc(r.result)}</td></tr>`);
    this.root.querySelector('[data-table=audit] tbody').innerHTML = rows.join('');
  }
}
