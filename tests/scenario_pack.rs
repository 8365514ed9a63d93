//! The emergency scenario pack end to end: the demo's rules file (`rules/cao-bang.toml`) on a
//! running hub, the province simulator publishing over MQTT with every scenario that has rules of
//! its own started at once, and each scenario's rules firing at the stations the scenario picked
//! (known from the same seeded schedule): a flood's alarm levels and rapid rise, a landslide's 24 h
//! and 72 h rain sums, a forest fire's compound weather and smoke, air pollution's 1 h and 24 h
//! means, a silent station, a group of stations cut off together, and a stuck then jumping
//! sensor. Normal weather elsewhere fires nothing.

mod support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use iochub_sim::province::scenario::{Role, ScenarioKind, Schedule};
use iochub_sim::province::{self, ProvinceOptions, stations};
use serde_json::Value;
use support::*;

const SEED: u64 = 11;
/// Started with the simulator.
const TRIGGERED: [ScenarioKind; 4] = [
    ScenarioKind::Flood,
    ScenarioKind::Landslide,
    ScenarioKind::ForestFire,
    ScenarioKind::AirPollution,
];
/// Scheduled, so that they start 10, 20 and 30 s in: a silence is only noticed for a station
/// once heard, and an anomaly only after the rule's warm-up (the fault's jump comes 100 s in).
const SCHEDULED: [ScenarioKind; 3] = [
    ScenarioKind::StationSilent,
    ScenarioKind::SensorFault,
    ScenarioKind::Outage,
];
/// The last rule fires ~220 s in (the stuck sensor); the rest well before.
const DEADLINE: Duration = Duration::from_secs(300);

/// `rule device` of every alert the scenarios must raise.
fn expected(schedule: &Schedule) -> BTreeSet<String> {
    let key = |i: usize| schedule.stations()[i].key;
    let mut out = BTreeSet::new();
    let expect = |out: &mut BTreeSet<String>, rules: &[&str], station: usize| {
        for rule in rules {
            out.insert(format!("{rule} {}", key(station)));
        }
    };
    for kind in TRIGGERED.iter().chain(&SCHEDULED) {
        let e = schedule
            .episode(*kind, 0)
            .unwrap_or_else(|| panic!("no {kind:?} episode"));
        let lead = e.targets[0].station;
        match kind {
            ScenarioKind::Flood => {
                let gauges: Vec<usize> = e
                    .targets
                    .iter()
                    .filter(|t| matches!(t.role, Role::Gauge { .. }))
                    .map(|t| t.station)
                    .collect();
                assert!(gauges.len() >= 2, "{e:?}");
                // the first gauge peaks past level III; every one rises fast past level I
                out.insert(format!("flood-l3-{k} {k}", k = key(gauges[0])));
                for g in gauges {
                    out.insert(format!("flood-l1-{k} {k}", k = key(g)));
                    out.insert(format!("flood-rise {}", key(g)));
                }
            }
            ScenarioKind::Landslide => expect(
                &mut out,
                &[
                    "landslide-rain-24h",
                    "landslide-rain-72h",
                    "landslide-rain-72h-critical",
                ],
                lead,
            ),
            ScenarioKind::ForestFire => expect(&mut out, &["fire-weather", "fire-smoke"], lead),
            ScenarioKind::AirPollution => expect(
                &mut out,
                &["pm25-1h", "pm25-24h-qcvn05", "pm25-very-unhealthy"],
                lead,
            ),
            ScenarioKind::StationSilent => expect(&mut out, &["equipment-silent"], lead),
            ScenarioKind::Outage => {
                assert!(e.targets.len() >= 4, "{e:?}");
                for t in &e.targets {
                    expect(&mut out, &["equipment-silent"], t.station);
                }
            }
            ScenarioKind::SensorFault => {
                expect(&mut out, &["equipment-stuck", "equipment-anomaly"], lead)
            }
            other => panic!("{other:?} has no rules of its own"),
        }
    }
    out
}

