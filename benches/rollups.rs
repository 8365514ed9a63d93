//! Rollups on SQLite and on PostgreSQL (a throwaway server, as the tests start one): a 30-day
//! range at a 1-hour step for one series, answered from raw readings (before any rollup pass) and
//! from `readings_1h` (after one), and what a rollup pass costs.
//!
//! `cargo bench --bench rollups -- --noplot`

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use iochub::pipeline::WriteItem;
use iochub::storage::postgres::PostgresStore;
use iochub::storage::rollup::RetentionPolicy;
use iochub::storage::sqlite::SqliteStore;
use iochub::storage::{ReadingsQuery, Store};
use iochub_devices::Reading;

const DAY: i64 = 86_400_000;
/// One reading every 10 s for 30 days: 259,200 readings.
const EVERY_MS: i64 = 10_000;

/// The tests' throwaway PostgreSQL server (`initdb` in a temp dir, a held port).
#[path = "../tests/support/postgres.rs"]
#[allow(dead_code)] // the fault-injection half is for the tests
mod throwaway_postgres;

/// For `throwaway_postgres`, which finds `PortHold` in its parent module.
#[path = "../tests/support/port.rs"]
#[allow(dead_code)]
mod port;
use port::PortHold;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = SqliteStore::open(dir.path()).expect("store");
    measure(c, &rt, "SQLite", &sqlite);
    let pg = throwaway_postgres::Postgres::start();
    let postgres = rt
        .block_on(PostgresStore::connect(&pg.url()))
        .expect("PostgreSQL store");
    measure(c, &rt, "PostgreSQL", &postgres);
}

fn measure(c: &mut Criterion, rt: &tokio::runtime::Runtime, name: &str, store: &dyn Store) {
    let now = iochub::timefmt::now_ms() / DAY * DAY;
    let start = now - 30 * DAY;
    let readings: Vec<Reading> = (0..30 * DAY / EVERY_MS)
        .map(|i| Reading {
            device: "wl-01".into(),
            metric: "water_level".into(),
            ts_ms: start + i * EVERY_MS,
            value: (i % 600) as f64 / 100.0,
        })
        .collect();
    let n = readings.len();
    rt.block_on(async {
        for chunk in readings.chunks(20_000) {
            store
                .write(
                    Arc::new(vec![WriteItem::Readings(Arc::new(chunk.to_vec()))]),
                    now,
                )
                .await
                .expect("write");
        }
    });
    let query = || ReadingsQuery {
        device: "wl-01".into(),
        metric: "water_level".into(),
        from_ms: start,
        to_ms: now,
        step_ms: Some(3_600_000),
        limit: 100_000,
    };
    let mut g = c.benchmark_group(format!("{name}: 30 days of {n} readings at a 1 h step"));
    g.sample_size(20).measurement_time(Duration::from_secs(5));
    g.bench_function("raw (no rollups yet)", |b| {
        b.iter(|| rt.block_on(store.readings(query())).expect("query"))
    });
    // The first pass rolls all 30 days; its time is the write cost of keeping rollups for them.
    let policy = RetentionPolicy {
        raw_days: 0,
        rollup_days: 0,
    };
    let t = Instant::now();
    let report = rt
        .block_on(store.maintain(now + 3_600_000, &policy))
        .expect("maintain");
    println!(
        "{name}: rollup pass over {n} readings: {:?} ({} 1-min and {} 1-h buckets)",
        t.elapsed(),
        report.buckets_1m,
        report.buckets_1h
    );
    g.bench_function("from readings_1h", |b| {
        b.iter(|| rt.block_on(store.readings(query())).expect("query"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
