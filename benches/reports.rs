//! A month's reports for 10,000 devices, on SQLite and on PostgreSQL (a throwaway server, as the
//! tests start one): November 2026 seeded with what a busy province leaves in the tables the
//! reports read — 10,000 devices in 5 connected systems, their 300,000 day tallies, 10,000
//! silences, 20,000 refused messages, and 10,000 alerts with their timelines (acknowledged,
//! dispatched to one of 10 agencies, resolved) — then each report computed several times.
//! The target (issue 17): under 2 s each on both stores.
//!
//! `cargo bench --bench reports` (plain timing: the median of 5 runs after one warm-up)

use std::sync::Arc;
use std::time::{Duration, Instant};

use iochub::alerts::model::{Alert, AlertEvent, AlertState, AlertWrite, Source};
use iochub::calendar::{Period, Zone};
use iochub::pipeline::supply::{LATENCY_BUCKETS, SupplyDay, SupplyDelta, SupplyGap};
use iochub::pipeline::{DeadLetter, Severity, WriteItem};
use iochub::reports::supply::Thresholds;
use iochub::reports::{Letterhead, Reports};
use iochub::storage::Store;
use iochub::storage::postgres::PostgresStore;
use iochub::storage::sqlite::SqliteStore;
use iochub::systems::System;
use iochub_devices::Reading;

/// The tests' throwaway PostgreSQL server (`initdb` in a temp dir, a held port).
#[path = "../tests/support/postgres.rs"]
#[allow(dead_code)] // the fault-injection half is for the tests
mod throwaway_postgres;

/// For `throwaway_postgres`, which finds `PortHold` in its parent module.
#[path = "../tests/support/port.rs"]
#[allow(dead_code)]
mod port;
use port::PortHold;

const DEVICES: usize = 10_000;
const ALERTS: usize = 10_000;
const REFUSED: usize = 20_000;
const DAY: i64 = 86_400_000;
const SYSTEMS: [&str; 5] = ["water", "air", "weather", "slope", "camera"];

fn main() {
    tally_cost();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).expect("store"));
    run(&rt, "SQLite", sqlite);
    let pg = throwaway_postgres::Postgres::start();
    let postgres: Arc<dyn Store> = Arc::new(
        rt.block_on(PostgresStore::connect(&pg.url()))
            .expect("PostgreSQL store"),
    );
    run(&rt, "PostgreSQL", postgres);
}

fn run(rt: &tokio::runtime::Runtime, name: &str, store: Arc<dyn Store>) {
    let zone = Zone::default();
    let period = Period::parse("2026-11", zone).expect("period");
    let seeded = Instant::now();
    rt.block_on(seed(store.as_ref(), &period));
    println!("{name}: seeded in {:.1} s", seeded.elapsed().as_secs_f64());
    let reports = Reports::new(
        store,
        Arc::new(iochub::areas::Areas::default()),
        Letterhead {
            zone,
            province: Some("Cao Bằng".into()),
            thresholds: Thresholds {
                live_within_ms: 300_000,
                outage_after_ms: 3_600_000,
            },
        },
    );
    let now = period.to_ms + DAY;
    let handling = time(|| {
        let r = rt.block_on(reports.handling(&period)).expect("handling");
        assert_eq!(r.total, ALERTS as u64);
    });
    let supply = time(|| {
        let r = rt.block_on(reports.supply(&period, now)).expect("supply");
        assert_eq!(r.devices.len(), DEVICES);
    });
    println!(
        "{name}: handling report of a month, {ALERTS} alerts: median {:.0} ms (min {:.0}, max {:.0})",
        handling.0, handling.1, handling.2
    );
    println!(
        "{name}: data-supply report of a month, {DEVICES} devices: median {:.0} ms (min {:.0}, max {:.0})",
        supply.0, supply.1, supply.2
    );
}

/// What the batcher's supply tally adds per committed reading: batches of 20,000 readings of
/// 5,000 devices (4 each, one pack per device), as at full load.
fn tally_cost() {
    use iochub::storage::supply::{SupplySettings, SupplyTally};
    let mut tally = SupplyTally::new(SupplySettings::default());
    let t0 = iochub::timefmt::parse_rfc3339("2026-11-10T00:00:00Z").expect("time");
    let batches: Vec<Vec<WriteItem>> = (0..50)
        .map(|b| {
            (0..5_000)
                .map(|d| {
                    let ts = t0 + b * 10_000;
                    let pack =
                        ["water_level", "rain_1h", "temperature", "humidity"].map(|m| Reading {
                            device: device(d),
                            metric: m.into(),
                            ts_ms: ts,
                            value: 1.0,
                        });
                    WriteItem::Readings(Arc::new(pack.to_vec()))
                })
                .collect()
        })
        .collect();
    let outcome = iochub::storage::WriteOutcome::default();
    let started = Instant::now();
    for (b, items) in batches.iter().enumerate() {
        tally.committed(items, &outcome, t0 + b as i64 * 10_000 + 500);
        if b % 10 == 9 {
            std::hint::black_box(tally.take());
        }
    }
    let per = started.elapsed().as_secs_f64() * 1e9 / (50.0 * 20_000.0);
    println!(
        "supply tally: {per:.0} ns per committed reading (50 batches of 20,000, 5,000 devices)"
    );
}

/// (median, min, max) in ms of 5 runs after a warm-up.
fn time(mut f: impl FnMut()) -> (f64, f64, f64) {
    f();
    let mut ms: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    (ms[2], ms[0], ms[4])
}

fn device(i: usize) -> String {
    format!("{}-{i:05}", SYSTEMS[i % SYSTEMS.len()])
}

