//! The writer: SQLite's one write connection, the lock every write takes (once per batch, never
//! per reading), and what it writes — a batch (readings, statuses and dead letters in one
//! transaction) and the alerts the lifecycle decided.

use std::collections::HashMap;

use rusqlite::{Connection, params};

use super::Inner;
use crate::pipeline::WriteItem;
use crate::storage::rollup::{MINUTE_MS, floor};
use crate::storage::*;

pub(super) struct Writer {
    pub(super) conn: Connection,
    /// device -> metric -> series id; dropped whenever a transaction fails.
    pub(super) series: HashMap<String, HashMap<String, i64>>,
    /// `rollup_state.claimed` as last committed (only this connection moves it): a reading
    /// inserted below it marks its minute dirty for re-rolling.
    pub(super) claimed: i64,
}

/// Runs `f` with the writer connection; a failure drops the series-id cache, which may hold ids
/// of the rolled-back transaction.
///
/// The lock is released with a fair unlock: it goes straight to a thread already waiting for it.
/// A plain unlock (std's) wakes the waiter but lets the releasing thread take the lock back
/// first, so the maintenance pass, which takes it again right away for its next step, could keep
/// a waiting batch or alert commit out for the rest of the pass (docs/PERFORMANCE.md, dashboard).
/// The writer is taken once per batch, never per reading, so the handover's cost does not matter.
pub(super) fn with_writer<T>(
    inner: &Inner,
    f: impl FnOnce(&mut Writer) -> StoreResult<T>,
) -> StoreResult<T> {
    let mut w = inner.writer.lock();
    let out = f(&mut w);
    if out.is_err() {
        w.series.clear();
    }
    parking_lot::MutexGuard::unlock_fair(w);
    out
}

fn series_id(
    tx: &rusqlite::Transaction<'_>,
    cache: &mut HashMap<String, HashMap<String, i64>>,
    device: &str,
    metric: &str,
) -> rusqlite::Result<i64> {
    if let Some(id) = cache.get(device).and_then(|m| m.get(metric)) {
        return Ok(*id);
    }
    let id: i64 = tx
        .prepare_cached(
            "INSERT INTO series (device, metric) VALUES (?1, ?2)
             ON CONFLICT (device, metric) DO UPDATE SET device = excluded.device RETURNING id",
        )?
        .query_row(params![device, metric], |r| r.get(0))?;
    cache
        .entry(device.to_owned())
        .or_default()
        .insert(metric.to_owned(), id);
    Ok(id)
}

pub(super) fn write_items(
    w: &mut Writer,
    items: &[WriteItem],
    now_ms: i64,
) -> StoreResult<WriteOutcome> {
    let Writer {
        conn,
        series,
        claimed,
    } = w;
    let claimed = *claimed;
    let tx = conn.transaction()?;
    let mut out = WriteOutcome::default();
    {
        let mut insert = tx.prepare_cached(
            "INSERT OR IGNORE INTO readings (series, ts, value) VALUES (?1, ?2, ?3)",
        )?;
        let mut latest: HashMap<i64, (i64, f64)> = HashMap::new();
        let mut seen: HashMap<&str, ()> = HashMap::new();
        let mut located: HashMap<&str, (Option<f64>, Option<f64>)> = HashMap::new();
        let mut duplicated: HashMap<&str, u64> = HashMap::new();
        for item in items {
            match item {
                WriteItem::Readings(readings) => {
                    for r in readings.iter() {
                        let sid = series_id(&tx, series, &r.device, &r.metric)?;
                        if insert.execute(params![sid, r.ts_ms, r.value])? == 0 {
                            out.duplicates += 1;
                            *duplicated.entry(&r.device).or_insert(0) += 1;
                            continue;
                        }
                        out.inserted += 1;
                        if r.ts_ms < claimed {
                            // Its minute may be rolled up already: re-rolled next pass.
                            tx.prepare_cached(
                                "INSERT INTO rollup_dirty (series, bucket) VALUES (?1, ?2)
                                 ON CONFLICT (series, bucket) DO UPDATE SET marks = marks + 1",
                            )?
                            .execute(params![sid, floor(r.ts_ms, MINUTE_MS)])?;
                        }
                        let l = latest.entry(sid).or_insert((r.ts_ms, r.value));
                        if r.ts_ms >= l.0 {
                            *l = (r.ts_ms, r.value);
                        }
                        seen.insert(&r.device, ());
                        match r.metric.as_str() {
                            "lat" => located.entry(&r.device).or_default().0 = Some(r.value),
                            "lon" => located.entry(&r.device).or_default().1 = Some(r.value),
                            _ => {}
                        }
                    }
                }
                WriteItem::Status {
                    device,
                    online,
                    ts_ms,
                } => {
                    tx.prepare_cached(
                        "INSERT INTO devices (key, online, status_ts, first_seen, last_seen)
                         VALUES (?1, ?2, ?3, ?4, ?4)
                         ON CONFLICT (key) DO UPDATE SET
                             online = excluded.online, status_ts = excluded.status_ts,
                             last_seen = max(last_seen, excluded.last_seen)
                         WHERE status_ts IS NULL OR excluded.status_ts >= status_ts",
                    )?
                    .execute(params![device, online, ts_ms, now_ms])?;
                }
                WriteItem::Supply(delta) => super::supply::add(&tx, delta)?,
                WriteItem::DeadLetters(letters) => {
                    let mut stmt = tx.prepare_cached(
                        "INSERT INTO dead_letters (received_at, topic, reason, detail, payload)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                    )?;
                    for d in letters {
                        stmt.execute(params![
                            d.received_at,
                            d.topic,
                            d.reason,
                            d.detail,
                            d.payload
                        ])?;
                    }
                }
            }
        }
        let mut upd = tx.prepare_cached(
            "UPDATE series SET last_ts = ?2, last_value = ?3
             WHERE id = ?1 AND (last_ts IS NULL OR last_ts <= ?2)",
        )?;
        for (sid, (ts, v)) in &latest {
            upd.execute(params![sid, ts, v])?;
        }
        let mut touch = tx.prepare_cached(
            "INSERT INTO devices (key, first_seen, last_seen) VALUES (?1, ?2, ?2)
             ON CONFLICT (key) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)",
        )?;
        for device in seen.keys() {
            touch.execute(params![device, now_ms])?;
        }
        let mut locate = tx.prepare_cached(
            "UPDATE devices SET lat = coalesce(?2, lat), lon = coalesce(?3, lon) WHERE key = ?1",
        )?;
        for (device, (lat, lon)) in &located {
            locate.execute(params![device, lat, lon])?;
            out.located.push(((*device).to_owned(), *lat, *lon));
        }
        out.duplicated = duplicated
            .into_iter()
            .map(|(d, n)| (d.to_owned(), n))
            .collect();
    }
    tx.commit()?;
    Ok(out)
}
