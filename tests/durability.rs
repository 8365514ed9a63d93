//! Nothing acknowledged is lost: `iochub serve` against a real Mosquitto (persistent session),
//! killed with SIGKILL while messages stream in, restarted while they still do, stores every
//! reading the broker accepted exactly once.

mod support;

use std::time::Duration;

use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_stream_loses_nothing_the_broker_accepted() {
    let mosquitto = Mosquitto::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut hub =
        Hub::start_with(dir.path(), DEFAULT_RULES, Broker::External(mosquitto.url())).await;
    let (n, devices) = (6000i64, 10i64);
    let base = now_ms() - 3_600_000;
    let url = mosquitto.url();
    // A steady stream (~3k msg/s) that goes on while the hub dies and comes back.
    let publisher = tokio::spawn(async move {
        let mut mqtt = Publisher::connect(&url, "durable-pub").await;
        for i in 0..n {
            let topic = format!("ioc/kill-{:02}/telemetry", i % devices);
            mqtt.publish(&topic, format!(r#"{{"ts":{},"seq":{i}}}"#, base + i))
                .await;
            if i % 50 == 49 {
                mqtt.flush().await;
                tokio::time::sleep(Duration::from_millis(15)).await;
            }
        }
        mqtt.flush().await; // the broker has accepted all n
    });
    eventually("ingest under way", Duration::from_secs(30), || async {
        (hub.metric("iochub_ingest_readings_total").await >= (n / 5) as f64).then_some(())
    })
    .await;
    hub.kill9();
    // the stream goes on while the hub is down: those messages queue in the broker
    hub.spawn().await;
    publisher.await.expect("publisher");
    let hub = &hub;
    let mut seen = eventually(
        "all readings stored",
        Duration::from_secs(90),
        || async move {
            let mut seen = Vec::new();
            for d in 0..devices {
                let pts = hub
                    .readings(&format!("kill-{d:02}"), "seq", base, base + n)
                    .await;
                seen.extend(pts.into_iter().map(|(ts, v)| (ts - base, v as i64)));
            }
            (seen.len() as i64 >= n).then_some(seen)
        },
    )
    .await;
    seen.sort();
    let want: Vec<(i64, i64)> = (0..n).map(|i| (i, i)).collect();
    assert_eq!(seen, want, "every reading exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_restart_mid_stream_loses_nothing() {
    let mut mosquitto = Mosquitto::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start_with(dir.path(), DEFAULT_RULES, Broker::External(mosquitto.url())).await;
    let (n, devices) = (4000i64, 8i64);
    let base = now_ms() - 3_600_000;
    let url = mosquitto.url();
    let publisher = tokio::spawn(async move {
        let mut mqtt = Publisher::connect(&url, "restart-pub").await;
        for i in 0..n {
            let topic = format!("ioc/rb-{:02}/telemetry", i % devices);
            mqtt.publish(&topic, format!(r#"{{"ts":{},"seq":{i}}}"#, base + i))
                .await;
            if i % 50 == 49 {
                mqtt.flush().await;
                tokio::time::sleep(Duration::from_millis(15)).await;
            }
        }
        mqtt.flush().await;
    });
    eventually("ingest under way", Duration::from_secs(30), || async {
        (hub.metric("iochub_ingest_readings_total").await >= (n / 4) as f64).then_some(())
    })
    .await;
    mosquitto.restart();
    publisher.await.expect("publisher");
    let hub = &hub;
    let mut seen = eventually(
        "all readings stored",
        Duration::from_secs(90),
        || async move {
            let mut seen = Vec::new();
            for d in 0..devices {
                let pts = hub
                    .readings(&format!("rb-{d:02}"), "seq", base, base + n)
                    .await;
                seen.extend(pts.into_iter().map(|(ts, v)| (ts - base, v as i64)));
            }
            (seen.len() as i64 >= n).then_some(seen)
        },
    )
    .await;
    seen.sort();
    assert_eq!(
        seen,
        (0..n).map(|i| (i, i)).collect::<Vec<_>>(),
        "every reading exactly once"
    );
    // the hub noticed the outage and came back by itself
    assert!(
        hub.log().contains("ingest connection lost"),
        "the hub saw the broker go"
    );
    assert_eq!(hub.get("/healthz").await.0, 200);
}
