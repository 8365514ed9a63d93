// The admin section of the console: a sheet over the map with one tab per kind of record an
// administrator keeps — accounts, agencies, integrators' API tokens, the audit trail, the alert
// rules — and the periodic reports a supervisor issues. Each tab is
// offered only to a role holding its permission (the hub refuses everyone else anyway); the panes
// live in admin-*.js and share this sheet's notice line.

import { applyI18n, t } from './i18n.js';
import { appEvents } from './events.js';
import { AccountsPane } from './admin-accounts.js';
import { AgenciesPane } from './admin-agencies.js';
import { TokensPane } from './admin-tokens.js';
import { AuditPane } from './admin-audit.js';
import { ReportsPane } from './admin-reports.js';
import { RulesPane } from './admin-rules.js';

/** The tabs, in order, with the permission each needs (GET /api/v1/auth/me `permissions`). */
const TABS = [
  { name: 'accounts', permission: 'users_manage', Pane: AccountsPane },
  { name: 'agencies', permission: 'agencies_manage', Pane: AgenciesPane },
  { name: 'tokens', permission: 'tokens_manage', Pane: TokensPane },
  { name: 'audit', permission: 'audit_read', Pane: AuditPane },
  { name: 'reports', permission: 'reports', Pane: ReportsPane },
  { name: 'rules', permission: 'rules_manage', Pane: RulesPane },
];

/** Whether an account with these permissions is offered the admin section at all. */
export const mayAdminister = (permissions) => TABS.some((tab) => permissions?.includes(tab.permission));

const SHELL = `
  <div class="admin-head">
    <h2 data-i18n="admin_title"></h2>
    <div class="admin-tabs" role="tablist">
      ${TABS.map((tab) => `<button class="btn" type="button" role="tab" data-tab="${tab.name}" data-i18n="admin_${tab.name}"></button>`).join('')}
    </div>
    <button class="btn icon" type="button" data-action="admin-close" data-i18n-aria="panel_close">×</button>
  </div>
  <p class="admin-notice" role="status" hidden></p>
  ${TABS.map((tab) => `<div data-pane="${tab.name}" hidden></div>`).join('')}`;

export class AdminView {
  constructor(root) {
    this.root = root;
    root.innerHTML = SHELL;
    applyI18n(root);
    this.notice = root.querySelector('.admin-notice');
    const say = (text, kind) => this.say(text, kind);
    this.panes = Object.fromEntries(TABS.map((tab) => [tab.name, new tab.Pane(root.querySelector(`[data-pane=${tab.name}]`), say)]));
    this.current = null;
    this.permissions = [];
    root.querySelector('[data-action=admin-close]').addEventListener('click', () => this.close());
    root.querySelectorAll('[data-tab]').forEach((b) => b.addEventListener('click', () => this.tab(b.dataset.tab)));
    appEvents.on('langchange', () => { if (!root.hidden) Object.values(this.panes).forEach((p) => p.render()); });
  }

  /** The logged-in account's permissions decide which tabs exist. */
  allow(permissions) {
    this.permissions = permissions || [];
    for (const tab of TABS) this.root.querySelector(`[data-tab=${tab.name}]`).hidden = !this.permissions.includes(tab.permission);
  }

  async open() {
    this.root.hidden = false;
    this.say('');
    const first = TABS.find((tab) => this.permissions.includes(tab.permission));
    if (first) await this.tab(this.current && this.permissions.includes(TABS.find((x) => x.name === this.current).permission) ? this.current : first.name);
  }

  /** Closing forgets what was shown once (a temporary password, a new token). */
  close() {
    this.root.hidden = true;
    this.say('');
    this.root.querySelectorAll('[data-secret]').forEach((box) => { box.hidden = true; });
  }

  async tab(name) {
    this.current = name;
    this.root.querySelectorAll('[data-tab]').forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.tab === name)));
    this.root.querySelectorAll('[data-pane]').forEach((p) => { p.hidden = p.dataset.pane !== name; });
    this.say('');
    try {
      await this.panes[name].load();
    } catch (err) {
      this.say(`${t('admin_refused')}: ${err.message}`, 'error');
    }
  }

  /** One line over the panes: what was done, a token or password shown once, or a refusal. */
  say(text, kind = 'ok') {
    this.notice.textContent = text;
    this.notice.className = `admin-notice ${kind}`;
    this.notice.hidden = !text;
  }
}
