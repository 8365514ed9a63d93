//! The TimescaleDB layout, used when the server has the extension: `readings` becomes a
//! hypertable (1-day chunks, compressed after [`COMPRESS_AFTER`], segmented by series), and
//! `readings_1m` / `readings_1h` become continuous aggregates — materialized only, with the same
//! columns as the native rollup tables, so reads are the same SQL on either layout.
//!
//! The maintenance pass still decides *what* is rolled up and when (the watermarks, the dirty
//! minutes that late readings leave); on this layout it asks TimescaleDB to refresh those windows
//! instead of writing rollups itself, and retention is `drop_chunks`.
//!
//! Only a new, empty store adopts the layout: one that already holds readings in native
//! partitions keeps them (moving data into a hypertable is an operator's step, see
//! docs/OPERATIONS.md). Every step is idempotent and the layout is recorded last, so an
//! interrupted adoption resumes on the next start. This machine's package sources have no
//! TimescaleDB, so this path runs in the conformance suite only where the extension is
//! installed (`tests/storage_conformance`, which reports itself skipped elsewhere).

use std::time::SystemTime;

use super::error::{PgResult, to_time};
use super::schema::MIGRATION_LOCK;

/// Chunks of raw readings older than this are compressed by TimescaleDB's policy job. Late
/// readings into a compressed chunk still work (TimescaleDB 2.11+ decompresses the segment).
pub(super) const COMPRESS_AFTER: &str = "7 days";

/// How the time series are laid out in this database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Native,
    Timescale,
}

impl Layout {
    pub fn name(self) -> &'static str {
        match self {
            Layout::Native => "native",
            Layout::Timescale => "timescaledb",
        }
    }
}

const HYPERTABLE: &str = "
    DROP TABLE readings;
    CREATE TABLE readings (
        series  bigint NOT NULL,
        ts      timestamptz NOT NULL,
        value   double precision NOT NULL,
        PRIMARY KEY (series, ts)
    );
    SELECT create_hypertable('readings', 'ts', chunk_time_interval => INTERVAL '1 day');
    ALTER TABLE readings SET (timescaledb.compress,
                              timescaledb.compress_segmentby = 'series',
                              timescaledb.compress_orderby = 'ts');";

// Continuous aggregates refuse to be created inside a transaction block: each runs on its own.
const CAGG_1M: &str = "
    CREATE MATERIALIZED VIEW IF NOT EXISTS readings_1m
    WITH (timescaledb.continuous, timescaledb.materialized_only = true) AS
    SELECT series, time_bucket(INTERVAL '1 minute', ts) AS bucket,
           min(value) AS min, max(value) AS max, sum(value) AS sum, count(*) AS count
    FROM readings GROUP BY series, time_bucket(INTERVAL '1 minute', ts)
    WITH NO DATA";

/// Hierarchical (TimescaleDB 2.9+): hours from minutes, as the native pass rolls them.
const CAGG_1H: &str = "
    CREATE MATERIALIZED VIEW IF NOT EXISTS readings_1h
    WITH (timescaledb.continuous, timescaledb.materialized_only = true) AS
    SELECT series, time_bucket(INTERVAL '1 hour', bucket) AS bucket,
           min(min) AS min, max(max) AS max, sum(sum) AS sum, sum(count)::bigint AS count
    FROM readings_1m GROUP BY series, time_bucket(INTERVAL '1 hour', bucket)
    WITH NO DATA";

/// The layout in use, adopting TimescaleDB first when the store is new and the extension is
/// available. Never fails the start over TimescaleDB: if the extension cannot be loaded (not in
/// `shared_preload_libraries`), the store stays native and the reason is logged.
pub(super) async fn layout(client: &mut deadpool_postgres::Object) -> PgResult<Layout> {
    if recorded(client).await? == Layout::Timescale {
        return Ok(Layout::Timescale);
    }
    let available = client
        .query_opt(
            "SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb'",
            &[],
        )
        .await?
        .map(|r| r.try_get::<_, Option<String>>(0))
        .transpose()?
        .flatten();
    let Some(version) = available else {
        return Ok(Layout::Native);
    };
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let out = adopt(client, &version).await;
    let _ = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await;
    out
}

async fn recorded(client: &deadpool_postgres::Object) -> PgResult<Layout> {
    let kind: String = client
        .query_one("SELECT kind FROM storage_layout", &[])
        .await?
        .try_get(0)?;
    Ok(if kind == "timescaledb" {
        Layout::Timescale
    } else {
        Layout::Native
    })
}

/// `relkind` of a relation (`p` partitioned table, `r` table, `v` view), `None` if absent.
async fn relkind(client: &deadpool_postgres::Object, name: &str) -> PgResult<Option<String>> {
    Ok(client
        .query_opt(
            "SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)",
            &[&name],
        )
        .await?
        .map(|r| r.try_get(0))
        .transpose()?)
}

