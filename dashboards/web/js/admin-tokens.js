// Integrators' API tokens, for an administrator: issue one for an integrator account (named,
// narrowed to some of what the integrator role may, expiring), shown once; list them (never the
// token itself); revoke one with a confirming second click (refused by the hub at once).

import { api } from './api.js';
import { t, applyI18n, fmtDateTime } from './i18n.js';
import { esc, options } from './html.js';

/** What an integrator's token may be narrowed to (the integrator row of the role matrix). */
const PERMISSIONS = ['devices_read', 'devices_write', 'system_read'];

const PANE = `
  <form class="admin-issue" data-form="token">
    <h3 data-i18n="token_new"></h3>
    <label class="field wide"><span data-i18n="token_name"></span><input name="name" required autocomplete="off"></label>
    <label class="field"><span data-i18n="token_account"></span><select name="username" required></select></label>
    <fieldset class="admin-perms"><legend data-i18n="token_permissions"></legend>
      ${PERMISSIONS.map((p) => `<label class="check"><input type="checkbox" name="perm" value="${p}"><span data-i18n="perm_${p}"></span></label>`).join('')}
      <span class="muted small" data-i18n="token_permissions_hint"></span>
    </fieldset>
    <label class="field"><span data-i18n="token_days"></span><input name="days" type="number" min="1" max="365" value="90" required></label>
    <button class="btn primary" type="submit" data-i18n="token_issue"></button>
  </form>
  <p class="muted small" data-i18n="token_no_integrator" data-empty hidden></p>
  <div class="admin-secret" data-secret hidden>
    <p data-i18n="token_shown_once"></p>
    <code class="mono" data-token></code>
  </div>
  <table class="admin-table" data-table="tokens"><thead><tr>
    <th data-i18n="token_name"></th><th data-i18n="token_account"></th><th data-i18n="token_permissions"></th>
    <th data-i18n="token_created"></th><th data-i18n="token_expires"></th><th data-i18n="token_last_used"></th>
    <th data-i18n="admin_state"></th><th data-i18n="admin_actions"></th></tr></thead><tbody></tbody></table>`;

/** A token's state as the hub would judge it now. */
const stateOf = (tok, now = Date.now()) => (tok.revoked_at ? 'revoked' : new Date(tok.expires_at).getTime() <= now ? 'expired' : 'active');

export class TokensPane {
  constructor(root, say) {
    this.root = root;
    this.say = say;
    root.innerHTML = PANE;
    applyI18n(root);
    this.form = root.querySelector('[data-form=token]');
    this.tokens = [];
    this.integrators = [];
    this.armed = null; // the token whose revoke waits for its confirming second click
    this.form.addEventListener('submit', (e) => { e.preventDefault(); this.issue(); });
    root.querySelector('[data-table=tokens] tbody').addEventListener('click', (e) => {
      const b = e.target.closest('button[data-act=revoke]');
      if (b) this.revoke(b.dataset.token);
    });
  }

  async load() {
    const [tokens, users] = await Promise.all([api('/api/v1/tokens'), api('/api/v1/users')]);
    this.tokens = tokens;
    this.integrators = users.filter((u) => u.role === 'integrator' && u.state === 'active');
    this.render();
  }

  render() {
    const f = this.form;
    f.username.innerHTML = options(this.integrators.map((u) => [u.username, `${u.display_name} (${u.username})`]), f.username.value);
    this.root.querySelector('[data-empty]').hidden = this.integrators.length > 0;
    const perms = (ps) => (ps.length ? ps.map((p) => t(`perm_${p}`)).join(', ') : t('token_all_permissions'));
    const rows = this.tokens.map((tok) => {
      const state = stateOf(tok);
      const label = this.armed === tok.id ? 'act_revoke_confirm' : 'act_revoke';
      const button = state === 'revoked' ? ''
        : `<button class="btn small danger" type="button" data-act="revoke" data-token="${esc(tok.id)}">${t(label)}</button>`;
      return `<tr data-token="${esc(tok.id)}" data-state="${state}">
        <td>${esc(tok.name)}</td><td class="mono">${esc(tok.username)}</td><td>${esc(perms(tok.permissions))}</td>
        <td>${fmtDateTime(tok.created_at)}</td><td>${fmtDateTime(tok.expires_at)}</td>
        <td>${tok.last_used_at ? fmtDateTime(tok.last_used_at) : ''}</td>
        <td><span class="state state-${state}">${t(`token_state_${state}`)}</span></td>
        <td class="admin-actions">${button}</td></tr>`;
    });
    this.root.querySelector('[data-table=tokens] tbody').innerHTML = rows.join('');
  }

  async issue() {
    const f = this.form;
    const body = {
      name: f.name.value.trim(),
      username: f.username.value,
      permissions: [...f.querySelectorAll('[name=perm]:checked')].map((c) => c.value),
      expires_in_days: Number(f.days.value),
    };
    try {
      const res = await api('/api/v1/tokens', { method: 'POST', body, retry: false });
      this.say(`${t('done_token_issue')}: ${res.name}`);
      const box = this.root.querySelector('[data-secret]');
      box.querySelector('[data-token]').textContent = res.token;
      box.hidden = false;
      f.reset();
      await this.load();
    } catch (err) {
      this.say(`${t('admin_refused')}: ${err.message}`, 'error');
    }
  }

  async revoke(id) {
    if (this.armed !== id) {
      this.armed = id;
      this.render();
      return;
    }
    this.armed = null;
    try {
      const res = await api(`/api/v1/tokens/${encodeURIComponent(id)}`, { method: 'DELETE', retry: false });
      this.say(`${t('done_token_revoke')}: ${res.name}`);
      this.root.querySelector('[data-secret]').hidden = true;
      await this.load();
    } catch (err) {
      this.say(`${t('admin_refused')}: ${err.message}`, 'error');
    }
  }
}
