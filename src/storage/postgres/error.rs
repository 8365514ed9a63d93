//! Errors of the PostgreSQL backend and how they cross the [`Store`](crate::storage::Store)
//! boundary, plus the conversion between epoch milliseconds (the hub's time) and `timestamptz`.
//!
//! tokio-postgres' own `Display` says only "db error" or "error connecting to server"; the useful
//! part (the server's message and SQLSTATE, or the OS error) is in the source chain, so every
//! message here is built from that chain.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::storage::StoreError;

/// What can go wrong inside the backend. Mapped onto [`StoreError`] at the trait boundary.
#[derive(Debug, thiserror::Error)]
pub(super) enum PgError {
    #[error("{}", describe(.0))]
    Db(#[from] tokio_postgres::Error),
    #[error("no database connection: {0}")]
    Pool(String),
    /// The database answered something the backend's own logic rules out.
    #[error("{0}")]
    Invariant(String),
    #[error(
        "schema version {found} is newer than this binary supports ({supported}); upgrade iochub"
    )]
    SchemaTooNew { found: i64, supported: i64 },
}

pub(super) type PgResult<T> = Result<T, PgError>;

impl From<deadpool_postgres::PoolError> for PgError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        PgError::Pool(describe_pool(&e))
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        PgError::from(e).into()
    }
}

impl From<PgError> for StoreError {
    fn from(e: PgError) -> Self {
        match e {
            PgError::SchemaTooNew { found, supported } => {
                StoreError::SchemaTooNew { found, supported }
            }
            other => StoreError::Database(other.to_string()),
        }
    }
}

/// The server's words for a database error (`ERROR 23505: duplicate key … (detail)`), or the
/// whole source chain for anything else (`error connecting to server: Connection refused …`).
pub(super) fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut s = format!("{} {}: {}", db.severity(), db.code().code(), db.message());
        if let Some(detail) = db.detail() {
            s.push_str(&format!(" ({detail})"));
        }
        if let Some(hint) = db.hint() {
            s.push_str(&format!("; hint: {hint}"));
        }
        return s;
    }
    chain(e)
}

pub(super) fn describe_pool(e: &deadpool_postgres::PoolError) -> String {
    use deadpool_postgres::PoolError as P;
    match e {
        P::Backend(e) => describe(e),
        P::PostCreateHook(deadpool_postgres::HookError::Backend(e)) => {
            format!("preparing a new connection: {}", describe(e))
        }
        P::Timeout(kind) => format!("timed out ({kind:?}) waiting for a database connection"),
        other => other.to_string(),
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        // io errors wrapped twice repeat themselves; say each thing once.
        if !s.ends_with(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        source = cause.source();
    }
    s
}

/// PostgreSQL's timestamp range, 4713 BC to 294276 AD (exclusive), in epoch milliseconds.
/// Query bounds are clamped into it: the API accepts any RFC 3339 time chrono can parse, and a
/// bound outside this range would otherwise be a server error rather than an empty answer.
pub(super) const PG_MIN_MS: i64 = -210_866_803_200_000;
pub(super) const PG_MAX_MS: i64 = 9_224_318_016_000_000 - 1;

/// Epoch milliseconds as a `timestamptz` parameter.
pub(super) fn to_time(ms: i64) -> SystemTime {
    let ms = ms.clamp(PG_MIN_MS, PG_MAX_MS);
    if ms >= 0 {
        UNIX_EPOCH + Duration::from_millis(ms.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_millis(ms.unsigned_abs())
    }
}

/// A `timestamptz` column as epoch milliseconds (the hub stores whole milliseconds only).
pub(super) fn to_ms(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_millis()).map_or(i64::MIN, |m| -m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milliseconds_round_trip_through_system_time() {
        for ms in [0, 1, 1_732_270_000_123, -1, -86_400_001] {
            assert_eq!(to_ms(to_time(ms)), ms);
        }
        assert_eq!(to_ms(to_time(i64::MAX)), PG_MAX_MS);
        assert_eq!(to_ms(to_time(i64::MIN)), PG_MIN_MS);
    }
}
