//! What the dashboard stands on: the app served from the binary, the session check, the map's
//! areas, area summaries (area, circle, polygon) and the WebSocket `area` filter — against the
//! real binary with its demo areas (the simulated province's illustrative boundaries).

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::*;

const T: Duration = Duration::from_secs(20);

async fn post(hub: &Hub, path: &str, body: Value) -> (u16, Value) {
    let resp = hub
        .client
        .post(hub.url(path))
        .bearer_auth(&hub.token)
        .json(&body)
        .send()
        .await
        .expect("POST");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The status of a GET sent without the session's token.
async fn status_without_session(hub: &Hub, path: &str) -> u16 {
    let resp = hub.client.get(hub.url(path)).send().await.expect("GET");
    resp.status().as_u16()
}

#[tokio::test]
async fn the_app_and_the_session_check() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start(dir.path(), DEFAULT_RULES).await;

    // The app itself is open (it holds the login page) and comes from inside the binary.
    let resp = hub.client.get(hub.url("/")).send().await.expect("GET /");
    assert_eq!(resp.status(), 200);
    let ctype = resp.headers()["content-type"]
        .to_str()
        .unwrap_or("")
        .to_owned();
    assert!(ctype.starts_with("text/html"), "{ctype}");
    assert!(resp.text().await.unwrap_or_default().contains("<html"));
    let resp = hub
        .client
        .get(hub.url("/no-such-file.js"))
        .send()
        .await
        .expect("GET");
    assert_eq!(resp.status(), 404);
    let (status, body) = hub.get("/api/v1/no-such-route").await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");

    let (status, me) = hub.get("/api/v1/auth/me").await;
    assert_eq!(status, 200);
    assert_eq!(me["username"], "admin");
    assert!(me["expires_at"].as_str().is_some_and(|s| s.ends_with('Z')));
    assert_eq!(
        status_without_session(&hub, "/api/v1/auth/me").await,
        401,
        "no session, no answer"
    );

    let (_, areas) = hub.get("/api/v1/areas").await;
    assert_eq!(areas["type"], "FeatureCollection");

    // The map opens on the province: the box of the province's own outline, edge to edge.
    let (status, map) = hub.get("/api/v1/map").await;
    assert_eq!(status, 200);
    for key in ["style", "tiles", "attribution"] {
        assert_eq!(
            map[key],
            Value::Null,
            "{key}: the offline basemap by default"
        );
    }
    let province = areas["features"]
        .as_array()
        .expect("features")
        .iter()
        .find(|f| f["properties"]["level"] == "province")
        .expect("a province");
    let mut vertices = Vec::new();
    positions(&province["geometry"]["coordinates"], &mut vertices);
    let edge = |corner: usize, axis: usize| map["bounds"][corner][axis].as_f64().expect("bounds");
    let extreme = |axis: usize, pick: fn(f64, f64) -> f64| {
        vertices
            .iter()
            .map(|p| p[axis])
            .reduce(pick)
            .expect("vertices")
    };
    assert_eq!(
        [[edge(0, 0), edge(0, 1)], [edge(1, 0), edge(1, 1)]],
        [
            [extreme(0, f64::min), extreme(1, f64::min)],
            [extreme(0, f64::max), extreme(1, f64::max)]
        ],
        "{}",
        map["bounds"]
    );
    let ids: Vec<&str> = areas["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter_map(|f| f["properties"]["id"].as_str())
        .collect();
    assert!(
        ids.contains(&"cb") && ids.contains(&"cb-p-thucphan"),
        "{ids:?}"
    );
    assert!(
        areas["features"]
            .as_array()
            .expect("features")
            .iter()
            .all(|f| f["properties"]["illustrative"] == true),
        "demo boundaries are marked illustrative"
    );
}

/// Every `[lon, lat]` nested in GeoJSON coordinates.
fn positions(coords: &Value, out: &mut Vec<[f64; 2]>) {
    match coords.as_array().map(Vec::as_slice) {
        Some([Value::Number(lon), Value::Number(lat), ..]) => {
            out.push([lon.as_f64().expect("lon"), lat.as_f64().expect("lat")]);
        }
        Some(items) => items.iter().for_each(|c| positions(c, out)),
        None => {}
    }
}

/// The domain data the app labels things with comes from the hub: the metric catalog with
/// units, ranges and both languages' names, the area tools' metrics, and a title for every
/// rule the province ships.
#[tokio::test]
async fn the_catalog_the_app_labels_with() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start(dir.path(), DEFAULT_RULES).await;
    let (status, catalog) = hub.get("/api/v1/catalog").await;
    assert_eq!(status, 200);
    let metrics = catalog["metrics"].as_array().expect("metrics");
    let metric = |name: &str| {
        metrics
            .iter()
            .find(|m| m["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {catalog}"))
    };
    assert_eq!(
        metric("water_level"),
        &json!({"name": "water_level", "unit": "m", "min": -100.0, "max": 9000.0,
                "label": {"vi": "Mực nước", "en": "Water level"}})
    );
    assert_eq!(metric("pm2_5")["unit"], "ug/m3");
    assert_eq!(metric("aqi")["unit"], "");
    for m in metrics {
        assert!(
            m["label"]["vi"].as_str().is_some_and(|s| !s.is_empty()),
            "{m}"
        );
        assert!(
            m["label"]["en"].as_str().is_some_and(|s| !s.is_empty()),
            "{m}"
        );
        assert!(m["min"].as_f64() < m["max"].as_f64(), "{m}");
    }
    let area_metrics = catalog["area_metrics"].as_array().expect("area_metrics");
    assert_eq!(area_metrics[0], "water_level", "the first one offered");
    for m in area_metrics {
        metric(m.as_str().expect("a name"));
    }
    assert!(!area_metrics.contains(&json!("wind_dir")) && !area_metrics.contains(&json!("lat")));

    // Every rule id of the province's rules file gets a title.
    let kinds = catalog["rule_kinds"].as_array().expect("rule_kinds");
    let title = |id: &str| {
        kinds
            .iter()
            .find(|k| k["prefix"].as_str().is_some_and(|p| id.starts_with(p)))
            .map(|k| k["label"].clone())
    };
    let rules =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/rules/cao-bang.toml"))
            .expect("rules/cao-bang.toml");
    let ids: Vec<&str> = rules
        .lines()
        .filter_map(|l| l.strip_prefix("id = \""))
        .filter_map(|l| l.strip_suffix('"'))
        .collect();
    assert!(ids.len() > 10, "{ids:?}");
    for id in ids {
        assert!(title(id).is_some(), "no title for rule {id}");
    }
    assert_eq!(
        title("flood-l3-cb-wl-banggiang-01"),
        Some(json!({"vi": "Lũ — Báo động cấp III", "en": "Flood — Alarm level III"}))
    );

    assert_eq!(
        status_without_session(&hub, "/api/v1/catalog").await,
        401,
        "no session, no catalog"
    );
}

