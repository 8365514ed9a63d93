//! Alerts and live push: an alert reaches a WebSocket client, survives a restart without
//! duplicating, rules reload while running, and a slow client lags without slowing a fast one.

mod support;

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;
use support::*;

const T: Duration = Duration::from_secs(20);

#[tokio::test]
async fn alert_reaches_a_websocket_client_and_survives_a_restart_without_duplicating() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut hub = Hub::start(dir.path(), DEFAULT_RULES).await;
    let mut ws = hub
        .ws(json!({"op": "subscribe", "topics": ["alerts"]}))
        .await;
    let mut mqtt = Publisher::connect(&hub.mqtt_url(), "alert-pub").await;
    let t = now_ms();
    mqtt.send(
        "ioc/wl-09/telemetry",
        format!(r#"{{"ts":{t},"water_level":5.6}}"#),
    )
    .await;
    let frame = ws.until(T, |f| f["type"] == "alert").await;
    for field in [
        "id", "rule", "device", "metric", "value", "severity", "state", "ts",
    ] {
        assert!(
            !frame[field].is_null(),
            "alert frame lacks {field}: {frame}"
        );
    }
    assert_eq!(
        (
            frame["rule"].as_str(),
            frame["device"].as_str(),
            frame["state"].as_str()
        ),
        (Some("flood"), Some("wl-09"), Some("open"))
    );
    assert_eq!(
        (
            frame["value"].as_f64(),
            frame["severity"].as_str(),
            frame["ts"].as_i64()
        ),
        (Some(5.6), Some("critical"), Some(t))
    );
    let id = frame["id"].as_i64().expect("id");

    // restart: the open alert is still there, and a repeat updates it instead of opening another
    drop(mqtt);
    hub.stop();
    hub.spawn().await;
    let mut mqtt = Publisher::connect(&hub.mqtt_url(), "alert-pub-2").await;
    let (_, open) = hub.get("/api/v1/alerts?state=open").await;
    assert_eq!(open.as_array().map(Vec::len), Some(1));
    mqtt.publish(
        "ioc/wl-09/telemetry",
        format!(r#"{{"ts":{},"water_level":5.8}}"#, t + 1000),
    )
    .await;
    // between clear (4.5) and value (5.0): hysteresis keeps it open
    mqtt.send(
        "ioc/wl-09/telemetry",
        format!(r#"{{"ts":{},"water_level":4.7}}"#, t + 2000),
    )
    .await;
    hub.wait_reading("wl-09", "water_level", t + 2000).await;
    let (_, open) = hub.get("/api/v1/alerts?state=open").await;
    let open = open.as_array().expect("alerts").clone();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0]["id"].as_i64(), Some(id));

    // below clear: resolved, pushed live
    let mut ws = hub
        .ws(json!({"op": "subscribe", "topics": ["alerts"], "devices": ["wl-09"]}))
        .await;
    mqtt.send(
        "ioc/wl-09/telemetry",
        format!(r#"{{"ts":{},"water_level":4.2}}"#, t + 3000),
    )
    .await;
    let frame = ws.until(T, |f| f["type"] == "alert").await;
    assert_eq!(
        (frame["id"].as_i64(), frame["state"].as_str()),
        (Some(id), Some("resolved"))
    );
    let (_, open) = hub.get("/api/v1/alerts?state=open").await;
    assert_eq!(open.as_array().map(Vec::len), Some(0));
    let (_, all) = hub.get("/api/v1/alerts").await;
    assert_eq!(
        all.as_array().map(Vec::len),
        Some(1),
        "one alert in all: {all}"
    );
    assert_eq!(hub.metric("iochub_alerts_resolved_total").await, 1.0);
}

#[tokio::test]
async fn rules_reload_on_change_and_on_sighup_and_a_bad_file_keeps_the_running_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start(
        dir.path(),
        &DEFAULT_RULES.replace("value = 5.0", "value = 50.0"),
    )
    .await;
    let mut ws = hub
        .ws(json!({"op": "subscribe", "topics": ["alerts"]}))
        .await;
    let mut mqtt = Publisher::connect(&hub.mqtt_url(), "reload-pub").await;
    let t = now_ms();
    mqtt.send(
        "ioc/wl-r/telemetry",
        format!(r#"{{"ts":{t},"water_level":6}}"#),
    )
    .await;
    hub.wait_reading("wl-r", "water_level", t).await;
    let (_, open) = hub.get("/api/v1/alerts?state=open").await;
    assert_eq!(open.as_array().map(Vec::len), Some(0), "6 < 50: no alert");

    // a broken file is refused, the running rules stay
    std::fs::write(
        &hub.rules,
        DEFAULT_RULES.replace("op = \">=\"", "op = \"~\""),
    )
    .expect("write");
    eventually("reload refused", T, || async {
        (hub.metric(r#"iochub_rules_reloads_total{result="error"}"#)
            .await
            >= 1.0)
            .then_some(())
    })
    .await;
    assert!(
        hub.log().contains("rule flood: field `op`"),
        "the log names the rule and field"
    );
    let (_, rules) = hub.get("/api/v1/rules").await;
    assert_eq!(rules[0]["value"], 50.0);

    // a valid edit is picked up without a restart
    std::fs::write(&hub.rules, DEFAULT_RULES).expect("write");
    eventually("new rules active", T, || async {
        let (_, r) = hub.get("/api/v1/rules").await;
        (r[0]["value"] == 5.0).then_some(())
    })
    .await;
    mqtt.send(
        "ioc/wl-r/telemetry",
        format!(r#"{{"ts":{},"water_level":6}}"#, t + 1000),
    )
    .await;
    let frame = ws.until(T, |f| f["type"] == "alert").await;
    assert_eq!(
        (frame["device"].as_str(), frame["state"].as_str()),
        (Some("wl-r"), Some("open"))
    );

    // SIGHUP reloads even when the file looks unchanged
    let before = hub
        .metric(r#"iochub_rules_reloads_total{result="ok"}"#)
        .await;
    hub.signal("HUP");
    eventually("SIGHUP reload", T, || async {
        (hub.metric(r#"iochub_rules_reloads_total{result="ok"}"#)
            .await
            > before)
            .then_some(())
    })
    .await;
    // the unchanged rule kept its state: a 7 is no re-fire. Then a clear: the alert manager
    // applies one device's decisions in order, so once the alert is resolved, a re-fire of the
    // 7 (or of the first 6, under the old threshold) would have been counted in its hits.
    for (dt, level) in [(2000, 7.0), (3000, 4.0)] {
        mqtt.publish(
            "ioc/wl-r/telemetry",
            format!(r#"{{"ts":{},"water_level":{level}}}"#, t + dt),
        )
        .await;
    }
    mqtt.flush().await;
    ws.until(T, |f| f["type"] == "alert" && f["state"] == "resolved")
        .await;
    let (_, all) = hub.get("/api/v1/alerts").await;
    let all = all.as_array().expect("alerts").clone();
    assert_eq!(
        (all.len(), all[0]["hits"].as_u64()),
        (1, Some(1)),
        "{all:?}"
    );
}

/// Counts a telemetry frame (keeping the latest value per series) or a `lagged` notice.
fn tally(
    f: &serde_json::Value,
    last: &mut HashMap<(String, String), f64>,
    frames: &mut usize,
    lagged: &mut usize,
) {
    match f["type"].as_str() {
        Some("telemetry") => {
            *frames += 1;
            let device = f["device"].as_str().unwrap_or("").to_owned();
            let metric = f["metric"].as_str().unwrap_or("").to_owned();
            last.insert((device, metric), f["value"].as_f64().unwrap_or(f64::NAN));
        }
        Some("lagged") => *lagged += 1,
        _ => {}
    }
}

/// Every frame is one reading, so the counts below are exact, and none of them depends on timing:
///
/// - The fast client reads each batch of `BATCH` messages (`BATCH × metrics` = 250 frames) before
///   the next is published, so it never has more than 250 frames in flight, fewer than the hub's
///   per-client queue holds (512, docs/ARCHITECTURE.md): it can be neither conflated nor told it
///   lagged, however the tasks are scheduled. Publishing never waits for the slow client: if it
///   did, a batch would stop reaching the fast one once the slow one's buffers are full.
/// - The slow client reads nothing until the end while 30,000 frames (~2.5 MB) are sent to it,
///   through a 4 KiB receive buffer and the hub's 256 KiB send buffer: it must lag.
/// - 3,000 messages are fewer than the hub's live feed ring (4,096), so no client falls off the
///   ring: every lag the hub counts is a full client queue, told once, and every telemetry frame
///   offered to the slow client is either sent or replaced by a newer value of its series.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_websocket_client_is_conflated_and_told_while_a_fast_one_keeps_up() {
    const BATCH: usize = 25;
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start(dir.path(), DEFAULT_RULES).await;
    let sub = json!({"op": "subscribe", "topics": ["telemetry"]});
    let mut fast = hub.ws(sub.clone()).await;
    // never read until the end, through a small receive buffer so that little volume overflows it
    let mut slow = hub.ws_small_buffer(sub).await;
    let mut mqtt = Publisher::connect(&hub.mqtt_url(), "flood-pub").await;
    let (devices, messages_per_device, metrics) = (50, 60, 10);
    let total = devices * messages_per_device * metrics;
    let base = now_ms() - 600_000;
    let want: HashMap<(String, String), f64> = (0..devices)
        .flat_map(|d| {
            (0..metrics).map(move |m| {
                (
                    (format!("ws-{d:02}"), format!("m{m}")),
                    ((messages_per_device - 1) * 10 + m) as f64,
                )
            })
        })
        .collect();

    let mut last: HashMap<(String, String), f64> = HashMap::new();
    let (mut frames, mut lagged) = (0usize, 0);
    let all: Vec<usize> = (0..devices).collect();
    for i in 0..messages_per_device {
        for batch in all.chunks(BATCH) {
            for d in batch {
                let ts = base + i as i64 * 1000;
                let fields: Vec<String> = (0..metrics)
                    .map(|m| format!(r#""m{m}":{}"#, i * 10 + m))
                    .collect();
                mqtt.publish(
                    &format!("ioc/ws-{d:02}/telemetry"),
                    format!(r#"{{"ts":{ts},{}}}"#, fields.join(",")),
                )
                .await;
            }
            let until = frames + batch.len() * metrics;
            while frames < until {
                let f = fast.next_json(T).await.unwrap_or_else(|| {
                    panic!("the fast client got {frames} of {until} frames: held up or conflated")
                });
                tally(&f, &mut last, &mut frames, &mut lagged);
            }
        }
        mqtt.flush().await;
    }
    assert_eq!(
        last, want,
        "the fast client has the latest value of every series"
    );
    assert_eq!(
        (frames, lagged),
        (total, 0),
        "the fast client got every frame, never lagged"
    );

    // the slow client: told it lagged, and still ends with the latest value of every series
    let mut last: HashMap<(String, String), f64> = HashMap::new();
    let (mut frames, mut lagged) = (0usize, 0);
    while last != want {
        let f = slow
            .next_json(Duration::from_secs(30))
            .await
            .expect("slow client catches up with the latest values");
        tally(&f, &mut last, &mut frames, &mut lagged);
    }
    assert!(lagged >= 1, "slow client was told it lagged");
    // A series' latest value is the last frame of it the client is sent, so by now every frame
    // and every notice for the slow client has arrived.
    let conflated = hub.metric("iochub_ws_conflated_total").await as usize;
    assert!(conflated >= 1, "slow client's telemetry was conflated");
    assert_eq!(
        frames + conflated,
        total,
        "each frame was sent to the slow client or replaced by a newer value of its series"
    );
    assert_eq!(
        hub.metric("iochub_ws_lagged_total").await,
        lagged as f64,
        "every lag the hub counted was told, all of them to the slow client"
    );
}

#[tokio::test]
async fn an_alert_whose_rule_was_removed_while_down_is_resolved_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut hub = Hub::start(dir.path(), DEFAULT_RULES).await;
    let mut mqtt = Publisher::connect(&hub.mqtt_url(), "orphan-pub").await;
    let t = now_ms();
    mqtt.send(
        "ioc/wl-o/telemetry",
        format!(r#"{{"ts":{t},"water_level":9}}"#),
    )
    .await;
    let open = eventually("alert open", T, || async {
        let (_, a) = hub.get("/api/v1/alerts?state=open").await;
        a.as_array().filter(|a| a.len() == 1).cloned()
    })
    .await;
    drop(mqtt);
    hub.stop();
    std::fs::write(&hub.rules, "# flood rule withdrawn\n").expect("rules");
    hub.spawn().await;
    let id = open[0]["id"].as_i64().expect("id");
    let alert = eventually("alert resolved", T, || async {
        let (_, a) = hub.get(&format!("/api/v1/alerts/{id}")).await;
        (a["state"] == "resolved").then_some(a)
    })
    .await;
    assert_eq!(alert["value"], 9.0, "the last known value is kept");
}

/// `store_readings = false` (a bare alerting hub): readings drive the rules and the live feed and
/// QoS 1 messages are acked once evaluated, but no reading is stored; alerts still are.
#[tokio::test]
async fn a_hub_that_does_not_store_readings_still_alerts_and_acks() {
    let mosquitto = Mosquitto::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start_with_env(
        dir.path(),
        DEFAULT_RULES,
        Broker::External(mosquitto.url()),
        &[("IOCHUB_STORE_READINGS", "false")],
    )
    .await;
    let mut ws = hub
        .ws(json!({"op": "subscribe", "topics": ["alerts"]}))
        .await;
    let mut mqtt = Publisher::connect(&mosquitto.url(), "bare-pub").await;
    let t = now_ms();
    for (i, level) in [2.0, 5.6, 3.0].iter().enumerate() {
        mqtt.publish(
            "ioc/wl-09/telemetry",
            format!(r#"{{"ts":{},"water_level":{level}}}"#, t + i as i64 * 1000),
        )
        .await;
    }
    mqtt.flush().await;
    let frame = ws.until(T, |f| f["type"] == "alert").await;
    assert_eq!(
        (frame["device"].as_str(), frame["value"].as_f64()),
        (Some("wl-09"), Some(5.6))
    );
    eventually("3 readings evaluated and 3 messages acked", T, || async {
        let evaluated = hub.metric("iochub_engine_readings_total").await;
        let acked = hub.metric("iochub_ingest_acks_total").await;
        (evaluated == 3.0 && acked == 3.0).then_some(())
    })
    .await;
    assert_eq!(hub.metric("iochub_ingest_readings_total").await, 0.0);
    assert!(
        hub.readings("wl-09", "water_level", t - 1, t + 5000)
            .await
            .is_empty(),
        "no reading is stored"
    );
    let (_, alerts) = hub.get("/api/v1/alerts").await;
    let alerts = alerts.as_array().expect("alerts").clone();
    assert_eq!(alerts.len(), 1, "the alert is stored: {alerts:?}");
    assert_eq!(alerts[0]["state"].as_str(), Some("resolved"));
}
