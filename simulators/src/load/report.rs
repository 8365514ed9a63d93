//! What a run measured: the counters and latency histograms the tasks of a run share while it
//! runs ([`Tally`]), the progress line printed every second, and the [`Report`] (the one JSON
//! line a run ends with) made from them.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use hdrhistogram::Histogram;
use rumqttc::QoS;
use serde::Serialize;

use super::hub::HubSample;
use super::options::LoadOptions;

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Latency {
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
    pub count: u64,
}

/// The final JSON line.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Wall clock (Unix ms) when sending started and when it stopped, to line the run up with
    /// what another observer sampled (e.g. rows counted in a database).
    pub started_at_ms: i64,
    pub send_ended_at_ms: i64,
    pub target_msg_per_s: f64,
    pub devices: usize,
    pub connections: usize,
    pub qos: u8,
    pub readings_per_msg: usize,
    pub duration_s: f64,
    pub sent_messages: u64,
    pub sent_readings: u64,
    pub achieved_msg_per_s: f64,
    pub achieved_readings_per_s: f64,
    /// QoS 1 publishes the broker acked.
    pub acked: u64,
    /// QoS 1 publishes never acked within the grace period (0 for QoS 0).
    pub lost: u64,
    /// Messages the client wrote to the broker connection (the rest of `sent_messages` were
    /// still queued in the client when the run ended).
    pub written: u64,
    pub connection_errors: u64,
    /// Breaching messages sent (alerts the hub should open).
    pub alerts_expected: u64,
    /// `alert` frames with `"state":"open"` for `load-` devices.
    pub alerts_received: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<Latency>,
    /// Readings committed per second over the sending window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hub_readings_per_s: Option<f64>,
    /// Readings committed from start to the end of the grace period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hub_readings_committed: Option<u64>,
    /// `sent_readings − hub_readings_committed` (negative: other sources also published).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hub_missing_readings: Option<i64>,
    /// Readings the hub owes and had not committed by the end of the grace period: those of
    /// every message the broker acked (QoS 1; a message still queued in the client was never
    /// acknowledged, so it is not owed), or of every message sent (QoS 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hub_lost_readings: Option<u64>,
    /// `iochub_ingest_unacked_messages` when sending stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hub_unacked_at_end: Option<f64>,
    /// Seconds after sending stopped until the hub had committed every sent reading (absent when
    /// it did not within the grace period).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hub_drain_s: Option<f64>,
    /// Messages the subscribers received (`--subscribers`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_received: Option<u64>,
    /// Messages received per second over the sending window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_msg_per_s: Option<f64>,
    /// Publish → subscriber latency of every received message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_latency_ms: Option<Latency>,
}

/// Counters every task of a run adds to.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub sent: AtomicU64,
    pub sent_readings: AtomicU64,
    pub acked: AtomicU64,
    pub written: AtomicU64,
    pub conn_errors: AtomicU64,
    pub alerts_expected: AtomicU64,
    pub alerts_received: AtomicU64,
    pub sub_received: AtomicU64,
    /// Global sequence of regular messages, for `--alert-every`.
    pub seq: AtomicU64,
}

impl Counters {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// The counters and the two latency histograms (µs) of a run.
pub(crate) struct Tally {
    pub counters: Counters,
    alert_latency: Mutex<Histogram<u64>>,
    sub_latency: Mutex<Histogram<u64>>,
}

impl Tally {
    pub fn new() -> Self {
        Tally {
            counters: Counters::default(),
            alert_latency: Mutex::new(new_histogram()),
            sub_latency: Mutex::new(new_histogram()),
        }
    }

    /// An alert arrived `us` after its breaching message was sent.
    pub fn record_alert(&self, us: u64) {
        lock(&self.alert_latency).saturating_record(us);
        Counters::add(&self.counters.alerts_received, 1);
    }

    /// A subscriber received a message `us` after it was sent (counted on its own, with or
    /// without a readable send time).
    pub fn record_sub_latency(&self, us: u64) {
        lock(&self.sub_latency).saturating_record(us);
    }

