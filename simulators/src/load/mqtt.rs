//! The MQTT side of a run: the options of each connection, the event loop of a publishing
//! connection (counting what was written and acked) and of a subscriber (measuring publish →
//! subscriber latency, the broker's own ceiling without a hub).
//!
//! `C` publishing connections, one rumqttc event loop each, polled in its own task; the devices
//! are dealt over them (`device % C`). More than one subscriber share a `$share/` subscription.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, Packet, QoS};
use tokio::sync::oneshot;
use tracing::warn;

use super::now_us;
use super::payload::pack_time_ms;
use super::report::{Counters, Tally, latency_us};

/// Largest MQTT packet in either direction.
const MAX_PACKET: usize = 1 << 20;
/// Unacked QoS 1 publishes per connection.
pub(crate) const INFLIGHT: u16 = 1000;
/// Requests a pacer may queue towards its connection's event loop.
pub(crate) const REQUEST_CAPACITY: usize = 10_000;
/// How long a failed connection waits before its event loop reconnects.
const RECONNECT_DELAY: Duration = Duration::from_millis(500);

/// The topic filter of `n` subscribers.
pub fn subscription(n: usize) -> &'static str {
    if n > 1 {
        "$share/iochub-load/ioc/+/telemetry"
    } else {
        "ioc/+/telemetry"
    }
}

/// MQTT options for connection `name`: the URL's broker with its own `client_id`.
pub fn mqtt_options(url: &str, name: &str) -> Result<MqttOptions, rumqttc::OptionError> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut pairs: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("client_id="))
        .map(str::to_owned)
        .collect();
    pairs.push(format!(
        "client_id=iochub-load-{}-{name}",
        std::process::id()
    ));
    let mut opts = MqttOptions::parse_url(format!("{base}?{}", pairs.join("&")))?;
    opts.set_keep_alive(Duration::from_secs(30))
        .set_clean_session(true)
        .set_inflight(INFLIGHT)
        .set_request_channel_capacity(REQUEST_CAPACITY)
        .set_max_packet_size(MAX_PACKET, MAX_PACKET);
    Ok(opts)
}

/// Polls one publishing connection's event loop: counts acks and writes, reports the first
/// CONNACK, retries on errors until the run stops.
pub(crate) async fn publisher_loop(
    mut eventloop: rumqttc::EventLoop,
    tally: Arc<Tally>,
    stop: Arc<AtomicBool>,
    up: oneshot::Sender<()>,
) {
    let c = &tally.counters;
    let mut up = Some(up);
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::PubAck(_))) => Counters::add(&c.acked, 1),
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                if let Some(up) = up.take() {
                    let _ = up.send(());
                }
            }
            Ok(Event::Outgoing(Outgoing::Publish(_))) => Counters::add(&c.written, 1),
            Ok(Event::Outgoing(Outgoing::Disconnect)) => return,
            Ok(_) => {}
            Err(e) => {
                if !retry(&e, &stop, &tally).await {
                    return;
                }
            }
        }
    }
}

/// One subscriber: subscribes once connected (again after a reconnect: a clean session forgets
/// the subscription), then records every message it receives.
pub(crate) async fn subscriber_loop(
    client: AsyncClient,
    mut eventloop: rumqttc::EventLoop,
    topic: &'static str,
    qos: QoS,
    tally: Arc<Tally>,
    stop: Arc<AtomicBool>,
    ready: oneshot::Sender<()>,
) {
    let mut ready = Some(ready);
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::Publish(p))) => {
                let received = now_us();
                Counters::add(&tally.counters.sub_received, 1);
                if let Some(sent) = pack_time_ms(&p.payload) {
                    tally.record_sub_latency(latency_us(received, sent));
                }
            }
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                if let Err(e) = client.try_subscribe(topic, qos) {
                    warn!(error = %e, "subscribe request failed");
                }
            }
            Ok(Event::Incoming(Packet::SubAck(_))) => {
                if let Some(r) = ready.take() {
                    let _ = r.send(());
                }
            }
            Ok(Event::Outgoing(Outgoing::Disconnect)) => return,
            Ok(_) => {}
            Err(e) => {
                if !retry(&e, &stop, &tally).await {
                    return;
                }
            }
        }
    }
}

/// After a connection error: false when the run is stopping; otherwise counts the error and
/// waits before the event loop reconnects.
async fn retry(e: &rumqttc::ConnectionError, stop: &AtomicBool, tally: &Tally) -> bool {
    if stop.load(Ordering::Relaxed) {
        return false;
    }
    Counters::add(&tally.counters.conn_errors, 1);
    warn!(error = %e, "MQTT connection error; retrying");
    tokio::time::sleep(RECONNECT_DELAY).await;
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_connection_gets_its_own_client_id() {
        let o = mqtt_options("mqtt://127.0.0.1:1883?client_id=x", "3").expect("valid");
        assert!(o.client_id().ends_with("-3"));
        assert!(!o.client_id().contains('x'));
        assert_eq!(o.inflight(), INFLIGHT);
        assert!(mqtt_options("mqtt://127.0.0.1:1883", "sub-0").is_ok());
        assert!(mqtt_options("nope://x", "0").is_err());
    }

    #[test]
    fn several_subscribers_share_one_subscription() {
        assert_eq!(subscription(1), "ioc/+/telemetry");
        assert!(subscription(2).starts_with("$share/"));
    }
}
