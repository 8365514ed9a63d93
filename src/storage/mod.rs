//! Storage: the [`Store`] trait every backend implements ([`sqlite`], [`postgres`]), the types
//! that cross it, the [`batcher`] that turns the reading stream into one transaction per batch,
//! and the [`maintainer`] task that runs the rollup and retention passes ([`rollup`]).
//!
//! Owns durability: an item handed to the batcher counts as done (and its MQTT message may be
//! acked) only after the transaction holding it commits. A redelivered reading is absorbed by the
//! primary key `(series, ts)`, never stored twice. Backends must never block the async runtime:
//! SQLite work runs on blocking threads.

pub mod backup;
pub mod batcher;
mod codec;
pub mod maintainer;
pub mod postgres;
pub mod rollup;
pub mod sqlite;
pub mod supply;

use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;

use crate::accounts::model::{Agency, ApiToken, Session, User};
use crate::accounts::totp::SecondFactor;
use crate::alerts::model::{
    ActionRecord, Alert, AlertEvent, AlertQuery, AlertWrite, Attachment, Attempt, Delivery,
};
use crate::audit::model::{AuditEvent, AuditQuery, AuditRecord};
use crate::camera::model::Camera;
use crate::camera::wall::WallLayout;
use crate::pipeline::supply::SupplyGap;
use crate::pipeline::{DeadLetter, WriteItem};
use crate::reports::model::IssuedReport;
use crate::systems::System;

pub use rollup::{MaintenanceReport, RetentionPolicy};

/// Errors a backend reports. The batcher treats every error of a write as transient: it retries
/// the same batch with backoff while acks are withheld. `SchemaTooNew` and `Open` come only from
/// opening a store, and stop the start.
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

/// What a committed batch changed, for metrics and for the live device directory.
#[derive(Debug, Default)]
pub struct WriteOutcome {
    pub inserted: u64,
    pub duplicates: u64,
    /// Devices whose `lat`/`lon` changed in this batch, with their new position.
    pub located: Vec<(String, Option<f64>, Option<f64>)>,
    /// Per device, its readings of the batch that were already stored (only when
    /// `duplicates > 0`).
    pub duplicated: Vec<(String, u64)>,
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
    /// The gateway this device is registered behind (it may publish for the device); null for
    /// a device that publishes for itself.
    pub gateway: Option<String>,
    /// The connected system it belongs to: its own when set, else the first `[[systems]]`
    /// whose key patterns match (filled by the API), else null.
    pub system: Option<String>,
    /// Where `system` comes from: `device` (set on the device), `pattern` (a system's key
    /// patterns) or `none`.
    pub system_from: &'static str,
    /// Free labels (`river`, `slope`, ...): rules and filters may select by them.
    pub tags: Vec<String>,
    /// Its areas: those an operator assigned, else those its position lies in (filled by the
    /// API).
    pub areas: Vec<String>,
    /// How often it should report; null: its system's, else learned from the data.
    pub expected_interval_s: Option<f64>,
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
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DevicePatch {
    pub name: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub registered: Option<bool>,
    /// The key of the gateway the device sits behind; `""` detaches it.
    pub gateway: Option<String>,
    /// A connected system's id; `""` leaves it to the systems' key patterns.
    pub system: Option<String>,
    /// Replaces the tags.
    pub tags: Option<Vec<String>>,
    /// Area ids the device belongs to whatever its position says; `[]`: its position decides.
    pub areas: Option<Vec<String>>,
    /// Seconds; 0 clears it (the system's, else learned from the data).
    pub expected_interval_s: Option<f64>,
}

/// A device edit that cannot be made: the field and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct BadField {
    pub field: &'static str,
    pub message: String,
}

impl DevicePatch {
    /// What a camera registered by an operator sets on its device: registered, with the name,
    /// place and system given (the config's `[[cameras]]` and `POST /api/v1/cameras`).
    pub fn of_camera(new: &crate::camera::model::NewCamera) -> Self {
        Self {
            name: new.name.clone(),
            lat: new.lat,
            lon: new.lon,
            registered: Some(true),
            system: new.system.clone(),
            ..Self::default()
        }
    }

