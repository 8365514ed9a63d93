//! The emergency scenario pack on every station: decode + validate + route + evaluate, on one core,
//! of the simulated province's payloads scaled to 1,000 stations, each with every rule of the pack
//! its kind gets (per-gauge alarm levels and the rate of rise, landslide sums of 24 h and 72 h,
//! PM2.5 means of 1 h and 24 h, compound fire weather, the stuck-sensor spread, the anomaly, the
//! silence rule on every station). The windows are full: three days of readings, every ten
//! minutes, are evaluated first. One iteration is a pass over the 1,000 stations, each sending one
//! SenML message of its kind's 2-5 metrics, five seconds after its previous one (two sets of
//! payloads, five seconds apart, alternate, so that values move between passes); criterion
//! reports readings/s as elements/s. The silence rule costs its last-heard update per reading
//! here; its scan, once a second on the hub's clock and not per reading, is left out.
//!
//! Run: `cargo bench --bench scenario_pack -- --noplot`

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use iochub::engine::{Evaluator, RuleSet};
use iochub::pipeline::{AlertChange, Router, ShardInput};
use iochub_devices::{Catalog, Limits, decode};
use iochub_sim::province::{Station, rules_toml, sample, senml, stations};
use tokio::sync::mpsc;

const STATIONS: usize = 1000;
const SEED: u64 = 7;
/// History evaluated before measuring: three days, a message every ten minutes per station.
const HISTORY_S: u64 = 3 * 24 * 3600;
const HISTORY_STEP_S: u64 = 600;
/// Reading time between two passes of the measured loop.
const PASS_S: i64 = 5;

/// The province's 70 stations, repeated with numbered keys up to `STATIONS`.
fn fleet() -> Vec<Station> {
    let base = stations();
    (0..STATIONS)
        .map(|i| {
            let mut s = base[i % base.len()].clone();
            let key = format!("{}-{:02}", s.key, i / base.len());
            s.key = Box::leak(key.into_boxed_str());
            s
        })
        .collect()
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn bench_pack(c: &mut Criterion) {
    let fleet = fleet();
    let rules = Arc::new(RuleSet::parse(&rules_toml(&fleet)).expect("the pack parses"));
    let limits = Limits::default();
    let catalog = Catalog::builtin();
    let router = Router::new((0..2).map(|_| mpsc::channel::<ShardInput>(1).0).collect());
    let mut evals = [
        Evaluator::new(rules.clone(), 0),
        Evaluator::new(rules.clone(), 0),
    ];
    let mut out: Vec<AlertChange> = Vec::new();

    // three days of history, so that every window and rate is full
    let end_s = now_s() - 60;
    let start_s = end_s - HISTORY_S;
    let mut evaluated = 0usize;
    for t in (start_s..end_s).step_by(HISTORY_STEP_S as usize) {
        for s in &fleet {
            let payload =
                senml::telemetry(s.key, t * 1000, &sample(s, t as f64, SEED, 600.0), None);
            let d = decode(
                s.key,
                payload.as_bytes(),
                (t * 1000) as i64,
                &limits,
                &catalog,
            );
            for (shard, readings) in router.split(d.readings) {
                for r in &readings {
                    evals[shard].evaluate(r, r.ts_ms, &mut out);
                    evaluated += 1;
                }
            }
        }
        out.clear();
    }

    // one message per station at the end of the history and one 5 s later; the passes replay
    // them in turn, each shifted to 5 s after the pass before
    let at = |t: u64| -> Vec<(&str, String)> {
        fleet
            .iter()
            .map(|s| {
                let readings = sample(s, t as f64, SEED, PASS_S as f64);
                (s.key, senml::telemetry(s.key, t * 1000, &readings, None))
            })
            .collect()
    };
    let sets = [at(end_s), at(end_s + PASS_S as u64)];
    let per_pass: usize = sets[0]
        .iter()
        .map(|(key, p)| {
            let d = decode(key, p.as_bytes(), (end_s * 1000) as i64, &limits, &catalog);
            assert!(d.rejects.is_empty(), "{key}: {:?}", d.rejects);
            d.readings.len()
        })
        .sum();
    let per_reading: usize = fleet
        .iter()
        .flat_map(|s| {
            s.kind
                .metrics()
                .iter()
                .map(|m| rules.applicable(m.name, s.key).count())
        })
        .sum();
    eprintln!(
        "scenario pack: {} rules, {STATIONS} stations, {per_pass} readings a pass, {:.1} rules per \
         reading on average, {evaluated} readings of history",
        rules.rules.len(),
        per_reading as f64 / per_pass as f64
    );

    let mut pass = 0i64;
    let mut g = c.benchmark_group("scenario_pack");
    g.throughput(Throughput::Elements(per_pass as u64));
    g.bench_function("decode_route_evaluate_1000_stations", |b| {
        b.iter(|| {
            pass += 1;
            let set = (pass % 2) as usize;
            // the set's own time is `set` passes after the end of the history
            let shift = (pass - set as i64) * PASS_S * 1000;
            let now = (end_s * 1000) as i64 + pass * PASS_S * 1000;
            for (key, payload) in &sets[set] {
                let mut d = decode(key, black_box(payload.as_bytes()), now, &limits, &catalog);
                // the set's payload, as if sent that much later
                for r in &mut d.readings {
                    r.ts_ms += shift;
                }
                for (shard, readings) in router.split(d.readings) {
                    for r in &readings {
                        evals[shard].evaluate(r, r.ts_ms, &mut out);
                    }
                }
            }
            black_box(&out);
            out.clear();
        })
    });
    g.finish();
}

criterion_group! {
    name = scenario_pack;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = bench_pack
}
criterion_main!(scenario_pack);
