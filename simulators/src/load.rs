//! `iochub-sim load`: a paced MQTT load generator that measures what the hub sustains and, with
//! `--ws`, how long an alert takes from the device to a WebSocket client.
//!
//! - `C` MQTT connections (one rumqttc event loop per connection, each polled in its own task);
//!   the devices `load-00000`, `load-00001`, … are split across them (`device % C`), and every
//!   connection has its own pacer publishing SenML packs of `K` readings to
//!   `ioc/{device}/telemetry`, cycling over its devices.
//! - Pacing: a tick every millisecond sends the messages due (`rate × elapsed − sent`), so the
//!   achieved rate stays steady and a stall is caught up rather than lost; a broker that cannot
//!   keep up blocks the pacer (the client's request channel fills), which lowers the achieved rate.
//! - Readings use real catalog metric names without units and in-range values: `water_level`,
//!   `rain_1h`, `temperature`, `humidity`, `pressure`, `wind_speed`, `pm2_5`, `pm10`, `aqi`,
//!   `battery`, then `discharge`, `rain_24h`, `wind_dir`, `co`, `no2`, `so2`, `o3`,
//!   `soil_moisture`; past those 18 (`K > 18`) the names are `load_x{j}` (not in the catalog,
//!   accepted unchecked). The pack time `bt` (ms precision) is unique per device and message —
//!   the hub deduplicates on (device, metric, ts) — : the wall clock, bumped by 1 ms when a
//!   device would repeat its previous time.
//! - QoS 1: PUBACKs from the broker are counted; `lost` is the number of messages handed to the
//!   client and never acked within the grace period after the run (always 0 for QoS 0).
//!
//! # Alerts and latency
//!
//! `water_level` is 1.0 in every message except every `M`-th (`--alert-every M`), which carries
//! 99.0 with `bt` = its send time. The hub must have a rule for it; `rules/load.toml` holds it:
//!
//! ```toml
//! [[rules]]
//! id = "load-alert"
//! metric = "water_level"
//! op = ">="
//! value = 50
//! severity = "critical"
//! ```
//!
//! (`iochub demo --no-sim --rules rules/load.toml`). An alert opens once per (rule, device) and
//! stays open until it clears, so each breaching message is followed at once by a clearing message
//! for the same device (water level 1.0, 1 ms later), and the device's next breach opens a new
//! alert. With `--ws URL --token T` the generator subscribes to `alerts` and, for every frame with
//! `"state":"open"` for a `load-` device, records `receive time − ts` (the frame's `ts` is the
//! alert's `updated_at`, which is the breaching reading's time when the alert opens), in µs, in an
//! HDR histogram. Both clocks are this machine's system clock: run the hub on the same host, or
//! mind the clock offset.
//!
//! # Hub rate
//!
//! With `--http BASE` (and the token) `BASE/metrics` is scraped before the run, every second
//! during it, when sending stops and after the grace period; `hub_readings_per_s` is the growth of
//! `iochub_ingest_readings_total` (readings committed) over the sending window.
//!
//! The run ends with one JSON line on stdout (see [`Report`]); progress goes to stderr.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use iochub_devices::senml::{Entry, encode};
use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, Packet, QoS};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior};
use tracing::{info, warn};

/// The breaching water level of an alert message (the rule fires at >= 50).
pub const ALERT_VALUE: f64 = 99.0;
/// The water level of every other message.
pub const NORMAL_LEVEL: f64 = 1.0;
/// Device key prefix; keys are `load-00000`, `load-00001`, …
pub const DEVICE_PREFIX: &str = "load-";
/// Largest MQTT packet in either direction.
const MAX_PACKET: usize = 1 << 20;
/// Unacked QoS 1 publishes per connection.
const INFLIGHT: u16 = 1000;
/// Requests a pacer may queue towards its connection's event loop.
const REQUEST_CAPACITY: usize = 10_000;
/// Pacer period.
const TICK: Duration = Duration::from_millis(1);
/// How long past `--duration` a pacer may still send what was due (a short stall is caught up).
const OVERRUN: Duration = Duration::from_millis(250);

/// Metric names with the range their values are drawn from (`base + spread × u`, `u` in [0, 1)).
const METRICS: &[(&str, f64, f64)] = &[
    ("water_level", NORMAL_LEVEL, 0.0),
    ("rain_1h", 0.0, 10.0),
    ("temperature", 20.0, 12.0),
    ("humidity", 60.0, 35.0),
    ("pressure", 1000.0, 15.0),
    ("wind_speed", 0.0, 8.0),
    ("pm2_5", 10.0, 30.0),
    ("pm10", 20.0, 40.0),
    ("aqi", 30.0, 60.0),
    ("battery", 80.0, 20.0),
    ("discharge", 10.0, 90.0),
    ("rain_24h", 0.0, 60.0),
    ("wind_dir", 0.0, 360.0),
    ("co", 0.1, 2.0),
    ("no2", 5.0, 40.0),
    ("so2", 2.0, 20.0),
    ("o3", 20.0, 60.0),
    ("soil_moisture", 20.0, 50.0),
];

/// What to run.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// `mqtt://host:port[?…]`; `client_id` is replaced per connection.
    pub url: String,
    pub devices: usize,
    /// Messages per second, all connections together.
    pub rate: f64,
    pub readings_per_msg: usize,
    pub qos: QoS,
    pub duration: Duration,
    /// Every M-th message breaches (0 = never).
    pub alert_every: u64,
    pub connections: usize,
    pub ws: Option<String>,
    pub token: Option<String>,
    /// `http://host:port` of the hub, for `/metrics`.
    pub http: Option<String>,
    /// How long to wait after sending for acks, alerts and the hub to catch up.
    pub grace: Duration,
    /// MQTT subscriber connections that receive the load back from the broker and measure
    /// publish → subscriber latency (0 = none; more than 1 share `$share/iochub-load/…`).
    pub subscribers: usize,
    /// The WebSocket sends SenML packs (a Node-RED flow's `websocket out`), not hub frames: no
    /// token, no subscription, every pack whose first value breaches is an alert.
    pub ws_senml: bool,
    /// The hub counter whose growth is `hub_readings_per_s`.
    pub hub_metric: String,
    /// Print a progress line every second on stderr.
    pub progress: bool,
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Latency {
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
    pub count: u64,
}

