//! Writing a batch in one transaction: readings through binary COPY (encoded by `copy.rs`) into a
//! staging table and one `INSERT … SELECT … ON CONFLICT DO NOTHING`, then statuses and dead
//! letters.
//!
//! COPY cannot skip rows that already exist, and a redelivered MQTT message must be absorbed, so
//! readings are copied into `readings_staging` (a temporary table each pooled connection creates
//! once, `ON COMMIT DELETE ROWS`, so it is empty at the start of every transaction) and moved into
//! `readings` by a single statement whose data-modifying CTEs also count what was inserted, move
//! `series.last_ts/last_value` forward, and register the devices — one round trip for the lot.

use std::collections::HashMap;
use std::pin::pin;

use bytes::Bytes;
use futures_util::SinkExt;
use tokio_postgres::types::ToSql;

use super::error::{PgResult, to_time};
use super::series::SeriesIds;
use crate::pipeline::WriteItem;
use crate::storage::*;

/// Created on every new pooled connection (see `PostgresStore::connect`).
pub(super) const STAGING_DDL: &str = "CREATE TEMP TABLE IF NOT EXISTS readings_staging (
        ord     bigint NOT NULL,
        series  bigint NOT NULL,
        ts      timestamptz NOT NULL,
        value   double precision NOT NULL
    ) ON COMMIT DELETE ROWS";

const COPY_SQL: &str = "COPY readings_staging (ord, series, ts, value) FROM STDIN (FORMAT binary)";

/// Moves the staged readings into `readings`. Within a batch the first copy of a (series, ts)
/// wins, like a sequence of single inserts; against the table, the stored row wins. Only rows
/// actually inserted move `series.last_*` (forward in time only). Every device of the batch ($3,
/// listed by the hub: finding them through `series` cost a join per reading, a fifth of the
/// statement) gets its `devices` row, seen now, also when its message was a redelivery. Returns
/// the inserted count and, for the series in $2 (lat/lon), their newest inserted value; when some
/// of the $4 readings were already stored, how many of each series were inserted (so that the
/// duplicates are known per device; the common case pays nothing for it). A reading
/// inserted below the rollup claim marks its minute dirty (`late`), to be re-rolled; in (series,
/// bucket) order, the order in which maintenance locks the entries it forgets, so that the two
/// never deadlock.
const MOVE_SQL: &str = "
    WITH staged AS (
        SELECT DISTINCT ON (series, ts) series, ts, value
        FROM readings_staging ORDER BY series, ts, ord
    ), ins AS (
        INSERT INTO readings (series, ts, value) SELECT series, ts, value FROM staged
        ON CONFLICT DO NOTHING
        RETURNING series, ts, value
    ), late AS (
        INSERT INTO rollup_dirty (series, bucket)
        SELECT DISTINCT series, date_bin('1 minute', ts, timestamptz '1970-01-01 00:00:00+00')
        FROM ins WHERE ts < (SELECT claimed FROM rollup_state)
        ORDER BY 1, 2
        ON CONFLICT (series, bucket) DO UPDATE SET marks = rollup_dirty.marks + 1
    ), latest AS (
        SELECT DISTINCT ON (series) series, ts, value FROM ins ORDER BY series, ts DESC
    ), moved AS (
        UPDATE series s SET last_ts = l.ts, last_value = l.value
        FROM latest l
        WHERE s.id = l.series AND (s.last_ts IS NULL OR s.last_ts <= l.ts)
    ), touched AS (
        INSERT INTO devices (key, first_seen, last_seen)
        SELECT d, $1::timestamptz, $1::timestamptz FROM unnest($3::text[]) AS d
        ORDER BY 1
        ON CONFLICT (key) DO UPDATE SET last_seen = greatest(devices.last_seen, excluded.last_seen)
    ), kept AS (
        SELECT series, count(*) AS n FROM ins GROUP BY series
    )
    SELECT (SELECT count(*) FROM ins),
           (SELECT array_agg(series) FROM latest WHERE series = ANY($2)),
           (SELECT array_agg(value) FROM latest WHERE series = ANY($2)),
           CASE WHEN (SELECT count(*) FROM ins) < $4 THEN (SELECT array_agg(series) FROM kept) END,
           CASE WHEN (SELECT count(*) FROM ins) < $4 THEN (SELECT array_agg(n) FROM kept) END";

