//! Ordered acks after commit.
//!
//! MQTT 3.1.1 §4.6 wants PUBACKs in the order the messages arrived, and rumqttd drops the
//! connection on an out-of-order ack; but a message's parts commit out of order (several shards,
//! one batcher). Each QoS 1 message gets a sequence number (its [`Ticket`]) and a count of parts;
//! the [`AckTracker`] acks the contiguous prefix whose parts are all committed: a watermark.
//!
//! When the connection drops, the broker will redeliver what was not acked, so tracked messages
//! of the old connection are forgotten, never acked on the new one: their packet ids mean other
//! messages there (a stale ack would release a message the hub has not committed).

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use rumqttc::{AsyncClient, Publish, QoS};
use tokio::sync::{mpsc, oneshot, watch};

use crate::pipeline::Ticket;

#[derive(Debug)]
pub enum AckCmd {
    /// Message `seq` (packet id `pkid`) was split into `parts` pieces of work.
    Track {
        seq: Ticket,
        pkid: u16,
        qos: QoS,
        parts: u32,
    },
    /// The connection dropped: forget every tracked message; sequence numbers continue from
    /// `next_seq`. `forgotten` is answered once nothing of the old connection will be acked.
    Disconnected {
        next_seq: Ticket,
        forgotten: oneshot::Sender<()>,
    },
}

struct Slot {
    remaining: u32,
    pkid: u16,
    qos: QoS,
}

/// The watermark logic, free of I/O.
#[derive(Default)]
pub struct AckTracker {
    base: Ticket,
    slots: VecDeque<Slot>,
    /// Completions that arrived before their Track (not expected; kept so nothing is lost).
    early: HashMap<Ticket, u32>,
}

impl AckTracker {
    pub fn track(&mut self, seq: Ticket, pkid: u16, qos: QoS, parts: u32) {
        if self.slots.is_empty() {
            self.base = seq;
        }
        let early = self.early.remove(&seq).unwrap_or(0);
        self.slots.push_back(Slot {
            remaining: parts.saturating_sub(early),
            pkid,
            qos,
        });
    }

    /// One part of `seq` committed.
    pub fn complete(&mut self, seq: Ticket) {
        if seq < self.base {
            return; // from a connection that is gone
        }
        match self.slots.get_mut((seq - self.base) as usize) {
            Some(slot) => slot.remaining = slot.remaining.saturating_sub(1),
            None => *self.early.entry(seq).or_default() += 1,
        }
    }

    /// Pops the committed prefix: the acks to send now, in arrival order.
    pub fn ready(&mut self, out: &mut Vec<(u16, QoS)>) {
        while self.slots.front().is_some_and(|s| s.remaining == 0) {
            if let Some(s) = self.slots.pop_front() {
                out.push((s.pkid, s.qos));
                self.base += 1;
            }
        }
    }

    /// Forgets everything of the old connection; returns how many acks were dropped.
    pub fn reset(&mut self, next_seq: Ticket) -> usize {
        let dropped = self.slots.len();
        self.slots.clear();
        self.early.clear();
        self.base = next_seq;
        dropped
    }

    pub fn unacked(&self) -> usize {
        self.slots.len()
    }
}

