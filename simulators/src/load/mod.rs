//! `iochub-sim load`: a paced MQTT load generator that measures what the hub sustains and, with
//! `--ws`, how long an alert takes from the device to a WebSocket client.
//!
//! A run, by part:
//!
//! - [`options`]: what to run, checked before anything connects;
//! - [`payload`]: device keys, metric names and the SenML pack of one message;
//! - [`pacer`]: one connection's share, paced by the millisecond;
//! - [`mqtt`]: the publishing connections and the subscribers (the broker's own ceiling);
//! - [`listener`]: the WebSocket that receives the hub's alerts;
//! - [`hub`] and [`prometheus`]: the hub's `/metrics`, scraped over HTTP;
//! - [`report`]: the shared tally and the one JSON line a run ends with.
//!
//! `C` MQTT connections publish SenML packs of `K` readings to `ioc/{device}/telemetry` for the
//! devices `load-00000`, `load-00001`, … dealt over them. QoS 1: PUBACKs from the broker are
//! counted; `lost` is the number of messages handed to the client and never acked within the
//! grace period after the run (always 0 for QoS 0).
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
//! alert. With `--ws URL --token T` the generator subscribes to `alerts` and records the latency of
//! every opening, in µs, in an HDR histogram. Both clocks are this machine's system clock: run the
//! hub on the same host, or mind the clock offset.
//!
//! # Hub rate
//!
//! With `--http BASE` (and the token) `BASE/metrics` is scraped before the run, every second
//! during it, when sending stops and through the grace period; `hub_readings_per_s` is the growth
//! of `iochub_ingest_readings_total` (readings committed) over the sending window.
//!
//! The run ends with one JSON line on stdout (see [`Report`]); progress goes to stderr.

