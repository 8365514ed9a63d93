//! What each kind of rule costs per reading, evaluated in a shard: `cargo bench --bench rule_kinds`.
//!
//! 1,000 devices, each reporting one reading a minute of the metric the rule watches, in time
//! order; one rule of the kind covering every device. The quiet case (nothing breached) is what
//! a shard pays almost always; the numbers are per reading, the evaluator's state warm (every
//! device's window already full).

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use iochub::engine::{Evaluator, RuleSet};
use iochub_devices::Reading;

const DEVICES: usize = 1_000;
const MINUTE: i64 = 60_000;

const KINDS: &[(&str, &str)] = &[
    (
        "threshold",
        "metric = 'x'\nop = '>='\nvalue = 1e9\nclear = 1e8",
    ),
    ("no_data", "kind = 'no_data'\nmetric = 'x'\nfor = '10m'"),
    (
        "rate",
        "kind = 'rate'\nmetric = 'x'\nchange = 1e9\nover = '1h'",
    ),
    (
        "window_sum_72h",
        "kind = 'window'\nmetric = 'x'\nagg = 'sum'\nwindow = '72h'\nop = '>='\nvalue = 1e12",
    ),
    (
        "window_max_1h",
        "kind = 'window'\nmetric = 'x'\nagg = 'max'\nwindow = '1h'\nop = '>='\nvalue = 1e12",
    ),
    (
        "anomaly",
        "kind = 'anomaly'\nmetric = 'x'\nhalf_life = '6h'\nk = 1e9\nwarmup = 10",
    ),
    (
        "all",
        "kind = 'all'\nconditions = [{metric = 'x', op = '>=', value = 1e9}, {metric = 'y', op = '<=', value = -1e9}]\nwithin = '30m'",
    ),
];

fn bench_kinds(c: &mut Criterion) {
    let mut g = c.benchmark_group("rule_kind");
    g.throughput(Throughput::Elements(1));
    for (name, body) in KINDS {
        let text = format!("[[rules]]\nid = '{name}'\nseverity = 'info'\n{body}\n");
        let rules = Arc::new(RuleSet::parse(&text).expect("rule"));
        let mut eval = Evaluator::new(rules, 0);
        let mut readings: Vec<Reading> = (0..DEVICES)
            .map(|d| Reading {
                device: format!("dev-{d:04}"),
                metric: "x".into(),
                ts_ms: 0,
                value: (d % 17) as f64,
            })
            .collect();
        let mut out = Vec::new();
        // three days of history first, so that windows are full
        let mut minute = 0i64;
        for _ in 0..(3 * 24 * 60 / 10) {
            minute += 10;
            for r in &mut readings {
                r.ts_ms = minute * MINUTE;
                r.value = ((minute / 10) % 23) as f64 * 0.5;
                eval.evaluate(r, r.ts_ms, &mut out);
            }
        }
        assert!(out.is_empty(), "{name} fired while warming: {}", out.len());
        let mut i = 0usize;
        g.bench_function(*name, |b| {
            b.iter(|| {
                if i.is_multiple_of(DEVICES) {
                    minute += 1;
                }
                let r = &mut readings[i % DEVICES];
                i += 1;
                r.ts_ms = minute * MINUTE;
                r.value = ((i % 23) as f64) * 0.5;
                eval.evaluate(black_box(r), r.ts_ms, &mut out);
                black_box(&out);
            })
        });
        assert!(out.is_empty(), "{name} fired: {}", out.len());
    }
    g.finish();
}

criterion_group! {
    name = rule_kinds;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench_kinds
}
criterion_main!(rule_kinds);
