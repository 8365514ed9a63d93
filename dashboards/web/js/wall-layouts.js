// Arranging the video wall: a sheet over the console where an operator picks a grid of 1, 4, 9
// or 16 tiles, places cameras on it (dragged from the list onto a tile, or chosen in the tile's
// own list, for the keyboard), swaps tiles by dragging one onto another, and saves the result
// under a name. A wall opens it with `/wall/?layout=name` and follows later saves by itself.
// Each tile shows a still of its camera's sub-stream, so the operator sees which bridge it is.

import { t, applyI18n, fmtDateTime } from './i18n.js';
import { esc, options } from './html.js';
import { cameras as allCameras, wallLayouts, saveWallLayout, deleteWallLayout } from './cameras.js';
import { GRID_SIZES } from './camera-grid.js';

const SHEET = `
  <div class="admin-head">
    <h2 data-i18n="wall_layouts_title"></h2>
    <button class="btn icon" type="button" data-action="close" data-i18n-aria="panel_close">×</button>
  </div>
  <p class="admin-notice" role="status" hidden></p>
  <form class="wall-editor-bar" data-form="layout">
    <label class="field"><span data-i18n="wall_layout_saved_list"></span><select name="saved"></select></label>
    <label class="field"><span data-i18n="wall_layout_name"></span><input name="name" required maxlength="64" autocomplete="off"></label>
    <fieldset class="wall-editor-sizes"><legend data-i18n="wall_layout_size"></legend>
      ${GRID_SIZES.map((n) => `<button class="btn" type="button" data-size="${n}">${n}</button>`).join('')}
    </fieldset>
    <button class="btn primary" type="submit" data-i18n="wall_layout_save"></button>
    <button class="btn" type="button" data-action="delete" data-i18n="wall_layout_delete"></button>
    <a class="btn" data-action="open-wall" target="_blank" rel="noopener" data-i18n="wall_layout_open_wall"></a>
  </form>
  <p class="muted small" data-updated></p>
  <div class="wall-editor">
    <aside class="wall-editor-cams"><h3 data-i18n="wall_cameras"></h3><ul data-cams></ul></aside>
    <div class="wall-editor-main">
      <p class="muted small" data-i18n="wall_layout_help"></p>
      <div class="cam-grid wall-editor-grid" data-grid></div>
    </div>
  </div>`;

export class WallLayoutsView {
  constructor(root) {
    this.root = root;
    root.innerHTML = SHEET;
    applyI18n(root);
    this.form = root.querySelector('[data-form=layout]');
    this.grid = root.querySelector('[data-grid]');
    this.notice = root.querySelector('.admin-notice');
    this.size = 4;
    this.tiles = [];
    this.cameras = [];
    this.layouts = [];
    this.stills = new Map(); // camera id -> still URL, one per opening of the sheet
    root.querySelector('[data-action=close]').addEventListener('click', () => this.close());
    root.querySelectorAll('[data-size]').forEach((b) => b.addEventListener('click', () => this.resize(Number(b.dataset.size))));
    this.form.addEventListener('submit', (e) => { e.preventDefault(); this.save(); });
    this.form.elements.saved.addEventListener('change', () => this.pick(this.form.elements.saved.value));
    this.form.elements.name.addEventListener('input', () => this.renderLink());
    root.querySelector('[data-action=delete]').addEventListener('click', () => this.remove());
    this.grid.addEventListener('change', (e) => {
      const sel = e.target.closest('select[data-tile]');
      if (sel) this.place(Number(sel.dataset.tile), sel.value || null);
    });
    this.grid.addEventListener('click', (e) => {
      const b = e.target.closest('[data-clear]');
      if (b) this.place(Number(b.dataset.clear), null);
    });
    this.bindDrag();
  }

  async open() {
    this.root.hidden = false;
    this.stills.clear();
    this.say('');
    [this.cameras, this.layouts] = await Promise.all([allCameras(), wallLayouts().catch(() => [])]);
    const current = this.layouts.find((l) => l.name === this.form.elements.name.value);
    if (current) this.load(current); else this.render();
  }

  close() { this.root.hidden = true; }

  /** Drag a camera from the list onto a tile, or a tile onto another to swap them. */
  bindDrag() {
    this.root.addEventListener('dragstart', (e) => {
      const cam = e.target.closest('[data-cam]');
      const tile = e.target.closest('[data-i]');
      if (cam) e.dataTransfer.setData('text/plain', JSON.stringify({ camera: cam.dataset.cam }));
      else if (tile) e.dataTransfer.setData('text/plain', JSON.stringify({ tile: Number(tile.dataset.i) }));
      e.dataTransfer.effectAllowed = 'move';
    });
    this.grid.addEventListener('dragover', (e) => {
      if (e.target.closest('[data-i]')) e.preventDefault();
    });
    this.grid.addEventListener('drop', (e) => {
      const tile = e.target.closest('[data-i]');
      if (!tile) return;
      e.preventDefault();
      let what;
      try { what = JSON.parse(e.dataTransfer.getData('text/plain')); } catch { return; }
      const to = Number(tile.dataset.i);
      if (what.camera) this.place(to, what.camera);
      else if (Number.isInteger(what.tile) && what.tile !== to) {
        const moved = this.tiles[what.tile] ?? null;
        this.tiles[what.tile] = this.tiles[to] ?? null;
        this.tiles[to] = moved;
        this.render();
      }
    });
  }

