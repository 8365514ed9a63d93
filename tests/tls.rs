//! MQTT over TLS with a password: the hub ingests through a Mosquitto TLS listener, and a hub
//! that does not trust the broker's certificate, or has the wrong password, stays degraded and
//! says why on /healthz.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::*;

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("run");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, a server certificate for 127.0.0.1 signed by it, and an unrelated second CA.
fn make_certs(dir: &Path) {
    let d = |f: &str| dir.join(f);
    for ca in ["ca", "other-ca"] {
        run(Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
            ])
            .arg(format!("/CN=iochub test {ca}"))
            .arg("-keyout")
            .arg(d(&format!("{ca}.key")))
            .arg("-out")
            .arg(d(&format!("{ca}.pem"))));
    }
    run(Command::new("openssl")
        .args([
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
        ])
        .arg(d("server.key"))
        .arg("-out")
        .arg(d("server.csr")));
    std::fs::write(d("san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n").expect("ext");
    run(Command::new("openssl")
        .args(["x509", "-req", "-days", "2", "-CAcreateserial", "-in"])
        .arg(d("server.csr"))
        .arg("-CA")
        .arg(d("ca.pem"))
        .arg("-CAkey")
        .arg(d("ca.key"))
        .arg("-extfile")
        .arg(d("san.ext"))
        .arg("-out")
        .arg(d("server.pem")));
    run(Command::new("mosquitto_passwd")
        .args(["-c", "-b"])
        .arg(d("passwd"))
        .args(["iochub", "s3cret"]));
}

/// A hub that is expected never to become healthy.
async fn launch_hub(dir: &Path, url: &str, ca: &Path) -> Hub {
    let ca = ca.display().to_string();
    Hub::launch_with_env(
        dir,
        DEFAULT_RULES,
        Broker::External(url.to_owned()),
        &[("IOCHUB_MQTT_CA_FILE", &ca)],
    )
    .await
}

/// The reason of the MQTT problem the hub reports on /healthz, once it is past `connecting`.
async fn mqtt_problem(hub: &Hub) -> String {
    eventually(
        "an MQTT problem on /healthz",
        Duration::from_secs(30),
        || async {
            let r = hub.client.get(hub.url("/healthz")).send().await.ok()?;
            let body: serde_json::Value = r.json().await.ok()?;
            let problems = body["problems"].as_array()?;
            let p = problems.iter().find(|p| p["component"] == "mqtt")?;
            let reason = p["reason"].as_str()?.to_owned();
            (reason != "connecting").then_some(reason)
        },
    )
    .await
}

