// Notices to the person on duty, from the live alert frames: an escalation tier that names their
// role ("notify = [\"supervisor\"]" in the rules file's [[escalations]]), and a notification the
// hub could not deliver to an agency (the supervisor must reach it another way). A notice stays
// until it is clicked (it opens the alert) or dismissed; at most MAX_SHOWN are kept, newest first.

import { api } from './api.js';
import { t } from './i18n.js';

const MAX_SHOWN = 5;

export class Notices {
  constructor(root, store, { me, onOpen }) {
    this.root = root;
    this.me = me;
    this.onOpen = onOpen;
    /** id -> {escalations, undelivered} as last seen, to notice what changed. */
    this.seen = new Map();
    store.on('reset', () => { for (const a of store.alerts.values()) this._remember(a); });
    store.on('alert', ({ alert }) => this._frame(alert));
    root.addEventListener('click', (e) => {
      const n = e.target.closest('[data-notice]');
      if (!n) return;
      if (!e.target.closest('[data-dismiss]')) this.onOpen?.(Number(n.dataset.alert));
      n.remove();
    });
  }

  setMe(me) { this.me = me; }

  _remember(a) {
    this.seen.set(a.id, { escalations: a.escalations || 0, undelivered: (a.undelivered || []).length });
    if (this.seen.size > 5000) this.seen.delete(this.seen.keys().next().value);
  }

  /** Which names of a tier's `notify` reach this account. */
  _reaches(notify) {
    const role = this.me?.role;
    return (notify || []).some((n) => n === role || (n === 'supervisor' && role === 'admin'));
  }

  async _frame(a) {
    const before = this.seen.get(a.id);
    this._remember(a);
    if (!before || !this.me) return;
    if ((a.escalations || 0) > before.escalations) {
      const timeline = await api(`/api/v1/alerts/${a.id}/timeline`, { background: true }).catch(() => []);
      const tier = [...timeline].reverse().find((e) => e.kind === 'escalated');
      if (tier && this._reaches(tier.detail?.notify)) {
        const why = t(`reason_${String(tier.detail.reason || '').replace(/ /g, '_')}`);
        this.show(a, 'escalated', t('notice_escalated').replace('{id}', a.id).replace('{why}', why));
      }
    }
    if ((a.undelivered || []).length > before.undelivered && ['supervisor', 'admin', 'operator'].includes(this.me.role)) {
      this.show(a, 'undelivered', t('notice_undelivered').replace('{id}', a.id).replace('{agencies}', a.undelivered.join(', ')));
    }
  }

  show(alert, kind, text) {
    const n = document.createElement('div');
    n.className = `notice notice-${kind}`;
    n.dataset.notice = kind;
    n.dataset.alert = String(alert.id);
    n.setAttribute('role', 'alert');
    const body = document.createElement('span');
    body.textContent = text;
    const x = document.createElement('button');
    x.type = 'button';
    x.className = 'btn icon';
    x.dataset.dismiss = '1';
    x.textContent = '×';
    x.setAttribute('aria-label', t('panel_close'));
    n.append(body, x);
    this.root.prepend(n);
    while (this.root.children.length > MAX_SHOWN) this.root.lastElementChild.remove();
  }
}
