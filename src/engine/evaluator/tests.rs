//! Evaluator tests: `for` durations, hysteresis, scope, reloads, seeding after a restart.

use super::*;

const RULES: &str = r#"
[[rules]]
id = "flood"
metric = "water_level"
op = ">="
value = 5.0
clear = 4.5
severity = "critical"
for = "30s"

[[rules]]
id = "cold"
metric = "temperature"
op = "<"
value = 0
severity = "info"
devices = ["wx-1"]
"#;

fn ev(text: &str) -> Evaluator {
    Evaluator::new(Arc::new(RuleSet::parse(text).expect("valid rules")), 0)
}

fn reading(device: &str, metric: &str, ts_s: i64, value: f64) -> Reading {
    Reading {
        device: device.into(),
        metric: metric.into(),
        ts_ms: ts_s * 1000,
        value,
    }
}

fn feed(e: &mut Evaluator, readings: &[Reading]) -> Vec<String> {
    let mut out = Vec::new();
    for r in readings {
        // arrival = reading time: the tests' clock is the readings'
        e.evaluate(r, r.ts_ms, &mut out);
    }
    show(&out)
}

/// Six decimals: what a hand computation writes down (0.55, not 0.5499999999999998).
fn round(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

fn show(out: &[AlertChange]) -> Vec<String> {
    out.iter()
        .map(|c| match c {
            AlertChange::Fire(f) => format!(
                "fire {} {} {}{}",
                f.rule,
                f.device,
                round(f.value),
                if f.flapping { " flapping" } else { "" }
            ),
            AlertChange::Clear(c) => format!("clear {} {} {}", c.rule, c.device, round(c.value)),
        })
        .collect()
}

#[test]
fn for_duration_must_hold_in_reading_time() {
    let mut e = ev(RULES);
    let wl = |t, v| reading("wl-1", "water_level", t, v);
    assert_eq!(
        feed(&mut e, &[wl(0, 5.1), wl(20, 5.2)]),
        Vec::<String>::new()
    );
    assert_eq!(feed(&mut e, &[wl(30, 5.3)]), ["fire flood wl-1 5.3"]);
    // a repeat while active fires nothing new
    assert_eq!(feed(&mut e, &[wl(40, 6.0)]), Vec::<String>::new());
}

#[test]
fn a_dip_resets_the_pending_duration() {
    let mut e = ev(RULES);
    let wl = |t, v| reading("wl-1", "water_level", t, v);
    assert!(feed(&mut e, &[wl(0, 5.1), wl(20, 4.0), wl(35, 5.1), wl(50, 5.1)]).is_empty());
    assert_eq!(feed(&mut e, &[wl(65, 5.1)]), ["fire flood wl-1 5.1"]);
}

#[test]
fn hysteresis_clears_only_past_the_clear_value() {
    let mut e = ev(RULES);
    let wl = |t, v| reading("wl-1", "water_level", t, v);
    feed(&mut e, &[wl(0, 5.5), wl(30, 5.5)]);
    assert!(
        feed(&mut e, &[wl(40, 4.9), wl(50, 4.5)]).is_empty(),
        "between clear and value: still open"
    );
    assert_eq!(feed(&mut e, &[wl(60, 4.4)]), ["clear flood wl-1 4.4"]);
    assert_eq!(e.tracked(), 0, "idle series keep no state");
}

#[test]
fn device_scope_and_immediate_rules() {
    let mut e = ev(RULES);
    assert!(feed(&mut e, &[reading("wx-2", "temperature", 0, -5.0)]).is_empty());
    assert_eq!(
        feed(&mut e, &[reading("wx-1", "temperature", 0, -5.0)]),
        ["fire cold wx-1 -5"]
    );
    assert_eq!(
        feed(&mut e, &[reading("wx-1", "temperature", 1, 1.0)]),
        ["clear cold wx-1 1"]
    );
}

#[test]
fn series_are_independent() {
    let mut e = ev(RULES);
    let out = feed(
        &mut e,
        &[
            reading("a", "water_level", 0, 6.0),
            reading("b", "water_level", 10, 6.0),
            reading("a", "water_level", 30, 6.0),
            reading("b", "water_level", 30, 6.0),
        ],
    );
    assert_eq!(out, ["fire flood a 6"]);
}

#[test]
fn reload_keeps_state_of_unchanged_rules_only() {
    let mut e = ev(RULES);
    let wl = |t, v| reading("wl-1", "water_level", t, v);
    feed(
        &mut e,
        &[wl(0, 5.5), reading("wx-1", "temperature", 0, -1.0)],
    );
    assert_eq!(e.tracked(), 2);
    // same rules, new text: the pending `for` survives and completes on schedule
    let mut out = Vec::new();
    e.set_rules(
        Arc::new(RuleSet::parse(&format!("# edited\n{RULES}")).expect("valid")),
        0,
        &mut out,
    );
    assert!(out.is_empty());
    assert_eq!(feed(&mut e, &[wl(30, 5.5)]), ["fire flood wl-1 5.5"]);
    // "cold" removed: its open alert is cleared; "flood" changed: stays open under the new rule
    let changed = RULES
        .replace("value = 5.0", "value = 5.2")
        .replace("devices = [\"wx-1\"]", "devices = [\"wx-9\"]");
    e.set_rules(
        Arc::new(RuleSet::parse(&changed).expect("valid")),
        99_000,
        &mut out,
    );
    assert_eq!(out.len(), 1);
    assert!(matches!(&out[0], AlertChange::Clear(c) if c.rule == "cold" && c.device == "wx-1"));
    assert_eq!(feed(&mut e, &[wl(100, 4.0)]), ["clear flood wl-1 4"]);
}

#[test]
fn seeded_alerts_clear_after_a_restart() {
    let mut e = ev(RULES);
    e.seed_active("wl-1", "flood");
    e.seed_active("wl-1", "no-such-rule");
    assert!(feed(&mut e, &[reading("wl-1", "water_level", 0, 5.5)]).is_empty());
    assert_eq!(
        feed(&mut e, &[reading("wl-1", "water_level", 1, 1.0)]),
        ["clear flood wl-1 1"]
    );
}

fn tick(e: &mut Evaluator, now_s: i64) -> Vec<String> {
    let mut out = Vec::new();
    e.tick(now_s * 1000, &mut out);
    show(&out)
}

const SILENCE: &str = r#"
[[rules]]
id = "silent"
kind = "no_data"
for = "10m"
severity = "warning"

[[rules]]
id = "no-rain"
kind = "no_data"
metric = "rain_1h"
for = "1h"
severity = "info"
devices = ["rg-1"]
"#;

#[test]
fn no_data_fires_on_the_clock_and_clears_on_the_next_reading() {
    let mut e = ev(SILENCE);
    assert!(feed(&mut e, &[reading("rg-1", "rain_1h", 0, 0.0)]).is_empty());
    assert!(tick(&mut e, 599).is_empty());
    assert_eq!(tick(&mut e, 600), ["fire silent rg-1 600"]);
    // fired once, not at every tick
    assert!(tick(&mut e, 601).is_empty());
    assert_eq!(tick(&mut e, 3600), ["fire no-rain rg-1 3600"]);
    // any reading ends the device's silence; only rain ends the rain's
    assert_eq!(
        feed(&mut e, &[reading("rg-1", "battery", 3700, 3.9)]),
        ["clear silent rg-1 NaN"]
    );
    assert_eq!(
        feed(&mut e, &[reading("rg-1", "rain_1h", 3710, 0.2)]),
        ["clear no-rain rg-1 NaN"]
    );
    // a device never heard of the metric has no silence of it
    feed(&mut e, &[reading("rg-2", "battery", 3710, 3.9)]);
    assert_eq!(
        tick(&mut e, 3710 + 600),
        ["fire silent rg-1 600", "fire silent rg-2 600"]
    );
}

#[test]
fn after_a_restart_silence_counts_from_the_start_and_finds_devices_that_never_return() {
    // the hub starts at t = 5000 s; the store last heard rg-1 at t = 1000 s
    let rules = Arc::new(RuleSet::parse(SILENCE).expect("valid"));
    let mut e = Evaluator::new(rules, 5_000_000);
    e.heard_before("rg-1", Some("rain_1h"), 1_000_000);
    // silent for 4000 s already, but the hub has only been up 599 s: nothing yet
    assert!(tick(&mut e, 5599).is_empty());
    // it never reports again: it is found silent `for` after the start
    assert_eq!(tick(&mut e, 5600), ["fire silent rg-1 600"]);
    assert_eq!(tick(&mut e, 8600), ["fire no-rain rg-1 3600"]);
}

const RATE: &str = r#"
[[rules]]
id = "rise"
kind = "rate"
metric = "water_level"
change = 0.5
over = "48m"
severity = "warning"

[[rules]]
id = "drop"
kind = "rate"
metric = "pressure"
change = -3
clear = -1
over = "48m"
severity = "info"
"#;

#[test]
fn rate_measures_the_change_from_the_window_extreme() {
    let mut e = ev(RATE);
    let wl = |min: i64, v| reading("wl-1", "water_level", min * 60, v);
    // 2.0 -> 1.9 -> 2.3: +0.4 from the lowest, not enough
    assert!(feed(&mut e, &[wl(0, 2.0), wl(10, 1.9), wl(20, 2.3)]).is_empty());
    // 2.45: +0.55 from 1.9 (10 minutes in): fires with the change as its value
    assert_eq!(feed(&mut e, &[wl(30, 2.45)]), ["fire rise wl-1 0.55"]);
    // the rise stays within the window: open; 1.9 slides out after 48 (+1 bucket) minutes
    assert!(feed(&mut e, &[wl(40, 2.45), wl(58, 2.45)]).is_empty());
    // at 61 min the buckets of minutes 0..=12 are gone: lowest is now 2.3 (20 min): +0.15, clears
    assert_eq!(feed(&mut e, &[wl(61, 2.45)]), ["clear rise wl-1 0.15"]);
}

#[test]
fn a_falling_rate_and_its_hysteresis() {
    let mut e = ev(RATE);
    let p = |min: i64, v| reading("ws-1", "pressure", min * 60, v);
    assert!(feed(&mut e, &[p(0, 1010.0), p(10, 1008.0)]).is_empty());
    assert_eq!(feed(&mut e, &[p(20, 1006.5)]), ["fire drop ws-1 -3.5"]);
    // back up to -2 from the highest: past -3 but not past the clear line -1
    assert!(feed(&mut e, &[p(25, 1008.0)]).is_empty());
    assert_eq!(feed(&mut e, &[p(30, 1009.5)]), ["clear drop ws-1 -0.5"]);
}

#[test]
fn a_late_reading_adds_to_the_window_but_measures_no_rate() {
    let mut e = ev(RATE);
    let wl = |min: i64, v| reading("wl-1", "water_level", min * 60, v);
    assert!(feed(&mut e, &[wl(0, 2.0), wl(20, 2.2)]).is_empty());
    // a late, low reading from minute 10: no rate measured at it ...
    assert!(feed(&mut e, &[wl(10, 1.5)]).is_empty());
    // ... but it is the window's lowest for the next one: 2.05 - 1.5 = +0.55
    assert_eq!(feed(&mut e, &[wl(21, 2.05)]), ["fire rise wl-1 0.55"]);
}

const WINDOW: &str = r#"
[[rules]]
id = "rain-48h"
kind = "window"
metric = "rain_1h"
agg = "sum"
window = "48h"
op = ">="
value = 100
clear = 80
severity = "critical"

[[rules]]
id = "pm25-1h"
kind = "window"
metric = "pm25"
agg = "avg"
window = "1h"
op = ">"
value = 50
for = "10m"
severity = "warning"
"#;

#[test]
fn a_window_sum_fires_clears_past_its_line_and_counts_late_readings() {
    let mut e = ev(WINDOW);
    let rain = |h: i64, v| reading("rg-1", "rain_1h", h * 3600, v);
    // hourly rain: 30 + 30 + 30 = 90 mm, then 15 more: 105 >= 100
    assert!(feed(&mut e, &[rain(0, 30.0), rain(1, 30.0), rain(2, 30.0)]).is_empty());
    assert_eq!(feed(&mut e, &[rain(3, 15.0)]), ["fire rain-48h rg-1 105"]);
    // at hour 49 the bucket of hour 0 is gone: 75 + 0 <= 80 clears (hysteresis at 80)
    assert!(
        feed(&mut e, &[rain(48, 0.0)]).is_empty(),
        "105 still in the window"
    );
    assert_eq!(feed(&mut e, &[rain(49, 0.0)]), ["clear rain-48h rg-1 75"]);
    // a late reading inside the window counts: 75 + 30 = 105 fires again
    assert_eq!(feed(&mut e, &[rain(10, 30.0)]), ["fire rain-48h rg-1 105"]);
    // one older than the window does not
    assert!(feed(&mut e, &[rain(0, 500.0)]).is_empty());
}

#[test]
fn a_window_average_with_for() {
    let mut e = ev(WINDOW);
    let pm = |min: i64, v| reading("aq-1", "pm25", min * 60, v);
    // mean 40, then 60: (40 + 60) / 2 = 50, not above 50
    assert!(feed(&mut e, &[pm(0, 40.0), pm(5, 60.0)]).is_empty());
    // 70: mean 56.7 > 50, pending for 10 minutes
    assert!(feed(&mut e, &[pm(10, 70.0)]).is_empty());
    assert_eq!(feed(&mut e, &[pm(20, 70.0)]), ["fire pm25-1h aq-1 60"]);
}

#[test]
fn reload_keeps_the_window_of_an_unchanged_rule_and_restarts_a_changed_one() {
    let mut e = ev(WINDOW);
    let rain = |h: i64, v| reading("rg-1", "rain_1h", h * 3600, v);
    feed(&mut e, &[rain(0, 60.0)]);
    let mut out = Vec::new();
    let reload = |e: &mut Evaluator, text: &str, out: &mut Vec<AlertChange>| {
        e.set_rules(Arc::new(RuleSet::parse(text).expect("valid")), 0, out);
    };
    reload(&mut e, &format!("# edited\n{WINDOW}"), &mut out);
    // 60 mm survived the reload: 60 + 40 fires
    assert_eq!(feed(&mut e, &[rain(1, 40.0)]), ["fire rain-48h rg-1 100"]);
    // the line and the severity move: the window is what it was, the alert stays open
    let raised = WINDOW.replace("value = 100", "value = 120").replacen(
        "severity = \"critical\"",
        "severity = \"warning\"",
        1,
    );
    reload(&mut e, &raised, &mut out);
    assert!(out.is_empty());
    // 100 + 0 is below 120 but above the clear line 80: still open (it would clear from empty)
    assert!(feed(&mut e, &[rain(2, 0.0)]).is_empty());
    assert_eq!(feed(&mut e, &[rain(3, 0.0)]).len(), 0);
    // the window itself changes (48 h to 24 h): it starts empty, and the open alert is not
    // cleared by the empty window before a day of readings has filled it
    let shorter = raised.replace("window = \"48h\"", "window = \"24h\"");
    reload(&mut e, &shorter, &mut out);
    assert!(out.is_empty());
    assert!(feed(&mut e, &[rain(4, 1.0), rain(20, 1.0), rain(27, 1.0)]).is_empty());
    // a day after the first reading under the new window: 3 mm, below the clear line: clears
    assert_eq!(feed(&mut e, &[rain(28, 0.0)]), ["clear rain-48h rg-1 3"]);
}

const ALL: &str = r#"
[[rules]]
id = "fire-weather"
kind = "all"
conditions = [
  { metric = "temperature", op = ">=", value = 35 },
  { metric = "humidity", op = "<=", value = 30 },
  { metric = "wind_speed", op = ">=", value = 5 },
]
within = "30m"
severity = "warning"
"#;

#[test]
fn all_needs_every_condition_on_fresh_readings() {
    let mut e = ev(ALL);
    let at = |metric: &str, min: i64, v| reading("wx-1", metric, min * 60, v);
    assert!(
        feed(
            &mut e,
            &[at("temperature", 0, 36.0), at("humidity", 5, 25.0)]
        )
        .is_empty()
    );
    // the third comes: all three hold within 30 minutes; the alert shows the first condition
    assert_eq!(
        feed(&mut e, &[at("wind_speed", 10, 6.0)]),
        ["fire fire-weather wx-1 36"]
    );
    // humidity rises past its line: clears
    assert_eq!(
        feed(&mut e, &[at("humidity", 15, 35.0)]),
        ["clear fire-weather wx-1 36"]
    );
    assert!(feed(&mut e, &[at("humidity", 20, 28.0)]).len() == 1);
    assert_eq!(feed(&mut e, &[at("humidity", 21, 35.0)]).len(), 1);
    // a temperature 40 minutes old is stale: the others alone do not fire
    assert!(
        feed(
            &mut e,
            &[at("humidity", 40, 20.0), at("wind_speed", 41, 7.0)]
        )
        .is_empty()
    );
    assert_eq!(
        feed(&mut e, &[at("temperature", 42, 35.0)]),
        ["fire fire-weather wx-1 35"]
    );
}

/// The anomaly rule against `fixtures/anomaly_reference.json`, written by numpy from the
/// definition (every earlier reading weighted at once), not by the engine's incremental form.
#[test]
fn anomaly_matches_an_independent_numpy_reference() {
    #[derive(serde::Deserialize)]
    struct Point {
        t_s: i64,
        x: f64,
        mean: Option<f64>,
        sd: Option<f64>,
        z: Option<f64>,
    }
    #[derive(serde::Deserialize)]
    struct Reference {
        half_life_s: f64,
        k: f64,
        warmup: u32,
        points: Vec<Point>,
    }
    let text = include_str!("fixtures/anomaly_reference.json");
    let reference: Reference = serde_json::from_str(text).expect("reference");
    let half_life_ms = (reference.half_life_s * 1000.0) as i64;
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);

    // the mean, spread and distance before each reading, as numpy has them
    let mut ewma = memory::Ewma::default();
    for (n, p) in reference.points.iter().enumerate() {
        if let (Some(mean), Some(sd), Some(z)) = (p.mean, p.sd, p.z) {
            assert!(
                close(ewma.mean(), mean),
                "mean at {n}: {} vs {mean}",
                ewma.mean()
            );
            assert!(close(ewma.sd(), sd), "sd at {n}: {} vs {sd}", ewma.sd());
            assert!(close(ewma.z(p.x), z), "z at {n}: {} vs {z}", ewma.z(p.x));
        }
        ewma.add(p.t_s * 1000, p.x, half_life_ms);
    }

    // the rule opens where |z| > k and clears where |z| <= k again
    let rules = format!(
        "[[rules]]\nid = 'odd'\nkind = 'anomaly'\nmetric = 'temperature'\nhalf_life = '{}s'\n\
         k = {}\nwarmup = {}\nseverity = 'info'\n",
        reference.half_life_s, reference.k, reference.warmup
    );
    let mut e = ev(&rules);
    let (mut expected, mut active) = (Vec::new(), false);
    let mut got = Vec::new();
    for (n, p) in reference.points.iter().enumerate() {
        if let Some(z) = p.z {
            if !active && z.abs() > reference.k {
                expected.push(format!("{n}: fire"));
                active = true;
            } else if active && z.abs() <= reference.k {
                expected.push(format!("{n}: clear"));
                active = false;
            }
        }
        let r = Reading {
            device: "t-1".into(),
            metric: "temperature".into(),
            ts_ms: p.t_s * 1000,
            value: p.x,
        };
        let mut out = Vec::new();
        e.evaluate(&r, r.ts_ms, &mut out);
        for change in out {
            got.push(match change {
                AlertChange::Fire(f) => {
                    // the alert names the line it crossed: mean ± k·sd
                    let (mean, sd) = (p.mean.unwrap_or(f64::NAN), p.sd.unwrap_or(f64::NAN));
                    let side = if f.op == Op::Gt { 1.0 } else { -1.0 };
                    assert!(
                        close(f.threshold, mean + side * reference.k * sd),
                        "line at {n}"
                    );
                    assert_eq!(f.value, p.x);
                    format!("{n}: fire")
                }
                AlertChange::Clear(_) => format!("{n}: clear"),
            });
        }
    }
    assert!(
        expected.len() >= 4,
        "the reference has anomalies: {expected:?}"
    );
    assert_eq!(got, expected);
}

