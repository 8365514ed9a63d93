//! Ingest through the public contract: MQTT in, HTTP out, against the real binary.

mod support;

use std::time::Duration;

use support::*;

const T: Duration = Duration::from_secs(20);

#[tokio::test]
async fn senml_and_flat_json_end_to_end() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start(dir.path(), DEFAULT_RULES).await;
    let mut mqtt = Publisher::connect(&hub.mqtt_url(), "e2e-pub").await;
    let t0 = now_ms() - 120_000;
    // SenML with base name, base time, relative record time; flat JSON with ts in ms.
    let senml = format!(
        r#"[{{"bn":"wl-01/","bt":{}.000,"n":"water_level","u":"m","v":3.25}},{{"n":"rain_1h","u":"mm","v":12.5,"t":-60}}]"#,
        t0 / 1000
    );
    mqtt.publish("ioc/wl-01/telemetry", senml).await;
    mqtt.publish(
        "ioc/aq-01/telemetry",
        format!(r#"{{"ts":{t0},"pm2_5":35.5,"humidity":80}}"#),
    )
    .await;
    // a gateway publishing for a device behind it
    mqtt.publish(
        "ioc/gw-01/telemetry",
        format!(
            r#"[{{"bt":{},"n":"wl-77/water_level","v":1.5}}]"#,
            t0 / 1000
        ),
    )
    .await;
    mqtt.send("ioc/wl-01/status", "online").await;

    let t0s = t0 / 1000 * 1000;
    let wl = eventually("SenML reading stored", T, || async {
        let r = hub
            .readings("wl-01", "water_level", t0s - 1000, t0s + 1000)
            .await;
        (!r.is_empty()).then_some(r)
    })
    .await;
    assert_eq!(wl, vec![(t0s, 3.25)]);
    assert_eq!(
        hub.readings("wl-01", "rain_1h", t0s - 61_000, t0s).await,
        vec![(t0s - 60_000, 12.5)]
    );
    assert_eq!(hub.wait_reading("aq-01", "pm2_5", t0).await, 35.5);
    assert_eq!(hub.wait_reading("wl-77", "water_level", t0s).await, 1.5);

    // devices registered themselves, unconfirmed, with latest values and online state
    let d = eventually("wl-01 online", T, || async {
        let (_, d) = hub.get("/api/v1/devices/wl-01").await;
        (d["online"] == true).then_some(d)
    })
    .await;
    assert_eq!(d["registered"], false);
    let latest: Vec<&str> = d["latest"]
        .as_array()
        .expect("latest")
        .iter()
        .filter_map(|l| l["metric"].as_str())
        .collect();
    assert_eq!(latest, ["rain_1h", "water_level"]);
    let (_, all) = hub.get("/api/v1/devices").await;
    let keys: Vec<&str> = all
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|d| d["key"].as_str())
        .collect();
    // gw-01 only relayed for wl-77: it is not a device of its own
    assert_eq!(keys, ["aq-01", "wl-01", "wl-77"]);

    // an operator confirms a device and sets its position
    let resp = hub
        .client
        .patch(hub.url("/api/v1/devices/aq-01"))
        .bearer_auth(&hub.token)
        .json(&serde_json::json!({"registered": true, "name": "Trạm Hợp Giang", "lat": 22.66, "lon": 106.25}))
        .send()
        .await
        .expect("PATCH");
    assert_eq!(resp.status(), 200);
    let (_, d) = hub.get("/api/v1/devices/aq-01").await;
    assert_eq!(
        (d["registered"].clone(), d["lat"].clone()),
        (serde_json::json!(true), serde_json::json!(22.66))
    );
}

