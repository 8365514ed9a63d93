// Waits until a Node-RED started by start.sh passes alerts end to end: connects to
// ws://127.0.0.1:$NR_PORT/alerts, publishes an alert pack for device "nr-ready" to
// ioc/nr-ready/telemetry every 200 ms, and exits 0 once that pack comes back on the WebSocket
// (exit 1 after READY_TIMEOUT_S, default 30). With FLOW=durable this stores a few rows for
// device "nr-ready" in nodered.readings; a bench's WebSocket client should ignore bn "nr-ready:".
//
// Env: NR_PORT, MQTT_PORT, MQTT_HOST (127.0.0.1), NR_HOST (127.0.0.1), QOS (0), READY_TIMEOUT_S (30).
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const WebSocket = require("ws");
const mqtt = require("mqtt");

const env = process.env;
const nrHost = env.NR_HOST || "127.0.0.1";
const url = `ws://${nrHost}:${env.NR_PORT}/alerts`;
const timeoutMs = 1000 * Number(env.READY_TIMEOUT_S || 30);
const qos = Number(env.QOS || 0);
const started = Date.now();

function fail(message) {
    process.stderr.write(`ready.mjs: ${message}\n`);
    process.exit(1);
}
if (!env.NR_PORT || !env.MQTT_PORT) fail("NR_PORT and MQTT_PORT must be set");

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function connectWs() {
    for (;;) {
        const ws = await new Promise((resolve) => {
            const s = new WebSocket(url);
            s.once("open", () => resolve(s));
            s.once("error", () => resolve(null));
        });
        if (ws) return ws;
        if (Date.now() - started > timeoutMs) fail(`no WebSocket listener at ${url}`);
        await sleep(200);
    }
}

const ws = await connectWs();
const client = mqtt.connect({ host: env.MQTT_HOST || "127.0.0.1", port: Number(env.MQTT_PORT), clean: true, reconnectPeriod: 500 });
client.on("error", () => {});

ws.on("message", (data) => {
    let pack;
    try { pack = JSON.parse(data.toString()); } catch { return; }
    if (Array.isArray(pack) && pack[0] && pack[0].bn === "nr-ready:") {
        process.stdout.write(`ready: ${url} passed an alert after ${Date.now() - started} ms\n`);
        client.end(true);
        ws.close();
        process.exit(0);
    }
});

const timer = setInterval(() => {
    if (Date.now() - started > timeoutMs) fail(`no alert came back on ${url} within ${timeoutMs / 1000} s`);
    if (!client.connected) return;
    const pack = [{ bn: "nr-ready:", bt: Date.now() / 1000, n: "water_level", v: 99.0 }];
    client.publish("ioc/nr-ready/telemetry", JSON.stringify(pack), { qos });
}, 200);