const FLAPPY: &str = r#"
[[rules]]
id = "flappy"
metric = "level"
op = ">="
value = 5
severity = "warning"
flap = { count = 3, within = "10m" }

[[rules]]
id = "silent"
kind = "no_data"
for = "1m"
severity = "info"
flap = { count = 2, within = "5m" }
"#;

#[test]
fn the_third_opening_within_ten_minutes_holds_the_alert_open_until_quiet() {
    let mut e = ev(FLAPPY);
    let lv = |t, v| reading("d", "level", t, v);
    let out = feed(&mut e, &[lv(0, 6.0), lv(10, 4.0), lv(20, 6.0), lv(30, 4.0)]);
    assert_eq!(
        out,
        [
            "fire flappy d 6",
            "clear flappy d 4",
            "fire flappy d 6",
            "clear flappy d 4"
        ]
    );
    assert_eq!(feed(&mut e, &[lv(40, 6.0)]), ["fire flappy d 6 flapping"]);
    // held: the condition comes and goes, nothing is passed on
    assert!(
        feed(
            &mut e,
            &[lv(50, 4.0), lv(60, 6.0), lv(70, 4.0), lv(669, 4.0)]
        )
        .is_empty()
    );
    // ten minutes without a change (since t = 70): the hold ends, the alert clears
    assert_eq!(feed(&mut e, &[lv(670, 4.0)]), ["clear flappy d 4"]);
    // the openings before the hold no longer count: the next one is an ordinary alert
    assert_eq!(feed(&mut e, &[lv(680, 6.0)]), ["fire flappy d 6"]);
}

