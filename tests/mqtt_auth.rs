//! Devices on MQTT: credentials issued through the API hold each device to its own topics, on
//! the embedded broker (`iochub demo --mqtt-auth`) and on a real Mosquitto configured with the
//! files `iochub mosquitto-auth` writes.

mod support;

use std::time::Duration;

use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, QoS};
use serde_json::{Value, json};
use support::*;

/// A device client: connects with `username`/`password` (client id `client_id`) and reports
/// whether the broker accepted it.
struct Device {
    client: AsyncClient,
    events: EventLoop,
}

impl Device {
    async fn connect(
        url: &str,
        client_id: &str,
        login: Option<(&str, &str)>,
    ) -> Result<Self, String> {
        let mut opts = MqttOptions::parse_url(format!("{url}?client_id={client_id}")).expect("url");
        if let Some((user, password)) = login {
            opts.set_credentials(user, password);
        }
        let (client, mut events) = AsyncClient::new(opts, 100);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let polled = tokio::time::timeout_at(deadline, events.poll())
                .await
                .map_err(|_| "no CONNACK within 10 s".to_owned())?;
            match polled {
                Ok(Event::Incoming(Packet::ConnAck(_))) => return Ok(Device { client, events }),
                Ok(_) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    /// Publishes with QoS 1 and waits for the broker's PUBACK (a refused publish is acked too,
    /// and simply not delivered).
    async fn publish(&mut self, topic: &str, payload: Value) {
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload.to_string())
            .await
            .expect("publish");
        let acked = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match self.events.poll().await {
                    Ok(Event::Incoming(Packet::PubAck(_))) => return,
                    Ok(_) => {}
                    Err(e) => panic!("connection lost while publishing to {topic}: {e}"),
                }
            }
        })
        .await;
        assert!(acked.is_ok(), "no PUBACK for {topic}");
    }
}

async fn issue(hub: &Hub, device: &str) -> String {
    let path = format!("/api/v1/devices/{device}/credentials");
    let (status, body) = hub.call("POST", &path, &hub.token, None).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["username"], device);
    body["password"].as_str().expect("shown once").to_owned()
}

#[tokio::test]
async fn the_embedded_broker_holds_each_device_to_its_own_topics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hub = Hub::start_with_env(
        dir.path(),
        DEFAULT_RULES,
        Broker::Embedded(0),
        &[("IOCHUB_MQTT_AUTH", "true")],
    )
    .await;
    assert!(
        hub.log().contains("device credentials required"),
        "the banner says the broker is closed:\n{}",
        hub.log()
    );
    let url = hub.mqtt_url();
    // Credentials before the device ever reported; the API never shows them again.
    let wl = issue(&hub, "wl-01").await;
    let gw = issue(&hub, "gw-1").await;
    let (_, listed) = hub.call("GET", "/api/v1/devices", &hub.token, None).await;
    assert!(
        !listed.to_string().contains(&wl),
        "the password is not shown back"
    );

    // Refused: no credentials, a wrong password, another device's password, a client id that is
    // not the username (it would let one device take over another's session).
    assert!(Device::connect(&url, "wl-01", None).await.is_err());
    assert!(
        Device::connect(&url, "wl-01", Some(("wl-01", "wrong")))
            .await
            .is_err()
    );
    assert!(
        Device::connect(&url, "wl-01", Some(("wl-01", &gw)))
            .await
            .is_err()
    );
    assert!(
        Device::connect(&url, "gw-1", Some(("wl-01", &wl)))
            .await
            .is_err()
    );
    let mut device = Device::connect(&url, "wl-01", Some(("wl-01", &wl)))
        .await
        .expect("its own credentials");

    // Another device's topic: acked, never delivered, counted; its own: stored.
    let ts = now_ms();
    device
        .publish("ioc/wl-02/telemetry", json!({"ts": ts, "water_level": 9.0}))
        .await;
    device
        .publish("ioc/wl-01/telemetry", json!({"ts": ts, "water_level": 1.5}))
        .await;
    assert_eq!(hub.wait_reading("wl-01", "water_level", ts).await, 1.5);
    let refused = "iochub_mqtt_auth_refused_total{what=\"publish\"}";
    assert_eq!(hub.metric(refused).await, 1.0);
    let (status, _) = hub.get("/api/v1/devices/wl-02").await;
    assert_eq!(status, 404, "the refused reading created no device");

    // A gateway publishes for the devices registered behind it, and only for them.
    let mut gateway = Device::connect(&url, "gw-1", Some(("gw-1", &gw)))
        .await
        .expect("gateway");
    let pack = json!([{"bn": "aq-7/", "bt": ts as f64 / 1000.0, "n": "pm25", "v": 12.0}]);
    gateway.publish("ioc/gw-1/telemetry", pack).await;
    hub.wait_reading("aq-7", "pm25", ts).await;
    let later = ts + 1000;
    gateway
        .publish("ioc/aq-7/telemetry", json!({"ts": later, "pm25": 13.0}))
        .await;
    eventually(
        "the second refusal counted",
        Duration::from_secs(10),
        || async { (hub.metric(refused).await == 2.0).then_some(()) },
    )
    .await;
    let behind = Some(json!({"gateway": "gw-1"}));
    let (status, d) = hub
        .call("PATCH", "/api/v1/devices/aq-7", &hub.token, behind)
        .await;
    assert_eq!((status, &d["gateway"]), (200, &json!("gw-1")), "{d}");
    let (status, _) = hub
        .call(
            "PATCH",
            "/api/v1/devices/aq-7",
            &hub.token,
            Some(json!({"gateway": "aq-7"})),
        )
        .await;
    assert_eq!(status, 400, "a device is not its own gateway");
    gateway
        .publish("ioc/aq-7/telemetry", json!({"ts": later, "pm25": 14.0}))
        .await;
    assert_eq!(hub.wait_reading("aq-7", "pm25", later).await, 14.0);
    gateway
        .publish(
            "ioc/wl-01/telemetry",
            json!({"ts": later, "water_level": 7.0}),
        )
        .await;
    eventually(
        "the third refusal counted",
        Duration::from_secs(10),
        || async { (hub.metric(refused).await == 3.0).then_some(()) },
    )
    .await;

    // Withdrawn: the old password no longer connects, and the open connection may no longer
    // publish.
    let (status, _) = hub
        .call(
            "DELETE",
            "/api/v1/devices/wl-01/credentials",
            &hub.token,
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert!(
        Device::connect(&url, "wl-01", Some(("wl-01", &wl)))
            .await
            .is_err()
    );
    let (_, audit) = hub
        .get("/api/v1/audit?action=device.credentials_issue")
        .await;
    let targets: Vec<&str> = audit
        .as_array()
        .expect("records")
        .iter()
        .filter_map(|r| r["target"].as_str())
        .collect();
    assert!(
        targets.contains(&"wl-01") && targets.contains(&"gw-1"),
        "{audit}"
    );
}

