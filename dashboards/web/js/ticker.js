// The alert ticker: open alerts, most severe first, then newest. Re-rendered at most every 200 ms
// however many frames arrive, and never more than MAX_SHOWN rows (a wall runs for days). A new
// critical alert flashes the whole ticker and, when the operator turned sound on, beeps (WebAudio;
// a browser only allows sound after a user gesture, so the toggle is that gesture).

import { t, fmtNumber, fmtTime, fmtDateTime, measureLabel, measureUnit, ruleLabel, relTime } from './i18n.js';
import { appEvents } from './events.js';

const MAX_SHOWN = 100;
const SOUND_KEY = 'iochub.sound';

export class Ticker {
  constructor(listEl, store, { onPick, soundButton, flashEl, statesEl } = {}) {
    this.el = listEl;
    this.statesEl = statesEl;
    this.store = store;
    this.onPick = onPick;
    this.flashEl = flashEl;
    this.soundButton = soundButton;
    this.timer = null;
    this.audio = null;
    try { this.sound = localStorage.getItem(SOUND_KEY) === '1'; } catch { this.sound = false; }
    store.on('alert', ({ alert, isNew }) => {
      if (isNew && alert.severity === 'critical') this._critical();
      this.schedule();
    });
    store.on('reset', () => this.schedule());
    store.on('renamed', () => this.schedule());
    appEvents.on('langchange', () => { this.render(); this._soundLabel(); });
    setInterval(() => this.render(), 30000); // relative times
    if (soundButton) {
      soundButton.addEventListener('click', () => {
        this.sound = !this.sound;
        try { localStorage.setItem(SOUND_KEY, this.sound ? '1' : '0'); } catch { /* ignore */ }
        if (this.sound) this._beep(0.08);
        this._soundLabel();
      });
      this._soundLabel();
    }
    this.el.addEventListener('click', (e) => this._click(e));
    this.el.addEventListener('keydown', (e) => { if (e.key === 'Enter') this._click(e); });
    this.render();
  }

  _click(e) {
    const li = e.target.closest('li[data-id]');
    if (li && this.onPick) this.onPick(li.dataset.device, Number(li.dataset.id));
  }

  _soundLabel() {
    if (!this.soundButton) return;
    this.soundButton.textContent = t(this.sound ? 'sound_on' : 'sound_off');
    this.soundButton.title = t('sound_title');
    this.soundButton.setAttribute('aria-pressed', String(this.sound));
  }

  schedule() {
    if (this.timer) return;
    this.timer = setTimeout(() => { this.timer = null; this.render(); }, 200);
  }

  render() {
    const alerts = this.store.sortedAlerts();
    const frag = document.createDocumentFragment();
    for (const a of alerts.slice(0, MAX_SHOWN)) frag.append(this._row(a));
    if (!alerts.length) {
      const li = document.createElement('li');
      li.className = 'ticker-empty';
      li.textContent = t('no_alerts');
      frag.append(li);
    }
    this.el.replaceChildren(frag);
    this.el.dataset.count = String(alerts.length);
    this._states();
  }

  /** How many unresolved alerts are in each handling state (the wall's and the console's). */
  _states() {
    if (!this.statesEl) return;
    const c = this.store.counts().states;
    const chips = ['open', 'acknowledged', 'dispatched', 'in_progress'].map((s) => {
      const chip = document.createElement('span');
      chip.className = `state-chip st-${s}`;
      chip.dataset.stateCount = s;
      const n = document.createElement('b');
      n.textContent = String(c[s] || 0);
      chip.append(`${t(`state_${s}`)} `, n);
      return chip;
    });
    this.statesEl.replaceChildren(...chips);
  }

