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
    Evaluator::new(Arc::new(RuleSet::parse(text).expect("valid rules")))
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
        e.evaluate(r, &mut out);
    }
    out.iter()
        .map(|c| match c {
            AlertChange::Fire(f) => format!("fire {} {} {}", f.rule, f.device, f.value),
            AlertChange::Clear(c) => format!("clear {} {} {}", c.rule, c.device, c.value),
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
