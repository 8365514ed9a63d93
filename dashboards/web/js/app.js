// The operator console (index.html): map, alert ticker, device panel, area tools.

import { createShell } from './shell.js';
import { DeviceMap, COLORS } from './map.js';
import { Ticker, bindCounts } from './ticker.js';
import { DevicePanel } from './panel.js';
import { AreaTools } from './areas.js';
import { AdminView, mayAdminister } from './admin.js';
import { appEvents } from './events.js';

const shell = createShell({
  async onReady({ store }) {
    const panelEl = document.getElementById('panel');
    let map;
    const select = (key) => {
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
      onViewport: () => telemetryFilter(),
      panelWidth: () => (panelEl.hidden ? 0 : panelEl.offsetWidth),
    });
    await map.ready;
    telemetryFilter();
    document.querySelector('.legend-illustrative').hidden = !map.hasIllustrativeAreas();
    document.querySelectorAll('[data-legend]').forEach((el) => { el.style.background = COLORS[el.dataset.legend]; });
    const ticker = new Ticker(document.getElementById('ticker-list'), store, {
      onPick: select,
      soundButton: document.getElementById('sound'),
      flashEl: document.getElementById('ticker'),
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
    const adminEl = document.createElement('section');
    adminEl.id = 'admin';
    adminEl.className = 'admin';
    adminEl.hidden = true;
    document.body.appendChild(adminEl);
    const admin = new AdminView(adminEl);
    const adminBtn = document.querySelector('header.top [data-action=admin]');
    adminBtn.addEventListener('click', () => admin.open());
    const offer = (me) => {
      admin.allow(me?.permissions);
      adminBtn.hidden = !mayAdminister(me?.permissions);
      if (adminBtn.hidden) admin.close();
    };
    offer(shell.me);
    appEvents.on('session', offer);
    // Test and bench hook (read-only use expected): the map, the store and the views.
    window.iochub = { map, store, shell, panel, ticker, areas, select, admin };
    document.body.dataset.ready = '1';
  },
});
shell.boot();
