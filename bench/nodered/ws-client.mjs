// Minimal alert client for checks by hand: connects to ws://$NR_HOST:$NR_PORT/alerts and prints
// one line per frame: latency in ms (receive time - bt of the first record) and the frame.
// Stops after COUNT frames (default: never) or TIMEOUT_S seconds (default: never); exit 1 on
// a timeout before COUNT frames. Frames for the readiness probe (bn "nr-ready:") are skipped.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const WebSocket = require("ws");

const env = process.env;
const url = `ws://${env.NR_HOST || "127.0.0.1"}:${env.NR_PORT}/alerts`;
const count = Number(env.COUNT || 0);
let seen = 0;

const ws = new WebSocket(url);
ws.on("open", () => process.stderr.write(`ws-client: connected to ${url}\n`));
ws.on("error", (err) => { process.stderr.write(`ws-client: ${err.message}\n`); process.exit(1); });
ws.on("close", () => process.exit(count && seen < count ? 1 : 0));
ws.on("message", (data, isBinary) => {
    const now = Date.now();
    const text = data.toString();
    let pack;
    try { pack = JSON.parse(text); } catch { pack = null; }
    if (Array.isArray(pack) && pack[0]?.bn === "nr-ready:") return;
    const bt = Array.isArray(pack) && typeof pack[0]?.bt === "number" ? pack[0].bt : NaN;
    const latency = Number.isFinite(bt) ? (now - bt * 1000).toFixed(3) : "?";
    process.stdout.write(`${latency} ms ${isBinary ? "binary" : "text"} ${text}\n`);
    if (count && ++seen >= count) ws.close();
});
if (env.TIMEOUT_S) setTimeout(() => { process.stderr.write("ws-client: timeout\n"); process.exit(1); }, 1000 * Number(env.TIMEOUT_S)).unref();
