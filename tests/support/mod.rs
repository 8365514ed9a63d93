//! Test harness: the real `iochub` binary on free ports in a temp dir, a throwaway Mosquitto,
//! and MQTT / HTTP / WebSocket clients that talk to them through the public contract.
#![allow(dead_code)]

pub mod postgres;

use std::future::Future;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

pub const PASSWORD: &str = "test-password";

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Polls `check` until it returns Some, or fails the test after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A throwaway Mosquitto on a free port, persistence on, unlimited queues for persistent sessions.
/// `user root`: started as root, Mosquitto would drop to its own user and could not write its
/// persistence file into our temp dir — and would silently lose its state on a restart.
pub struct Mosquitto {
    pub port: u16,
    child: Child,
    conf: PathBuf,
    _dir: tempfile::TempDir,
}

impl Mosquitto {
    pub fn start() -> Self {
        Self::start_with_config(|dir, port| {
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {}/\n\
                 user root\nautosave_interval 1\nmax_queued_messages 0\nmax_inflight_messages 100\nset_tcp_nodelay true\n",
                dir.display()
            )
        })
    }

    /// A Mosquitto with the configuration `conf(dir, port)` returns (its temp dir, the port it
    /// must listen on for readiness).
    pub fn start_with_config(conf: impl FnOnce(&Path, u16) -> String) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let path = dir.path().join("mosquitto.conf");
        std::fs::write(&path, conf(dir.path(), port)).expect("write mosquitto.conf");
        let child = Self::spawn(&path, port);
        Self {
            port,
            child,
            conf: path,
            _dir: dir,
        }
    }

    fn spawn(conf: &Path, port: u16) -> Child {
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto is installed (the test command installs it)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "mosquitto did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        child
    }

    /// SIGTERM (Mosquitto saves its persistent state on the way out), then start it again on the
    /// same port and persistence directory.
    pub fn restart(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
        self.child = Self::spawn(&self.conf, self.port);
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How to start the hub.
#[derive(Clone)]
pub enum Broker {
    /// `iochub demo --no-sim` with its embedded broker on this port.
    Embedded(u16),
    /// `iochub serve` against an external broker at this URL.
    External(String),
}

/// The real hub binary.
pub struct Hub {
    pub http: u16,
    pub broker: Broker,
    pub data_dir: PathBuf,
    pub rules: PathBuf,
    /// PostgreSQL URL for `serve`; SQLite in `data_dir` when absent.
    pub database_url: Option<String>,
    /// More environment for the hub process.
    pub env: Vec<(String, String)>,
    child: Option<Child>,
    pub token: String,
    pub client: reqwest::Client,
}

pub const DEFAULT_RULES: &str = r#"
[[rules]]
id = "flood"
metric = "water_level"
op = ">="
value = 5.0
clear = 4.5
severity = "critical"
"#;

impl Hub {
    /// Starts a hub with the embedded broker in a fresh temp dir.
    pub async fn start(dir: &Path, rules: &str) -> Self {
        Self::start_with(dir, rules, Broker::Embedded(free_port())).await
    }

    /// `iochub serve` against an external broker and PostgreSQL.
    pub async fn start_on_postgres(
        dir: &Path,
        rules: &str,
        mqtt_url: String,
        database_url: String,
    ) -> Self {
        Self::start_full(
            dir,
            rules,
            Broker::External(mqtt_url),
            Some(database_url),
            Vec::new(),
        )
        .await
    }

    pub async fn start_with(dir: &Path, rules: &str, broker: Broker) -> Self {
        Self::start_full(dir, rules, broker, None, Vec::new()).await
    }

    /// Like [`Hub::start_with`], with more environment variables for the hub.
    pub async fn start_with_env(
        dir: &Path,
        rules: &str,
        broker: Broker,
        env: &[(&str, &str)],
    ) -> Self {
        let env = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Self::start_full(dir, rules, broker, None, env).await
    }

    async fn start_full(
        dir: &Path,
        rules: &str,
        broker: Broker,
        database_url: Option<String>,
        env: Vec<(String, String)>,
    ) -> Self {
        let rules_path = dir.join("rules.toml");
        std::fs::write(&rules_path, rules).expect("write rules");
        let mut hub = Self {
            http: free_port(),
            broker,
            data_dir: dir.join("data"),
            rules: rules_path,
            database_url,
            env,
            child: None,
            token: String::new(),
            client: reqwest::Client::new(),
        };
        hub.spawn().await;
        if hub.database_url.is_some() {
            assert!(
                hub.log().contains("PostgreSQL store ready"),
                "the hub runs on PostgreSQL"
            );
        }
        hub
    }

    /// (Re)starts the process on the same ports and data dir, waits until healthy, logs in.
    pub async fn spawn(&mut self) {
        let bin = env!("CARGO_BIN_EXE_iochub");
        let mut cmd = Command::new(bin);
        match &self.broker {
            Broker::Embedded(mqtt) => {
                cmd.arg("demo")
                    .arg("--no-sim")
                    .arg("--mqtt")
                    .arg(format!("127.0.0.1:{mqtt}"));
                cmd.arg("--http").arg(format!("127.0.0.1:{}", self.http));
                cmd.arg("--data-dir")
                    .arg(&self.data_dir)
                    .arg("--rules")
                    .arg(&self.rules);
            }
            Broker::External(url) => {
                let conf = self.data_dir.with_extension("toml");
                std::fs::write(&conf, "# everything comes from IOCHUB_* variables\n")
                    .expect("config");
                cmd.arg("serve").arg("--config").arg(conf);
                cmd.env("IOCHUB_MQTT_URL", url)
                    .env("IOCHUB_HTTP", format!("127.0.0.1:{}", self.http))
                    .env("IOCHUB_DATA_DIR", &self.data_dir)
                    .env("IOCHUB_RULES", &self.rules)
                    .env(
                        "IOCHUB_MQTT_CLIENT_ID",
                        format!("iochub-test-{}", self.http),
                    );
                if let Some(db) = &self.database_url {
                    cmd.env("IOCHUB_DATABASE_URL", db);
                }
            }
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.data_dir.with_extension("log"))
            .expect("log file");
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd.env("IOCHUB_ADMIN_PASSWORD", PASSWORD)
            .env("RUST_LOG", "info,rumqttd=error")
            .stdout(log.try_clone().expect("log"))
            .stderr(log);
        self.child = Some(cmd.spawn().expect("spawn iochub"));
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

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.with_extension("log")).unwrap_or_default()
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

    /// GET with the admin token; returns (status, JSON body).
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let resp = self
            .client
            .get(self.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("GET");
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
        }
    }

    /// SIGTERM and wait for the ordered shutdown.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(c.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn signal(&self, sig: &str) {
        Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.pid().to_string())
            .status()
            .expect("kill");
    }

    /// A WebSocket client subscribed to `topics`, authenticated with the bearer token.
    pub async fn ws(&self, subscribe: Value) -> Ws {
        self.ws_on(subscribe, None).await
    }

    /// Like [`Hub::ws`], over a socket with a 4 KiB receive buffer (a slow reader fills it fast).
    pub async fn ws_small_buffer(&self, subscribe: Value) -> Ws {
        self.ws_on(subscribe, Some(4096)).await
    }

    async fn ws_on(&self, subscribe: Value, recv_buffer: Option<u32>) -> Ws {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        if let Some(size) = recv_buffer {
            socket.set_recv_buffer_size(size).expect("SO_RCVBUF");
        }
        let tcp = socket
            .connect(([127, 0, 0, 1], self.http).into())
            .await
            .expect("connect");
        let mut req = format!("ws://127.0.0.1:{}/ws", self.http)
            .into_client_request()
            .expect("request");
        req.headers_mut().insert(
            "authorization",
            format!("Bearer {}", self.token).parse().expect("header"),
        );
        let (mut stream, _) =
            tokio_tungstenite::client_async(req, tokio_tungstenite::MaybeTlsStream::Plain(tcp))
                .await
                .expect("ws connect");
        stream
            .send(Message::Text(subscribe.to_string().into()))
            .await
            .expect("subscribe");
        let mut ws = Ws { stream };
        let ack = ws
            .next_json(Duration::from_secs(10))
            .await
            .expect("subscribe reply");
        assert_eq!(ack["type"], "subscribed", "{ack}");
        ws
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.kill9();
    }
}

