//! Stream rules end to end: every kind of rule fires from readings published over MQTT to a
//! running hub; a rule scoped by tags follows a device's tags set through the API; a silence
//! (`no_data`) is measured on the hub's clock, which the test moves, and is found after a restart
//! for a device that never reports again.

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::*;

const T: Duration = Duration::from_secs(20);

const RULES: &str = r#"
[[rules]]
id = "rise"
kind = "rate"
metric = "water_level"
change = 0.5
over = "1h"
severity = "warning"
category = "flood"

[[rules]]
id = "rain-24h"
kind = "window"
metric = "rain_1h"
agg = "sum"
window = "24h"
op = ">="
value = 100
severity = "critical"
category = "landslide"

[[rules]]
id = "fire-weather"
kind = "all"
conditions = [
  { metric = "temperature", op = ">=", value = 35 },
  { metric = "humidity", op = "<=", value = 30 },
]
within = "30m"
severity = "warning"
category = "forest_fire"

[[rules]]
id = "city-pm25"
metric = "pm25"
op = ">"
value = 50
severity = "info"
category = "air_pollution"
tags = ["city"]

[[rules]]
id = "silent"
kind = "no_data"
for = "10m"
severity = "warning"
category = "equipment"
devices = ["st-quiet"]
"#;

/// The open alerts as `rule device`, sorted.
async fn open_alerts(hub: &Hub) -> Vec<String> {
    let (_, list) = hub.get("/api/v1/alerts?state=open").await;
    let mut v: Vec<String> = list
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| format!("{} {}", str_of(x, "rule"), str_of(x, "device")))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn str_of<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field].as_str().unwrap_or("")
}

async fn until_open(hub: &Hub, what: &str, expected: &[&str]) {
    eventually(what, T, || async {
        (open_alerts(hub).await == expected).then_some(())
    })
    .await;
}

