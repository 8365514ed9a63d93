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
