//! The ingest connection: poll the event loop, decode, dispatch, track for acking.

use std::sync::Arc;
use std::time::Duration;

use iochub_devices::{Catalog, Limits, RejectReason, decode};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, Publish, QoS, TlsConfiguration, Transport};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::acks::{self, AckCmd};
use super::topic::{self, STATUS_FILTER, TELEMETRY_FILTER, Topic};
use crate::health::Health;
use crate::metrics as m;
use crate::pipeline::{DeadLetter, Router, StoreMsg, Ticket, Work, WriteItem};

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("invalid MQTT URL {url:?}: {reason}")]
    Url { url: String, reason: String },
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
}

/// How to reach the broker.
#[derive(Debug, Clone)]
pub struct MqttSettings {
    /// `mqtt://[user:pass@]host:port`
    pub url: String,
    pub client_id: String,
    /// Off in production: the broker keeps our subscription and queues QoS 1 while we are away.
    pub clean_session: bool,
    pub max_packet_bytes: usize,
    /// CA for `mqtts://`; the system roots when absent.
    pub ca_file: Option<std::path::PathBuf>,
}

impl MqttSettings {
    pub fn options(&self) -> Result<MqttOptions, IngestError> {
        let (tls, plain) = crate::tls::split_scheme(&self.url);
        let sep = if plain.contains('?') { '&' } else { '?' };
        let url = if plain.contains("client_id=") {
            plain
        } else {
            format!("{plain}{sep}client_id={}", self.client_id)
        };
        let mut opts = MqttOptions::parse_url(url).map_err(|e| IngestError::Url {
            url: without_password(&self.url),
            reason: e.to_string(),
        })?;
        opts.set_manual_acks(true)
            .set_clean_session(self.clean_session)
            .set_keep_alive(Duration::from_secs(15))
            .set_max_packet_size(self.max_packet_bytes, self.max_packet_bytes);
        if tls {
            let config = crate::tls::client_config(self.ca_file.as_deref())?;
            opts.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(config)));
        }
        Ok(opts)
    }
}

/// `url` as it may be shown or logged: a password in it (`mqtt://user:secret@host`) is replaced
/// by `***`.
pub fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((user_info, host)) => {
            let user = user_info.split_once(':').map_or(user_info, |(u, _)| u);
            format!("{scheme}://{user}:***@{host}{tail}")
        }
        None => url.to_owned(),
    }
}

/// Everything the connection hands work to.
pub struct Pipeline {
    pub router: Router,
    pub store: mpsc::Sender<StoreMsg>,
    pub done: mpsc::Receiver<Vec<Ticket>>,
    pub limits: Limits,
    pub catalog: Catalog,
    pub health: Arc<Health>,
}

const PAYLOAD_EXCERPT: usize = 512;