    /// Checks an edit of `device` against what may be set: positions on the globe, a short name,
    /// a gateway that is another device, an interval of at most a week, valid tags, configured
    /// areas and registered systems. The device API and the config's `[[devices]]` share it.
    pub fn check(
        &self,
        device: &str,
        areas: &crate::areas::Areas,
        systems: &[crate::systems::System],
    ) -> Result<(), BadField> {
        let bad = |field, message: String| Err(BadField { field, message });
        if self.lat.is_some_and(|v| !(-90.0..=90.0).contains(&v)) {
            return bad("lat", "latitude must be within -90..90".into());
        }
        if self.lon.is_some_and(|v| !(-180.0..=180.0).contains(&v)) {
            return bad("lon", "longitude must be within -180..180".into());
        }
        if self.name.as_ref().is_some_and(|n| n.chars().count() > 200) {
            return bad("name", "at most 200 characters".into());
        }
        if let Some(gateway) = self.gateway.as_deref().filter(|g| !g.is_empty())
            && (!iochub_devices::key::is_valid_device_key(gateway) || gateway == device)
        {
            return bad(
                "gateway",
                "another device's key ([A-Za-z0-9._-]{1,64}), or \"\" to detach".into(),
            );
        }
        if self
            .expected_interval_s
            .is_some_and(|s| s != 0.0 && !crate::systems::valid_interval(s))
        {
            return bad(
                "expected_interval_s",
                "seconds, more than 0 and at most a week (0 clears it)".into(),
            );
        }
        if let Some(tags) = &self.tags
            && (tags.len() > 20 || tags.iter().any(|t| !crate::engine::rules::is_valid_tag(t)))
        {
            return bad(
                "tags",
                "at most 20 tags, each matching [a-z0-9_-]{1,32}".into(),
            );
        }
        if let Some(unknown) = self.areas.iter().flatten().find(|a| areas.get(a).is_none()) {
            return bad(
                "areas",
                format!(
                    "no area {unknown:?} (GET /api/v1/areas lists them; [] lets the position decide)"
                ),
            );
        }
        if let Some(system) = self.system.as_deref().filter(|s| !s.is_empty())
            && !systems.iter().any(|s| s.id == system)
        {
            return bad(
                "system",
                format!("no system {system:?} (GET /api/v1/systems lists them; \"\" unsets it)"),
            );
        }
        Ok(())
    }
}

/// A device's data supply over a range of local days, added up by the store.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeviceSupply {
    pub device: String,
    pub received: u64,
    pub duplicates: u64,
    pub live: u64,
    pub latency: [u64; crate::pipeline::supply::LATENCY_BUCKETS],
    /// Days with any reading.
    pub days: u32,
    /// The most metrics it reported on one day.
    pub metrics: u32,
    /// Its first and last reading timestamp in the range.
    pub first_ts: i64,
    pub last_ts: i64,
    /// Its usual interval as its days show it: the mean over the days of the median of its
    /// steps forward (an outage does not stretch it).
    pub interval_ms: Option<f64>,
}

/// Refused messages of one topic for one reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejections {
    pub topic: String,
    pub reason: String,
    pub count: u64,
}

/// A device's MQTT password, as stored: only its hash, in Mosquitto's `$7$` format.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceCredential {
    pub device: String,
    pub hash: String,
    pub issued_at_ms: i64,
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

