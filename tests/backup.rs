//! Backup and restore through the CLI, for both backends: an online backup of a running hub,
//! restored into an empty store, gives a hub whose API answers exactly as the original's.

mod support;

use std::process::Command;
use std::time::Duration;

use support::postgres::Postgres;
use support::*;

fn iochub(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_iochub"))
        .args(args)
        .output()
        .expect("run iochub")
}

/// Readings of 5 devices, a dead letter and an open alert; returns the readings' base time.
async fn fill(hub: &Hub) -> i64 {
    let mut mqtt = Publisher::connect(&hub.mqtt_url(), &format!("backup-pub-{}", hub.http)).await;
    let base = now_ms() - 600_000;
    for i in 0..200i64 {
        let payload = format!(
            r#"{{"ts":{},"water_level":{},"rain_1h":{}}}"#,
            base + i * 1000,
            (i % 7) as f64,
            i % 3
        );
        mqtt.publish(&format!("ioc/bk-{:02}/telemetry", i % 5), payload)
            .await;
    }
    mqtt.send("ioc/bk-00/telemetry", "{broken").await;
    hub.wait_reading("bk-04", "water_level", base + 199_000)
        .await;
    // The flood rule (>= 5, clear below 4.5) opens an alert at every 5 or 6 (never twice in a
    // row: a device's values step by -2 mod 7) and resolves it at the next reading; wait until
    // the alert manager has committed all of them, so that the backup sees a settled store.
    let opened = (0..200i64).filter(|i| i % 7 >= 5).count();
    let still_open = (0..5i64).filter(|d| (195 + d) % 7 >= 5).count();
    eventually(
        "every alert change committed",
        Duration::from_secs(30),
        || async {
            let (_, alerts) = hub.get("/api/v1/alerts?limit=1000").await;
            let alerts = alerts.as_array().cloned().unwrap_or_default();
            let open = alerts.iter().filter(|a| a["state"] == "open").count();
            (alerts.len() == opened && open == still_open).then_some(())
        },
    )
    .await;
    // The malformed message goes to the dead letters by its own path: wait for it too (the
    // backup raced it once, on PostgreSQL).
    eventually(
        "the dead letter stored",
        Duration::from_secs(30),
        || async {
            let (_, letters) = hub.get("/api/v1/dead-letters").await;
            (letters.as_array().map(Vec::len) == Some(1)).then_some(())
        },
    )
    .await;
    base
}

/// The restored twin answers every query exactly as the original.
async fn assert_same_answers(original: &Hub, twin: &Hub, base: i64) {
    let (from, to) = (
        iochub::timefmt::format_ms(base),
        iochub::timefmt::format_ms(base + 300_000),
    );
    for path in [
        "/api/v1/devices".to_owned(),
        "/api/v1/alerts".to_owned(),
        "/api/v1/dead-letters".to_owned(),
        format!("/api/v1/devices/bk-03/readings?metric=water_level&from={from}&to={to}"),
        format!("/api/v1/devices/bk-01/readings?metric=rain_1h&from={from}&to={to}&step=60s"),
    ] {
        let (a, b) = (original.get(&path).await, twin.get(&path).await);
        assert_eq!(a.0, 200, "{path}");
        assert_eq!(a, b, "{path} differs after restore");
    }
    let (_, readings) = twin
        .get(&format!(
            "/api/v1/devices/bk-03/readings?metric=water_level&from={from}&to={to}"
        ))
        .await;
    assert_eq!(readings["points"].as_array().map(Vec::len), Some(40));
}

#[tokio::test]
async fn an_online_sqlite_backup_restores_to_identical_query_results() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start(dir.path(), DEFAULT_RULES).await;
    let base = fill(&hub).await;

    // backup while the hub is running and connected
    let data = hub.data_dir.to_string_lossy().into_owned();
    let backup_dir = dir.path().join("backup").to_string_lossy().into_owned();
    let out = iochub(&["backup", "--to", &backup_dir, "--data-dir", &data]);
    assert!(
        out.status.success(),
        "backup: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("backup: 100%"),
        "progress is shown"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("readings"));
    // a second backup into the same directory is refused rather than overwriting (named this
    // time by the hub's config, as every command that reads the store may be)
    let config = dir.path().join("iochub.toml");
    let toml = format!("mqtt_url = \"mqtt://127.0.0.1:1\"\ndata_dir = {data:?}\n");
    std::fs::write(&config, toml).expect("config");
    let config = config.to_string_lossy().into_owned();
    assert!(
        !iochub(&["backup", "--to", &backup_dir, "--config", &config])
            .status
            .success()
    );
    let migrated = iochub(&["migrate", "--config", &config]);
    assert!(
        String::from_utf8_lossy(&migrated.stdout).contains(data.as_str()),
        "migrate opened the config's store: {migrated:?}"
    );

    // restore into an empty data dir and run a second hub on it
    let dir2 = tempfile::tempdir().expect("tempdir");
    let restored = dir2.path().join("data").to_string_lossy().into_owned();
    let out = iochub(&["restore", "--from", &backup_dir, "--data-dir", &restored]);
    assert!(
        out.status.success(),
        "restore: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !iochub(&["restore", "--from", &backup_dir, "--data-dir", &restored])
            .status
            .success(),
        "not over a store"
    );
    let twin = Hub::start(dir2.path(), DEFAULT_RULES).await;
    assert_same_answers(&hub, &twin, base).await;

    // Both are answerable: the backups in the store they copied (the refused one too), the
    // restore in the store it filled.
    let (_, backups) = hub.get("/api/v1/audit?action=backup.create").await;
    let results: Vec<&str> = backups
        .as_array()
        .expect("records")
        .iter()
        .filter_map(|r| r["result"].as_str())
        .collect();
    assert_eq!(results, ["failed", "ok"], "newest first: {backups}");
    assert!(
        backups[1]["actor"]
            .as_str()
            .is_some_and(|a| a.starts_with("cli:")),
        "{backups}"
    );
    assert_eq!(backups[1]["target"], backup_dir.as_str());
    let (_, restores) = twin.get("/api/v1/audit?action=backup.restore").await;
    assert_eq!(restores[0]["result"], "ok", "{restores}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_online_postgres_backup_restores_to_identical_query_results() {
    let (mosquitto, pg) = (Mosquitto::start(), Postgres::start());
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start_on_postgres(dir.path(), DEFAULT_RULES, mosquitto.url(), pg.url()).await;
    let base = fill(&hub).await;

    let backup_dir = dir.path().join("backup").to_string_lossy().into_owned();
    let out = iochub(&["backup", "--to", &backup_dir, "--database-url", &pg.url()]);
    assert!(
        out.status.success(),
        "backup: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("dumping contents of table"),
        "progress is shown"
    );

    // restore into a new, empty database on the same server
    let (client, conn) = tokio_postgres::connect(&pg.url(), tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    client
        .batch_execute("CREATE DATABASE restored")
        .await
        .expect("create database");
    let restored = pg.url().replace("/iochub", "/restored");
    let out = iochub(&[
        "restore",
        "--from",
        &backup_dir,
        "--database-url",
        &restored,
    ]);
    assert!(
        out.status.success(),
        "restore: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let again = iochub(&[
        "restore",
        "--from",
        &backup_dir,
        "--database-url",
        &restored,
    ]);
    assert!(!again.status.success(), "restoring over a store is refused");

    let dir2 = tempfile::tempdir().expect("tempdir");
    let twin = Hub::start_on_postgres(dir2.path(), DEFAULT_RULES, mosquitto.url(), restored).await;
    assert_same_answers(&hub, &twin, base).await;
}
