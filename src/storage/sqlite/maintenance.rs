//! The maintenance pass of the SQLite backend: roll closed minutes and hours forward, re-roll
//! dirty minutes, delete raw readings and rollups past their retention (the algorithm is in
//! [`crate::storage::rollup`]).
//!
//! SQLite has one writer, so every step runs on the writer connection under its mutex. To keep
//! ingest and alerts flowing, the pass takes the mutex for bounded steps only (1,000 series of a
//! chunk of at most six hours, a batch of dirty minutes, retention deletes for 1,000 series or
//! 50,000 readings) and lets the batcher in between; writes that land meanwhile below the claim
//! mark their minute dirty (see [`forward`]). All queries go series by series through the
//! `(series, ts)` / `(series, bucket)` keys: a range on time alone would scan the whole table.

use std::collections::BTreeSet;

use rusqlite::{Transaction, params};

use super::Inner;
use super::buckets::watermarks;
use super::write::{Writer, with_writer};
use crate::storage::StoreResult;
use crate::storage::rollup::{
    DIRTY_BATCH, HOUR_MS, MINUTE_MS, MaintenanceReport, RetentionPolicy, Watermarks, chunk_end,
    floor,
};

/// Raw readings deleted per transaction.
const DELETE_CHUNK: i64 = 50_000;

/// Series rolled per transaction (ids [?3, ?4)). The pass holds SQLite's one writer for a slice
/// at a time, so that batches and alert commits get in between: a minute of 20,000 series in one
/// transaction held it ~700 ms, and alerts waited that long (docs/PERFORMANCE.md, dashboard).
const ROLL_SLICE: i64 = 1_000;

const ROLL_MINUTES: &str = "
    INSERT INTO readings_1m (series, bucket, min, max, sum, count)
    SELECT s.id, r.ts - (r.ts % 60000), min(r.value), max(r.value), sum(r.value), count(*)
    FROM series s CROSS JOIN readings r
    WHERE s.id >= ?3 AND s.id < ?4 AND r.series = s.id AND r.ts >= ?1 AND r.ts < ?2
    GROUP BY 1, 2
    ON CONFLICT (series, bucket) DO UPDATE SET min = excluded.min, max = excluded.max,
        sum = excluded.sum, count = excluded.count";

/// [`ROLL_MINUTES`] for one series (?3).
const REROLL_MINUTE: &str = "
    INSERT INTO readings_1m (series, bucket, min, max, sum, count)
    SELECT series, ts - (ts % 60000), min(value), max(value), sum(value), count(*)
    FROM readings WHERE series = ?3 AND ts >= ?1 AND ts < ?2
    GROUP BY 1, 2
    ON CONFLICT (series, bucket) DO UPDATE SET min = excluded.min, max = excluded.max,
        sum = excluded.sum, count = excluded.count";

const ROLL_HOURS: &str = "
    INSERT INTO readings_1h (series, bucket, min, max, sum, count)
    SELECT s.id, m.bucket - (m.bucket % 3600000), min(m.min), max(m.max), sum(m.sum),
           sum(m.count)
    FROM series s CROSS JOIN readings_1m m
    WHERE s.id >= ?3 AND s.id < ?4 AND m.series = s.id AND m.bucket >= ?1 AND m.bucket < ?2
    GROUP BY 1, 2
    ON CONFLICT (series, bucket) DO UPDATE SET min = excluded.min, max = excluded.max,
        sum = excluded.sum, count = excluded.count";

/// [`ROLL_HOURS`] for one series (?3).
const REROLL_HOUR: &str = "
    INSERT INTO readings_1h (series, bucket, min, max, sum, count)
    SELECT series, bucket - (bucket % 3600000), min(min), max(max), sum(sum), sum(count)
    FROM readings_1m WHERE series = ?3 AND bucket >= ?1 AND bucket < ?2
    GROUP BY 1, 2
    ON CONFLICT (series, bucket) DO UPDATE SET min = excluded.min, max = excluded.max,
        sum = excluded.sum, count = excluded.count";

/// Runs one pass; called on a blocking thread.
pub(super) fn maintain(
    inner: &Inner,
    now_ms: i64,
    policy: RetentionPolicy,
) -> StoreResult<MaintenanceReport> {
    let target = floor(now_ms, MINUTE_MS);
    let mut report = MaintenanceReport::default();
    while !forward(inner, target, &mut report)? {}
    while with_writer(inner, |w| dirty(w, &mut report))? {}
    if let Some(cut) = policy.raw_cutoff(now_ms) {
        drop_raw(inner, cut, &mut report)?;
    }
    if let Some(cut) = policy.rollup_cutoff(now_ms) {
        drop_rollups(inner, cut, &mut report)?;
    }
    report.rolled_to = with_writer(inner, |w| Ok(watermarks(&w.conn)?.rolled_1m))?;
    Ok(report)
}

