//! Backtest throughput on SQLite and on PostgreSQL (a throwaway server, as the tests start one):
//! 30 days of a station network, 1,000 devices reporting a water level every 5 minutes
//! (8.64 M readings), replayed through a rule of each kind that looks at it. The target
//! (issue 15): at least 2,000,000 readings/s on both stores.
//!
//! `cargo bench --bench backtest` (plain timing: seeding, then the best of 3 runs)

use std::sync::Arc;
use std::time::Instant;

use iochub::engine::RuleSet;
use iochub::pipeline::WriteItem;
use iochub::replay::backtest::{Progress, Request, run};
use iochub::storage::Store;
use iochub::storage::postgres::PostgresStore;
use iochub::storage::sqlite::SqliteStore;
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

const DEVICES: usize = 1_000;
const DAYS: i64 = 30;
const STEP_MS: i64 = 300_000;
const DAY: i64 = 86_400_000;
/// 2026-11-01T00:00:00Z
const FROM: i64 = 1_793_491_200_000;

const RULES: &str = r#"
[[rules]]
id = "level"
metric = "water_level"
op = ">="
value = 3.6
clear = 3.4
severity = "warning"

[[rules]]
id = "rise"
kind = "rate"
metric = "water_level"
change = 0.8
over = "1h"
severity = "warning"

[[rules]]
id = "high-day"
kind = "window"
metric = "water_level"
agg = "avg"
window = "24h"
op = ">="
value = 3.0
severity = "info"

[[rules]]
id = "odd"
kind = "anomaly"
metric = "water_level"
half_life = "6h"
k = 4
severity = "info"

[[rules]]
id = "silent"
kind = "no_data"
metric = "water_level"
for = "1h"
severity = "warning"
"#;

fn main() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).expect("store"));
    bench(&rt, "SQLite", sqlite);
    let pg = throwaway_postgres::Postgres::start();
    let postgres: Arc<dyn Store> = Arc::new(
        rt.block_on(PostgresStore::connect(&pg.url()))
            .expect("PostgreSQL store"),
    );
    bench(&rt, "PostgreSQL", postgres);
}

fn bench(rt: &tokio::runtime::Runtime, name: &str, store: Arc<dyn Store>) {
    let seeded = Instant::now();
    let n = rt.block_on(seed(store.as_ref()));
    println!(
        "{name}: seeded {n} readings in {:.1} s",
        seeded.elapsed().as_secs_f64()
    );
    let request = Request {
        rules: Arc::new(RuleSet::parse(RULES).expect("rules")),
        from_ms: FROM,
        to_ms: FROM + DAYS * DAY,
        devices: None,
    };
    let mut best = 0.0f64;
    for _ in 0..3 {
        let started = Instant::now();
        let mut quiet = |_: &Progress| {};
        let outcome = rt
            .block_on(run(store.clone(), Arc::default(), &request, &mut quiet))
            .expect("backtest");
        let secs = started.elapsed().as_secs_f64();
        assert_eq!(outcome.readings, n);
        let rate = outcome.readings as f64 / secs;
        best = best.max(rate);
        let opened: Vec<String> = outcome
            .rules
            .iter()
            .map(|r| format!("{} {}", r.id, r.opened))
            .collect();
        println!(
            "{name}: {} readings in {secs:.2} s: {:.0} readings/s ({})",
            outcome.readings,
            rate,
            opened.join(", ")
        );
    }
    println!("{name}: best {best:.0} readings/s (target 2,000,000)");
}

/// The water level of device `d` at `ts`: a daily tide with a slow flood wave every ten days,
/// a spike now and then, and a few silent hours.
fn level(d: usize, ts: i64) -> Option<f64> {
    let t = (ts - FROM) as f64 / 3_600_000.0;
    let phase = d as f64 * 0.37;
    let hour = (ts - FROM) / 3_600_000;
    if (hour + d as i64 * 7) % 500 < 2 {
        return None; // two silent hours in every 500
    }
    let spike = if (ts / STEP_MS + d as i64) % 997 == 0 {
        1.5
    } else {
        0.0
    };
    Some(
        2.0 + 0.5 * (t / 24.0 * std::f64::consts::TAU + phase).sin()
            + 1.2 * (t / 240.0 * std::f64::consts::TAU + phase).sin().max(0.0)
            + spike,
    )
}

async fn seed(store: &dyn Store) -> u64 {
    let mut n = 0u64;
    let mut batch = Vec::with_capacity(20_000);
    let mut ts = FROM;
    while ts < FROM + DAYS * DAY {
        for d in 0..DEVICES {
            if let Some(v) = level(d, ts) {
                batch.push(Reading {
                    device: format!("st-{d:04}"),
                    metric: "water_level".into(),
                    ts_ms: ts,
                    value: v,
                });
            }
        }
        if batch.len() >= 19_000 {
            n += batch.len() as u64;
            let items = vec![WriteItem::Readings(Arc::new(std::mem::take(&mut batch)))];
            store.write(Arc::new(items), ts).await.expect("write");
        }
        ts += STEP_MS;
    }
    n += batch.len() as u64;
    let items = vec![WriteItem::Readings(Arc::new(batch))];
    store.write(Arc::new(items), ts).await.expect("write");
    n
}