    /// The alert latency p99 so far, in ms (None before the first alert).
    pub fn alert_p99_ms(&self) -> Option<f64> {
        let h = lock(&self.alert_latency);
        (!h.is_empty()).then(|| h.value_at_quantile(0.99) as f64 / 1000.0)
    }

    /// The subscriber latency p99 so far, in ms.
    pub fn sub_p99_ms(&self) -> f64 {
        lock(&self.sub_latency).value_at_quantile(0.99) as f64 / 1000.0
    }

    pub fn alert_latency(&self) -> Latency {
        latency_of(&lock(&self.alert_latency))
    }

    pub fn sub_latency(&self) -> Latency {
        latency_of(&lock(&self.sub_latency))
    }
}

/// A histogram's lock (a panicked holder leaves a histogram that is still readable).
fn lock(h: &Mutex<Histogram<u64>>) -> std::sync::MutexGuard<'_, Histogram<u64>> {
    h.lock().unwrap_or_else(|e| e.into_inner())
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

/// Percentiles of a µs histogram, in ms.
pub fn latency_of(h: &Histogram<u64>) -> Latency {
    let ms = |us: u64| us as f64 / 1000.0;
    Latency {
        p50: ms(h.value_at_quantile(0.5)),
        p99: ms(h.value_at_quantile(0.99)),
        p999: ms(h.value_at_quantile(0.999)),
        max: ms(h.max()),
        mean: (h.mean()).round() / 1000.0,
        count: h.len(),
    }
}

/// Latency in µs of something received at `received_us` (µs) that was sent at `sent_ms` (ms),
/// at least 1 (the histogram's floor). Both are this machine's wall clock; `sent_ms` is the
/// send time truncated to the ms, so every path measured this way (broker, hub, Node-RED)
/// carries the same 0–1 ms bias.
pub fn latency_us(received_us: i64, sent_ms: i64) -> u64 {
    received_us
        .saturating_sub(sent_ms.saturating_mul(1000))
        .max(1) as u64
}

/// Readings the hub must commit: those of every broker-acked message with QoS 1 (nothing
/// acknowledged may be lost), of every sent message with QoS 0 (best effort).
pub fn owed_readings(qos: QoS, sent_readings: u64, acked: u64, k: u64) -> u64 {
    match qos {
        QoS::AtMostOnce => sent_readings,
        _ => acked.saturating_mul(k).min(sent_readings),
    }
}

/// The hub's counters over a run: at the start, when sending stopped, and at the end of the
/// grace period; the first two with the time they were taken.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HubWindow {
    pub start: (tokio::time::Instant, HubSample),
    pub send_end: (tokio::time::Instant, HubSample),
    pub last: HubSample,
    /// Seconds into the grace period when the hub had committed everything it owed.
    pub drained_after_s: Option<f64>,
}

/// What the run knew when it ended, beyond the shared tally.
pub(crate) struct Ended {
    pub started_at_ms: i64,
    pub send_ended_at_ms: i64,
    /// Seconds of sending.
    pub send_s: f64,
    /// Messages the subscribers had received when sending stopped.
    pub sub_at_send_end: u64,
    pub hub: Option<HubWindow>,
}

/// The progress line of every second: rates since the previous line.
pub(crate) struct Progress {
    start: tokio::time::Instant,
    show_alerts: bool,
    show_subscribers: bool,
    sent: u64,
    readings: u64,
    sub_received: u64,
    hub_readings: Option<f64>,
}

impl Progress {
    pub fn new(opts: &LoadOptions, start: tokio::time::Instant, hub_readings: Option<f64>) -> Self {
        Progress {
            start,
            show_alerts: opts.ws.is_some(),
            show_subscribers: opts.subscribers > 0,
            sent: 0,
            readings: 0,
            sub_received: 0,
            hub_readings,
        }
    }