/// Rolls one chunk forward; true once `rolled_1m` reached `target`. Three steps, each its own
/// transaction(s): the claim (from then on, writes below it mark their minute dirty, so a reading
/// that lands in a slice already rolled is re-rolled by [`dirty`]); the rollups, a slice of series
/// at a time (a series created after the claim only has readings that were marked dirty); then the
/// watermarks. A crash in between leaves the watermarks where they were, and the next pass redoes
/// the chunk (the rollups are upserts).
fn forward(inner: &Inner, target: i64, report: &mut MaintenanceReport) -> StoreResult<bool> {
    let (m, start, chunk, last_series) = with_writer(inner, |w| {
        let tx = w.conn.transaction()?;
        let m = watermarks(&tx)?;
        let claimed = m.claimed.map_or(target, |c| c.max(target));
        let mut start = match m.rolled_1m {
            Some(s) => s,
            None => first_reading(&tx, i64::MIN)?.map_or(target, |t| floor(t, HOUR_MS)),
        };
        // Skip stretches without readings (first start on old data, a long stop).
        if start < target {
            start = match first_reading(&tx, start)? {
                Some(t) => start.max(floor(t, HOUR_MS)).min(target),
                None => target,
            };
        }
        let last_series: i64 =
            tx.query_row("SELECT coalesce(max(id), 0) FROM series", [], |r| r.get(0))?;
        tx.execute("UPDATE rollup_state SET claimed = ?1", params![claimed])?;
        tx.commit()?;
        w.claimed = claimed;
        Ok((m, start, chunk_end(start, target), last_series))
    })?;
    let end = chunk.unwrap_or(start);
    if chunk.is_some() {
        report.buckets_1m += by_slices(inner, last_series, ROLL_MINUTES, start, end)?;
    }
    let rolled_1m = m.rolled_1m.map_or(end, |r| r.max(end));
    let h_from = m.rolled_1h.unwrap_or_else(|| floor(start, HOUR_MS));
    let h_to = floor(rolled_1m, HOUR_MS).max(h_from);
    if h_from < h_to {
        report.buckets_1h += by_slices(inner, last_series, ROLL_HOURS, h_from, h_to)?;
    }
    with_writer(inner, |w| {
        w.conn.execute(
            "UPDATE rollup_state SET rolled_1m = ?1, rolled_1h = ?2",
            params![rolled_1m, h_to],
        )?;
        Ok(())
    })?;
    Ok(chunk.is_none())
}

/// Runs a roll statement over [from, to) for series ids 1..=last, [`ROLL_SLICE`] of them per
/// transaction; returns the buckets written.
fn by_slices(inner: &Inner, last: i64, sql: &str, from: i64, to: i64) -> StoreResult<u64> {
    let mut written = 0;
    for lo in (1..=last.max(1)).step_by(ROLL_SLICE as usize) {
        written += with_writer(inner, |w| {
            let n = w
                .conn
                .prepare_cached(sql)?
                .execute(params![from, to, lo, lo + ROLL_SLICE])?;
            Ok(n as u64)
        })?;
    }
    Ok(written)
}

/// The earliest reading at or after `from`, found series by series through the primary key.
fn first_reading(tx: &Transaction<'_>, from: i64) -> rusqlite::Result<Option<i64>> {
    tx.prepare_cached(
        "SELECT min((SELECT min(ts) FROM readings WHERE series = s.id AND ts >= ?1))
         FROM series s",
    )?
    .query_row([from], |r| r.get(0))
}

