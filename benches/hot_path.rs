//! Hot-path benchmarks, per reading, on one core: decode (+ validation), routing, rule evaluation,
//! the three together, and the batch encoding of the PostgreSQL write. Every iteration handles one
//! 10-reading message (a 10,000-reading batch for the encoding), so criterion reports readings/s
//! as elements/s.
//!
//! Run: `cargo bench --bench hot_path -- --noplot`

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use iochub::engine::{Evaluator, RuleSet};
use iochub::pipeline::{AlertChange, Router, ShardInput};
use iochub_devices::{Catalog, Limits, Reading, decode};
use tokio::sync::mpsc;

/// Readings per message (and per benchmark iteration).
const PER_MSG: u64 = 10;
/// Distinct devices the evaluator and pipeline benchmarks cycle through.
const DEVICES: usize = 1000;
/// Seconds between two messages of one device, in reading time.
const REPORT_EVERY_MS: i64 = 10_000;

/// (metric, SenML unit, usual value below every threshold of `rules/cao-bang.toml`,
/// value breaching that file's rules on the metric, if it has any).
const METRICS: [(&str, &str, f64, Option<f64>); 10] = [
    ("water_level", "m", 2.5, Some(7.0)),
    ("rain_1h", "mm", 1.5, Some(60.0)),
    ("rain_24h", "mm", 20.0, Some(180.0)),
    ("temperature", "Cel", 24.5, Some(39.0)),
    ("humidity", "%RH", 78.0, None),
    ("pressure", "hPa", 1008.2, None),
    ("wind_speed", "m/s", 3.2, Some(20.0)),
    ("pm2_5", "ug/m3", 18.0, Some(160.0)),
    ("pm10", "ug/m3", 30.0, None),
    ("aqi", "", 45.0, None),
];

fn now_ms() -> i64 {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis();
    // whole seconds, so that SenML `bt` and the flat `ts` are exact
    (ms as i64 / 1000) * 1000
}

fn rules() -> Arc<RuleSet> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/cao-bang.toml");
    Arc::new(RuleSet::load(&path).expect("rules/cao-bang.toml is valid"))
}

/// 1000 device keys: the water-level stations named by the rules file (so that their
/// device-scoped rules apply), then generic stations.
fn devices(rules: &RuleSet) -> Vec<String> {
    let mut out: Vec<String> = rules
        .rules
        .iter()
        .filter_map(|r| r.devices.as_ref())
        .flatten()
        .cloned()
        .collect();
    out.sort();
    out.dedup();
    let stations = out.len();
    out.extend((stations..DEVICES).map(|i| format!("cb-aws-{i:04}")));
    out
}