/// Every alert so far, as `rule device`.
async fn alerts(hub: &Hub) -> BTreeSet<String> {
    let (status, list) = hub.get("/api/v1/alerts?limit=1000").await;
    assert_eq!(status, 200, "{list}");
    list.as_array()
        .map(|a| {
            a.iter()
                .map(|x| format!("{} {}", text(x, "rule"), text(x, "device")))
                .collect()
        })
        .unwrap_or_default()
}

fn text<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_fires_its_rules_end_to_end() {
    let rules =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/rules/cao-bang.toml"))
            .expect("the scenario pack");
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start(dir.path(), &rules).await;

    let all = stations();
    let schedule = Schedule::with_triggers(&all, SEED, &SCHEDULED, &TRIGGERED);
    let want = expected(&schedule);
    // the stations the scenarios touch, rained on or not: only they may raise anything
    // (a scheduled scenario comes back after its period: its second round counts too)
    let touched: BTreeSet<&str> = TRIGGERED
        .iter()
        .map(|k| (k, 0))
        .chain(SCHEDULED.iter().flat_map(|k| [(k, 0), (k, 1)]))
        .filter_map(|(k, cycle)| schedule.episode(*k, cycle))
        .flat_map(|e| e.targets.into_iter().map(|t| all[t.station].key))
        .collect();
    let plan = &schedule;
    let silenced: BTreeSet<String> = (0..2)
        .flat_map(|cycle| {
            [ScenarioKind::StationSilent, ScenarioKind::Outage]
                .into_iter()
                .filter_map(move |k| plan.episode(k, cycle))
        })
        .flat_map(|e| e.targets)
        .map(|t| format!("equipment-silent {}", all[t.station].key))
        .collect();

    let name = |k: &ScenarioKind| k.name().to_owned();
    let opts = ProvinceOptions {
        url: hub.mqtt_url(),
        seed: SEED,
        interval: Duration::from_secs(5),
        scenarios: SCHEDULED.iter().map(name).collect(),
        triggers: TRIGGERED.iter().map(name).collect(),
        garbage_rate: 0.0,
        ..ProvinceOptions::default()
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let sim = tokio::spawn(province::run(opts, stopped));

    let started = Instant::now();
    let mut seen = BTreeSet::new();
    while started.elapsed() < DEADLINE && !want.is_subset(&seen) {
        tokio::time::sleep(Duration::from_secs(2)).await;
        seen = alerts(&hub).await;
    }
    let _ = stop.send(true);
    let ended = tokio::time::timeout(Duration::from_secs(30), sim).await;
    assert!(
        matches!(ended, Ok(Ok(Ok(())))),
        "the simulator stops cleanly: {ended:?}"
    );

    let missing: Vec<_> = want.difference(&seen).collect();
    assert!(
        missing.is_empty(),
        "after {:?}, missing {missing:?}; seen {seen:?}\n{}",
        started.elapsed(),
        hub.log()
    );
    // the anomaly is the barometer's jump (25 hPa down)
    let (_, list) = hub.get("/api/v1/alerts?limit=1000").await;
    let jumps: Vec<f64> = list
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|x| x["rule"] == "equipment-anomaly")
                .filter_map(|x| x["value"].as_f64())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        !jumps.is_empty() && jumps.iter().all(|&v| v < 990.0),
        "the anomaly alerts' readings: {jumps:?}"
    );
    let stray: Vec<_> = seen
        .iter()
        .filter(|a| {
            let device = a.split(' ').nth(1).unwrap_or_default();
            !touched.contains(device)
        })
        .collect();
    assert!(
        stray.is_empty(),
        "normal weather raised {stray:?} (scenario stations: {touched:?})"
    );
    // equipment alerts only where a fault was staged
    let faults: Vec<_> = seen
        .iter()
        .filter(|a| a.starts_with("equipment-") && !want.contains(*a) && !silenced.contains(*a))
        .collect();
    assert!(
        faults.is_empty(),
        "equipment alerts without a fault: {faults:?}"
    );
}