/// The acker task: applies tracking and completions, sends acks through the MQTT client.
///
/// It never blocks on the client: an ack that does not fit the client's request queue waits in
/// `pending` and is retried, so a busy event loop cannot deadlock the commit path.
pub async fn run(
    client: AsyncClient,
    mut cmds: mpsc::Receiver<AckCmd>,
    mut done: mpsc::Receiver<Vec<Ticket>>,
    unacked: watch::Sender<usize>,
    health: std::sync::Arc<crate::health::Health>,
) {
    let mut tracker = AckTracker::default();
    let mut overloaded = false;
    let mut pending: VecDeque<(u16, QoS)> = VecDeque::new();
    let mut ready = Vec::new();
    let mut retry = tokio::time::interval(Duration::from_millis(5));
    loop {
        tokio::select! {
            // Track commands first: a message is always tracked before any of its parts
            // could have committed, because ingest sends Track before dispatching the parts.
            biased;
            cmd = cmds.recv() => match cmd {
                Some(AckCmd::Track { seq, pkid, qos, parts }) => tracker.track(seq, pkid, qos, parts),
                Some(AckCmd::Disconnected { next_seq, forgotten }) => {
                    let dropped = tracker.reset(next_seq) + pending.len();
                    pending.clear();
                    let _ = forgotten.send(());
                    if dropped > 0 {
                        crate::metrics::ingest_stale_acks(dropped as u64);
                        tracing::info!(dropped, "disconnected: unacked messages will be redelivered");
                    }
                }
                None => break,
            },
            tickets = done.recv() => match tickets {
                Some(tickets) => {
                    for t in tickets {
                        tracker.complete(t);
                    }
                    tracker.ready(&mut ready);
                    pending.extend(ready.drain(..));
                }
                None => break,
            },
            _ = retry.tick(), if !pending.is_empty() => {}
        }
        let mut sent = 0;
        while let Some(&(pkid, qos)) = pending.front() {
            let mut p = Publish::new("", qos, Vec::new());
            p.pkid = pkid;
            if client.try_ack(&p).is_err() {
                break;
            }
            pending.pop_front();
            sent += 1;
        }
        if sent > 0 {
            crate::metrics::ingest_acked(sent);
        }
        let n = tracker.unacked() + pending.len();
        crate::metrics::ingest_unacked(n);
        let _ = unacked.send(n);
        if let Some(now) = overload_change(overloaded, n) {
            overloaded = now;
            if now {
                tracing::warn!(
                    unacked = n,
                    "overloaded: the broker delivers far more than is acknowledged"
                );
                let reason = format!(
                    "overloaded: more than {OVERLOAD_UNACKED} messages received and not yet acknowledged"
                );
                health.set_degraded("ingest", Some(reason));
            } else {
                tracing::info!(unacked = n, "overload over: acks caught up");
                health.set_degraded("ingest", None);
            }
        }
    }
}

/// Unacked messages past which the hub reports itself overloaded. A broker that honours its
/// in-flight window never gets near this; Mosquitto 2.0.11 was seen exceeding it while acks lag
/// (docs/PERFORMANCE.md), which operators must see.
pub const OVERLOAD_UNACKED: usize = 20_000;

/// `Some(new state)` when the overload state changes: on above the limit, off below half of it.
fn overload_change(overloaded: bool, unacked: usize) -> Option<bool> {
    match overloaded {
        false if unacked > OVERLOAD_UNACKED => Some(true),
        true if unacked < OVERLOAD_UNACKED / 2 => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(t: &mut AckTracker) -> Vec<u16> {
        let mut out = Vec::new();
        t.ready(&mut out);
        out.into_iter().map(|(p, _)| p).collect()
    }

    #[test]
    fn acks_follow_arrival_order_whatever_the_commit_order() {
        let mut t = AckTracker::default();
        t.track(0, 10, QoS::AtLeastOnce, 1);
        t.track(1, 11, QoS::AtLeastOnce, 2);
        t.track(2, 12, QoS::AtLeastOnce, 1);
        t.complete(2);
        t.complete(1);
        assert_eq!(drain(&mut t), Vec::<u16>::new(), "head not committed");
        t.complete(0);
        assert_eq!(drain(&mut t), [10], "message 1 has a part left");
        t.complete(1);
        assert_eq!(drain(&mut t), [11, 12]);
        assert_eq!(t.unacked(), 0);
    }

    #[test]
    fn reconnect_forgets_the_old_connection() {
        let mut t = AckTracker::default();
        t.track(0, 1, QoS::AtLeastOnce, 1);
        t.track(1, 2, QoS::AtLeastOnce, 1);
        assert_eq!(t.reset(2), 2);
        t.complete(0);
        t.complete(1);
        assert_eq!(
            drain(&mut t),
            Vec::<u16>::new(),
            "stale completions ack nothing"
        );
        t.track(2, 1, QoS::AtLeastOnce, 1);
        t.complete(2);
        assert_eq!(drain(&mut t), [1]);
    }

    #[test]
    fn overload_has_hysteresis() {
        assert_eq!(overload_change(false, OVERLOAD_UNACKED), None);
        assert_eq!(overload_change(false, OVERLOAD_UNACKED + 1), Some(true));
        assert_eq!(
            overload_change(true, OVERLOAD_UNACKED),
            None,
            "still overloaded"
        );
        assert_eq!(overload_change(true, OVERLOAD_UNACKED / 2 + 1), None);
        assert_eq!(overload_change(true, OVERLOAD_UNACKED / 2 - 1), Some(false));
    }

    #[test]
    fn an_early_completion_is_not_lost() {
        let mut t = AckTracker::default();
        t.track(0, 1, QoS::AtLeastOnce, 1);
        t.complete(1);
        t.track(1, 2, QoS::AtLeastOnce, 1);
        t.complete(0);
        assert_eq!(drain(&mut t), [1, 2]);
    }
}
