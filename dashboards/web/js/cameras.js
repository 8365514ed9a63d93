// The cameras the account sees (GET /api/v1/cameras), fetched once and again after a minute, and
// the one nearest a place: a device's card shows it (within the hub's `camera_radius_m`, from
// GET /api/v1/map), so the operator sees the flooded bridge, not only its water level.

import { api } from './api.js';

const FRESH_MS = 60000;
let cached = null;
let fetchedAt = 0;
let radius = null;

/** Every camera the account sees: [{id, name, lat, lon, status, …}]. */
export async function cameras() {
  if (!cached || Date.now() - fetchedAt > FRESH_MS) {
    cached = api('/api/v1/cameras').catch(() => []);
    fetchedAt = Date.now();
  }
  return cached;
}

/** How far a card looks for a camera (m). */
async function searchRadius() {
  radius ??= api('/api/v1/map').then((m) => m.camera_radius_m ?? 0).catch(() => 0);
  return radius;
}

/** Metres between two places (haversine). */
export function distanceM(lat1, lon1, lat2, lon2) {
  const rad = Math.PI / 180;
  const a = Math.sin(((lat2 - lat1) * rad) / 2) ** 2
    + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(((lon2 - lon1) * rad) / 2) ** 2;
  return 2 * 6371000 * Math.asin(Math.min(1, Math.sqrt(a)));
}

/**
 * The camera nearest (lat, lon) within the hub's radius, that is not offline, as
 * {camera, distance}; the camera `self` itself when the place is that camera's; else null.
 */
export async function nearestCamera(lat, lon, self) {
  if (lat == null || lon == null) return null;
  const [all, limit] = await Promise.all([cameras(), searchRadius()]);
  const own = all.find((c) => c.id === self);
  if (own) return { camera: own, distance: 0 };
  let best = null;
  for (const c of all) {
    if (c.lat == null || c.lon == null || c.status?.state === 'offline') continue;
    const distance = distanceM(lat, lon, c.lat, c.lon);
    if (distance <= limit && (!best || distance < best.distance)) best = { camera: c, distance };
  }
  return best;
}

/** The wall's saved layouts: [{name, size, tiles, updated_at, updated_by}], by name. */
export const wallLayouts = () => api('/api/v1/wall/layouts');

const layoutPath = (name) => `/api/v1/wall/layouts/${encodeURIComponent(name)}`;

/** One layout by name; `background` for the wall's own refreshes. */
export const wallLayout = (name, opts = {}) => api(layoutPath(name), { background: opts.background, retry: opts.retry });

export const saveWallLayout = (name, size, tiles) => api(layoutPath(name), { method: 'PUT', body: { size, tiles } });

export const deleteWallLayout = (name) => api(layoutPath(name), { method: 'DELETE' });

/**
 * A layout's tiles as cameras from `all` (the cameras the account sees), in order; null for an
 * empty tile and for a camera that is gone or outside the account's areas.
 */
export const layoutCameras = (layout, all) => Array.from({ length: layout.size }, (_, i) => {
  const id = layout.tiles[i];
  return (id && all.find((c) => c.id === id)) || null;
});