#[test]
fn a_hold_that_ends_with_the_condition_holding_keeps_the_alert_open() {
    let mut e = ev(FLAPPY);
    let lv = |t, v| reading("d", "level", t, v);
    feed(&mut e, &[lv(0, 6.0), lv(1, 4.0), lv(2, 6.0), lv(3, 4.0)]);
    assert_eq!(feed(&mut e, &[lv(4, 6.0)]), ["fire flappy d 6 flapping"]);
    assert!(feed(&mut e, &[lv(5, 4.0), lv(6, 7.0), lv(605, 7.0)]).is_empty());
    // steady above the line: still open, no longer flapping
    assert_eq!(feed(&mut e, &[lv(606, 7.0)]), ["fire flappy d 7"]);
    assert_eq!(feed(&mut e, &[lv(607, 4.0)]), ["clear flappy d 4"]);
}

#[test]
fn openings_further_apart_than_the_window_are_not_flapping() {
    let mut e = ev(FLAPPY);
    let lv = |t, v| reading("d", "level", t, v);
    let out = feed(
        &mut e,
        &[
            lv(0, 6.0),
            lv(1, 4.0),
            lv(400, 6.0),
            lv(401, 4.0),
            lv(800, 6.0),
            lv(801, 4.0),
        ],
    );
    assert_eq!(out.len(), 6);
    assert!(out.iter().all(|o| !o.ends_with("flapping")), "{out:?}");
    // the slot forgets openings older than the window: nothing is kept for an idle series
    feed(&mut e, &[lv(2000, 4.0)]);
    assert_eq!(e.tracked(), 0);
}

