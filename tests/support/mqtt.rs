//! The device side: an MQTT publisher that waits for the broker's PUBACKs, and a steady numbered
//! stream of readings for the durability tests.

use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

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
