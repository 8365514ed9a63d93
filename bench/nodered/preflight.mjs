// Checks the environment for start.sh before Node-RED starts, and prints the shell `export`
// lines that the flows need (start.sh evals them). Exits non-zero with one clear line on stderr
// when something is missing or unreachable, so a caller never waits on a Node-RED that cannot work.
//
// Env: FLOW (bare|durable), NR_PORT, MQTT_PORT, MQTT_HOST (127.0.0.1), QOS (0), and for durable
// PG_URL (postgres://user:pass@host:port/db) or PG_PORT (+ PGHOST 127.0.0.1, PGUSER postgres,
// PGDATABASE postgres, PGPASSWORD). NR_WAIT_S (10): how long to wait for the broker and PostgreSQL.
// NR_SKIP_SCHEMA=1 skips applying schema.sql (it is idempotent, so the default applies it).
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

function die(message) {
    process.stderr.write(`start.sh: ${message}\n`);
    process.exit(1);
}

function port(name, value) {
    const n = Number(value);
    if (!value || !Number.isInteger(n) || n <= 0 || n > 65535) die(`${name} must be a TCP port (got '${value ?? ""}')`);
    return n;
}

const env = process.env;
const flow = env.FLOW || "bare";
if (flow !== "bare" && flow !== "durable") die(`FLOW must be 'bare' or 'durable' (got '${flow}')`);
const nrPort = port("NR_PORT", env.NR_PORT);
const mqttPort = port("MQTT_PORT", env.MQTT_PORT);
const mqttHost = env.MQTT_HOST || "127.0.0.1";
const qos = env.QOS ?? "0";
if (!["0", "1", "2"].includes(qos)) die(`QOS must be 0, 1 or 2 (got '${qos}')`);
const waitMs = 1000 * Number(env.NR_WAIT_S || 10);
const deadline = Date.now() + waitMs;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function tcpOpen(host, p) {
    return new Promise((resolve) => {
        const s = net.connect({ host, port: p });
        const done = (ok) => { s.destroy(); resolve(ok); };
        s.setTimeout(1000, () => done(false));
        s.once("connect", () => done(true));
        s.once("error", () => done(false));
    });
}

function portFree(p) {
    return new Promise((resolve) => {
        const srv = net.createServer();
        srv.once("error", () => resolve(false));
        srv.listen({ host: env.NR_HOST || "127.0.0.1", port: p }, () => srv.close(() => resolve(true)));
    });
}

async function waitTcp(what, host, p) {
    for (;;) {
        if (await tcpOpen(host, p)) return;
        if (Date.now() > deadline) die(`${what} at ${host}:${p} is not accepting connections (waited ${waitMs / 1000} s)`);
        await sleep(200);
    }
}

const exportsOut = { FLOW: flow, NR_PORT: String(nrPort), MQTT_PORT: String(mqttPort), MQTT_HOST: mqttHost, QOS: qos };

if (!(await portFree(nrPort))) die(`NR_PORT ${nrPort} is already in use`);
await waitTcp("the MQTT broker", mqttHost, mqttPort);

if (flow === "durable") {
    let pg;
    if (env.PG_URL) {
        let u;
        try { u = new URL(env.PG_URL); } catch { die(`PG_URL is not a URL: '${env.PG_URL}'`); }
        if (u.protocol !== "postgres:" && u.protocol !== "postgresql:") die(`PG_URL must be postgres://... (got '${u.protocol}')`);
        pg = {
            PGHOST: decodeURIComponent(u.hostname) || "127.0.0.1",
            PGPORT: u.port || "5432",
            PGUSER: decodeURIComponent(u.username) || env.PGUSER || "postgres",
            PGPASSWORD: decodeURIComponent(u.password) || env.PGPASSWORD || "",
            PGDATABASE: decodeURIComponent(u.pathname.replace(/^\//, "")) || "postgres",
        };
    } else if (env.PG_PORT) {
        pg = {
            PGHOST: env.PGHOST || "127.0.0.1",
            PGPORT: String(port("PG_PORT", env.PG_PORT)),
            PGUSER: env.PGUSER || "postgres",
            PGPASSWORD: env.PGPASSWORD || "",
            PGDATABASE: env.PGDATABASE || "postgres",
        };
    } else {
        die("FLOW=durable needs PG_URL or PG_PORT");
    }
    Object.assign(exportsOut, pg);
    await waitTcp("PostgreSQL", pg.PGHOST, Number(pg.PGPORT));
    const { Client } = require("pg");
    const config = { host: pg.PGHOST, port: Number(pg.PGPORT), user: pg.PGUSER, password: pg.PGPASSWORD, database: pg.PGDATABASE };
    for (;;) {
        const client = new Client(config);
        try {
            await client.connect();
            if (env.NR_SKIP_SCHEMA !== "1") await client.query(fs.readFileSync(path.join(here, "schema.sql"), "utf8"));
            await client.query("SELECT device, metric, ts, value FROM nodered.readings LIMIT 0");
            await client.end();
            break;
        } catch (err) {
            await client.end().catch(() => {});
            // 57P03: the database system is starting up
            if (err.code === "57P03" && Date.now() < deadline) { await sleep(200); continue; }
            die(`PostgreSQL ${pg.PGUSER}@${pg.PGHOST}:${pg.PGPORT}/${pg.PGDATABASE}: ${err.message}`);
        }
    }
}

const q = (v) => `'${String(v).replace(/'/g, `'\\''`)}'`;
for (const [k, v] of Object.entries(exportsOut)) process.stdout.write(`export ${k}=${q(v)}\n`);
