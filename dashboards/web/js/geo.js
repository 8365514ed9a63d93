// Plane geometry on [lon, lat] GeoJSON for the map and the area tools: bounding boxes, label
// points inside polygons, and a circle ring for drawing. Pure functions, no DOM and no MapLibre;
// the hub does the real containment (POST /api/v1/areas/summary).

function eachCoord(geom, fn) {
  if (!geom) return;
  const walk = (c) => (typeof c[0] === 'number' ? fn(c) : c.forEach(walk));
  if (geom.type === 'GeometryCollection') geom.geometries.forEach((g) => eachCoord(g, fn));
  else walk(geom.coordinates);
}

export function bboxOf(features) {
  let w = Infinity, s = Infinity, e = -Infinity, n = -Infinity;
  for (const f of features) eachCoord(f.geometry, ([x, y]) => { w = Math.min(w, x); s = Math.min(s, y); e = Math.max(e, x); n = Math.max(n, y); });
  return w === Infinity ? null : [[w, s], [e, n]];
}

/** Where to hang each area's label: the interior point farthest from the area's edges (a coarse
 *  "pole of inaccessibility", never outside a concave area as a centroid can be) that is not inside
 *  a smaller area and keeps clear of the labels of smaller areas, placed first. A ward inside a
 *  larger area would otherwise get the larger area's name printed over its own. [lon, lat] or null. */
export function labelPoints(features) {
  const polys = features.map((f) => {
    const g = f?.geometry;
    return !g ? [] : g.type === 'Polygon' ? [g.coordinates] : g.type === 'MultiPolygon' ? g.coordinates : [];
  });
  const area = polys.map((ps) => ps.reduce((s, p) => s + Math.abs(ringArea(p[0] || [])), 0));
  const order = features.map((_, i) => i).sort((a, b) => area[a] - area[b]);
  const out = new Array(features.length).fill(null);
  const placed = []; // [x, y] of labels placed so far, in lon / lat scaled to local km-ish units
  const smaller = []; // polygons of the areas already placed
  const GRID = 16;
  for (const i of order) {
    const isProvince = features[i]?.properties?.level === 'province';
    let best = null, bestScore = -Infinity, fallback = null, fallbackScore = -Infinity;
    for (const poly of polys[i]) {
      const ring = poly[0] || [];
      if (ring.length < 3) continue;
      const k = Math.cos((ring[0][1] * Math.PI) / 180); // x scale at this latitude
      let w = Infinity, s = Infinity, e = -Infinity, n = -Infinity;
      for (const [x, y] of ring) { w = Math.min(w, x); s = Math.min(s, y); e = Math.max(e, x); n = Math.max(n, y); }
      for (let a = 0; a < GRID; a++) {
        for (let b = 0; b < GRID; b++) {
          const pt = [w + ((a + 0.5) / GRID) * (e - w), s + ((b + 0.5) / GRID) * (n - s)];
          if (!inPolygon(pt, poly)) continue;
          let score = Math.sqrt(edgeDist2(pt, poly, k));
          for (const q of placed) score = Math.min(score, 0.5 * Math.hypot((pt[0] - q[0]) * k, pt[1] - q[1]));
          if (score > fallbackScore) { fallbackScore = score; fallback = pt; }
          if (smaller.some((sp) => inPolygon(pt, sp))) continue;
          if (score > bestScore) { bestScore = score; best = pt; }
        }
      }
    }
    out[i] = best || fallback || centroid(polys[i]);
    if (out[i] && !isProvince) { placed.push(out[i]); smaller.push(...polys[i]); }
  }
  return out;
}

function ringArea(ring) {
  let a = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) a += ring[j][0] * ring[i][1] - ring[i][0] * ring[j][1];
  return a / 2;
}

/** The centroid of the largest ring: the fallback for an area too small for the grid. */
function centroid(polys) {
  let best = null, bestA = 0;
  for (const p of polys) {
    const ring = p[0] || [];
    let a = 0, cx = 0, cy = 0;
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const f = ring[j][0] * ring[i][1] - ring[i][0] * ring[j][1];
      a += f; cx += (ring[j][0] + ring[i][0]) * f; cy += (ring[j][1] + ring[i][1]) * f;
    }
    if (Math.abs(a) > bestA) { bestA = Math.abs(a); best = [cx / (3 * a), cy / (3 * a)]; }
  }
  return best;
}

/** Even-odd test against a polygon's rings (its holes included). */
function inPolygon([x, y], poly) {
  let inside = false;
  for (const ring of poly) {
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i], [xj, yj] = ring[j];
      if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
    }
  }
  return inside;
}

/** Squared distance from a point to the nearest edge of a polygon, x scaled by k. */
function edgeDist2([x, y], poly, k) {
  let d = Infinity;
  for (const ring of poly) {
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const ax = ring[j][0] * k, ay = ring[j][1], bx = ring[i][0] * k, by = ring[i][1], px = x * k;
      const dx = bx - ax, dy = by - ay;
      const t = dx || dy ? Math.max(0, Math.min(1, ((px - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy))) : 0;
      const ex = ax + t * dx - px, ey = ay + t * dy - y;
      d = Math.min(d, ex * ex + ey * ey);
    }
  }
  return d;
}

/** A geodesic-enough circle (64 vertices) for drawing; the hub does the real containment. */
export function circleRing([lon, lat], radiusM) {
  const R = 6371008.8;
  const ring = [];
  const d = radiusM / R;
  const φ1 = (lat * Math.PI) / 180, λ1 = (lon * Math.PI) / 180;
  for (let i = 0; i <= 64; i++) {
    const θ = (i / 64) * 2 * Math.PI;
    const φ2 = Math.asin(Math.sin(φ1) * Math.cos(d) + Math.cos(φ1) * Math.sin(d) * Math.cos(θ));
    const λ2 = λ1 + Math.atan2(Math.sin(θ) * Math.sin(d) * Math.cos(φ1), Math.cos(d) - Math.sin(φ1) * Math.sin(φ2));
    ring.push([(λ2 * 180) / Math.PI, (φ2 * 180) / Math.PI]);
  }
  return ring;
}
