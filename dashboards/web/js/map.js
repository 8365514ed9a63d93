// The map: MapLibre (WebGL) with an offline basemap, the administrative areas from the hub and
// every device as a circle coloured by its state.
//
// Why one GeoJSON source + one circle layer + feature-state (and not clustering): a status change
// (alert opened, device offline) is a setFeatureState() call on one feature — no re-tiling of the
// GeoJSON in the worker, no setData per frame — so 20,000 devices stay smooth and a change reaches
// the screen in the next frame. Clustering would hide the very colours an operator is watching
// (a cluster cannot show "one of my 300 points is critical" without re-aggregating through
// setData), and feature-state does not apply to clustered sources. setData runs only when devices
// gain a position (debounced). Above DENSE_DEVICES and below GRID_ZOOM, healthy devices are drawn
// as a grid of cells instead (never an offline or alerting one: those keep their own dots). Critical devices also get an HTML pulse ring (a few DOM nodes,
// CSS animation, capped) so a red dot cannot hide under its neighbours at low zoom.

import * as maplibregl from '../vendor/maplibre-gl/maplibre-gl.mjs';
import { api } from './api.js';
import { t, getLang } from './i18n.js';
import { bboxOf, labelPoints } from './geo.js';
import { STATUS, STATUS_SEVERITY } from './store.js';
import { appEvents } from './events.js';

/** A camera's marker: a body and a lens (static markup, no data in it). */
const CAMERA_GLYPH = '<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true"><rect x="2" y="7" width="14" height="11" rx="2" fill="currentColor"/><path d="M16 11l6-3v9l-6-3z" fill="currentColor"/><circle cx="9" cy="12.5" r="3" fill="#0b1a2b"/></svg>';

/** Ring colours of the handling state: unacknowledged, with an agency, a field report. */
export const HANDLING_RING = Object.freeze({ open: '#ffffff', agency: '#38bdf8', field: '#e879f9' });

/** The ring of a handling state: 'open' (nobody took it), 'agency' (forwarded), 'ack'. */
function ringOf(state) {
  if (state === 'open') return 'open';
  if (state === 'dispatched' || state === 'in_progress') return 'agency';
  return 'ack';
}

export const COLORS = {
  [STATUS.OFFLINE]: '#7d8794', // grey
  [STATUS.ONLINE]: '#22c55e', // green
  [STATUS.INFO]: '#22d3ee', // cyan
  [STATUS.WARNING]: '#f59e0b', // amber
  [STATUS.CRITICAL]: '#ef4444', // red
};
// Where the map opens with neither the hub's bounds (GET /api/v1/map, from the areas) nor devices.
const WORLD_BOUNDS = [[-180, -80], [180, 80]];
const MAX_PULSES = 100;
// Above this many devices the dots at province zoom are drawn smaller (DENSE_RADIUS): 20,000 dots of
// 6 px would only be a carpet, and each pixel of it costs fragment work on every frame.
const DENSE_DEVICES = 3000;
const NORMAL_RADIUS = [6, 3.5, 9, 6, 13, 9];          // zoom, px pairs
const DENSE_RADIUS = [6, 2, 9, 3.5, 12, 6, 14, 9];
// While the camera moves, feature-state writes are flushed at most this often (every write makes
// MapLibre re-upload the paint arrays of the tile it touches); at rest, once per animation frame.
// Warnings and criticals skip the wait.
const MOVING_FLUSH_MS = 150;
// Frames slower than this while moving (a software-rendered wall PC, a weak GPU): the next
// movements render at MOTION_PIXEL_RATIO x the device pixel ratio (an eighth of the pixels),
// sharp again as soon as the map rests. Measured at 20,000 devices on software WebGL
// (docs/PERFORMANCE.md): map redraw p95 90 ms at full resolution, 46 ms at 0.5 (too close to the
// 50 ms target), 38 ms at 0.35.
const SLOW_FRAME_MS = 34;
const MOTION_PIXEL_RATIO = 0.35;
// Dense networks below this zoom: healthy devices are drawn as grid cells (one circle per
// GRID_DEG square, sized by how many devices it holds) while offline and alerting devices keep
// their own dots on top. At province zoom 20,000 dots are a carpet that costs most of every frame
// (measured: ~60 ms of ~105 ms in software WebGL); a few hundred cells say the same thing, and
// nothing an operator must see — a grey or red station — is ever folded into a cell.
const GRID_ZOOM = 10;
const GRID_DEG = 0.04; // ~4.4 km
const OFFLINE_FLUSH_MS = 500;