async fn adopt(client: &mut deadpool_postgres::Object, version: &str) -> PgResult<Layout> {
    // Another hub may have finished while we waited for the lock.
    if recorded(client).await? == Layout::Timescale {
        return Ok(Layout::Timescale);
    }
    let readings = relkind(client, "readings").await?;
    if readings.as_deref() == Some("p") {
        let has_data: bool = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_inherits WHERE inhparent = 'readings'::regclass)",
                &[],
            )
            .await?
            .try_get(0)?;
        if has_data {
            tracing::info!(
                "TimescaleDB {version} is available, but this store already holds readings in \
                 native daily partitions: keeping the native layout"
            );
            return Ok(Layout::Native);
        }
    }
    if let Err(e) = client
        .batch_execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        .await
    {
        tracing::warn!(
            error = %super::error::describe(&e),
            "TimescaleDB {version} is available but cannot be loaded (is it in \
             shared_preload_libraries?): using native partitioning"
        );
        return Ok(Layout::Native);
    }
    if readings.as_deref() == Some("p") {
        let tx = client.transaction().await?;
        tx.batch_execute(HYPERTABLE).await?;
        tx.execute(
            &format!(
                "SELECT add_compression_policy('readings', INTERVAL '{COMPRESS_AFTER}', \
                 if_not_exists => true)"
            ),
            &[],
        )
        .await?;
        tx.commit().await?;
    }
    if relkind(client, "readings_1m").await?.as_deref() == Some("r") {
        // The native rollup tables of migration 2, still empty on a new store.
        client
            .batch_execute("DROP TABLE IF EXISTS readings_1h; DROP TABLE readings_1m")
            .await?;
    }
    client.batch_execute(CAGG_1M).await?;
    if relkind(client, "readings_1h").await?.as_deref() == Some("r") {
        client.batch_execute("DROP TABLE readings_1h").await?;
    }
    client.batch_execute(CAGG_1H).await?;
    client
        .execute("UPDATE storage_layout SET kind = 'timescaledb'", &[])
        .await?;
    tracing::info!(
        "TimescaleDB {version}: readings is a hypertable (compressed after {COMPRESS_AFTER}), \
         rollups are continuous aggregates"
    );
    Ok(Layout::Timescale)
}

/// Materialises `[from, to)` of a continuous aggregate (outside any transaction, as TimescaleDB
/// requires). Returns the buckets now in that window, for the maintenance report.
pub(super) async fn refresh(
    client: &deadpool_postgres::Object,
    view: &str,
    from_ms: i64,
    to_ms: i64,
) -> PgResult<u64> {
    let (from, to) = (to_time(from_ms), to_time(to_ms));
    // `view` is one of our two constant names, never input.
    client
        .execute(
            &format!("CALL refresh_continuous_aggregate('{view}', $1, $2)"),
            &[&from, &to],
        )
        .await?;
    count(client, view, Some(from), to).await
}

async fn count(
    client: &deadpool_postgres::Object,
    view: &str,
    from: Option<SystemTime>,
    to: SystemTime,
) -> PgResult<u64> {
    let n: i64 = client
        .query_one(
            &format!(
                "SELECT count(*) FROM {view} WHERE ($1::timestamptz IS NULL OR bucket >= $1) \
                 AND bucket < $2"
            ),
            &[&from, &to],
        )
        .await?
        .try_get(0)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Retention of raw readings: drops the chunks wholly before `cut_ms`; returns their names.
pub(super) async fn drop_raw_chunks(
    client: &deadpool_postgres::Object,
    cut_ms: i64,
) -> PgResult<Vec<String>> {
    client
        .query(
            "SELECT c::text FROM drop_chunks('readings', older_than => $1::timestamptz) c",
            &[&to_time(cut_ms)],
        )
        .await?
        .iter()
        .map(|r| Ok(r.try_get(0)?))
        .collect()
}

/// Retention of rollups: drops the aggregates' chunks wholly before `cut_ms`; returns how many
/// buckets went.
pub(super) async fn drop_rollup_chunks(
    client: &deadpool_postgres::Object,
    cut_ms: i64,
) -> PgResult<u64> {
    let cut = to_time(cut_ms);
    let mut dropped = 0;
    for view in ["readings_1m", "readings_1h"] {
        let before = count(client, view, None, cut).await?;
        client
            .query(
                &format!("SELECT drop_chunks('{view}', older_than => $1::timestamptz)"),
                &[&cut],
            )
            .await?;
        dropped += before.saturating_sub(count(client, view, None, cut).await?);
    }
    Ok(dropped)
}