#[tokio::test]
async fn step_aggregation_gives_min_avg_max_per_bucket() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start(dir.path(), DEFAULT_RULES).await;
    let mut mqtt = Publisher::connect(&hub.mqtt_url(), "agg-pub").await;
    let base = (now_ms() - 3_600_000) / 60_000 * 60_000;
    for (i, v) in [1.0, 2.0, 3.0, 10.0, 20.0, 30.0].iter().enumerate() {
        let ts = base + (i as i64 / 3) * 60_000 + (i as i64 % 3) * 10_000;
        mqtt.publish(
            "ioc/agg-1/telemetry",
            format!(r#"{{"ts":{ts},"temperature":{v}}}"#),
        )
        .await;
    }
    mqtt.flush().await;
    let (from, to) = (
        iochub::timefmt::format_ms(base),
        iochub::timefmt::format_ms(base + 120_000),
    );
    let path =
        format!("/api/v1/devices/agg-1/readings?metric=temperature&from={from}&to={to}&step=60s");
    let body = eventually("6 readings", T, || async {
        let (_, b) = hub.get(&path).await;
        let n: u64 = b["points"]
            .as_array()?
            .iter()
            .filter_map(|p| p["count"].as_u64())
            .sum();
        (n == 6).then_some(b)
    })
    .await;
    let buckets: Vec<(f64, f64, f64)> = body["points"]
        .as_array()
        .expect("points")
        .iter()
        .map(|p| {
            (
                p["min"].as_f64().unwrap_or(f64::NAN),
                p["avg"].as_f64().unwrap_or(f64::NAN),
                p["max"].as_f64().unwrap_or(f64::NAN),
            )
        })
        .collect();
    assert_eq!(buckets, vec![(1.0, 2.0, 3.0), (10.0, 20.0, 30.0)]);
    assert_eq!(body["step_seconds"], 60.0);

    // the same as CSV, for a spreadsheet
    let resp = hub
        .client
        .get(hub.url(&format!("{path}&format=csv")))
        .bearer_auth(&hub.token)
        .send()
        .await
        .expect("GET csv");
    assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = resp.text().await.expect("csv body");
    let t = |ms: i64| iochub::timefmt::format_ms(ms);
    assert_eq!(
        csv,
        format!(
            "ts,min,avg,max,count\n{},1,2,3,3\n{},10,20,30,3\n",
            t(base),
            t(base + 60_000)
        )
    );
    let (status, err) = hub.get(&format!("{path}&format=xml")).await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (400, Some("format"))
    );
}

