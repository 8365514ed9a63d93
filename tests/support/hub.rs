//! The real hub binary in a temp dir: `iochub demo --no-sim` with its embedded broker, or
//! `iochub serve` against an external broker (and PostgreSQL). It starts on port 0 and the
//! harness reads the addresses it got from its log (`HTTP listening http=…`, `embedded MQTT
//! broker listening mqtt=…`). A restart ([`Hub::spawn`] after [`Hub::kill9`] or [`Hub::stop`])
//! comes back on the same addresses, held ([`PortHold`]) from the moment the process is gone, so
//! that clients reconnect to it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{PortHold, eventually};

pub const PASSWORD: &str = "test-password";

pub const DEFAULT_RULES: &str = r#"
[[rules]]
id = "flood"
metric = "water_level"
op = ">="
value = 5.0
clear = 4.5
severity = "critical"
"#;

/// How to start the hub.
#[derive(Clone)]
pub enum Broker {
    /// `iochub demo --no-sim` with its embedded broker on this port (0 until the first start).
    Embedded(u16),
    /// `iochub serve` against an external broker at this URL.
    External(String),
}

pub struct Hub {
    /// The HTTP port (0 until the first start).
    pub http: u16,
    pub broker: Broker,
    pub data_dir: PathBuf,
    pub rules: PathBuf,
    /// PostgreSQL URL for `serve`; SQLite in `data_dir` when absent.
    pub database_url: Option<String>,
    /// More environment for the hub process.
    pub env: Vec<(String, String)>,
    /// `serve`'s config file (the variables still win).
    pub config: String,
    /// `serve`'s MQTT client id, the same across restarts (its persistent session).
    client_id: String,
    child: Option<Child>,
    /// The ports of a stopped hub, kept for its restart.
    holds: Vec<PortHold>,
    pub token: String,
    pub client: reqwest::Client,
}

impl Hub {
    /// Starts a hub with the embedded broker in a fresh temp dir.
    pub async fn start(dir: &Path, rules: &str) -> Self {
        Self::start_with(dir, rules, Broker::Embedded(0)).await
    }

    /// `iochub serve` against an external broker and PostgreSQL.
    pub async fn start_on_postgres(
        dir: &Path,
        rules: &str,
        mqtt_url: String,
        database_url: String,
    ) -> Self {
        let mut hub = Self::new(dir, rules, Broker::External(mqtt_url), Vec::new());
        hub.database_url = Some(database_url);
        hub.spawn().await;
        assert!(
            hub.log().contains("PostgreSQL store ready"),
            "the hub runs on PostgreSQL"
        );
        hub
    }

    /// `iochub serve` against an external broker with `config` as its config file, the rest
    /// from the variables.
    pub async fn start_serve(dir: &Path, rules: &str, mqtt_url: String, config: &str) -> Self {
        let mut hub = Self::new(dir, rules, Broker::External(mqtt_url), Vec::new());
        hub.config = config.to_owned();
        hub.spawn().await;
        hub
    }

    pub async fn start_with(dir: &Path, rules: &str, broker: Broker) -> Self {
        Self::start_with_env(dir, rules, broker, &[]).await
    }

    /// Like [`Hub::start_with`], with more environment variables for the hub.
    pub async fn start_with_env(
        dir: &Path,
        rules: &str,
        broker: Broker,
        env: &[(&str, &str)],
    ) -> Self {
        let mut hub = Self::launch_with_env(dir, rules, broker, env).await;
        hub.ready().await;
        hub
    }

    /// Starts the process and waits only until it listens: for a hub that is not expected to
    /// become healthy (no login, no token).
    pub async fn launch_with_env(
        dir: &Path,
        rules: &str,
        broker: Broker,
        env: &[(&str, &str)],
    ) -> Self {
        let env = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let mut hub = Self::new(dir, rules, broker, env);
        hub.launch().await;
        hub
    }

    fn new(dir: &Path, rules: &str, broker: Broker, env: Vec<(String, String)>) -> Self {
        static HUBS: AtomicUsize = AtomicUsize::new(0);
        let rules_path = dir.join("rules.toml");
        std::fs::write(&rules_path, rules).expect("write rules");
        Self {
            http: 0,
            broker,
            data_dir: dir.join("data"),
            rules: rules_path,
            database_url: None,
            env,
            config: "# everything comes from IOCHUB_* variables\n".to_owned(),
            client_id: format!(
                "iochub-test-{}-{}",
                std::process::id(),
                HUBS.fetch_add(1, Ordering::Relaxed)
            ),
            child: None,
            holds: Vec::new(),
            token: String::new(),
            client: reqwest::Client::new(),
        }
    }

    /// (Re)starts the process on the same addresses and data dir, waits until healthy, logs in.
    pub async fn spawn(&mut self) {
        self.launch().await;
        self.ready().await;
    }

