// The operator console (index.html): map, alert ticker, device panel, area tools.

import { createShell } from './shell.js';
import { DeviceMap, COLORS } from './map.js';
import { Ticker, bindCounts } from './ticker.js';
import { DevicePanel } from './panel.js';
import { AreaTools } from './areas.js';

const shell = createShell({
  async onReady({ store }) {
    const panelEl = document.getElementById('panel');
    let map;
    const select = (key) => {
      map.select(key);
      panel.open(key);
      map.flyTo(key);
    };
    const panel = new DevicePanel(panelEl, store, { onClose: () => map.select(null) });
    map = new DeviceMap(document.getElementById('map'), store, {
      onSelect: select,
      onViewport: (b) => shell.setViewport(b),
      panelWidth: () => (panelEl.hidden ? 0 : panelEl.offsetWidth),
    });
    await map.ready;
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
    // Test and bench hook (read-only use expected): the map, the store and the views.
    window.iochub = { map, store, shell, panel, ticker, areas, select };
    document.body.dataset.ready = '1';
  },
});
shell.boot();