/// The final JSON line.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Wall clock (Unix ms) when sending started and when it stopped, to line the run up with
    /// what another observer sampled (e.g. rows counted in a database).
    pub started_at_ms: i64,
    pub send_ended_at_ms: i64,
    pub target_msg_per_s: f64,
    pub devices: usize,
    pub connections: usize,
    pub qos: u8,
    pub readings_per_msg: usize,
    pub duration_s: f64,
    pub sent_messages: u64,
    pub sent_readings: u64,
    pub achieved_msg_per_s: f64,
    pub achieved_readings_per_s: f64,
    /// QoS 1 publishes the broker acked.
    pub acked: u64,
    /// QoS 1 publishes never acked within the grace period (0 for QoS 0).
    pub lost: u64,
    /// Messages the client wrote to the broker connection (the rest of `sent_messages` were
    /// still queued in the client when the run ended).
    pub written: u64,
    pub connection_errors: u64,
    /// Breaching messages sent (alerts the hub should open).
    pub alerts_expected: u64,
    /// `alert` frames with `"state":"open"` for `load-` devices.
    pub alerts_received: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<Latency>,
    /// Readings committed per second over the sending window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hub_readings_per_s: Option<f64>,
    /// Readings committed from start to the end of the grace period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hub_readings_committed: Option<u64>,
    /// `sent_readings − hub_readings_committed` (negative: other sources also published).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hub_missing_readings: Option<i64>,
    /// Readings the hub owes and had not committed by the end of the grace period: those of
    /// every message the broker acked (QoS 1; a message still queued in the client was never
    /// acknowledged, so it is not owed), or of every message sent (QoS 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hub_lost_readings: Option<u64>,
    /// `iochub_ingest_unacked_messages` when sending stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hub_unacked_at_end: Option<f64>,
    /// Seconds after sending stopped until the hub had committed every sent reading (absent when
    /// it did not within the grace period).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hub_drain_s: Option<f64>,
    /// Messages the subscribers received (`--subscribers`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_received: Option<u64>,
    /// Messages received per second over the sending window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_msg_per_s: Option<f64>,
    /// Publish → subscriber latency of every received message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_latency_ms: Option<Latency>,
}

// ---------------------------------------------------------------------------------------------
// Pure parts: pacing, names, payloads.

/// How many messages are due after `elapsed` at `rate` msg/s when `sent` already went out.
pub fn due(rate: f64, elapsed: Duration, sent: u64) -> u64 {
    let target = (rate * elapsed.as_secs_f64()).floor();
    if target <= 0.0 {
        return 0;
    }
    (target as u64).saturating_sub(sent)
}

/// The device key of index `i`.
pub fn device_key(i: usize) -> String {
    format!("{DEVICE_PREFIX}{i:05}")
}

/// The metric names of a `k`-reading message.
pub fn metric_names(k: usize) -> Vec<String> {
    (0..k)
        .map(|j| match METRICS.get(j) {
            Some((name, _, _)) => (*name).to_owned(),
            None => format!("load_x{j}"),
        })
        .collect()
}

/// A value in `[0, 1)` that varies with the message and the metric, deterministically.
fn jitter(seq: u64, j: usize) -> f64 {
    let mut x = seq
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add((j as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9));
    x ^= x >> 31;
    x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 29;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// The SenML pack of one message: `names[0]` (`water_level`) gets `water_level`, the others an
/// in-range value; values are rounded to 2 decimals to keep packs small.
pub fn build_payload(
    device: &str,
    ts_ms: i64,
    names: &[String],
    water_level: f64,
    seq: u64,
) -> String {
    let values: Vec<f64> = names
        .iter()
        .enumerate()
        .map(|(j, _)| match METRICS.get(j) {
            Some(_) if j == 0 => water_level,
            Some((_, base, spread)) => ((base + spread * jitter(seq, j)) * 100.0).round() / 100.0,
            None => ((j as f64 + jitter(seq, j)) * 100.0).round() / 100.0,
        })
        .collect();
    let entries: Vec<Entry<'_>> = names
        .iter()
        .zip(&values)
        .map(|(n, &value)| Entry {
            metric: n,
            unit: "",
            value,
        })
        .collect();
    encode(device, ts_ms, &entries)
}

/// The next unique time of a device whose last message had `last` (ms).
pub fn next_ts(now_ms: i64, last: i64) -> i64 {
    if now_ms > last { now_ms } else { last + 1 }
}

/// MQTT options for connection `name`: the URL's broker with its own `client_id`.
pub fn mqtt_options(url: &str, name: &str) -> anyhow::Result<MqttOptions> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut pairs: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("client_id="))
        .map(str::to_owned)
        .collect();
    pairs.push(format!(
        "client_id=iochub-load-{}-{name}",
        std::process::id()
    ));
    let mut opts = MqttOptions::parse_url(format!("{base}?{}", pairs.join("&")))
        .with_context(|| format!("invalid MQTT URL {url:?}"))?;
    opts.set_keep_alive(Duration::from_secs(30))
        .set_clean_session(true)
        .set_inflight(INFLIGHT)
        .set_request_channel_capacity(REQUEST_CAPACITY)
        .set_max_packet_size(MAX_PACKET, MAX_PACKET);
    Ok(opts)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// Percentiles of a µs histogram, in ms.