    /// Starts the process and waits until its log tells the addresses it listens on.
    async fn launch(&mut self) {
        let bin = env!("CARGO_BIN_EXE_iochub");
        let mut cmd = Command::new(bin);
        let http = format!("127.0.0.1:{}", self.http);
        match &self.broker {
            Broker::Embedded(mqtt) => {
                cmd.arg("demo")
                    .arg("--no-sim")
                    .arg("--mqtt")
                    .arg(format!("127.0.0.1:{mqtt}"));
                cmd.arg("--http").arg(http);
                cmd.arg("--data-dir")
                    .arg(&self.data_dir)
                    .arg("--rules")
                    .arg(&self.rules);
            }
            Broker::External(url) => {
                let conf = self.data_dir.with_extension("toml");
                std::fs::write(&conf, &self.config).expect("config");
                cmd.arg("serve").arg("--config").arg(conf);
                cmd.env("IOCHUB_MQTT_URL", url)
                    .env("IOCHUB_HTTP", http)
                    .env("IOCHUB_DATA_DIR", &self.data_dir)
                    .env("IOCHUB_RULES", &self.rules)
                    .env("IOCHUB_MQTT_CLIENT_ID", &self.client_id);
                if let Some(db) = &self.database_url {
                    cmd.env("IOCHUB_DATABASE_URL", db);
                }
            }
        }
        let log_path = self.log_path();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .expect("log file");
        let log_from = log.metadata().map(|m| m.len() as usize).unwrap_or(0);
        // Tests log in more often than a person: the per-address limit has its own test (a
        // test's own environment comes after, and wins).
        cmd.env("IOCHUB_LOGINS_PER_MINUTE", "10000");
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd.env("IOCHUB_ADMIN_PASSWORD", PASSWORD)
            .env("RUST_LOG", "info,rumqttd=error")
            .stdout(log.try_clone().expect("log"))
            .stderr(log);
        self.child = Some(cmd.spawn().expect("spawn iochub"));

        let http = self.listening(log_from, "HTTP listening", "http").await;
        assert!(
            self.http == 0 || self.http == http.port(),
            "a restarted hub is back on its port"
        );
        self.http = http.port();
        if let Broker::Embedded(port) = self.broker {
            let mqtt = self
                .listening(log_from, "embedded MQTT broker listening", "mqtt")
                .await;
            assert!(
                port == 0 || port == mqtt.port(),
                "a restarted broker is back on its port"
            );
            self.broker = Broker::Embedded(mqtt.port());
        }
        // listening again: the ports are the process's
        self.holds.clear();
    }

    /// Waits for this start's log line `message` and returns its address field `key`; fails the
    /// test, with the log, if the process exits first.
    async fn listening(&mut self, log_from: usize, message: &str, key: &str) -> SocketAddr {
        let path = self.log_path();
        let prefix = format!("{key}=");
        let child = self.child.as_mut().expect("running");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let log = std::fs::read_to_string(&path).unwrap_or_default();
            let line = log
                .get(log_from..)
                .unwrap_or("")
                .lines()
                .find(|l| l.contains(message));
            if let Some(line) = line {
                return line
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix(&prefix))
                    .and_then(|a| a.parse().ok())
                    .unwrap_or_else(|| panic!("no address `{key}=` in {line:?}"));
            }
            let exited = child.try_wait().expect("wait iochub");
            assert!(exited.is_none(), "the hub exited ({exited:?}):\n{log}");
            assert!(Instant::now() < deadline, "the hub did not start:\n{log}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until healthy, logs in.
    async fn ready(&mut self) {
        let url = self.url("/healthz");
        let client = self.client.clone();
        eventually("hub healthy", Duration::from_secs(60), || {
            let (client, url) = (client.clone(), url.clone());
            async move {
                client
                    .get(url)
                    .send()
                    .await
                    .ok()
                    .filter(|r| r.status() == 200)
                    .map(|_| ())
            }
        })
        .await;
        self.token = self.login(PASSWORD).await.expect("admin login");
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.http)
    }

    pub fn mqtt_url(&self) -> String {
        match &self.broker {
            Broker::Embedded(port) => format!("mqtt://127.0.0.1:{port}"),
            Broker::External(url) => url.clone(),
        }
    }

