// The video wall (wall/index.html): full-screen map, alert ticker, headline counts and a clock.
// No mouse-only controls, large type. Built to run for days: every list is capped (store, ticker),
// the feeds reconnect by themselves after a hub restart (the session cookie survives it: sessions
// live in the hub's store), and the map's device source is rebuilt in place, never appended to.
// `?lang=en` forces English on a wall that has no keyboard.

import { createShell } from './shell.js';
import { DeviceMap, COLORS } from './map.js';
import { Ticker, bindCounts } from './ticker.js';
import { setLang } from './i18n.js';

const q = new URLSearchParams(location.search).get('lang');
if (q === 'vi' || q === 'en') setLang(q);

const shell = createShell({
  // The wall shows the whole province: telemetry is not needed for colours (alerts and device
  // state come on the status feed), so it does not subscribe to the high-volume stream at all.
  telemetry: false,
  async onReady({ store }) {
    const map = new DeviceMap(document.getElementById('map'), store, { interactive: false, wall: true });
    await map.ready;
    document.querySelector('.legend-illustrative').hidden = !map.hasIllustrativeAreas();
    document.querySelectorAll('[data-legend]').forEach((el) => { el.style.background = COLORS[el.dataset.legend]; });
    const ticker = new Ticker(document.getElementById('ticker-list'), store, {
      flashEl: document.getElementById('ticker'),
      statesEl: document.querySelector('[data-ticker-states]'),
      onPick: (key) => map.flyTo(key),
    });
    // A new critical alert: fly to it for a while, then back to the province.
    let back = null;
    store.on('alert', ({ alert, isNew }) => {
      if (!isNew || alert.severity !== 'critical') return;
      if (alert.device) map.flyTo(alert.device); else map.flyToPoint(alert.lon, alert.lat);
      clearTimeout(back);
      back = setTimeout(() => map.fitHome({ duration: 2000 }), 20000);
    });
    bindCounts(document.querySelector('header.top'), store);
    window.iochub = { map, store, shell, ticker };
    document.body.dataset.ready = '1';
  },
});
shell.boot();
