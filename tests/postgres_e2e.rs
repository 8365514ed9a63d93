//! `iochub serve` on PostgreSQL and Mosquitto: nothing acknowledged is lost when the hub is killed
//! or PostgreSQL crashes mid-stream; ingest pauses (acks withheld, /healthz degraded with the
//! reason) and resumes by itself.

mod support;

use std::time::Duration;

use support::postgres::Postgres;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_stream_on_postgres_loses_nothing() {
    let (mosquitto, pg) = (Mosquitto::start(), Postgres::start());
    let dir = tempfile::tempdir().expect("tempdir");
    let mut hub =
        Hub::start_on_postgres(dir.path(), DEFAULT_RULES, mosquitto.url(), pg.url()).await;
    let (n, devices, base) = (6000, 10, now_ms() - 3_600_000);
    let publisher = stream(mosquitto.url(), "pgk", devices, n, base);
    committed_at_least(&hub, n / 5).await;
    hub.kill9();
    hub.spawn().await;
    publisher.await.expect("publisher");
    assert_all_stored_once(&hub, "pgk", devices, n, base).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_crash_pauses_ingest_which_resumes_by_itself() {
    let (mosquitto, pg) = (Mosquitto::start(), Postgres::start());
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start_on_postgres(dir.path(), DEFAULT_RULES, mosquitto.url(), pg.url()).await;
    let (n, devices, base) = (5000, 10, now_ms() - 3_600_000);
    let publisher = stream(mosquitto.url(), "pgc", devices, n, base);
    committed_at_least(&hub, n / 4).await;
    pg.stop_immediate();
    let report = eventually("healthz degraded", Duration::from_secs(30), || async {
        let r = hub.client.get(hub.url("/healthz")).send().await.ok()?;
        (r.status() == 503).then_some(())?;
        r.json::<serde_json::Value>().await.ok()
    })
    .await;
    assert_eq!(report["status"], "degraded");
    assert_eq!(report["problems"][0]["component"], "storage", "{report}");
    let committed = hub.metric("iochub_ingest_readings_total").await;
    pg.start_again();
    publisher.await.expect("publisher");
    assert_all_stored_once(&hub, "pgc", devices, n, base).await;
    assert!(
        hub.metric("iochub_ingest_readings_total").await > committed,
        "ingest resumed"
    );
    assert!(hub.metric("iochub_storage_write_errors_total").await >= 1.0);
    eventually("healthy again", Duration::from_secs(30), || async {
        (hub.get("/healthz").await.0 == 200).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_postgres_shows_as_degraded_and_ingest_resumes_when_it_answers() {
    let (mosquitto, pg) = (Mosquitto::start(), Postgres::start());
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start_on_postgres(dir.path(), DEFAULT_RULES, mosquitto.url(), pg.url()).await;
    let (n, devices, base) = (4000, 10, now_ms() - 3_600_000);
    let publisher = stream(mosquitto.url(), "pgs", devices, n, base);
    committed_at_least(&hub, n / 4).await;
    pg.freeze(true);
    let report = eventually(
        "healthz degraded by the stall",
        Duration::from_secs(30),
        || async {
            let r = hub.client.get(hub.url("/healthz")).send().await.ok()?;
            (r.status() == 503).then_some(())?;
            r.json::<serde_json::Value>().await.ok()
        },
    )
    .await;
    pg.freeze(false);
    assert_eq!(report["problems"][0]["component"], "storage", "{report}");
    assert!(
        report["problems"][0]["reason"]
            .as_str()
            .unwrap_or("")
            .contains("not answered"),
        "{report}"
    );
    publisher.await.expect("publisher");
    assert_all_stored_once(&hub, "pgs", devices, n, base).await;
    assert!(hub.metric("iochub_storage_stalls_total").await >= 1.0);
    eventually("healthy again", Duration::from_secs(30), || async {
        (hub.get("/healthz").await.0 == 200).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_restart_mid_stream_on_postgres_loses_nothing() {
    let (mut mosquitto, pg) = (Mosquitto::start(), Postgres::start());
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start_on_postgres(dir.path(), DEFAULT_RULES, mosquitto.url(), pg.url()).await;
    let (n, devices, base) = (4000, 8, now_ms() - 3_600_000);
    let publisher = stream(mosquitto.url(), "pgb", devices, n, base);
    committed_at_least(&hub, n / 4).await;
    mosquitto.restart();
    publisher.await.expect("publisher");
    assert_all_stored_once(&hub, "pgb", devices, n, base).await;
}

#[test]
fn migrate_brings_a_new_postgres_database_up_to_date() {
    let pg = Postgres::start();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_iochub"))
        .arg("migrate")
        .env("IOCHUB_DATABASE_URL", pg.url())
        .output()
        .expect("run iochub migrate");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("schema up to date: PostgreSQL"));
}