/// Runs until `stop` is cancelled, then waits for every tracked message to be acked (bounded
/// by `drain_timeout`) and disconnects.
pub async fn run(
    settings: MqttSettings,
    pipeline: Pipeline,
    stop: CancellationToken,
    drain_timeout: Duration,
) -> Result<(), IngestError> {
    let opts = settings.options()?;
    // Acks share the client's request queue; sized well above any broker in-flight window.
    let (client, mut eventloop) = AsyncClient::new(opts, 8192);
    let Pipeline {
        router,
        store,
        done,
        limits,
        catalog,
        health,
    } = pipeline;
    let (cmd_tx, cmd_rx) = mpsc::channel(1024);
    let (unacked_tx, mut unacked) = watch::channel(0usize);
    let acker = tokio::spawn(acks::run(
        client.clone(),
        cmd_rx,
        done,
        unacked_tx,
        health.clone(),
    ));
    let mut conn = Connection {
        router,
        store,
        cmd_tx,
        limits,
        catalog,
        next_seq: 0,
    };
    let mut backoff = Duration::from_millis(250);
    health.set_degraded("mqtt", Some("connecting".into()));

    loop {
        let event = tokio::select! {
            ev = eventloop.poll() => ev,
            () = stop.cancelled() => break,
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                info!(url = %without_password(&settings.url), session_present = ack.session_present, "ingest connected");
                backoff = Duration::from_millis(250);
                health.set_degraded("mqtt", None);
                m::ingest_connected(true);
                for filter in [TELEMETRY_FILTER, STATUS_FILTER] {
                    if let Err(error) = client.try_subscribe(filter, QoS::AtLeastOnce) {
                        warn!(%error, filter, "subscribe failed");
                    }
                }
            }
            Ok(Event::Incoming(Packet::Publish(p))) => conn.handle(p).await,
            Ok(_) => {}
            Err(error) => {
                warn!(%error, url = %without_password(&settings.url), retry_in = ?backoff, "ingest connection lost");
                health.set_degraded("mqtt", Some(format!("broker unreachable: {error}")));
                m::ingest_connected(false);
                conn.forget_unacked(&mut eventloop).await;
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    () = stop.cancelled() => break,
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }

    // Drain: stop taking messages, keep the connection alive until the last ack is out.
    drop(conn);
    let drain = async {
        loop {
            if *unacked.borrow_and_update() == 0 {
                break;
            }
            tokio::select! {
                ev = eventloop.poll() => if ev.is_err() { break },
                r = unacked.changed() => if r.is_err() { break },
            }
        }
    };
    if tokio::time::timeout(drain_timeout, drain).await.is_err() {
        warn!("shutdown: unacked messages remain; the broker will redeliver them");
    }
    let _ = client.try_disconnect();
    let flush = async {
        while let Ok(ev) = eventloop.poll().await {
            if matches!(ev, rumqttc::Event::Outgoing(rumqttc::Outgoing::Disconnect)) {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), flush).await;
    acker.abort();
    m::ingest_connected(false);
    Ok(())
}

struct Connection {
    router: Router,
    store: mpsc::Sender<StoreMsg>,
    cmd_tx: mpsc::Sender<AckCmd>,
    limits: Limits,
    catalog: Catalog,
    next_seq: Ticket,
}

enum Part {
    Shard(usize, Work),
    DeadLetters(Vec<DeadLetter>),
}

impl Connection {
    /// After the connection dropped: no ack of the old connection may reach the next one. The
    /// event loop dropped the acks it had queued when it failed; the acker forgets what it
    /// tracks, and then the acks it queued in between are dropped too.
    async fn forget_unacked(&mut self, eventloop: &mut rumqttc::EventLoop) {
        let (forgotten, done) = oneshot::channel();
        let cmd = AckCmd::Disconnected {
            next_seq: self.next_seq,
            forgotten,
        };
        if self.cmd_tx.send(cmd).await.is_ok() {
            let _ = done.await;
        }
        eventloop.clean();
    }

    async fn handle(&mut self, p: Publish) {
        m::ingest_message();
        let now = crate::timefmt::now_ms();
        let mut parts = Vec::with_capacity(1);
        let mut dead = Vec::new();
        let mut reject = |reason: RejectReason, detail: String| {
            m::ingest_rejected(reason.as_str());
            dead.push(DeadLetter {
                id: None,
                received_at: now,
                topic: p.topic.clone(),
                reason: reason.as_str().to_owned(),
                detail,
                payload: String::from_utf8_lossy(
                    &p.payload[..p.payload.len().min(PAYLOAD_EXCERPT)],
                )
                .into_owned(),
            });
        };
        match topic::parse(&p.topic) {
            Ok(Topic::Telemetry(device)) => {
                let decoded = decode(device, &p.payload, now, &self.limits, &self.catalog);
                for r in decoded.rejects {
                    reject(r.reason, r.detail);
                }
                for (shard, readings) in self.router.split(decoded.readings) {
                    parts.push(Part::Shard(shard, Work::Readings(readings)));
                }
            }
            Ok(Topic::Status(device)) => match topic::parse_status(&p.payload) {
                Some(online) => parts.push(Part::Shard(
                    self.router.shard_of(device),
                    Work::Status {
                        device: device.to_owned(),
                        online,
                        ts_ms: now,
                    },
                )),
                None => reject(
                    RejectReason::BadTopic,
                    "status payload must be online or offline".into(),
                ),
            },
            Err((reason, detail)) => reject(reason, detail),
        }
        if !dead.is_empty() {
            parts.push(Part::DeadLetters(dead));
        }
        let ticket = if p.qos == QoS::AtMostOnce {
            None
        } else {
            let seq = self.next_seq;
            self.next_seq += 1;
            let track = AckCmd::Track {
                seq,
                pkid: p.pkid,
                qos: p.qos,
                parts: parts.len() as u32,
            };
            if self.cmd_tx.send(track).await.is_err() {
                return;
            }
            Some(seq)
        };
        for part in parts {
            let sent = match part {
                Part::Shard(shard, work) => self.router.send(shard, ticket, work).await.is_ok(),
                Part::DeadLetters(d) => self
                    .store
                    .send(StoreMsg {
                        ticket,
                        item: WriteItem::DeadLetters(d),
                    })
                    .await
                    .is_ok(),
            };
            if !sent {
                return; // pipeline shutting down; the broker redelivers
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::without_password;

    #[test]
    fn a_password_is_never_shown() {
        assert_eq!(
            without_password("mqtts://iochub:s3cr@t@broker.ioc:8883/?x=1"),
            "mqtts://iochub:***@broker.ioc:8883/?x=1"
        );
        assert_eq!(
            without_password("mqtt://127.0.0.1:1883"),
            "mqtt://127.0.0.1:1883"
        );
        assert_eq!(without_password("mqtt://user@h:1"), "mqtt://user:***@h:1");
    }
}
