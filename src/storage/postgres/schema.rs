//! Schema migrations of the PostgreSQL backend: `migrations/pg/NNN_*.sql`, compiled in, applied
//! in order, each in its own transaction, recorded in `schema_migrations`.
//!
//! Several hubs (or `iochub migrate` beside a running hub) may start against one database at
//! once, so every step runs under a transaction-scoped advisory lock (`pg_advisory_xact_lock`):
//! the version is read and the step applied while holding it, and the lock goes away with the
//! transaction even when the step fails, so a crashed migrator never leaves the database locked.
//! A database whose schema is newer than this binary is refused rather than written with an old
//! idea of the tables.

use super::error::{PgError, PgResult};

/// Schema steps, applied in order; the number of entries is the schema version this binary knows.
const MIGRATIONS: &[&str] = &[
    include_str!("../../../migrations/pg/001_init.sql"),
    include_str!("../../../migrations/pg/002_rollups.sql"),
    include_str!("../../../migrations/pg/003_layout.sql"),
    include_str!("../../../migrations/pg/004_hot_updates.sql"),
    include_str!("../../../migrations/pg/005_accounts.sql"),
    include_str!("../../../migrations/pg/006_audit.sql"),
    include_str!("../../../migrations/pg/007_session_idle.sql"),
    include_str!("../../../migrations/pg/008_api_tokens.sql"),
    include_str!("../../../migrations/pg/009_device_credentials.sql"),
    include_str!("../../../migrations/pg/010_second_factor.sql"),
    include_str!("../../../migrations/pg/011_alert_handling.sql"),
    include_str!("../../../migrations/pg/012_deliveries.sql"),
    include_str!("../../../migrations/pg/013_systems.sql"),
    include_str!("../../../migrations/pg/014_supply.sql"),
    include_str!("../../../migrations/pg/015_issued_reports.sql"),
    include_str!("../../../migrations/pg/016_flapping.sql"),
    include_str!("../../../migrations/pg/017_cameras.sql"),
    include_str!("../../../migrations/pg/018_wall_layouts.sql"),
];

/// Advisory lock key that serialises migrations across processes ("iochub-migrate" in ASCII,
/// truncated to 8 bytes); only has to differ from the other keys the hub uses.
pub(super) const MIGRATION_LOCK: i64 = 0x696f_6368_7562_6d67;

/// The schema version this binary writes.
pub(super) fn supported_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Brings the schema up to date, one step per transaction. Returns the version now in place.
pub(super) async fn migrate(client: &mut deadpool_postgres::Object) -> PgResult<i64> {
    let supported = supported_version();
    loop {
        let tx = client.transaction().await?;
        // "already exists, skipping" notices would otherwise be logged at every start.
        tx.batch_execute("SET LOCAL client_min_messages = warning")
            .await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        // Under the lock, so two first starts cannot both try to create it.
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version     bigint PRIMARY KEY,
                 applied_at  timestamptz NOT NULL DEFAULT now())",
        )
        .await?;
        let current: i64 = tx
            .query_one(
                "SELECT coalesce(max(version), 0)::bigint FROM schema_migrations",
                &[],
            )
            .await?
            .try_get(0)?;
        if current > supported {
            return Err(PgError::SchemaTooNew {
                found: current,
                supported,
            });
        }
        let Some(step) = MIGRATIONS.get(current as usize) else {
            tx.commit().await?;
            return Ok(current);
        };
        tx.batch_execute(step).await?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[&(current + 1)],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(version = current + 1, "applied PostgreSQL schema step");
    }
}