#[test]
fn a_device_that_keeps_dropping_out_is_held_as_flapping_too() {
    let mut e = ev(FLAPPY);
    let hb = |t| reading("d", "battery", t, 3.9);
    feed(&mut e, &[hb(0)]);
    assert_eq!(tick(&mut e, 60), ["fire silent d 60"]);
    assert_eq!(feed(&mut e, &[hb(70)]), ["clear silent d NaN"]);
    assert_eq!(tick(&mut e, 130), ["fire silent d 60 flapping"]);
    // back, silent, back: held
    assert!(feed(&mut e, &[hb(140)]).is_empty());
    assert!(tick(&mut e, 200).is_empty());
    assert!(feed(&mut e, &[hb(210), hb(509)]).is_empty());
    // heard steadily for five minutes (since 210): the hold ends and the silence alert clears
    assert_eq!(feed(&mut e, &[hb(510)]), ["clear silent d NaN"]);
}

const PLACED: &str = r#"
[[rules]]
id = "slope"
metric = "rain_1h"
op = ">="
value = 50
severity = "warning"
tags = ["slope", "cliff"]

[[rules]]
id = "commune"
metric = "rain_1h"
op = ">="
value = 50
severity = "info"
area = "xa-a"

[[rules]]
id = "box"
metric = "rain_1h"
op = ">="
value = 50
severity = "info"
bbox = [105.0, 22.0, 106.0, 23.0]
"#;