let countriesPromise = null;
function loadCountries() {
  // world-atlas TopoJSON -> GeoJSON with topojson-client (a classic script: window.topojson).
  countriesPromise ??= fetch(new URL('../vendor/world-atlas/countries-50m.json', import.meta.url))
    .then((r) => r.json())
    .then((topo) => {
      const fc = window.topojson.feature(topo, topo.objects.countries);
      const borders = window.topojson.mesh(topo, topo.objects.countries, (a, b) => a !== b);
      return { countries: fc, borders };
    });
  return countriesPromise;
}

function offlineStyle() {
  return {
    version: 8,
    sources: {},
    layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#0b1a2b' } }],
  };
}

export class DeviceMap {
  /** The MapLibre map: private, the views and the tests use the methods below. */
  #map = null;

  /**
   * @param {HTMLElement} container
   * @param {import('./store.js').Store} store
   * @param {object} [opts] {interactive=true, onSelect(key), onViewport(bbox), wall=false}
   */
  constructor(container, store, opts = {}) {
    this.container = container;
    this.store = store;
    this.opts = opts;
    this.dirty = new Set();
    this.rafPending = false;
    this.pulses = new Map();
    this.areaLabels = [];
    this.areas = null;
    this.selected = null;
    this.lastApplied = 0;
    this.dense = false;
    this.lowResMotion = null; // null: not measured yet; true/false after a movement (or a known software renderer)
    this.motionQuality = opts.motionQuality || 'auto'; // 'full': never lower the resolution while moving
    this.onApplied = null; // test/bench hook: (keys, time) after feature-states were applied
    this.ready = this._init();
  }