async fn seed(store: &dyn Store, period: &Period) {
    let ms = |d: Duration| d.as_millis() as i64;
    let before = period.from_ms - DAY;
    for s in SYSTEMS {
        let system = System {
            id: s.into(),
            name: format!("Hệ thống {s}"),
            owner: Some("Sở Nông nghiệp và Môi trường".into()),
            expected_interval_s: (s != "camera").then_some(300.0),
            devices: vec![format!("{s}-*")],
            created_at: 0,
            updated_at: 0,
        };
        store.insert_system(system).await.expect("system");
    }
    // Every device reported once the day before the month (registered, first seen).
    let first: Vec<Reading> = (0..DEVICES)
        .flat_map(|i| {
            ["water_level", "rain_1h"].map(|metric| Reading {
                device: device(i),
                metric: metric.into(),
                ts_ms: before,
                value: 1.0,
            })
        })
        .collect();
    let items = vec![WriteItem::Readings(Arc::new(first))];
    store.write(Arc::new(items), before).await.expect("devices");

    // Each device's day tallies: 2 metrics every 5 minutes, a few missing, all live but some.
    let mut days = Vec::with_capacity(DEVICES * 30);
    for (n, date) in period.each_day().enumerate() {
        let start = Zone::default().midnight(date);
        for i in 0..DEVICES {
            let received = 576 - ((i + n) % 7) as u64;
            let mut latency = [0u64; LATENCY_BUCKETS];
            latency[1] = received - 10;
            latency[8] = 10;
            days.push(SupplyDay {
                device: device(i),
                day: date.to_string(),
                received,
                duplicates: (i % 3) as u64,
                live: received - 10,
                latency,
                first_ts: start,
                last_ts: start + DAY - 300_000,
                metrics: 2,
                interval_ms: Some(300_000),
            });
        }
    }
    let gaps: Vec<SupplyGap> = (0..DEVICES)
        .map(|i| SupplyGap {
            device: device(i),
            from_ms: period.from_ms + (i as i64 % 29) * DAY + 3_600_000,
            to_ms: period.from_ms + (i as i64 % 29) * DAY + 3 * 3_600_000,
        })
        .collect();
    for chunk in days.chunks(20_000) {
        let delta = SupplyDelta {
            days: chunk.to_vec(),
            gaps: Vec::new(),
        };
        store
            .write(Arc::new(vec![WriteItem::Supply(delta)]), before)
            .await
            .expect("days");
    }
    let delta = SupplyDelta {
        days: Vec::new(),
        gaps,
    };
    store
        .write(Arc::new(vec![WriteItem::Supply(delta)]), before)
        .await
        .expect("gaps");
    let refused: Vec<DeadLetter> = (0..REFUSED)
        .map(|i| DeadLetter {
            id: None,
            received_at: period.from_ms + (i as i64 * 127_000) % (30 * DAY),
            topic: format!("ioc/{}/telemetry", device(i % DEVICES)),
            reason: ["malformed_json", "out_of_range", "unit_mismatch"][i % 3].into(),
            detail: "seeded".into(),
            payload: "{".into(),
        })
        .collect();
    for chunk in refused.chunks(5_000) {
        let items = vec![WriteItem::DeadLetters(chunk.to_vec())];
        store.write(Arc::new(items), before).await.expect("refused");
    }

    // Alerts: opened through the month; most acknowledged, dispatched and resolved.
    let writes: Vec<AlertWrite> = (0..ALERTS)
        .map(|i| {
            let created = period.from_ms + (i as i64 * 259_000) % (30 * DAY);
            let agency = format!("agency-{}", i % 10);
            let (ack, dispatch, resolve) = (
                created + ms(Duration::from_secs(60 + (i % 900) as u64)),
                created + ms(Duration::from_secs(600 + (i % 1800) as u64)),
                created + ms(Duration::from_secs(3600 + (i % 36_000) as u64)),
            );
            let handled = i % 10 != 0;
            let mut events = vec![AlertEvent::new(created, "system", "opened")];
            let mut alert = Alert {
                category: Some(
                    ["flood", "landslide", "forest_fire", "air_pollution"][i % 4].into(),
                ),
                ack_deadline: Some(created + 900_000),
                resolve_deadline: Some(created + 4 * 3_600_000),
                areas: vec![format!("area-{}", i % 40)],
                ..Alert::new(
                    Source::Rule,
                    &format!("rule-{}", i % 50),
                    &device(i % DEVICES),
                    [Severity::Critical, Severity::Warning, Severity::Info][i % 3],
                    created,
                )
            };
            if handled {
                events.push(
                    AlertEvent::new(ack, "op", "acknowledge")
                        .moved(AlertState::Open, AlertState::Acknowledged),
                );
                events.push(
                    AlertEvent::new(dispatch, "op", "dispatch")
                        .moved(AlertState::Acknowledged, AlertState::Dispatched)
                        .detail(serde_json::json!({ "agencies": [agency] })),
                );
                events.push(
                    AlertEvent::new(resolve, "handler", "resolve")
                        .moved(AlertState::Dispatched, AlertState::Resolved),
                );
                alert = Alert {
                    state: AlertState::Resolved,
                    acknowledged_at: Some(ack),
                    dispatched_at: Some(dispatch),
                    resolved_at: Some(resolve),
                    resolution: Some("handled".into()),
                    agency: Some(agency.clone()),
                    agencies: vec![agency],
                    ..alert
                };
            }
            AlertWrite {
                new: true,
                alert,
                events,
                deliveries: Vec::new(),
                attachments: Vec::new(),
            }
        })
        .collect();
    for chunk in writes.chunks(1_000) {
        store
            .save_alerts(Arc::new(chunk.to_vec()))
            .await
            .expect("alerts");
    }
}
