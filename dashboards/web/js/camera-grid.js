// A grid of camera tiles (1, 4, 9 or 16) for the video wall: each tile plays its camera live
// (js/video.js) with the camera's name and health over the picture (state, fps, a frozen or
// dark picture). Small tiles play the camera's sub-stream; one picked tile is enlarged over the
// grid and plays the main stream; a tile whose browser cannot keep up (the player reports
// `overloaded`) or cannot play the codec shows snapshots instead, refreshed every few seconds,
// and tries video again a minute later.

import { playCamera } from './video.js';
import { t, fmtNumber } from './i18n.js';
import { appEvents } from './events.js';

/** Tiles per grid. */
export const GRID_SIZES = [1, 4, 9, 16];
/** How often a snapshot tile refreshes (ms). */
const STILL_EVERY = 3000;
/** How long a tile shows snapshots before it tries video again (ms). */
const VIDEO_RETRY = 60000;

export class CameraGrid {
  /**
   * `el`: the container. `cameras`: [{id, name}] in tile order (the first `size` are shown).
   */
  constructor(el, { size = 4, cameras = [] } = {}) {
    this.el = el;
    this.el.classList.add('cam-grid');
    this.tiles = [];
    this.el.addEventListener('click', (e) => {
      const tile = e.target.closest('.cam-tile');
      if (tile) this.enlarge(this.tiles.find((x) => x.el === tile));
    });
    this.el.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') this.enlarge(null);
    });
    this.offLang = appEvents.on('langchange', () => this.tiles.forEach((x) => x.render()));
    this.show(size, cameras);
  }

  /** Shows `cameras` in a grid of `size` tiles (empty tiles for too few cameras). */
  show(size, cameras) {
    this.tiles.forEach((x) => x.stop());
    this.el.replaceChildren();
    this.size = GRID_SIZES.includes(size) ? size : 4;
    this.el.style.setProperty('--cols', Math.sqrt(this.size));
    this.el.classList.remove('enlarged');
    this.tiles = [];
    for (let i = 0; i < this.size; i++) {
      const camera = cameras[i];
      const tile = camera ? new CameraTile(camera, this.size === 1 ? 'main' : 'sub') : null;
      const el = tile ? tile.el : Object.assign(document.createElement('div'), { className: 'cam-tile empty' });
      this.el.append(el);
      if (tile) this.tiles.push(tile);
    }
  }

  /** Enlarges a tile over the grid (main stream), or puts the enlarged one back (null). */
  enlarge(tile) {
    const current = this.tiles.find((x) => x.big);
    if (current) current.setBig(false, this.size === 1 ? 'main' : 'sub');
    const next = tile && tile !== current ? tile : null;
    if (next) next.setBig(true, 'main');
    this.el.classList.toggle('enlarged', !!next);
  }

  stop() {
    this.tiles.forEach((x) => x.stop());
    this.offLang();
  }
}

/** One camera's tile: `el` to place, `stop()` when it goes. */
export class CameraTile {
  constructor(camera, stream) {
    this.camera = camera;
    this.stream = stream;
    this.status = null;
    this.stills = false;
    this.big = false;
    this.el = document.createElement('figure');
    this.el.className = 'cam-tile';
    this.el.tabIndex = 0;
    this.el.dataset.camera = camera.id;
    this.el.innerHTML = `<video muted playsinline autoplay></video><img class="cam-still" alt="" hidden>
      <figcaption><span class="cam-name" translate="no"></span><span class="cam-health"></span></figcaption>
      <div class="cam-badges"></div>`;
    this.video = this.el.querySelector('video');
    this.img = this.el.querySelector('img');
    this.render();
    this.play();
  }

  play() {
    this.player?.stop();
    this.player = playCamera(this.video, this.camera.id, {
      stream: this.stream,
      onStatus: (s) => this.onStatus(s),
    });
  }

  onStatus(s) {
    if (s.unsupported) {
      // no snapshot either: the hub decodes H.264 only, and so does the browser here
      this.unsupported = true;
      this.player?.stop();
      this.player = null;
      this.render();
      return;
    }
    if (s.overloaded) {
      this.showStills(true);
      return;
    }
    if (s.type === 'status') {
      this.status = s;
      this.render();
    }
  }

  /**
   * Snapshots instead of video, for a minute. The next snapshot is asked for a while after the
   * previous one arrived (or failed), so a slow one is never cut short by the next.
   */
  showStills(on) {
    clearTimeout(this.stillTimer);
    clearTimeout(this.retryTimer);
    this.stills = on;
    this.el.dataset.stills = on ? 'yes' : '';
    this.img.hidden = !on;
    this.video.hidden = on;
    this.img.onload = null;
    this.img.onerror = null;
    if (on) {
      this.player?.stop();
      this.player = null;
      const refresh = () => {
        this.img.src = `/api/v1/cameras/${encodeURIComponent(this.camera.id)}/snapshot.jpg?stream=${this.stream}&t=${Date.now()}`;
      };
      this.img.onload = () => { this.stillTimer = setTimeout(refresh, STILL_EVERY); };
      this.img.onerror = this.img.onload;
      refresh();
      this.retryTimer = setTimeout(() => { this.showStills(false); this.play(); }, VIDEO_RETRY);
    }
    this.render();
  }

  setBig(big, stream) {
    this.big = big;
    this.el.classList.toggle('big', big);
    if (stream === this.stream) return;
    this.stream = stream;
    if (this.stills) this.showStills(true);
    else if (!this.unsupported) this.play();
  }

  render() {
    const s = this.status;
    this.el.querySelector('.cam-name').textContent = this.camera.name || this.camera.id;
    const health = [];
    const state = s?.state || 'connecting';
    health.push(t(`cam_state_${state}`));
    if (state === 'online' && s.fps != null) health.push(`${fmtNumber(s.fps, 0)} ${t('cam_fps')}`);
    if (this.stills) health.push(t('cam_stills'));
    const h = this.el.querySelector('.cam-health');
    h.textContent = health.join(' · ');
    h.title = s?.error || '';
    this.el.dataset.state = state;
    const badges = [];
    if (s?.frozen) badges.push(['frozen', t('cam_frozen')]);
    if (s?.dark) badges.push(['dark', t('cam_dark')]);
    if (state === 'offline' || state === 'stalled') badges.push(['offline', s.error || t(`cam_state_${state}`)]);
    if (this.unsupported) badges.push(['offline', t('cam_unsupported')]);
    this.el.querySelector('.cam-badges').replaceChildren(...badges.map(([kind, text]) => {
      const b = document.createElement('span');
      b.className = `cam-badge ${kind}`;
      b.textContent = text;
      return b;
    }));
  }

  stop() {
    this.img.onload = null;
    this.img.onerror = null;
    clearTimeout(this.stillTimer);
    clearTimeout(this.retryTimer);
    this.player?.stop();
    this.player = null;
  }
}
