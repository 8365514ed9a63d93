// The video wall (wall/index.html): full-screen map, alert ticker, headline counts and a clock.
// No mouse-only controls, large type. Built to run for days: every list is capped (store, ticker),
// the feeds reconnect by themselves after a hub restart (the session cookie survives it: sessions
// live in the hub's store), and the map's device source is rebuilt in place, never appended to.
// `?lang=en` forces English on a wall that has no keyboard. `?cameras=4` (1, 4, 9 or 16) shows a
// grid of camera tiles beside the map: the cameras named by `&pick=id,id,…` in that order, else
// the first ones the account sees. `?layout=name` shows a layout saved in the console instead,
// and follows it: a save there reaches the wall within LAYOUT_EVERY.

import { createShell } from './shell.js';
import { DeviceMap, COLORS } from './map.js';
import { Ticker, bindCounts } from './ticker.js';
import { setLang } from './i18n.js';
import { CameraGrid, GRID_SIZES } from './camera-grid.js';
import { cameras as allCameras, wallLayout, layoutCameras } from './cameras.js';

const params = new URLSearchParams(location.search);
const q = params.get('lang');
if (q === 'vi' || q === 'en') setLang(q);

/** How often a wall showing a saved layout looks for a newer version of it (ms). */
const LAYOUT_EVERY = 30000;

/** The camera grid of `?layout=name` or `?cameras=N`, if asked for (no cameras: none). */
async function cameraGrid() {
  const name = params.get('layout');
  const layout = name ? await wallLayout(name, { retry: false }).catch(() => null) : null;
  const size = layout ? layout.size : Number(params.get('cameras'));
  if (!GRID_SIZES.includes(size)) return null;
  const all = await allCameras();
  if (!all.length) return null;
  let chosen;
  if (layout) chosen = layoutCameras(layout, all);
  else {
    const pick = (params.get('pick') || '').split(',').filter(Boolean);
    chosen = pick.length ? pick.map((id) => all.find((c) => c.id === id)).filter(Boolean) : all;
  }
  const section = document.getElementById('cameras');
  section.hidden = false;
  document.body.classList.add('with-cameras');
  const title = section.querySelector('[data-layout-name]');
  title.textContent = layout ? layout.name : '';
  const grid = new CameraGrid(document.getElementById('camera-grid'), { size, cameras: chosen });
  if (layout) follow(grid, layout);
  return grid;
}

/** Looks once for a newer version of the layout shown (set by `follow`). */
let checkLayout = async () => {};

/** Shows the layout again whenever someone saves a different version of it. */
function follow(grid, shown) {
  let current = shown;
  checkLayout = async () => {
    const next = await wallLayout(current.name, { background: true, retry: false }).catch(() => null);
    if (!next || next.updated_at === current.updated_at) return;
    current = next;
    grid.show(next.size, layoutCameras(next, await allCameras()));
  };
  setInterval(() => checkLayout(), LAYOUT_EVERY);
}

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
    const cameras = await cameraGrid();
    map.resize();
    map.showCameras(await allCameras());
    // test hook: `checkLayout` runs the layout's periodic check now
    window.iochub = { map, store, shell, ticker, cameras, checkLayout: () => checkLayout() };
    document.body.dataset.ready = '1';
  },
});
shell.boot();