pub fn latency_of(h: &Histogram<u64>) -> Latency {
    let ms = |us: u64| us as f64 / 1000.0;
    Latency {
        p50: ms(h.value_at_quantile(0.5)),
        p99: ms(h.value_at_quantile(0.99)),
        p999: ms(h.value_at_quantile(0.999)),
        max: ms(h.max()),
        mean: (h.mean()).round() / 1000.0,
        count: h.len(),
    }
}

/// Readings the hub must commit: those of every broker-acked message with QoS 1 (nothing
/// acknowledged may be lost), of every sent message with QoS 0 (best effort).
pub fn owed_readings(qos: QoS, sent_readings: u64, acked: u64, k: u64) -> u64 {
    match qos {
        QoS::AtMostOnce => sent_readings,
        _ => acked.saturating_mul(k).min(sent_readings),
    }
}

/// The pack time `bt` of a SenML payload in ms, found without parsing the whole pack (a
/// subscriber at 200k msg/s must stay cheaper than the broker).
pub fn pack_time_ms(payload: &[u8]) -> Option<i64> {
    const KEY: &[u8] = b"\"bt\":";
    let at = payload.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let rest = &payload[at..];
    let end = rest
        .iter()
        .position(|b| !(b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E')))
        .unwrap_or(rest.len());
    let secs: f64 = std::str::from_utf8(&rest[..end])
        .ok()?
        .trim()
        .parse()
        .ok()?;
    secs.is_finite().then(|| (secs * 1000.0).round() as i64)
}

/// Latency in µs of something received at `received_us` (µs) that was sent at `sent_ms` (ms),
/// at least 1 (the histogram's floor). Both are this machine's wall clock; `sent_ms` is the
/// send time truncated to the ms, so every path measured this way (broker, hub, Node-RED)
/// carries the same 0–1 ms bias.
pub fn latency_us(received_us: i64, sent_ms: i64) -> u64 {
    received_us
        .saturating_sub(sent_ms.saturating_mul(1000))
        .max(1) as u64
}

/// An alert in a SenML pack sent back by a flow: `(device, sent_ms)` when the first value
/// breaches and the device is one of ours.
pub fn senml_alert(text: &str) -> Option<(String, i64)> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    let first = v.as_array()?.first()?;
    let device = first.get("bn")?.as_str()?.trim_end_matches(['/', ':']);
    let value = first.get("v")?.as_f64()?;
    let bt = first.get("bt")?.as_f64()?;
    (device.starts_with(DEVICE_PREFIX) && value >= 50.0)
        .then(|| (device.to_owned(), (bt * 1000.0).round() as i64))
}

// ---------------------------------------------------------------------------------------------
// Prometheus scraping over plain HTTP/1.1.

/// One scrape of the hub's ingest counters.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct HubSample {
    pub readings: f64,
    pub unacked: f64,
}

/// Sums the samples of `name` (any labels) in Prometheus text.
pub fn prom_value(text: &str, name: &str) -> Option<f64> {
    let mut found = None;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(name) else {
            continue;
        };
        let rest = if let Some(r) = rest.strip_prefix('{') {
            match r.split_once('}') {
                Some((_, after)) => after,
                None => continue,
            }
        } else if rest.starts_with(' ') {
            rest
        } else {
            continue;
        };
        if let Some(v) = rest
            .split_whitespace()
            .next()
            .and_then(|v| v.parse::<f64>().ok())
        {
            *found.get_or_insert(0.0) += v;
        }
    }
    found
}