#[tokio::test]
async fn the_hub_ingests_over_tls_with_a_password_and_says_why_when_it_cannot() {
    let certs = tempfile::tempdir().expect("tempdir");
    make_certs(certs.path());
    let c = |f: &str| certs.path().join(f).display().to_string();
    // held until Mosquitto listens on it (see PortHold)
    let tls = PortHold::any();
    let tls_port = tls.port;
    let conf = format!(
        "per_listener_settings true\nuser root\n\
         listener {{port}} 127.0.0.1\nallow_anonymous true\n\
         listener {tls_port} 127.0.0.1\ncafile {}\ncertfile {}\nkeyfile {}\nallow_anonymous false\npassword_file {}\n",
        c("ca.pem"),
        c("server.pem"),
        c("server.key"),
        c("passwd")
    );
    let mosquitto =
        Mosquitto::start_with_config(|_, port| conf.replace("{port}", &port.to_string()));

    // the hub over TLS + password; a device publishes on the plain listener
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("mqtts://iochub:s3cret@127.0.0.1:{tls_port}");
    let hub = Hub::start_with_env(
        dir.path(),
        DEFAULT_RULES,
        Broker::External(url),
        &[("IOCHUB_MQTT_CA_FILE", &c("ca.pem"))],
    )
    .await;
    let mut device = Publisher::connect(&mosquitto.url(), "tls-device").await;
    let ts = now_ms();
    device
        .publish(
            "ioc/tls-01/telemetry",
            format!(r#"{{"ts":{ts},"water_level":2.5}}"#),
        )
        .await;
    device.flush().await;
    assert_eq!(hub.wait_reading("tls-01", "water_level", ts).await, 2.5);

    // a broker certificate from an untrusted CA, and a wrong password: degraded, with the reason
    let (d1, d2) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let untrusting = launch_hub(
        d1.path(),
        &format!("mqtts://iochub:s3cret@127.0.0.1:{tls_port}"),
        &certs.path().join("other-ca.pem"),
    )
    .await;
    let wrong_password = launch_hub(
        d2.path(),
        &format!("mqtts://iochub:guess@127.0.0.1:{tls_port}"),
        &certs.path().join("ca.pem"),
    )
    .await;
    let (r1, r2) = (
        mqtt_problem(&untrusting).await,
        mqtt_problem(&wrong_password).await,
    );
    drop((untrusting, wrong_password));
    assert!(
        r1.to_lowercase().contains("certificate"),
        "untrusted broker: {r1}"
    );
    assert!(
        r2.contains("BadUserNamePassword") || r2.contains("NotAuthorized"),
        "wrong password: {r2}"
    );
}

/// PostgreSQL over TLS: with `sslmode=require` the store's connections are encrypted and the
/// server's certificate is checked against `database_ca_file`; an untrusted certificate is refused.
#[tokio::test]
async fn the_postgres_store_connects_over_tls_and_checks_the_certificate() {
    let certs = tempfile::tempdir().expect("tempdir");
    make_certs(certs.path());
    // The server reads its key as the `postgres` user and refuses one others can read.
    let keys = tempfile::tempdir().expect("tempdir");
    for f in ["server.pem", "server.key"] {
        std::fs::copy(certs.path().join(f), keys.path().join(f)).expect("copy");
    }
    run(Command::new("chown")
        .arg("-R")
        .arg("postgres:")
        .arg(keys.path()));
    run(Command::new("chmod").arg("700").arg(keys.path()));
    run(Command::new("chmod")
        .arg("600")
        .arg(keys.path().join("server.key")));
    let pg = support::postgres::Postgres::start_with_conf(&format!(
        "ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\n",
        keys.path().join("server.pem").display(),
        keys.path().join("server.key").display()
    ));
    let url = format!("{}?sslmode=require", pg.url());

    let err = iochub::storage::postgres::PostgresStore::connect_with(
        &url,
        Some(&certs.path().join("other-ca.pem")),
    )
    .await
    .err()
    .expect("an untrusted certificate is refused");
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );

    let store = iochub::storage::postgres::PostgresStore::connect_with(
        &url,
        Some(&certs.path().join("ca.pem")),
    )
    .await
    .expect("TLS connect");
    use iochub::storage::Store;
    assert_eq!(store.user_count().await.expect("query"), 0);
    // Seen from the server: every connection of the store is encrypted.
    let (raw, conn) = tokio_postgres::connect(&pg.url(), tokio_postgres::NoTls)
        .await
        .expect("raw connect");
    tokio::spawn(conn);
    let row = raw
        .query_one(
            "SELECT count(*), coalesce(bool_and(s.ssl), false) FROM pg_stat_ssl s
             JOIN pg_stat_activity a USING (pid) WHERE a.application_name = 'iochub'",
            &[],
        )
        .await
        .expect("pg_stat_ssl");
    let (n, all_tls): (i64, bool) = (row.get(0), row.get(1));
    assert!(
        n >= 1 && all_tls,
        "{n} store connections, all TLS: {all_tls}"
    );

    // `iochub backup` over the same URL: its snapshot connection and pg_dump use TLS too, with
    // the CA from IOCHUB_DATABASE_CA_FILE.
    let backup = |to: &str, ca: &str| {
        Command::new(env!("CARGO_BIN_EXE_iochub"))
            .arg("backup")
            .arg("--to")
            .arg(certs.path().join(to))
            .args(["--database-url", &url])
            .env("IOCHUB_DATABASE_CA_FILE", certs.path().join(ca))
            .env_remove("PGSSLROOTCERT")
            .output()
            .expect("run backup")
    };
    let out = backup("backup", "ca.pem");
    assert!(
        out.status.success(),
        "backup over TLS: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(certs.path().join("backup/manifest.json").exists());
    let out = backup("backup-2", "other-ca.pem");
    assert!(
        !out.status.success(),
        "a backup from an untrusted server is refused"
    );
}
