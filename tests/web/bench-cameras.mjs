// Camera benchmark, the browser half (scripts/bench runs it in its `cameras` phase, against the
// hub and the `iochub-sim camera` it started):
//
//   node tests/web/bench-cameras.mjs --hub http://127.0.0.1:PORT --password P --hub-pid PID \
//     --latency CAMERA --tiles ID,ID,… --seconds N [--warmup S] [--fps 25]
//
// 1. Glass-to-glass latency: the wall with one tile (`/wall/?cameras=1&pick=CAMERA`, the main
//    stream in the real player, js/video.js). Each frame of `iochub-sim camera` carries the
//    wall-clock ms it was drawn at as a band of blocks (simulators/src/cameras/live.rs); at each
//    requestVideoFrameCallback the painted frame is drawn to a canvas and the band read back,
//    against the frame's expected display time (same machine, same clock): camera encoding,
//    RTSP, hub, WebSocket, MSE and decoding, minus only the screen's scan-out.
// 2. The 16-tile wall (`/wall/?cameras=16&pick=…`, sub-streams): frames decoded and dropped per
//    tile (getVideoPlaybackQuality) over the window, tiles that fell back to snapshots, and the
//    hub's CPU and RSS meanwhile.
// Prints one JSON object; never fails on a number, only when the page cannot play at all.

import fs from 'node:fs';
import { launchChromium, logIn, sleep, waitFor } from './hub.mjs';

const args = process.argv.slice(2);
const arg = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const BASE = arg('--hub');
const PASSWORD = arg('--password');
const HUB_PID = Number(arg('--hub-pid', 0));
const LATENCY_CAMERA = arg('--latency');
const TILES = (arg('--tiles', '') || '').split(',').filter(Boolean);
const SECONDS = Number(arg('--seconds', 20));
const WARMUP_MS = Number(arg('--warmup', 3)) * 1000;
const FPS = Number(arg('--fps', 25));
if (!BASE || !PASSWORD) throw new Error('--hub and --password are required');
const log = (...a) => console.error('bench-cameras:', ...a);
const pct = (xs, p) => { if (!xs.length) return null; const s = [...xs].sort((a, b) => a - b); return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]); };

// CPU seconds and RSS from /proc: the hub's, and Chromium's (every child of this process).
const TICK = 100; // USER_HZ
const stat = (pid) => {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), cpu: (Number(f[11]) + Number(f[12])) / TICK, rss: (Number(f[21]) * 4096) / 1048576 };
  } catch { return null; }
};
const tree = (root) => {
  const all = new Map(fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map((d) => [Number(d), stat(d)]).filter(([, s]) => s));
  let cpu = 0, rss = 0;
  const walk = (pid) => { const s = all.get(pid); if (s) { cpu += s.cpu; rss += s.rss; } for (const [k, s] of all) if (s.ppid === pid) walk(k); };
  walk(root);
  return { cpu, rss };
};
/** Cores used and mean RSS of the hub and of Chromium while `fn` runs. */
async function measured(fn) {
  const t0 = Date.now(), hub0 = stat(HUB_PID), all0 = tree(process.pid), self0 = stat(process.pid);
  const rss = [];
  const sampler = setInterval(() => { const s = stat(HUB_PID); if (s) rss.push(s.rss); }, 500);
  const result = await fn();
  clearInterval(sampler);
  const secs = (Date.now() - t0) / 1000, hub1 = stat(HUB_PID), all1 = tree(process.pid), self1 = stat(process.pid);
  const round = (x, d = 3) => Math.round(x * 10 ** d) / 10 ** d;
  const usage = {
    seconds: round(secs, 1),
    hub_cores: hub0 && hub1 ? round((hub1.cpu - hub0.cpu) / secs) : null,
    hub_rss_mib: rss.length ? round(rss.reduce((a, b) => a + b, 0) / rss.length, 1) : null,
    chromium_cores: round((all1.cpu - all0.cpu - (self1.cpu - self0.cpu)) / secs, 2),
    chromium_rss_mib: Math.round(all1.rss - self1.rss),
  };
  return { ...result, usage };
}