    /// The line for now, with the hub's counters if it was just scraped.
    pub fn line(&mut self, tally: &Tally, hub: Option<HubSample>) -> String {
        let c = &tally.counters;
        let get = Counters::get;
        let (sent, readings) = (get(&c.sent), get(&c.sent_readings));
        let mut line = format!(
            "[{:>5.1}s] sent {:>7} msg/s {:>8} readings/s | acked {} | alerts {}/{}",
            self.start.elapsed().as_secs_f64(),
            sent - self.sent,
            readings - self.readings,
            get(&c.acked),
            get(&c.alerts_received),
            get(&c.alerts_expected),
        );
        if self.show_alerts
            && let Some(p99) = tally.alert_p99_ms()
        {
            line.push_str(&format!(" p99 {p99:.1} ms"));
        }
        if self.show_subscribers {
            let got = get(&c.sub_received);
            line.push_str(&format!(
                " | sub {:>7} msg/s p99 {:.2} ms",
                got - self.sub_received,
                tally.sub_p99_ms()
            ));
            self.sub_received = got;
        }
        if let Some(s) = hub {
            if let Some(prev) = self.hub_readings {
                line.push_str(&format!(
                    " | hub {:.0} readings/s unacked {}",
                    s.readings - prev,
                    s.unacked
                ));
            }
            self.hub_readings = Some(s.readings);
        }
        self.sent = sent;
        self.readings = readings;
        line
    }
}

