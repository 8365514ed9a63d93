//! The simulated province of Cao Bằng: ~80 monitoring stations (water level, rain, air quality,
//! weather, road slopes, forests) at real places, each its own MQTT client publishing SenML
//! telemetry to the hub, with scenarios (flood, landslide, forest fire, air pollution, stations
//! going silent, a wrong clock, malformed payloads) that raise alerts within a minute of start.
//! Everything published is a pure function of (seed, station, time since start, wall clock).
//!
//! Layout: `stations` (the inventory) -> `signal` (normal weather, a pure function of station, time
//! and seed) -> `scenario` (what is happening when, and how it bends readings) -> `senml` and
//! `garbage` (payloads) -> `client` (one MQTT life per station). `rules` writes the matching sample
//! rules file. Every station task is bounded: one message per interval plus the garbage it owes,
//! never queued while disconnected.

mod client;
pub mod garbage;
mod rng;
pub mod rules;
pub mod scenario;
pub mod senml;
pub mod signal;
pub mod stations;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::{error, info};

pub use rules::rules_toml;
pub use scenario::{
    ClockFault, DEFAULT_GARBAGE_RATE, Effect, Episode, Milestone, ScenarioKind, Schedule,
};
pub use signal::{Reading, aqi_from_pm25, sample};
pub use stations::{AlarmLevels, Metric, River, Station, StationKind, stations};

/// Hand-drawn boundaries of the simulated province and of the wards (`level: ward`, phường) and
/// communes (`level: commune`, xã) that hold its stations (GeoJSON, `illustrative: true`): real
/// names, schematic shapes; context for the map, not official administrative boundaries.
pub const AREAS_GEOJSON: &str = include_str!("../../data/cao-bang-areas.geojson");

/// How to run the province.
#[derive(Debug, Clone)]
pub struct ProvinceOptions {
    /// `mqtt://host:port[?client_id=..]`; each station replaces `client_id` with its key.
    pub url: String,
    pub seed: u64,
    /// Publish period per station.
    pub interval: Duration,
    /// Scenario names to schedule (see `scenario::catalogue`, plus `all` and `none`); empty = all,
    /// on the default schedule.
    pub scenarios: Vec<String>,
    /// Scenario names to start at once, once each; they repeat only if also scheduled.
    pub triggers: Vec<String>,
    /// Malformed messages per second (all garbage loggers together) during `garbage` episodes.
    pub garbage_rate: f64,
    /// Station key -> MQTT password (the username is the key), for a broker that wants them.
    pub passwords: std::collections::HashMap<String, String>,
}

impl Default for ProvinceOptions {
    fn default() -> Self {
        ProvinceOptions {
            url: "mqtt://127.0.0.1:1883".to_owned(),
            seed: 0,
            interval: Duration::from_secs(5),
            scenarios: Vec::new(),
            triggers: Vec::new(),
            garbage_rate: DEFAULT_GARBAGE_RATE,
            passwords: Default::default(),
        }
    }
}

/// Above this the loggers' request queues would drop most of it anyway.
pub const MAX_GARBAGE_RATE: f64 = 1000.0;

#[derive(Debug, thiserror::Error)]
pub enum ProvinceError {
    #[error("invalid MQTT URL {url:?}: {source}")]
    Url {
        url: String,
        source: rumqttc::OptionError,
    },
    #[error("unknown scenario {0:?} (known: {known})", known = scenario::known_names())]
    UnknownScenario(String),
    #[error("garbage rate must be between 0 and {MAX_GARBAGE_RATE} messages per second, not {0}")]
    GarbageRate(f64),
    #[error("publish interval must be greater than zero")]
    ZeroInterval,
    #[error("{failed} station task(s) failed: {first}")]
    Task {
        failed: usize,
        first: tokio::task::JoinError,
    },
}