/**
 * Opens `url` in `page` with a fresh login and waits until the app is ready. The session cookie
 * is dropped first: with it, the login form may show for a moment while the app checks the
 * session and then hide, which a "log in if asked" would race.
 */
async function enter(page, url) {
  await page.context().clearCookies();
  await page.goto(url);
  await logIn(page, PASSWORD);
  await page.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 60000 });
}

/** Counts frames of every tile's <video> from now on, across the player's reconnects. */
function countFrames() {
  window.__tiles = [...document.querySelectorAll('.cam-tile[data-camera]')].map((el) => {
    const v = el.querySelector('video');
    const t = { id: el.dataset.camera, el, v, total: 0, dropped: 0, restarts: 0, painted: 0, stills: 0, last: null, src: null, presented: null };
    // presentedFrames counts frames sent to the compositor, also those between two callbacks
    const onFrame = (_now, meta) => {
      const n = meta.presentedFrames;
      t.painted += t.presented !== null && n > t.presented ? n - t.presented : 1;
      t.presented = n;
      v.requestVideoFrameCallback(onFrame);
    };
    v.requestVideoFrameCallback(onFrame);
    return t;
  });
  const sample = () => {
    for (const t of window.__tiles) {
      const q = t.v.getVideoPlaybackQuality();
      if (t.el.dataset.stills === 'yes') t.stills += 1;
      if (t.last && t.src === t.v.currentSrc && q.totalVideoFrames >= t.last.totalVideoFrames) {
        t.total += q.totalVideoFrames - t.last.totalVideoFrames;
        t.dropped += q.droppedVideoFrames - t.last.droppedVideoFrames;
      } else if (t.last) {
        t.restarts += 1; // a new MediaSource: its counters start from 0
        t.total += q.totalVideoFrames;
        t.dropped += q.droppedVideoFrames;
      }
      t.last = { totalVideoFrames: q.totalVideoFrames, droppedVideoFrames: q.droppedVideoFrames };
      t.src = t.v.currentSrc;
    }
  };
  sample();
  for (const t of window.__tiles) { t.total = 0; t.dropped = 0; t.painted = 0; }
  window.__sampler = setInterval(sample, 250);
  window.__sample = sample;
}

function tileCounts() {
  window.__sample();
  clearInterval(window.__sampler);
  return window.__tiles.map(({ id, total, dropped, restarts, painted, stills, v }) => ({ id, total, dropped, restarts, painted, stills_samples: stills, width: v.videoWidth, height: v.videoHeight }));
}

/** Reads the time stamp of every painted frame of the first tile (simulators/src/cameras/live.rs). */
function readStamps() {
  const v = document.querySelector('.cam-tile video');
  const canvas = document.createElement('canvas');
  canvas.width = 64; // 16 blocks of 4 px
  canvas.height = 12; // 3 rows of 4 px
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.imageSmoothingEnabled = false;
  const out = { painted: [], callback: [], bad: 0, frames: 0, widths: new Set() };
  window.__stamps = out;
  const onFrame = (_now, meta) => {
    const at = Date.now();
    const shown = performance.timeOrigin + meta.expectedDisplayTime;
    const w = v.videoWidth;
    const bw = Math.floor(w / 16);
    const bh = Math.max(2, Math.floor(bw / 2)) & ~1;
    ctx.drawImage(v, 0, 0, bw * 16, bh * 3, 0, 0, 64, 12);
    const px = ctx.getImageData(0, 0, 64, 12).data;
    const rows = [0, 0, 0];
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < 16; c++) {
        const i = ((r * 4 + 2) * 64 + c * 4 + 2) * 4;
        rows[r] = (rows[r] << 1) | (px[i] >= 128 ? 1 : 0);
      }
    }
    out.frames += 1;
    out.widths.add(w);
    if (rows[2] !== (~rows[1] & 0xffff)) {
      out.bad += 1;
    } else {
      const stamp = ((rows[0] << 16) | rows[1]) >>> 0;
      const since = (t) => { const d = (Math.floor(t) % 2 ** 32 - stamp + 2 ** 32) % 2 ** 32; return d > 2 ** 31 ? d - 2 ** 32 : d; };
      out.painted.push(since(shown));
      out.callback.push(since(at));
    }
    v.requestVideoFrameCallback(onFrame);
  };
  v.requestVideoFrameCallback(onFrame);
}