    fn log_path(&self) -> PathBuf {
        self.data_dir.with_extension("log")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).expect("running")
    }

    pub async fn login(&self, password: &str) -> Option<String> {
        let resp = self
            .client
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({"username": "admin", "password": password}))
            .send()
            .await
            .ok()?;
        let body: Value = resp.json().await.ok()?;
        body["token"].as_str().map(str::to_owned)
    }

    /// Logs in as `username`; returns (status, JSON body).
    pub async fn login_as(&self, username: &str, password: &str) -> (u16, Value) {
        let resp = self
            .client
            .post(self.url("/api/v1/auth/login"))
            .json(&serde_json::json!({"username": username, "password": password}))
            .send()
            .await
            .expect("POST login");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// Any request, with `token` as the bearer (none when empty) and `body` as JSON when given;
    /// returns (status, JSON body or null).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.client.request(method, self.url(path));
        if !token.is_empty() {
            req = req.bearer_auth(token);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// A request whose body is text (a rules file); returns (status, JSON body).
    pub async fn call_text(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: &str,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let resp = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token)
            .header("content-type", "application/toml")
            .body(body.to_owned())
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// GET with the admin token.
    async fn get_response(&self, path: &str) -> reqwest::Response {
        (self.client.get(self.url(path)))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("GET")
    }

    /// GET with the admin token; returns (status, content type, body as it came).
    pub async fn get_bytes(&self, path: &str) -> (u16, String, Vec<u8>) {
        let resp = self.get_response(path).await;
        let status = resp.status().as_u16();
        let kind = (resp.headers().get("content-type"))
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        (status, kind, resp.bytes().await.expect("body").to_vec())
    }

    /// GET with the admin token; returns (status, JSON body).
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let resp = self.get_response(path).await;
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn metrics(&self) -> String {
        let resp = self
            .client
            .get(self.url("/metrics"))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("GET /metrics");
        resp.text().await.unwrap_or_default()
    }

    /// The value of one metric line, e.g. `iochub_ingest_rejected_total{reason="not_utf8"}`.
    pub async fn metric(&self, name: &str) -> f64 {
        let text = self.metrics().await;
        text.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    }

    /// Raw readings of one series in a window around `ts_ms`.
    pub async fn readings(
        &self,
        device: &str,
        metric: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Vec<(i64, f64)> {
        let from = iochub::timefmt::format_ms(from_ms);
        let to = iochub::timefmt::format_ms(to_ms);
        let (status, body) = self
            .get(&format!(
                "/api/v1/devices/{device}/readings?metric={metric}&from={from}&to={to}"
            ))
            .await;
        if status != 200 {
            return Vec::new();
        }
        body["points"]
            .as_array()
            .map(|pts| {
                pts.iter()
                    .filter_map(|p| {
                        let ts = iochub::timefmt::parse_rfc3339(p["ts"].as_str()?)?;
                        Some((ts, p["value"].as_f64()?))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Waits until the reading of `device`/`metric` at `ts_ms` is stored; returns its value.
    pub async fn wait_reading(&self, device: &str, metric: &str, ts_ms: i64) -> f64 {
        let what = format!("{device}/{metric} at {ts_ms} stored");
        eventually(&what, Duration::from_secs(20), || async {
            let r = self.readings(device, metric, ts_ms, ts_ms + 1).await;
            r.first().map(|&(_, v)| v)
        })
        .await
    }

    /// SIGKILL: no shutdown, no flush.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
            self.hold_ports();
        }
    }

    /// SIGTERM and wait for the ordered shutdown.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            self.signal_pid(c.id(), "TERM");
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    self.hold_ports();
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
            self.hold_ports();
        }
    }

    /// Keeps the ports of the stopped process for its restart. A port some other socket took in
    /// the moment since is not held; the restart then fails with the hub's bind error.
    fn hold_ports(&mut self) {
        let mqtt = match self.broker {
            Broker::Embedded(port) => Some(port),
            Broker::External(_) => None,
        };
        self.holds = [Some(self.http), mqtt]
            .into_iter()
            .flatten()
            .filter(|&p| p != 0)
            .filter_map(|p| PortHold::on(p).ok())
            .collect();
    }

    pub fn signal(&self, sig: &str) {
        self.signal_pid(self.pid(), sig);
    }

    fn signal_pid(&self, pid: u32, sig: &str) {
        Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(pid.to_string())
            .status()
            .expect("kill");
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Waits until every reading of [`super::stream`] is stored and asserts each is there exactly
/// once.
pub async fn assert_all_stored_once(hub: &Hub, prefix: &str, devices: i64, n: i64, base: i64) {
    let mut seen = eventually(
        "all readings stored",
        Duration::from_secs(90),
        || async move {
            let mut seen = Vec::new();
            for d in 0..devices {
                let pts = hub
                    .readings(&format!("{prefix}-{d:02}"), "seq", base, base + n)
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
}

/// Waits until the hub has committed at least `n` readings.
pub async fn committed_at_least(hub: &Hub, n: i64) {
    eventually("ingest under way", Duration::from_secs(30), || async {
        (hub.metric("iochub_ingest_readings_total").await >= n as f64).then_some(())
    })
    .await;
}