/// Decodes a `Transfer-Encoding: chunked` body.
fn dechunk(body: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(body.len());
    let mut rest = body;
    loop {
        let eol = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .context("truncated chunk size")?;
        let size_text = std::str::from_utf8(&rest[..eol])?;
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .context("bad chunk size")?;
        rest = &rest[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        if rest.len() < size {
            bail!("truncated chunk");
        }
        out.extend_from_slice(&rest[..size]);
        rest = rest.get(size + 2..).unwrap_or(&[]);
    }
}

/// `GET {base}{path}` with a bearer token; `base` is `http://host:port[/prefix]`.
async fn http_get(base: &str, path: &str, token: Option<&str>) -> anyhow::Result<String> {
    let rest = base
        .strip_prefix("http://")
        .context("--http must be an http:// URL")?;
    let (authority, prefix) = match rest.split_once('/') {
        Some((a, p)) => (a, format!("/{}", p.trim_end_matches('/'))),
        None => (rest, String::new()),
    };
    let prefix = if prefix == "/" { String::new() } else { prefix };
    let addr = if authority.contains(':') {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let fetch = async {
        let mut stream = tokio::net::TcpStream::connect(&addr).await?;
        let auth = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        let req = format!(
            "GET {prefix}{path} HTTP/1.1\r\nHost: {authority}\r\n{auth}Accept: text/plain\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(req.as_bytes()).await?;
        let mut buf = Vec::new();
        stream.read_to_end(&mut buf).await?;
        anyhow::Ok(buf)
    };
    let buf = tokio::time::timeout(Duration::from_secs(5), fetch)
        .await
        .context("HTTP request timed out")??;
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("no HTTP header end")?;
    let head = std::str::from_utf8(&buf[..split])?;
    let body = &buf[split + 4..];
    let status = head.lines().next().unwrap_or("");
    if status.split_whitespace().nth(1) != Some("200") {
        bail!("GET {base}{path}: {status}");
    }
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_vec()
    };
    Ok(String::from_utf8_lossy(&body).into_owned())
}

async fn scrape(base: &str, token: Option<&str>, metric: &str) -> anyhow::Result<HubSample> {
    let text = http_get(base, "/metrics", token).await?;
    Ok(HubSample {
        readings: prom_value(&text, metric).unwrap_or(0.0),
        unacked: prom_value(&text, "iochub_ingest_unacked_messages").unwrap_or(0.0),
    })
}

// ---------------------------------------------------------------------------------------------
// The run.

#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    sent_readings: AtomicU64,
    acked: AtomicU64,
    written: AtomicU64,
    conn_errors: AtomicU64,
    alerts_expected: AtomicU64,
    alerts_received: AtomicU64,
    sub_received: AtomicU64,
    /// Global sequence of regular messages, for `--alert-every`.
    seq: AtomicU64,
}

struct Shared {
    counters: Counters,
    latency: Mutex<Histogram<u64>>,
    sub_latency: Mutex<Histogram<u64>>,
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

fn check(opts: &LoadOptions) -> anyhow::Result<()> {
    if opts.devices == 0 {
        bail!("--devices must be at least 1");
    }
    if !(opts.rate.is_finite() && opts.rate > 0.0) {
        bail!("--rate must be a positive number");
    }
    if opts.readings_per_msg == 0 {
        bail!("--readings-per-msg must be at least 1");
    }
    if opts.connections == 0 {
        bail!("--connections must be at least 1");
    }
    if opts.duration.is_zero() {
        bail!("--duration must be positive");
    }
    if opts.ws.is_some() && opts.token.is_none() && !opts.ws_senml {
        bail!("--ws needs --token (or --ws-senml)");
    }
    Ok(())
}

/// Runs the load until `duration` passes (or `shutdown` turns true), waits up to `grace` for the
/// stragglers and returns the report.
pub async fn run(opts: LoadOptions, shutdown: watch::Receiver<bool>) -> anyhow::Result<Report> {
    check(&opts)?;
    let shared = Arc::new(Shared {
        counters: Counters::default(),
        latency: Mutex::new(new_histogram()),
        sub_latency: Mutex::new(new_histogram()),
    });
    let stop_loops = Arc::new(AtomicBool::new(false));
    let token = opts.token.clone();

    // WebSocket first, so that no alert is missed.
    let mut ws_task = None;
    if let Some(url) = &opts.ws {
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(ws_listen(
            url.clone(),
            token.clone(),
            opts.ws_senml,
            shared.clone(),
            ready_tx,
        ));
        match tokio::time::timeout(Duration::from_secs(10), ready_rx).await {
            Ok(Ok(Ok(()))) => info!(url, "subscribed to alerts"),
            Ok(Ok(Err(e))) => bail!("WebSocket {url}: {e}"),
            Ok(Err(_)) => bail!("WebSocket {url}: listener ended before subscribing"),
            Err(_) => bail!("WebSocket {url}: no subscription confirmation within 10 s"),
        }
        ws_task = Some(task);
    }

    // Subscribers next, for the same reason.
    let mut loops = JoinSet::new();
    let mut sub_clients = Vec::with_capacity(opts.subscribers);
    for s in 0..opts.subscribers {
        let topic = if opts.subscribers > 1 {
            "$share/iochub-load/ioc/+/telemetry"
        } else {
            "ioc/+/telemetry"
        };
        let (client, eventloop) =
            AsyncClient::new(mqtt_options(&opts.url, &format!("sub-{s}"))?, 10);
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        loops.spawn(subscribe_loop(
            client.clone(),
            eventloop,
            topic,
            opts.qos,
            shared.clone(),
            stop_loops.clone(),
            ready_tx,
        ));
        match tokio::time::timeout(Duration::from_secs(10), ready_rx).await {
            Ok(Ok(())) => {}
            _ => bail!("subscriber {s} to {} not subscribed within 10 s", opts.url),
        }
        sub_clients.push(client);
    }

    // Connections.
    let mut clients = Vec::with_capacity(opts.connections);
    let mut connected = Vec::new();
    for c in 0..opts.connections {
        let (client, eventloop) =
            AsyncClient::new(mqtt_options(&opts.url, &c.to_string())?, REQUEST_CAPACITY);
        let (up_tx, up_rx) = tokio::sync::oneshot::channel();
        loops.spawn(poll_loop(
            eventloop,
            shared.clone(),
            stop_loops.clone(),
            up_tx,
        ));
        clients.push(client);
        connected.push(up_rx);
    }
    for (c, up) in connected.into_iter().enumerate() {
        match tokio::time::timeout(Duration::from_secs(10), up).await {
            Ok(Ok(())) => {}
            _ => bail!("MQTT connection {c} to {} not up within 10 s", opts.url),
        }
    }
    info!(connections = opts.connections, url = %opts.url, "connected");

    let base = opts.http.clone();
    let scrape_now = |b: &Option<String>| {
        let b = b.clone();
        let t = token.clone();
        let metric = opts.hub_metric.clone();
        async move {
            match b {
                Some(b) => match scrape(&b, t.as_deref(), &metric).await {
                    Ok(s) => Some((Instant::now(), s)),
                    Err(e) => {
                        warn!(error = %e, "scraping /metrics failed");
                        None
                    }
                },
                None => None,
            }
        }
    };
    let hub_start = scrape_now(&base).await;
    if base.is_some() && hub_start.is_none() {
        bail!("cannot scrape the hub's /metrics at the start (check --http and --token)");
    }

    // Pacers.
    let names = Arc::new(metric_names(opts.readings_per_msg));
    let start = Instant::now();
    let started_at_ms = now_ms();
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut pacers = JoinSet::new();
    let per_conn_rate = opts.rate / opts.connections as f64;
    for (c, client) in clients.iter().enumerate() {
        let devices: Vec<usize> = (c..opts.devices).step_by(opts.connections).collect();
        if devices.is_empty() {
            continue;
        }
        pacers.spawn(pace(Pacer {
            client: client.clone(),
            devices,
            names: names.clone(),
            rate: per_conn_rate,
            qos: opts.qos,
            alert_every: opts.alert_every,
            start,
            duration: opts.duration,
            shared: shared.clone(),
            stop: stop_rx.clone(),
        }));
    }

    // Progress and Ctrl-C until the pacers are done.
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ticker.tick().await;
    let mut shutdown = shutdown;
    let mut last = (0u64, 0u64, hub_start.map(|(_, s)| s.readings));
    let mut last_sub = 0u64;
    let mut pacers_left = pacers.len();
    while pacers_left > 0 {
        tokio::select! {
            done = pacers.join_next() => {
                if let Some(Err(e)) = done {
                    warn!(error = %e, "pacer failed");
                }
                pacers_left -= 1;
            }
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    info!("interrupted: stopping the load");
                    let _ = stop_tx.send(true);
                }
            }
            _ = ticker.tick() => {
                let c = &shared.counters;
                let sent = c.sent.load(Ordering::Relaxed);
                let readings = c.sent_readings.load(Ordering::Relaxed);
                let mut line = format!(
                    "[{:>5.1}s] sent {:>7} msg/s {:>8} readings/s | acked {} | alerts {}/{}",
                    start.elapsed().as_secs_f64(),
                    sent - last.0,
                    readings - last.1,
                    c.acked.load(Ordering::Relaxed),
                    c.alerts_received.load(Ordering::Relaxed),
                    c.alerts_expected.load(Ordering::Relaxed),
                );
                if opts.ws.is_some() {
                    let h = shared.latency.lock().unwrap_or_else(|e| e.into_inner());
                    if !h.is_empty() {
                        line.push_str(&format!(" p99 {:.1} ms", h.value_at_quantile(0.99) as f64 / 1000.0));
                    }
                }
                if opts.subscribers > 0 {
                    let got = c.sub_received.load(Ordering::Relaxed);
                    let h = shared.sub_latency.lock().unwrap_or_else(|e| e.into_inner());
                    line.push_str(&format!(
                        " | sub {:>7} msg/s p99 {:.2} ms",
                        got - last_sub,
                        h.value_at_quantile(0.99) as f64 / 1000.0
                    ));
                    last_sub = got;
                }
                if base.is_some()
                    && let Some((_, s)) = scrape_now(&base).await
                {
                    if let Some(prev) = last.2 {
                        line.push_str(&format!(" | hub {:.0} readings/s unacked {}", s.readings - prev, s.unacked));
                    }
                    last.2 = Some(s.readings);
                }
                last.0 = sent;
                last.1 = readings;
                if opts.progress {
                    eprintln!("{line}");
                }
            }
        }
    }
    let send_elapsed = start.elapsed().as_secs_f64().max(1e-9);
    let hub_end = scrape_now(&base).await;
    let sub_at_end = shared.counters.sub_received.load(Ordering::Relaxed);
    let send_ended_at_ms = now_ms();

    // Grace: acks, alerts, the hub's commits.
    let c = &shared.counters;
    let sent = c.sent.load(Ordering::Relaxed);
    let sent_readings = c.sent_readings.load(Ordering::Relaxed);
    let k = opts.readings_per_msg as u64;
    let deadline = Instant::now() + opts.grace;
    let grace_start = Instant::now();
    let mut hub_after = hub_end;
    let mut hub_drain = None;
    let mut sub_seen = (sub_at_end, Instant::now());
    loop {
        let acks_done = opts.qos == QoS::AtMostOnce || c.acked.load(Ordering::Relaxed) >= sent;
        let alerts_done = opts.ws.is_none()
            || c.alerts_received.load(Ordering::Relaxed)
                >= c.alerts_expected.load(Ordering::Relaxed);
        let owed = owed_readings(opts.qos, sent_readings, c.acked.load(Ordering::Relaxed), k);
        let hub_done = match (&hub_start, &hub_after) {
            (Some((_, s0)), Some((_, s))) => s.readings - s0.readings >= owed as f64,
            _ => true,
        };
        if hub_done && hub_drain.is_none() && base.is_some() {
            hub_drain = Some(grace_start.elapsed().as_secs_f64());
        }
        let got = c.sub_received.load(Ordering::Relaxed);
        if got != sub_seen.0 {
            sub_seen = (got, Instant::now());
        }
        // QoS 0 may lose messages: done when nothing more arrived for 2 s.
        let sub_done = opts.subscribers == 0
            || got >= sent
            || (opts.qos == QoS::AtMostOnce && sub_seen.1.elapsed() >= Duration::from_secs(2));
        if (acks_done && alerts_done && hub_done && sub_done) || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        if base.is_some() && !hub_done {
            hub_after = scrape_now(&base).await.or(hub_after);
        }
    }

    // Tear down.
    stop_loops.store(true, Ordering::Relaxed);
    for client in clients.iter().chain(&sub_clients) {
        let _ = client.try_disconnect();
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while loops.join_next().await.is_some() {}
    })
    .await;
    loops.abort_all();
    if let Some(t) = ws_task {
        t.abort();
    }

    let acked = c.acked.load(Ordering::Relaxed);
    let owed = owed_readings(opts.qos, sent_readings, acked, k);
    let (hub_rate, hub_committed, hub_missing) = match (&hub_start, &hub_end, &hub_after) {
        (Some((t0, s0)), Some((t1, s1)), Some((_, s2))) => {
            let window = t1.duration_since(*t0).as_secs_f64().max(1e-9);
            let committed = (s2.readings - s0.readings).max(0.0) as u64;
            (
                Some(((s1.readings - s0.readings) / window * 10.0).round() / 10.0),
                Some(committed),
                Some(sent_readings as i64 - committed as i64),
            )
        }
        _ => (None, None, None),
    };
    let latency = opts.ws.as_ref().map(|_| {
        let h = shared.latency.lock().unwrap_or_else(|e| e.into_inner());
        latency_of(&h)
    });
    let round1 = |x: f64| (x * 10.0).round() / 10.0;
    Ok(Report {
        started_at_ms,
        send_ended_at_ms,
        target_msg_per_s: opts.rate,
        devices: opts.devices,
        connections: opts.connections,
        qos: opts.qos as u8,
        readings_per_msg: opts.readings_per_msg,
        duration_s: (send_elapsed * 1000.0).round() / 1000.0,
        sent_messages: sent,
        sent_readings,
        achieved_msg_per_s: round1(sent as f64 / send_elapsed),
        achieved_readings_per_s: round1(sent_readings as f64 / send_elapsed),
        acked,
        lost: if opts.qos == QoS::AtMostOnce {
            0
        } else {
            sent.saturating_sub(acked)
        },
        written: c.written.load(Ordering::Relaxed),
        connection_errors: c.conn_errors.load(Ordering::Relaxed),
        alerts_expected: c.alerts_expected.load(Ordering::Relaxed),
        alerts_received: c.alerts_received.load(Ordering::Relaxed),
        latency_ms: latency,
        hub_readings_per_s: hub_rate,
        hub_readings_committed: hub_committed,
        hub_missing_readings: hub_missing,
        hub_lost_readings: hub_committed.map(|done| owed.saturating_sub(done)),
        hub_unacked_at_end: hub_end.map(|(_, s)| s.unacked),
        hub_drain_s: hub_drain.map(|s| (s * 10.0).round() / 10.0),
        sub_received: (opts.subscribers > 0).then(|| c.sub_received.load(Ordering::Relaxed)),
        sub_msg_per_s: (opts.subscribers > 0).then(|| round1(sub_at_end as f64 / send_elapsed)),
        sub_latency_ms: (opts.subscribers > 0).then(|| {
            let h = shared.sub_latency.lock().unwrap_or_else(|e| e.into_inner());
            latency_of(&h)
        }),
    })
}

