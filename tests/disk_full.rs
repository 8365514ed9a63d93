//! Disk full: the hub's SQLite store on a small tmpfs fills up mid-stream. Ingest pauses with a
//! clear error (log, /healthz, metrics) and acks withheld, nothing is corrupted, and when space
//! returns everything the broker accepted is stored exactly once.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::*;

/// A tmpfs mounted for the test (needs root, as the test command runs), unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Self {
        std::fs::create_dir_all(at).expect("mount point");
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status();
        assert!(ok.is_ok_and(|s| s.success()), "mounting a tmpfs needs root");
        Self(at.to_owned())
    }

    fn resize(&self, size: &str) {
        let ok = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status();
        assert!(ok.is_ok_and(|s| s.success()), "remount");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_pauses_ingest_without_corruption_and_it_resumes_when_space_returns() {
    let mosquitto = Mosquitto::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let disk = Tmpfs::mount(&dir.path().join("data"), "1m");
    let mut hub =
        Hub::start_with(dir.path(), DEFAULT_RULES, Broker::External(mosquitto.url())).await;
    let (n, devices, base) = (4000, 10, now_ms() - 3_600_000);
    let publisher = stream(mosquitto.url(), "df", devices, n, base);

    let report = eventually(
        "storage degraded by the full disk",
        Duration::from_secs(60),
        || async {
            let r = hub.client.get(hub.url("/healthz")).send().await.ok()?;
            let body: serde_json::Value = r.json().await.ok()?;
            (body["status"] == "degraded").then_some(body)
        },
    )
    .await;
    assert_eq!(report["problems"][0]["component"], "storage", "{report}");
    assert!(
        report["problems"][0]["reason"]
            .as_str()
            .unwrap_or("")
            .contains("full"),
        "{report}"
    );
    assert!(hub.log().contains("disk is full"), "a clear logged error");
    assert!(hub.metric("iochub_storage_write_errors_total").await >= 1.0);

    // space returns: ingest resumes by itself and loses nothing
    disk.resize("64m");
    publisher.await.expect("publisher");
    assert_all_stored_once(&hub, "df", devices, n, base).await;
    eventually("healthy again", Duration::from_secs(30), || async {
        (hub.get("/healthz").await.0 == 200).then_some(())
    })
    .await;

    // and the database is intact
    hub.stop();
    let db = rusqlite::Connection::open(hub.data_dir.join("iochub.db")).expect("open");
    let verdict: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity check");
    assert_eq!(verdict, "ok");
}
