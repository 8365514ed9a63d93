// Browser tests of the dashboard against a real `iochub demo` and a real Chromium.
//
//   node tests/web/run.mjs
//
// env: IOCHUB_BIN (hub binary; default ~/.cache/iochub-target/release/iochub),
//      IOCHUB_WEB_EMBEDDED=1 (test the copy compiled into the binary instead of dashboards/web),
//      IOCHUB_ARTIFACTS (screenshots and the hub's log; default tests/web/artifacts/).
// Starts its own hub on free ports with a temp data dir, stops everything it started (also on
// failure), prints one line per check and "N passed, M failed", exits non-zero on any failure.

import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import readline from 'node:readline';
import mqtt from 'mqtt';
import { Hub, freePort, waitFor, launchChromium, logIn, ARTIFACTS, PASSWORD, repo } from './hub.mjs';

fs.mkdirSync(ARTIFACTS, { recursive: true });
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'iochub-web-'));
const hubLog = path.join(ARTIFACTS, 'hub.log');
fs.writeFileSync(hubLog, '');
const started = Date.now();
const results = [];
let hub, browser, mq;
const cameras = [];

/** GStreamer's RTSP server serving a test pattern (tests/support/rtsp_camera.py), no auth. */
async function startCamera(extra = []) {
  const port = await freePort();
  const script = path.join(repo, 'tests/support/rtsp_camera.py');
  const proc = spawn('/usr/bin/python3', [script, '--port', String(port), ...extra], { stdio: ['pipe', 'pipe', 'ignore'] });
  cameras.push(proc);
  const lines = readline.createInterface({ input: proc.stdout });
  const ready = await new Promise((resolve) => {
    lines.once('line', (l) => resolve(l));
    proc.once('exit', () => resolve(null));
  });
  if (ready !== `ready ${port}`) throw new Error(`the test camera did not start (${ready})`);
  return { port, proc };
}

// Vietnamese letters that English text never has: a label still carrying one in English mode was
// not translated (proper names are marked translate="no" and skipped).
const VI_CHARS = /[ăâđêôơưáàảãạắằẳẵặấầẩẫậéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ]/i;

/** An authenticator app's code (RFC 6238: SHA-1, 6 digits, 30 s) for a base32 secret. */
function totpCode(secret, unixS) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bits = [...secret].map((c) => alphabet.indexOf(c).toString(2).padStart(5, '0')).join('');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixS / 30)));
  const mac = crypto.createHmac('sha1', key).update(counter).digest();
  const at = mac[mac.length - 1] & 15;
  return String((mac.readUInt32BE(at) & 0x7fffffff) % 1e6).padStart(6, '0');
}

