//! Backup and restore through the CLI: an online backup of a running hub, restored into an empty
//! data directory, gives a hub whose API answers exactly as the original's.

mod support;

use std::process::Command;
use std::time::Duration;

use support::*;

fn iochub(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_iochub"))
        .args(args)
        .output()
        .expect("run iochub")
}

#[tokio::test]
async fn an_online_backup_restores_to_identical_query_results() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start(dir.path(), DEFAULT_RULES).await;
    let mut mqtt = Publisher::connect(&hub.mqtt_url(), "backup-pub").await;
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
    mqtt.publish("ioc/bk-00/telemetry", "{broken").await;
    mqtt.flush().await;
    hub.wait_reading("bk-04", "water_level", base + 199_000)
        .await;
    eventually("alerts opened", Duration::from_secs(20), || async {
        (hub.metric("iochub_alerts_opened_total").await >= 1.0).then_some(())
    })
    .await;

    // backup while the hub is running and connected
    let data = hub.data_dir.to_string_lossy().into_owned();
    let backup_dir = dir.path().join("backup");
    let out = iochub(&[
        "backup",
        "--to",
        &backup_dir.to_string_lossy(),
        "--data-dir",
        &data,
    ]);
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
    // a second backup into the same directory is refused rather than overwriting
    assert!(
        !iochub(&[
            "backup",
            "--to",
            &backup_dir.to_string_lossy(),
            "--data-dir",
            &data
        ])
        .status
        .success()
    );

    // restore into an empty data dir and run a second hub on it
    let dir2 = tempfile::tempdir().expect("tempdir");
    let restored_data = dir2.path().join("data");
    let out = iochub(&[
        "restore",
        "--from",
        &backup_dir.to_string_lossy(),
        "--data-dir",
        &restored_data.to_string_lossy(),
    ]);
    assert!(
        out.status.success(),
        "restore: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // restoring over an existing store is refused
    let again = iochub(&[
        "restore",
        "--from",
        &backup_dir.to_string_lossy(),
        "--data-dir",
        &restored_data.to_string_lossy(),
    ]);
    assert!(!again.status.success());
    let twin = Hub::start(dir2.path(), DEFAULT_RULES).await;

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
        let (a, b) = (hub.get(&path).await, twin.get(&path).await);
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