/// Re-rolls one batch of dirty minutes (and their hours); true when there may be more.
fn dirty(w: &mut Writer, report: &mut MaintenanceReport) -> StoreResult<bool> {
    let tx = w.conn.transaction()?;
    let m = watermarks(&tx)?;
    let (Some(rolled_1m), rolled_1h) = (m.rolled_1m, m.rolled_1h.unwrap_or(i64::MIN)) else {
        return Ok(false);
    };
    let marked: Vec<(i64, i64)> = tx
        .prepare_cached("SELECT series, bucket FROM rollup_dirty WHERE bucket < ?1 LIMIT ?2")?
        .query_map(params![rolled_1m, DIRTY_BATCH as i64], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<Result<_, _>>()?;
    let mut hours = BTreeSet::new();
    for &(series, minute) in &marked {
        tx.prepare_cached("DELETE FROM rollup_dirty WHERE series = ?1 AND bucket = ?2")?
            .execute(params![series, minute])?;
        // Below the raw floor the raw minute is incomplete: keep the rollup made from it whole.
        if m.raw_floor.is_some_and(|f| minute < f) {
            continue;
        }
        report.buckets_1m += tx.prepare_cached(REROLL_MINUTE)?.execute(params![
            minute,
            minute + MINUTE_MS,
            series
        ])? as u64;
        let hour = floor(minute, HOUR_MS);
        if hour < rolled_1h {
            hours.insert((series, hour));
        }
    }
    for (series, hour) in hours {
        report.buckets_1h +=
            tx.prepare_cached(REROLL_HOUR)?
                .execute(params![hour, hour + HOUR_MS, series])? as u64;
    }
    tx.commit()?;
    report.dirty_minutes += marked.len() as u64;
    Ok(marked.len() == DIRTY_BATCH)
}

/// The watermarks and every series id, in order: what a retention step walks.
fn watermarks_and_series(w: &mut Writer) -> StoreResult<(Watermarks, Vec<i64>)> {
    let ids = w
        .conn
        .prepare_cached("SELECT id FROM series ORDER BY id")?
        .query_map([], |r| r.get::<_, i64>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((watermarks(&w.conn)?, ids))
}

/// Deletes raw readings below `cut` (but never at or above `rolled_1m`), series by series in
/// transactions of at most [`DELETE_CHUNK`] readings and [`ROLL_SLICE`] series.
fn drop_raw(inner: &Inner, cut: i64, report: &mut MaintenanceReport) -> StoreResult<()> {
    let (m, ids) = with_writer(inner, watermarks_and_series)?;
    let Some(rolled_1m) = m.rolled_1m else {
        return Ok(());
    };
    let cut = floor(cut.min(rolled_1m), MINUTE_MS);
    if m.raw_floor.is_some_and(|f| f >= cut) {
        return Ok(());
    }
    let mut next = 0;
    loop {
        let finished = with_writer(inner, |w| {
            let tx = w.conn.transaction()?;
            let mut budget = DELETE_CHUNK;
            let slice_end = next + ROLL_SLICE as usize;
            while let Some(&series) = ids.get(next) {
                if budget == 0 || next >= slice_end {
                    break;
                }
                let n = tx
                    .prepare_cached(
                        "DELETE FROM readings WHERE series = ?1 AND ts IN (
                             SELECT ts FROM readings WHERE series = ?1 AND ts < ?2
                             ORDER BY ts LIMIT ?3)",
                    )?
                    .execute(params![series, cut, budget])? as i64;
                report.raw_rows_dropped += n as u64;
                if n < budget {
                    next += 1;
                }
                budget -= n;
            }
            let finished = next >= ids.len();
            if finished {
                tx.execute("UPDATE rollup_state SET raw_floor = ?1", [cut])?;
            }
            tx.commit()?;
            Ok(finished)
        })?;
        if finished {
            return Ok(());
        }
    }
}

/// Deletes rollups below `cut` (hour-aligned, so this runs once an hour at most), [`ROLL_SLICE`]
/// series per transaction; the floor moves once all are done (the deletes are idempotent).
fn drop_rollups(inner: &Inner, cut: i64, report: &mut MaintenanceReport) -> StoreResult<()> {
    let (m, ids) = with_writer(inner, watermarks_and_series)?;
    if m.rollup_floor.is_some_and(|f| f >= cut) {
        return Ok(());
    }
    for slice in ids.chunks(ROLL_SLICE as usize) {
        with_writer(inner, |w| {
            let tx = w.conn.transaction()?;
            for id in slice {
                for sql in [
                    "DELETE FROM readings_1m WHERE series = ?1 AND bucket < ?2",
                    "DELETE FROM readings_1h WHERE series = ?1 AND bucket < ?2",
                ] {
                    report.rollup_rows_dropped +=
                        tx.prepare_cached(sql)?.execute(params![id, cut])? as u64;
                }
            }
            tx.commit()?;
            Ok(())
        })?;
    }
    with_writer(inner, |w| {
        w.conn
            .execute("UPDATE rollup_state SET rollup_floor = ?1", [cut])?;
        Ok(())
    })
}