const STATUS_SQL: &str = "
    INSERT INTO devices (key, online, status_ts, first_seen, last_seen)
    VALUES ($1, $2, $3, $4, $4)
    ON CONFLICT (key) DO UPDATE SET
        online = excluded.online, status_ts = excluded.status_ts,
        last_seen = greatest(devices.last_seen, excluded.last_seen)
    WHERE devices.status_ts IS NULL OR excluded.status_ts >= devices.status_ts";

const DEAD_LETTERS_SQL: &str = "
    INSERT INTO dead_letters (received_at, topic, reason, detail, payload)
    SELECT received_at, topic, reason, detail, payload
    FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[])
         WITH ORDINALITY AS d (received_at, topic, reason, detail, payload, ord)
    ORDER BY ord";

/// Commits `items` in one transaction on `client`. Series ids it creates are added to `ids` only
/// after the commit (a rolled-back id must never be cached). Partitions for the batch's days
/// must already exist.
pub(super) async fn write_items(
    client: &mut deadpool_postgres::Object,
    ids: &SeriesIds,
    items: &[WriteItem],
    now_ms: i64,
) -> PgResult<WriteOutcome> {
    let now = to_time(now_ms);
    let tx = client.transaction().await?;
    let mut out = WriteOutcome::default();

    let readings: Vec<&iochub_devices::Reading> = items
        .iter()
        .filter_map(|i| match i {
            WriteItem::Readings(r) => Some(r.iter()),
            _ => None,
        })
        .flatten()
        .collect();
    let mut created = HashMap::new();
    if !readings.is_empty() {
        // Shared with other writers, exclusive with the rollup claim: see maintenance.rs. Taken
        // before the statement that reads `claimed`, so that it sees the latest claim.
        tx.execute(
            "SELECT pg_advisory_xact_lock_shared($1)",
            &[&super::maintenance::ROLLUP_LOCK],
        )
        .await?;
        let (sids, new) = ids.resolve(&tx, &readings).await?;
        created = new;
        let total = readings.len() as u64;
        out.inserted = copy_and_move(&tx, &readings, &sids, now, &mut out).await?;
        out.duplicates = total.saturating_sub(out.inserted);
    }

    let status = tx.prepare_cached(STATUS_SQL).await?;
    for item in items {
        if let WriteItem::Status {
            device,
            online,
            ts_ms,
        } = item
        {
            tx.execute(&status, &[device, online, &to_time(*ts_ms), &now])
                .await?;
        }
    }

    for item in items {
        if let WriteItem::Supply(delta) = item {
            super::supply::add(&tx, delta).await?;
        }
    }

    let letters: Vec<&DeadLetter> = items
        .iter()
        .filter_map(|i| match i {
            WriteItem::DeadLetters(d) => Some(d.iter()),
            _ => None,
        })
        .flatten()
        .collect();
    if !letters.is_empty() {
        let received: Vec<_> = letters.iter().map(|d| to_time(d.received_at)).collect();
        let text = |f: fn(&DeadLetter) -> &str| -> Vec<String> {
            letters.iter().map(|d| no_nul(f(d))).collect()
        };
        let (topic, reason) = (text(|d| &d.topic), text(|d| &d.reason));
        let (detail, payload) = (text(|d| &d.detail), text(|d| &d.payload));
        let params: [&(dyn ToSql + Sync); 5] = [&received, &topic, &reason, &detail, &payload];
        tx.execute(DEAD_LETTERS_SQL, &params).await?;
    }

    tx.commit().await?;
    ids.remember(created);
    Ok(out)
}

