// Rough throughput probe (not the benchmark: the real one uses the hub's Rust generator).
// Publishes SenML packs at RATE msg/s for DURATION_S seconds, one in ALERT_EVERY being an alert
// (water_level 99.0), listens on ws://127.0.0.1:$NR_PORT/alerts (in a worker thread, so that
// publishing does not delay the receive timestamps), and prints one JSON line: achieved publish
// rate, alerts sent/received, alert latency percentiles (receive - bt), and the Node-RED
// process's CPU and RSS (from /proc/$NR_PID).
//
// The publisher writes MQTT 3.1.1 PUBLISH packets straight onto one TCP connection (QoS 0 or 1;
// PUBACKs are read and counted), batched per event-loop turn: much cheaper than mqtt.js, so one
// core is enough to offer well over 100k msg/s.
//
// Env: MQTT_PORT, NR_PORT, NR_PID, RATE (10000), DURATION_S (10), ALERT_EVERY (1000), K (1),
//      QOS (0), DEVICES (1000), DRAIN_S (10), MQTT_HOST (127.0.0.1)
import fs from "node:fs";
import net from "node:net";
import { createRequire } from "node:module";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";

const require = createRequire(import.meta.url);
const nowS = () => (performance.timeOrigin + performance.now()) / 1000;

if (!isMainThread) {
    // Alert receiver: reports each latency (ms) to the main thread.
    const WebSocket = require("ws");
    const ws = new WebSocket(workerData.url);
    ws.on("open", () => parentPort.postMessage({ open: true }));
    ws.on("error", (err) => parentPort.postMessage({ error: err.message }));
    ws.on("message", (data) => {
        const t = nowS();
        const p = JSON.parse(data.toString());
        if (p[0].bn !== "nr-ready:") parentPort.postMessage({ latency: (t - p[0].bt) * 1000 });
    });
} else {
    await main();
}

