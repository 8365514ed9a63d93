//! What every backup carries, whatever the backend: a manifest with the row count of each table,
//! checked again after a restore.

use serde::{Deserialize, Serialize};

/// The tables a backup counts (the backup itself holds everything).
pub const TABLES: &[&str] = &[
    "devices",
    "series",
    "readings",
    "readings_1m",
    "readings_1h",
    "alerts",
    "dead_letters",
    "users",
    "sessions",
    "agencies",
    "audit",
    "api_tokens",
    "device_credentials",
    "alert_events",
    "alert_requests",
    "deliveries",
    "attachments",
    "systems",
    "supply_days",
    "supply_gaps",
    "issued_reports",
    "cameras",
    "wall_layouts",
];

/// `manifest.json` of a backup directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// `iochub-sqlite-backup/1` or `iochub-pg-backup/1`.
    pub format: String,
    pub schema_version: i64,
    pub created_at: String,
    /// Rows per table, in [`TABLES`] order.
    pub tables: Vec<(String, i64)>,
    /// PostgreSQL: `native` or `timescaledb` (a TimescaleDB dump is restored between
    /// `timescaledb_pre_restore()` and `timescaledb_post_restore()`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<String>,
}
