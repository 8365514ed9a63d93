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

/// A TLS connection to the hub's HTTP port that trusts only the test CA.
async fn tls_connect(
    port: u16,
    ca: &Path,
) -> std::io::Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_file_iter(ca).expect("ca") {
        roots.add(cert.expect("pem")).expect("root");
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").expect("name");
    connector.connect(name, tcp).await
}

/// One HTTP/1.1 request on `io` (closed after it); returns the status and the raw response.
async fn http1<S>(mut io: S, method: &str, path: &str, body: Option<&str>) -> (u16, String)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    io.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), io.read_to_end(&mut response)).await;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[tokio::test]
async fn the_hub_serves_https_and_wss_with_hsts_and_redirects_plain_http() {
    use futures_util::{SinkExt, StreamExt};
    let dir = tempfile::tempdir().expect("tempdir");
    make_certs(dir.path());
    let (cert, key, ca) = (
        dir.path().join("server.pem"),
        dir.path().join("server.key"),
        dir.path().join("ca.pem"),
    );
    let (cert, key) = (cert.display().to_string(), key.display().to_string());
    let hub = Hub::launch_with_env(
        dir.path(),
        DEFAULT_RULES,
        Broker::Embedded(0),
        &[
            ("IOCHUB_TLS_CERT_FILE", &cert),
            ("IOCHUB_TLS_KEY_FILE", &key),
            ("IOCHUB_HTTP_REDIRECT", "127.0.0.1:0"),
        ],
    )
    .await;
    let port = hub.http;

    let healthy = eventually("HTTPS healthz", Duration::from_secs(30), || async {
        let tls = tls_connect(port, &ca).await.ok()?;
        let (status, text) = http1(tls, "GET", "/healthz", None).await;
        (status == 200).then_some(text)
    })
    .await;
    let lower = healthy.to_lowercase();
    assert!(
        lower.contains("strict-transport-security: max-age=31536000; includesubdomains"),
        "HSTS over HTTPS:\n{healthy}"
    );
    assert!(lower.contains("content-security-policy:"), "{healthy}");

    // The session cookie is Secure over HTTPS.
    let login = format!(
        r#"{{"username":"admin","password":"{}"}}"#,
        support::hub::PASSWORD
    );
    let tls = tls_connect(port, &ca).await.expect("tls");
    let (status, text) = http1(tls, "POST", "/api/v1/auth/login", Some(&login)).await;
    assert_eq!(status, 200, "{text}");
    let cookie = text
        .lines()
        .find(|l| l.to_lowercase().starts_with("set-cookie:"))
        .expect("cookie");
    assert!(cookie.contains("; Secure"), "{cookie}");
    let body = text.split("\r\n\r\n").nth(1).expect("body");
    // (connection: close, so the body is all that follows the headers, possibly chunked)
    let token = body
        .split('"')
        .skip_while(|s| *s != "token")
        .nth(2)
        .expect("token")
        .to_owned();

    // WSS: the live feed over the same port.
    let tls = tls_connect(port, &ca).await.expect("tls");
    let mut req = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
        format!("wss://127.0.0.1:{port}/ws"),
    )
    .expect("request");
    req.headers_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("header"),
    );
    let (mut ws, _) = tokio_tungstenite::client_async(req, tls)
        .await
        .expect("WSS upgrade");
    let sub = serde_json::json!({"op": "subscribe", "topics": ["alerts"]});
    ws.send(tokio_tungstenite::tungstenite::Message::Text(
        sub.to_string().into(),
    ))
    .await
    .expect("subscribe");
    let reply = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .expect("a reply")
        .expect("frame")
        .expect("ok");
    assert!(reply.to_string().contains("subscribed"), "{reply}");

    // Nothing in the clear: plain HTTP on the TLS port gets no HTTP answer, and a client that
    // does not trust the certificate gets no connection.
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("tcp");
    let (status, text) = http1(tcp, "GET", "/healthz", None).await;
    assert!(status != 200 && !text.contains("\"status\""), "{text}");
    assert!(
        tls_connect(port, &dir.path().join("other-ca.pem"))
            .await
            .is_err(),
        "an untrusted certificate"
    );

    // The plain port only redirects, keeping the path and query.
    let line = hub
        .log()
        .lines()
        .find(|l| l.contains("redirecting plain HTTP to HTTPS"))
        .expect("redirect listener")
        .to_owned();
    let plain: std::net::SocketAddr = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("http="))
        .and_then(|a| a.parse().ok())
        .expect("address");
    let tcp = tokio::net::TcpStream::connect(plain).await.expect("tcp");
    let (status, text) = http1(tcp, "GET", "/api/v1/devices?limit=5", None).await;
    assert_eq!(status, 308, "{text}");
    assert!(
        text.to_lowercase().contains(&format!(
            "location: https://127.0.0.1:{port}/api/v1/devices?limit=5"
        )),
        "{text}"
    );
}