pub struct Ws {
    pub stream: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl Ws {
    pub async fn next_json(&mut self, timeout: Duration) -> Option<Value> {
        loop {
            let msg = tokio::time::timeout(timeout, self.stream.next())
                .await
                .ok()??
                .ok()?;
            if let Message::Text(t) = msg {
                return serde_json::from_str(&t).ok();
            }
        }
    }

    /// Reads frames until one satisfies `pred`.
    pub async fn until(
        &mut self,
        timeout: Duration,
        mut pred: impl FnMut(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let frame = self
                .next_json(left)
                .await
                .expect("expected WebSocket frame did not arrive");
            if pred(&frame) {
                return frame;
            }
        }
    }
}

/// An MQTT publisher that waits for the broker's PUBACK of every QoS 1 message.
pub struct Publisher {
    client: AsyncClient,
    acks: tokio::sync::mpsc::UnboundedReceiver<()>,
    outstanding: usize,
    task: tokio::task::JoinHandle<()>,
}

impl Publisher {
    pub async fn connect(url: &str, client_id: &str) -> Self {
        Self::connect_with(url, client_id, None).await
    }

    /// Connects with `ioc/{device}/status` = `offline` as the last will.
    pub async fn device(url: &str, device: &str) -> Self {
        Self::connect_with(url, device, Some(device)).await
    }

