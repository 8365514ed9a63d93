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
}
