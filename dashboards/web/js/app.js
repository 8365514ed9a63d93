// The operator console (index.html): map, alert ticker, device panel, area tools.

import { createShell } from './shell.js';
import { DeviceMap, COLORS } from './map.js';
import { Ticker, bindCounts } from './ticker.js';
import { cameras } from './cameras.js';
import { DevicePanel } from './panel.js';
import { AreaTools } from './areas.js';
import { AdminView, mayAdminister } from './admin.js';
import { AlertConsole } from './alerts-console.js';
import { WallLayoutsView } from './wall-layouts.js';
import { Notices } from './notices.js';
import { t } from './i18n.js';
import { appEvents } from './events.js';

/** A sheet over the console (the admin section, the wall's layouts, the alert console): hidden. */
function sheet(id, className = 'admin') {
  const el = Object.assign(document.createElement('section'), { id, className, hidden: true });
  document.body.appendChild(el);
  return el;
}

const shell = createShell({
  async onReady({ store }) {
    const panelEl = document.getElementById('panel');
    let map;
    let console_;
    const select = (key, id) => {
      // A field report has no device: its alert opens in the console.
      if (!key) { if (id) console_.open({ id }); return; }
      map.select(key);
      panel.open(key);
      telemetryFilter();
      map.flyTo(key);
    };
    // Live values matter where they can be read: in the open device's panel, and on the map once
    // zoomed in to a few communes (the viewport's bbox). At province zoom the map shows states, which
    // come on the alerts/devices feed; pulling every reading of 20,000 devices (2,000 frames/s)
    // that nothing displays would only cost the main thread.
    const TELEMETRY_MIN_ZOOM = 10;
    const telemetryFilter = () => {
      const z = map?.zoom();
      if (z === null || z === undefined) return;
      if (z >= TELEMETRY_MIN_ZOOM) shell.setTelemetryFilter({ bbox: map.viewportBbox() });
      else if (panel.key) shell.setTelemetryFilter({ devices: [panel.key] });
      else shell.setTelemetryFilter(null);
    };
    const panel = new DevicePanel(panelEl, store, { onClose: () => { map.select(null); telemetryFilter(); } });
    map = new DeviceMap(document.getElementById('map'), store, {
      onSelect: select,
      onSelectAlert: (id) => console_.open({ id }),
      onViewport: () => telemetryFilter(),
      panelWidth: () => (panelEl.hidden ? 0 : panelEl.offsetWidth),
    });
    await map.ready;
    cameras().then((list) => map.showCameras(list));
    telemetryFilter();
    document.querySelector('.legend-illustrative').hidden = !map.hasIllustrativeAreas();
    document.querySelectorAll('[data-legend]').forEach((el) => { el.style.background = COLORS[el.dataset.legend]; });
    const ticker = new Ticker(document.getElementById('ticker-list'), store, {
      onPick: select,
      soundButton: document.getElementById('sound'),
      flashEl: document.getElementById('ticker'),
      statesEl: document.querySelector('[data-ticker-states]'),
    });
    bindCounts(document.querySelector('header.top'), store);
    const areas = new AreaTools(document.getElementById('areas-body'), map, store, { onPick: select });
    document.getElementById('areas-toggle').addEventListener('click', (e) => {
      const box = document.getElementById('areas');
      box.classList.toggle('collapsed');
      e.currentTarget.setAttribute('aria-expanded', String(!box.classList.contains('collapsed')));
      setTimeout(() => map.resize(), 50);
    });
    // The admin section, offered only to a role that administers something (accounts, agencies,
    // tokens, the audit trail), with the tabs that role may use.
    const admin = new AdminView(sheet('admin'));
    const adminBtn = document.querySelector('header.top [data-action=admin]');
    adminBtn.addEventListener('click', () => admin.open());
    const offer = (me) => {
      admin.allow(me?.permissions);
      adminBtn.hidden = !mayAdminister(me?.permissions);
      if (adminBtn.hidden) admin.close();
    };
    offer(shell.me);
    appEvents.on('session', offer);
    // Arranging the video wall's named layouts, for the roles that may (operators and up).
    const wallLayouts = new WallLayoutsView(sheet('wall-layouts'));
    const wallBtn = document.querySelector('header.top [data-action=wall-layouts]');
    wallBtn.addEventListener('click', () => { admin.close(); wallLayouts.open(); });
    adminBtn.addEventListener('click', () => wallLayouts.close());
    const offerWall = (me) => {
      wallBtn.hidden = !me?.permissions?.includes('wall_arrange');
      if (wallBtn.hidden) wallLayouts.close();
    };
    offerWall(shell.me);
    appEvents.on('session', offerWall);
    // The alert console, for every account that reads alerts; the header's button counts what
    // waits for this account (the IOC: alerts nobody took; an agency: alerts sent to it, not
    // started), and a red strip stays while a critical alert waits unacknowledged.
    console_ = new AlertConsole(sheet('alert-console', 'admin console-sheet'), store, {
      me: shell.me,
      onLocate: (a) => {
        console_.close();
        if (a.device) select(a.device); else map.flyToPoint(a.lon, a.lat);
      },
    });
    const consoleBtn = document.querySelector('header.top [data-action=console]');
    consoleBtn.addEventListener('click', () => console_.open({ state: waitingState() }));
    const urgent = document.getElementById('urgent');
    urgent.addEventListener('click', () => console_.open({ state: 'open' }));
    const ioc = () => ['admin', 'supervisor', 'operator'].includes(shell.me?.role);
    const waitingState = () => (ioc() ? 'open' : 'dispatched');
    const waiting = () => {
      let n = 0;
      for (const a of store.alerts.values()) {
        if (ioc() ? a.state === 'open' : a.state === 'dispatched' && a.agency === shell.me?.agency) n++;
      }
      return n;
    };
    const renderWaiting = () => {
      const n = waiting();
      const badge = consoleBtn.querySelector('[data-count=awaiting]');
      badge.textContent = String(n);
      badge.classList.toggle('none', n === 0);
      const c = store.counts();
      const show = ioc() && c.criticalUnacknowledged > 0;
      urgent.hidden = !show;
      document.body.classList.toggle('has-urgent', show);
      if (show) urgent.querySelector('[data-urgent-text]').textContent = t('urgent_strip').replace('{n}', String(c.criticalUnacknowledged));
    };
    let waitTimer = null;
    const scheduleWaiting = () => { waitTimer ??= setTimeout(() => { waitTimer = null; renderWaiting(); }, 250); };
    store.on('counts', scheduleWaiting);
    store.on('reset', scheduleWaiting);
    const noticesEl = document.createElement('div');
    noticesEl.id = 'notices';
    noticesEl.className = 'notices';
    document.body.appendChild(noticesEl);
    const notices = new Notices(noticesEl, store, { me: shell.me, onOpen: (id) => console_.open({ id }) });
    const offerConsole = (me) => {
      consoleBtn.hidden = !me?.permissions?.includes('alerts_read');
      console_.setMe(me);
      notices.setMe(me);
      renderWaiting();
    };
    offerConsole(shell.me);
    appEvents.on('session', offerConsole);
    appEvents.on('langchange', renderWaiting);
    // Test and bench hook (read-only use expected): the map, the store and the views.
    window.iochub = { map, store, shell, panel, ticker, areas, select, admin, console: console_, notices, wallLayouts };
    document.body.dataset.ready = '1';
  },
});
shell.boot();
