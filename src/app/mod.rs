//! Wires the pipeline — the one place that knows the whole graph — and shuts it down in order:
//! stop taking input (simulator, HTTP, MQTT) -> shards drain -> batchers and alert manager flush
//! -> the last acks go out -> disconnect -> the upkeep loops stop.
//!
//! Each stage has its own constructor below, in pipeline order; [`run`] only strings them
//! together. Every task is tracked ([`tasks::Tasks`]): a stage that panics or fails stops the
//! hub in the same order, marks `/healthz`, and makes [`run`] return the failure.

mod http;
pub mod tasks;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use iochub_devices::{Catalog, Limits};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::accounts::Accounts;
use crate::accounts::mqtt::DeviceAccounts;
use crate::alerts::AlertManager;
use crate::alerts::delivery::Courier;
use crate::alerts::manager::{AlertDesk, Locate};
use crate::api::AppState;
use crate::audit::Audit;
use crate::camera::Cameras;
use crate::camera::rtsp::RtspConnector;
use crate::camera::session::Settings as CameraSettings;
use crate::config::{BrokerConfig, HubConfig};
use crate::engine::{RuleSet, Shard};
use crate::health::Health;
use crate::ingest::mqtt::{self, MqttSettings, Pipeline};
use crate::pipeline::directory::Labels;
use crate::pipeline::{AlertChange, Clear, Router, StoreMsg, Ticket, Work};
use crate::storage::postgres::PostgresStore;
use crate::storage::sqlite::SqliteStore;
use crate::storage::supply::SupplyTally;
use crate::storage::{Device, DevicePatch, Store, StoreError, batcher};
use crate::timefmt::now_ms;
use crate::ws::{Directory, LiveFeed};
use tasks::{StageFailure, Tasks};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Rules(#[from] crate::engine::RuleError),
    #[error(transparent)]
    Broker(#[from] crate::broker::BrokerError),
    #[error(transparent)]
    Accounts(#[from] crate::accounts::AccountError),
    #[error("HTTPS: {0}")]
    Tls(#[from] crate::tls::TlsError),
    #[error(transparent)]
    Webhooks(#[from] crate::alerts::delivery::CourierError),
    #[error("cannot listen for HTTP on {addr}: {reason}")]
    Http {
        addr: std::net::SocketAddr,
        reason: String,
    },
    #[error("cannot create the rules file {path}: {reason}")]
    RulesFile { path: String, reason: String },
    #[error("the {} stage failed: {}", .0.stage, .0.reason)]
    Stage(StageFailure),
    #[error("config: `devices`: device {key:?}: {problem}")]
    Device {
        key: String,
        problem: crate::storage::BadField,
    },
}

const SHARD_QUEUE: usize = 256;
const STORE_QUEUE: usize = 1024;
const ALERT_QUEUE: usize = 4096;

/// How long each step of the shutdown may take before the hub stops waiting for it.
const INPUT_STOP: Duration = Duration::from_secs(15);
const STORAGE_FLUSH: Duration = Duration::from_secs(30);
const ALERTS_FLUSH: Duration = Duration::from_secs(10);
const UPKEEP_STOP: Duration = Duration::from_secs(10);

/// Runs the hub until `stop` resolves or a stage fails.
pub async fn run(
    cfg: HubConfig,
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), AppError> {
    let store = open_store(&cfg).await?;
    let rules = load_rules(&cfg)?;
    let metrics = crate::metrics::install();
    let health = Arc::new(Health::default());
    let accounts = Accounts::new(store.clone(), cfg.accounts.clone(), cfg.areas.clone());
    let audit = Audit::new(store.clone());
    let reports = reports(&cfg, &store);
    let admin_password = accounts
        .ensure_admin(std::env::var("IOCHUB_ADMIN_PASSWORD").ok(), now_ms())
        .await?;
    seed_agencies(&accounts, &cfg).await?;
    seed_systems(store.as_ref(), &cfg).await?;
    seed_devices(store.as_ref(), &cfg).await?;
    seed_cameras(store.as_ref(), &cfg).await?;
    let live = live_feed(store.as_ref()).await?;
    let tasks = Tasks::new(health.clone());

    let (storage, committed) = Storage::start(&tasks, &cfg, &store, &live, &health);
    let alerts = Alerts::start(&tasks, &cfg, &store, &live, &health, &rules).await?;
    let router = start_engine(&tasks, &cfg, &rules, &storage, &alerts, &live);
    resume_open_alerts(&router, &rules, alerts.open, &alerts.tx).await;
    recall_when_heard(&router, store.as_ref()).await?;
    warm_up_rules(&router, store.as_ref(), &rules.load(), &live, &cfg).await?;
    tasks.spawn(
        "engine-clock",
        tick_engine(router.clone(), tasks.input.clone()),
    );
    drop(alerts.tx); // the shards hold the rest; the manager ends when they are gone
    let cameras = start_cameras(&tasks, &router, store.as_ref()).await?;
    start_upkeep(&tasks, &cfg, &store, &rules, &metrics, (&accounts, &audit));
    // Issued a little after a period's end: the batchers' last tallies are written by then.
    let grace = (cfg.reports.supply.flush_every * 2).max(Duration::from_secs(60));
    let check = cfg.reports.supply.flush_every;
    let issuing = crate::reports::issuing::run(
        reports.clone(),
        audit.clone(),
        grace,
        check,
        tasks.upkeep.clone(),
    );
    tasks.spawn("reports", issuing);

    // The devices' MQTT accounts. On the embedded broker with `--mqtt-auth` the hub has its own
    // account there too, with a password that lives only in this process.
    let hub_account = match &cfg.broker {
        BrokerConfig::Embedded { auth: true, .. } => {
            let password = crate::accounts::mqtt::new_password();
            Some((cfg.mqtt_client_id.clone(), password))
        }
        _ => None,
    };
    let station_passwords = match (&hub_account, cfg.simulation_seed) {
        (Some(_), Some(_)) => crate::demo::station_passwords(store.as_ref(), now_ms()).await?,
        _ => HashMap::new(),
    };
    let hashed = hub_account
        .as_ref()
        .map(|(user, password)| (user.clone(), crate::accounts::mqtt::hash(password)));
    let device_accounts = DeviceAccounts::load(store.clone(), hashed).await?;
    let mqtt_url = match &cfg.broker {
        BrokerConfig::External { url } => url.clone(),
        BrokerConfig::Embedded { listen, auth } => {
            let accounts = auth.then(|| device_accounts.clone());
            let addr = crate::broker::start(*listen, accounts)?;
            match &hub_account {
                Some((user, password)) => format!("mqtt://{user}:{password}@{addr}"),
                None => format!("mqtt://{addr}"),
            }
        }
    };
    let ingest = start_ingest(
        &tasks, &cfg, &mqtt_url, router, &storage, committed, &health,
    );
    drop(storage.done); // the acker ends once the batchers and the shards are gone

    let (listener, http_addr) = http::listen(cfg.http)?;
    let tls = match &cfg.https {
        Some(h) => Some(crate::tls::server_config(&h.cert_file, &h.key_file)?),
        None => None,
    };
    let redirect = match cfg.https.as_ref().and_then(|h| h.redirect_from) {
        Some(addr) => {
            let (plain, plain_addr) = http::listen(addr)?;
            info!(http = %plain_addr, "redirecting plain HTTP to HTTPS");
            let run = http::redirect_to_https(plain, http_addr.port(), tasks.input.clone());
            Some(tasks.spawn("http-redirect", run))
        }
        None => None,
    };
    let state = AppState {
        store: store.clone(),
        alerts: alerts.desk.clone(),
        accounts: accounts.clone(),
        audit: audit.clone(),
        reports: reports.clone(),
        live,
        health,
        metrics,
        rules,
        rules_file: Arc::new(crate::api::rules::RulesFile::new(cfg.rules.clone())),
        jobs: crate::api::jobs::Jobs::default(),
        metrics_public: cfg.metrics_public,
        assets: crate::web::Assets::new(cfg.web_dir.clone()),
        areas: cfg.areas.clone(),
        map: cfg.map.clone(),
        allowed_origins: Arc::new(cfg.allowed_origins.clone()),
        trusted_proxies: Arc::new(cfg.trusted_proxies.clone()),
        login_throttle: Arc::new(crate::api::throttle::LoginThrottle::new(
            cfg.accounts.logins_per_minute,
        )),
        device_accounts,
        https: tls.is_some(),
        cameras: cameras.clone(),
    };
    let http = tasks.spawn(
        "http",
        http::serve(listener, tls, state, tasks.input.clone()),
    );
    // Not the MQTT URL: in `serve` it can carry the broker's password.
    info!(http = %http_addr, "HTTP listening");

    let simulator = cfg.simulation_seed.map(|seed| {
        let sim = crate::demo::simulate(
            seed,
            mqtt_url.clone(),
            cfg.simulation_rtsp,
            station_passwords,
            store.clone(),
            tasks.input.clone(),
        );
        tasks.spawn("simulator", sim)
    });

    let shown = mqtt::without_password(&mqtt_url);
    http::print_banner(http_addr, &shown, &cfg, admin_password.as_deref());
    tokio::select! {
        () = stop => {}
        () = tasks.failed() => {}
    }

    info!("shutting down: stopping input");
    tasks.input.cancel();
    if let Some(sim) = simulator {
        finish("simulator", sim, INPUT_STOP).await;
    }
    finish("http", http, INPUT_STOP).await;
    if let Some(redirect) = redirect {
        finish("http-redirect", redirect, INPUT_STOP).await;
    }
    finish("ingest", ingest, INPUT_STOP).await;
    if tokio::time::timeout(INPUT_STOP, cameras.stopped())
        .await
        .is_err()
    {
        warn!("shutdown: some camera sessions did not stop in time");
    }
    info!("input stopped; flushing storage");
    drop(storage.writers);
    for batcher in storage.batchers {
        finish("storage", batcher, STORAGE_FLUSH).await;
    }
    finish("alerts", alerts.manager, ALERTS_FLUSH).await;
    tasks.upkeep.cancel();
    if tokio::time::timeout(UPKEEP_STOP, tasks.wait())
        .await
        .is_err()
    {
        warn!("shutdown: some tasks did not stop in time");
    }
    match tasks.failure() {
        Some(failure) => Err(AppError::Stage(failure)),
        None => {
            info!("stopped");
            Ok(())
        }
    }
}

/// Waits for one stage to end, at most `within`.
async fn finish<T>(stage: &'static str, task: JoinHandle<T>, within: Duration) {
    if tokio::time::timeout(within, task).await.is_err() {
        warn!(stage, ?within, "shutdown: the stage did not stop in time");
    }
}

async fn open_store(cfg: &HubConfig) -> Result<Arc<dyn Store>, AppError> {
    Ok(match &cfg.database_url {
        Some(url) => {
            Arc::new(PostgresStore::connect_with(url, cfg.database_ca_file.as_deref()).await?)
        }
        None => Arc::new(SqliteStore::open(&cfg.data_dir)?),
    })
}

/// The rule set, swapped whole on reload. `serve` without a `rules` key starts from the data
/// directory's rules file, created empty when missing, and says so.
fn load_rules(cfg: &HubConfig) -> Result<Arc<ArcSwap<RuleSet>>, AppError> {
    if cfg.rules_by_default {
        let path = &cfg.rules;
        if !path.exists() {
            let err = |e: std::io::Error| AppError::RulesFile {
                path: path.display().to_string(),
                reason: e.to_string(),
            };
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(err)?;
            }
            std::fs::write(path, EMPTY_RULES).map_err(err)?;
        }
        info!(
            path = %path.display(),
            "no `rules` key in the config: rules come from the data directory's file (reloaded on change)"
        );
    }
    let rule_set = RuleSet::load(&cfg.rules)?;
    rule_set.check_areas(&cfg.areas)?;
    crate::metrics::rules_reloaded(true, rule_set.len());
    Ok(Arc::new(ArcSwap::from_pointee(rule_set)))
}

const EMPTY_RULES: &str = "# iochub rules (docs/OPERATIONS.md, \"Rules file\"). None yet: add \
                           [[rules]] tables here; the hub reloads this file when it changes.\n";

/// The live feed, knowing where every stored device is.
async fn live_feed(store: &dyn Store) -> Result<LiveFeed, AppError> {
    let directory = Arc::new(Directory::default());
    let devices = store.devices().await?;
    let labels: Vec<_> = devices
        .iter()
        .map(|d| {
            let (tags, areas) = (d.tags.clone(), d.areas.clone());
            (d.key.clone(), Labels { tags, areas })
        })
        .collect();
    directory.label(&labels);
    let known: Vec<_> = devices.into_iter().map(|d| (d.key, d.lat, d.lon)).collect();
    directory.locate(&known);
    Ok(LiveFeed::new(directory))
}

/// The batchers, and the channel on which they (and the shards, for what they drop) hand the
/// tickets of committed items back to the acker.
struct Storage {
    writers: Vec<mpsc::Sender<StoreMsg>>,
    done: mpsc::Sender<Vec<Ticket>>,
    batchers: Vec<JoinHandle<Option<()>>>,
}

impl Storage {
    /// One batcher per shard where the store takes concurrent writes (acks still go out in
    /// arrival order: the acker's watermark absorbs out-of-order commits); one for all otherwise.
    /// Also returns the receiving end of `done`, for the acker.
    fn start(
        tasks: &Tasks,
        cfg: &HubConfig,
        store: &Arc<dyn Store>,
        live: &LiveFeed,
        health: &Arc<Health>,
    ) -> (Self, mpsc::Receiver<Vec<Ticket>>) {
        let count = if store.parallel_writes() {
            cfg.shards
        } else {
            1
        };
        let (done, done_rx) = mpsc::channel(STORE_QUEUE);
        let on_commit = {
            let live = live.clone();
            move |o: &crate::storage::WriteOutcome| live.located(&o.located)
        };
        let mut writers = Vec::with_capacity(count);
        let mut batchers = Vec::with_capacity(count);
        for _ in 0..count {
            let (tx, rx) = mpsc::channel(STORE_QUEUE);
            writers.push(tx);
            let run = batcher::run(
                store.clone(),
                rx,
                done.clone(),
                on_commit.clone(),
                health.clone(),
                SupplyTally::new(cfg.reports.supply),
            );
            batchers.push(tasks.spawn("storage", run));
        }
        let stage = Self {
            writers,
            done,
            batchers,
        };
        (stage, done_rx)
    }

    fn writer_of(&self, shard: usize) -> mpsc::Sender<StoreMsg> {
        self.writers[shard % self.writers.len()].clone()
    }
}

/// The alert manager, the channel the shards send it decisions on, and the alerts that were
/// open when the hub stopped last.
struct Alerts {
    tx: mpsc::Sender<AlertChange>,
    open: Vec<(String, String)>,
    desk: AlertDesk,
    manager: JoinHandle<Option<()>>,
}

impl Alerts {
    /// The manager, and the courier that delivers its notifications to the agencies.
    async fn start(
        tasks: &Tasks,
        cfg: &HubConfig,
        store: &Arc<dyn Store>,
        live: &LiveFeed,
        health: &Arc<Health>,
        rules: &Arc<ArcSwap<RuleSet>>,
    ) -> Result<Self, AppError> {
        let (tx, rx) = mpsc::channel(ALERT_QUEUE);
        let directory = live.directory.clone();
        let locate: Locate = Arc::new(move |device| directory.snapshot().get(device).copied());
        let wake = Arc::new(tokio::sync::Notify::new());
        let (manager, desk) = AlertManager::load(
            store.clone(),
            health.clone(),
            rules.clone(),
            cfg.areas.clone(),
            locate,
            wake.clone(),
        )
        .await?;
        let courier = Courier::new(store.clone(), cfg.webhooks.clone(), wake, desk.clone())?;
        tasks.spawn("webhooks", courier.run(tasks.upkeep.clone()));
        let open = manager.active_pairs();
        let live = live.clone();
        let manager = tasks.spawn("alerts", manager.run(rx, move |alert| live.alert(alert)));
        Ok(Self {
            tx,
            open,
            desk,
            manager,
        })
    }
}

/// The shard workers and the router that hashes each device to one of them.
fn start_engine(
    tasks: &Tasks,
    cfg: &HubConfig,
    rules: &Arc<ArcSwap<RuleSet>>,
    storage: &Storage,
    alerts: &Alerts,
    live: &LiveFeed,
) -> Router {
    let mut shards = Vec::with_capacity(cfg.shards);
    let started_ms = now_ms();
    for index in 0..cfg.shards {
        let (tx, rx) = mpsc::channel(SHARD_QUEUE);
        shards.push(tx);
        let shard = Shard {
            index,
            rules: rules.clone(),
            alerts: alerts.tx.clone(),
            store: storage.writer_of(index),
            store_readings: cfg.store_readings,
            done: storage.done.clone(),
            live: Arc::new(live.clone()),
            started_ms,
            directory: live.directory.clone(),
            areas: cfg.areas.clone(),
        };
        tasks.spawn("engine", shard.run(rx));
    }
    Router::new(shards)
}

/// Tells the shards when each device's metrics were last read before this start, so that a
/// `no_data` rule finds a device silent even if it never reports again.
async fn recall_when_heard(router: &Router, store: &dyn Store) -> Result<(), AppError> {
    for device in store.devices().await? {
        let metrics = device
            .latest
            .into_iter()
            .map(|l| (l.metric, l.ts))
            .collect();
        let shard = router.shard_of(&device.key);
        let work = Work::Heard {
            device: device.key,
            last_ms: device.last_seen,
            metrics,
        };
        let _ = router.send(shard, None, work).await;
    }
    Ok(())
}

/// The warm-up reads and sends a device's readings this much at a time.
const WARM_SLICE_MS: i64 = 24 * 3_600_000;

/// Window, rate, anomaly and `all` rules get back the stored readings their memory covers
/// (`replay::warmup`), before any live reading comes.
async fn warm_up_rules(
    router: &Router,
    store: &dyn Store,
    rules: &RuleSet,
    live: &LiveFeed,
    cfg: &HubConfig,
) -> Result<(), AppError> {
    let started = std::time::Instant::now();
    let places = crate::engine::rules::Places {
        positions: live.directory.snapshot(),
        labels: live.directory.labels(),
        areas: cfg.areas.clone(),
    };
    let now = now_ms();
    let mut total = 0u64;
    for device in store.devices().await? {
        let stored: Vec<&str> = device.latest.iter().map(|l| l.metric.as_str()).collect();
        let plan = crate::replay::warmup::plan(rules, &device.key, &stored, &places, now);
        if plan.is_empty() {
            continue;
        }
        let (metrics, since): (Vec<&str>, Vec<i64>) = plan.into_iter().unzip();
        let from = since.iter().copied().min().unwrap_or(now);
        let mut reader = crate::replay::DeviceReader::new(store, &device.key, &metrics);
        let shard = router.shard_of(&device.key);
        // a day at a time, oldest first: memory holds one device-day
        let mut slice = from;
        while slice < now {
            let end = slice.saturating_add(WARM_SLICE_MS).min(now);
            let mut readings = Vec::new();
            total += reader
                .read(slice, end, Some(&since), &mut |r| readings.push(r.clone()))
                .await?;
            if !readings.is_empty() {
                let _ = router.send(shard, None, Work::Warm(readings)).await;
            }
            slice = end;
        }
    }
    if total > 0 {
        info!(
            readings = total,
            took_ms = started.elapsed().as_millis() as u64,
            "rules warmed from the store"
        );
    }
    Ok(())
}

/// The once-a-second clock of the shards' `no_data` rules, until input stops.
async fn tick_engine(router: Router, stop: tokio_util::sync::CancellationToken) {
    let mut every = tokio::time::interval(Duration::from_secs(1));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = every.tick() => router.tick(now_ms()),
            () = stop.cancelled() => return,
        }
    }
}

/// Open alerts continue where they were; those whose rule is gone are resolved now.
async fn resume_open_alerts(
    router: &Router,
    rules: &Arc<ArcSwap<RuleSet>>,
    open: Vec<(String, String)>,
    alerts: &mpsc::Sender<AlertChange>,
) {
    for (device, rule) in open {
        if rules.load().get(&rule).is_some() {
            let _ = router
                .send(router.shard_of(&device), None, Work::Seed { device, rule })
                .await;
        } else {
            let clear = AlertChange::Clear(Clear {
                rule,
                device,
                value: f64::NAN,
                ts_ms: crate::timefmt::now_ms(),
            });
            let _ = alerts.send(clear).await;
        }
    }
}

/// The reports, with the province's calendar, name and thresholds.
fn reports(cfg: &HubConfig, store: &Arc<dyn Store>) -> crate::reports::Reports {
    crate::reports::Reports::new(
        store.clone(),
        cfg.areas.clone(),
        crate::reports::Letterhead {
            zone: cfg.reports.zone,
            province: cfg.reports.province.clone(),
            thresholds: crate::reports::supply::Thresholds {
                live_within_ms: cfg.reports.supply.live_within_ms,
                outage_after_ms: cfg.reports.supply.outage_after_ms,
            },
        },
    )
}

/// The loops that keep the hub in shape: rollups and retention, rule reload, metric upkeep.
fn start_upkeep(
    tasks: &Tasks,
    cfg: &HubConfig,
    store: &Arc<dyn Store>,
    rules: &Arc<ArcSwap<RuleSet>>,
    metrics: &metrics_exporter_prometheus::PrometheusHandle,
    (accounts, audit): (&Accounts, &Audit),
) {
    let stop = &tasks.upkeep;
    let hourly = accounts_upkeep(
        accounts.clone(),
        audit.clone(),
        cfg.audit_retention_days,
        stop.clone(),
    );
    tasks.spawn("accounts", hourly);
    let maintainer = crate::storage::maintainer::run(store.clone(), cfg.retention, stop.clone());
    tasks.spawn("maintenance", maintainer);
    let (changes, mut changed) = mpsc::channel(16);
    let reload = crate::engine::reload::watch(
        cfg.rules.clone(),
        rules.clone(),
        cfg.areas.clone(),
        changes,
        stop.clone(),
    );
    tasks.spawn("rules", reload);
    let (audit, path) = (audit.clone(), cfg.rules.display().to_string());
    tasks.spawn("rules-audit", async move {
        while let Some(change) = changed.recv().await {
            audit.rules_changed(now_ms(), &path, &change).await;
        }
    });
    let (metrics, stop) = (metrics.clone(), stop.clone());
    tasks.spawn("metrics", async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tokio::select! {
                _ = tick.tick() => metrics.run_upkeep(),
                () = stop.cancelled() => return,
            }
        }
    });
}