/// The storage contract. One conformance suite (`tests/storage_conformance/`) runs against every
/// implementation.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Commits every item in one transaction; readings already stored are counted as duplicates.
    async fn write(&self, items: Arc<Vec<WriteItem>>, now_ms: i64) -> StoreResult<WriteOutcome>;
    async fn devices(&self) -> StoreResult<Vec<Device>>;
    async fn device(&self, key: &str) -> StoreResult<Option<Device>>;
    async fn update_device(&self, key: &str, patch: DevicePatch) -> StoreResult<Option<Device>>;
    /// Registers a device that has not reported yet (from the config's `[[devices]]`): its first
    /// and last seen are `now_ms`, when it was registered. False when it is already known.
    async fn add_device(&self, key: &str, now_ms: i64) -> StoreResult<bool>;
    /// Sets (or replaces) a device's MQTT credential; the device need not have reported yet.
    async fn set_device_credential(&self, credential: DeviceCredential) -> StoreResult<()>;
    /// Every device credential, by device key.
    async fn device_credentials(&self) -> StoreResult<Vec<DeviceCredential>>;
    /// Withdraws a device's credential; false when it had none.
    async fn delete_device_credential(&self, device: &str) -> StoreResult<bool>;
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
    /// Persists what the alert lifecycle decided, in order, in one transaction: inserts the new
    /// alerts, overwrites the changed ones by id, appends each write's timeline entries. Returns
    /// each write's alert id, in order.
    async fn save_alerts(&self, writes: Arc<Vec<AlertWrite>>) -> StoreResult<Vec<i64>>;
    /// Persists one handling action (or a field report) and, when it came with an
    /// Idempotency-Key, the request, in one transaction (`request.alert` is set to the alert's
    /// id). Returns the alert's id.
    async fn save_action(
        &self,
        write: AlertWrite,
        request: Option<ActionRecord>,
    ) -> StoreResult<i64>;
    /// The stored answer to an earlier request of `actor` with this Idempotency-Key.
    async fn action_request(&self, actor: &str, key: &str) -> StoreResult<Option<ActionRecord>>;
    async fn alerts(&self, q: AlertQuery) -> StoreResult<Vec<Alert>>;
    async fn alert(&self, id: i64) -> StoreResult<Option<Alert>>;
    /// The alert's timeline, oldest first.
    async fn alert_timeline(&self, id: i64) -> StoreResult<Vec<AlertEvent>>;
    /// What a report of `[from_ms, to_ms)` reads: the alerts the hub opened in it, and those
    /// opened before it and not resolved before it starts; with their timeline entries before
    /// `to_ms` that moved the handling state or escalated, oldest first.
    async fn alerts_for_report(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> StoreResult<(Vec<Alert>, Vec<AlertEvent>)>;
    /// A photo attached to the alert.
    async fn attachment(&self, alert: i64, sha256: &str) -> StoreResult<Option<Attachment>>;
    /// Pending webhook deliveries due by `now_ms`, oldest first.
    async fn due_deliveries(&self, now_ms: i64, limit: u32) -> StoreResult<Vec<Delivery>>;
    /// An alert's deliveries (or all), newest first.
    async fn deliveries(&self, alert: Option<i64>, limit: u32) -> StoreResult<Vec<Delivery>>;
    /// Records one delivery attempt, with the alert's timeline entry when it ends the delivery,
    /// in one transaction; only a pending delivery changes (false otherwise).
    async fn record_attempt(&self, attempt: Attempt) -> StoreResult<bool>;
    /// Each device's supply over the local days `first_day..=last_day` (`YYYY-MM-DD`).
    async fn supply(&self, first_day: &str, last_day: &str) -> StoreResult<Vec<DeviceSupply>>;
    /// The silences that overlap `[from_ms, to_ms)`, by device and start.
    async fn supply_gaps(&self, from_ms: i64, to_ms: i64) -> StoreResult<Vec<SupplyGap>>;
    /// Refused messages received in `[from_ms, to_ms)`, counted by topic and reason.
    async fn rejections(&self, from_ms: i64, to_ms: i64) -> StoreResult<Vec<Rejections>>;
    /// When this store began to tally data supply (the schema step that added it, at its
    /// creation or at the upgrade to it): the hub issues reports of the periods that ended
    /// after it, never of a month it did not see.
    async fn reports_since(&self) -> StoreResult<i64>;
    /// Stores an issued report as the next version of its (kind, period), in one transaction;
    /// returns it with its id and version. With `first_only`, only when none is issued yet
    /// (None otherwise): two hubs issuing a period's end at once issue it once.
    async fn insert_issued_report(
        &self,
        report: IssuedReport,
        first_only: bool,
    ) -> StoreResult<Option<IssuedReport>>;
    /// Every issued report, newest first, without their bodies.
    async fn issued_reports(&self) -> StoreResult<Vec<IssuedReport>>;
    /// One issued report with its bodies.
    async fn issued_report(&self, id: i64) -> StoreResult<Option<IssuedReport>>;
    async fn dead_letters(
        &self,
        limit: u32,
        before_id: Option<i64>,
    ) -> StoreResult<Vec<DeadLetter>>;
    /// Every account, revoked ones included, by username.
    async fn users(&self) -> StoreResult<Vec<User>>;
    async fn user(&self, username: &str) -> StoreResult<Option<User>>;
    async fn user_count(&self) -> StoreResult<u64>;
    /// Adds an account; false (and nothing written) when the username exists, revoked or not.
    async fn insert_user(&self, user: User) -> StoreResult<bool>;
    /// Overwrites an account's fields; with `end_sessions`, deletes its sessions in the same
    /// transaction. False when there is no such account.
    async fn save_user(&self, user: User, end_sessions: bool) -> StoreResult<bool>;
    /// Counts one failed login, atomically (concurrent attempts each count); the failure that
    /// reaches `max_failures` sets `locked_until` to `now_ms + lockout_ms`.
    async fn login_failed(
        &self,
        username: &str,
        now_ms: i64,
        max_failures: u32,
        lockout_ms: i64,
    ) -> StoreResult<()>;
    /// Replaces an account's second factor only while it is still `expected` (compare and
    /// set), so that two logins racing with one TOTP code or one recovery code cannot both use
    /// it. True when replaced.
    async fn swap_second_factor(
        &self,
        username: &str,
        expected: &SecondFactor,
        new: &SecondFactor,
    ) -> StoreResult<bool>;
    /// Every connected system, by id.
    async fn systems(&self) -> StoreResult<Vec<System>>;
    /// Adds a system; false when the id exists.
    async fn insert_system(&self, system: System) -> StoreResult<bool>;
    /// Overwrites a system's fields; false when there is no such system.
    async fn save_system(&self, system: System) -> StoreResult<bool>;
    /// Every camera's video side, by id.
    async fn cameras(&self) -> StoreResult<Vec<Camera>>;
    /// Adds a camera; false when the id exists.
    async fn insert_camera(&self, camera: Camera) -> StoreResult<bool>;
    /// Overwrites a camera's video side; false when there is no such camera.
    async fn save_camera(&self, camera: Camera) -> StoreResult<bool>;
    /// Removes a camera's video side (its device stays, with its readings); false when absent.
    async fn delete_camera(&self, id: &str) -> StoreResult<bool>;
    /// The video wall's named layouts, by name.
    async fn wall_layouts(&self) -> StoreResult<Vec<WallLayout>>;
    /// Adds or replaces a layout by its name; true when it was new.
    async fn save_wall_layout(&self, layout: WallLayout) -> StoreResult<bool>;
    /// Removes a layout; false when absent.
    async fn delete_wall_layout(&self, name: &str) -> StoreResult<bool>;
    async fn agencies(&self) -> StoreResult<Vec<Agency>>;
    async fn agency(&self, id: &str) -> StoreResult<Option<Agency>>;
    /// Adds an agency; false when the id exists.
    async fn insert_agency(&self, agency: Agency) -> StoreResult<bool>;
    /// Overwrites an agency's fields; false when there is no such agency.
    async fn save_agency(&self, agency: Agency) -> StoreResult<bool>;
    async fn create_session(&self, session: Session, now_ms: i64) -> StoreResult<()>;
    /// Moves a session's `last_seen` forward to `seen_ms` (never back).
    async fn touch_session(&self, token_hash: &str, seen_ms: i64) -> StoreResult<()>;
    /// The session of a token hash while its account is active and before its absolute end
    /// (the idle timeout is the caller's: it depends on the role).
    async fn session(&self, token_hash: &str, now_ms: i64) -> StoreResult<Option<Session>>;
    async fn delete_session(&self, token_hash: &str) -> StoreResult<()>;
    /// Deletes every session of an account but the one with `keep` (a password change ends the
    /// others).
    async fn delete_other_sessions(&self, username: &str, keep: &str) -> StoreResult<()>;
    async fn insert_api_token(&self, token: ApiToken) -> StoreResult<()>;
    /// Every API token, revoked and expired ones included (never their secret: only its hash).
    async fn api_tokens(&self) -> StoreResult<Vec<ApiToken>>;
    /// The token of a hash while it is not revoked, not expired and its account is active.
    async fn live_api_token(&self, token_hash: &str, now_ms: i64) -> StoreResult<Option<ApiToken>>;
    /// Revokes a token; false when there is no such live token.
    async fn revoke_api_token(&self, id: &str, now_ms: i64) -> StoreResult<bool>;
    async fn touch_api_token(&self, id: &str, used_ms: i64) -> StoreResult<()>;
    /// Appends to the audit trail in one transaction, numbering and chaining the records after
    /// the last one (or the expiry anchor); returns them as stored.
    async fn append_audit(&self, events: Vec<AuditEvent>) -> StoreResult<Vec<AuditRecord>>;
    /// Audit records matching `q`, newest first.
    async fn audit(&self, q: AuditQuery) -> StoreResult<Vec<AuditRecord>>;
    /// Up to `limit` audit records after `after_seq`, oldest first: the chain, to verify it.
    async fn audit_chain(&self, after_seq: i64, limit: u32) -> StoreResult<Vec<AuditRecord>>;
    /// `(seq, hash)` of the newest expired record, from which the kept chain continues.
    async fn audit_anchor(&self) -> StoreResult<Option<(i64, String)>>;
    /// Removes the records older than `before_ms` (and any before them in the chain), moving the
    /// anchor to the newest removed. Returns how many went.
    async fn expire_audit(&self, before_ms: i64) -> StoreResult<u64>;

    /// True when batches of disjoint devices may commit concurrently (one writer per shard).
    /// SQLite has a single writer, so for it one batcher serves all shards.
    fn parallel_writes(&self) -> bool {
        false
    }
}
