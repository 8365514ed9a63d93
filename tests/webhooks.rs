//! Webhook delivery to the agencies against the running hub and a test receiver: signed bodies
//! and a delivery id that stays the same across retries; a receiver that fails, times out and
//! recovers; one that never answers costs no other agency anything; one that is down for good
//! ends dead and is shown on the alert; a hub killed with -9 mid-delivery delivers after its
//! restart, and never reports a delivery it did not make.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use support::*;
use tokio::sync::Notify;

const T: Duration = Duration::from_secs(30);

const RULES: &str = r#"
[[rules]]
id = "flood"
metric = "water_level"
op = ">="
value = 5.0
severity = "critical"
category = "flood"
"#;

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    delivery: String,
    event: String,
    signed: bool,
    body: Value,
}

/// How the receiver answers on a path: `fail` answers 500 that many times first, `stall` then
/// holds that many requests past the hub's timeout, `hold` keeps every request until released.
#[derive(Default)]
struct Script {
    fail: usize,
    stall: usize,
    hold: bool,
}

#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<Vec<Received>>>,
    scripts: Arc<Mutex<HashMap<String, Script>>>,
    secrets: Arc<HashMap<String, String>>,
    release: Arc<Notify>,
}

impl Receiver {
    fn seen(&self, path: &str) -> Vec<Received> {
        self.seen
            .lock()
            .expect("seen")
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    fn script(&self, path: &str, script: Script) {
        self.scripts
            .lock()
            .expect("scripts")
            .insert(path.to_owned(), script);
    }
}

async fn receive(
    State(rx): State<Receiver>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let secret = rx.secrets.get(&path).cloned().unwrap_or_default();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(&body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    rx.seen.lock().expect("seen").push(Received {
        path: path.clone(),
        delivery: header("x-iochub-delivery"),
        event: header("x-iochub-event"),
        signed: header("x-iochub-signature") == format!("sha256={expected}"),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    });
    enum Then {
        Fail,
        Stall,
        Hold,
        Ok,
    }
    let then = {
        let mut scripts = rx.scripts.lock().expect("scripts");
        let s = scripts.entry(path).or_default();
        if s.fail > 0 {
            s.fail -= 1;
            Then::Fail
        } else if s.stall > 0 {
            s.stall -= 1;
            Then::Stall
        } else if s.hold {
            Then::Hold
        } else {
            Then::Ok
        }
    };
    match then {
        Then::Fail => StatusCode::INTERNAL_SERVER_ERROR,
        Then::Stall => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            StatusCode::OK
        }
        Then::Hold => {
            rx.release.notified().await;
            StatusCode::OK
        }
        Then::Ok => StatusCode::NO_CONTENT,
    }
}

/// The receiver on a free port; each agency posts to `/{agency}`, signed with `secret-{agency}`.
async fn receiver(agencies: &[&str]) -> (Receiver, String) {
    let rx = Receiver {
        secrets: Arc::new(
            agencies
                .iter()
                .map(|a| ((*a).to_owned(), format!("secret-{a}")))
                .collect(),
        ),
        ..Receiver::default()
    };
    let app = axum::Router::new()
        .route("/{agency}", axum::routing::post(receive))
        .with_state(rx.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (rx, base)
}

async fn agency(hub: &Hub, id: &str, url: &str) {
    let body = json!({"id": id, "name": format!("Cơ quan {id}"), "kind": "other",
        "webhook": {"url": url, "secret": format!("secret-{id}")}});
    let (status, answer) = hub
        .call("POST", "/api/v1/agencies", &hub.token, Some(body))
        .await;
    assert_eq!(status, 201, "{answer}");
}

/// Opens an alert on `device` and returns its id.
async fn alert_on(hub: &Hub, device: &str) -> i64 {
    let mut mqtt = Publisher::connect(&hub.mqtt_url(), &format!("pub-{device}")).await;
    mqtt.send(
        &format!("ioc/{device}/telemetry"),
        format!(r#"{{"ts":{},"water_level":5.5}}"#, now_ms()),
    )
    .await;
    eventually("the alert", T, || async {
        let (_, a) = hub.get(&format!("/api/v1/alerts?device={device}")).await;
        a.as_array()
            .and_then(|a| a.first())
            .and_then(|a| a["id"].as_i64())
    })
    .await
}

async fn dispatch(hub: &Hub, id: i64, agencies: Value) {
    let (status, answer) = hub
        .call(
            "POST",
            &format!("/api/v1/alerts/{id}/dispatch"),
            &hub.token,
            Some(json!({ "agencies": agencies })),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
}

/// The alert's deliveries, by agency.
async fn deliveries(hub: &Hub, id: i64) -> HashMap<String, Value> {
    let (status, list) = hub.get(&format!("/api/v1/deliveries?alert={id}")).await;
    assert_eq!(status, 200, "{list}");
    list.as_array()
        .expect("deliveries")
        .iter()
        .map(|d| {
            (
                d["agency"].as_str().unwrap_or_default().to_owned(),
                d.clone(),
            )
        })
        .collect()
}

async fn delivered(hub: &Hub, id: i64, agency: &str) -> Value {
    eventually(&format!("delivered to {agency}"), T, || async {
        deliveries(hub, id)
            .await
            .remove(agency)
            .filter(|d| d["state"] == "delivered")
    })
    .await
}

/// Requests time out after 1 s, the first retry waits 200 ms, retries end after 20 s.
const FAST_RETRIES: &[(&str, &str)] = &[
    ("IOCHUB_WEBHOOK_TIMEOUT", "1s"),
    ("IOCHUB_WEBHOOK_BACKOFF", "200ms"),
    ("IOCHUB_WEBHOOK_RETRY_FOR", "20s"),
];

#[tokio::test]
async fn retried_signed_and_one_agency_never_holds_up_another() {
    let (rx, base) = receiver(&["water", "rescue", "police"]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start_with_env(dir.path(), RULES, Broker::Embedded(0), FAST_RETRIES).await;
    agency(&hub, "water", &format!("{base}/water")).await;
    agency(&hub, "rescue", &format!("{base}/rescue")).await;
    // nothing listens here: connections are refused
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port");
    agency(&hub, "police", &format!("http://{closed}/police")).await;

    rx.script(
        "water",
        Script {
            fail: 2,
            stall: 1,
            hold: false,
        },
    );
    rx.script(
        "rescue",
        Script {
            hold: true,
            ..Script::default()
        },
    );
    let id = alert_on(&hub, "wl-01").await;
    dispatch(&hub, id, json!(["water", "rescue"])).await;

    // water fails twice, times out once, then takes it: while rescue still holds its request
    let water = delivered(&hub, id, "water").await;
    assert_eq!(water["attempts"], 4, "{water}");
    assert_eq!(deliveries(&hub, id).await["rescue"]["state"], "pending");
    let seen = rx.seen("water");
    assert_eq!(seen.len(), 4);
    assert!(
        seen.iter().all(|r| r.signed),
        "every attempt signed: {seen:?}"
    );
    assert!(
        seen.iter()
            .all(|r| r.delivery == seen[0].delivery && !r.delivery.is_empty()),
        "one delivery id across retries"
    );
    assert_eq!(seen[0].event, "dispatch");
    assert_eq!(seen[0].body["delivery"], seen[0].delivery.as_str());
    assert_eq!(
        (
            seen[0].body["event"].as_str(),
            seen[0].body["alert"]["id"].as_i64()
        ),
        (Some("dispatch"), Some(id))
    );
    assert_eq!(seen[0].body["alert"]["state"], "dispatched");
    // rescue's requests time out and are retried meanwhile; now it answers
    rx.script("rescue", Script::default());
    rx.release.notify_waiters();
    delivered(&hub, id, "rescue").await;

    // a receiver that is down for good: dead after the retry time, shown on the alert
    let other = alert_on(&hub, "wl-02").await;
    dispatch(&hub, other, json!(["police"])).await;
    let alert = eventually("undelivered", T, || async {
        let (_, a) = hub.get(&format!("/api/v1/alerts/{other}")).await;
        (a["undelivered"] == json!(["police"])).then_some(a)
    })
    .await;
    assert_eq!(alert["state"], "dispatched");
    let police = &deliveries(&hub, other).await["police"];
    assert_eq!(police["state"], "dead");
    assert!(
        police["last_error"].as_str().is_some_and(|e| !e.is_empty()),
        "{police}"
    );
    let (_, timeline) = hub.get(&format!("/api/v1/alerts/{other}/timeline")).await;
    assert!(
        timeline
            .as_array()
            .expect("timeline")
            .iter()
            .any(|e| e["kind"] == "delivery_failed" && e["detail"]["agency"] == "police"),
        "{timeline}"
    );
    let (_, timeline) = hub.get(&format!("/api/v1/alerts/{id}/timeline")).await;
    let ends = timeline
        .as_array()
        .expect("timeline")
        .iter()
        .filter(|e| e["kind"] == "delivered")
        .count();
    assert_eq!(ends, 2, "one entry per delivery that ended: {timeline}");
    let metrics = hub.metrics().await;
    assert!(
        metrics.contains("iochub_alerts_deliveries_total{result=\"dead\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_hub_killed_mid_delivery_delivers_it_after_the_restart() {
    let (rx, base) = receiver(&["water"]).await;
    let dir = tempfile::tempdir().expect("tempdir");
    // a request is held past the kill: the hub waits up to 30 s for an answer
    let env = [
        ("IOCHUB_WEBHOOK_TIMEOUT", "30s"),
        ("IOCHUB_WEBHOOK_BACKOFF", "200ms"),
    ];
    let mut hub = Hub::start_with_env(dir.path(), RULES, Broker::Embedded(0), &env).await;
    agency(&hub, "water", &format!("{base}/water")).await;
    rx.script(
        "water",
        Script {
            hold: true,
            ..Script::default()
        },
    );
    let id = alert_on(&hub, "wl-01").await;
    dispatch(&hub, id, json!(["water"])).await;
    eventually("the first request", T, || async {
        (!rx.seen("water").is_empty()).then_some(())
    })
    .await;
    assert_eq!(deliveries(&hub, id).await["water"]["state"], "pending");

    // killed while the receiver holds the request: no answer ever reached the hub
    hub.kill9();
    rx.release.notify_waiters();
    hub.spawn().await;
    eventually("sent again", T, || async {
        (rx.seen("water").len() >= 2).then_some(())
    })
    .await;
    assert_eq!(
        rx.seen("water").len(),
        2,
        "once before the kill, once after"
    );
    assert_eq!(
        deliveries(&hub, id).await["water"]["state"],
        "pending",
        "not delivered until the receiver answers"
    );
    rx.script("water", Script::default());
    rx.release.notify_waiters();
    let done = delivered(&hub, id, "water").await;
    let seen = rx.seen("water");
    assert!(
        seen.iter().all(|r| r.delivery == seen[0].delivery),
        "the same delivery: {seen:?}"
    );
    assert_eq!(done["id"], seen[0].delivery.as_str());
}