/// Hourly: locks the accounts unused for the configured number of days (each one recorded), and
/// expires audit records past their retention.
async fn accounts_upkeep(
    accounts: Accounts,
    audit: Audit,
    audit_retention_days: u32,
    stop: tokio_util::sync::CancellationToken,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = stop.cancelled() => return,
        }
        let now = now_ms();
        match accounts.lock_inactive(now).await {
            Ok(locked) => {
                for username in locked {
                    info!(%username, "locked an account unused for too long");
                    let days = accounts.settings.inactive_lock_days;
                    let detail = format!("unused for {days} days");
                    audit
                        .system(now, "user.lock_inactive", &username, detail)
                        .await;
                }
            }
            Err(e) => warn!(error = %e, "inactivity lock pass failed; retrying in an hour"),
        }
        if audit_retention_days > 0 {
            let before = now - i64::from(audit_retention_days) * 86_400_000;
            match accounts.store().expire_audit(before).await {
                Ok(0) => {}
                Ok(n) => info!(records = n, "expired audit records past their retention"),
                Err(e) => warn!(error = %e, "audit expiry failed; retrying in an hour"),
            }
        }
    }
}

/// The config file's agencies, added to the registry when it lacks them.
async fn seed_agencies(accounts: &Accounts, cfg: &HubConfig) -> Result<(), AppError> {
    let kept = accounts.seed_agencies(&cfg.agencies, now_ms()).await?;
    if !kept.is_empty() {
        warn!(
            agencies = ?kept,
            "these agencies of the config differ from the registry; the registry's are kept (edit them through the API)"
        );
    }
    Ok(())
}