#[tokio::test]
async fn every_kind_fires_from_mqtt_readings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start(dir.path(), RULES).await;
    let mut mqtt = Publisher::connect(&hub.mqtt_url(), "kinds-pub").await;
    let t0 = now_ms() - 3 * 3_600_000;
    let min = 60_000;
    // water level 2.0, 1.9, then 2.45 forty minutes later: +0.55 within the hour
    for (dt, v) in [(0, 2.0), (10 * min, 1.9), (50 * min, 2.45)] {
        let ts = t0 + dt;
        mqtt.send(
            "ioc/wl-1/telemetry",
            format!(r#"{{"ts":{ts},"water_level":{v}}}"#),
        )
        .await;
    }
    // hourly rain 40 + 30 + 35 = 105 mm within a day
    for (h, v) in [(0, 40.0), (1, 30.0), (2, 35.0)] {
        let ts = t0 + h * 60 * min;
        mqtt.send(
            "ioc/rg-1/telemetry",
            format!(r#"{{"ts":{ts},"rain_1h":{v}}}"#),
        )
        .await;
    }
    // hot and dry on one station within 30 minutes; hot only on another
    let ts = t0 + 60 * min;
    mqtt.send(
        "ioc/wx-1/telemetry",
        format!(r#"{{"ts":{ts},"temperature":36.5,"humidity":25}}"#),
    )
    .await;
    mqtt.send(
        "ioc/wx-2/telemetry",
        format!(r#"{{"ts":{ts},"temperature":36.5,"humidity":60}}"#),
    )
    .await;
    // PM2.5 above the line, but the station is not tagged `city` yet
    mqtt.send("ioc/aq-1/telemetry", format!(r#"{{"ts":{ts},"pm25":80}}"#))
        .await;
    hub.wait_reading("aq-1", "pm25", ts).await;
    until_open(
        &hub,
        "rate, window and all alerts",
        &["fire-weather wx-1", "rain-24h rg-1", "rise wl-1"],
    )
    .await;

    // the alert of each kind says what was compared: the change, the sum, the first condition
    let (_, list) = hub.get("/api/v1/alerts?state=open").await;
    let by_rule = |rule: &str| {
        list.as_array()
            .and_then(|a| a.iter().find(|x| x["rule"] == rule).cloned())
            .unwrap_or(Value::Null)
    };
    let rise = by_rule("rise");
    assert!(
        (rise["value"].as_f64().unwrap_or(0.0) - 0.55).abs() < 1e-9,
        "{rise}"
    );
    assert_eq!(
        (rise["op"].as_str(), rise["threshold"].as_f64()),
        (Some(">="), Some(0.5))
    );
    assert_eq!(rise["category"], "flood");
    assert_eq!(by_rule("rain-24h")["value"].as_f64(), Some(105.0));
    let fire = by_rule("fire-weather");
    assert_eq!(
        (fire["metric"].as_str(), fire["value"].as_f64()),
        (Some("temperature"), Some(36.5))
    );

    // tagged `city` through the API: the scoped rule covers it from its next reading
    let (status, body) = hub
        .call(
            "PATCH",
            "/api/v1/devices/aq-1",
            &hub.token,
            Some(json!({"tags": ["city"]})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let ts = ts + min;
    mqtt.send("ioc/aq-1/telemetry", format!(r#"{{"ts":{ts},"pm25":81}}"#))
        .await;
    until_open(
        &hub,
        "the tagged rule",
        &[
            "city-pm25 aq-1",
            "fire-weather wx-1",
            "rain-24h rg-1",
            "rise wl-1",
        ],
    )
    .await;

    // GET /api/v1/rules shows each rule's kind and its definition with the file's names
    let (_, rules) = hub.get("/api/v1/rules").await;
    let window = rules
        .as_array()
        .and_then(|a| a.iter().find(|r| r["id"] == "rain-24h").cloned())
        .expect("rain-24h listed");
    assert_eq!(window["kind"], "window");
    assert_eq!(window["definition"]["agg"], "sum");
    assert_eq!(window["definition"]["window"], "1day");
}

#[tokio::test]
async fn silence_is_measured_on_the_hubs_clock_and_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = dir.path().join("clock");
    let move_clock = |ms: i64| std::fs::write(&clock, ms.to_string()).expect("clock");
    move_clock(0);
    let path = clock.to_string_lossy().into_owned();
    let env = [("IOCHUB_TEST_CLOCK_FILE", path.as_str())];
    let mut hub = Hub::start_with_env(dir.path(), RULES, Broker::Embedded(0), &env).await;
    let mut mqtt = Publisher::connect(&hub.mqtt_url(), "quiet-pub").await;
    let ts = now_ms();
    mqtt.send(
        "ioc/st-quiet/telemetry",
        format!(r#"{{"ts":{ts},"battery":3.9}}"#),
    )
    .await;
    hub.wait_reading("st-quiet", "battery", ts).await;
    assert!(open_alerts(&hub).await.is_empty());

    // eleven minutes later on the hub's clock, nothing heard: the silence alert opens
    move_clock(11 * 60_000);
    until_open(&hub, "the silence alert", &["silent st-quiet"]).await;
    let (_, list) = hub.get("/api/v1/alerts?state=open").await;
    let alert = &list[0];
    assert_eq!(
        (alert["op"].as_str(), alert["threshold"].as_f64()),
        (Some(">="), Some(600.0))
    );
    assert!(alert["value"].as_f64().unwrap_or(0.0) >= 600.0, "{alert}");

    // heard again: it clears by itself (not dispatched yet: auto-resolved)
    let ts = now_ms() + 11 * 60_000;
    mqtt.send(
        "ioc/st-quiet/telemetry",
        format!(r#"{{"ts":{ts},"battery":3.9}}"#),
    )
    .await;
    until_open(&hub, "the silence cleared", &[]).await;

    // a restart; the station never reports again. Silence counts from the hub's start, so it
    // is found ten minutes after it, from what the store knew.
    drop(mqtt);
    hub.stop();
    hub.spawn().await;
    move_clock(22 * 60_000);
    // (the admin's session is 11 minutes old on the moved clock: still valid)
    until_open(&hub, "the silence after a restart", &["silent st-quiet"]).await;
}

/// Devices listed in the serve config are known before they report: rules scoped by the tags
/// and areas the config gives them follow them from their first reading, a silence rule watches
/// one that never reports, and a restart keeps what the API changed since.
#[tokio::test]
async fn devices_of_the_config_are_labelled_and_watched_before_they_report() {
    const CONFIG_RULES: &str = r#"
[[rules]]
id = "slope-rain"
kind = "window"
metric = "rain"
agg = "sum"
window = "24h"
op = ">="
value = 10
severity = "warning"
category = "landslide"
tags = ["slope"]

[[rules]]
id = "never-heard"
kind = "no_data"
for = "10m"
severity = "warning"
category = "equipment"
devices = ["cfg-quiet"]
"#;
    const CONFIG: &str = r#"
[[devices]]
key = "cfg-slope"
name = "Taluy Km 12"
lat = 22.9
lon = 105.9
tags = ["slope"]
expected_interval = "5m"

[[devices]]
key = "cfg-quiet"
tags = ["river"]
"#;
    let mosquitto = Mosquitto::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = dir.path().join("clock");
    let move_clock = |ms: i64| std::fs::write(&clock, ms.to_string()).expect("clock");
    move_clock(0);
    let mut hub = Hub::start_serve(dir.path(), CONFIG_RULES, mosquitto.url(), CONFIG).await;
    hub.env.push((
        "IOCHUB_TEST_CLOCK_FILE".into(),
        clock.to_string_lossy().into_owned(),
    ));
    hub.stop();
    hub.spawn().await;
    assert!(
        hub.log().contains("devices of the config registered"),
        "{}",
        hub.log()
    );

    // known before any reading, with what the config gave it
    let (status, d) = hub.get("/api/v1/devices/cfg-slope").await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(
        (
            d["name"].as_str(),
            d["registered"].as_bool(),
            d["tags"].clone(),
            d["expected_interval_s"].as_f64()
        ),
        (
            Some("Taluy Km 12"),
            Some(true),
            json!(["slope"]),
            Some(300.0)
        )
    );
    assert!(d["latest"].as_array().is_some_and(Vec::is_empty), "{d}");

    // the tag-scoped rule applies from its first readings
    let mut mqtt = Publisher::connect(&mosquitto.url(), "cfg-pub").await;
    let ts = now_ms();
    for (i, mm) in [4.0, 4.0, 4.0].iter().enumerate() {
        let at = ts + i as i64 * 1000;
        mqtt.send(
            "ioc/cfg-slope/telemetry",
            format!(r#"{{"ts":{at},"rain":{mm}}}"#),
        )
        .await;
    }
    until_open(&hub, "the tag-scoped rule", &["slope-rain cfg-slope"]).await;

    // the device that never reports: silent ten minutes after the hub started
    move_clock(11 * 60_000);
    until_open(
        &hub,
        "the silence of a device never heard",
        &["never-heard cfg-quiet", "slope-rain cfg-slope"],
    )
    .await;

    // an edit through the API outlives a restart: the config fills in only what is missing
    let (status, body) = hub
        .call(
            "PATCH",
            "/api/v1/devices/cfg-slope",
            &hub.token,
            Some(json!({"tags": ["slope", "road"]})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    hub.stop();
    hub.spawn().await;
    let (_, d) = hub.get("/api/v1/devices/cfg-slope").await;
    assert_eq!(d["tags"], json!(["slope", "road"]), "{d}");
    assert!(
        hub.log().contains("differs from the registry"),
        "{}",
        hub.log()
    );
}

/// A mistake in `[[devices]]` stops the start, naming the device and the field.
#[tokio::test]
async fn a_device_of_the_config_with_a_bad_field_stops_the_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = dir.path().join("hub.toml");
    std::fs::write(
        &conf,
        "[[devices]]\nkey = \"d-1\"\nareas = [\"atlantis\"]\n",
    )
    .expect("config");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_iochub"))
        .arg("serve")
        .arg("--config")
        .arg(&conf)
        .env("IOCHUB_MQTT_URL", "mqtt://127.0.0.1:9")
        .env("IOCHUB_DATA_DIR", dir.path().join("data"))
        .env("IOCHUB_HTTP", "127.0.0.1:0")
        .output()
        .expect("run iochub");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("device \"d-1\"") && err.contains("areas") && err.contains("atlantis"),
        "{err}"
    );
}

/// Rules whose state lives in reading time: a backtest of the same readings must open the same
/// alerts at the same times as the live hub did.
const REPLAYED: &str = r#"
[[rules]]
id = "level-flap"
metric = "water_level"
op = ">="
value = 3.0
severity = "warning"
flap = { count = 3, within = "1h" }

[[rules]]
id = "rise"
kind = "rate"
metric = "water_level"
change = 0.8
over = "30m"
severity = "warning"

[[rules]]
id = "rain-3h"
kind = "window"
metric = "rain_1h"
agg = "sum"
window = "3h"
op = ">="
value = 30
clear = 20
severity = "critical"

[[rules]]
id = "odd-temperature"
kind = "anomaly"
metric = "temperature"
half_life = "30m"
k = 2.5
warmup = 10
severity = "info"

[[rules]]
id = "dry-heat"
kind = "all"
conditions = [
  { metric = "temperature", op = ">=", value = 33 },
  { metric = "humidity", op = "<=", value = 40 },
]
within = "20m"
for = "10m"
severity = "warning"
"#;

/// Six hours of readings every five minutes from three stations, built to fire and clear each
/// rule several times (deterministic: a sawtooth, showers, a daily swing with spikes).
fn replayed_readings(t0: i64) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut seed: u64 = 7;
    let mut noise = move || {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        ((seed >> 33) as f64 / f64::from(u32::MAX >> 1)) - 0.5
    };
    for i in 0..72i64 {
        let ts = t0 + i * 300_000;
        let level = 2.0 + 0.15 * (i % 12) as f64 + 0.3 * noise();
        out.push((
            "wl-a".into(),
            format!(r#"{{"ts":{ts},"water_level":{level:.3}}}"#),
        ));
        let rain = if (20..30).contains(&i) || (50..55).contains(&i) {
            4.0 + 3.0 * noise()
        } else {
            0.0
        };
        out.push((
            "rg-a".into(),
            format!(r#"{{"ts":{ts},"rain_1h":{rain:.2}}}"#),
        ));
        let spike = if i == 40 || i == 61 { 8.0 } else { 0.0 };
        let temperature = 30.0 + 4.0 * ((i as f64) / 12.0).sin() + 0.4 * noise() + spike;
        out.push((
            "wx-a".into(),
            format!(r#"{{"ts":{ts},"temperature":{temperature:.2}}}"#),
        ));
        let humidity = 45.0 - 8.0 * ((i as f64) / 12.0).sin() + noise();
        let ts_h = ts + 1000;
        out.push((
            "wx-a".into(),
            format!(r#"{{"ts":{ts_h},"humidity":{humidity:.2}}}"#),
        ));
    }
    out
}

/// (rule, device, opened_at, cleared_at) of every alert the hub stored.
async fn live_alerts(hub: &Hub) -> Vec<String> {
    let (_, list) = hub.get("/api/v1/alerts?limit=1000").await;
    let mut v: Vec<String> = list
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| {
                    let cleared = x["cleared_at"].as_str().unwrap_or("open");
                    format!(
                        "{} {} {} {cleared}",
                        str_of(x, "rule"),
                        str_of(x, "device"),
                        str_of(x, "opened_at")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn backtest(args: &[&str]) -> Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_iochub"))
        .arg("backtest")
        .args(args)
        .output()
        .expect("run iochub backtest");
    assert!(
        out.status.success(),
        "backtest failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON line")
}

fn replayed_alerts(outcome: &Value) -> Vec<String> {
    let mut v = Vec::new();
    for rule in outcome["rules"].as_array().expect("rules") {
        for a in rule["alerts"].as_array().expect("alerts") {
            let cleared = a["closed_at"].as_str().unwrap_or("open");
            v.push(format!(
                "{} {} {} {cleared}",
                str_of(rule, "id"),
                str_of(a, "device"),
                str_of(a, "opened_at")
            ));
        }
    }
    v.sort();
    v
}

/// Publishes the readings, runs `iochub backtest` with `store_args` beside the running hub, and
/// checks that it found exactly the alerts the hub opened, rule by rule.
async fn backtest_matches_live(hub: &Hub, dir: &std::path::Path, store_args: &[&str]) {
    let t0 = (now_ms() - 8 * 3_600_000) / 300_000 * 300_000;
    let readings = replayed_readings(t0);
    let mut mqtt = Publisher::connect(&hub.mqtt_url(), "replay-pub").await;
    for (device, payload) in &readings {
        mqtt.send(&format!("ioc/{device}/telemetry"), payload.clone())
            .await;
    }
    let last = t0 + 71 * 300_000;
    hub.wait_reading("wl-a", "water_level", last).await;
    hub.wait_reading("rg-a", "rain_1h", last).await;
    hub.wait_reading("wx-a", "humidity", last + 1000).await;

    let rules = dir.join("replayed.toml");
    std::fs::write(&rules, REPLAYED).expect("rules file");
    let (from, to) = (
        iochub::timefmt::format_ms(t0),
        iochub::timefmt::format_ms(last + 300_000),
    );
    let mut args = vec![
        "--rules",
        rules.to_str().expect("path"),
        "--from",
        &from,
        "--to",
        &to,
        "--json",
    ];
    args.extend_from_slice(store_args);
    let outcome = backtest(&args);
    assert_eq!(
        outcome["readings"].as_u64(),
        Some(readings.len() as u64),
        "{outcome}"
    );
    let replayed = replayed_alerts(&outcome);
    // every rule fired at least once, and some more than once
    for rule in outcome["rules"].as_array().expect("rules") {
        assert!(
            rule["opened"].as_u64() >= Some(1),
            "{} never fired: {outcome}",
            rule["id"]
        );
        let share = rule["share_in_alert"].as_f64().unwrap_or(-1.0);
        assert!((0.0..=1.0).contains(&share), "{rule}");
    }
    assert!(replayed.len() >= 8, "{replayed:?}");
    let live = eventually("the hub's alerts to be the backtest's", T, || async {
        let live = live_alerts(hub).await;
        (live == replayed).then_some(live)
    })
    .await;
    assert_eq!(live, replayed);
}

#[tokio::test]
async fn a_backtest_opens_the_alerts_the_hub_opened_on_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start(dir.path(), REPLAYED).await;
    let data_dir = dir.path().join("data");
    backtest_matches_live(
        &hub,
        dir.path(),
        &["--data-dir", data_dir.to_str().expect("path")],
    )
    .await;
}

#[tokio::test]
async fn a_backtest_opens_the_alerts_the_hub_opened_on_postgres() {
    let (mosquitto, pg) = (Mosquitto::start(), support::postgres::Postgres::start());
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start_on_postgres(dir.path(), REPLAYED, mosquitto.url(), pg.url()).await;
    let config = dir.path().join("backtest.toml");
    let text = format!(
        "database_url = {:?}\nmqtt_url = {:?}\n",
        pg.url(),
        mosquitto.url()
    );
    std::fs::write(&config, text).expect("config");
    backtest_matches_live(
        &hub,
        dir.path(),
        &["--config", config.to_str().expect("path")],
    )
    .await;
}

/// A window rule after a restart knows the rain that fell before it.
#[tokio::test]
async fn a_window_rule_is_warmed_from_the_store_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut hub = Hub::start(dir.path(), RULES).await;
    let mut mqtt = Publisher::connect(&hub.mqtt_url(), "warm-pub").await;
    let t0 = now_ms() - 5 * 3_600_000;
    for (h, v) in [(0, 40.0), (1, 30.0)] {
        let ts = t0 + h * 3_600_000;
        mqtt.send(
            "ioc/rg-w/telemetry",
            format!(r#"{{"ts":{ts},"rain_1h":{v}}}"#),
        )
        .await;
    }
    hub.wait_reading("rg-w", "rain_1h", t0 + 3_600_000).await;
    drop(mqtt);
    hub.stop();
    hub.spawn().await;
    assert!(
        hub.log().contains("rules warmed from the store"),
        "{}",
        hub.log()
    );
    // 70 mm before the restart + 35 now = 105 >= 100 within the day
    let mut mqtt = Publisher::connect(&hub.mqtt_url(), "warm-pub-2").await;
    let ts = t0 + 2 * 3_600_000;
    mqtt.send(
        "ioc/rg-w/telemetry",
        format!(r#"{{"ts":{ts},"rain_1h":35}}"#),
    )
    .await;
    until_open(&hub, "the window alert after a restart", &["rain-24h rg-w"]).await;
    let (_, list) = hub.get("/api/v1/alerts?state=open").await;
    assert_eq!(list[0]["value"].as_f64(), Some(105.0));
}

/// The rules page's API: a file checked before it is saved (rule and field of what is wrong),
/// saved atomically and in force at once (audited), refused to an operator; a backtest as a job.
#[tokio::test]
async fn rules_are_validated_saved_and_backtested_through_the_api() {
    use iochub::accounts::model::Role;
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start(dir.path(), DEFAULT_RULES).await;
    let admin = hub.token.clone();

    let bad = RULES.replace("agg = \"sum\"", "agg = \"median\"");
    let (status, v) = hub
        .call_text("POST", "/api/v1/rules/validate", &admin, &bad)
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["valid"], false);
    assert_eq!(
        (v["error"]["rule"].as_str(), v["error"]["field"].as_str()),
        (Some("rain-24h"), Some("agg"))
    );
    let (_, v) = hub
        .call_text("POST", "/api/v1/rules/validate", &admin, RULES)
        .await;
    assert_eq!(
        (v["valid"].as_bool(), v["rules"].as_u64()),
        (Some(true), Some(5)),
        "{v}"
    );
    assert_eq!(v["parsed"][1]["kind"], "window");

    // an empty body is refused, not read as "no rules"
    let (status, _) = hub.call_text("PUT", "/api/v1/rules", &admin, "").await;
    assert_eq!(status, 400);
    // a bad file is refused and the file on disk stays as it was
    let (status, e) = hub.call_text("PUT", "/api/v1/rules", &admin, &bad).await;
    assert_eq!(
        (status, e["error"]["field"].as_str()),
        (400, Some("agg")),
        "{e}"
    );
    assert_eq!(
        std::fs::read_to_string(&hub.rules).expect("rules"),
        DEFAULT_RULES
    );
    // an operator may read the rules, not change them
    let operator = account(&hub, "op-rules", Role::Operator, json!({})).await;
    let (status, _) = hub
        .call_text("PUT", "/api/v1/rules", &operator, RULES)
        .await;
    assert_eq!(status, 403);
    let (status, _) = hub
        .call_text("POST", "/api/v1/rules/validate", &operator, RULES)
        .await;
    assert_eq!(status, 403);

    let (status, saved) = hub.call_text("PUT", "/api/v1/rules", &admin, RULES).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["removed"], json!(["flood"]));
    assert_eq!(saved["added"].as_array().map(Vec::len), Some(5));
    assert_eq!(std::fs::read_to_string(&hub.rules).expect("rules"), RULES);
    let (_, active) = hub.get("/api/v1/rules").await;
    assert_eq!(active.as_array().map(Vec::len), Some(5), "in force at once");
    let (_, audit) = hub.get("/api/v1/audit?action=rules.update").await;
    let by_admin = audit
        .as_array()
        .and_then(|a| a.iter().find(|r| r["actor"] == "admin").cloned())
        .expect("the save is audited under the admin");
    assert!(
        str_of(&by_admin, "detail").contains("rain-24h"),
        "{by_admin}"
    );

    // a backtest of a pasted rule over the stored readings, as a job
    let mut mqtt = Publisher::connect(&hub.mqtt_url(), "api-bt-pub").await;
    let t0 = now_ms() - 6 * 3_600_000;
    for (h, v) in [(0, 60.0), (1, 50.0), (3, 0.0)] {
        let ts = t0 + h * 3_600_000;
        mqtt.send(
            "ioc/rg-b/telemetry",
            format!(r#"{{"ts":{ts},"rain_1h":{v}}}"#),
        )
        .await;
    }
    hub.wait_reading("rg-b", "rain_1h", t0 + 3 * 3_600_000)
        .await;
    let pasted = "[[rules]]\nid = 'rain-2h'\nkind = 'window'\nmetric = 'rain_1h'\nagg = 'sum'\n\
                  window = '2h'\nop = '>='\nvalue = 100\nseverity = 'warning'\n";
    let body = json!({"rules": pasted, "days": 1});
    let (status, job) = hub
        .call("POST", "/api/v1/rules/backtest", &admin, Some(body))
        .await;
    assert_eq!(status, 202, "{job}");
    let id = job["id"].as_u64().expect("job id");
    let done = eventually("the backtest job", T, || async {
        let (_, job) = hub.get(&format!("/api/v1/jobs/{id}")).await;
        (job["state"] == "done").then_some(job)
    })
    .await;
    let rule = &done["result"]["rules"][0];
    assert_eq!(
        (rule["id"].as_str(), rule["opened"].as_u64()),
        (Some("rain-2h"), Some(1)),
        "{done}"
    );
    let alert = &rule["alerts"][0];
    assert_eq!(alert["device"], "rg-b");
    // 60 + 50 within two hours at t0 + 1 h; the 60 slides out of the window by t0 + 3 h
    assert_eq!(
        alert["opened_at"].as_str(),
        Some(iochub::timefmt::format_ms(t0 + 3_600_000).as_str())
    );
    assert_eq!(
        alert["closed_at"].as_str(),
        Some(iochub::timefmt::format_ms(t0 + 3 * 3_600_000).as_str())
    );
    let (status, _) = hub.get("/api/v1/jobs/999").await;
    assert_eq!(status, 404);
}
