//! Writing a batch: readings, statuses and dead letters in one transaction, and alert changes.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};

use super::Writer;
use super::rows::{ALERT_COLS, alert_row};
use crate::storage::rollup::{MINUTE_MS, floor};
use crate::storage::*;

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
        for item in items {
            match item {
                WriteItem::Readings(readings) => {
                    for r in readings.iter() {
                        let sid = series_id(&tx, series, &r.device, &r.metric)?;
                        if insert.execute(params![sid, r.ts_ms, r.value])? == 0 {
                            out.duplicates += 1;
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
    }
    tx.commit()?;
    Ok(out)
}

fn open_alert_id(tx: &Connection, rule: &str, device: &str) -> rusqlite::Result<Option<i64>> {
    tx.prepare_cached(
        "SELECT id FROM alerts WHERE rule = ?1 AND device = ?2 AND resolved_at IS NULL",
    )?
    .query_row(params![rule, device], |r| r.get(0))
    .optional()
}

pub(super) fn apply_alert(tx: &Connection, change: &AlertChange) -> StoreResult<Option<Alert>> {
    let id = match change {
        AlertChange::Fire {
            rule,
            device,
            metric,
            op,
            threshold,
            severity,
            value,
            ts_ms,
        } => match open_alert_id(tx, rule, device)? {
            Some(id) => {
                tx.prepare_cached(
                    "UPDATE alerts SET value = ?2, updated_at = max(updated_at, ?3),
                             severity = ?4, threshold = ?5, op = ?6, hits = hits + 1
                         WHERE id = ?1",
                )?
                .execute(params![id, value, ts_ms, severity, threshold, op])?;
                id
            }
            None => tx
                .prepare_cached(
                    "INSERT INTO alerts (rule, device, metric, op, threshold, severity, state,
                                             value, opened_at, updated_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'open', ?7, ?8, ?8) RETURNING id",
                )?
                .query_row(
                    params![rule, device, metric, op, threshold, severity, value, ts_ms],
                    |r| r.get(0),
                )?,
        },
        AlertChange::Clear {
            rule,
            device,
            value,
            ts_ms,
        } => {
            let Some(id) = open_alert_id(tx, rule, device)? else {
                return Ok(None);
            };
            tx.prepare_cached(
                "UPDATE alerts SET state = 'resolved', resolved_at = ?2,
                     value = coalesce(?3, value), updated_at = max(updated_at, ?2)
                 WHERE id = ?1",
            )?
            .execute(params![id, ts_ms, value.is_finite().then_some(*value)])?;
            id
        }
    };
    let sql = format!("SELECT {ALERT_COLS} FROM alerts WHERE id = ?1");
    Ok(Some(tx.query_row(&sql, [id], alert_row)?))
}
