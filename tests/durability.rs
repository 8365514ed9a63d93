//! Nothing acknowledged is lost: `iochub serve` against a real Mosquitto (persistent session),
//! with the hub killed, or the broker restarted, while readings stream in: every reading the
//! broker accepted is stored exactly once.

mod support;

use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_stream_loses_nothing_the_broker_accepted() {
    let mosquitto = Mosquitto::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut hub =
        Hub::start_with(dir.path(), DEFAULT_RULES, Broker::External(mosquitto.url())).await;
    let (n, devices, base) = (6000, 10, now_ms() - 3_600_000);
    let publisher = stream(mosquitto.url(), "kill", devices, n, base);
    committed_at_least(&hub, n / 5).await;
    hub.kill9();
    // the stream goes on while the hub is down: those messages queue in the broker
    hub.spawn().await;
    publisher.await.expect("publisher");
    assert_all_stored_once(&hub, "kill", devices, n, base).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_restart_mid_stream_loses_nothing() {
    let mut mosquitto = Mosquitto::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start_with(dir.path(), DEFAULT_RULES, Broker::External(mosquitto.url())).await;
    let (n, devices, base) = (4000, 8, now_ms() - 3_600_000);
    let publisher = stream(mosquitto.url(), "rb", devices, n, base);
    committed_at_least(&hub, n / 4).await;
    mosquitto.restart();
    publisher.await.expect("publisher");
    assert_all_stored_once(&hub, "rb", devices, n, base).await;
    // the hub noticed the outage and came back by itself
    assert!(
        hub.log().contains("ingest connection lost"),
        "the hub saw the broker go"
    );
    assert_eq!(hub.get("/healthz").await.0, 200);
}
