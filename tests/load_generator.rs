//! The load generator's accounting against real parts: what it says it sent, the broker acked,
//! a subscriber received and the hub committed and alerted must all add up exactly, and every
//! received message or alert must have its latency recorded.

mod support;

use std::time::Duration;

use iochub_sim::load::{self, LoadOptions, Report};
use support::*;

fn options(url: String, rate: f64, secs: f64) -> LoadOptions {
    LoadOptions {
        url,
        devices: 100,
        rate,
        readings_per_msg: 10,
        qos: rumqttc::QoS::AtLeastOnce,
        duration: Duration::from_secs_f64(secs),
        alert_every: 0,
        connections: 2,
        ws: None,
        token: None,
        http: None,
        grace: Duration::from_secs(20),
        progress: false,
        subscribers: 0,
        ws_senml: false,
        hub_metric: "iochub_ingest_readings_total".into(),
    }
}

async fn run(opts: LoadOptions) -> Report {
    let (_never, shutdown) = tokio::sync::watch::channel(false);
    load::run(opts, shutdown).await.expect("load run")
}

#[tokio::test]
async fn pacing_and_subscriber_accounting_add_up_through_mosquitto() {
    let mosquitto = Mosquitto::start();
    let mut opts = options(mosquitto.url(), 2_000.0, 1.5);
    opts.subscribers = 1;
    let r = run(opts).await;
    // rate × duration, split over two connections, exactly
    assert_eq!(r.sent_messages, 3_000, "{r:?}");
    assert_eq!(r.sent_readings, 30_000);
    assert_eq!((r.acked, r.lost), (3_000, 0), "every QoS 1 publish acked");
    assert_eq!(r.sub_received, Some(3_000), "the subscriber got them all");
    let latency = r.sub_latency_ms.expect("subscriber latency");
    assert_eq!(latency.count, 3_000, "one latency per received message");
    assert!(latency.p50 <= latency.p99 && latency.p99 <= latency.max);
    assert!(r.send_ended_at_ms >= r.started_at_ms + 1_500);
}

#[tokio::test]
async fn alerts_and_commits_are_counted_at_the_hub() {
    let mosquitto = Mosquitto::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/rules/load.toml"))
        .expect("rules/load.toml");
    let hub = Hub::start_with(dir.path(), &rules, Broker::External(mosquitto.url())).await;
    let mut opts = options(mosquitto.url(), 500.0, 2.0);
    opts.alert_every = 50;
    opts.ws = Some(format!("ws://127.0.0.1:{}/ws", hub.http));
    opts.token = Some(hub.token.clone());
    opts.http = Some(format!("http://127.0.0.1:{}", hub.http));
    let r = run(opts).await;
    // 1,000 paced messages: 981 regular ones, every 50th of them breaching (19), and right
    // after each breach its clearing message (19)
    assert_eq!(r.sent_messages, 1_000, "{r:?}");
    assert_eq!(r.alerts_expected, 19);
    assert_eq!(r.alerts_received, 19, "one open frame per breach");
    assert_eq!(r.latency_ms.as_ref().map(|l| l.count), Some(19));
    assert_eq!(r.hub_readings_committed, Some(r.sent_readings));
    assert_eq!(r.hub_missing_readings, Some(0));
    assert!(
        r.hub_drain_s.is_some(),
        "the hub caught up within the grace"
    );
    assert_eq!(hub.metric("iochub_alerts_opened_total").await, 19.0);
}