pub mod hub;
pub mod listener;
pub mod mqtt;
pub mod options;
pub mod pacer;
pub mod payload;
pub mod prometheus;
pub mod report;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rumqttc::{AsyncClient, QoS};
use tokio::sync::{oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{Instant, MissedTickBehavior};
use tracing::{info, warn};

pub use hub::{HubSample, ScrapeError};
pub use listener::ListenError;
pub use options::{LoadOptions, OptionsError};
pub use payload::{ALERT_VALUE, DEVICE_PREFIX, NORMAL_LEVEL};
pub use report::{Latency, Report};

use hub::Hub;
use pacer::Pacer;
use report::{Counters, Ended, HubWindow, Tally, owed_readings};

/// How long the listener, a subscriber or a connection may take to be ready.
const READY_WITHIN: Duration = Duration::from_secs(10);
/// How often the grace period looks whether everything arrived.
const GRACE_POLL: Duration = Duration::from_millis(200);
/// QoS 0 may lose messages: the subscribers are done when nothing more arrived for this long.
const QUIET_SUBSCRIBERS: Duration = Duration::from_secs(2);

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Options(#[from] OptionsError),
    #[error("invalid MQTT URL {url:?}: {source}")]
    MqttUrl {
        url: String,
        #[source]
        source: rumqttc::OptionError,
    },
    #[error("WebSocket {url}: {source}")]
    WebSocket {
        url: String,
        #[source]
        source: ListenError,
    },
    #[error("WebSocket {url}: no subscription confirmation within 10 s")]
    WebSocketTimeout { url: String },
    #[error("subscriber {index} to {url} not subscribed within 10 s")]
    Subscriber { index: usize, url: String },
    #[error("MQTT connection {index} to {url} not up within 10 s")]
    Connection { index: usize, url: String },
    #[error("cannot scrape the hub's /metrics at the start (check --http and --token): {0}")]
    Scrape(#[from] ScrapeError),
}

/// The tasks and clients of a running load.
struct Running {
    tally: Arc<Tally>,
    /// Turns true at the end, so that the event loops stop retrying.
    stop_loops: Arc<AtomicBool>,
    /// Every MQTT event loop (publishers and subscribers).
    loops: JoinSet<()>,
    publishers: Vec<AsyncClient>,
    subscribers: Vec<AsyncClient>,
    listener: Option<JoinHandle<()>>,
}

/// What sending left behind for the grace period and the report.
struct Sent {
    started_at_ms: i64,
    ended_at_ms: i64,
    send_s: f64,
    /// Messages the subscribers had received when sending stopped.
    sub_received: u64,
    /// The hub's counters when sending stopped.
    hub_end: Option<(Instant, HubSample)>,
}

/// Runs the load until `duration` passes (or `shutdown` turns true), waits up to `grace` for the
/// stragglers and returns the report.
pub async fn run(opts: LoadOptions, shutdown: watch::Receiver<bool>) -> Result<Report, LoadError> {
    opts.check()?;
    let hub = opts
        .http
        .as_deref()
        .map(|base| Hub::new(base, opts.token.clone(), opts.hub_metric.clone()))
        .transpose()?;
    let mut running = Running {
        tally: Arc::new(Tally::new()),
        stop_loops: Arc::new(AtomicBool::new(false)),
        loops: JoinSet::new(),
        publishers: Vec::new(),
        subscribers: Vec::new(),
        listener: None,
    };
    // The listeners first, so that nothing is missed; then the load's own connections.
    running.listener = start_listener(&opts, &running.tally).await?;
    start_subscribers(&opts, &mut running).await?;
    connect_publishers(&opts, &mut running).await?;
    let hub_start = match &hub {
        Some(hub) => Some((Instant::now(), hub.sample().await?)),
        None => None,
    };
    let sent = send(&opts, &running, hub.as_ref(), hub_start, shutdown).await;
    let window = match (hub_start, sent.hub_end) {
        (Some(start), Some(send_end)) => Some(HubWindow {
            start,
            send_end,
            last: send_end.1,
            drained_after_s: None,
        }),
        _ => None,
    };
    let hub_window = wait_for_stragglers(&opts, &running.tally, hub.as_ref(), window).await;
    let tally = running.tear_down().await;
    Ok(Report::new(
        &opts,
        &tally,
        Ended {
            started_at_ms: sent.started_at_ms,
            send_ended_at_ms: sent.ended_at_ms,
            send_s: sent.send_s,
            sub_at_send_end: sent.sub_received,
            hub: hub_window,
        },
    ))
}

/// The WebSocket listener, once it is subscribed.
async fn start_listener(
    opts: &LoadOptions,
    tally: &Arc<Tally>,
) -> Result<Option<JoinHandle<()>>, LoadError> {
    let Some(url) = &opts.ws else {
        return Ok(None);
    };
    let (ready_tx, ready_rx) = oneshot::channel();
    let task = tokio::spawn(listener::listen(
        url.clone(),
        opts.token.clone(),
        opts.ws_senml,
        tally.clone(),
        ready_tx,
    ));
    let failed = |source| LoadError::WebSocket {
        url: url.clone(),
        source,
    };
    match tokio::time::timeout(READY_WITHIN, ready_rx).await {
        Ok(Ok(Ok(()))) => {
            info!(url, "subscribed to alerts");
            Ok(Some(task))
        }
        Ok(Ok(Err(e))) => Err(failed(e)),
        Ok(Err(_)) => Err(failed(ListenError::Ended)),
        Err(_) => {
            task.abort();
            Err(LoadError::WebSocketTimeout { url: url.clone() })
        }
    }
}

/// The MQTT options of connection `name`.
fn mqtt_options(opts: &LoadOptions, name: &str) -> Result<rumqttc::MqttOptions, LoadError> {
    mqtt::mqtt_options(&opts.url, name).map_err(|source| LoadError::MqttUrl {
        url: opts.url.clone(),
        source,
    })
}

/// The subscribers, each once subscribed.
async fn start_subscribers(opts: &LoadOptions, running: &mut Running) -> Result<(), LoadError> {
    let topic = mqtt::subscription(opts.subscribers);
    for index in 0..opts.subscribers {
        let (client, eventloop) =
            AsyncClient::new(mqtt_options(opts, &format!("sub-{index}"))?, 10);
        let (ready_tx, ready_rx) = oneshot::channel();
        running.loops.spawn(mqtt::subscriber_loop(
            client.clone(),
            eventloop,
            topic,
            opts.qos,
            running.tally.clone(),
            running.stop_loops.clone(),
            ready_tx,
        ));
        if !matches!(
            tokio::time::timeout(READY_WITHIN, ready_rx).await,
            Ok(Ok(()))
        ) {
            return Err(LoadError::Subscriber {
                index,
                url: opts.url.clone(),
            });
        }
        running.subscribers.push(client);
    }
    Ok(())
}

/// The publishing connections, all connected.
async fn connect_publishers(opts: &LoadOptions, running: &mut Running) -> Result<(), LoadError> {
    let mut connected = Vec::with_capacity(opts.connections);
    for c in 0..opts.connections {
        let (client, eventloop) =
            AsyncClient::new(mqtt_options(opts, &c.to_string())?, mqtt::REQUEST_CAPACITY);
        let (up_tx, up_rx) = oneshot::channel();
        running.loops.spawn(mqtt::publisher_loop(
            eventloop,
            running.tally.clone(),
            running.stop_loops.clone(),
            up_tx,
        ));
        running.publishers.push(client);
        connected.push(up_rx);
    }
    for (index, up) in connected.into_iter().enumerate() {
        if !matches!(tokio::time::timeout(READY_WITHIN, up).await, Ok(Ok(()))) {
            return Err(LoadError::Connection {
                index,
                url: opts.url.clone(),
            });
        }
    }
    info!(connections = opts.connections, url = %opts.url, "connected");
    Ok(())
}

/// A scrape during the run: a failure is logged and skipped.
async fn sample(hub: Option<&Hub>) -> Option<(Instant, HubSample)> {
    match hub?.sample().await {
        Ok(s) => Some((Instant::now(), s)),
        Err(e) => {
            warn!(error = %e, "scraping /metrics failed");
            None
        }
    }
}

/// Paces the load over every connection until the duration ends (or `shutdown`), with a progress
/// line every second.
async fn send(
    opts: &LoadOptions,
    running: &Running,
    hub: Option<&Hub>,
    hub_start: Option<(Instant, HubSample)>,
    mut shutdown: watch::Receiver<bool>,
) -> Sent {
    let names = Arc::new(payload::metric_names(opts.readings_per_msg));
    let start = Instant::now();
    let started_at_ms = now_ms();
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut pacers = JoinSet::new();
    for (c, client) in running.publishers.iter().enumerate() {
        pacers.spawn(
            Pacer {
                client: client.clone(),
                devices: opts.devices_of(c),
                names: names.clone(),
                rate: opts.rate / opts.connections as f64,
                qos: opts.qos,
                alert_every: opts.alert_every,
                start,
                duration: opts.duration,
                tally: running.tally.clone(),
                stop: stop_rx.clone(),
            }
            .run(),
        );
    }
    let mut progress = report::Progress::new(opts, start, hub_start.map(|(_, s)| s.readings));
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    ticker.tick().await;
    let mut interrupted = false;
    while !pacers.is_empty() {
        tokio::select! {
            done = pacers.join_next() => {
                if let Some(Err(e)) = done {
                    warn!(error = %e, "pacer failed");
                }
            }
            changed = shutdown.changed(), if !interrupted => {
                if changed.is_err() || *shutdown.borrow() {
                    info!("interrupted: stopping the load");
                    interrupted = true;
                    let _ = stop_tx.send(true);
                }
            }
            _ = ticker.tick() => {
                let hub_now = sample(hub).await.map(|(_, s)| s);
                let line = progress.line(&running.tally, hub_now);
                if opts.progress {
                    eprintln!("{line}");
                }
            }
        }
    }
    let send_s = start.elapsed().as_secs_f64();
    let hub_end = sample(hub).await;
    Sent {
        started_at_ms,
        ended_at_ms: now_ms(),
        send_s,
        sub_received: Counters::get(&running.tally.counters.sub_received),
        hub_end,
    }
}

/// The grace period: waits until the broker acked everything, every alert arrived, the hub
/// committed what it owes and the subscribers received the load, or `grace` ends; hands back the
/// hub's `window` (from the start to when sending stopped) with its last scrape.
async fn wait_for_stragglers(
    opts: &LoadOptions,
    tally: &Tally,
    hub: Option<&Hub>,
    mut window: Option<HubWindow>,
) -> Option<HubWindow> {
    let c = &tally.counters;
    let get = Counters::get;
    let sent = get(&c.sent);
    let sent_readings = get(&c.sent_readings);
    let k = opts.readings_per_msg as u64;
    let grace_start = Instant::now();
    let deadline = grace_start + opts.grace;
    let mut sub_seen = (get(&c.sub_received), Instant::now());
    loop {
        let acked = get(&c.acked);
        let acks_done = opts.qos == QoS::AtMostOnce || acked >= sent;
        let alerts_done = opts.ws.is_none() || get(&c.alerts_received) >= get(&c.alerts_expected);
        let owed = owed_readings(opts.qos, sent_readings, acked, k);
        let hub_done = window.as_mut().is_none_or(|w| {
            let done = w.last.readings - w.start.1.readings >= owed as f64;
            if done && w.drained_after_s.is_none() {
                w.drained_after_s = Some(grace_start.elapsed().as_secs_f64());
            }
            done
        });
        let got = get(&c.sub_received);
        if got != sub_seen.0 {
            sub_seen = (got, Instant::now());
        }
        let sub_done = opts.subscribers == 0
            || got >= sent
            || (opts.qos == QoS::AtMostOnce && sub_seen.1.elapsed() >= QUIET_SUBSCRIBERS);
        if (acks_done && alerts_done && hub_done && sub_done) || Instant::now() >= deadline {
            return window;
        }
        tokio::time::sleep(GRACE_POLL).await;
        if !hub_done
            && let Some(w) = window.as_mut()
            && let Some((_, s)) = sample(hub).await
        {
            w.last = s;
        }
    }
}

impl Running {
    /// Disconnects every client, stops every task and hands back the tally.
    async fn tear_down(mut self) -> Arc<Tally> {
        self.stop_loops.store(true, Ordering::Relaxed);
        for client in self.publishers.iter().chain(&self.subscribers) {
            let _ = client.try_disconnect();
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while self.loops.join_next().await.is_some() {}
        })
        .await;
        self.loops.abort_all();
        if let Some(listener) = self.listener {
            listener.abort();
        }
        self.tally
    }
}

/// This machine's wall clock in ms since the Unix epoch (0 before it).
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// This machine's wall clock in µs since the Unix epoch (0 before it).
fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}