async function check(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`ok   - ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    results.push({ name, ok: false, error: e });
    console.log(`FAIL - ${name}: ${e.message}`);
  }
}

function skip(name, why) {
  results.push({ name, ok: true, skipped: true });
  console.log(`skip - ${name}: ${why}`);
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) }).catch(() => {});
}

function publish(topic, payload) {
  return new Promise((resolve, reject) => mq.publish(topic, JSON.stringify(payload), { qos: 1 }, (e) => (e ? reject(e) : resolve())));
}

async function connectMqtt() {
  mq = await mqtt.connectAsync(hub.mqttUrl, { clientId: `web-test-${process.pid}`, keepalive: 30, reconnectPeriod: 500, connectTimeout: 10000 });
}

// ---- geometry the test computes itself, to compare with the hub's area summary ------------------
function pointInRing([x, y], ring) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i], [xj, yj] = ring[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}
function pointInGeometry(p, g) {
  const polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
  return polys.some((poly) => pointInRing(p, poly[0]) && !poly.slice(1).some((h) => pointInRing(p, h)));
}
function haversine([lon1, lat1], [lon2, lat2]) {
  const R = 6371008.8, rad = Math.PI / 180;
  const a = Math.sin(((lat2 - lat1) * rad) / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(((lon2 - lon1) * rad) / 2) ** 2;
  return 2 * R * Math.asin(Math.sqrt(a));
}

async function main() {
  // Webhook retries end after 2 s here, so an unreachable agency is reported within the test.
  // The supply tally is written every 500 ms, so the data-supply report shows the run's readings.
  const env = { IOCHUB_WEBHOOK_RETRY_FOR: '2s', IOCHUB_WEBHOOK_BACKOFF: '200ms', IOCHUB_WEBHOOK_TIMEOUT: '1s', IOCHUB_REPORT_FLUSH: '500ms' };
  // The rules page saves its file: a copy of the demo's, so the repository's stays as it is.
  const rulesCopy = path.join(dataDir, 'rules-under-test.toml');
  fs.copyFileSync(path.join(path.dirname(new URL(import.meta.url).pathname), '../../rules/cao-bang.toml'), rulesCopy);
  hub = await new Hub({ http: await freePort(), mqtt: await freePort(), dataDir, log: hubLog, env, extraArgs: ['--rules', rulesCopy] }).start();
  console.log(`# hub ${hub.base} (mqtt ${hub.mqttUrl}), web: ${process.env.IOCHUB_WEB_EMBEDDED === '1' ? 'embedded' : 'dashboards/web from disk'}`);
  await connectMqtt();
  const token = await hub.token();
  const openapi = await hub.get('/api/v1/openapi.json', token);
  const has = (p) => Object.prototype.hasOwnProperty.call(openapi.paths || {}, p);

  browser = await launchChromium();
  const ctx = await browser.newContext({ viewport: { width: 1600, height: 900 } });
  const page = await ctx.newPage();
  const pageErrors = [];
  // A Content-Security-Policy violation shows only on the console: count it as a page error.
  const watchCsp = (p, who) => p.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) pageErrors.push(`${who}: ${m.text()}`);
  });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  watchCsp(page, 'console');

  await check('wrong password shows the error; right password logs in', async () => {
    await page.goto(`${hub.base}/`);
    await logIn(page, 'not-the-password');
    await page.waitForSelector('.login-msg:not([hidden])', { timeout: 10000 });
    const msg = await page.textContent('.login-msg');
    if (!/Sai tên đăng nhập hoặc mật khẩu/.test(msg)) throw new Error(`login error reads "${msg}"`);
    await shot(page, '01-login-wrong-password');
    await logIn(page, PASSWORD);
    await page.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 20000 });
    if (await page.isVisible('#login')) throw new Error('login overlay still visible');
  });

  await check('markers appear for the simulated stations (>= 60 features)', async () => {
    const n = await waitFor('>= 60 device features rendered', () => page.evaluate(() => {
      const m = window.iochub.map;
      const rendered = m.renderedFeatures(['devices']).length;
      return m.featureCount >= 60 && rendered >= 60 && rendered;
    }), 45000, 250);
    console.log(`#   ${n} device features rendered`);
    // The wards and communes are named without two names ever overlapping: at the home view a
    // label that would collide hides (the three wards of the former city share a few pixels
    // there), and zoomed in on the city every ward is named.
    const visibleLabels = () => page.evaluate(() => [...document.querySelectorAll('.area-label')]
      .filter((el) => el.style.visibility !== 'hidden')
      .map((el) => { const r = el.getBoundingClientRect(); return { text: el.textContent, l: r.left, r: r.right, t: r.top, b: r.bottom }; }));
    const apart = (labels) => {
      for (const [i, a] of labels.entries()) {
        for (const b of labels.slice(i + 1)) {
          if (a.l < b.r && b.l < a.r && a.t < b.b && b.t < a.b) throw new Error(`labels overlap: ${a.text} / ${b.text}`);
        }
      }
    };
    const local = await page.evaluate(() => window.iochub.map.areas.features.filter((f) => f.properties.level !== 'province').map((f) => f.properties));
    if (!local.length || !local.every((p) => p.level === 'ward' || p.level === 'commune')) {
      throw new Error(`areas below the province are not all wards and communes: ${JSON.stringify(local.map((p) => [p.id, p.level]))}`);
    }
    const home = await visibleLabels();
    apart(home);
    const names = local.map((p) => p.name);
    const stray = home.filter((x) => !names.includes(x.text));
    if (stray.length) throw new Error(`labels that name no area: ${stray.map((x) => x.text)}`);
    if (home.length < Math.min(12, names.length)) throw new Error(`only ${home.length} areas named at the home view: ${home.map((x) => x.text)}`);
    console.log(`#   ${home.length} of ${names.length} wards and communes named at the home view`);
    await shot(page, '02-map');
    const wards = local.filter((p) => p.level === 'ward').map((p) => p.name);
    await page.evaluate(() => {
      const m = window.iochub.map;
      const pts = m.areas.features.filter((f) => f.properties.level === 'ward').flatMap((f) => f.geometry.coordinates[0]);
      const xs = pts.map((p) => p[0]), ys = pts.map((p) => p[1]);
      m.fitBounds([[Math.min(...xs), Math.min(...ys)], [Math.max(...xs), Math.max(...ys)]], { padding: 80, duration: 0 });
    });
    const city = await waitFor('every ward named once zoomed in on the city', async () => {
      const shown = await visibleLabels();
      return wards.every((w) => shown.some((x) => x.text === w)) && shown;
    }, 10000, 200);
    apart(city);
    await shot(page, '02-wards');
    await page.evaluate(() => window.iochub.map.fitHome({ duration: 0 }));
  });

  // A device the simulator does not drive, so nothing resolves its alert behind our back. The
  // global rule pm25-very-unhealthy (>= 150.5, critical, no hold time) applies to it.
  const dev = `web-test-aq-${process.pid}`;
  const devPos = [106.05, 22.72];
  await check('a critical reading over MQTT turns the marker red and puts the alert in the ticker', async () => {
    const t0 = Date.now();
    await publish(`ioc/${dev}/telemetry`, { lat: devPos[1], lon: devPos[0], pm2_5: 20 });
    await publish(`ioc/${dev}/telemetry`, [{ n: 'pm2_5', u: 'ug/m3', v: 312.5 }]);
    await waitFor('feature-state st=4 (critical) on the device', () => page.evaluate((k) => window.iochub.map.featureStatus(k) === 4, dev), 15000);
    const rendered = await waitFor('the device rendered red', () => page.evaluate((k) => {
      const m = window.iochub.map;
      const f = m.renderedFeatures(['devices']).find((x) => x.properties.key === k);
      if (!f || f.state.st !== 4) return null;
      // The colour the layer evaluates for that state, and the on-top copy for alerting devices.
      const color = m.circleColor('devices', f);
      const hot = m.renderedFeatures(['devices-alert']).find((x) => x.properties.key === k);
      if (!hot) return null;
      const hotColor = m.circleColor('devices-alert', hot);
      if (hotColor.r !== color.r || hotColor.g !== color.g) return null;
      return { r: color.r, g: color.g, b: color.b };
    }, dev), 10000);
    if (!(rendered.r > 0.8 && rendered.g < 0.4 && rendered.b < 0.4)) throw new Error(`marker colour is ${JSON.stringify(rendered)}, not red`);
    await page.waitForSelector(`#ticker-list li.sev-critical[data-device="${dev}"]`, { timeout: 10000 });
    const first = await page.getAttribute('#ticker-list li:first-child', 'class');
    if (!/sev-critical/.test(first)) throw new Error(`first ticker row is "${first}", not critical`);
    console.log(`#   publish -> red marker + ticker in ${Date.now() - t0} ms (incl. the position message)`);
    // The row reads the rule's title and the metric's name as the hub's catalog gives them.
    const catalog = await hub.get('/api/v1/catalog', token);
    const alert = (await hub.get('/api/v1/alerts?state=open', token)).find((a) => a.device === dev && a.severity === 'critical');
    const kind = catalog.rule_kinds.find((k) => alert.rule.startsWith(k.prefix));
    const metric = catalog.metrics.find((m) => m.name === alert.metric);
    const row = await page.textContent(`#ticker-list li.sev-critical[data-device="${dev}"]`);
    if (!kind || !metric || !row.includes(kind.label.vi) || !row.includes(metric.label.vi)) {
      throw new Error(`ticker row "${row}" does not read "${kind?.label.vi}" and "${metric?.label.vi}" (rule ${alert.rule})`);
    }
    await shot(page, '03-critical-alert');
  });

  await check('an alert of a rule over time says how its value is taken: a 24-hour rain total', async () => {
    // A slope station of the pack: 120 mm counted at once passes its 24 h and 72 h sums.
    const slope = 'cb-sl-thachan-01';
    await publish(`ioc/${slope}/telemetry`, [{ n: 'rain', u: 'mm', v: 120 }]);
    const row = await waitFor('the landslide alert in the ticker', () => page.$$eval(`#ticker-list li[data-device="${slope}"]`,
      (ls) => ls.map((l) => l.textContent.replace(/\s+/g, ' ')).find((r) => r.includes('tổng 24 giờ')) || null), 15000);
    if (!/Lượng mưa · tổng 24 giờ: 1\d\d(,\d+)? mm >= 100 mm/.test(row)) throw new Error(`ticker row reads "${row}"`);
  });

  await check('a ticker row names the station even when the alert comes before the app knows the name', async () => {
    // The device first reports with its position (the app learns of it, nameless), then gets its
    // name at the hub (no live frame carries names), then breaches: the row reads the name.
    const named = `web-test-named-${process.pid}`;
    await publish(`ioc/${named}/telemetry`, { lat: 22.75, lon: 106.15, pm2_5: 12 });
    await waitFor('the app knows the device', () => page.evaluate((k) => window.iochub.store.devices.has(k), named), 15000);
    const admin = await hub.token();
    const r = await fetch(`${hub.base}/api/v1/devices/${named}`, { method: 'PATCH',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Trạm quan trắc không khí Hòa Chung' }) });
    if (!r.ok) throw new Error(`PATCH answered ${r.status}`);
    await publish(`ioc/${named}/telemetry`, { pm2_5: 260 });
    const row = `#ticker-list li[data-device="${named}"]`;
    await page.waitForSelector(row, { timeout: 15000 });
    await waitFor('the row reads the station name', async () => (await page.textContent(row)).includes('Trạm quan trắc không khí Hòa Chung'), 10000);
  });

  await check('clicking the alert opens the device panel with a chart and its threshold lines', async () => {
    await page.click(`#ticker-list li[data-device="${dev}"]`);
    await page.waitForSelector('#panel:not([hidden]) .chart[data-metric="pm2_5"] canvas', { timeout: 15000 });
    const title = await page.textContent('#panel .panel-key');
    if (title.trim() !== dev) throw new Error(`panel shows ${title}`);
    // A water-level station: three flood levels (info/warning/critical) as lines.
    await page.evaluate(() => window.iochub.select('cb-wl-banggiang-01'));
    await page.waitForSelector('#panel .chart[data-metric="water_level"] canvas', { timeout: 15000 });
    const drawn = await waitFor('threshold lines drawn', () => page.evaluate(() => {
      const c = window.iochub.panel.charts.get('water_level');
      return c && c.plot.thresholdsDrawn >= 3 && c.thresholds.map((t) => `${t.severity}:${t.value}`);
    }), 10000);
    const sevs = new Set(drawn.map((d) => d.split(':')[0]));
    if (!['info', 'warning', 'critical'].every((s) => sevs.has(s))) throw new Error(`thresholds drawn: ${drawn}`);
    await page.waitForTimeout(1200); // let the fly-to settle for the screenshot only
    await shot(page, '04-device-panel');
  });

  if (has('/api/v1/areas') && has('/api/v1/areas/summary')) {
    await check('area selection (an area id, and a circle) gives the right counts', async () => {
      const areas = await hub.get('/api/v1/areas', token);
      const positioned = async () => (await hub.get('/api/v1/devices', token)).filter((d) => d.lat !== null && d.lon !== null);
      const area = areas.features.find((f) => f.properties.level === 'ward') || areas.features[0];
      const expectIn = (devices, pred) => {
        const inside = devices.filter((d) => pred([d.lon, d.lat]));
        return { devices: inside.length, online: inside.filter((d) => d.online).length, offline: inside.filter((d) => !d.online).length };
      };
      const read = () => page.evaluate(() => {
        const g = (k) => Number(document.querySelector(`#areas-body [data-sum="${k}"]`)?.textContent.replace(/\D/g, ''));
        return document.querySelector('#areas-body .area-result [data-sum="devices"]') ? { devices: g('devices'), online: g('online'), offline: g('offline') } : null;
      });
      // The simulated stations keep gaining positions while the check runs: the test counts over
      // a device list taken right after the summary is on screen, and when a station got its
      // position in between, asks for the summary again (a few times at most). Asking shows
      // "Loading…" at once, so a summary read is never the previous one.
      const summarise = async (what, ask, pred, { allStated = false } = {}) => {
        let got, want;
        for (let i = 0; i < 5; i++) {
          await ask();
          got = await waitFor(what, read, 10000);
          want = expectIn(await positioned(), pred);
          if (got.devices === want.devices && (!allStated || got.online + got.offline === got.devices)) return got;
        }
        throw new Error(`${what}: dashboard ${JSON.stringify(got)}, test computed ${JSON.stringify(want)}`);
      };
      await page.click('#areas-toggle');
      // The metrics offered are the hub's (GET /api/v1/catalog), by their Vietnamese names.
      const catalog = await hub.get('/api/v1/catalog', token);
      const offered = await page.$$eval('#areas-body .area-metric option[value]:not([value=""])', (os) => os.map((o) => [o.value, o.textContent.trim()]));
      const named = catalog.area_metrics.map((m) => [m, catalog.metrics.find((x) => x.name === m).label.vi]);
      if (JSON.stringify(offered) !== JSON.stringify(named)) throw new Error(`area metrics ${JSON.stringify(offered)}, the hub's ${JSON.stringify(named)}`);
      await summarise(`area ${area.properties.id}`, async () => {
        await page.selectOption('#areas-body .area-select', '');
        await page.selectOption('#areas-body .area-select', String(area.properties.id));
      }, (p) => pointInGeometry(p, area.geometry), { allStated: true });
      await shot(page, '05-area');
      // A circle of 15 km around the province's centre of devices.
      const devices = await positioned();
      const c = [devices.reduce((s, d) => s + d.lon, 0) / devices.length, devices.reduce((s, d) => s + d.lat, 0) / devices.length];
      await summarise('circle', () => page.evaluate(([center]) => window.iochub.areas.circle(center, 15000), [c]), (p) => haversine(p, c) <= 15000);
      await shot(page, '06-circle');
      await page.click('#areas-body .area-clear');
    });
  } else {
    skip('area selection gives the right counts', 'the hub has no /api/v1/areas + /api/v1/areas/summary yet (openapi.json)');
  }

  await check('the language toggle switches every visible label', async () => {
    // Open the panel and the area tools so their labels are on screen too.
    await page.evaluate((k) => window.iochub.select(k), dev);
    await page.waitForSelector('#panel .chart canvas', { timeout: 10000 });
    if (await page.$('#areas.collapsed')) await page.click('#areas-toggle');
    const collect = () => page.evaluate(() => {
      const out = [];
      const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      for (let n = walk.nextNode(); n; n = walk.nextNode()) {
        const s = n.textContent.trim();
        const el = n.parentElement;
        if (!s || !el || el.closest('[translate="no"], script, style, option:not(:checked)')) continue;
        const r = el.getBoundingClientRect();
        const cs = getComputedStyle(el);
        if (r.width === 0 || r.height === 0 || cs.visibility === 'hidden' || el.closest('[hidden]')) continue;
        out.push(s);
      }
      for (const el of document.querySelectorAll('[title], [placeholder], [aria-label]')) {
        if (el.closest('[hidden], [translate="no"]')) continue;
        for (const a of ['title', 'placeholder', 'aria-label']) if (el.getAttribute(a)) out.push(el.getAttribute(a));
      }
      return out;
    });
    const vi = await collect();
    if (vi.filter((s) => /[ăâđêôơư]|[áàảãạ]/i.test(s)).length < 10) throw new Error('the page does not look Vietnamese to start with');
    await page.click('header.top [data-action=lang]');
    await page.waitForFunction(() => document.documentElement.lang === 'en');
    // The panel re-renders on the switch and loads its charts again: wait until they are drawn
    // (the English "Loading…" gone, a chart canvas there) before reading the page.
    await page.waitForFunction(() => document.querySelector('#panel .chart canvas')
      && !document.querySelector('#panel .panel-charts > p.muted:not(.chart-empty)'), null, { timeout: 10000 });
    const en = await collect();
    const left = [...new Set(en.filter((s) => VI_CHARS.test(s)))];
    await shot(page, '07-english');
    if (left.length) throw new Error(`Vietnamese left in English mode: ${JSON.stringify(left.slice(0, 15))}`);
    const changed = vi.filter((s) => !en.includes(s)).length;
    if (changed < 20) throw new Error(`only ${changed} labels changed`);
    const stored = await page.evaluate(() => localStorage.getItem('iochub.lang'));
    if (stored !== 'en') throw new Error(`language not remembered (localStorage: ${stored})`);
    await page.reload();
    await page.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 20000 });
    if (await page.getAttribute('html', 'lang') !== 'en') throw new Error('English not kept after reload');
    await page.click('header.top [data-action=lang]');
    await page.waitForFunction(() => document.documentElement.lang === 'vi');
  });

  await check('wall mode survives a hub restart: reconnecting state, then recovers and shows new alerts', async () => {
    const wctx = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
    const wall = await wctx.newPage();
    wall.on('pageerror', (e) => pageErrors.push(`wall: ${e.message}`));
    watchCsp(wall, 'wall');
    await wall.goto(`${hub.base}/wall/`);
    await logIn(wall, PASSWORD);
    await wall.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 20000 });
    await waitFor('wall markers', () => wall.evaluate(() => window.iochub.map.featureCount >= 60), 20000);
    await wall.evaluate(() => { window.__booted = performance.timeOrigin; });
    // The wall flies to a critical alert it sees arrive: photograph it at rest, not mid-flight.
    await wall.waitForFunction(() => !window.iochub.map.isMoving() && window.iochub.map.loaded(), null, { timeout: 20000 });
    await shot(wall, '08-wall');
    await hub.stop('SIGTERM');
    await wall.waitForSelector('#banner:not([hidden])', { timeout: 20000 });
    const pill = await wall.textContent('[data-live]');
    if (!/kết nối lại/i.test(pill)) throw new Error(`live pill reads "${pill}" while the hub is down`);
    await shot(wall, '09-wall-reconnecting');
    await hub.start();
    await wall.waitForSelector('#banner', { state: 'hidden', timeout: 40000 });
    await waitFor('the status feed subscribed again', () => wall.evaluate(() => window.iochub.shell.statusFeed?.subscribed), 20000);
    const wdev = `web-test-wall-${process.pid}`;
    await waitFor('MQTT reconnected', () => mq.connected, 20000);
    await publish(`ioc/${wdev}/telemetry`, { lat: 22.6, lon: 106.3, pm2_5: 401.0 });
    await wall.waitForSelector(`#ticker-list li.sev-critical[data-device="${wdev}"]`, { timeout: 20000 });
    await waitFor('the wall marker red', () => wall.evaluate((k) => window.iochub.map.featureStatus(k) === 4, wdev), 15000);
    const same = await wall.evaluate(() => window.__booted === performance.timeOrigin);
    if (!same) throw new Error('the wall page reloaded');
    await shot(wall, '10-wall-recovered');
    await wctx.close();
  });

  await check('session expiry: after the session is gone, an API call lands on the login page with the message', async () => {
    await page.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 20000 });
    if (await page.getAttribute('html', 'lang') !== 'vi') await page.click('header.top [data-action=lang]');
    await page.evaluate(() => fetch('/api/v1/auth/logout', { method: 'POST', credentials: 'same-origin' }));
    await page.evaluate(() => window.iochub.select('cb-wl-banggiang-01'));
    await page.waitForSelector('#login:not([hidden]) .login-msg:not([hidden])', { timeout: 15000 });
    const msg = await page.textContent('.login-msg');
    if (!/phiên đăng nhập đã hết hạn/i.test(msg)) throw new Error(`login message reads "${msg}"`);
    await shot(page, '11-session-expired');
    await logIn(page, PASSWORD);
    await page.waitForSelector('#login', { state: 'hidden', timeout: 15000 });
  });

  await check('first login of a new account: the forced password change, its refusals in Vietnamese, then the console', async () => {
    const admin = await hub.token();
    const issued = await hub.post('/api/v1/users', { username: 'truc-ban', role: 'operator', display_name: 'Trực ban' }, admin);
    if (!issued.temporary_password) throw new Error(`no temporary password: ${JSON.stringify(issued)}`);
    const fctx = await browser.newContext({ viewport: { width: 1600, height: 900 } });
    const first = await fctx.newPage();
    first.on('pageerror', (e) => pageErrors.push(e.message));
    watchCsp(first, 'first login');
    await first.goto(`${hub.base}/`);
    await logIn(first, issued.temporary_password, 'truc-ban');
    const pw = '#login form[data-form=pwchange]';
    await first.waitForSelector(pw, { state: 'visible', timeout: 10000 });
    if (await first.isVisible('#login form:not([data-form]) [name=password]')) throw new Error('the login form is still shown');
    if (await first.isVisible(`${pw} [name=current]`)) throw new Error('asks again for the password just typed');
    await shot(first, '13-forced-password-change');
    const attempt = async (next, confirm, expected) => {
      await first.fill(`${pw} [name=new]`, next);
      await first.fill(`${pw} [name=confirm]`, confirm);
      await first.click(`${pw} button[type=submit]`);
      await waitFor(`the message "${expected}"`, async () => expected.test(await first.textContent(`${pw} .login-msg`)), 10000);
    };
    await attempt('một câu dài dễ nhớ', 'một câu khác hẳn', /không khớp/);
    await attempt('qwerty123456', 'qwerty123456', /quá phổ biến/);
    await shot(first, '14-password-refused');
    await first.fill(`${pw} [name=new]`, 'Sông Bằng mùa lũ 2026');
    await first.fill(`${pw} [name=confirm]`, 'Sông Bằng mùa lũ 2026');
    await first.click(`${pw} button[type=submit]`);
    await first.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 20000 });
    if (await first.isVisible('#login')) throw new Error('login overlay still visible after the change');
    const me = await first.evaluate(() => fetch('/api/v1/auth/me').then((r) => r.json()));
    if (me.must_change_password !== false || me.role !== 'operator') throw new Error(`me: ${JSON.stringify(me)}`);
    await fctx.close();
  });

  // An account issued by the admin with a given password, which it changes at once (the API's
  // forced change), logged in in a browser context of its own.
  const accountPage = async (username, role, extra, shotName) => {
    const admin = await hub.token();
    await hub.post('/api/v1/users', { username, role, display_name: `Cán bộ ${username}`, password: 'tạm thời 12345678', ...extra }, admin);
    const login = await fetch(`${hub.base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password: 'tạm thời 12345678' }) }).then((r) => r.json());
    const changed = await fetch(`${hub.base}/api/v1/auth/password`, { method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${login.token}` },
      body: JSON.stringify({ current: 'tạm thời 12345678', new: PASSWORD }) });
    if (changed.status !== 204) throw new Error(`${username}: password change answered ${changed.status}`);
    const c = await browser.newContext({ viewport: { width: 1600, height: 900 } });
    const pg = await c.newPage();
    pg.on('pageerror', (e) => pageErrors.push(`${shotName}: ${e.message}`));
    watchCsp(pg, shotName);
    await pg.goto(`${hub.base}/`);
    await logIn(pg, PASSWORD, username);
    await pg.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 20000 });
    return { ctx: c, page: pg };
  };

  await check('the alert console: an operator dispatches, the agency\'s handler (another browser) starts and resolves it, the operator\'s screen follows live', async () => {
    const op = await accountPage('dieu-hanh', 'operator', {}, 'operator');
    const handler = await accountPage('xl-nnmt', 'agency_handler', { agency: 'so-nnmt' }, 'handler');
    try {
      // The critical alert of the first checks is still unacknowledged: the strip says so.
      await op.page.waitForSelector('#urgent:not([hidden])', { timeout: 10000 });
      const strip = await op.page.textContent('#urgent');
      if (!/nghiêm trọng chưa được tiếp nhận/.test(strip)) throw new Error(`the strip reads "${strip}"`);
      if (await handler.page.isVisible('#urgent')) throw new Error('an agency handler sees the IOC\'s strip');
      // Heavy rain on a gauge of our own: a warning, routed to the water-resources department.
      const rain = `web-test-rain-${process.pid}`;
      await publish(`ioc/${rain}/telemetry`, { lat: 22.70, lon: 106.20, rain_1h: 62 });
      const admin = await hub.token();
      const alert = await waitFor('the rain alert', async () => (await hub.get(`/api/v1/alerts?device=${rain}`, admin))[0], 15000);
      const row = `#alert-console tr[data-id="${alert.id}"]`;
      await op.page.click('header.top [data-action=console]');
      await op.page.waitForSelector(row, { timeout: 10000 });
      await op.page.click(row);
      await op.page.waitForSelector('#alert-console [data-detail] [data-act=acknowledge]', { timeout: 10000 });
      await shot(op.page, '23-console-operator');
      await op.page.click('#alert-console [data-detail] [data-act=acknowledge]');
      await op.page.waitForSelector('#alert-console [data-detail-state=acknowledged]', { timeout: 10000 });
      await op.page.fill('#alert-console [data-form=dispatch] [name=note]', 'Đề nghị kiểm tra ngay');
      await op.page.click('#alert-console [data-form=dispatch] button[type=submit]');
      await op.page.waitForSelector('#alert-console [data-detail-state=dispatched]', { timeout: 10000 });
      const sent = await hub.get(`/api/v1/alerts/${alert.id}`, admin);
      if (JSON.stringify(sent.agencies) !== '["so-nnmt"]') throw new Error(`dispatched to ${JSON.stringify(sent.agencies)}`);

      // The handler's button counts it; the console opens on what waits for the agency.
      await waitFor('the handler\'s count', async () => (await handler.page.textContent('header.top [data-count=awaiting]')).trim() === '1', 10000);
      await handler.page.click('header.top [data-action=console]');
      await handler.page.waitForSelector(row, { timeout: 10000 });
      const others = await handler.page.$$eval('#alert-console tr[data-id]', (rows) => rows.map((r) => r.dataset.id));
      if (others.some((id) => Number(id) !== alert.id)) throw new Error(`the handler lists ${others}`);
      await handler.page.click(row);
      await handler.page.waitForSelector('#alert-console [data-detail] [data-act=start]', { timeout: 10000 });
      if (await handler.page.isVisible('#alert-console [data-detail] [data-act=acknowledge]')) throw new Error('a handler is offered acknowledge');
      await handler.page.click('#alert-console [data-detail] [data-act=start]');
      await handler.page.waitForSelector('#alert-console [data-detail-state=in_progress]', { timeout: 10000 });
      // the operator's open alert follows, without a reload
      await op.page.waitForSelector('#alert-console [data-detail-state=in_progress]', { timeout: 10000 });
      await handler.page.fill('#alert-console [data-form=comment] [name=text]', 'Đã cử cán bộ kiểm tra trạm đo mưa');
      await handler.page.click('#alert-console [data-form=comment] button[type=submit]');
      await handler.page.waitForSelector('#alert-console .timeline li[data-kind=comment]', { timeout: 10000 });
      await handler.page.click('#alert-console [data-form=resolve] button[type=submit]');
      await handler.page.waitForSelector('#alert-console [data-detail-state=resolved]', { timeout: 10000 });
      await shot(handler.page, '24-console-handler');
      await op.page.waitForSelector('#alert-console [data-detail-state=resolved]', { timeout: 10000 });
      await op.page.waitForSelector(`${row}`, { state: 'detached', timeout: 10000 }); // no longer unresolved
      await op.page.waitForSelector('#alert-console .timeline li[data-kind=comment]', { timeout: 10000 });
      const steps = await op.page.$$eval('#alert-console .timeline li', (li) => li.map((x) => x.dataset.kind));
      const want = ['opened', 'acknowledge', 'dispatch', 'start', 'comment', 'resolve'];
      if (JSON.stringify(steps) !== JSON.stringify(want)) throw new Error(`timeline ${JSON.stringify(steps)}`);
      await shot(op.page, '25-console-operator-followed');
      await op.page.click('#alert-console [data-detail] [data-act=close]');
      await op.page.waitForSelector('#alert-console [data-detail-state=closed]', { timeout: 10000 });
      // The ticker left it, and the map's ring and the ticker's chips count by handling state.
      await op.page.click('#alert-console [data-action=console-close]');
      if (await op.page.$(`#ticker-list li[data-id="${alert.id}"]`)) throw new Error('the closed alert is still in the ticker');
      const chips = await op.page.$$eval('[data-ticker-states] [data-state-count]', (c) => c.map((x) => x.dataset.stateCount));
      if (chips.join() !== 'open,acknowledged,dispatched,in_progress') throw new Error(`ticker chips ${chips}`);
    } finally {
      await op.ctx.close();
      await handler.ctx.close();
    }
  });

  await check('an agency that cannot be reached: the duty screen gets a notice that opens the alert', async () => {
    const admin = await hub.token();
    const closed = await freePort(); // nothing listens there
    await hub.post('/api/v1/agencies', { id: 'xa-vung-cao', name: 'UBND xã vùng cao (mất liên lạc)', kind: 'commune',
      webhook: { url: `http://127.0.0.1:${closed}/hook`, secret: 'bí mật' } }, admin);
    const gauge = `web-test-rain2-${process.pid}`;
    await publish(`ioc/${gauge}/telemetry`, { lat: 22.80, lon: 106.10, rain_1h: 71 });
    const alert = await waitFor('the alert', async () => (await hub.get(`/api/v1/alerts?device=${gauge}`, admin))[0], 15000);
    await hub.post(`/api/v1/alerts/${alert.id}/dispatch`, { agency: 'xa-vung-cao' }, admin);
    const notice = `#notices [data-notice=undelivered][data-alert="${alert.id}"]`;
    await page.waitForSelector(notice, { timeout: 15000 });
    const text = await page.textContent(notice);
    if (!text.includes('xa-vung-cao') || !/không gửi được/.test(text)) throw new Error(`the notice reads "${text}"`);
    await shot(page, '27-notice-undelivered');
    await page.click(`${notice} span`);
    await page.waitForSelector('#alert-console [data-detail] .admin-notice.error', { timeout: 10000 });
    await page.waitForSelector('#alert-console .timeline li[data-kind=delivery_failed]', { timeout: 10000 });
    if (await page.$(notice)) throw new Error('the notice stays after it was opened');
    await page.click('#alert-console [data-action=console-close]');
  });

  await check('the wall at 1600 x 900: the clock fits, and the counts by handling state are shown', async () => {
    const wctx = await browser.newContext({ viewport: { width: 1600, height: 900 } });
    const wall = await wctx.newPage();
    wall.on('pageerror', (e) => pageErrors.push(`wall: ${e.message}`));
    await wall.goto(`${hub.base}/wall/`);
    await logIn(wall, PASSWORD);
    await wall.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 20000 });
    await wall.waitForSelector('[data-ticker-states] [data-state-count=open]', { timeout: 10000 });
    const clock = await wall.$eval('[data-clock]', (el) => { const r = el.getBoundingClientRect(); return { right: r.right, width: r.width, text: el.textContent }; });
    if (!(clock.right <= 1600 && clock.width > 40 && /\d\d:\d\d/.test(clock.text))) throw new Error(`clock ${JSON.stringify(clock)}`);
    const open = await wall.textContent('[data-ticker-states] [data-state-count=open] b');
    if (!(Number(open) >= 1)) throw new Error(`open count ${open}`);
    await wall.waitForFunction(() => !window.iochub.map.isMoving() && window.iochub.map.loaded(), null, { timeout: 20000 });
    await shot(wall, '26-wall-1600');
    await wctx.close();
  });

  await check('a second factor: the login asks for the authenticator code, then opens the console', async () => {
    const admin = await hub.token();
    const pw = 'Trạm bơm Hòa An 2026';
    await hub.post('/api/v1/users', { username: 'hai-lop', role: 'operator', display_name: 'Hai lớp', password: 'Mật khẩu tạm 2026' }, admin);
    const login = await fetch(`${hub.base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'hai-lop', password: 'Mật khẩu tạm 2026' }) });
    const own = (await login.json()).token;
    const call = (p, body) => fetch(`${hub.base}${p}`, { method: 'POST', headers: { authorization: `Bearer ${own}`, 'content-type': 'application/json' }, body: body && JSON.stringify(body) })
      .then(async (r) => { if (!r.ok && r.status !== 204) throw new Error(`${p}: ${r.status} ${await r.text()}`); return r.status === 204 ? null : r.json(); });
    await call('/api/v1/auth/password', { current: 'Mật khẩu tạm 2026', new: pw });
    const { secret } = await call('/api/v1/auth/totp');
    await call('/api/v1/auth/totp/confirm', { code: totpCode(secret, Date.now() / 1000) });
    const tctx = await browser.newContext({ viewport: { width: 1600, height: 900 } });
    const second = await tctx.newPage();
    second.on('pageerror', (e) => pageErrors.push(e.message));
    watchCsp(second, 'second factor');
    await second.goto(`${hub.base}/`);
    await logIn(second, pw, 'hai-lop');
    await second.waitForSelector('#login [data-field=totp]:not([hidden]) [name=totp]', { timeout: 10000 });
    const asks = await second.textContent('#login .login-msg');
    if (!/xác thực hai lớp/.test(asks)) throw new Error(`the login says "${asks}"`);
    await shot(second, '15-second-factor');
    // The confirmation used this step's code: the next one is still within the drift window.
    await second.fill('#login [name=totp]', totpCode(secret, Date.now() / 1000 + 30));
    await second.click('#login button[type=submit]');
    await second.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 20000 });
    const me = await second.evaluate(() => fetch('/api/v1/auth/me').then((r) => r.json()));
    if (me.username !== 'hai-lop' || me.totp_enabled !== true) throw new Error(`me: ${JSON.stringify(me)}`);
    await tctx.close();
  });

  await check('the admin section: an admin locks an account; a viewer is offered no admin actions', async () => {
    await page.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 20000 });
    if (await page.getAttribute('html', 'lang') !== 'vi') await page.click('header.top [data-action=lang]');
    await page.click('header.top [data-action=admin]');
    const row = '#admin [data-table=users] tr[data-user="truc-ban"]';
    await page.waitForSelector(row, { timeout: 10000 });
    await page.click(`${row} button[data-act=lock]`);
    await page.waitForSelector(`${row}[data-state=locked]`, { timeout: 10000 });
    const notice = await page.textContent('#admin .admin-notice');
    if (!/Đã khóa tài khoản/.test(notice)) throw new Error(`the notice reads "${notice}"`);
    const admin = await hub.token();
    const locked = await hub.get('/api/v1/users/truc-ban', admin);
    if (locked.state !== 'locked') throw new Error(`the hub says ${JSON.stringify(locked)}`);
    await shot(page, '16-admin-locked-an-account');
    await page.click('#admin [data-tab=audit]');
    await page.waitForSelector('#admin [data-table=audit] tr[data-action="user.lock"]', { timeout: 10000 });
    const csv = await page.getAttribute('#admin [data-export]', 'href');
    if (!/format=csv/.test(csv)) throw new Error(`export link ${csv}`);
    await shot(page, '17-admin-audit');
    await page.click('#admin [data-action=admin-close]');

    const pw = 'Màn hình tường 2026';
    await hub.post('/api/v1/users', { username: 'xem-tuong', role: 'viewer', display_name: 'Màn hình tường', password: 'Mật khẩu tạm 2026' }, admin);
    const first = await fetch(`${hub.base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'xem-tuong', password: 'Mật khẩu tạm 2026' }) });
    const token = (await first.json()).token;
    const changed = await fetch(`${hub.base}/api/v1/auth/password`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ current: 'Mật khẩu tạm 2026', new: pw }) });
    if (changed.status !== 204) throw new Error(`password change: ${changed.status}`);
    const vctx = await browser.newContext({ viewport: { width: 1600, height: 900 } });
    const viewer = await vctx.newPage();
    viewer.on('pageerror', (e) => pageErrors.push(e.message));
    watchCsp(viewer, 'viewer');
    await viewer.goto(`${hub.base}/`);
    await logIn(viewer, pw, 'xem-tuong');
    await viewer.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 20000 });
    if (await viewer.isVisible('header.top [data-action=admin]')) throw new Error('a viewer is offered the admin section');
    const actions = await viewer.$$eval('button[data-act], #admin:not([hidden])', (els) => els.filter((el) => el.offsetParent !== null).length);
    if (actions !== 0) throw new Error(`${actions} admin actions visible to a viewer`);
    await shot(viewer, '18-viewer-console');
    await vctx.close();
  });

  await check('the admin section: an agency with a contact and a webhook; its secret is never shown back, an edit keeps it', async () => {
    await page.click('header.top [data-action=admin]');
    await page.click('#admin [data-tab=agencies]');
    const form = '#admin [data-form=agency]';
    await page.waitForSelector(`#admin [data-table=agencies] tr[data-agency]`, { timeout: 10000 });
    const area = await page.$eval(`${form} [name=area]`, (s) => [...s.options].map((o) => o.value).find(Boolean));
    if (!area) throw new Error('no area to choose for the agency');
    await page.fill(`${form} [name=id]`, 'ubnd-thu-nghiem');
    await page.fill(`${form} [name=name]`, 'UBND xã Thử Nghiệm');
    await page.selectOption(`${form} [name=kind]`, 'commune');
    await page.selectOption(`${form} [name=area]`, area);
    await page.fill(`${form} [data-contact] [name=c_name]`, 'Văn phòng UBND');
    await page.fill(`${form} [data-contact] [name=c_phone]`, '0206 3999 000');
    await page.fill(`${form} [name=webhook_url]`, 'https://127.0.0.1:9/hook');
    await page.fill(`${form} [name=webhook_secret]`, 'bi-mat-ky-webhook-2026');
    await page.click(`${form} button[type=submit]`);
    const row = '#admin [data-table=agencies] tr[data-agency="ubnd-thu-nghiem"]';
    await page.waitForSelector(`${row} [data-secret-set]`, { timeout: 10000 });
    const admin = await hub.token();
    const added = await hub.get('/api/v1/agencies/ubnd-thu-nghiem', admin);
    if (added.kind !== 'commune' || added.area !== area || added.contacts[0]?.phone !== '0206 3999 000' || added.webhook?.secret_set !== true
      || added.webhook.url !== 'https://127.0.0.1:9/hook') throw new Error(`the hub has ${JSON.stringify(added)}`);
    if ((await page.content()).includes('bi-mat-ky-webhook-2026')) throw new Error('the webhook secret is on the page after saving');
    await shot(page, '19-admin-agencies');
    await page.click(`${row} button[data-act=edit]`);
    if (await page.inputValue(`${form} [name=webhook_secret]`) !== '') throw new Error('the edit form shows a secret');
    await page.fill(`${form} [name=name]`, 'UBND xã Thử Nghiệm (đã sửa)');
    await page.click(`${form} button[type=submit]`);
    await waitFor('the edited name in the list', async () => /đã sửa/.test(await page.textContent(row)), 10000);
    const edited = await hub.get('/api/v1/agencies/ubnd-thu-nghiem', admin);
    if (edited.name !== 'UBND xã Thử Nghiệm (đã sửa)' || edited.webhook?.url !== 'https://127.0.0.1:9/hook' || edited.webhook.secret_set !== true) {
      throw new Error(`after the edit the hub has ${JSON.stringify(edited)}`);
    }
  });

  await check('the admin section: an integrator issued with scope and contact; its API token shown once, working, then revoked', async () => {
    await page.click('#admin [data-tab=accounts]');
    const form = '#admin [data-form=account]';
    await page.waitForSelector('#admin [data-table=users] tr[data-user=admin]', { timeout: 10000 });
    const area = await page.$eval(`${form} [name=areas]`, (s) => s.options[0]?.value);
    await page.fill(`${form} [name=username]`, 'he-thong-mua');
    await page.fill(`${form} [name=display_name]`, 'Hệ thống đo mưa tỉnh');
    await page.selectOption(`${form} [name=role]`, 'integrator');
    await page.selectOption(`${form} [name=areas]`, [area]);
    await page.fill(`${form} [name=contact]`, 'kythuat@example.vn');
    await page.click(`${form} button[type=submit]`);
    await page.waitForSelector('#admin [data-table=users] tr[data-user="he-thong-mua"]', { timeout: 10000 });
    const admin = await hub.token();
    const user = await hub.get('/api/v1/users/he-thong-mua', admin);
    if (user.role !== 'integrator' || JSON.stringify(user.areas) !== JSON.stringify([area]) || user.contact !== 'kythuat@example.vn') {
      throw new Error(`the hub has ${JSON.stringify(user)}`);
    }
    await page.click('#admin [data-tab=tokens]');
    const tform = '#admin [data-form=token]';
    await page.waitForSelector(`${tform} [name=username] option[value="he-thong-mua"]`, { state: 'attached', timeout: 10000 });
    await page.fill(`${tform} [name=name]`, 'Đồng bộ số liệu mưa');
    await page.selectOption(`${tform} [name=username]`, 'he-thong-mua');
    await page.check(`${tform} [name=perm][value=devices_read]`);
    await page.fill(`${tform} [name=days]`, '30');
    await page.click(`${tform} button[type=submit]`);
    await page.waitForSelector('#admin [data-secret]:not([hidden]) [data-token]', { timeout: 10000 });
    const secret = (await page.textContent('#admin [data-token]')).trim();
    const as = (p) => fetch(`${hub.base}${p}`, { headers: { authorization: `Bearer ${secret}` } }).then((r) => r.status);
    if (await as('/api/v1/devices') !== 200) throw new Error('the new token cannot read devices');
    if (await as('/api/v1/users') !== 403) throw new Error('the new token reaches the accounts');
    const listed = await hub.get('/api/v1/tokens', admin);
    const tok = listed.find((x) => x.name === 'Đồng bộ số liệu mưa');
    if (!tok || JSON.stringify(tok.permissions) !== '["devices_read"]' || JSON.stringify(listed).includes(secret)) throw new Error(`the hub lists ${JSON.stringify(listed)}`);
    await shot(page, '20-admin-token-issued');
    const row = `#admin [data-table=tokens] tr[data-token="${tok.id}"]`;
    await page.click(`${row} button[data-act=revoke]`);
    await page.click(`${row} button[data-act=revoke]`);
    await page.waitForSelector(`${row}[data-state=revoked]`, { timeout: 10000 });
    if (await page.isVisible('#admin [data-secret]')) throw new Error('the token is still shown after the revoke');
    if (await as('/api/v1/devices') !== 401) throw new Error('the revoked token still works');
    await page.click('#admin [data-action=admin-close]');
  });

  await check('the reports: issued from the admin section; the printable pages (letterhead, charts, signature, A4 with page numbers) and the issued copy with its hash', async () => {
    if (await page.getAttribute('html', 'lang') !== 'vi') await page.click('header.top [data-action=lang]');
    await page.click('header.top [data-action=admin]');
    await page.click('#admin [data-tab=reports]');
    const form = '#admin [data-form=report]';
    await page.waitForSelector(`${form} select[name=kind] option`, { state: 'attached', timeout: 10000 });
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Ho_Chi_Minh' }).format(new Date());
    await page.selectOption(`${form} select[name=span]`, 'range');
    await page.fill(`${form} input[name=from]`, today);
    await page.fill(`${form} input[name=to]`, today);
    await page.click(`${form} [data-action=issue]`);
    await page.waitForSelector('#admin [data-table=issued] tbody tr td.mono', { timeout: 10000 });
    const notice = await page.textContent('#admin .admin-notice');
    if (!/Đã phát hành/.test(notice)) throw new Error(`the notice reads "${notice}"`);
    await shot(page, '30-admin-reports');
    await page.click('#admin [data-action=admin-close]');

    // The live handling report of today, as printed: the alert console's alert is in it.
    const report = await ctx.newPage();
    report.on('pageerror', (e) => pageErrors.push(e.message));
    watchCsp(report, 'report');
    // The simulated province keeps opening alerts: the page's count lies between the API's
    // answers just before and just after the page was made.
    const handling = async () => (await hub.get(`/api/v1/reports/handling?from=${today}&to=${today}`, await hub.token())).total;
    const before = await handling();
    await report.goto(`${hub.base}/report/?kind=handling&from=${today}&to=${today}`);
    await report.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 20000 });
    const after = await handling();
    const text = await report.textContent('#report');
    for (const want of ['UBND TỈNH CAO BẰNG', 'CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM', 'BÁO CÁO', 'Tình hình tiếp nhận và xử lý cảnh báo', 'GIÁM ĐỐC', 'Nơi nhận']) {
      if (!text.includes(want)) throw new Error(`the report lacks "${want}"`);
    }
    const total = Number(await report.textContent('.kpi b'));
    if (total < before || total > after || total < 1) throw new Error(`the page says ${total} alerts, the API ${before} before it and ${after} after`);
    if (await report.$$eval('svg.chart rect', (r) => r.length) < 1) throw new Error('no bars in the alerts-per-day chart');
    if (await report.$$eval('h2 + table tbody tr', (r) => r.length) < 3) throw new Error('the tables are empty');
    await report.setViewportSize({ width: 1000, height: 1400 });
    await report.screenshot({ path: path.join(ARTIFACTS, '31-report-handling.png'), fullPage: true });
    const pdf = await report.pdf({ preferCSSPageSize: true });
    const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page[^s]/g) || []).length;
    if (pages < 1 || !/\/MediaBox \[0 0 594\.9\d* 841\.9\d*\]/.test(pdf.toString('latin1'))) throw new Error(`the PDF is not A4 (${pages} pages)`);
    fs.writeFileSync(path.join(ARTIFACTS, '31-report-handling.pdf'), pdf);

    // The data-supply report: every demo system, with its four shares.
    await report.goto(`${hub.base}/report/?kind=data-supply&from=${today}&to=${today}`);
    await report.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 20000 });
    const systems = await report.$$eval('h2 + table tbody tr', (r) => r.length);
    if (systems < 4) throw new Error(`${systems} systems in the data-supply report`);
    if (!(await report.textContent('#report')).includes('Mạng trạm quan trắc tài nguyên nước')) throw new Error('the water resources network is missing');
    await report.screenshot({ path: path.join(ARTIFACTS, '32-report-data-supply.png'), fullPage: false });

    // The issued copy: its footer names its version and the hash the hub keeps.
    const issued = await hub.get('/api/v1/reports/issued', await hub.token());
    await report.goto(`${hub.base}/report/?issued=${issued[0].id}`);
    await report.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 20000 });
    const footer = await report.textContent('.issued');
    if (!footer.includes(issued[0].sha256) || !/Bản phát hành số 1/.test(footer)) throw new Error(`the issued footer reads "${footer}"`);
    await report.close();
  });

  await check('the rules page: a mistake named by rule and field, a backtest with the series and the times it would have fired, then saved', async () => {
    if (await page.getAttribute('html', 'lang') !== 'vi') await page.click('header.top [data-action=lang]');
    await page.click('header.top [data-action=admin]');
    await page.click('#admin [data-tab=rules]');
    const pane = '#admin [data-pane=rules]';
    await waitFor('the rules file in the editor', async () => (await page.inputValue(`${pane} textarea`)).includes('[[rules]]'), 10000);
    await page.waitForSelector(`${pane} [data-table=active] tbody tr td.mono`, { timeout: 10000 });
    const file = await page.inputValue(`${pane} textarea`);
    // a typo in the first rule's comparison: the check names the rule and the field
    await page.fill(`${pane} textarea`, file.replace('op = ">="', 'op = "=>"'));
    await page.click(`${pane} [data-action=validate]`);
    await page.waitForSelector(`${pane} .rules-check.error`, { timeout: 10000 });
    const error = await page.textContent(`${pane} .rules-check`);
    if (!/Không hợp lệ/.test(error) || !/trường op/.test(error) || !/flood-l1-/.test(error)) throw new Error(`the check reads "${error}"`);
    // a new rule that fires on the water level the simulator has sent since the hub started
    const added = `${file}\n[[rules]]\nid = "try-level"\nmetric = "water_level"\nop = ">="\nvalue = 0.5\nclear = 0.4\nseverity = "info"\ncategory = "flood"\n`;
    await page.fill(`${pane} textarea`, added);
    await page.selectOption(`${pane} select[name=days]`, '1');
    await page.click(`${pane} [data-action=backtest]`);
    await page.waitForSelector(`${pane} [data-table=backtest]:not([hidden]) button[data-rule="try-level"]`, { timeout: 30000 });
    await page.click(`${pane} [data-table=backtest] button[data-rule="try-level"]`);
    // attached, not "visible": a station whose level did not move draws a flat line, which has
    // no height and so counts as hidden to Playwright
    await page.waitForSelector(`${pane} .rules-chart:not([hidden]) svg polyline.series`, { state: 'attached', timeout: 15000 });
    const points = await page.$eval(`${pane} .rules-chart svg polyline.series`, (l) => l.getAttribute('points').trim().split(/\s+/).length);
    if (points < 2) throw new Error(`the series has ${points} point(s)`);
    const shaded = await page.$$eval(`${pane} .rules-chart svg rect.in-alert`, (r) => r.length);
    if (shaded < 1) throw new Error('no alert interval drawn on the chart');
    await page.$eval(`${pane} .rules-chart`, (el) => el.scrollIntoView());
    await shot(page, '33-admin-rules-backtest');
    await page.click(`${pane} [data-action=save]`);
    await waitFor('the saved notice', async () => /Đã lưu và áp dụng/.test(await page.textContent('#admin .admin-notice')), 10000);
    const active = await hub.get('/api/v1/rules', await hub.token());
    if (!active.some((r) => r.id === 'try-level')) throw new Error('the saved rule is not in force');
    if (!fs.readFileSync(rulesCopy, 'utf8').includes('id = "try-level"')) throw new Error('the file was not written');
    await page.click('#admin [data-action=admin-close]');
  });

  await check('a required second factor: the first login enrols it (secret, code, ten recovery codes), then the console', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iochub-web-totp-'));
    const strict = await new Hub({ http: await freePort(), mqtt: await freePort(), dataDir: dir, extraArgs: ['--no-sim'],
      env: { IOCHUB_REQUIRE_TOTP: 'true' }, log: path.join(ARTIFACTS, 'hub-require-totp.log') }).start();
    const ectx = await browser.newContext({ viewport: { width: 1600, height: 900 } });
    try {
      const enrol = await ectx.newPage();
      enrol.on('pageerror', (e) => pageErrors.push(e.message));
      watchCsp(enrol, 'enrolment');
      await enrol.goto(`${strict.base}/`);
      await logIn(enrol, PASSWORD);
      const card = '#login form[data-form=totp]';
      await enrol.waitForSelector(`${card} [data-step=scan]:not([hidden]) [name=secret]`, { timeout: 10000 });
      const secret = await enrol.inputValue(`${card} [name=secret]`);
      const link = await enrol.getAttribute(`${card} [data-otpauth]`, 'href');
      if (!/^[A-Z2-7]{16,}$/.test(secret) || !link.startsWith('otpauth://totp/') || !link.includes(`secret=${secret}`)) throw new Error(`secret ${secret}, link ${link}`);
      if (!await enrol.isVisible(`${card} [data-qr] svg`)) throw new Error('no QR code to scan');
      await shot(enrol, '21-totp-enrolment');
      await enrol.fill(`${card} [name=code]`, '000000' === totpCode(secret, Date.now() / 1000) ? '111111' : '000000');
      await enrol.click(`${card} button[type=submit]`);
      await waitFor('the wrong code refused', async () => /Mã không đúng/.test(await enrol.textContent(`${card} .login-msg`)), 10000);
      await enrol.fill(`${card} [name=code]`, totpCode(secret, Date.now() / 1000));
      await enrol.click(`${card} button[type=submit]`);
      await enrol.waitForSelector(`${card} [data-step=codes]:not([hidden])`, { timeout: 10000 });
      const codes = await enrol.$$eval(`${card} [data-codes] li`, (li) => li.map((x) => x.textContent.trim()));
      if (codes.length !== 10 || new Set(codes).size !== 10) throw new Error(`recovery codes ${JSON.stringify(codes)}`);
      await shot(enrol, '22-totp-recovery-codes');
      await enrol.click(`${card} [data-action=totp-done]`);
      await enrol.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 20000 });
      const me = await enrol.evaluate(() => fetch('/api/v1/auth/me').then((r) => r.json()));
      if (me.username !== 'admin' || me.totp_enabled !== true) throw new Error(`me: ${JSON.stringify(me)}`);
    } finally {
      await ectx.close();
      await strict.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  await check('a dense network (> 3,000 devices) draws healthy devices as grid cells and a critical one as its own red dot', async () => {
    const N = 3100;
    const sends = [];
    for (let i = 0; i < N; i++) {
      const key = `web-dense-${i}`;
      sends.push(publish(`ioc/${key}/telemetry`, { lat: 22.35 + (i % 62) / 90, lon: 105.4 + Math.floor(i / 62) / 38, pm2_5: 20 }));
      if (sends.length >= 500) await Promise.all(sends.splice(0));
    }
    await Promise.all(sends);
    // No reload: new devices reach the open console through `position` frames.
    await page.evaluate(() => window.iochub.map.fitBounds([[105.3, 22.3], [106.8, 23.1]], { duration: 0 }));
    try {
      await waitFor('the dense devices on the map', () => page.evaluate((n) => window.iochub.map.featureCount >= n, N + 60), 60000, 500);
    } catch (e) {
      const seen = await page.evaluate(async () => {
        const s = window.iochub.store;
        const dense = [...s.devices.values()].filter((d) => d.key.startsWith('web-dense-'));
        const hub = await fetch('/api/v1/devices', { credentials: 'same-origin' }).then((r) => r.json()).catch((err) => String(err));
        return {
          features: window.iochub.map.featureCount,
          store: s.devices.size,
          dense: dense.length,
          denseWithoutPosition: dense.filter((d) => d.lat === null || d.lon === null).length,
          hub: Array.isArray(hub) ? hub.length : hub,
          hubDense: Array.isArray(hub) ? hub.filter((d) => d.key.startsWith('web-dense-')).length : null,
          subscribed: window.iochub.shell.statusFeed?.subscribed,
        };
      });
      throw new Error(`${e.message}: ${JSON.stringify(seen)}`, { cause: e });
    }
    const hot = 'web-dense-1234';
    await publish(`ioc/${hot}/telemetry`, { pm2_5: 300 });
    await waitFor('the dense critical on the map', () => page.evaluate((k) => window.iochub.map.featureStatus(k) === 4, hot), 20000, 200);
    const seen = await waitFor('grid cells and the red dot rendered', () => page.evaluate((k) => {
      const m = window.iochub.map;
      const grid = m.renderedFeatures(['devices-grid']).length;
      const dots = m.renderedFeatures(['devices']).length;
      const red = m.renderedFeatures(['devices-alert']).some((f) => f.properties.key === k);
      return window.iochub.map.dense && grid > 0 && red ? { grid, dots } : null;
    }, hot), 20000, 250);
    if (seen.dots !== 0) throw new Error(`${seen.dots} single dots drawn at province zoom in dense mode`);
    if (seen.grid >= N) throw new Error(`${seen.grid} grid cells for ${N} devices`);
    await shot(page, '12-dense');
  });

  await check('a camera plays live through MSE: H.264 over /ws/video, frames painted, time advancing', async () => {
    const cam = await startCamera();
    await hub.post('/api/v1/cameras', { id: 'web-cam-1', name: 'Cầu Bằng Giang', url: `rtsp://127.0.0.1:${cam.port}/main`, lat: 22.666, lon: 106.258 }, token);
    await page.evaluate(async () => {
      const { playCamera } = await import('/js/video.js');
      const video = document.createElement('video');
      video.id = 'test-camera';
      Object.assign(video.style, { position: 'fixed', right: '10px', bottom: '10px', width: '480px', zIndex: 9999, background: '#000' });
      document.body.append(video);
      window.testCamera = { statuses: [] };
      window.testCamera.player = playCamera(video, 'web-cam-1', { onStatus: (s) => window.testCamera.statuses.push(s) });
    });
    const played = await waitFor('the video playing', () => page.evaluate(() => {
      const v = document.getElementById('test-camera');
      const q = v.getVideoPlaybackQuality();
      return v.currentTime > 2 && q.totalVideoFrames > 25 ? { t: v.currentTime, frames: q.totalVideoFrames, w: v.videoWidth, h: v.videoHeight } : null;
    }), 30000, 250);
    if (played.w !== 320 || played.h !== 240) throw new Error(`picture ${played.w}x${played.h}`);
    // the picture is at the live edge, not buffering behind it
    const lag = await page.evaluate(() => {
      const v = document.getElementById('test-camera');
      return v.buffered.end(v.buffered.length - 1) - v.currentTime;
    });
    if (lag > 1.5) throw new Error(`${lag.toFixed(2)} s behind the newest frame`);
    const online = await page.evaluate(() => window.testCamera.statuses.some((s) => s.type === 'status' && s.state === 'online'));
    if (!online) throw new Error('no online status frame');
    await shot(page, '13-camera-mse');
    await page.evaluate(() => { window.testCamera.player.stop(); document.getElementById('test-camera').remove(); });
  });

  await check('the wall with the demo cameras: 4 tiles playing the sub-streams, names and health over them, a click enlarges one', async () => {
    const wctx = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
    const wall = await wctx.newPage();
    wall.on('pageerror', (e) => pageErrors.push(`wall: ${e.message}`));
    const pick = 'cb-cam-banggiang,cb-cam-hopgiang,cb-cam-maphuc,cb-cam-bangioc';
    await wall.goto(`${hub.base}/wall/?cameras=4&pick=${pick}`);
    await logIn(wall, PASSWORD);
    await wall.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 20000 });
    const tiles = await waitFor('four tiles painting frames', () => wall.evaluate(() => {
      const all = [...document.querySelectorAll('#camera-grid .cam-tile')].map((el) => {
        const v = el.querySelector('video');
        return { id: el.dataset.camera, name: el.querySelector('.cam-name').textContent, state: el.dataset.state,
          frames: v.getVideoPlaybackQuality().totalVideoFrames, t: v.currentTime, w: v.videoWidth };
      });
      return all.length === 4 && all.every((x) => x.frames > 10 && x.t > 1 && x.state === 'online') ? all : null;
    }), 40000, 250);
    if (tiles.map((x) => x.id).join(',') !== pick) throw new Error(`tiles ${JSON.stringify(tiles)}`);
    if (tiles.some((x) => x.w !== 320)) throw new Error(`small tiles play the 320-wide sub-stream: ${JSON.stringify(tiles)}`);
    if (!tiles[0].name.startsWith('Camera cầu Bằng Giang')) throw new Error(`name ${tiles[0].name}`);
    await wall.waitForFunction(() => !window.iochub.map.isMoving() && window.iochub.map.loaded(), null, { timeout: 20000 });
    await shot(wall, '30-wall-cameras');
    // a click enlarges the tile over the grid and switches it to the 640-wide main stream
    await wall.click('.cam-tile[data-camera="cb-cam-banggiang"]');
    await waitFor('the enlarged tile on the main stream', () => wall.evaluate(() => {
      const el = document.querySelector('.cam-tile.big');
      const v = el?.querySelector('video');
      return v && v.videoWidth === 640 && v.getVideoPlaybackQuality().totalVideoFrames > 5;
    }), 20000, 250);
    const big = await wall.$eval('.cam-tile.big', (el) => { const r = el.getBoundingClientRect(); const g = el.parentElement.getBoundingClientRect(); return r.width / g.width; });
    if (big < 0.95) throw new Error(`the enlarged tile covers ${big} of the grid`);
    await shot(wall, '31-wall-camera-enlarged');
    await wall.click('.cam-tile.big');
    await waitFor('the grid back', () => wall.evaluate(() => !document.querySelector('.cam-tile.big')), 5000);
    await wctx.close();
  });

  await check('an operator arranges a named wall layout (drag a camera onto a tile, swap two), the wall opens it and follows a later save', async () => {
    await page.click('header.top [data-action=wall-layouts]');
    const sheet = '#wall-layouts';
    await page.waitForSelector(`${sheet} [data-cam="cb-cam-maphuc"]`, { timeout: 15000 });
    await page.fill(`${sheet} input[name=name]`, 'Lũ sông Bằng');
    await page.click(`${sheet} [data-size="4"]`);
    // a camera dragged from the list onto the first tile; another chosen in the second tile
    await page.dragAndDrop(`${sheet} [data-cam="cb-cam-maphuc"]`, `${sheet} [data-i="0"]`);
    await page.selectOption(`${sheet} select[data-tile="1"]`, 'cb-cam-banggiang');
    // the second tile dragged onto the first swaps them
    await page.dragAndDrop(`${sheet} [data-i="1"]`, `${sheet} [data-i="0"]`);
    const shown = await page.$$eval(`${sheet} select[data-tile]`, (els) => els.map((e) => e.value));
    if (shown.join(',') !== 'cb-cam-banggiang,cb-cam-maphuc,,') throw new Error(`tiles before saving: ${shown}`);
    await page.click(`${sheet} button[type=submit]`);
    await page.waitForFunction((s) => document.querySelector(`${s} .admin-notice`)?.textContent.includes('Lũ sông Bằng'), sheet, { timeout: 10000 });
    const path = `/api/v1/wall/layouts/${encodeURIComponent('Lũ sông Bằng')}`;
    const saved = await hub.get(path, token);
    if (JSON.stringify(saved.tiles) !== '["cb-cam-banggiang","cb-cam-maphuc"]' || saved.size !== 4) throw new Error(`saved ${JSON.stringify(saved)}`);
    await waitFor('the tiles\' stills loaded', () => page.$$eval(`${sheet} .cam-still`, (imgs) => imgs.length === 2 && imgs.every((i) => i.complete && i.naturalWidth > 0)), 20000, 250);
    await shot(page, '33-wall-layout-editor');
    await page.click(`${sheet} [data-action=close]`);

    const wctx = await browser.newContext({ viewport: { width: 1920, height: 1080 } });
    const wall = await wctx.newPage();
    wall.on('pageerror', (e) => pageErrors.push(`wall: ${e.message}`));
    await wall.goto(`${hub.base}/wall/?layout=${encodeURIComponent('Lũ sông Bằng')}`);
    await logIn(wall, PASSWORD);
    await wall.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 20000 });
    const tiles = () => wall.$$eval('#camera-grid > .cam-tile', (els) => els.map((el) => el.dataset.camera || ''));
    const first = await tiles();
    if (first.join(',') !== 'cb-cam-banggiang,cb-cam-maphuc,,') throw new Error(`wall tiles ${first}`);
    const heading = await wall.$eval('#cameras h2', (el) => el.textContent);
    if (!heading.includes('Lũ sông Bằng')) throw new Error(`heading ${heading}`);
    await waitFor('the layout\'s tiles playing', () => wall.evaluate(() => [...document.querySelectorAll('#camera-grid video')]
      .every((v) => v.getVideoPlaybackQuality().totalVideoFrames > 5)), 30000, 250);
    await wall.waitForFunction(() => !window.iochub.map.isMoving() && window.iochub.map.loaded(), null, { timeout: 20000 });
    await shot(wall, '34-wall-layout');
    // saved again from elsewhere: one big tile; the wall's next check shows it
    const res = await fetch(`${hub.base}${path}`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ size: 1, tiles: ['cb-cam-bangioc'] }) });
    if (res.status !== 200) throw new Error(`re-save ${res.status}`);
    await wall.evaluate(() => window.iochub.checkLayout());
    const after = await tiles();
    if (after.join(',') !== 'cb-cam-bangioc') throw new Error(`after the re-save: ${after}`);
    await wctx.close();
  });

  await check('cameras on the map, and a gauge\'s card shows the nearest camera live', async () => {
    await page.reload();
    await page.waitForFunction(() => window.iochub?.map && document.querySelectorAll('.camera-marker').length >= 4, null, { timeout: 20000 });
    // the Bằng Giang gauge; its bridge camera stands about 100 m away
    await page.evaluate(() => window.iochub.select('cb-wl-banggiang-03'));
    const near = await waitFor('the nearest camera playing in the card', () => page.evaluate(() => {
      const tile = document.querySelector('#panel .panel-camera .cam-tile');
      const v = tile?.querySelector('video');
      return v && v.getVideoPlaybackQuality().totalVideoFrames > 5
        ? { camera: tile.dataset.camera, heading: document.querySelector('#panel .panel-camera h3').textContent } : null;
    }), 30000, 250);
    if (near.camera !== 'cb-cam-banggiang' || !near.heading.startsWith('Camera gần nhất')) throw new Error(JSON.stringify(near));
    await shot(page, '32-card-nearest-camera');
    // a gauge in Bảo Lạc, 60 km from every camera, has none (and the previous tile is gone)
    await page.evaluate(() => window.iochub.select('cb-wl-gam-02'));
    await page.waitForFunction(() => document.querySelector('#panel .panel-key')?.textContent === 'cb-wl-gam-02'
      && document.querySelector('#panel .panel-charts canvas'), null, { timeout: 15000 });
    if (await page.$('#panel .panel-camera .cam-tile')) throw new Error('a camera shown 60 km away');
    await page.evaluate(() => window.iochub.panel.close());
  });

  await check('an alert\'s card in the console plays the nearest live camera, and stops it when closed', async () => {
    const key = 'cb-wl-banggiang-03';
    await publish(`ioc/${key}/telemetry`, { pm2_5: 300 });
    const id = await waitFor('the gauge\'s alert', () => page.evaluate((k) => [...window.iochub.store.alerts.values()]
      .find((a) => a.device === k && a.rule === 'pm25-very-unhealthy')?.id, key), 20000, 200);
    await page.evaluate((i) => window.iochub.console.open({ id: i }), id);
    const card = '#alert-console .console-camera';
    const near = await waitFor('the camera playing on the card', () => page.evaluate((c) => {
      const tile = document.querySelector(`${c} .cam-tile`);
      const v = tile?.querySelector('video');
      return v && v.getVideoPlaybackQuality().totalVideoFrames > 5 ? { camera: tile.dataset.camera, heading: document.querySelector(`${c} h3`).textContent } : null;
    }, card), 30000, 250);
    if (near.camera !== 'cb-cam-banggiang' || !near.heading.startsWith('Camera gần nhất')) throw new Error(JSON.stringify(near));
    // the card re-renders (its timeline refreshes) and the same video keeps playing
    const before = await page.$eval(`${card} video`, (v) => { window.cardVideo = v; return v.currentTime; });
    await page.evaluate(() => window.iochub.console._refreshDetail());
    await waitFor('the same video advancing', () => page.$eval(`${card} video`, (v, t0) => v === window.cardVideo && v.currentTime > t0 + 0.5, before), 10000, 200);
    await shot(page, '35-alert-card-camera');
    await page.click('#alert-console [data-action=detail-close]');
    if (await page.$(`${card} video`)) throw new Error('the camera still plays after the card closed');
    await page.evaluate(() => window.iochub.console.close());
  });

  if (pageErrors.length) {
    results.push({ name: 'no uncaught page errors', ok: false, error: new Error(pageErrors.slice(0, 5).join(' | ')) });
    console.log(`FAIL - no uncaught page errors: ${pageErrors.slice(0, 5).join(' | ')}`);
  }
}

let fatal = null;
try {
  await main();
} catch (e) {
  fatal = e;
  console.log(`FAIL - setup: ${e.stack || e.message}`);
} finally {
  await mq?.endAsync(true).catch(() => {});
  cameras.forEach((c) => c.kill('SIGKILL'));
  await browser?.close().catch(() => {});
  await hub?.stop().catch(() => {});
  fs.rmSync(dataDir, { recursive: true, force: true });
}
const failed = results.filter((r) => !r.ok).length + (fatal ? 1 : 0);
const passed = results.filter((r) => r.ok && !r.skipped).length;
const skipped = results.filter((r) => r.skipped).length;
console.log(`# web tests took ${((Date.now() - started) / 1000).toFixed(1)} s; screenshots and hub.log in ${ARTIFACTS}`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed ? 1 : 0);