const summary = { seconds: SECONDS };
let browser;
try {
  browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));

  if (LATENCY_CAMERA) {
    await enter(page, `${BASE}/wall/?cameras=1&pick=${encodeURIComponent(LATENCY_CAMERA)}`);
    await waitFor('the tile painting frames', () => page.evaluate(() => {
      const v = document.querySelector('.cam-tile video');
      return v && v.getVideoPlaybackQuality().totalVideoFrames > 10;
    }), 30000, 200);
    await page.evaluate(readStamps);
    await sleep(WARMUP_MS);
    const r = await measured(async () => {
      await page.evaluate(() => { const s = window.__stamps; s.painted.length = 0; s.callback.length = 0; s.bad = 0; s.frames = 0; });
      await page.evaluate(countFrames);
      await sleep(SECONDS * 1000);
      const tiles = await page.evaluate(tileCounts);
      const s = await page.evaluate(() => { const x = window.__stamps; return { painted: x.painted, callback: x.callback, bad: x.bad, frames: x.frames, widths: [...x.widths] }; });
      return { s, tile: tiles[0] };
    });
    const { s, tile, usage } = r;
    summary.latency = {
      camera: LATENCY_CAMERA, width: tile?.width, height: tile?.height,
      frames_read: s.frames, unreadable: s.bad, samples: s.painted.length,
      painted_ms: { p50: pct(s.painted, 50), p95: pct(s.painted, 95), p99: pct(s.painted, 99), max: pct(s.painted, 100), min: pct(s.painted, 0) },
      callback_ms: { p50: pct(s.callback, 50), p99: pct(s.callback, 99) },
      fps: Math.round((s.frames / SECONDS) * 10) / 10,
      tile, usage,
    };
    log(`latency p50 ${summary.latency.painted_ms.p50} ms, p99 ${summary.latency.painted_ms.p99} ms over ${s.painted.length} frames (${s.bad} unreadable)`);
    if (!s.painted.length) throw new Error(`no time stamp read back from ${s.frames} painted frames`);
  }

  if (TILES.length) {
    const size = [1, 4, 9, 16].find((n) => n >= TILES.length) || 16;
    await enter(page, `${BASE}/wall/?cameras=${size}&pick=${TILES.map(encodeURIComponent).join(',')}`);
    await waitFor(`${TILES.length} tiles painting frames`, () => page.evaluate((n) => {
      const vs = [...document.querySelectorAll('.cam-tile video')];
      return vs.length >= n && vs.every((v) => v.getVideoPlaybackQuality().totalVideoFrames > 10);
    }, TILES.length), 60000, 250);
    await sleep(WARMUP_MS);
    const r = await measured(async () => {
      await page.evaluate(countFrames);
      await sleep(SECONDS * 1000);
      return { tiles: await page.evaluate(tileCounts) };
    });
    const sum = (k) => r.tiles.reduce((a, t) => a + t[k], 0);
    summary.tiles = {
      count: r.tiles.length, total_frames: sum('total'), dropped_frames: sum('dropped'), painted_frames: sum('painted'),
      expected_frames: Math.round(r.tiles.length * FPS * r.usage.seconds),
      min_tile_fps: Math.round(Math.min(...r.tiles.map((t) => t.total)) / r.usage.seconds * 10) / 10,
      restarts: sum('restarts'), tiles_on_snapshots: r.tiles.filter((t) => t.stills_samples > 0).length,
      each: r.tiles, usage: r.usage,
    };
    log(`16 tiles: ${summary.tiles.total_frames} frames decoded, ${summary.tiles.dropped_frames} dropped, ${summary.tiles.painted_frames} painted`);
  }
  summary.page_errors = errors;
  console.log(JSON.stringify(summary));
} finally {
  await browser?.close().catch(() => {});
}
