//! What the stages hand each other: the pieces of work that flow down the pipeline and the
//! tickets that come back up as commits.
//!
//! These types live here, apart from every stage, so that a stage depends only on its own input
//! and output types and never on the stage before or after it: ingest sends [`ShardInput`]s
//! through the [`Router`] and never sees a shard; a shard sends [`StoreMsg`]s and
//! [`AlertChange`]s and never sees the batcher or the alert manager; the batcher returns
//! [`Ticket`]s and never sees the ingest connection. `app` connects the channels.

mod decision;
pub mod directory;
mod route;
pub mod supply;

use std::sync::Arc;

use iochub_devices::Reading;
use serde::Serialize;

pub use decision::{AlertChange, Clear, Fire, Op, Severity};
pub use route::Router;

/// Sequence number of a tracked message on the ingest connection. The batcher hands it back
/// once everything the message carried is committed; the acker turns it into an MQTT ack.
pub type Ticket = u64;

/// Work for a shard, decoded from one MQTT message (or seeded at start).
#[derive(Debug)]
pub enum Work {
    Readings(Vec<Reading>),
    Status {
        device: String,
        online: bool,
        ts_ms: i64,
    },
    /// An alert open in storage at start: mark it active so that it can clear.
    Seed {
        device: String,
        rule: String,
    },
    /// What the store knew at start: when each metric of a device was last read, so that a
    /// device that never reports again is still found silent.
    Heard {
        device: String,
        /// The device's last reading, of any metric.
        last_ms: i64,
        metrics: Vec<(String, i64)>,
    },
    /// Stored readings, oldest first, that refill the memory of window, rate, anomaly and `all`
    /// rules at start (nothing is decided from them).
    Warm(Vec<Reading>),
    /// The hub's clock moved on: time to look for silent devices.
    Tick {
        now_ms: i64,
    },
}

/// One part of a message on its way to a shard, with the message's ticket (none for QoS 0).
#[derive(Debug)]
pub struct ShardInput {
    pub ticket: Option<Ticket>,
    pub work: Work,
}

/// One unit of work for the storage batcher. Every item of a batch commits together.
#[derive(Debug, Clone)]
pub enum WriteItem {
    Readings(Arc<Vec<Reading>>),
    Status {
        device: String,
        online: bool,
        ts_ms: i64,
    },
    DeadLetters(Vec<DeadLetter>),
    /// Data-supply counts the batcher tallied from earlier commits (added to the stored ones).
    Supply(supply::SupplyDelta),
}

/// One queued write and the ticket of the MQTT message it belongs to (none for QoS 0).
#[derive(Debug)]
pub struct StoreMsg {
    pub ticket: Option<Ticket>,
    pub item: WriteItem,
}

/// A message or record that was refused, kept for inspection.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeadLetter {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// When the hub received it (RFC 3339).
    #[serde(serialize_with = "crate::timefmt::ser_ms")]
    #[schema(value_type = String)]
    pub received_at: i64,
    pub topic: String,
    pub reason: String,
    pub detail: String,
    /// The first bytes of the payload (lossy UTF-8).
    pub payload: String,
}

/// Where a shard pushes what it evaluated, for live viewers (the WebSocket feed implements it).
/// Called once per message, never per reading; must not wait.
pub trait LiveSink: Send + Sync + 'static {
    fn readings(&self, readings: &Arc<Vec<Reading>>);
    fn status(&self, device: &str, online: bool, ts_ms: i64);
}