  /** The saved layout `name`, or a new one (''). */
  pick(name) {
    const layout = this.layouts.find((l) => l.name === name);
    if (layout) this.load(layout);
    else {
      this.form.elements.name.value = '';
      this.tiles = [];
      this.render();
    }
  }

  load(layout) {
    this.form.elements.name.value = layout.name;
    this.size = layout.size;
    this.tiles = [...layout.tiles];
    this.render();
  }

  resize(size) {
    this.size = size;
    this.tiles = this.tiles.slice(0, size);
    this.render();
  }

  place(i, camera) {
    this.tiles[i] = camera;
    this.render();
  }

  async save() {
    const name = this.form.elements.name.value.trim();
    if (!name) { this.say(t('wall_layout_need_name'), 'error'); return; }
    const tiles = Array.from({ length: this.size }, (_, i) => this.tiles[i] ?? null);
    try {
      await saveWallLayout(name, this.size, tiles);
      this.layouts = await wallLayouts();
      this.say(t('wall_layout_saved').replace('{name}', name));
      this.load(this.layouts.find((l) => l.name === name) ?? { name, size: this.size, tiles });
    } catch (err) {
      this.say(`${t('admin_refused')}: ${err.message}`, 'error');
    }
  }

  async remove() {
    const name = this.form.elements.name.value.trim();
    if (!this.layouts.some((l) => l.name === name)) return;
    if (!window.confirm(t('wall_layout_delete_confirm').replace('{name}', name))) return;
    try {
      await deleteWallLayout(name);
      this.layouts = await wallLayouts();
      this.say(t('wall_layout_deleted').replace('{name}', name));
      this.pick('');
    } catch (err) {
      this.say(`${t('admin_refused')}: ${err.message}`, 'error');
    }
  }

  still(id) {
    if (!this.stills.has(id)) this.stills.set(id, `/api/v1/cameras/${encodeURIComponent(id)}/snapshot.jpg?stream=sub&t=${Date.now()}`);
    return this.stills.get(id);
  }

  render() {
    const name = this.form.elements.name.value.trim();
    const saved = this.layouts.find((l) => l.name === name);
    this.form.elements.saved.innerHTML = options([['', t('wall_layout_new')], ...this.layouts.map((l) => [l.name, l.name])], saved?.name ?? '');
    this.root.querySelectorAll('[data-size]').forEach((b) => b.setAttribute('aria-pressed', String(Number(b.dataset.size) === this.size)));
    this.root.querySelector('[data-action=delete]').hidden = !saved;
    this.root.querySelector('[data-updated]').textContent = saved
      ? t('wall_layout_by').replace('{user}', saved.updated_by).replace('{time}', fmtDateTime(new Date(saved.updated_at)))
      : '';
    this.renderLink();
    const placed = new Set(this.tiles.filter(Boolean));
    this.root.querySelector('[data-cams]').innerHTML = this.cameras.length
      ? this.cameras.map((c) => `<li draggable="true" data-cam="${esc(c.id)}" class="${placed.has(c.id) ? 'placed' : ''}">
          <span translate="no">${esc(c.name || c.id)}</span><span class="muted small">${esc(t(`cam_state_${c.status?.state || 'idle'}`))}</span></li>`).join('')
      : `<li class="muted">${esc(t('wall_layout_no_cameras'))}</li>`;
    const choices = [['', t('wall_layout_empty_tile')], ...this.cameras.map((c) => [c.id, c.name || c.id])];
    this.grid.style.setProperty('--cols', Math.sqrt(this.size));
    this.grid.innerHTML = Array.from({ length: this.size }, (_, i) => {
      const id = this.tiles[i] ?? null;
      const known = id && this.cameras.some((c) => c.id === id);
      // a camera that is gone (or outside this account's areas) is kept, and named as such
      const list = known || !id ? choices : [...choices, [id, `${id} (${t('wall_layout_missing')})`]];
      return `<figure class="cam-tile edit${id ? '' : ' empty'}" draggable="${id ? 'true' : 'false'}" data-i="${i}">
        ${known ? `<img class="cam-still" alt="" src="${esc(this.still(id))}">` : ''}
        <figcaption><select data-tile="${i}" aria-label="${esc(t('wall_layout_tile').replace('{n}', String(i + 1)))}">${options(list, id ?? '')}</select>
        ${id ? `<button class="btn small" type="button" data-clear="${i}" aria-label="${esc(t('wall_layout_clear'))}">×</button>` : ''}</figcaption></figure>`;
    }).join('');
  }

  renderLink() {
    const name = this.form.elements.name.value.trim();
    const link = this.root.querySelector('[data-action=open-wall]');
    const saved = this.layouts.some((l) => l.name === name);
    link.hidden = !saved;
    link.href = saved ? `/wall/?layout=${encodeURIComponent(name)}` : '#';
  }

  say(text, kind = 'ok') {
    this.notice.textContent = text;
    this.notice.className = `admin-notice ${kind}`;
    this.notice.hidden = !text;
  }
}