/// The config file's connected systems, added to the registry when it lacks them (an edit made
/// through the API is kept, as for agencies).
async fn seed_systems(store: &dyn Store, cfg: &HubConfig) -> Result<(), AppError> {
    let now = now_ms();
    let known = store.systems().await?;
    for system in &cfg.reports.systems {
        match known.iter().find(|s| s.id == system.id) {
            None => {
                let system = crate::systems::System {
                    created_at: now,
                    updated_at: now,
                    ..system.clone()
                };
                store.insert_system(system).await?;
            }
            Some(stored) if stored.name != system.name || stored.devices != system.devices => {
                warn!(
                    system = %system.id,
                    "this system of the config differs from the registry; the registry's is kept (edit it through the API)"
                )
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// The config file's devices: registered when the registry lacks them, and given what the config
/// sets where the registry has nothing (a tag, a name or a position set through the API is kept,
/// as for systems). Checked like an edit through the API; a mistake stops the start, naming the
/// device and the field.
async fn seed_devices(store: &dyn Store, cfg: &HubConfig) -> Result<(), AppError> {
    if cfg.devices.is_empty() {
        return Ok(());
    }
    let systems = store.systems().await?;
    let mut added = 0;
    for d in &cfg.devices {
        d.patch
            .check(&d.key, &cfg.areas, &systems)
            .map_err(|mut problem| {
                // the config's name for it
                if problem.field == "expected_interval_s" {
                    problem.field = "expected_interval";
                }
                AppError::Device {
                    key: d.key.clone(),
                    problem,
                }
            })?;
        let known = store.device(&d.key).await?;
        if known.is_none() && store.add_device(&d.key, now_ms()).await? {
            added += 1;
        }
        let (fill, differs) = lacking(&d.patch, known.as_ref());
        if !differs.is_empty() {
            warn!(
                device = %d.key,
                fields = %differs.join(", "),
                "this device of the config differs from the registry; the registry's is kept (edit it through the API)"
            );
        }
        store.update_device(&d.key, fill).await?;
    }
    info!(
        devices = cfg.devices.len(),
        added, "devices of the config registered"
    );
    Ok(())
}

/// `[[cameras]]`: the video side of each is added when the registry lacks it (their device
/// fields were seeded with the devices); one the API edited is kept, with a warning.
async fn seed_cameras(store: &dyn Store, cfg: &HubConfig) -> Result<(), AppError> {
    if cfg.cameras.is_empty() {
        return Ok(());
    }
    let known = store.cameras().await?;
    let mut added = 0;
    for new in &cfg.cameras {
        // checked when the config was read
        let Ok(camera) = new.camera(now_ms()) else {
            continue;
        };
        match known.iter().find(|k| k.id == camera.id) {
            Some(k) if k.source_differs(&camera) || k.always_on != camera.always_on => warn!(
                camera = %camera.id,
                "this camera of the config differs from the registry; the registry's is kept (edit it through the API)"
            ),
            Some(_) => {}
            None => added += usize::from(store.insert_camera(camera).await?),
        }
    }
    info!(
        cameras = cfg.cameras.len(),
        added, "cameras of the config registered"
    );
    Ok(())
}

/// The camera sessions, one per registered camera; health goes to the shards.
async fn start_cameras(
    tasks: &Tasks,
    router: &Router,
    store: &dyn Store,
) -> Result<Cameras, AppError> {
    let cameras = Cameras::new(
        Arc::new(RtspConnector),
        router.clone(),
        CameraSettings::default(),
        tasks.input.child_token(),
    );
    for camera in store.cameras().await? {
        cameras.set(camera);
    }
    Ok(cameras)
}

/// What of `wanted` the registry's `known` lacks (an absent or empty field: a tag list or a
/// system cleared through the API counts as lacking, and the config fills it again), and the
/// fields where the registry holds something else.
fn lacking(wanted: &DevicePatch, known: Option<&Device>) -> (DevicePatch, Vec<&'static str>) {
    let Some(k) = known else {
        return (wanted.clone(), Vec::new());
    };
    let mut differs = Vec::new();
    let mut fill = |field: &'static str, have: bool, same: bool| {
        if have && !same {
            differs.push(field);
        }
        !have
    };
    let patch = DevicePatch {
        name: (wanted.name.clone())
            .filter(|n| fill("name", k.name.is_some(), k.name.as_ref() == Some(n))),
        lat: (wanted.lat).filter(|v| fill("lat", k.lat.is_some(), k.lat == Some(*v))),
        lon: (wanted.lon).filter(|v| fill("lon", k.lon.is_some(), k.lon == Some(*v))),
        // a device already known keeps its confirmation as it is
        registered: None,
        gateway: None,
        system: (wanted.system.clone())
            .filter(|s| fill("system", k.system.is_some(), k.system.as_ref() == Some(s))),
        tags: (wanted.tags.clone()).filter(|t| fill("tags", !k.tags.is_empty(), &k.tags == t)),
        areas: (wanted.areas.clone()).filter(|a| fill("areas", !k.areas.is_empty(), &k.areas == a)),
        expected_interval_s: wanted.expected_interval_s.filter(|s| {
            fill(
                "expected_interval",
                k.expected_interval_s.is_some(),
                k.expected_interval_s == Some(*s),
            )
        }),
    };
    (patch, differs)
}

/// MQTT in: the client that feeds the router and acks what the store committed.
fn start_ingest(
    tasks: &Tasks,
    cfg: &HubConfig,
    mqtt_url: &str,
    router: Router,
    storage: &Storage,
    committed: mpsc::Receiver<Vec<Ticket>>,
    health: &Arc<Health>,
) -> JoinHandle<Option<Result<(), mqtt::IngestError>>> {
    let settings = MqttSettings {
        url: mqtt_url.to_owned(),
        client_id: cfg.mqtt_client_id.clone(),
        clean_session: false,
        max_packet_bytes: crate::broker::MAX_PAYLOAD_BYTES,
        ca_file: cfg.mqtt_ca_file.clone(),
    };
    let pipeline = Pipeline {
        router,
        store: storage.writer_of(0),
        done: committed,
        limits: Limits::default(),
        catalog: Catalog::builtin(),
        health: health.clone(),
    };
    let run = mqtt::run(settings, pipeline, tasks.input.clone(), INGEST_DRAIN);
    tasks.spawn("ingest", run)
}

/// How long ingest keeps the connection open after the stop for the last acks.
const INGEST_DRAIN: Duration = Duration::from_secs(10);