/// Runs every station until `shutdown` becomes true, then says `offline` and disconnects each.
/// Returns once all stations have stopped.
pub async fn run(
    opts: ProvinceOptions,
    shutdown: watch::Receiver<bool>,
) -> Result<(), ProvinceError> {
    let kinds =
        scenario::parse_scenarios(&opts.scenarios).map_err(ProvinceError::UnknownScenario)?;
    let triggers =
        scenario::parse_triggers(&opts.triggers).map_err(ProvinceError::UnknownScenario)?;
    if opts.interval.is_zero() {
        return Err(ProvinceError::ZeroInterval);
    }
    if !(0.0..=MAX_GARBAGE_RATE).contains(&opts.garbage_rate) {
        return Err(ProvinceError::GarbageRate(opts.garbage_rate));
    }
    // Fail now on a bad URL, not once per station.
    client::mqtt_options(&opts.url, "iochub-sim")?;
    let all = stations();
    let schedule = Schedule::with_triggers(&all, opts.seed, &kinds, &triggers)
        .with_garbage_rate(opts.garbage_rate);
    let names = |kinds: &[ScenarioKind]| kinds.iter().map(|k| k.name()).collect::<Vec<_>>();
    info!(
        stations = all.len(),
        seed = opts.seed,
        scenarios = ?names(&kinds),
        triggered = ?names(&triggers),
        garbage_rate = opts.garbage_rate,
        interval = ?opts.interval,
        "simulated province of Cao Bằng starting"
    );
    let fleet = Arc::new(client::Fleet {
        url: opts.url,
        passwords: opts.passwords,
        seed: opts.seed,
        interval: opts.interval,
        schedule,
        start: Instant::now(),
    });
    let mut tasks = JoinSet::new();
    for index in 0..all.len() {
        tasks.spawn(client::run_station(fleet.clone(), index, shutdown.clone()));
    }
    tasks.spawn(narrate(fleet, shutdown));
    let mut failures = Vec::new();
    while let Some(done) = tasks.join_next().await {
        if let Err(failure) = done {
            error!(error = %failure, "station task failed");
            failures.push(failure);
        }
    }
    info!("simulated province stopped");
    let failed = failures.len();
    match failures.into_iter().next() {
        Some(first) => Err(ProvinceError::Task { failed, first }),
        None => Ok(()),
    }
}

/// Logs scenario milestones as they happen: starts, alarm levels passed, stations silent or back.
async fn narrate(fleet: Arc<client::Fleet>, mut shutdown: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(Duration::from_millis(500));
    let mut told = -1.0;
    while !*shutdown.borrow() {
        tokio::select! {
            changed = shutdown.changed() => if changed.is_err() || *shutdown.borrow() { return },
            _ = ticker.tick() => {}
        }
        let now = fleet.start.elapsed().as_secs_f64();
        for m in fleet.schedule.milestones(told, now) {
            info!(scenario = m.scenario, station = m.station, name = %m.station_name, "{}", m.what);
        }
        told = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(scenarios: &[&str], interval: Duration) -> ProvinceOptions {
        ProvinceOptions {
            scenarios: scenarios.iter().map(|s| s.to_string()).collect(),
            interval,
            ..ProvinceOptions::default()
        }
    }

    #[tokio::test]
    async fn bad_options_fail_before_any_connection() {
        let (_tx, rx) = watch::channel(false);
        let unknown = run(options(&["tsunami"], Duration::from_secs(5)), rx.clone()).await;
        let Err(error) = unknown else {
            panic!("{unknown:?}")
        };
        assert!(matches!(&error, ProvinceError::UnknownScenario(name) if name == "tsunami"));
        // The message lists what would have worked.
        let message = error.to_string();
        for kind in ScenarioKind::ALL {
            assert!(message.contains(kind.name()), "{message}");
        }
        let trigger = ProvinceOptions {
            triggers: vec!["flood".into(), "earthquake".into()],
            ..ProvinceOptions::default()
        };
        let unknown = run(trigger, rx.clone()).await;
        assert!(
            matches!(unknown, Err(ProvinceError::UnknownScenario(name)) if name == "earthquake")
        );
        for rate in [-1.0, f64::NAN, 1e9] {
            let garbage = ProvinceOptions {
                garbage_rate: rate,
                ..ProvinceOptions::default()
            };
            let refused = run(garbage, rx.clone()).await;
            assert!(
                matches!(refused, Err(ProvinceError::GarbageRate(_))),
                "{rate}"
            );
        }
        let zero = run(options(&[], Duration::ZERO), rx.clone()).await;
        assert!(matches!(zero, Err(ProvinceError::ZeroInterval)));
        let url = ProvinceOptions {
            url: "http://nope".into(),
            ..ProvinceOptions::default()
        };
        assert!(matches!(run(url, rx).await, Err(ProvinceError::Url { .. })));
    }

    #[tokio::test]
    async fn an_early_shutdown_returns_at_once() {
        let (_tx, rx) = watch::channel(true);
        // Port 9 (discard) on loopback: nothing should even be tried before shutdown is seen.
        let opts = ProvinceOptions {
            url: "mqtt://127.0.0.1:9".into(),
            ..ProvinceOptions::default()
        };
        let done = tokio::time::timeout(Duration::from_secs(5), run(opts, rx)).await;
        assert!(matches!(done, Ok(Ok(()))), "{done:?}");
    }
}