/// The SenML pack of one device: `bn` + `bt` on the first record, 10 metrics with units.
fn senml(device: &str, now_ms: i64) -> String {
    let mut s = String::from("[");
    for (i, (metric, unit, value, _)) in METRICS.iter().enumerate() {
        if i == 0 {
            s.push_str(&format!(r#"{{"bn":"{device}/","bt":{},"#, now_ms / 1000));
        } else {
            s.push_str(",{");
        }
        s.push_str(&format!(r#""n":"{metric}","#));
        if !unit.is_empty() {
            s.push_str(&format!(r#""u":"{unit}","#));
        }
        s.push_str(&format!(r#""v":{value}}}"#));
    }
    s.push(']');
    s
}

/// The same 10 metrics as flat JSON: `{"ts": ms, "water_level": 2.5, ...}`.
fn flat(now_ms: i64) -> String {
    let mut s = format!(r#"{{"ts":{now_ms}"#);
    for (metric, _, value, _) in METRICS {
        s.push_str(&format!(r#","{metric}":{value}"#));
    }
    s.push('}');
    s
}

/// One message of readings per device; with `breach`, exactly one reading of each message (10%)
/// crosses a rule that applies to its device.
fn messages(rules: &RuleSet, devices: &[String], ts_ms: i64, breach: bool) -> Vec<Vec<Reading>> {
    devices
        .iter()
        .enumerate()
        .map(|(d, device)| {
            let breachable: Vec<usize> = (0..METRICS.len())
                .filter(|&m| {
                    METRICS[m].3.is_some()
                        && rules.applicable(METRICS[m].0, device).next().is_some()
                })
                .collect();
            let hot = breach.then(|| breachable[d % breachable.len()]);
            METRICS
                .iter()
                .enumerate()
                .map(|(m, (metric, _, usual, high))| Reading {
                    device: device.clone(),
                    metric: (*metric).to_owned(),
                    ts_ms,
                    value: if hot == Some(m) {
                        high.expect("breachable")
                    } else {
                        *usual
                    },
                })
                .collect()
        })
        .collect()
}

fn router() -> Router {
    Router::new((0..2).map(|_| mpsc::channel::<ShardInput>(1).0).collect())
}

fn bench_decode(c: &mut Criterion) {
    let now = now_ms();
    let limits = Limits::default();
    let catalog = Catalog::builtin();
    let senml = senml("wl-01", now);
    let flat = flat(now);
    for payload in [&senml, &flat] {
        let d = decode("wl-01", payload.as_bytes(), now, &limits, &catalog);
        assert_eq!(
            (d.readings.len(), d.rejects.len()),
            (PER_MSG as usize, 0),
            "{payload}: {d:?}"
        );
    }

    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(PER_MSG));
    g.bench_function("senml_10", |b| {
        b.iter(|| decode("wl-01", black_box(senml.as_bytes()), now, &limits, &catalog))
    });
    g.bench_function("flat_10", |b| {
        b.iter(|| decode("wl-01", black_box(flat.as_bytes()), now, &limits, &catalog))
    });
    g.finish();
}

/// How the evaluator's input varies from one pass over the 1000 devices to the next.
#[derive(Clone, Copy)]
enum Load {
    /// Every value below every threshold.
    Quiet,
    /// 10% of readings over a threshold, every pass: their alerts fire once, then stay open.
    Breach10,
    /// 10% of readings over a threshold every other pass: a fire and a clear per breach.
    Flapping10,
}

fn bench_evaluate(c: &mut Criterion) {
    let rules = rules();
    let devices = devices(&rules);
    let t0 = now_ms();
    let quiet = messages(&rules, &devices, t0, false);
    let hot = messages(&rules, &devices, t0, true);

    let mut g = c.benchmark_group("evaluate");
    g.throughput(Throughput::Elements(PER_MSG));
    for (name, load) in [
        ("quiet", Load::Quiet),
        ("breach10", Load::Breach10),
        ("flapping10", Load::Flapping10),
    ] {
        // sanity: the breaching variants do fire
        if !matches!(load, Load::Quiet) {
            let mut e = Evaluator::new(rules.clone(), 0);
            let mut out = Vec::new();
            hot.iter()
                .flatten()
                .for_each(|r| e.evaluate(r, r.ts_ms, &mut out));
            assert!(out.len() >= DEVICES, "{name}: {} alerts", out.len());
        }
        let mut msgs = match load {
            Load::Quiet => quiet.clone(),
            Load::Breach10 | Load::Flapping10 => hot.clone(),
        };
        let mut calm = quiet.clone();
        let mut eval = Evaluator::new(rules.clone(), 0);
        let mut out: Vec<AlertChange> = Vec::new();
        let mut i = 0usize;
        g.bench_function(name, |b| {
            b.iter(|| {
                let pass = i / DEVICES;
                let ts = t0 + pass as i64 * REPORT_EVERY_MS;
                let msg = match load {
                    Load::Flapping10 if pass % 2 == 1 => &mut calm[i % DEVICES],
                    _ => &mut msgs[i % DEVICES],
                };
                i += 1;
                for r in msg.iter_mut() {
                    r.ts_ms = ts;
                    eval.evaluate(black_box(r), r.ts_ms, &mut out);
                }
                black_box(&out);
                out.clear();
            })
        });
    }
    g.finish();
}

fn bench_route(c: &mut Criterion) {
    let router = router();
    let msg = messages(&rules(), &["wl-01".to_owned()], now_ms(), false).remove(0);
    assert_eq!(router.split(msg.clone()).len(), 1);

    let mut g = c.benchmark_group("route");
    g.throughput(Throughput::Elements(PER_MSG));
    g.bench_function("split_10_one_device", |b| {
        b.iter_batched(
            || msg.clone(),
            |m| router.split(black_box(m)),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn bench_pipeline(c: &mut Criterion) {
    let rules = rules();
    let devices = devices(&rules);
    let now = now_ms();
    let limits = Limits::default();
    let catalog = Catalog::builtin();
    let router = router();
    let payloads: Vec<(String, String)> =
        devices.iter().map(|d| (d.clone(), senml(d, now))).collect();
    let mut evals = [
        Evaluator::new(rules.clone(), 0),
        Evaluator::new(rules.clone(), 0),
    ];
    let mut out: Vec<AlertChange> = Vec::new();
    let mut i = 0usize;

    let mut g = c.benchmark_group("pipeline");
    g.throughput(Throughput::Elements(PER_MSG));
    g.bench_function("senml_10_decode_route_evaluate", |b| {
        b.iter(|| {
            let (device, payload) = &payloads[i % DEVICES];
            i += 1;
            let decoded = decode(
                device,
                black_box(payload.as_bytes()),
                now,
                &limits,
                &catalog,
            );
            debug_assert!(decoded.rejects.is_empty());
            for (shard, readings) in router.split(decoded.readings) {
                for r in &readings {
                    evals[shard].evaluate(r, r.ts_ms, &mut out);
                }
                black_box(&readings);
            }
            black_box(&out);
            out.clear();
        })
    });
    g.finish();
}

/// The storage batcher's encoding of one commit: 10,000 readings (a typical batch at 100k
/// readings/s) as binary COPY rows for PostgreSQL.
fn bench_batch_encode(c: &mut Criterion) {
    const BATCH: usize = 10_000;
    let now = now_ms();
    let readings: Vec<Reading> = (0..BATCH)
        .map(|i| Reading {
            device: format!("load-{:05}", i / 10),
            metric: METRICS[i % 10].0.to_owned(),
            ts_ms: now + i as i64,
            value: METRICS[i % 10].2,
        })
        .collect();
    let refs: Vec<&Reading> = readings.iter().collect();
    let series: Vec<i64> = (0..BATCH as i64).collect();

    let mut g = c.benchmark_group("batch_encode");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("pg_copy_10k", |b| {
        b.iter(|| iochub::storage::postgres::copy::staging_rows(black_box(&refs), &series))
    });
    g.finish();
}

criterion_group! {
    name = hot_path;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench_decode, bench_evaluate, bench_route, bench_pipeline, bench_batch_encode
}
criterion_main!(hot_path);