/// Polls one connection's event loop: counts acks, reports the first CONNACK, retries on errors.
async fn poll_loop(
    mut eventloop: rumqttc::EventLoop,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    up: tokio::sync::oneshot::Sender<()>,
) {
    let mut up = Some(up);
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::PubAck(_))) => {
                shared.counters.acked.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                if let Some(up) = up.take() {
                    let _ = up.send(());
                }
            }
            Ok(Event::Outgoing(Outgoing::Publish(_))) => {
                shared.counters.written.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Event::Outgoing(Outgoing::Disconnect)) => return,
            Ok(_) => {}
            Err(e) => {
                if !retry(&e, &stop, &shared).await {
                    return;
                }
            }
        }
    }
}

/// After a connection error: false when the run is stopping; otherwise counts the error and
/// waits before the event loop reconnects.
async fn retry(e: &rumqttc::ConnectionError, stop: &AtomicBool, shared: &Shared) -> bool {
    if stop.load(Ordering::Relaxed) {
        return false;
    }
    shared.counters.conn_errors.fetch_add(1, Ordering::Relaxed);
    warn!(error = %e, "MQTT connection error; retrying");
    tokio::time::sleep(Duration::from_millis(500)).await;
    true
}

/// One subscriber: subscribes once connected, then records every message it receives.
async fn subscribe_loop(
    client: AsyncClient,
    mut eventloop: rumqttc::EventLoop,
    topic: &'static str,
    qos: QoS,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    ready: tokio::sync::oneshot::Sender<()>,
) {
    let mut ready = Some(ready);
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::Publish(p))) => {
                let received = now_us();
                shared.counters.sub_received.fetch_add(1, Ordering::Relaxed);
                if let Some(sent) = pack_time_ms(&p.payload) {
                    shared
                        .sub_latency
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .saturating_record(latency_us(received, sent));
                }
            }
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                // Also after a reconnect: a clean session forgets the subscription.
                if let Err(e) = client.try_subscribe(topic, qos) {
                    warn!(error = %e, "subscribe request failed");
                }
            }
            Ok(Event::Incoming(Packet::SubAck(_))) => {
                if let Some(r) = ready.take() {
                    let _ = r.send(());
                }
            }
            Ok(Event::Outgoing(Outgoing::Disconnect)) => return,
            Ok(_) => {}
            Err(e) => {
                if !retry(&e, &stop, &shared).await {
                    return;
                }
            }
        }
    }
}