/// COPYs the readings into staging and moves them; returns how many were new. Fills `located`
/// with the devices whose `lat`/`lon` got a new reading, and applies those positions.
async fn copy_and_move(
    tx: &deadpool_postgres::Transaction<'_>,
    readings: &[&iochub_devices::Reading],
    sids: &[i64],
    now: std::time::SystemTime,
    out: &mut WriteOutcome,
) -> PgResult<u64> {
    let mut sink = pin!(tx.copy_in::<_, Bytes>(COPY_SQL).await?);
    sink.send(super::copy::staging_rows(readings, sids)).await?;
    sink.as_mut().finish().await?;

    // Positions come from `lat`/`lon` series; the statement reports their newest new value.
    let mut position_series: HashMap<i64, (&str, bool)> = HashMap::new();
    for (r, &sid) in readings.iter().zip(sids) {
        match r.metric.as_str() {
            "lat" => position_series.insert(sid, (r.device.as_str(), true)),
            "lon" => position_series.insert(sid, (r.device.as_str(), false)),
            _ => None,
        };
    }
    let wanted: Vec<i64> = position_series.keys().copied().collect();
    let devices: Vec<&str> = readings
        .iter()
        .map(|r| r.device.as_str())
        .collect::<std::collections::HashSet<_>>()
        .into_iter()
        .collect();
    let stmt = tx.prepare_cached(MOVE_SQL).await?;
    let total = readings.len() as i64;
    let row = tx
        .query_one(&stmt, &[&now, &wanted, &devices, &total])
        .await?;
    let inserted: i64 = row.try_get(0)?;
    let pos_ids: Option<Vec<i64>> = row.try_get(1)?;
    let pos_values: Option<Vec<f64>> = row.try_get(2)?;
    let kept_series: Option<Vec<i64>> = row.try_get(3)?;
    let kept_counts: Option<Vec<i64>> = row.try_get(4)?;
    if let (Some(series), Some(counts)) = (kept_series, kept_counts) {
        out.duplicated = duplicated_by_device(readings, sids, &series, &counts);
    } else if inserted < total {
        // Nothing at all was inserted: every reading was already stored.
        out.duplicated = duplicated_by_device(readings, sids, &[], &[]);
    }
    let located = &mut out.located;

    let mut positions: HashMap<&str, (Option<f64>, Option<f64>)> = HashMap::new();
    for (sid, value) in pos_ids
        .unwrap_or_default()
        .iter()
        .zip(pos_values.unwrap_or_default())
    {
        if let Some(&(device, is_lat)) = position_series.get(sid) {
            let p = positions.entry(device).or_default();
            if is_lat {
                p.0 = Some(value)
            } else {
                p.1 = Some(value)
            }
        }
    }
    // A separate statement: the device row may have been created by `touched` above, which the
    // other parts of that statement cannot see (they share its snapshot).
    if !positions.is_empty() {
        let locate = tx
            .prepare_cached(
                "UPDATE devices SET lat = coalesce($2, lat), lon = coalesce($3, lon)
                 WHERE key = $1",
            )
            .await?;
        for (device, (lat, lon)) in positions {
            tx.execute(&locate, &[&device, &lat, &lon]).await?;
            located.push((device.to_owned(), lat, lon));
        }
    }
    Ok(u64::try_from(inserted).unwrap_or(0))
}

/// Per device, how many of its readings were not inserted: staged per series less inserted.
fn duplicated_by_device(
    readings: &[&iochub_devices::Reading],
    sids: &[i64],
    series: &[i64],
    counts: &[i64],
) -> Vec<(String, u64)> {
    let mut left: HashMap<i64, (&str, i64)> = HashMap::new();
    for (r, sid) in readings.iter().zip(sids) {
        left.entry(*sid).or_insert((r.device.as_str(), 0)).1 += 1;
    }
    for (sid, n) in series.iter().zip(counts) {
        if let Some(e) = left.get_mut(sid) {
            e.1 -= n;
        }
    }
    let mut by_device: HashMap<&str, u64> = HashMap::new();
    for (device, n) in left.into_values().filter(|(_, n)| *n > 0) {
        *by_device.entry(device).or_insert(0) += n as u64;
    }
    by_device
        .into_iter()
        .map(|(d, n)| (d.to_owned(), n))
        .collect()
}

/// PostgreSQL text cannot hold NUL; a dead letter keeps whatever a device sent (lossy UTF-8 of
/// any bytes), and one NUL must not make the whole batch fail on every retry.
fn no_nul(s: &str) -> String {
    s.replace('\0', "\u{FFFD}")
}
