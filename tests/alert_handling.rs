//! Alert handling against the running hub: the whole lifecycle through the API with each role
//! (allowed and refused transitions), the two axes (a condition that clears before and after
//! dispatch, a new breach while in progress), routing and auto-dispatch, idempotent retries,
//! the timeline and the audit trail, and `/ws` scope (a handler never sees another agency's
//! alert).

mod support;

use std::time::Duration;

use iochub::accounts::Role;
use serde_json::{Value, json};
use support::*;

const T: Duration = Duration::from_secs(20);

const RULES: &str = r#"
[[rules]]
id = "flood"
metric = "water_level"
op = ">="
value = 5.0
clear = 4.5
severity = "critical"
category = "flood"

[[rules]]
id = "slope"
metric = "soil_moisture"
op = ">="
value = 45
severity = "critical"
category = "landslide"

[[routes]]
category = "flood"
severity = "critical"
agency = ["water", "rescue"]

[[routes]]
category = "landslide"
agency = "rescue"
auto_dispatch = true

[[routes]]
agency = "police"

[[escalations]]
severity = "critical"
ack_within = "5m"
resolve_within = "2h"
"#;

async fn agency(hub: &Hub, id: &str, kind: &str) {
    let body = json!({"id": id, "name": format!("Cơ quan {id}"), "kind": kind});
    let (status, answer) = hub
        .call("POST", "/api/v1/agencies", &hub.token, Some(body))
        .await;
    assert_eq!(status, 201, "{answer}");
}

/// `POST /api/v1/alerts/{id}/{action}` with `body`; the status and the answer.
async fn act(hub: &Hub, token: &str, id: i64, action: &str, body: Value) -> (u16, Value) {
    hub.call(
        "POST",
        &format!("/api/v1/alerts/{id}/{action}"),
        token,
        Some(body),
    )
    .await
}

/// Waits for the alert of `rule` on `device` (any state) and returns it.
async fn alert_of(hub: &Hub, device: &str, rule: &str) -> Value {
    eventually("the alert", T, || async {
        let (_, alerts) = hub.get(&format!("/api/v1/alerts?device={device}")).await;
        alerts
            .as_array()
            .and_then(|a| a.iter().find(|a| a["rule"] == rule).cloned())
    })
    .await
}

