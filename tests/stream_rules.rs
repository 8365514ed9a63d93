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