async function main() {
    const env = process.env;
    const rate = Number(env.RATE || 10000);
    const durationS = Number(env.DURATION_S || 10);
    const alertEvery = Number(env.ALERT_EVERY || 1000);
    const k = Number(env.K || 1);
    const qos = Number(env.QOS || 0);
    const devices = Number(env.DEVICES || 1000);
    const drainS = Number(env.DRAIN_S || 10);
    const pid = env.NR_PID;
    if (qos !== 0 && qos !== 1) throw new Error("probe.mjs publishes with QoS 0 or 1 only");

    const proc = (file) => { try { return fs.readFileSync(`/proc/${pid}/${file}`, "utf8"); } catch { return null; } };
    const rssMb = () => {
        const s = pid && proc("status");
        if (!s) return null;
        const kb = (key) => Number((s.match(new RegExp(`^${key}:\\s+(\\d+)`, "m")) || [])[1]);
        return { rss: Math.round(kb("VmRSS") / 1024), hwm: Math.round(kb("VmHWM") / 1024) };
    };
    const cpuTicks = () => {
        const s = pid && proc("stat");
        if (!s) return null;
        const f = s.split(") ")[1].split(" ");
        return Number(f[11]) + Number(f[12]); // utime + stime, clock ticks (100/s)
    };

    // --- receiver
    const latencies = [];
    const worker = new Worker(new URL(import.meta.url), { workerData: { url: `ws://127.0.0.1:${env.NR_PORT}/alerts` } });
    await new Promise((resolve, reject) => {
        worker.on("message", (m) => {
            if (m.open) resolve();
            else if (m.error) reject(new Error(m.error));
            else latencies.push(m.latency);
        });
    });

    // --- publisher: raw MQTT 3.1.1
    const sock = net.connect({ host: env.MQTT_HOST || "127.0.0.1", port: Number(env.MQTT_PORT) });
    sock.setNoDelay(true);
    const remLen = (n) => { const b = []; do { let d = n % 128; n = Math.floor(n / 128); if (n > 0) d |= 128; b.push(d); } while (n > 0); return b; };
    const clientId = Buffer.from(`probe-${process.pid}-${Date.now()}`);
    const connectBody = Buffer.concat([Buffer.from([0, 4]), Buffer.from("MQTT"), Buffer.from([4, 0x02, 0, 0]), Buffer.from([clientId.length >> 8, clientId.length & 255]), clientId]);
    let acked = 0;
    let connacked;
    const connackP = new Promise((r) => { connacked = r; });
    let inbuf = Buffer.alloc(0);
    sock.on("data", (d) => {
        inbuf = inbuf.length ? Buffer.concat([inbuf, d]) : d;
        while (inbuf.length >= 2) {
            const type = inbuf[0] >> 4;
            const len = inbuf[1]; // CONNACK and PUBACK have remaining length 2
            if (inbuf.length < 2 + len) break;
            if (type === 2) connacked(inbuf[3]);
            else if (type === 4) acked++;
            inbuf = inbuf.subarray(2 + len);
        }
    });
    await new Promise((resolve, reject) => { sock.once("connect", resolve); sock.once("error", reject); });
    sock.write(Buffer.concat([Buffer.from([0x10, ...remLen(connectBody.length)]), connectBody]));
    const rc = await connackP;
    if (rc !== 0) throw new Error(`CONNACK ${rc}`);

    const extra = ["rain_1h", "temp", "humidity", "wind", "pressure", "soil", "battery", "rssi", "flow"];
    let tail = "";
    for (let j = 1; j < k; j++) tail += `,{"n":"${extra[(j - 1) % extra.length]}","v":${j + 0.5}}`;
    let packetId = 0;
    function publishPacket(i, alert, bt) {
        const dev = `load-${String(i % devices).padStart(5, "0")}`;
        const topic = Buffer.from(`ioc/${dev}/telemetry`);
        const payload = Buffer.from(`[{"bn":"${dev}:","bt":${bt.toFixed(6)},"n":"water_level","v":${alert ? "99.0" : "1.0"}}${tail}]`);
        const rl = 2 + topic.length + (qos ? 2 : 0) + payload.length;
        const parts = [Buffer.from([qos ? 0x32 : 0x30, ...remLen(rl), topic.length >> 8, topic.length & 255]), topic];
        if (qos) { packetId = (packetId % 65535) + 1; parts.push(Buffer.from([packetId >> 8, packetId & 255])); }
        parts.push(payload);
        return parts;
    }

    const before = rssMb();
    let peak = before?.rss ?? 0;
    const rssTimer = setInterval(() => { const r = rssMb(); if (r && r.rss > peak) peak = r.rss; }, 250);
    let sent = 0;
    let alerts = 0;
    let blocked = 0;
    const total = Math.floor(durationS * rate);
    const t0 = nowS();
    const cpu0 = cpuTicks();
    await new Promise((resolve) => {
        const tick = () => {
            const elapsed = nowS() - t0;
            const due = Math.min(Math.floor(elapsed * rate), total);
            if (sent >= total) return resolve();
            const parts = [];
            const bt = nowS();
            for (let n = 0; sent < due && n < 5000; n++) {
                const alert = sent % alertEvery === alertEvery - 1;
                parts.push(...publishPacket(sent, alert, bt));
                sent++;
                if (alert) alerts++;
            }
            if (parts.length && !sock.write(Buffer.concat(parts))) {
                blocked++;
                sock.once("drain", () => setImmediate(tick));
            } else if (sent < due) {
                setImmediate(tick); // behind schedule: go on at once
            } else {
                setTimeout(tick, 1); // on schedule: do not spin (the probe shares the cores)
            }
        };
        tick();
    });
    while (sock.writableLength > 0) await new Promise((r) => setTimeout(r, 2));
    const pubS = nowS() - t0;
    const cpu1 = cpuTicks();

    const drainEnd = Date.now() + drainS * 1000;
    while ((latencies.length < alerts || (qos && acked < sent)) && Date.now() < drainEnd) await new Promise((r) => setTimeout(r, 50));
    const drainedS = nowS() - t0 - pubS;
    clearInterval(rssTimer);
    const after = rssMb();
    latencies.sort((a, b) => a - b);
    const pct = (q) => (latencies.length ? Number(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))].toFixed(2)) : null);
    console.log(JSON.stringify({
        offered_rate: rate, achieved_pub_rate: Math.round(sent / pubS), sent, k, qos, pubacks: qos ? acked : undefined,
        socket_backpressure_waits: blocked,
        alerts_sent: alerts, alerts_received: latencies.length, drain_s: Number(drainedS.toFixed(2)),
        latency_ms: { p50: pct(0.5), p90: pct(0.9), p99: pct(0.99), max: pct(1) },
        nr_cpu_pct_while_publishing: cpu0 != null && cpu1 != null ? Math.round((cpu1 - cpu0) / pubS) : null,
        nr_rss_before_mb: before?.rss, nr_rss_peak_sampled_mb: peak, nr_rss_after_mb: after?.rss, nr_vmhwm_mb: after?.hwm,
        nr_alive: pid ? after != null : undefined,
    }));
    sock.end(Buffer.from([0xe0, 0]));
    await worker.terminate();
    process.exit(0);
}
