//! Pacing one connection's share of the load.
//!
//! A tick every millisecond sends the messages due (`rate × elapsed − sent`, [`due`]), so the
//! achieved rate stays steady and a stall is caught up rather than lost; a broker that cannot keep
//! up blocks the pacer (the client's request channel fills), which lowers the achieved rate. The
//! pacer cycles over its devices; every `M`-th message of the whole run breaches `water_level`
//! and is followed at once by a clearing message for the same device.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rumqttc::{AsyncClient, QoS};
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};
use tracing::warn;

use super::now_ms;
use super::payload::{
    ALERT_VALUE, NORMAL_LEVEL, build_payload, device_key, next_ts, telemetry_topic,
};
use super::report::{Counters, Tally};

/// Pacer period.
pub(crate) const TICK: Duration = Duration::from_millis(1);
/// How long past `--duration` a pacer may still send what was due (a short stall is caught up).
const OVERRUN: Duration = Duration::from_millis(250);

/// How many messages are due after `elapsed` at `rate` msg/s when `sent` already went out.
pub fn due(rate: f64, elapsed: Duration, sent: u64) -> u64 {
    let target = (rate * elapsed.as_secs_f64()).floor();
    if target <= 0.0 {
        return 0;
    }
    (target as u64).saturating_sub(sent)
}

/// One connection's pacer.
pub(crate) struct Pacer {
    pub client: AsyncClient,
    /// Device indexes this connection publishes for.
    pub devices: Vec<usize>,
    pub names: Arc<Vec<String>>,
    /// Messages per second of this connection.
    pub rate: f64,
    pub qos: QoS,
    pub alert_every: u64,
    pub start: Instant,
    pub duration: Duration,
    pub tally: Arc<Tally>,
    /// Turns true when the run is interrupted.
    pub stop: watch::Receiver<bool>,
}

/// One device of a pacer: its key, topic and the time of its last message.
struct Slot {
    key: String,
    topic: String,
    last_ts: i64,
}

impl Pacer {
    /// Sends this connection's share of the load until the duration ends (or the run stops).
    pub async fn run(self) {
        let c = &self.tally.counters;
        let mut slots: Vec<Slot> = self
            .devices
            .iter()
            .map(|&d| {
                let key = device_key(d);
                Slot {
                    topic: telemetry_topic(&key),
                    key,
                    last_ts: 0,
                }
            })
            .collect();
        if slots.is_empty() {
            return;
        }
        let mut next = 0usize;
        let mut clear_for: Option<usize> = None;
        let mut sent = 0u64;
        let mut ticker = tokio::time::interval(TICK);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
        loop {
            ticker.tick().await;
            let elapsed = self.start.elapsed().min(self.duration);
            let interrupted = *self.stop.borrow();
            let stopping = elapsed >= self.duration || interrupted;
            let n = if interrupted {
                0
            } else {
                due(self.rate, elapsed, sent)
            };
            for _ in 0..n {
                // A broker that cannot keep up blocks `send`: the duration (plus a little to
                // catch up a short stall) still ends the run, and what was due but not sent
                // lowers the achieved rate instead of stretching the run.
                if self.start.elapsed() >= self.duration + OVERRUN {
                    break;
                }
                let (i, level, seq) = match clear_for.take() {
                    Some(i) => (i, NORMAL_LEVEL, sent),
                    None => {
                        let i = next;
                        next = (next + 1) % slots.len();
                        let seq = c.seq.fetch_add(1, Ordering::Relaxed) + 1;
                        if self.alert_every > 0 && seq.is_multiple_of(self.alert_every) {
                            clear_for = Some(i);
                            Counters::add(&c.alerts_expected, 1);
                            (i, ALERT_VALUE, seq)
                        } else {
                            (i, NORMAL_LEVEL, seq)
                        }
                    }
                };
                if !self.send(&mut slots[i], level, seq).await {
                    return;
                }
                sent += 1;
            }
            if stopping {
                // A last breach still gets its clearing message (one over the target).
                if let Some(i) = clear_for.take() {
                    self.send(&mut slots[i], NORMAL_LEVEL, sent).await;
                }
                return;
            }
        }
    }

    /// Publishes one message for `slot`; false when the client is gone.
    async fn send(&self, slot: &mut Slot, level: f64, seq: u64) -> bool {
        let ts = next_ts(now_ms(), slot.last_ts);
        slot.last_ts = ts;
        let payload = build_payload(&slot.key, ts, &self.names, level, seq);
        if let Err(e) = self
            .client
            .publish(slot.topic.as_str(), self.qos, false, payload)
            .await
        {
            warn!(error = %e, "publish failed; stopping this connection's pacer");
            return false;
        }
        let c = &self.tally.counters;
        Counters::add(&c.sent, 1);
        Counters::add(&c.sent_readings, self.names.len() as u64);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacing_sends_what_is_due() {
        assert_eq!(due(1000.0, Duration::ZERO, 0), 0);
        assert_eq!(due(1000.0, Duration::from_millis(1), 0), 1);
        assert_eq!(due(1000.0, Duration::from_millis(10), 4), 6);
        assert_eq!(
            due(100.0, Duration::from_millis(5), 0),
            0,
            "half a message is not due"
        );
        assert_eq!(due(100.0, Duration::from_millis(10), 0), 1);
        assert_eq!(due(2500.0, Duration::from_secs(2), 0), 5000);
        assert_eq!(
            due(2500.0, Duration::from_secs(2), 6000),
            0,
            "ahead: nothing due"
        );
    }

    #[test]
    fn pacing_catches_up_and_totals_exactly() {
        // A pacer that stalls for 50 ms catches up at once and ends on rate × duration.
        let rate = 7_777.0;
        let mut sent = 0;
        let mut t = Duration::ZERO;
        let end = Duration::from_secs(3);
        while t < end {
            t = (t + if t.as_millis() == 500 {
                Duration::from_millis(50)
            } else {
                TICK
            })
            .min(end);
            sent += due(rate, t, sent);
        }
        assert_eq!(sent, 23_331);
    }
}
