//! Storage: the [`Store`] trait every backend implements, the types that cross it, and the
//! [`batcher`] that turns the reading stream into one transaction per batch.
//!
//! Owns durability: an item handed to the batcher counts as done (and its MQTT message may be
//! acked) only after the transaction holding it commits. A redelivered reading is absorbed by the
//! primary key `(series, ts)`, never stored twice. Backends must never block the async runtime:
//! SQLite work runs on blocking threads.

pub mod backup;
pub mod batcher;
pub mod maintenance;
pub mod pg_backup;
pub mod postgres;
pub mod rollup;
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use iochub_devices::Reading;
use serde::Serialize;

pub use rollup::{MaintenanceReport, RetentionPolicy};

/// Errors a backend reports. Everything but `NotFound`/`Conflict` is treated as transient by the
/// batcher (retried with backoff while acks are withheld).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(String),
    #[error("storage task failed: {0}")]
    Task(String),
    #[error(
        "schema version {found} is newer than this binary supports ({supported}); upgrade iochub"
    )]
    SchemaTooNew { found: i64, supported: i64 },
    #[error("cannot open store at {path}: {reason}")]
    Open { path: String, reason: String },
}

pub type StoreResult<T> = Result<T, StoreError>;

/// One unit of work for the batcher. Every item of a batch commits together.
#[derive(Debug, Clone)]
pub enum WriteItem {
    Readings(Arc<Vec<Reading>>),
    Status {
        device: String,
        online: bool,
        ts_ms: i64,
    },
    DeadLetters(Vec<DeadLetter>),
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

/// What a committed batch changed, for metrics and for the live device directory.
#[derive(Debug, Default)]
pub struct WriteOutcome {
    pub inserted: u64,
    pub duplicates: u64,
    /// Devices whose `lat`/`lon` changed in this batch, with their new position.
    pub located: Vec<(String, Option<f64>, Option<f64>)>,
}

/// A device as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Device {
    pub key: String,
    pub name: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// False until an operator confirms a device that registered itself by publishing.
    pub registered: bool,
    /// From `ioc/{device}/status`; null when the device never said.
    pub online: Option<bool>,
    #[serde(serialize_with = "crate::timefmt::ser_ms")]
    #[schema(value_type = String)]
    pub first_seen: i64,
    #[serde(serialize_with = "crate::timefmt::ser_ms")]
    #[schema(value_type = String)]
    pub last_seen: i64,
    /// Latest value per metric.
    pub latest: Vec<LatestValue>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LatestValue {
    pub metric: String,
    pub value: f64,
    #[serde(serialize_with = "crate::timefmt::ser_ms")]
    #[schema(value_type = String)]
    pub ts: i64,
    /// The metric's canonical unit (SenML spelling; empty for unitless), when the catalog knows
    /// the metric. Filled by the API, not stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<&'static str>,
}

/// Operator edits to a device. Absent fields stay as they are.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DevicePatch {
    pub name: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub registered: Option<bool>,
}

/// A range query over one series; `step_ms` asks for min/avg/max buckets.
#[derive(Debug, Clone)]
pub struct ReadingsQuery {
    pub device: String,
    pub metric: String,
    pub from_ms: i64,
    pub to_ms: i64,
    pub step_ms: Option<i64>,
    pub limit: u32,
}

/// One raw point, or one bucket when a step was asked for.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum Point {
    Raw {
        #[serde(serialize_with = "crate::timefmt::ser_ms")]
        #[schema(value_type = String)]
        ts: i64,
        value: f64,
    },
    Bucket {
        #[serde(serialize_with = "crate::timefmt::ser_ms")]
        #[schema(value_type = String)]
        ts: i64,
        min: f64,
        avg: f64,
        max: f64,
        count: u64,
    },
}

/// Alert lifecycle states stored so far. Later stages (acknowledged, dispatched…) extend this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    Open,
    Resolved,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(Self::Open),
            "resolved" => Some(Self::Resolved),
            _ => None,
        }
    }
}