fn places(labels: &[(&str, &[&str], &[&str])]) -> Places {
    use crate::pipeline::directory::Labels;
    let square = r#"{"type":"FeatureCollection","features":[{"type":"Feature",
        "properties":{"id":"xa-a","name":"Xã A","level":"commune"},
        "geometry":{"type":"Polygon","coordinates":[[[105,22],[105.5,22],[105.5,22.5],[105,22.5],[105,22]]]}}]}"#;
    let areas = crate::areas::Areas::parse([("test", square)]).expect("areas");
    let positions = [
        ("d1", (105.2, 22.2)),
        ("d2", (105.8, 22.8)),
        ("far", (107.0, 20.0)),
    ];
    Places {
        positions: Arc::new(positions.iter().map(|(d, p)| (d.to_string(), *p)).collect()),
        labels: Arc::new(
            labels
                .iter()
                .map(|(d, tags, areas)| {
                    let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
                    (
                        d.to_string(),
                        Labels {
                            tags: own(tags),
                            areas: own(areas),
                        },
                    )
                })
                .collect(),
        ),
        areas: Arc::new(areas),
    }
}

#[test]
fn rules_scoped_by_tags_area_and_bbox() {
    let mut e = ev(PLACED);
    // d1: in the square, tagged slope; d2: in the box only; d3: nowhere known, assigned to xa-a;
    // far: outside everything
    e.set_places(places(&[
        ("d1", &["slope"], &[]),
        ("d3", &["river"], &["xa-a"]),
    ]));
    let rain = |d: &str, t, v| reading(d, "rain_1h", t, v);
    let mut out = feed(
        &mut e,
        &[
            rain("d1", 0, 60.0),
            rain("d2", 0, 60.0),
            rain("d3", 0, 60.0),
            rain("far", 0, 60.0),
        ],
    );
    out.sort();
    assert_eq!(
        out,
        [
            "fire box d1 60",
            "fire box d2 60",
            "fire commune d1 60",
            "fire commune d3 60",
            "fire slope d1 60"
        ]
    );
    // d1 loses its tag and is assigned elsewhere: at its next reading both alerts clear
    e.set_places(places(&[("d1", &[], &["xa-b"])]));
    let mut out = feed(&mut e, &[rain("d1", 10, 70.0)]);
    out.sort();
    assert_eq!(out, ["clear commune d1 60", "clear slope d1 60"]);
}