    /// Drops the TCP connection without DISCONNECT, as a device losing power does.
    pub fn die(self) {
        self.task.abort();
    }

    async fn connect_with(url: &str, client_id: &str, will_of: Option<&str>) -> Self {
        let mut opts = MqttOptions::parse_url(format!("{url}?client_id={client_id}")).expect("url");
        opts.set_max_packet_size(1 << 20, 1 << 20).set_inflight(200);
        // A persistent session: rumqttc drops unacked publishes on a reconnect without one
        opts.set_clean_session(false);
        if let Some(device) = will_of {
            opts.set_last_will(rumqttc::LastWill::new(
                format!("ioc/{device}/status"),
                "offline",
                QoS::AtLeastOnce,
                false,
            ));
        }
        let (client, mut eventloop) = AsyncClient::new(opts, 1000);
        let (tx, acks) = tokio::sync::mpsc::unbounded_channel();
        let (conn_tx, conn_rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let mut conn_tx = Some(conn_tx);
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        if let Some(t) = conn_tx.take() {
                            let _ = t.send(());
                        }
                    }
                    Ok(Event::Incoming(Packet::PubAck(_))) => {
                        let _ = tx.send(());
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        });
        tokio::time::timeout(Duration::from_secs(20), conn_rx)
            .await
            .expect("MQTT connect")
            .expect("connack");
        Self {
            client,
            acks,
            outstanding: 0,
            task,
        }
    }

    pub async fn publish(&mut self, topic: &str, payload: impl Into<Vec<u8>>) {
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload.into())
            .await
            .expect("publish");
        self.outstanding += 1;
    }

    pub async fn publish_qos0(&mut self, topic: &str, payload: impl Into<Vec<u8>>) {
        self.client
            .publish(topic, QoS::AtMostOnce, false, payload.into())
            .await
            .expect("publish");
    }

    /// Publishes with QoS 1 and waits for the broker's ack.
    pub async fn send(&mut self, topic: &str, payload: impl Into<Vec<u8>>) {
        self.publish(topic, payload).await;
        self.flush().await;
    }

    /// Waits until the broker acked everything published so far.
    pub async fn flush(&mut self) {
        while self.outstanding > 0 {
            tokio::time::timeout(Duration::from_secs(30), self.acks.recv())
                .await
                .expect("PUBACK")
                .expect("acks");
            // a message resent after a reconnect may be acked twice
            self.outstanding = self.outstanding.saturating_sub(1);
        }
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub fn now_ms() -> i64 {
    iochub::timefmt::now_ms()
}

/// A steady QoS 1 stream of `n` numbered readings (`seq` = i at `base + i` ms) over `devices`
/// devices `{prefix}-NN`, ~3k msg/s, waiting for the broker's acks; ends when all are accepted.
pub fn stream(
    url: String,
    prefix: &'static str,
    devices: i64,
    n: i64,
    base: i64,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut mqtt = Publisher::connect(&url, &format!("{prefix}-pub")).await;
        for i in 0..n {
            let topic = format!("ioc/{prefix}-{:02}/telemetry", i % devices);
            mqtt.publish(&topic, format!(r#"{{"ts":{},"seq":{i}}}"#, base + i))
                .await;
            if i % 50 == 49 {
                mqtt.flush().await;
                tokio::time::sleep(Duration::from_millis(15)).await;
            }
        }
        mqtt.flush().await;
    })
}

/// Waits until every reading of [`stream`] is stored and asserts each is there exactly once.
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