async fn timeline(hub: &Hub, id: i64) -> Vec<(String, String)> {
    let (status, events) = hub.get(&format!("/api/v1/alerts/{id}/timeline")).await;
    assert_eq!(status, 200, "{events}");
    events
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or_default().to_owned(),
                e["actor"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_lifecycle_through_the_api_with_each_role() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start(dir.path(), RULES).await;
    for (id, kind) in [
        ("water", "water"),
        ("rescue", "fire_rescue"),
        ("police", "police"),
    ] {
        agency(&hub, id, kind).await;
    }
    let op = account(&hub, "op1", Role::Operator, json!({})).await;
    let sup = account(&hub, "sup1", Role::Supervisor, json!({})).await;
    let viewer = account(&hub, "v1", Role::Viewer, json!({})).await;
    let water = account(
        &hub,
        "h-water",
        Role::AgencyHandler,
        json!({"agency": "water"}),
    )
    .await;
    let rescue = account(
        &hub,
        "h-rescue",
        Role::AgencyHandler,
        json!({"agency": "rescue"}),
    )
    .await;
    let police = account(
        &hub,
        "h-police",
        Role::AgencyHandler,
        json!({"agency": "police"}),
    )
    .await;
    account(
        &hub,
        "sys-water",
        Role::Integrator,
        json!({"agency": "water"}),
    )
    .await;
    let water_system = api_token(&hub, "sys-water", json!([])).await;

    let mut water_ws = hub
        .ws_as(&water, json!({"op": "subscribe", "topics": ["alerts"]}))
        .await;
    let mut police_ws = hub
        .ws_as(&police, json!({"op": "subscribe", "topics": ["alerts"]}))
        .await;

    let mut mqtt = Publisher::connect(&hub.mqtt_url(), "handling").await;
    let t = now_ms();
    let reading = |device: &str, metric: &str, dt: i64, v: f64| {
        (
            format!("ioc/{device}/telemetry"),
            format!(r#"{{"ts":{},"{metric}":{v}}}"#, t + dt),
        )
    };
    let (topic, payload) = reading("wl-01", "water_level", 0, 5.6);
    mqtt.send(&topic, payload).await;
    let alert = alert_of(&hub, "wl-01", "flood").await;
    let id = alert["id"].as_i64().expect("id");
    assert_eq!(
        (
            alert["state"].as_str(),
            alert["active"].as_bool(),
            alert["category"].as_str(),
            alert["source"].as_str()
        ),
        (Some("open"), Some(true), Some("flood"), Some("rule"))
    );
    assert!(
        alert["ack_deadline"].is_string() && alert["resolve_deadline"].is_string(),
        "deadlines from [[escalations]]: {alert}"
    );

    // Before dispatch: only the IOC acts; an agency does not see it yet.
    let (status, _) = act(&hub, &viewer, id, "acknowledge", json!({})).await;
    assert_eq!(status, 403, "a viewer never acts");
    let (status, _) = act(&hub, &water, id, "acknowledge", json!({})).await;
    assert_eq!(status, 404, "not forwarded to water yet");
    let (status, _) = hub
        .call("GET", &format!("/api/v1/alerts/{id}"), &water, None)
        .await;
    assert_eq!(status, 404);
    let (status, acked) = act(&hub, &op, id, "acknowledge", json!({"note": "đã nhận"})).await;
    assert_eq!(
        (status, acked["state"].as_str()),
        (200, Some("acknowledged")),
        "{acked}"
    );
    let (status, again) = act(&hub, &op, id, "acknowledge", json!({})).await;
    assert_eq!(
        (status, again["state"].as_str()),
        (409, Some("acknowledged")),
        "{again}"
    );
    let (status, bad) = act(&hub, &op, id, "dispatch", json!({"agency": "atlantis"})).await;
    assert_eq!(
        (status, bad["error"]["field"].as_str()),
        (400, Some("agency")),
        "{bad}"
    );

    // Dispatch by the route: water leads, rescue coordinates.
    let (status, sent) = act(&hub, &op, id, "dispatch", json!({"note": "chuyển xử lý"})).await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(
        (sent["state"].as_str(), sent["agency"].as_str()),
        (Some("dispatched"), Some("water"))
    );
    assert_eq!(sent["agencies"], json!(["water", "rescue"]));
    let frame = water_ws
        .until(T, |f| {
            f["type"] == "alert" && f["id"] == id && f["state"] == "dispatched"
        })
        .await;
    assert_eq!(
        frame["agency"], "water",
        "the handler's feed carries the handling fields"
    );
    let (status, seen) = hub
        .call("GET", &format!("/api/v1/alerts/{id}"), &water, None)
        .await;
    assert_eq!((status, seen["id"].as_i64()), (200, Some(id)));
    let (_, police_list) = hub.call("GET", "/api/v1/alerts", &police, None).await;
    assert_eq!(police_list, json!([]), "police is not among its agencies");

    let (status, _) = act(&hub, &rescue, id, "start", json!({})).await;
    assert_eq!(status, 403, "a coordinating agency does not lead");
    let (status, _) = act(
        &hub,
        &rescue,
        id,
        "comment",
        json!({"text": "xe cứu hộ sẵn sàng"}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, refused) = act(&hub, &op, id, "resolve", json!({})).await;
    assert_eq!(
        (status, refused["state"].as_str()),
        (409, Some("dispatched")),
        "{refused}"
    );

    // The agency's own system starts it; a retry with the same key acts once.
    let key = [("Idempotency-Key", "water-77")];
    let start = |token: &str| {
        hub.client
            .post(hub.url(&format!("/api/v1/alerts/{id}/start")))
            .bearer_auth(token.to_owned())
            .header(key[0].0, key[0].1)
            .json(&json!({}))
            .send()
    };
    for _ in 0..2 {
        let answer = start(&water_system).await.expect("start");
        assert_eq!(answer.status(), 200);
        let body: Value = answer.json().await.expect("json");
        assert_eq!(body["state"], "in_progress");
    }
    let (status, reused) = hub
        .client
        .post(hub.url(&format!("/api/v1/alerts/{id}/resolve")))
        .bearer_auth(&water_system)
        .header("Idempotency-Key", "water-77")
        .send()
        .await
        .map(|r| (r.status().as_u16(), r))
        .expect("resolve");
    assert_eq!(status, 422, "{:?}", reused.text().await);

    // The condition clears: the alert stays with the agency; a new breach reuses it.
    let (topic, payload) = reading("wl-01", "water_level", 1000, 4.0);
    mqtt.send(&topic, payload).await;
    let cleared = eventually("cleared", T, || async {
        let (_, a) = hub.get(&format!("/api/v1/alerts/{id}")).await;
        (a["active"] == false).then_some(a)
    })
    .await;
    assert_eq!(cleared["state"], "in_progress");
    assert!(cleared["cleared_at"].is_string());
    let (topic, payload) = reading("wl-01", "water_level", 2000, 5.7);
    mqtt.send(&topic, payload).await;
    let again = eventually("re-breached", T, || async {
        let (_, a) = hub.get(&format!("/api/v1/alerts/{id}")).await;
        (a["active"] == true).then_some(a)
    })
    .await;
    assert_eq!(
        (again["hits"].as_i64(), again["state"].as_str()),
        (Some(2), Some("in_progress"))
    );
    let (_, all) = hub.get("/api/v1/alerts?device=wl-01").await;
    assert_eq!(
        all.as_array().map(Vec::len),
        Some(1),
        "never a second alert: {all}"
    );

    let (status, done) = act(&hub, &water, id, "resolve", json!({"note": "đã khắc phục"})).await;
    assert_eq!(
        (status, done["state"].as_str(), done["resolution"].as_str()),
        (200, Some("resolved"), Some("handled"))
    );
    let (status, _) = act(&hub, &water, id, "close", json!({})).await;
    assert_eq!(status, 403, "the IOC closes");
    let (status, closed) = act(&hub, &sup, id, "close", json!({})).await;
    assert_eq!((status, closed["state"].as_str()), (200, Some("closed")));
    let (status, final_) = act(&hub, &op, id, "reopen", json!({})).await;
    assert_eq!(
        (status, final_["state"].as_str()),
        (409, Some("closed")),
        "{final_}"
    );

    let steps = timeline(&hub, id).await;
    let expected = [
        ("opened", "system"),
        ("acknowledge", "op1"),
        ("dispatch", "op1"),
        ("comment", "h-rescue"),
        ("start", "sys-water"),
        ("cleared", "system"),
        ("rebreached", "system"),
        ("resolve", "h-water"),
        ("close", "sup1"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(k, a)| ((*k).to_owned(), (*a).to_owned()))
        .collect();
    assert_eq!(steps, expected, "one start despite the retry");

    // The audit trail has every action, refused ones too, with the actor.
    let id_text = id.to_string();
    let (_, audit) = hub.get("/api/v1/audit?action=alert.dispatch").await;
    let records = audit.as_array().expect("records");
    assert!(
        records.iter().any(|r| r["actor"] == "op1"
            && r["result"] == "ok"
            && r["target"].as_str() == Some(id_text.as_str())),
        "{audit}"
    );
    assert!(
        records.iter().any(|r| r["result"] == "refused:400"),
        "the unknown agency: {audit}"
    );
    let (_, audit) = hub.get("/api/v1/audit?action=alert.start").await;
    assert!(
        audit
            .as_array()
            .expect("records")
            .iter()
            .any(|r| r["actor"] == "h-rescue" && r["result"] == "refused:403"),
        "{audit}"
    );

    // A landslide alert is forwarded at once by its route; police sees its own alert only.
    let (topic, payload) = reading("sl-01", "soil_moisture", 0, 48.0);
    mqtt.send(&topic, payload).await;
    let slide = alert_of(&hub, "sl-01", "slope").await;
    assert_eq!(
        (slide["state"].as_str(), slide["agency"].as_str()),
        (Some("dispatched"), Some("rescue"))
    );
    assert_eq!(
        timeline(&hub, slide["id"].as_i64().expect("id")).await[1],
        ("dispatch".to_owned(), "system".to_owned())
    );
    let slide_id = slide["id"].as_i64().expect("id");
    let (status, _) = act(&hub, &op, slide_id, "dispatch", json!({"agency": "police"})).await;
    assert_eq!(status, 200, "re-forwarded to police");
    // Police's feed: the first alert frame it gets is this one; nothing of the flood alert
    // (which was pushed earlier, to everyone in scope) reached it.
    let first = police_ws.until(T, |f| f["type"] == "alert").await;
    assert_eq!(first["id"].as_i64(), Some(slide_id), "{first}");

    // A condition that clears before dispatch resolves the alert by itself; reopening it
    // puts it back to open (it never had an agency).
    let (topic, payload) = reading("wl-02", "water_level", 0, 5.2);
    mqtt.send(&topic, payload).await;
    let quick = alert_of(&hub, "wl-02", "flood").await;
    let (topic, payload) = reading("wl-02", "water_level", 1000, 4.0);
    mqtt.send(&topic, payload).await;
    let quick_id = quick["id"].as_i64().expect("id");
    let resolved = eventually("auto resolved", T, || async {
        let (_, a) = hub.get(&format!("/api/v1/alerts/{quick_id}")).await;
        (a["state"] == "resolved").then_some(a)
    })
    .await;
    assert_eq!(resolved["resolution"], "auto_cleared");
    let (status, reopened) = act(&hub, &op, quick_id, "reopen", json!({})).await;
    assert_eq!(
        (status, reopened["state"].as_str()),
        (200, Some("open")),
        "{reopened}"
    );
    let (_, unresolved) = hub.get("/api/v1/alerts?state=unresolved").await;
    let ids: Vec<i64> = unresolved
        .as_array()
        .expect("alerts")
        .iter()
        .filter_map(|a| a["id"].as_i64())
        .collect();
    assert!(
        ids.contains(&quick_id) && ids.contains(&slide_id) && !ids.contains(&id),
        "{ids:?}"
    );
}

const ESCALATING: &str = r#"
[[rules]]
id = "flood"
metric = "water_level"
op = ">="
value = 5.0
severity = "warning"
category = "flood"

[[escalations]]
severity = "warning"
ack_within = "5m"
resolve_within = "1h"
tiers = [
  { after = "10m", notify = ["supervisor"] },
  { after = "30m", raise_severity = true },
]
"#;

/// Moves the hub's clock (`IOCHUB_TEST_CLOCK_FILE`, debug builds) to `minutes` ahead of now.
fn clock_ahead(file: &std::path::Path, minutes: i64) {
    std::fs::write(file, (minutes * 60_000).to_string()).expect("clock file");
}

async fn escalations_of(hub: &Hub, id: i64, n: i64) -> Value {
    eventually(&format!("{n} escalations of {id}"), T, || async {
        let (_, a) = hub.get(&format!("/api/v1/alerts/{id}")).await;
        (a["escalations"].as_i64() == Some(n)).then_some(a)
    })
    .await
}

#[tokio::test]
async fn escalation_tiers_follow_the_hubs_clock_across_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = dir.path().join("clock");
    clock_ahead(&clock, 0);
    let path = clock.to_string_lossy().into_owned();
    let env = [("IOCHUB_TEST_CLOCK_FILE", path.as_str())];
    let mut hub = Hub::start_with_env(dir.path(), ESCALATING, Broker::Embedded(0), &env).await;
    let mut ws = hub
        .ws(json!({"op": "subscribe", "topics": ["alerts"]}))
        .await;
    let mut mqtt = Publisher::connect(&hub.mqtt_url(), "escalating").await;
    let t = now_ms();
    for device in ["wl-01", "wl-02"] {
        mqtt.send(
            &format!("ioc/{device}/telemetry"),
            format!(r#"{{"ts":{t},"water_level":5.5}}"#),
        )
        .await;
    }
    let late = alert_of(&hub, "wl-01", "flood").await;
    let taken = alert_of(&hub, "wl-02", "flood").await;
    let (late, taken) = (
        late["id"].as_i64().expect("id"),
        taken["id"].as_i64().expect("id"),
    );
    for a in [late, taken] {
        let (_, alert) = hub.get(&format!("/api/v1/alerts/{a}")).await;
        assert!(
            alert["next_escalation_at"].is_string() && alert["ack_deadline"].is_string(),
            "{alert}"
        );
        assert_eq!(alert["escalations"], 0);
    }
    let (status, _) = act(&hub, &hub.token, taken, "acknowledge", json!({})).await;
    assert_eq!(status, 200);

    // 11 minutes on: the unacknowledged alert reaches tier 1; the acknowledged one does not
    // (same tick: both were due)
    clock_ahead(&clock, 11);
    let a = escalations_of(&hub, late, 1).await;
    assert_eq!(a["severity"], "warning");
    let frame = ws
        .until(T, |f| {
            f["type"] == "alert" && f["id"] == late && f["escalations"] == 1
        })
        .await;
    assert_eq!(frame["state"], "open", "pushed live");
    let (_, b) = hub.get(&format!("/api/v1/alerts/{taken}")).await;
    assert_eq!(b["escalations"], 0, "acknowledged before its tier: {b}");

    // the timers are stored deadlines: after a restart, tier 2 still comes at 30 minutes
    drop(ws);
    hub.stop();
    clock_ahead(&clock, 31);
    hub.spawn().await;
    let a = escalations_of(&hub, late, 2).await;
    assert_eq!(a["severity"], "critical", "raised: {a}");
    let (_, timeline) = hub.get(&format!("/api/v1/alerts/{late}/timeline")).await;
    let tiers: Vec<&Value> = timeline
        .as_array()
        .expect("timeline")
        .iter()
        .filter(|e| e["kind"] == "escalated")
        .collect();
    assert_eq!(tiers.len(), 2, "{timeline}");
    assert_eq!(tiers[0]["detail"]["notify"], json!(["supervisor"]));
    assert_eq!(tiers[1]["detail"]["severity"]["to"], "critical");

    // past the acknowledged alert's resolve deadline (1 h), its overdue tiers apply (a new
    // login: the admin's session has been idle for half an hour by the hub's clock)
    clock_ahead(&clock, 62);
    hub.token = hub.login(support::hub::PASSWORD).await.expect("login");
    let b = escalations_of(&hub, taken, 2).await;
    assert_eq!(b["state"], "acknowledged");
    let (_, timeline) = hub.get(&format!("/api/v1/alerts/{taken}/timeline")).await;
    assert!(
        timeline
            .as_array()
            .expect("timeline")
            .iter()
            .any(|e| e["detail"]["reason"] == "not resolved by its deadline"),
        "{timeline}"
    );
}

const REPORTS: &str = r#"
[[routes]]
category = "forest_fire"
agency = "ranger"
auto_dispatch = true

[[routes]]
agency = "ioc-duty"
"#;

/// A tiny file that passes for a PNG (magic bytes and some more), and one that is a GIF.
fn png() -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
    b.extend_from_slice(b"\0\0\0\rIHDR not a real picture, but the hub checks the type only");
    b
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test]
async fn a_field_report_becomes_an_alert_at_its_place_routed_and_handled() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start(dir.path(), REPORTS).await;
    for (id, kind) in [("ranger", "environment"), ("ioc-duty", "other")] {
        agency(&hub, id, kind).await;
    }
    account(&hub, "citizen-line", Role::Integrator, json!({})).await;
    let line = api_token(&hub, "citizen-line", json!([])).await;
    let ranger = account(
        &hub,
        "h-ranger",
        Role::AgencyHandler,
        json!({"agency": "ranger"}),
    )
    .await;
    let viewer = account(&hub, "v2", Role::Viewer, json!({})).await;
    let op = account(&hub, "op2", Role::Operator, json!({})).await;
    // the map of the city: a field alert is filtered by its own place
    let mut ws = hub
        .ws(json!({"op": "subscribe", "topics": ["alerts"], "bbox": [106.2, 22.6, 106.3, 22.7]}))
        .await;

    let photo = png();
    let report = json!({"category": "forest_fire", "severity": "critical", "lat": 22.666,
        "lon": 106.257, "text": "Khói bốc lên sau đồi, gần trường học", "reporter": "0912 345 678",
        "photo": b64(&photo)});
    let post = |token: &str, body: &Value, key: &str| {
        hub.client
            .post(hub.url("/api/v1/incidents"))
            .bearer_auth(token.to_owned())
            .header("Idempotency-Key", key.to_owned())
            .json(body)
            .send()
    };
    let answer = post(&line, &report, "call-1").await.expect("report");
    assert_eq!(answer.status(), 201);
    let alert: Value = answer.json().await.expect("json");
    let id = alert["id"].as_i64().expect("id");
    assert_eq!(
        (
            alert["source"].as_str(),
            alert["rule"].as_str(),
            alert["device"].as_str()
        ),
        (Some("field"), Some("field"), Some(""))
    );
    assert!(alert["value"].is_null() && alert["op"].is_null(), "{alert}");
    assert_eq!(
        (alert["lat"].as_f64(), alert["lon"].as_f64()),
        (Some(22.666), Some(106.257))
    );
    assert_eq!(
        (alert["state"].as_str(), alert["agency"].as_str()),
        (Some("dispatched"), Some("ranger")),
        "routed and forwarded at once"
    );
    assert!(
        alert["areas"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x == "cb-p-thucphan")),
        "placed in its ward: {alert}"
    );
    let frame = ws.until(T, |f| f["type"] == "alert" && f["id"] == id).await;
    assert_eq!(frame["source"], "field");

    // a retried call opens no second alert
    let again: Value = post(&line, &report, "call-1")
        .await
        .expect("again")
        .json()
        .await
        .expect("json");
    assert_eq!(again["id"].as_i64(), Some(id));
    let (_, fields) = hub.get("/api/v1/alerts?source=field").await;
    assert_eq!(fields.as_array().map(Vec::len), Some(1), "{fields}");

    // the photo is kept, named in the timeline, served back as it came
    let (_, timeline) = hub.get(&format!("/api/v1/alerts/{id}/timeline")).await;
    let reported = &timeline[0];
    assert_eq!(
        (reported["kind"].as_str(), reported["actor"].as_str()),
        (Some("reported"), Some("citizen-line"))
    );
    assert_eq!(reported["detail"]["reporter"], "0912 345 678");
    let sha = reported["detail"]["photo"]
        .as_str()
        .expect("photo named")
        .to_owned();
    let got = hub
        .client
        .get(hub.url(&format!("/api/v1/alerts/{id}/attachments/{sha}")))
        .bearer_auth(&ranger)
        .send()
        .await
        .expect("photo");
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers()["content-type"], "image/png");
    assert_eq!(got.bytes().await.expect("bytes").as_ref(), photo.as_slice());

    // refusals: the type, the size, the place, the role
    let gif = json!({"category": "other", "severity": "info", "lat": 22.6, "lon": 106.2,
        "text": "x", "photo": b64(b"GIF89a and the rest")});
    let (status, bad) = hub.call("POST", "/api/v1/incidents", &op, Some(gif)).await;
    assert_eq!(
        (status, bad["error"]["field"].as_str()),
        (400, Some("photo")),
        "{bad}"
    );
    let mut huge = png();
    huge.resize(5 * 1024 * 1024, 0);
    let big = json!({"category": "other", "severity": "info", "lat": 22.6, "lon": 106.2,
        "text": "x", "photo": b64(&huge)});
    let (status, bad) = hub.call("POST", "/api/v1/incidents", &op, Some(big)).await;
    assert!(status == 400 || status == 413, "too large: {status} {bad}");
    let nowhere =
        json!({"category": "other", "severity": "info", "lat": 95.0, "lon": 106.2, "text": "x"});
    let (status, bad) = hub
        .call("POST", "/api/v1/incidents", &op, Some(nowhere))
        .await;
    assert_eq!((status, bad["error"]["field"].as_str()), (400, Some("lat")));
    let (status, _) = hub
        .call("POST", "/api/v1/incidents", &viewer, Some(report.clone()))
        .await;
    assert_eq!(status, 403);

    // handled like any other: the ranger starts, comments with a photo, resolves
    let (status, _) = act(&hub, &ranger, id, "start", json!({})).await;
    assert_eq!(status, 200);
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0];
    jpeg.extend_from_slice(b"a picture of the fire line");
    let (status, _) = act(
        &hub,
        &ranger,
        id,
        "comment",
        json!({"text": "đã khống chế", "photo": b64(&jpeg)}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, done) = act(&hub, &ranger, id, "resolve", json!({})).await;
    assert_eq!((status, done["state"].as_str()), (200, Some("resolved")));
    let (_, timeline) = hub.get(&format!("/api/v1/alerts/{id}/timeline")).await;
    let comment = timeline
        .as_array()
        .expect("timeline")
        .iter()
        .find(|e| e["kind"] == "comment")
        .cloned()
        .expect("comment");
    assert_eq!(comment["detail"]["mime"], "image/jpeg");
    let (status, _) = act(&hub, &op, id, "close", json!({})).await;
    assert_eq!(status, 200);
}