  _row(a) {
    const d = this.store.devices.get(a.device);
    const unit = measureUnit(a, d?.latest.get(a.metric)?.unit);
    const li = document.createElement('li');
    li.className = `alert sev-${a.severity}`;
    li.dataset.device = a.device;
    li.dataset.id = String(a.id);
    li.tabIndex = 0;
    const sev = document.createElement('span');
    sev.className = 'sev-badge';
    sev.textContent = t(a.severity);
    const title = document.createElement('span');
    title.className = 'alert-title';
    title.textContent = a.source === 'field' ? `${t('field_report')} · ${t(`cat_${a.category || 'other'}`)}` : ruleLabel(a.rule, a.severity);
    const state = document.createElement('span');
    state.className = `state-chip st-${a.state}`;
    state.dataset.state = a.state;
    state.textContent = t(`state_${a.state}`);
    const when = document.createElement('time');
    when.dateTime = a.opened_at;
    when.title = fmtDateTime(a.opened_at);
    when.textContent = `${fmtTime(a.opened_at)} · ${relTime(a.opened_at)}`;
    const head = document.createElement('div');
    head.className = 'alert-head';
    head.append(sev, title, state);
    const where = document.createElement('div');
    where.className = 'alert-device';
    const name = document.createElement('span');
    name.translate = false; // a proper name
    name.textContent = a.source === 'field' ? (a.text || '') : (d?.name ? `${d.name} (${a.device})` : a.device);
    where.append(name, when);
    const what = document.createElement('div');
    what.className = 'alert-value';
    what.textContent = a.source === 'field'
      ? `${fmtNumber(a.lat, 4)}, ${fmtNumber(a.lon, 4)}`
      : `${measureLabel(a)}: ${fmtNumber(a.value)} ${unit} ${a.op} ${fmtNumber(a.threshold)} ${unit}`.replace(/\s+/g, ' ');
    li.append(head, where, what);
    if (a.agency) {
      const to = document.createElement('div');
      to.className = 'alert-agency';
      to.textContent = `→ ${(a.agencies || [a.agency]).join(', ')}`;
      li.append(to);
    }
    return li;
  }

  _critical() {
    if (this.flashEl) {
      this.flashEl.classList.remove('flash');
      void this.flashEl.offsetWidth; // restart the animation
      this.flashEl.classList.add('flash');
    }
    if (this.sound) this._beep(0.5);
  }

  _beep(seconds) {
    try {
      this.audio ??= new AudioContext();
      const ctx = this.audio;
      const now = ctx.currentTime;
      for (let i = 0; i < 3 && seconds > 0.1; i++) this._tone(ctx, now + i * 0.22, 0.16);
      if (seconds <= 0.1) this._tone(ctx, now, seconds);
    } catch { /* no audio device */ }
  }

  _tone(ctx, at, len) {
    const o = ctx.createOscillator();
    const g = ctx.createGain();
    o.type = 'square';
    o.frequency.value = 880;
    g.gain.setValueAtTime(0.0001, at);
    g.gain.exponentialRampToValueAtTime(0.2, at + 0.01);
    g.gain.exponentialRampToValueAtTime(0.0001, at + len);
    o.connect(g).connect(ctx.destination);
    o.start(at);
    o.stop(at + len + 0.02);
  }
}

/** The headline counts (online/offline, open alerts by severity) into elements with data-count. */
export function bindCounts(root, store) {
  const render = () => {
    const c = store.counts();
    const set = (k, v) => { const el = root.querySelector(`[data-count="${k}"]`); if (el) el.textContent = String(v); };
    set('online', c.online); set('offline', c.offline); set('total', c.total);
    set('critical', c.alerts.critical); set('warning', c.alerts.warning); set('info', c.alerts.info);
    root.querySelector('[data-count="critical"]')?.closest('.count')?.classList.toggle('hot', c.alerts.critical > 0);
  };
  let timer = null;
  const schedule = () => { if (!timer) timer = setTimeout(() => { timer = null; render(); }, 250); };
  store.on('counts', schedule);
  store.on('reset', schedule);
  render();
}