#[test]
fn warming_refills_memory_without_deciding_anything() {
    let mut e = ev(WINDOW);
    let rain = |h: i64, v| reading("rg-1", "rain_1h", h * 3600, v);
    // 120 mm already stored: warming opens nothing (an open alert comes back from the store)
    for r in [rain(0, 60.0), rain(1, 60.0)] {
        e.warm(&r);
    }
    assert_eq!(e.tracked(), 1);
    // the next live reading sees the 120 mm: the condition holds, the alert opens now
    assert_eq!(feed(&mut e, &[rain(2, 1.0)]), ["fire rain-48h rg-1 121"]);
}

#[test]
fn a_late_reading_is_judged_against_the_newest_not_its_own_time() {
    let mut e = ev(ALL);
    let at = |metric: &str, min: i64, v| reading("wx-1", metric, min * 60, v);
    // hot at 0, dry and windy only an hour later: nothing
    let readings = [
        at("temperature", 0, 36.0),
        at("humidity", 60, 25.0),
        at("wind_speed", 61, 9.0),
    ];
    assert!(feed(&mut e, &readings).is_empty());
    // a late hot reading from minute 2 is an hour older than the newest: stale, still nothing
    assert!(feed(&mut e, &[at("temperature", 2, 36.0)]).is_empty());
    // a fresh one fires, at its time
    assert_eq!(
        feed(&mut e, &[at("temperature", 62, 36.0)]),
        ["fire fire-weather wx-1 36"]
    );
}