#[tokio::test]
async fn a_mosquitto_with_the_generated_files_refuses_other_devices_topics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().join("data");
    let auth_dir = dir.path().join("mosquitto-auth");
    let hub_url = |host: &str| format!("mqtt://iochub:hub-secret-8e1f@{host}");
    let generate = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_iochub"))
            .arg("mosquitto-auth")
            .arg("--out")
            .arg(&auth_dir)
            .arg("--data-dir")
            .arg(&data_dir)
            .env("IOCHUB_MQTT_URL", hub_url("127.0.0.1:1"))
            .output()
            .expect("run mosquitto-auth");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // The hub's own account alone at first, so that the hub can connect at all.
    assert!(generate().contains("1 accounts"), "only the hub's");
    let (passwords, acl) = (auth_dir.join("passwords"), auth_dir.join("acl"));
    let mut mosquitto = Mosquitto::start_with_config(|_, port| {
        format!(
            "listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {}\nacl_file {}\n\
             persistence false\nuser root\nlog_type all\n",
            passwords.display(),
            acl.display(),
        )
    });
    let broker = format!("127.0.0.1:{}", mosquitto.port);
    let mut hub = Hub::start_with(
        dir.path(),
        DEFAULT_RULES,
        Broker::External(hub_url(&broker)),
    )
    .await;
    let url = mosquitto.url();
    let wl = issue(&hub, "wl-01").await;
    assert!(generate().contains("2 accounts"), "the hub's and wl-01's");
    mosquitto.reload();

    assert!(
        Device::connect(&url, "wl-01", None).await.is_err(),
        "anonymous"
    );
    assert!(
        Device::connect(&url, "wl-01", Some(("wl-01", "wrong")))
            .await
            .is_err()
    );
    let mut device = Device::connect(&url, "wl-01", Some(("wl-01", &wl)))
        .await
        .expect("its own credentials");
    let ts = now_ms();
    device
        .publish("ioc/wl-02/telemetry", json!({"ts": ts, "water_level": 9.0}))
        .await;
    device
        .publish("ioc/wl-01/telemetry", json!({"ts": ts, "water_level": 1.5}))
        .await;
    assert_eq!(hub.wait_reading("wl-01", "water_level", ts).await, 1.5);
    let log = mosquitto.log();
    assert!(
        log.contains("Denied PUBLISH from wl-01") && log.contains("'ioc/wl-02/telemetry'"),
        "Mosquitto refused the other device's topic:\n{log}"
    );
    let (status, _) = hub.get("/api/v1/devices/wl-02").await;
    assert_eq!(status, 404, "nothing of wl-02 reached the hub");
    hub.stop();
}