struct Pacer {
    client: AsyncClient,
    devices: Vec<usize>,
    names: Arc<Vec<String>>,
    rate: f64,
    qos: QoS,
    alert_every: u64,
    start: Instant,
    duration: Duration,
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
}

/// Sends one connection's share of the load until the duration ends.
async fn pace(p: Pacer) {
    let c = &p.shared.counters;
    let topics: Vec<String> = p
        .devices
        .iter()
        .map(|&d| format!("ioc/{}/telemetry", device_key(d)))
        .collect();
    let keys: Vec<String> = p.devices.iter().map(|&d| device_key(d)).collect();
    let mut last_ts = vec![0i64; p.devices.len()];
    let mut next = 0usize;
    let mut clear_for: Option<usize> = None;
    let mut sent = 0u64;
    let k = p.names.len() as u64;
    // Publishes one message to device slot `i`; false when the client is gone.
    let send = async |i: usize, level: f64, seq: u64, last_ts: &mut [i64]| -> bool {
        let ts = next_ts(now_ms(), last_ts[i]);
        last_ts[i] = ts;
        let payload = build_payload(&keys[i], ts, &p.names, level, seq);
        if let Err(e) = p
            .client
            .publish(topics[i].as_str(), p.qos, false, payload)
            .await
        {
            warn!(error = %e, "publish failed; stopping this connection's pacer");
            return false;
        }
        c.sent.fetch_add(1, Ordering::Relaxed);
        c.sent_readings.fetch_add(k, Ordering::Relaxed);
        true
    };
    let mut ticker = tokio::time::interval(TICK);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        ticker.tick().await;
        let elapsed = p.start.elapsed().min(p.duration);
        let stopping = elapsed >= p.duration || *p.stop.borrow();
        let n = if *p.stop.borrow() {
            0
        } else {
            due(p.rate, elapsed, sent)
        };
        for _ in 0..n {
            // A broker that cannot keep up blocks `send`: the duration (plus a little to catch
            // up a short stall) still ends the run, and what was due but not sent lowers the
            // achieved rate instead of stretching the run.
            if p.start.elapsed() >= p.duration + OVERRUN {
                break;
            }
            let (i, level, seq) = match clear_for.take() {
                Some(i) => (i, NORMAL_LEVEL, sent),
                None => {
                    let i = next;
                    next = (next + 1) % p.devices.len();
                    let seq = c.seq.fetch_add(1, Ordering::Relaxed) + 1;
                    if p.alert_every > 0 && seq.is_multiple_of(p.alert_every) {
                        clear_for = Some(i);
                        c.alerts_expected.fetch_add(1, Ordering::Relaxed);
                        (i, ALERT_VALUE, seq)
                    } else {
                        (i, NORMAL_LEVEL, seq)
                    }
                }
            };
            if !send(i, level, seq, &mut last_ts).await {
                return;
            }
            sent += 1;
        }
        if stopping {
            // A last breach still gets its clearing message (one over the target).
            if let Some(i) = clear_for.take() {
                send(i, NORMAL_LEVEL, sent, &mut last_ts).await;
            }
            return;
        }
    }
}

