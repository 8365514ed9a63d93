//! One station's life on MQTT: its own client (client id = station key, keep-alive 10 s, last will
//! `offline` retained on `ioc/{key}/status`), `online` retained after every connect, one SenML
//! message every interval (position included in the first after each connect), stamped by the
//! station's clock — wrong when a scenario says so —, the malformed messages a `garbage` episode
//! makes it owe, each at its own time, silence when a scenario says so — by dropping the TCP
//! connection without DISCONNECT so the broker fires the last will — and `offline` plus a clean
//! DISCONNECT on shutdown. It never blocks on the broker: messages produced while disconnected or
//! with the request queue full are dropped, as a logger without storage would do.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rumqttc::{
    AsyncClient, ConnectionError, Event, EventLoop, LastWill, MqttOptions, Outgoing, Packet, QoS,
};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};
use tracing::{Instrument, debug, info, info_span, warn};

use super::scenario::{self, Schedule};
use super::{ProvinceError, garbage, senml};

/// What every station task shares.
pub(super) struct Fleet {
    pub url: String,
    /// Station key -> MQTT password, for a broker that wants credentials (username = key).
    pub passwords: std::collections::HashMap<String, String>,
    pub seed: u64,
    pub interval: Duration,
    pub schedule: Schedule,
    /// The instant scenario time counts from.
    pub start: Instant,
}

const KEEP_ALIVE: Duration = Duration::from_secs(10);
const RETRY: Duration = Duration::from_secs(1);
/// Requests the client may queue towards its event loop; a station sends one message per interval.
const REQUEST_CAPACITY: usize = 16;
/// Largest packet in either direction; a station message is well under 1 KiB.
const MAX_PACKET: usize = 1 << 20;
/// How long a graceful goodbye may take before the connection is simply dropped.
const GOODBYE: Duration = Duration::from_secs(3);
/// How far ahead a station looks for garbage it owes; it wakes at least this often to look again.
const GARBAGE_LOOKAHEAD_S: f64 = 30.0;

pub(super) fn status_topic(key: &str) -> String {
    format!("ioc/{key}/status")
}

/// MQTT options for one station: the URL's broker and credentials with `client_id` set to `key`.
pub(super) fn mqtt_options(url: &str, key: &str) -> Result<MqttOptions, ProvinceError> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut pairs: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("client_id="))
        .collect();
    let id = format!("client_id={key}");
    pairs.push(&id);
    let mut options =
        MqttOptions::parse_url(format!("{base}?{}", pairs.join("&"))).map_err(|source| {
            ProvinceError::Url {
                url: url.to_owned(),
                source,
            }
        })?;
    options
        .set_keep_alive(KEEP_ALIVE)
        .set_clean_session(true)
        .set_max_packet_size(MAX_PACKET, MAX_PACKET)
        .set_last_will(LastWill::new(
            status_topic(key),
            "offline",
            QoS::AtLeastOnce,
            true,
        ));
    Ok(options)
}

/// Runs station `index` until `shutdown` turns true (or its sender goes away).
pub(super) async fn run_station(
    fleet: Arc<Fleet>,
    index: usize,
    mut shutdown: watch::Receiver<bool>,
) {
    let stations = fleet.schedule.stations();
    let Some(station) = stations.get(index) else {
        return;
    };
    let span = info_span!("station", device = station.key, kind = station.kind.label());
    async {
        // Spread the fleet over one interval so 70 stations do not publish in one burst.
        let offset = fleet
            .interval
            .mul_f64(index as f64 / stations.len().max(1) as f64);
        if stopped(&mut shutdown, offset).await {
            return;
        }
        let mut logger = Logger::default();
        loop {
            let password = fleet.passwords.get(station.key).map(String::as_str);
            let session = match Session::open(&fleet.url, station.key, password) {
                Ok(session) => session,
                Err(error) => {
                    warn!(%error, "cannot build MQTT options; station stays down");
                    return;
                }
            };
            match publish_loop(&fleet, index, &session, &mut logger, &mut shutdown).await {
                End::Shutdown => {
                    session.goodbye().await;
                    return;
                }
                End::Silenced => {
                    session.drop_connection().await;
                    while fleet
                        .schedule
                        .effect(index, fleet.start.elapsed().as_secs_f64())
                        .silent
                    {
                        if stopped(&mut shutdown, RETRY).await {
                            return;
                        }
                    }
                    info!("silence over; reconnecting");
                }
            }
        }
    }
    .instrument(span)
    .await;
}

enum End {
    Shutdown,
    Silenced,
}

