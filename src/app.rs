//! Wires the pipeline — the one place that knows the whole graph — and shuts it down in order:
//! stop taking input (simulator, HTTP, MQTT) -> shards drain -> batcher and alert manager flush
//! -> the last acks go out -> disconnect.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use axum::serve::ListenerExt;
use iochub_devices::{Catalog, Limits};
use tokio::sync::{mpsc, watch};
use tracing::info;

use crate::alerts::AlertManager;
use crate::api::{self, AppState};
use crate::config::HubConfig;
use crate::engine::{RuleSet, Shard};
use crate::health::Health;
use crate::ingest::mqtt::{self, MqttSettings, Pipeline};
use crate::pipeline::{AlertChange, Router, Work};
use crate::storage::postgres::PostgresStore;
use crate::storage::sqlite::SqliteStore;
use crate::storage::{Store, StoreError, batcher};
use crate::ws::{Directory, LiveFeed};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Rules(#[from] crate::engine::RuleError),
    #[error(transparent)]
    Broker(#[from] crate::broker::BrokerError),
    #[error(transparent)]
    Ingest(#[from] crate::ingest::mqtt::IngestError),
    #[error(transparent)]
    Accounts(#[from] crate::accounts::AccountError),
    #[error("cannot listen for HTTP on {addr}: {reason}")]
    Http {
        addr: std::net::SocketAddr,
        reason: String,
    },
}

const SHARD_QUEUE: usize = 256;
const STORE_QUEUE: usize = 1024;
const ALERT_QUEUE: usize = 4096;

/// Runs the hub until `stop` resolves.
pub async fn run(
    cfg: HubConfig,
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), AppError> {
    let store: Arc<dyn Store> = match &cfg.database_url {
        Some(url) => {
            Arc::new(PostgresStore::connect_with(url, cfg.database_ca_file.as_deref()).await?)
        }
        None => Arc::new(SqliteStore::open(&cfg.data_dir)?),
    };
    let rule_set = RuleSet::load(&cfg.rules)?;
    crate::metrics::rules_reloaded(true, rule_set.len());
    let rules = Arc::new(ArcSwap::from_pointee(rule_set));
    let metrics = crate::metrics::install();
    let health = Arc::new(Health::default());
    let admin_password =
        crate::accounts::ensure_admin(store.as_ref(), std::env::var("IOCHUB_ADMIN_PASSWORD").ok())
            .await?;

    let directory = Arc::new(Directory::default());
    let known: Vec<_> = store
        .devices()
        .await?
        .into_iter()
        .map(|d| (d.key, d.lat, d.lon))
        .collect();
    directory.locate(&known);
    let live = LiveFeed::new(directory.clone());
    let (shutdown_tx, shutdown) = watch::channel(false);

    // storage and alerts
    // One batcher per shard where the store takes concurrent writes (acks still go out in
    // arrival order: the acker's watermark absorbs out-of-order commits); one for all otherwise.
    let writers = if store.parallel_writes() {
        cfg.shards
    } else {
        1
    };
    let (done_tx, done_rx) = mpsc::channel(STORE_QUEUE);
    let on_commit = {
        let live = live.clone();
        move |o: &crate::storage::WriteOutcome| live.located(&o.located)
    };
    let mut store_txs = Vec::with_capacity(writers);
    let mut batchers = Vec::with_capacity(writers);
    for _ in 0..writers {
        let (tx, rx) = mpsc::channel(STORE_QUEUE);
        store_txs.push(tx);
        let run = batcher::run(
            store.clone(),
            rx,
            done_tx.clone(),
            on_commit.clone(),
            health.clone(),
        );
        batchers.push(tokio::spawn(run));
    }
    // rollups and retention: a pass now, then every minute
    let retention = cfg.retention;
    tokio::spawn(crate::storage::maintenance::run(
        store.clone(),
        retention,
        shutdown.clone(),
    ));
    let (alert_tx, alert_rx) = mpsc::channel(ALERT_QUEUE);
    let manager = AlertManager::load(store.clone(), health.clone()).await?;
    let open_alerts = manager.open_pairs();
    let alert_manager = tokio::spawn({
        let live = live.clone();
        manager.run(alert_rx, move |alert| live.alert(alert))
    });

    // engine
    let mut shard_txs = Vec::with_capacity(cfg.shards);
    for index in 0..cfg.shards {
        let (tx, rx) = mpsc::channel(SHARD_QUEUE);
        shard_txs.push(tx);
        let shard = Shard {
            index,
            rules: rules.clone(),
            alerts: alert_tx.clone(),
            store: store_txs[index % writers].clone(),
            store_readings: cfg.store_readings,
            done: done_tx.clone(),
            live: Arc::new(live.clone()),
        };
        tokio::spawn(shard.run(rx));
    }
    // The acker ends once the batchers and the shards are gone.
    drop(done_tx);
    let router = Router::new(shard_txs);
    // Open alerts continue where they were; those whose rule is gone are resolved now.
    for (device, rule) in open_alerts {
        if rules.load().get(&rule).is_some() {
            let _ = router
                .send(router.shard_of(&device), None, Work::Seed { device, rule })
                .await;
        } else {
            let clear = AlertChange::Clear {
                rule,
                device,
                value: f64::NAN,
                ts_ms: crate::timefmt::now_ms(),
            };
            let _ = alert_tx.send(clear).await;
        }
    }
    drop(alert_tx);
    tokio::spawn(crate::engine::reload::watch(
        cfg.rules.clone(),
        rules.clone(),
        shutdown.clone(),
    ));

    // MQTT
    let mqtt_url = match &cfg.mqtt_url {
        Some(url) => url.clone(),
        None => {
            let addr = crate::broker::start(cfg.mqtt_listen)?;
            format!("mqtt://{addr}")
        }
    };
    let settings = MqttSettings {
        url: mqtt_url.clone(),
        client_id: cfg.mqtt_client_id.clone(),
        clean_session: false,
        max_packet_bytes: crate::broker::MAX_PAYLOAD_BYTES,
        ca_file: cfg.mqtt_ca_file.clone(),
    };
    let pipeline = Pipeline {
        router,
        store: store_txs[0].clone(),
        done: done_rx,
        limits: Limits::default(),
        catalog: Catalog::builtin(),
        health: health.clone(),
    };
    let ingest = tokio::spawn(mqtt::run(
        settings,
        pipeline,
        shutdown.clone(),
        Duration::from_secs(10),
    ));

    // HTTP
    let state = AppState {
        store: store.clone(),
        live,
        health,
        metrics: metrics.clone(),
        rules,
        metrics_public: cfg.metrics_public,
        assets: crate::web::Assets::new(cfg.web_dir.clone()),
        areas: cfg.areas.clone(),
        map: cfg.map.clone(),
    };
    let listener = http_listener(cfg.http).map_err(|e| AppError::Http {
        addr: cfg.http,
        reason: e.to_string(),
    })?;
    let http_addr = listener.local_addr().map_err(|e| AppError::Http {
        addr: cfg.http,
        reason: e.to_string(),
    })?;
    let mut http_stop = shutdown.clone();
    let http = tokio::spawn(async move {
        let app = api::router(state);
        // Live frames are small and sparse: without TCP_NODELAY a frame can wait for the ACK of
        // the previous one (Nagle against delayed ACK), ~40 ms on an alert.
        let listener = listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "TCP_NODELAY not set");
            }
        });
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = http_stop.changed().await;
            })
            .await;
    });
    tokio::spawn({
        let metrics = metrics.clone();
        async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                metrics.run_upkeep();
            }
        }
    });

    // simulated province
    let simulator = cfg.simulate.then(|| {
        let opts = iochub_sim::province::ProvinceOptions {
            url: mqtt_url.clone(),
            seed: cfg.seed,
            interval: Duration::from_secs(5),
            scenarios: Vec::new(),
            ..iochub_sim::province::ProvinceOptions::default()
        };
        tokio::spawn(name_stations(store.clone(), shutdown.clone()));
        tokio::spawn(iochub_sim::province::run(opts, shutdown.clone()))
    });

    info!(http = %http_addr, "HTTP listening");
    print_banner(http_addr, &mqtt_url, &cfg, admin_password.as_deref());
    stop.await;

    info!("shutting down: stopping input");
    let _ = shutdown_tx.send(true);
    if let Some(sim) = simulator {
        let _ = tokio::time::timeout(Duration::from_secs(5), sim).await;
    }
    let _ = http.await;
    if let Ok(Err(e)) = ingest.await {
        return Err(e.into());
    }
    info!("input stopped; flushing storage");
    drop(store_txs);
    for batcher in batchers {
        let _ = tokio::time::timeout(Duration::from_secs(30), batcher).await;
    }
    let _ = tokio::time::timeout(Duration::from_secs(10), alert_manager).await;
    info!("stopped");
    Ok(())
}