  async _init() {
    const cfg = await api('/api/v1/map', { quiet401: false }).catch(() => null);
    const style = cfg && cfg.style ? cfg.style : offlineStyle();
    this.home = cfg?.bounds ?? null; // the province-level areas' box
    this.#map = new maplibregl.Map({
      container: this.container,
      style,
      bounds: this.homeBounds(),
      fitBoundsOptions: { padding: 30 },
      attributionControl: false,
      interactive: this.opts.interactive !== false,
      dragRotate: false,
      pitchWithRotate: false,
      fadeDuration: 0,
      maxZoom: 17,
    });
    this.#map.touchZoomRotate?.disableRotation();
    const attribution = [cfg?.attribution, cfg?.style || cfg?.tiles ? null : 'Natural Earth'].filter(Boolean).join(' · ');
    this.#map.addControl(new maplibregl.AttributionControl({ compact: false, customAttribution: attribution }), 'bottom-left');
    if (this.opts.interactive !== false) {
      this.#map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'bottom-right');
      this.#map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
    }
    await new Promise((r) => (this.#map.loaded() ? r() : this.#map.once('load', r)));

    if (!cfg?.style) {
      if (cfg?.tiles) {
        this.#map.addSource('raster', { type: 'raster', tiles: [cfg.tiles], tileSize: 256 });
        this.#map.addLayer({ id: 'raster', type: 'raster', source: 'raster', paint: { 'raster-brightness-max': 0.7 } });
      } else {
        await this._addCountries();
      }
    }
    await this._addAreas();
    this._addSelectionLayers();
    this._addDeviceLayers();
    this._wire();
    this.setDevices();
    if (!this.home) this.fitHome({ duration: 0 });
    return this;
  }

  async _addCountries() {
    const { countries, borders } = await loadCountries();
    this.#map.addSource('countries', { type: 'geojson', data: countries });
    this.#map.addSource('borders', { type: 'geojson', data: borders });
    this.#map.addLayer({ id: 'land', type: 'fill', source: 'countries', paint: {
      'fill-color': ['match', ['get', 'name'], 'Vietnam', '#16283d', '#111f30'],
    } });
    this.#map.addLayer({ id: 'coast', type: 'line', source: 'countries', paint: {
      'line-color': '#24425f', 'line-width': 0.8,
    } });
    this.#map.addLayer({ id: 'borders', type: 'line', source: 'borders', paint: {
      'line-color': '#5b7a99', 'line-width': ['interpolate', ['linear'], ['zoom'], 4, 0.8, 10, 2], 'line-dasharray': [3, 2],
    } });
  }

  async _addAreas() {
    const fc = await api('/api/v1/areas').catch(() => null);
    if (!fc || !Array.isArray(fc.features)) return;
    this.areas = fc;
    this.#map.addSource('areas', { type: 'geojson', data: fc });
    // Opaque, in the tone of Vietnam's land (what #1d3a5a at 35 % over it used to blend to), and
    // above the country layers: Natural Earth's coarse Vietnam-China line cuts across the
    // hand-drawn province outline, and a dashed international border must not run through the
    // province and its stations. Outside the province it stays visible. (An opaque fill is also
    // drawn in MapLibre's opaque pass, so the land under it costs no fragments.) Over a raster or
    // styled basemap (cfg.tiles / cfg.style) the fill stays translucent: it must not hide the map.
    const ownLand = !!this.#map.getLayer('land');
    this.#map.addLayer({ id: 'areas-fill', type: 'fill', source: 'areas', filter: ['==', ['get', 'level'], 'province'],
      paint: ownLand ? { 'fill-color': '#182e47', 'fill-opacity': 1 } : { 'fill-color': '#1d3a5a', 'fill-opacity': 0.35 } });
    this.#map.addLayer({ id: 'areas-local', type: 'line', source: 'areas', filter: ['!=', ['get', 'level'], 'province'],
      paint: { 'line-color': '#6f94bd', 'line-width': 1, 'line-dasharray': [2, 2], 'line-opacity': 0.8 } });
    this.#map.addLayer({ id: 'areas-province', type: 'line', source: 'areas', filter: ['==', ['get', 'level'], 'province'],
      paint: { 'line-color': '#9cc3ea', 'line-width': 2.2 } });
    this._renderAreaLabels();
    if (this.home) this.#map.fitBounds(this.home, { padding: 30, duration: 0 });
    appEvents.on('langchange', () => this._renderAreaLabels());
    this.#map.on('zoomend', () => this._declutterLabels());
  }

  _renderAreaLabels() {
    for (const m of this.areaLabels) m.remove();
    this.areaLabels = [];
    if (!this.areas) return;
    this.labelPoints ??= labelPoints(this.areas.features);
    this.areas.features.forEach((f, i) => {
      const p = f.properties || {};
      const c = this.labelPoints[i];
      if (!c || p.level === 'province') return; // the province is named in the legend, not over the map
      const el = document.createElement('div');
      el.className = `area-label area-${p.level}`;
      el.translate = false;
      el.textContent = p.name || p.id;
      this.areaLabels.push(new maplibregl.Marker({ element: el }).setLngLat(c).addTo(this.#map));
    });
    this._declutterLabels();
  }

  /** Hides a label that would overlap one placed before it (areas earlier in the file win), so
   *  that names never print over each other when zoomed out; run again after every zoom. */
  _declutterLabels() {
    const placed = [];
    for (const m of this.areaLabels) {
      const el = m.getElement();
      el.style.visibility = '';
      const r = el.getBoundingClientRect();
      const hit = placed.some((q) => r.left < q.right + 4 && q.left < r.right + 4 && r.top < q.bottom + 2 && q.top < r.bottom + 2);
      if (hit) el.style.visibility = 'hidden'; else placed.push(r);
    }
  }

  hasIllustrativeAreas() {
    return !!this.areas && this.areas.features.some((f) => f.properties?.illustrative);
  }

  _addSelectionLayers() {
    this.#map.addSource('selection', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
    this.#map.addLayer({ id: 'selection-fill', type: 'fill', source: 'selection', paint: { 'fill-color': '#facc15', 'fill-opacity': 0.12 } });
    this.#map.addLayer({ id: 'selection-line', type: 'line', source: 'selection', paint: { 'line-color': '#facc15', 'line-width': 2.5 } });
    this.#map.addLayer({ id: 'selection-points', type: 'circle', source: 'selection', filter: ['==', ['geometry-type'], 'Point'],
      paint: { 'circle-radius': 4, 'circle-color': '#facc15' } });
  }

  _addDeviceLayers() {
    this.#map.addSource('devices', { type: 'geojson', data: { type: 'FeatureCollection', features: [] }, promoteId: 'key' });
    const st = ['coalesce', ['feature-state', 'st'], STATUS.ONLINE];
    const color = ['match', st, ...Object.values(STATUS).flatMap((code) => [code, COLORS[code]]), COLORS[STATUS.ONLINE]];
    this.#map.addLayer({ id: 'devices', type: 'circle', source: 'devices', paint: {
      'circle-color': color,
      'circle-radius': this._radius(st, [1.6, 1.35, 1.15, 1]),
      'circle-stroke-color': ['case', ['boolean', ['feature-state', 'sel'], false], '#ffffff', '#0b1a2b'],
      'circle-stroke-width': ['case', ['boolean', ['feature-state', 'sel'], false], 3, 1],
      'circle-opacity': ['match', st, STATUS.OFFLINE, 0.75, 1],
    } });
    // Devices with an open alert again, on top, from a small source of their own (bounded by the
    // open alerts): co-located stations (a rain gauge beside a water gauge) must not hide a red dot
    // under a green one, and circle-sort-key cannot read feature-state. A second layer over all
    // 20,000 features would double the GPU work of every frame; this one holds a few hundred.
    this.#map.addSource('devices-hot', { type: 'geojson', data: { type: 'FeatureCollection', features: [] }, promoteId: 'key' });
    const hotSt = ['get', 'st'];
    // The ring says where its handling is: white while nobody has taken the alert, blue once an
    // agency has it (HANDLING_RING), thin and dark otherwise.
    const sel = ['boolean', ['feature-state', 'sel'], false];
    const ring = ['get', 'h'];
    this.#map.addLayer({ id: 'devices-alert', type: 'circle', source: 'devices-hot', paint: {
      'circle-color': ['match', hotSt, ...[STATUS.INFO, STATUS.WARNING, STATUS.CRITICAL].flatMap((code) => [code, COLORS[code]]), COLORS[STATUS.ONLINE]],
      'circle-radius': this._radius(hotSt, [1.6, 1.35, 1.15, 1.15]),
      'circle-stroke-color': ['case', sel, '#facc15', ['match', ring, 'open', HANDLING_RING.open, 'agency', HANDLING_RING.agency, '#0b1a2b']],
      'circle-stroke-width': ['case', sel, 3, ['match', ring, 'open', 2.5, 'agency', 2.5, 1]],
    } });
    this.hot = new Map(); // key -> st (>= STATUS.INFO)
    this.hotRing = new Map(); // key -> ring of its handling ('open', 'agency', 'ack')

    // Field reports (alerts without a device) at their own place, ringed in magenta.
    this.#map.addSource('field-alerts', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
    this.#map.addLayer({ id: 'field-alerts', type: 'circle', source: 'field-alerts', paint: {
      'circle-color': ['match', ['get', 'severity'], 'critical', COLORS[STATUS.CRITICAL], 'warning', COLORS[STATUS.WARNING], COLORS[STATUS.INFO]],
      'circle-radius': this.opts.wall ? 11 : 8,
      'circle-stroke-color': HANDLING_RING.field,
      'circle-stroke-width': ['match', ['get', 'h'], 'open', 4, 2.5],
    } });

    // Dense mode (see GRID_ZOOM): the grid of all devices, and offline devices individually.
    this.#map.addSource('devices-grid', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
    this.#map.addLayer({ id: 'devices-grid', type: 'circle', source: 'devices-grid', maxzoom: GRID_ZOOM,
      layout: { visibility: 'none' },
      paint: {
        'circle-color': COLORS[STATUS.ONLINE], 'circle-opacity': 0.55,
        'circle-radius': ['interpolate', ['linear'], ['get', 'n'], 1, 2.5, 30, 5, 300, 9],
      } }, 'devices-alert');
    this.#map.addSource('devices-off', { type: 'geojson', data: { type: 'FeatureCollection', features: [] }, promoteId: 'key' });
    this.#map.addLayer({ id: 'devices-offline', type: 'circle', source: 'devices-off', maxzoom: GRID_ZOOM,
      layout: { visibility: 'none' },
      paint: {
        'circle-color': COLORS[STATUS.OFFLINE], 'circle-radius': this._radius(STATUS.OFFLINE, [1, 1, 1, 1]),
        'circle-stroke-color': '#0b1a2b', 'circle-stroke-width': 1,
      } }, 'devices-alert');
    this.off = new Set(); // offline keys, kept for dense mode
  }

  /** circle-radius by zoom (dense or normal stops), scaled by state: factors for critical, warning, info, other. */
  _radius(stExpr, [f4, f3, f2, f1]) {
    const big = this.opts.wall ? 1.6 : 1;
    const stops = this.dense ? DENSE_RADIUS : NORMAL_RADIUS;
    const expr = ['interpolate', ['linear'], ['zoom']];
    for (let i = 0; i < stops.length; i += 2) expr.push(stops[i], ['*', big, stops[i + 1], ['match', stExpr, STATUS.CRITICAL, f4, STATUS.WARNING, f3, STATUS.INFO, f2, f1]]);
    return expr;
  }

  _setDensity(count) {
    const dense = count > DENSE_DEVICES;
    if (dense === this.dense) return;
    this.dense = dense;
    this.#map.setPaintProperty('devices', 'circle-radius', this._radius(['coalesce', ['feature-state', 'st'], STATUS.ONLINE], [1.6, 1.35, 1.15, 1]));
    this.#map.setPaintProperty('devices-alert', 'circle-radius', this._radius(['get', 'st'], [1.6, 1.35, 1.15, 1.15]));
    this.#map.setPaintProperty('devices-offline', 'circle-radius', this._radius(STATUS.OFFLINE, [1, 1, 1, 1]));
    // Every dot from GRID_ZOOM on; below it the grid and the offline and alerting dots.
    this.#map.setLayerZoomRange('devices', dense ? GRID_ZOOM : 0, 24);
    for (const id of ['devices-grid', 'devices-offline']) this.#map.setLayoutProperty(id, 'visibility', dense ? 'visible' : 'none');
    if (dense) this._setOffline();
  }

  /** One feature per occupied GRID_DEG cell, at the mean position of its devices. */
  _setGrid() {
    if (!this.dense) return;
    const cells = new Map();
    for (const d of this.store.devices.values()) {
      if (d.lat === null || d.lon === null) continue;
      const id = `${Math.floor(d.lon / GRID_DEG)}:${Math.floor(d.lat / GRID_DEG)}`;
      const c = cells.get(id);
      if (c) { c.n++; c.x += d.lon; c.y += d.lat; } else cells.set(id, { n: 1, x: d.lon, y: d.lat });
    }
    const features = [...cells.values()].map((c) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: [c.x / c.n, c.y / c.n] }, properties: { n: c.n } }));
    this.#map.getSource('devices-grid')?.setData({ type: 'FeatureCollection', features });
  }

  _setOffline() {
    if (this.offTimer) { clearTimeout(this.offTimer); this.offTimer = null; }
    const features = [];
    for (const key of this.off) {
      const d = this.store.devices.get(key);
      if (d && d.lat !== null && d.lon !== null) features.push({ type: 'Feature', geometry: { type: 'Point', coordinates: [d.lon, d.lat] }, properties: { key } });
    }
    this.#map.getSource('devices-off')?.setData({ type: 'FeatureCollection', features });
  }

  /** Slow rendering: lower resolution while moving, and stepped (not smooth) CSS pulses (app.css .low-fx). */
  _setSlow(slow) {
    this.lowResMotion = slow;
    document.documentElement.classList.toggle('low-fx', slow);
  }

  // Adaptive resolution while moving. Measured, not guessed from the GPU's name: the first
  // movement runs at full resolution and its frame intervals decide for the next ones; a software
  // renderer (SwiftShader, llvmpipe) is known slow from the start. At rest the map is always drawn
  // at the full pixel ratio (restored 200 ms after the last movement ends, so a run of drags or
  // wheel steps does not resize the canvas back and forth).
  _wireMotionQuality() {
    const m = this.#map;
    try {
      const gl = m.painter?.context?.gl;
      const ext = gl?.getExtension('WEBGL_debug_renderer_info');
      const name = ext ? String(gl.getParameter(ext.UNMASKED_RENDERER_WEBGL)) : '';
      if (/swiftshader|llvmpipe|softpipe|software/i.test(name)) this._setSlow(true);
      this.renderer = name;
    } catch { /* unknown renderer: measure */ }
    let resizing = false, restoreTimer = null, lowered = false, frames = 0, t0 = 0, last = 0;
    let pointerDown = false, moved = false;
    // map.resize() (behind setPixelRatio) ends a drag in progress, cuts a camera animation short
    // and, at rest, fires movestart/moveend. So the resolution is lowered only *before* a movement
    // starts — pointerdown / wheel / keydown in the capture phase on the container (ahead of
    // MapLibre's handlers; the zoom buttons are inside it too) and our own flyTo/fitTo — never in
    // the middle of one; restored at rest; our own resizes' events are ignored. A camera animation
    // started elsewhere just runs at full resolution.
    const want = () => this.lowResMotion && this.motionQuality !== 'full';
    const setRatio = (r) => { resizing = true; try { m.setPixelRatio(r); } finally { resizing = false; } };
    const lower = () => { if (!lowered && want()) { lowered = true; setRatio(MOTION_PIXEL_RATIO * (window.devicePixelRatio || 1)); } };
    const restoreSoon = (ms) => {
      clearTimeout(restoreTimer);
      restoreTimer = setTimeout(() => {
        if (m.isMoving() || pointerDown) return; // the end of that movement reschedules
        m.off('render', onRender);
        // Judge full-resolution movements only (a low-resolution one says nothing about them).
        if (!lowered && frames >= 5) this._setSlow((last - t0) / (frames - 1) > SLOW_FRAME_MS);
        frames = 0;
        if (lowered) { lowered = false; setRatio(null); }
      }, ms);
    };
    const onRender = () => { const now = performance.now(); if (!frames) t0 = now; frames++; last = now; };
    const box = m.getContainer();
    box.addEventListener('pointerdown', () => { pointerDown = true; moved = false; clearTimeout(restoreTimer); lower(); }, { capture: true });
    window.addEventListener('pointerup', () => { if (!pointerDown) return; pointerDown = false; if (!moved) restoreSoon(0); }, { capture: true });
    window.addEventListener('pointercancel', () => { pointerDown = false; restoreSoon(200); }, { capture: true });
    box.addEventListener('wheel', () => { clearTimeout(restoreTimer); lower(); }, { capture: true, passive: true });
    box.addEventListener('keydown', (e) => { if (/^(Arrow|Page|Home|End|[-+=])/.test(e.key)) { clearTimeout(restoreTimer); lower(); } }, { capture: true });
    this.beforeAnimation = () => { if (!m.isMoving()) { clearTimeout(restoreTimer); lower(); } };
    m.on('move', () => {
      if (resizing) return;
      moved = true;
      clearTimeout(restoreTimer);
      if (!frames) m.on('render', onRender);
    });
    m.on('moveend', () => { if (!resizing) restoreSoon(200); });
  }

  _wire() {
    const m = this.#map;
    const s = this.store;
    s.on('status', (key) => this._markDirty(key));
    s.on('reset', () => { this.setDevices(); for (const k of s.devices.keys()) this._markDirty(k); });
    s.on('positions', () => this._schedulePositions());
    const fieldSoon = () => { this.fieldTimer ??= setTimeout(() => { this.fieldTimer = null; this.setFieldAlerts(); }, 200); };
    s.on('alert', ({ alert }) => { if (alert.source === 'field') fieldSoon(); });
    s.on('reset', fieldSoon);
    if (this.opts.interactive !== false) {
      for (const layer of ['devices', 'devices-alert', 'devices-offline']) {
        m.on('mouseenter', layer, () => { m.getCanvas().style.cursor = 'pointer'; });
        m.on('mouseleave', layer, () => { m.getCanvas().style.cursor = ''; this._hidePopup(); });
        m.on('mousemove', layer, (e) => this._hover(e));
        m.on('click', layer, (e) => {
          if (this.clickHandler || e.handledByDevice) return; // area drawing owns clicks
          e.handledByDevice = true; // one selection when layers overlap
          const f = this._worstFeature(e.features);
          if (f && this.opts.onSelect) this.opts.onSelect(f.properties.key);
        });
      }
      m.on('mouseenter', 'field-alerts', () => { m.getCanvas().style.cursor = 'pointer'; });
      m.on('mouseleave', 'field-alerts', () => { m.getCanvas().style.cursor = ''; });
      m.on('click', 'field-alerts', (e) => {
        if (this.clickHandler || e.handledByDevice) return;
        e.handledByDevice = true;
        const id = e.features?.[0]?.properties?.id;
        if (id && this.opts.onSelectAlert) this.opts.onSelectAlert(Number(id));
      });
      // A grid cell zooms in to where its devices are drawn one by one.
      m.on('click', 'devices-grid', (e) => {
        if (this.clickHandler || e.handledByDevice) return;
        const f = e.features?.[0];
        if (f) { this.beforeAnimation?.(); m.easeTo({ center: f.geometry.coordinates, zoom: GRID_ZOOM + 0.5 }); }
      });
      m.on('click', (e) => { if (this.clickHandler) this.clickHandler(e); });
      m.on('dblclick', (e) => { if (this.dblClickHandler) { e.preventDefault(); this.dblClickHandler(e); } });
    }
    m.on('moveend', () => this._viewport());
    this._viewport();
    this._wireMotionQuality();
  }

  _viewport() {
    if (this.opts.onViewport) this.opts.onViewport(this.viewportBbox());
  }

  /** Of the features under the cursor (co-located stations), the one in the worst state. */
  _worstFeature(features) {
    let best = null, bestSt = -1;
    for (const f of features || []) {
      const st = this.store.statusOf(f.properties.key);
      if (st > bestSt) { best = f; bestSt = st; }
    }
    return best;
  }

  _hover(e) {
    const f = this._worstFeature(e.features);
    if (!f) return;
    const d = this.store.devices.get(f.properties.key);
    if (!d) return;
    this.popup ??= new maplibregl.Popup({ closeButton: false, closeOnClick: false, className: 'device-popup', offset: 10 });
    const st = this.store.statusOf(d.key);
    const label = t(STATUS_SEVERITY[st] ?? (st === STATUS.ONLINE ? 'online' : 'offline'));
    const el = document.createElement('div');
    const b = document.createElement('b'); b.textContent = d.name || d.key; b.translate = false;
    const k = document.createElement('div'); k.className = 'mono'; k.textContent = d.key;
    const s2 = document.createElement('div'); s2.textContent = label; s2.style.color = COLORS[st];
    el.append(b, k, s2);
    this.popup.setLngLat(f.geometry.coordinates).setDOMContent(el).addTo(this.#map);
  }
  _hidePopup() { this.popup?.remove(); }

  /** Rebuild the source from the store's positions (rare: startup, new devices, reload). */
  setDevices() {
    const src = this.#map?.getSource('devices');
    if (!src) return;
    const features = [];
    for (const d of this.store.devices.values()) {
      if (d.lat === null || d.lon === null) continue;
      features.push({ type: 'Feature', geometry: { type: 'Point', coordinates: [d.lon, d.lat] }, properties: { key: d.key } });
    }
    this.featureCount = features.length;
    this._setDensity(features.length);
    src.setData({ type: 'FeatureCollection', features });
    this._setGrid();
    if (this.hot?.size) this._setHot();
    for (const k of this.store.devices.keys()) this.dirty.add(k);
    this._scheduleApply();
  }

  _schedulePositions() {
    if (this.posTimer) return;
    this.posTimer = setTimeout(() => { this.posTimer = null; this.setDevices(); }, 1000);
  }

  _markDirty(key) {
    this.dirty.add(key);
    // A warning or critical (or one that ends) is never held back by the moving-map throttle.
    const urgent = this.store.statusOf(key) >= STATUS.WARNING || (this.hot.get(key) ?? 0) >= STATUS.WARNING;
    this._scheduleApply(urgent);
  }

  _scheduleApply(urgent = false) {
    if (!this.#map) return;
    if (this.rafPending) {
      if (!urgent || !this.flushTimer) return;
      clearTimeout(this.flushTimer); // held back by the throttle: go now
      this.flushTimer = null;
      requestAnimationFrame(() => this._apply());
      return;
    }
    this.rafPending = true;
    const wait = !urgent && this.#map.isMoving() ? this.lastApplied + MOVING_FLUSH_MS - performance.now() : 0;
    if (wait > 0) this.flushTimer = setTimeout(() => { this.flushTimer = null; requestAnimationFrame(() => this._apply()); }, wait);
    else requestAnimationFrame(() => this._apply());
  }

  // Feature-state writes are batched per animation frame: many frames' worth of WS events cost
  // one pass, and the next render shows them.
  _apply() {
    this.rafPending = false;
    const keys = [...this.dirty];
    this.dirty.clear();
    let hotChanged = false, offChanged = false;
    for (const key of keys) {
      const st = this.store.statusOf(key);
      const offline = st === STATUS.OFFLINE;
      if (offline !== this.off.has(key)) {
        if (offline) this.off.add(key); else this.off.delete(key);
        offChanged = true;
      }
      this.#map.setFeatureState({ source: 'devices', id: key }, { st });
      this._pulse(key, st);
      const was = this.hot.get(key);
      if (st >= STATUS.INFO && was !== st) { this.hot.set(key, st); hotChanged = true; } else if (st < STATUS.INFO && was !== undefined) { this.hot.delete(key); hotChanged = true; }
      const ring = ringOf(this.store.handlingOf(key));
      if (st >= STATUS.INFO && this.hotRing.get(key) !== ring) { this.hotRing.set(key, ring); hotChanged = true; }
      if (st < STATUS.INFO) this.hotRing.delete(key);
    }
    if (hotChanged) this._setHot();
    // Offline changes come in waves (a gateway drops 300 devices): one setData per wave.
    if (offChanged && this.dense && !this.offTimer) this.offTimer = setTimeout(() => this._setOffline(), OFFLINE_FLUSH_MS);
    this.lastApplied = performance.now();
    if (this.onApplied && keys.length) this.onApplied(keys, this.lastApplied);
  }

  _setHot() {
    const features = [];
    for (const [key, st] of this.hot) {
      const d = this.store.devices.get(key);
      const h = this.hotRing.get(key) ?? 'ack';
      if (d && d.lat !== null && d.lon !== null) features.push({ type: 'Feature', geometry: { type: 'Point', coordinates: [d.lon, d.lat] }, properties: { key, st, h } });
    }
    this.#map.getSource('devices-hot')?.setData({ type: 'FeatureCollection', features });
  }

  /** Field reports from the store's unresolved alerts (a few at most: a setData each time). */
  setFieldAlerts() {
    const features = this.store.fieldAlerts().map((a) => ({
      type: 'Feature',
      geometry: { type: 'Point', coordinates: [a.lon, a.lat] },
      properties: { id: a.id, severity: a.severity, h: ringOf(a.state) },
    }));
    this.#map?.getSource('field-alerts')?.setData({ type: 'FeatureCollection', features });
  }

  flyToPoint(lon, lat) {
    this.beforeAnimation?.();
    this.#map.flyTo({ center: [lon, lat], zoom: Math.max(this.#map.getZoom(), 11), speed: 1.6 });
  }

  _pulse(key, st) {
    const have = this.pulses.get(key);
    const d = this.store.devices.get(key);
    if (st === STATUS.CRITICAL && d && d.lat !== null && d.lon !== null) {
      if (have || this.pulses.size >= MAX_PULSES) return;
      const el = document.createElement('div');
      el.className = 'pulse-ring';
      const mk = new maplibregl.Marker({ element: el }).setLngLat([d.lon, d.lat]).addTo(this.#map);
      this.pulses.set(key, mk);
    } else if (have) {
      have.remove();
      this.pulses.delete(key);
    }
  }

  /**
   * Cameras as markers: a camera glyph beside the camera's device dot (whose colour is its
   * state, as for any device); a click selects the camera's device, whose card plays it.
   */
  showCameras(list) {
    for (const m of this.cameraMarkers ?? []) m.remove();
    this.cameraMarkers = list.filter((c) => c.lat != null && c.lon != null).map((c) => {
      const el = document.createElement('button');
      el.type = 'button';
      el.className = 'camera-marker';
      el.translate = false;
      el.title = c.name || c.id;
      el.setAttribute('aria-label', el.title);
      el.dataset.camera = c.id;
      el.innerHTML = CAMERA_GLYPH;
      el.addEventListener('click', (e) => { e.stopPropagation(); this.opts.onSelect?.(c.id); });
      return new maplibregl.Marker({ element: el, offset: [13, -13] }).setLngLat([c.lon, c.lat]).addTo(this.#map);
    });
  }

  /** The colour code the map holds for a device (test hook). */
  featureStatus(key) {
    return this.#map.getFeatureState({ source: 'devices', id: key })?.st;
  }

  select(key) {
    for (const source of ['devices', 'devices-hot']) {
      if (this.selected) this.#map.setFeatureState({ source, id: this.selected }, { sel: false });
      if (key) this.#map.setFeatureState({ source, id: key }, { sel: true });
    }
    this.selected = key;
  }

  flyTo(key) {
    const d = this.store.devices.get(key);
    if (!d || d.lat === null || d.lon === null) return;
    // Keep the device clear of the device panel when it is open.
    const right = this.opts.panelWidth ? this.opts.panelWidth() : 0;
    this.beforeAnimation?.();
    this.#map.flyTo({ center: [d.lon, d.lat], zoom: Math.max(this.#map.getZoom(), 11), speed: 1.6, padding: { right, left: 0, top: 0, bottom: 0 } });
  }

  setSelection(features) {
    this.#map.getSource('selection')?.setData({ type: 'FeatureCollection', features });
  }

  fitTo(geometryFeatures) {
    const b = bboxOf(geometryFeatures);
    if (b) this.fitBounds(b, { padding: 60, maxZoom: 12 });
  }

  /** Moves the camera to [[w, s], [e, n]]; an animated move (duration not 0) first lowers the
   *  resolution on a slow renderer, as every camera animation of the map does. */
  fitBounds(bounds, opts = {}) {
    if (opts.duration !== 0) this.beforeAnimation?.();
    this.#map.fitBounds(bounds, opts);
  }

  /** Back to the province (homeBounds). */
  fitHome(opts = {}) {
    this.fitBounds(this.homeBounds(), { padding: 40, ...opts });
  }

  /** The camera's zoom; null before the map exists. */
  zoom() { return this.#map ? this.#map.getZoom() : null; }

  /** The visible [west, south, east, north], rounded to 1e-5° (about a metre). */
  viewportBbox() {
    const b = this.#map.getBounds();
    const r = (v) => Math.round(v * 1e5) / 1e5;
    return [r(b.getWest()), r(b.getSouth()), r(b.getEast()), r(b.getNorth())];
  }

  isMoving() { return !!this.#map?.isMoving(); }
  /** The style, sources and tiles are loaded (nothing left to draw for the current view). */
  loaded() { return !!this.#map?.loaded(); }

  /** The features drawn on screen now in these layers ('devices', 'devices-alert', 'devices-grid', …). */
  renderedFeatures(layers) { return this.#map.queryRenderedFeatures({ layers }); }

  /** The circle colour a layer gives a rendered feature ({r, g, b, a}, 0..1). */
  circleColor(layer, feature) {
    return this.#map.getLayer(layer).paint.get('circle-color').evaluate(feature, feature.state);
  }

  /** Calls fn after every redraw of the map; returns the function that stops it. */
  onRender(fn) {
    this.#map.on('render', fn);
    return () => this.#map.off('render', fn);
  }

  /** Area drawing owns the map's clicks while handlers are given ({onClick(e), onDblClick(e)}):
   *  device clicks are ignored, double-click zoom is off and the cursor is a crosshair;
   *  setDrawing(null) gives them back. */
  setDrawing(handlers) {
    this.clickHandler = handlers?.onClick ?? null;
    this.dblClickHandler = handlers?.onDblClick ?? null;
    if (handlers) this.#map.doubleClickZoom.disable(); else this.#map.doubleClickZoom.enable();
    this.#map.getCanvas().style.cursor = handlers ? 'crosshair' : '';
  }

  /** The province's bounds: the hub's (from the areas), else the devices', else the world. */
  homeBounds() {
    if (this.home) return this.home;
    const pts = [];
    for (const d of this.store.devices.values()) if (d.lat !== null && d.lon !== null) pts.push({ geometry: { type: 'Point', coordinates: [d.lon, d.lat] } });
    return bboxOf(pts) || WORLD_BOUNDS;
  }

  resize() { this.#map?.resize(); }
  lang() { return getLang(); }
}