/// What the station's logger remembers across messages and connections: when it last sent
/// (its rain count covers the time since: tips counted while the link was down are sent with the
/// next message), and the value a stuck sensor repeats.
#[derive(Default)]
struct Logger {
    /// (scenario seconds, Unix seconds) of the last message queued.
    sent: Option<(f64, f64)>,
    held: Option<f64>,
}

async fn publish_loop(
    fleet: &Fleet,
    index: usize,
    session: &Session,
    logger: &mut Logger,
    shutdown: &mut watch::Receiver<bool>,
) -> End {
    let station = &fleet.schedule.stations()[index];
    let topic = format!("ioc/{}/telemetry", station.key);
    let mut ticker = tokio::time::interval(fleet.interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // Connection generation whose first message already carried the position.
    let mut placed_generation = 0;
    // Garbage owed after this many seconds of scenario time has not been sent yet.
    let mut garbage_from = fleet.start.elapsed().as_secs_f64();
    loop {
        let garbage_at = fleet
            .schedule
            .garbage(index, garbage_from, garbage_from + GARBAGE_LOOKAHEAD_S)
            .first()
            .map_or(garbage_from + GARBAGE_LOOKAHEAD_S, |due| due.at_s);
        let garbage_wake = fleet.start + Duration::from_secs_f64(garbage_at.max(0.0));
        let telemetry = tokio::select! {
            changed = shutdown.changed() => if changed.is_err() || *shutdown.borrow() { return End::Shutdown } else { continue },
            _ = ticker.tick() => true,
            _ = tokio::time::sleep_until(garbage_wake) => false,
        };
        if *shutdown.borrow() {
            return End::Shutdown;
        }
        let elapsed_s = fleet.start.elapsed().as_secs_f64();
        let unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let unix_s = unix_ms as f64 / 1000.0;
        // rain is counted since the last message that left (one interval before the first)
        let interval_s = fleet.interval.as_secs_f64();
        let (since_elapsed, since_unix) = logger
            .sent
            .unwrap_or((elapsed_s - interval_s, unix_s - interval_s));
        let effect = fleet
            .schedule
            .effect_over(index, elapsed_s, elapsed_s - since_elapsed);
        if effect.silent {
            return End::Silenced;
        }
        let link = *session.link.borrow();
        let readings = scenario::observe(
            station,
            unix_s,
            fleet.seed,
            unix_s - since_unix,
            &effect,
            &mut logger.held,
        );
        let stamp_ms = effect.device_ms(unix_ms);
        if !telemetry {
            let due = fleet.schedule.garbage(index, garbage_from, elapsed_s);
            garbage_from = elapsed_s;
            if !link.up {
                continue;
            }
            for g in due {
                let Some(first) = readings.first() else { break };
                let payload = garbage::payload(g.kind, station.key, stamp_ms, first, g.salt);
                if let Err(error) =
                    session
                        .client
                        .try_publish(&topic, QoS::AtLeastOnce, false, payload)
                {
                    debug!(%error, kind = ?g.kind, "garbage not queued; dropping it");
                }
            }
            continue;
        }
        if !link.up {
            continue;
        }
        let position = (link.generation != placed_generation).then_some((station.lat, station.lon));
        let payload = senml::telemetry(station.key, stamp_ms, &readings, position);
        match session
            .client
            .try_publish(&topic, QoS::AtLeastOnce, false, payload)
        {
            Ok(()) => {
                placed_generation = link.generation;
                logger.sent = Some((elapsed_s, unix_s));
            }
            Err(error) => debug!(%error, "telemetry not queued; dropping this reading"),
        }
    }
}

/// `true` when shutdown was requested during `wait`.
async fn stopped(shutdown: &mut watch::Receiver<bool>, wait: Duration) -> bool {
    if *shutdown.borrow() {
        return true;
    }
    tokio::select! {
        changed = shutdown.changed() => changed.is_err() || *shutdown.borrow(),
        _ = tokio::time::sleep(wait) => false,
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Link {
    /// Bumped on every ConnAck.
    generation: u64,
    up: bool,
}

/// One client and the task polling its event loop, from first connect to goodbye or silence.
struct Session {
    key: &'static str,
    client: AsyncClient,
    link: watch::Receiver<Link>,
    stop: watch::Sender<bool>,
    driver: JoinHandle<()>,
}

impl Session {
    fn open(url: &str, key: &'static str, password: Option<&str>) -> Result<Self, ProvinceError> {
        let mut options = mqtt_options(url, key)?;
        if let Some(password) = password {
            options.set_credentials(key, password);
        }
        let (client, eventloop) = AsyncClient::new(options, REQUEST_CAPACITY);
        let (link_tx, link) = watch::channel(Link::default());
        let (stop, stop_rx) = watch::channel(false);
        let driver = tokio::spawn(
            drive(eventloop, client.clone(), key, link_tx, stop_rx)
                .instrument(tracing::Span::current()),
        );
        Ok(Session {
            key,
            client,
            link,
            stop,
            driver,
        })
    }

    /// Drops the TCP connection without DISCONNECT, as a station losing power would, so that the
    /// broker publishes the last will.
    async fn drop_connection(self) {
        let _ = self.stop.send(true);
        finish(self.driver).await;
    }

    /// `offline` (retained) and a clean DISCONNECT; the broker then discards the last will, so the
    /// explicit `offline` is what tells the hub.
    async fn goodbye(mut self) {
        if self.link.borrow().up {
            let topic = status_topic(self.key);
            let queued = self
                .client
                .try_publish(topic, QoS::AtLeastOnce, true, "offline")
                .and_then(|()| self.client.try_disconnect());
            match queued {
                // The driver ends once the DISCONNECT is flushed.
                Ok(()) => {
                    if tokio::time::timeout(GOODBYE, &mut self.driver)
                        .await
                        .is_ok()
                    {
                        return;
                    }
                }
                Err(error) => debug!(%error, "goodbye not queued"),
            }
        }
        let _ = self.stop.send(true);
        finish(self.driver).await;
    }
}

/// Waits for a driver told to stop; aborts it if it does not.
async fn finish(mut driver: JoinHandle<()>) {
    if tokio::time::timeout(GOODBYE, &mut driver).await.is_err() {
        driver.abort();
    }
}

/// Polls the event loop: reports connects and drops on `link`, announces `online` after each
/// connect, retries every second after an error, and ends on `stop` (dropping the socket) or once
/// a DISCONNECT has gone out.
async fn drive(
    mut eventloop: EventLoop,
    client: AsyncClient,
    key: &'static str,
    link: watch::Sender<Link>,
    mut stop: watch::Receiver<bool>,
) {
    // Warn once per outage, not once per retry.
    let mut warned = false;
    loop {
        let event = tokio::select! {
            biased;
            _ = stop.changed() => return,
            event = eventloop.poll() => event,
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                link.send_modify(|l| {
                    l.generation += 1;
                    l.up = true;
                });
                if warned {
                    info!("reconnected");
                }
                warned = false;
                debug!("connected");
                if let Err(error) =
                    client.try_publish(status_topic(key), QoS::AtLeastOnce, true, "online")
                {
                    warn!(%error, "could not queue `online`");
                }
            }
            Ok(Event::Outgoing(Outgoing::Disconnect)) => {
                link.send_modify(|l| l.up = false);
                return;
            }
            Ok(_) => {}
            Err(error) => {
                link.send_modify(|l| l.up = false);
                log_connection_error(&error, warned);
                warned = true;
                tokio::select! {
                    _ = stop.changed() => return,
                    _ = tokio::time::sleep(RETRY) => {}
                }
            }
        }
    }
}

fn log_connection_error(error: &ConnectionError, warned: bool) {
    if warned {
        debug!(%error, "still disconnected; retrying");
    } else {
        warn!(%error, "MQTT connection lost; retrying every second");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_id_is_the_station_key_whatever_the_url_says() {
        for url in [
            "mqtt://broker.example:1884",
            "mqtt://broker.example:1884?client_id=iochub-sim",
            "mqtt://u:p@broker.example:1884?keep_alive_secs=30&client_id=x",
        ] {
            let options = mqtt_options(url, "cb-wl-banggiang-03");
            let Ok(options) = options else {
                panic!("{url}: {options:?}")
            };
            assert_eq!(options.client_id(), "cb-wl-banggiang-03");
            assert_eq!(
                options.broker_address(),
                ("broker.example".to_owned(), 1884)
            );
            assert_eq!(options.keep_alive(), KEEP_ALIVE);
            let will = options.last_will();
            let Some(will) = will else {
                panic!("no last will")
            };
            assert_eq!(will.topic, "ioc/cb-wl-banggiang-03/status");
            assert_eq!(&will.message[..], b"offline");
            assert!(will.retain);
            assert_eq!(will.qos, QoS::AtLeastOnce);
        }
    }

    #[test]
    fn bad_urls_are_refused() {
        for url in ["http://x:1", "not a url", "mqtt://x:1?bogus=1"] {
            assert!(
                matches!(mqtt_options(url, "k"), Err(ProvinceError::Url { .. })),
                "{url}"
            );
        }
    }
}