/// Subscribes to alerts and records the latency of every `open` frame of a `load-` device (or,
/// with `senml`, of every breaching pack a flow sends back).
async fn ws_listen(
    url: String,
    token: Option<String>,
    senml: bool,
    shared: Arc<Shared>,
    ready: tokio::sync::oneshot::Sender<Result<(), String>>,
) {
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::http::HeaderValue;

    let mut ready = Some(ready);
    let fail = |ready: &mut Option<tokio::sync::oneshot::Sender<Result<(), String>>>, e: String| {
        if let Some(r) = ready.take() {
            let _ = r.send(Err(e));
        } else {
            warn!(error = %e, "WebSocket listener stopped");
        }
    };
    let mut request = match url.as_str().into_client_request() {
        Ok(r) => r,
        Err(e) => return fail(&mut ready, e.to_string()),
    };
    if let Some(token) = &token {
        match HeaderValue::from_str(&format!("Bearer {token}")) {
            Ok(v) => {
                request.headers_mut().insert("authorization", v);
            }
            Err(e) => return fail(&mut ready, e.to_string()),
        }
    }
    let (mut socket, _) = match tokio_tungstenite::connect_async(request).await {
        Ok(s) => s,
        Err(e) => return fail(&mut ready, e.to_string()),
    };
    if senml {
        // A flow's `websocket out` pushes to whoever is connected: no subscription to confirm.
        if let Some(r) = ready.take() {
            let _ = r.send(Ok(()));
        }
    } else {
        let sub = r#"{"op":"subscribe","topics":["alerts"]}"#;
        if let Err(e) = socket.send(Message::Text(sub.into())).await {
            return fail(&mut ready, e.to_string());
        }
    }
    let record = |us: u64| {
        shared
            .latency
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .saturating_record(us);
        shared
            .counters
            .alerts_received
            .fetch_add(1, Ordering::Relaxed);
    };
    while let Some(msg) = socket.next().await {
        let text = match msg {
            Ok(Message::Text(t)) => t,
            Ok(Message::Close(frame)) => {
                return fail(&mut ready, format!("closed by the hub: {frame:?}"));
            }
            Ok(_) => continue,
            Err(e) => return fail(&mut ready, e.to_string()),
        };
        let received_us = now_us();
        if senml {
            if let Some((_, sent_ms)) = senml_alert(text.as_str()) {
                record(latency_us(received_us, sent_ms));
            }
            continue;
        }
        let Ok(v) = serde_json::from_str::<serde_json::Value>(text.as_str()) else {
            continue;
        };
        match v.get("type").and_then(|t| t.as_str()) {
            Some("subscribed") => {
                if let Some(r) = ready.take() {
                    let _ = r.send(Ok(()));
                }
            }
            Some("error") => return fail(&mut ready, format!("hub refused: {text}")),
            Some("alert") => {
                let open = v.get("state").and_then(|s| s.as_str()) == Some("open");
                let ours = v
                    .get("device")
                    .and_then(|d| d.as_str())
                    .is_some_and(|d| d.starts_with(DEVICE_PREFIX));
                // Repeat firings also arrive as `open` (hits > 1); only the opening counts.
                let first = v
                    .get("hits")
                    .and_then(|h| h.as_u64())
                    .is_none_or(|h| h <= 1);
                if let (true, true, true, Some(ts)) =
                    (open, ours, first, v.get("ts").and_then(|t| t.as_i64()))
                {
                    record(latency_us(received_us, ts));
                }
            }
            _ => {}
        }
    }
    fail(&mut ready, "connection ended".into());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacing_sends_what_is_due() {
        assert_eq!(due(1000.0, Duration::ZERO, 0), 0);
        assert_eq!(due(1000.0, Duration::from_millis(1), 0), 1);
        assert_eq!(due(1000.0, Duration::from_millis(10), 4), 6);
        assert_eq!(
            due(100.0, Duration::from_millis(5), 0),
            0,
            "half a message is not due"
        );
        assert_eq!(due(100.0, Duration::from_millis(10), 0), 1);
        assert_eq!(due(2500.0, Duration::from_secs(2), 0), 5000);
        assert_eq!(
            due(2500.0, Duration::from_secs(2), 6000),
            0,
            "ahead: nothing due"
        );
    }

    #[test]
    fn pacing_catches_up_and_totals_exactly() {
        // A pacer that stalls for 50 ms catches up at once and ends on rate × duration.
        let rate = 7_777.0;
        let mut sent = 0;
        let mut t = Duration::ZERO;
        let end = Duration::from_secs(3);
        while t < end {
            t = (t + if t.as_millis() == 500 {
                Duration::from_millis(50)
            } else {
                TICK
            })
            .min(end);
            sent += due(rate, t, sent);
        }
        assert_eq!(sent, 23_331);
    }

    #[test]
    fn unique_timestamps() {
        assert_eq!(next_ts(1000, 0), 1000);
        assert_eq!(next_ts(1000, 1000), 1001);
        assert_eq!(next_ts(1000, 1005), 1006);
        assert_eq!(next_ts(1010, 1005), 1010);
    }

    #[test]
    fn names_are_catalog_metrics_then_extras() {
        let n = metric_names(3);
        assert_eq!(n, ["water_level", "rain_1h", "temperature"]);
        let n = metric_names(20);
        assert_eq!(n[17], "soil_moisture");
        assert_eq!(&n[18..], ["load_x18", "load_x19"]);
        let unique: std::collections::HashSet<_> = n.iter().collect();
        assert_eq!(unique.len(), 20);
    }

    #[test]
    fn payload_decodes_in_range() {
        let names = metric_names(25);
        let payload = build_payload("load-00042", 1_732_270_000_123, &names, 99.0, 7);
        let decoded = iochub_devices::decode(
            "load-00042",
            payload.as_bytes(),
            1_732_270_000_000,
            &iochub_devices::Limits::default(),
            &iochub_devices::Catalog::builtin(),
        );
        assert!(decoded.rejects.is_empty(), "{:?}", decoded.rejects);
        assert_eq!(decoded.readings.len(), 25);
        for r in &decoded.readings {
            assert_eq!(r.device, "load-00042");
            assert_eq!(r.ts_ms, 1_732_270_000_123);
        }
        assert_eq!(decoded.readings[0].metric, "water_level");
        assert_eq!(decoded.readings[0].value, 99.0);
        for seq in 0..500 {
            let p = build_payload("load-00000", 1_732_270_000_000, &names, NORMAL_LEVEL, seq);
            let d = iochub_devices::decode(
                "load-00000",
                p.as_bytes(),
                1_732_270_000_000,
                &iochub_devices::Limits::default(),
                &iochub_devices::Catalog::builtin(),
            );
            assert!(d.rejects.is_empty(), "seq {seq}: {:?}", d.rejects);
            assert_eq!(d.readings[0].value, NORMAL_LEVEL);
        }
    }

    #[test]
    fn device_keys_and_options() {
        assert_eq!(device_key(0), "load-00000");
        assert_eq!(device_key(12345), "load-12345");
        let o = mqtt_options("mqtt://127.0.0.1:1883?client_id=x", "3").expect("valid");
        assert!(o.client_id().ends_with("-3"));
        assert_eq!(o.inflight(), INFLIGHT);
        assert!(mqtt_options("mqtt://127.0.0.1:1883", "sub-0").is_ok());
        assert!(mqtt_options("nope://x", "0").is_err());
    }

    #[test]
    fn prometheus_values() {
        let text = "# HELP iochub_ingest_readings_total Readings committed\n\
            # TYPE iochub_ingest_readings_total counter\n\
            iochub_ingest_readings_total 12345\n\
            iochub_ingest_readings_total_extra 1\n\
            iochub_ingest_rejected_total{reason=\"a\"} 2\n\
            iochub_ingest_rejected_total{reason=\"b\"} 3\n";
        assert_eq!(
            prom_value(text, "iochub_ingest_readings_total"),
            Some(12345.0)
        );
        assert_eq!(prom_value(text, "iochub_ingest_rejected_total"), Some(5.0));
        assert_eq!(prom_value(text, "iochub_missing"), None);
        assert_eq!(
            dechunk(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n").expect("valid"),
            b"hello world"
        );
    }

    #[test]
    fn latency_is_taken_from_the_pack_time() {
        let names = metric_names(3);
        let payload = build_payload("load-00042", 1_732_270_000_123, &names, ALERT_VALUE, 1);
        assert_eq!(pack_time_ms(payload.as_bytes()), Some(1_732_270_000_123));
        assert_eq!(
            pack_time_ms(br#"[{"bn":"x/","bt":1.5e3,"v":1}]"#),
            Some(1_500_000)
        );
        assert_eq!(pack_time_ms(br#"[{"bn":"x/","v":1}]"#), None);
        assert_eq!(pack_time_ms(br#"[{"bt":"soon"}]"#), None);
        // received 2.5 ms after the ms it was sent in
        assert_eq!(latency_us(1_732_270_000_125_500, 1_732_270_000_123), 2_500);
        assert_eq!(
            latency_us(1_000, 5),
            1,
            "a clock step back is floored, not negative"
        );
        assert_eq!(
            senml_alert(&payload),
            Some(("load-00042".to_owned(), 1_732_270_000_123))
        );
        let normal = build_payload("load-00042", 1_732_270_000_123, &names, NORMAL_LEVEL, 2);
        assert_eq!(senml_alert(&normal), None, "no breach, no alert");
        let theirs = build_payload("wl-01", 1_732_270_000_123, &names, ALERT_VALUE, 3);
        assert_eq!(senml_alert(&theirs), None, "not a load device");
        assert_eq!(senml_alert("not json"), None);
    }

    #[test]
    fn the_hub_owes_what_the_broker_acknowledged() {
        assert_eq!(owed_readings(QoS::AtLeastOnce, 1_000, 90, 10), 900);
        assert_eq!(owed_readings(QoS::AtLeastOnce, 1_000, 100, 10), 1_000);
        assert_eq!(owed_readings(QoS::AtMostOnce, 1_000, 0, 10), 1_000);
    }

    #[test]
    fn latency_percentiles_in_ms() {
        let mut h = new_histogram();
        for us in 1..=1000u64 {
            h.record(us * 1000).expect("in range");
        }
        let l = latency_of(&h);
        assert!((l.p50 - 500.0).abs() < 1.0, "{l:?}");
        assert!((l.p99 - 990.0).abs() < 2.0, "{l:?}");
        assert!((l.max - 1000.0).abs() < 1.0, "{l:?}");
        assert_eq!(l.count, 1000);
    }
}