#[test]
fn an_anomaly_series_back_from_a_long_silence_warms_up_again() {
    let rules = "[[rules]]\nid = 'odd'\nkind = 'anomaly'\nmetric = 't'\nhalf_life = '1h'\n\
                 k = 3\nwarmup = 3\nseverity = 'info'\n";
    let mut e = ev(rules);
    let t = |min: i64, v| reading("d", "t", min * 60, v);
    let steady: Vec<_> = (0..12)
        .map(|i| t(i * 10, 20.0 + (i % 3) as f64 * 0.1))
        .collect();
    assert!(feed(&mut e, &steady).is_empty());
    // two days later: the old spread has decayed to nothing; the series starts over
    assert!(feed(&mut e, &[t(2 * 1440, 20.0), t(2 * 1440 + 10, 20.1)]).is_empty());
}

#[test]
fn a_sensor_stuck_at_one_value_is_a_spread_of_zero() {
    let rules = "[[rules]]\nid = 'stuck'\nkind = 'window'\nmetric = 'water_level'\nagg = 'spread'\n\
                 window = '2h'\nop = '<='\nvalue = 0.0\nclear = 0.01\nfor = '2h'\nseverity = 'warning'\n";
    let mut e = ev(rules);
    let wl = |min: i64, v| reading("wl-1", "water_level", min * 60, v);
    // a gauge that moves: never stuck
    let moving: Vec<_> = (0..30)
        .map(|i| wl(i * 10, 2.0 + (i % 4) as f64 * 0.01))
        .collect();
    assert!(feed(&mut e, &moving).is_empty());
    // then frozen at 2.03 from minute 300: the last other value (2.01 at minute 290) leaves the
    // window (2.5-minute buckets) with the reading of minute 420; the spread is 0 from there
    // and must stay so for two hours: the alert opens at minute 540
    let frozen = |from: i64, to: i64| (from..to).map(|i| wl(i * 10, 2.03)).collect::<Vec<_>>();
    assert_eq!(feed(&mut e, &frozen(30, 54)), Vec::<String>::new());
    assert_eq!(feed(&mut e, &frozen(54, 70)), ["fire stuck wl-1 0"]);
    // it moves again: clears
    assert_eq!(feed(&mut e, &[wl(700, 2.1)]), ["clear stuck wl-1 0.07"]);
}