/// An alert: one per (rule, device) while open.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Alert {
    pub id: i64,
    pub rule: String,
    pub device: String,
    pub metric: String,
    /// The latest value that kept the rule breached (or cleared it, once resolved).
    pub value: f64,
    pub threshold: f64,
    pub op: String,
    pub severity: String,
    pub state: AlertState,
    /// Reading time that opened it (RFC 3339).
    #[serde(serialize_with = "crate::timefmt::ser_ms")]
    #[schema(value_type = String)]
    pub opened_at: i64,
    #[serde(serialize_with = "crate::timefmt::ser_ms")]
    #[schema(value_type = String)]
    pub updated_at: i64,
    #[serde(serialize_with = "crate::timefmt::ser_opt_ms")]
    #[schema(value_type = Option<String>)]
    pub resolved_at: Option<i64>,
    /// How many times the rule fired while this alert was open.
    pub hits: u32,
}

/// A change to an alert decided by the engine.
#[derive(Debug, Clone)]
pub enum AlertChange {
    /// The rule fired: open a new alert, or update the open one for (rule, device).
    Fire {
        rule: String,
        device: String,
        metric: String,
        op: String,
        threshold: f64,
        severity: String,
        value: f64,
        ts_ms: i64,
    },
    /// The rule cleared: resolve the open alert for (rule, device), if any. A non-finite
    /// `value` (no reading known, e.g. the rule was removed) keeps the stored value.
    Clear {
        rule: String,
        device: String,
        value: f64,
        ts_ms: i64,
    },
}

#[derive(Debug, Clone, Default)]
pub struct AlertQuery {
    pub state: Option<AlertState>,
    pub device: Option<String>,
    pub limit: u32,
}

/// A user account.
#[derive(Debug, Clone)]
pub struct User {
    pub username: String,
    pub password_hash: String,
    pub role: String,
    pub locked: bool,
}

/// A login session, found by the SHA-256 of its token.
#[derive(Debug, Clone)]
pub struct Session {
    pub token_hash: String,
    pub username: String,
    pub expires_at_ms: i64,
}

/// The storage contract. One conformance suite (`tests/storage_conformance.rs`) runs against every
/// implementation.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Commits every item in one transaction; readings already stored are counted as duplicates.
    async fn write(&self, items: Arc<Vec<WriteItem>>, now_ms: i64) -> StoreResult<WriteOutcome>;
    async fn devices(&self) -> StoreResult<Vec<Device>>;
    async fn device(&self, key: &str) -> StoreResult<Option<Device>>;
    async fn update_device(&self, key: &str, patch: DevicePatch) -> StoreResult<Option<Device>>;
    /// Raw points, or buckets; a step that is a whole number of minutes or hours reads the
    /// rollups where they are complete and raw readings elsewhere, with the same answer.
    async fn readings(&self, q: ReadingsQuery) -> StoreResult<Vec<Point>>;
    /// One maintenance pass (see [`rollup`]): rolls closed minutes and hours up to `now_ms`,
    /// re-rolls minutes that received late readings, and applies `policy`. Idempotent.
    async fn maintain(
        &self,
        now_ms: i64,
        policy: &RetentionPolicy,
    ) -> StoreResult<MaintenanceReport>;
    /// Applies engine decisions in one transaction; returns the alerts as they now are.
    async fn apply_alerts(&self, changes: Vec<AlertChange>, now_ms: i64)
    -> StoreResult<Vec<Alert>>;
    async fn alerts(&self, q: AlertQuery) -> StoreResult<Vec<Alert>>;
    async fn alert(&self, id: i64) -> StoreResult<Option<Alert>>;
    async fn dead_letters(
        &self,
        limit: u32,
        before_id: Option<i64>,
    ) -> StoreResult<Vec<DeadLetter>>;
    async fn user(&self, username: &str) -> StoreResult<Option<User>>;
    async fn user_count(&self) -> StoreResult<u64>;
    async fn create_user(&self, user: User, now_ms: i64) -> StoreResult<()>;
    async fn create_session(&self, session: Session, now_ms: i64) -> StoreResult<()>;
    /// The live session for a token hash (expired ones are not returned).
    async fn session(&self, token_hash: &str, now_ms: i64) -> StoreResult<Option<Session>>;
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()>;

    /// True when batches of disjoint devices may commit concurrently (one writer per shard).
    /// SQLite has a single writer, so for it one batcher serves all shards.
    fn parallel_writes(&self) -> bool {
        false
    }
}