#[tokio::test]
async fn area_summaries_and_the_area_filter() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start(dir.path(), DEFAULT_RULES).await;
    let mut mqtt = Publisher::connect(&hub.mqtt_url(), "map-pub").await;

    // Two devices in the city area, one far west, one with no position.
    let t0 = now_ms() - 60_000;
    for (device, lat, lon, level) in [
        ("city-1", 22.666, 106.257, 5.5),
        ("city-2", 22.670, 106.262, 2.0),
        ("west-1", 22.880, 105.550, 3.0),
    ] {
        mqtt.publish(
            &format!("ioc/{device}/telemetry"),
            format!(r#"{{"ts":{t0},"lat":{lat},"lon":{lon},"water_level":{level}}}"#),
        )
        .await;
        mqtt.send(&format!("ioc/{device}/status"), "online").await;
    }
    mqtt.publish(
        "ioc/nowhere-1/telemetry",
        format!(r#"{{"ts":{t0},"water_level":1.0}}"#),
    )
    .await;
    for d in ["city-1", "city-2", "west-1", "nowhere-1"] {
        hub.wait_reading(d, "water_level", t0).await;
    }
    // The flood rule (>= 5.0, critical) fired for city-1.
    eventually("flood alert open", T, || async {
        let (_, a) = hub.get("/api/v1/alerts?state=open").await;
        a.as_array().is_some_and(|a| a.len() == 1).then_some(())
    })
    .await;
    let (_, d) = hub.get("/api/v1/devices/city-1").await;
    let unit = d["latest"]
        .as_array()
        .and_then(|l| l.iter().find(|v| v["metric"] == "water_level"))
        .map(|v| v["unit"].clone());
    assert_eq!(unit, Some(json!("m")), "latest values carry their unit");

    let summary = eventually("online states known", T, || async {
        let (status, s) = post(
            &hub,
            "/api/v1/areas/summary",
            json!({"area": "cb-p-thucphan", "metric": "water_level"}),
        )
        .await;
        assert_eq!(status, 200, "{s}");
        (s["online"] == 2).then_some(s)
    })
    .await;
    assert_eq!(summary["devices"], 2);
    assert_eq!(summary["device_keys"], json!(["city-1", "city-2"]));
    assert_eq!(
        summary["alerts"],
        json!({"critical": 1, "warning": 0, "info": 0})
    );
    assert_eq!(
        summary["metric"],
        json!({"name": "water_level", "unit": "m", "min": 2.0, "avg": 3.75, "max": 5.5, "count": 2})
    );
    assert_eq!(summary["breaches"][0]["device"], "city-1");
    assert_eq!(summary["breaches"][0]["severity"], "critical");
    assert_eq!(summary["breaches"][0]["threshold"], 5.0);

    // 300 m around city-1 holds city-1 only (city-2 is ~700 m away).
    let (_, s) = post(
        &hub,
        "/api/v1/areas/summary",
        json!({"circle": {"center": [106.257, 22.666], "radius_m": 300.0}}),
    )
    .await;
    assert_eq!(s["device_keys"], json!(["city-1"]), "{s}");
    assert_eq!(s["metric"], Value::Null);
    // A drawn polygon around everything: the device with no position is not placed anywhere.
    let (_, s) = post(
        &hub,
        "/api/v1/areas/summary",
        json!({"polygon": [[105.0, 22.0], [107.0, 22.0], [107.0, 23.5], [105.0, 23.5]]}),
    )
    .await;
    assert_eq!(
        s["device_keys"],
        json!(["city-1", "city-2", "west-1"]),
        "{s}"
    );

    // Bad selections name the field.
    for (body, field) in [
        (json!({"area": "atlantis"}), "area"),
        (json!({}), "area"),
        (
            json!({"area": "cb", "polygon": [[0, 0], [1, 0], [1, 1]]}),
            "area",
        ),
        (
            json!({"circle": {"center": [106.2, 22.6], "radius_m": 0}}),
            "circle.radius_m",
        ),
        (
            json!({"circle": {"center": [206.2, 22.6], "radius_m": 10}}),
            "circle.center",
        ),
        (json!({"polygon": [[0, 0], [1, 1]]}), "polygon"),
    ] {
        let (status, e) = post(&hub, "/api/v1/areas/summary", body.clone()).await;
        assert_eq!(status, 400, "{body} -> {e}");
        assert_eq!(e["error"]["field"], field, "{body} -> {e}");
    }
    let (status, _) = post(&hub, "/api/v1/areas/summary", json!({"aera": "cb"})).await;
    assert_eq!(status, 400, "unknown fields are refused");

    // The WebSocket area filter: west-1's reading is not sent, city-2's is.
    let mut ws = hub
        .ws(json!({"op": "subscribe", "topics": ["telemetry"], "area": "cb-p-thucphan"}))
        .await;
    let t1 = now_ms();
    mqtt.publish(
        "ioc/west-1/telemetry",
        format!(r#"{{"ts":{t1},"water_level":3.1}}"#),
    )
    .await;
    hub.wait_reading("west-1", "water_level", t1).await;
    mqtt.publish(
        "ioc/city-2/telemetry",
        format!(r#"{{"ts":{t1},"water_level":2.1}}"#),
    )
    .await;
    let frame = ws.until(T, |f| f["type"] == "telemetry").await;
    assert_eq!(frame["device"], "city-2", "{frame}");

    // A device new to the hub is announced with its position on the `devices` topic — how an
    // open map learns of it — and only to clients whose area holds it.
    let mut map = hub
        .ws(json!({"op": "subscribe", "topics": ["devices"], "area": "cb-p-thucphan"}))
        .await;
    mqtt.publish(
        "ioc/west-2/telemetry",
        r#"{"lat":22.9,"lon":105.6,"water_level":1.0}"#,
    )
    .await;
    mqtt.publish(
        "ioc/city-3/telemetry",
        r#"{"lat":22.668,"lon":106.26,"water_level":1.0}"#,
    )
    .await;
    let frame = map.until(T, |f| f["type"] == "position").await;
    assert_eq!(
        frame,
        json!({"type": "position", "device": "city-3", "lon": 106.26, "lat": 22.668})
    );
}

#[test]
fn a_bad_areas_file_is_a_config_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("areas.geojson");
    std::fs::write(&file, r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1]]]}}]}"#)
        .expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_iochub"))
        .args(["demo", "--no-sim", "--data-dir"])
        .arg(dir.path().join("data"))
        .env("IOCHUB_AREAS", &file)
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("config key `areas`")
            && text.contains("feature 0")
            && text.contains("properties.id"),
        "{text}"
    );
}