impl Report {
    pub(crate) fn new(opts: &LoadOptions, tally: &Tally, ended: Ended) -> Report {
        let c = &tally.counters;
        let get = Counters::get;
        let sent = get(&c.sent);
        let sent_readings = get(&c.sent_readings);
        let acked = get(&c.acked);
        let owed = owed_readings(opts.qos, sent_readings, acked, opts.readings_per_msg as u64);
        let round1 = |x: f64| (x * 10.0).round() / 10.0;
        let send_s = ended.send_s.max(1e-9);
        let hub = ended.hub.map(|h| {
            let (t0, s0) = h.start;
            let (t1, s1) = h.send_end;
            let window = t1.duration_since(t0).as_secs_f64().max(1e-9);
            let committed = (h.last.readings - s0.readings).max(0.0) as u64;
            (
                round1((s1.readings - s0.readings) / window),
                committed,
                s1.unacked,
                h.drained_after_s,
            )
        });
        let subscribed = opts.subscribers > 0;
        Report {
            started_at_ms: ended.started_at_ms,
            send_ended_at_ms: ended.send_ended_at_ms,
            target_msg_per_s: opts.rate,
            devices: opts.devices,
            connections: opts.connections,
            qos: opts.qos as u8,
            readings_per_msg: opts.readings_per_msg,
            duration_s: (send_s * 1000.0).round() / 1000.0,
            sent_messages: sent,
            sent_readings,
            achieved_msg_per_s: round1(sent as f64 / send_s),
            achieved_readings_per_s: round1(sent_readings as f64 / send_s),
            acked,
            lost: match opts.qos {
                QoS::AtMostOnce => 0,
                _ => sent.saturating_sub(acked),
            },
            written: get(&c.written),
            connection_errors: get(&c.conn_errors),
            alerts_expected: get(&c.alerts_expected),
            alerts_received: get(&c.alerts_received),
            latency_ms: opts.ws.as_ref().map(|_| tally.alert_latency()),
            hub_readings_per_s: hub.map(|h| h.0),
            hub_readings_committed: hub.map(|h| h.1),
            hub_missing_readings: hub.map(|h| sent_readings as i64 - h.1 as i64),
            hub_lost_readings: hub.map(|h| owed.saturating_sub(h.1)),
            hub_unacked_at_end: hub.map(|h| h.2),
            hub_drain_s: hub.and_then(|h| h.3).map(round1),
            sub_received: subscribed.then(|| get(&c.sub_received)),
            sub_msg_per_s: subscribed.then(|| round1(ended.sub_at_send_end as f64 / send_s)),
            sub_latency_ms: subscribed.then(|| tally.sub_latency()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hub_owes_what_the_broker_acknowledged() {
        assert_eq!(owed_readings(QoS::AtLeastOnce, 1_000, 90, 10), 900);
        assert_eq!(owed_readings(QoS::AtLeastOnce, 1_000, 100, 10), 1_000);
        assert_eq!(owed_readings(QoS::AtMostOnce, 1_000, 0, 10), 1_000);
    }

    #[test]
    fn latency_percentiles_in_ms() {
        let mut h = new_histogram();
        for us in 1..=1000u64 {
            h.record(us * 1000).expect("in range");
        }
        let l = latency_of(&h);
        assert!((l.p50 - 500.0).abs() < 1.0, "{l:?}");
        assert!((l.p99 - 990.0).abs() < 2.0, "{l:?}");
        assert!((l.max - 1000.0).abs() < 1.0, "{l:?}");
        assert_eq!(l.count, 1000);
    }

    #[test]
    fn latency_from_send_and_receive_times() {
        // received 2.5 ms after the ms it was sent in
        assert_eq!(latency_us(1_732_270_000_125_500, 1_732_270_000_123), 2_500);
        assert_eq!(
            latency_us(1_000, 5),
            1,
            "a clock step back is floored, not negative"
        );
    }

    #[test]
    fn the_report_adds_up_what_the_tally_and_the_hub_saw() {
        let mut opts = crate::load::LoadOptions {
            url: "mqtt://127.0.0.1:1883".into(),
            devices: 10,
            rate: 100.0,
            readings_per_msg: 10,
            qos: QoS::AtLeastOnce,
            duration: std::time::Duration::from_secs(2),
            alert_every: 0,
            connections: 1,
            ws: Some("ws://127.0.0.1:1/ws".into()),
            token: Some("t".into()),
            http: Some("http://127.0.0.1:1".into()),
            grace: std::time::Duration::from_secs(1),
            progress: false,
            subscribers: 0,
            ws_senml: false,
            hub_metric: "iochub_ingest_readings_total".into(),
        };
        let tally = Tally::new();
        Counters::add(&tally.counters.sent, 200);
        Counters::add(&tally.counters.sent_readings, 2_000);
        Counters::add(&tally.counters.acked, 190);
        tally.record_alert(3_000);
        let t0 = tokio::time::Instant::now();
        let sample = |readings, unacked| HubSample { readings, unacked };
        let ended = Ended {
            started_at_ms: 1_000,
            send_ended_at_ms: 3_000,
            send_s: 2.0,
            sub_at_send_end: 0,
            hub: Some(HubWindow {
                start: (t0, sample(500.0, 0.0)),
                send_end: (t0 + std::time::Duration::from_secs(2), sample(2_300.0, 4.0)),
                last: sample(2_350.0, 0.0),
                drained_after_s: None,
            }),
        };
        let r = Report::new(&opts, &tally, ended);
        assert_eq!((r.sent_messages, r.acked, r.lost), (200, 190, 10));
        assert_eq!(r.achieved_msg_per_s, 100.0);
        assert_eq!(r.hub_readings_per_s, Some(900.0), "1,800 readings over 2 s");
        assert_eq!(r.hub_readings_committed, Some(1_850));
        assert_eq!(r.hub_missing_readings, Some(150));
        assert_eq!(r.hub_lost_readings, Some(50), "1,900 owed for 190 acks");
        assert_eq!(r.hub_unacked_at_end, Some(4.0));
        assert_eq!(r.hub_drain_s, None);
        assert_eq!(r.latency_ms.map(|l| l.count), Some(1));
        assert_eq!(r.sub_received, None);
        opts.qos = QoS::AtMostOnce;
        let r = Report::new(
            &opts,
            &tally,
            Ended {
                started_at_ms: 0,
                send_ended_at_ms: 0,
                send_s: 2.0,
                sub_at_send_end: 0,
                hub: None,
            },
        );
        assert_eq!(r.lost, 0, "QoS 0 has no acks to miss");
        assert_eq!(r.hub_readings_committed, None);
    }
}