/// Gives the simulated stations their Vietnamese names once they have reported: the store learns
/// a device from its first reading, and the map should not show bare keys. Demo only; names an
/// operator already set are kept.
async fn name_stations(store: Arc<dyn Store>, mut shutdown: watch::Receiver<bool>) {
    let mut pending = iochub_sim::province::stations();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    // Stations that never report (none, normally) are given up after five minutes.
    for _ in 0..300 {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        let mut waiting = Vec::new();
        for station in pending {
            match store.device(station.key).await {
                Ok(Some(d)) if d.name.is_none() => {
                    let patch = crate::storage::DevicePatch {
                        name: Some(station.name.clone()),
                        ..Default::default()
                    };
                    if store.update_device(station.key, patch).await.is_err() {
                        waiting.push(station);
                    }
                }
                Ok(Some(_)) => {}
                _ => waiting.push(station),
            }
        }
        pending = waiting;
        if pending.is_empty() {
            return;
        }
    }
}

/// Per-connection kernel send buffer. A fixed size turns off Linux's autotuning (up to 4 MiB per
/// socket), so a stalled WebSocket viewer costs a bounded amount of kernel memory and falls into
/// conflation quickly. 256 KiB still fills a LAN link.
const HTTP_SEND_BUFFER: u32 = 256 * 1024;

fn http_listener(addr: std::net::SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.set_send_buffer_size(HTTP_SEND_BUFFER)?; // inherited by accepted sockets
    socket.bind(addr)?;
    socket.listen(1024)
}

fn print_banner(
    http: std::net::SocketAddr,
    mqtt: &str,
    cfg: &HubConfig,
    admin_password: Option<&str>,
) {
    let login = match admin_password {
        Some(p) => format!("admin / {p}   (generated on first start and shown only now: keep it)"),
        None => "admin / the password set on first start (IOCHUB_ADMIN_PASSWORD or the one printed then)".into(),
    };
    println!(
        "\niochub is running\n  dashboard:   http://{http}/  (video wall: http://{http}/wall/)\n  \
         HTTP API:    http://{http}/api/v1  (OpenAPI: http://{http}/api/v1/openapi.json)\n  \
         MQTT:        {mqtt}  (publish to ioc/{{device}}/telemetry)\n  data:        {}\n  rules:       {}\n  \
         log in:      {login}\n  token:       curl -s -X POST http://{http}/api/v1/auth/login -H 'content-type: application/json' \
         -d '{{\"username\":\"admin\",\"password\":\"...\"}}'\n",
        cfg.data_dir.display(),
        cfg.rules.display(),
    );
}