#[test]
fn a_sensor_back_from_a_silence_is_not_stuck() {
    let rules = "[[rules]]\nid = 'stuck'\nkind = 'window'\nmetric = 'pressure'\nagg = 'spread'\n\
                 window = '1m'\nop = '<='\nvalue = 0.0\nfor = '20s'\nseverity = 'warning'\n";
    let mut e = ev(rules);
    let p = |s: i64, v| reading("wx-1", "pressure", s, v);
    let moving = |from: i64, to: i64| {
        (from..to)
            .map(|i| p(i * 5, 1000.0 + (i % 3) as f64 * 0.1))
            .collect::<Vec<_>>()
    };
    assert!(feed(&mut e, &moving(0, 30)).is_empty());
    // silent for 80 s, then moving again
    assert_eq!(feed(&mut e, &moving(46, 80)), Vec::<String>::new());
    // one reading, then silent for 80 s, then two equal ones: a spread of zero only from the
    // second, whose hold starts there (not at the lone reading before the silence)
    let mut e = ev(rules);
    let same = |s: i64| p(s, 1000.0);
    assert!(feed(&mut e, &[same(0), same(80), same(85)]).is_empty());
    assert_eq!(feed(&mut e, &[same(100), same(105)]), ["fire stuck wx-1 0"]);
}

#[test]
fn a_lone_reading_after_a_silence_leaves_a_flap_hold_alone() {
    let rules = "[[rules]]\nid = 'stuck'\nkind = 'window'\nmetric = 'pressure'\nagg = 'spread'\n\
                 window = '1m'\nop = '<='\nvalue = 0.0\nseverity = 'warning'\n\
                 flap = { count = 2, within = '10m' }\n";
    let mut e = ev(rules);
    let p = |s: i64, v| reading("wx-1", "pressure", s, v);
    let steady = |from: i64, to: i64, v: f64| (from..to).map(|i| p(i * 5, v)).collect::<Vec<_>>();
    // stuck, moving, stuck again: the second opening within 10 minutes is held as flapping
    assert_eq!(feed(&mut e, &steady(0, 2, 1000.0)), ["fire stuck wx-1 0"]);
    assert_eq!(feed(&mut e, &[p(10, 1000.1)]), ["clear stuck wx-1 0.1"]);
    let again = feed(&mut e, &steady(3, 16, 1000.1));
    assert_eq!(again, ["fire stuck wx-1 0 flapping"]);
    // it moves (held: nothing passed on), then falls silent for twenty minutes; its first
    // reading back is alone in the window: no evidence, nothing passed on, nothing broken
    assert!(feed(&mut e, &[p(80, 1000.2)]).is_empty());
    assert!(feed(&mut e, &[p(1280, 1000.2)]).is_empty());
    // the next one shows it moving: quiet for longer than the flap window, the hold ends clear
    assert_eq!(feed(&mut e, &[p(1285, 1000.3)]), ["clear stuck wx-1 0.1"]);
}