#[tokio::test]
async fn bad_input_is_dead_lettered_counted_and_the_good_records_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start(dir.path(), DEFAULT_RULES).await;
    let mut mqtt = Publisher::connect(&hub.mqtt_url(), "bad-pub").await;
    let now = now_ms();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("ioc/bad-1/telemetry", b"{not json".to_vec()),
        ("ioc/bad-1/telemetry", br#"{"humidity":"wet"}"#.to_vec()),
        ("ioc/bad-1/telemetry", br#"[{"n":"temperature","v":1e999}]"#.to_vec()),
        ("ioc/bad-1/telemetry", format!(r#"{{"ts":{now},"humidity":250}}"#).into_bytes()),
        ("ioc/bad-1/telemetry", format!(r#"{{"ts":{},"humidity":50}}"#, now + 86_400_000).into_bytes()),
        ("ioc/bad-1/telemetry", br#"{"ts":1000,"humidity":50}"#.to_vec()),
        ("ioc/bad-1/telemetry", b"{\"humidity\":\xff}".to_vec()),
        ("ioc/bad-1/telemetry", format!(r#"{{"humidity":1,"pad":"{}"}}"#, "x".repeat(300 * 1024)).into_bytes()),
        ("ioc/bad key/telemetry", br#"{"humidity":50}"#.to_vec()),
        ("ioc/bad-1/telemetry", br#"[{"n":"bad metric!","v":1}]"#.to_vec()),
        ("ioc/bad-1/status", b"sleepy".to_vec()),
        // mixed: one good record survives two bad ones
        ("ioc/bad-1/telemetry", format!(r#"[{{"bt":{},"n":"humidity","v":55}},{{"n":"pm2_5","v":-5}},{{"n":"co","vs":"high"}}]"#, now / 1000).into_bytes()),
    ];
    for (topic, payload) in &cases {
        mqtt.publish(topic, payload.clone()).await;
    }
    mqtt.flush().await;
    let letters = eventually("13 dead letters", T, || async {
        let (_, d) = hub.get("/api/v1/dead-letters?limit=100").await;
        d.as_array().filter(|a| a.len() >= 13).cloned()
    })
    .await;
    let mut reasons: Vec<&str> = letters
        .iter()
        .filter_map(|l| l["reason"].as_str())
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [
            "bad_topic",
            "invalid_device",
            "invalid_metric",
            "malformed_json",
            "not_finite",
            "not_utf8",
            "out_of_range",
            "out_of_range",
            "oversized",
            "timestamp_future",
            "timestamp_past",
            "unsupported_value",
            "wrong_type"
        ]
    );
    assert!(letters.iter().all(|l| l["topic"].is_string()
        && l["detail"].is_string()
        && l["received_at"].is_string()));
    let good = hub
        .readings(
            "bad-1",
            "humidity",
            now / 1000 * 1000 - 1,
            now / 1000 * 1000 + 1,
        )
        .await;
    assert_eq!(good, vec![(now / 1000 * 1000, 55.0)]);
    assert_eq!(
        hub.metric(r#"iochub_ingest_rejected_total{reason="out_of_range"}"#)
            .await,
        2.0
    );
    assert_eq!(
        hub.metric(r#"iochub_ingest_rejected_total{reason="not_utf8"}"#)
            .await,
        1.0
    );
    // the hub is still up and acking
    assert_eq!(hub.get("/healthz").await.0, 200);
}

#[tokio::test]
async fn duplicate_delivery_does_not_duplicate_readings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start(dir.path(), DEFAULT_RULES).await;
    let mut mqtt = Publisher::connect(&hub.mqtt_url(), "dup-pub").await;
    let ts = now_ms() - 5000;
    let payload = format!(r#"{{"ts":{ts},"water_level":2.5,"rain_1h":1}}"#);
    for _ in 0..3 {
        mqtt.publish("ioc/dup-1/telemetry", payload.clone()).await;
    }
    mqtt.flush().await;
    eventually("duplicates counted", T, || async {
        (hub.metric("iochub_ingest_duplicates_total").await >= 4.0).then_some(())
    })
    .await;
    assert_eq!(
        hub.readings("dup-1", "water_level", ts - 1, ts + 1).await,
        vec![(ts, 2.5)]
    );
    assert_eq!(hub.metric("iochub_ingest_readings_total").await, 2.0);
}

#[tokio::test]
async fn everything_but_healthz_and_login_needs_auth_and_errors_name_the_field() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start(dir.path(), DEFAULT_RULES).await;
    let anon = reqwest::Client::new();
    for path in [
        "/api/v1/devices",
        "/api/v1/alerts",
        "/api/v1/dead-letters",
        "/metrics",
        "/api/v1/rules",
    ] {
        let r = anon.get(hub.url(path)).send().await.expect("GET");
        assert_eq!(r.status(), 401, "{path}");
        let body: serde_json::Value = r.json().await.expect("json error");
        assert_eq!(body["error"]["code"], "unauthorized", "{path}");
    }
    assert_eq!(
        anon.get(hub.url("/healthz"))
            .send()
            .await
            .expect("GET")
            .status(),
        200
    );
    assert!(hub.login("wrong").await.is_none());
    let r = anon
        .get(hub.url("/api/v1/devices"))
        .bearer_auth("not-a-token")
        .send()
        .await
        .expect("GET");
    assert_eq!(r.status(), 401);
    // the session cookie works like the bearer token
    let r = anon
        .get(hub.url("/api/v1/devices"))
        .header("cookie", format!("iochub_session={}", hub.token))
        .send()
        .await
        .expect("GET");
    assert_eq!(r.status(), 200);
    let (s, b) = hub
        .get("/api/v1/devices/x/readings?metric=temperature&from=yesterday")
        .await;
    assert_eq!((s, b["error"]["field"].as_str()), (400, Some("from")));
    let (s, b) = hub.get("/api/v1/devices/x/readings").await;
    assert_eq!((s, b["error"]["field"].as_str()), (400, Some("metric")));
    let (s, b) = hub.get("/api/v1/alerts?state=maybe").await;
    assert_eq!((s, b["error"]["field"].as_str()), (400, Some("state")));
    let (s, _) = hub.get("/api/v1/devices/nobody").await;
    assert_eq!(s, 404);
    let r = hub
        .client
        .patch(hub.url("/api/v1/devices/x"))
        .bearer_auth(&hub.token)
        .json(&serde_json::json!({"lat": 91}))
        .send()
        .await
        .expect("PATCH");
    assert_eq!(r.status(), 400);
    // the OpenAPI document lists the contract's paths
    let (s, doc) = hub.get("/api/v1/openapi.json").await;
    assert_eq!(s, 200);
    for p in [
        "/api/v1/devices",
        "/api/v1/devices/{device}",
        "/api/v1/devices/{device}/readings",
        "/api/v1/alerts",
        "/api/v1/dead-letters",
        "/api/v1/auth/login",
        "/healthz",
    ] {
        assert!(doc["paths"][p].is_object(), "OpenAPI lacks {p}");
    }
    // logout ends the session
    let r = hub
        .client
        .post(hub.url("/api/v1/auth/logout"))
        .bearer_auth(&hub.token)
        .send()
        .await
        .expect("logout");
    assert_eq!(r.status(), 204);
    assert_eq!(hub.get("/api/v1/devices").await.0, 401);
}

#[tokio::test]
async fn a_device_that_dies_is_marked_offline_by_its_last_will() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start(dir.path(), DEFAULT_RULES).await;
    let mut device = Publisher::device(&hub.mqtt_url(), "lwt-1").await;
    device.send("ioc/lwt-1/status", "online").await;
    eventually("online", T, || async {
        (hub.get("/api/v1/devices/lwt-1").await.1["online"] == true).then_some(())
    })
    .await;
    device.die();
    eventually("offline by last will", T, || async {
        (hub.get("/api/v1/devices/lwt-1").await.1["online"] == false).then_some(())
    })
    .await;
}
