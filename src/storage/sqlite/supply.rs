//! Data-supply counts in SQLite: the batcher's tallies added per (local day, device), silences,
//! and what the report reads back (times as epoch ms, days as `YYYY-MM-DD`).

use rusqlite::{Connection, Transaction, params};

use crate::pipeline::supply::{LATENCY_BUCKETS, SupplyDelta, SupplyGap};
use crate::reports::model::IssuedReport;
use crate::storage::{DeviceSupply, Rejections, StoreResult};

/// `l0, l1, …` and `l0 = l0 + excluded.l0, …`: the latency histogram's columns.
fn latency_columns(f: impl Fn(usize) -> String) -> String {
    (0..LATENCY_BUCKETS).map(f).collect::<Vec<_>>().join(", ")
}

pub(super) fn add(tx: &Transaction<'_>, delta: &SupplyDelta) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO supply_days (device, day, received, duplicates, live, first_ts, last_ts,
             metrics, interval_ms, {cols})
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, {values})
         ON CONFLICT (day, device) DO UPDATE SET
             received = received + excluded.received,
             duplicates = duplicates + excluded.duplicates,
             live = live + excluded.live,
             first_ts = min(first_ts, excluded.first_ts),
             last_ts = max(last_ts, excluded.last_ts),
             metrics = max(metrics, excluded.metrics),
             interval_ms = coalesce(excluded.interval_ms, interval_ms),
             {sums}",
        cols = latency_columns(|i| format!("l{i}")),
        values = latency_columns(|i| format!("?{}", i + 10)),
        sums = latency_columns(|i| format!("l{i} = l{i} + excluded.l{i}")),
    );
    let mut day = tx.prepare_cached(&sql)?;
    for d in &delta.days {
        let mut p: Vec<i64> = vec![
            d.received as i64,
            d.duplicates as i64,
            d.live as i64,
            d.first_ts,
            d.last_ts,
            i64::from(d.metrics),
        ];
        p.extend(d.latency.iter().map(|n| *n as i64));
        let mut values: Vec<&dyn rusqlite::ToSql> = vec![&d.device, &d.day];
        values.extend(p[..6].iter().map(|v| v as &dyn rusqlite::ToSql));
        values.push(&d.interval_ms);
        values.extend(p[6..].iter().map(|v| v as &dyn rusqlite::ToSql));
        day.execute(values.as_slice())?;
    }
    let mut gap = tx.prepare_cached(
        "INSERT INTO supply_gaps (device, from_ts, to_ts) VALUES (?1, ?2, ?3)
         ON CONFLICT (device, from_ts) DO UPDATE SET to_ts = max(to_ts, excluded.to_ts)",
    )?;
    for g in &delta.gaps {
        gap.execute(params![g.device, g.from_ms, g.to_ms])?;
    }
    Ok(())
}

pub(super) fn supply(
    conn: &Connection,
    first_day: &str,
    last_day: &str,
) -> StoreResult<Vec<DeviceSupply>> {
    let sql = format!(
        "SELECT device, sum(received), sum(duplicates), sum(live), count(*), max(metrics),
             min(first_ts), max(last_ts),
             avg(interval_ms), 0,
             {sums}
         FROM supply_days WHERE day >= ?1 AND day <= ?2
         GROUP BY device ORDER BY device",
        sums = latency_columns(|i| format!("sum(l{i})")),
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![first_day, last_day], |r| {
        let mut latency = [0u64; LATENCY_BUCKETS];
        for (i, l) in latency.iter_mut().enumerate() {
            *l = r.get::<_, i64>(10 + i)?.max(0) as u64;
        }
        let interval: Option<f64> = r.get(8)?;
        Ok(DeviceSupply {
            device: r.get(0)?,
            received: r.get::<_, i64>(1)?.max(0) as u64,
            duplicates: r.get::<_, i64>(2)?.max(0) as u64,
            live: r.get::<_, i64>(3)?.max(0) as u64,
            days: r.get(4)?,
            metrics: r.get(5)?,
            first_ts: r.get(6)?,
            last_ts: r.get(7)?,
            interval_ms: interval.filter(|i| *i > 0.0),
            latency,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn gaps(conn: &Connection, from: i64, to: i64) -> StoreResult<Vec<SupplyGap>> {
    let mut stmt = conn.prepare_cached(
        "SELECT device, from_ts, to_ts FROM supply_gaps WHERE to_ts > ?1 AND from_ts < ?2
         ORDER BY device, from_ts",
    )?;
    let rows = stmt.query_map(params![from, to], |r| {
        Ok(SupplyGap {
            device: r.get(0)?,
            from_ms: r.get(1)?,
            to_ms: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn rejections(conn: &Connection, from: i64, to: i64) -> StoreResult<Vec<Rejections>> {
    let mut stmt = conn.prepare_cached(
        "SELECT topic, reason, count(*) FROM dead_letters
         WHERE received_at >= ?1 AND received_at < ?2 GROUP BY topic, reason ORDER BY topic, reason",
    )?;
    let rows = stmt.query_map(params![from, to], |r| {
        Ok(Rejections {
            topic: r.get(0)?,
            reason: r.get(1)?,
            count: r.get::<_, i64>(2)?.max(0) as u64,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

const ISSUED_COLS: &str = "id, kind, period, version, issued_at, issued_by, sha256";

fn issued_row(r: &rusqlite::Row<'_>, bodies: bool) -> rusqlite::Result<IssuedReport> {
    Ok(IssuedReport {
        id: r.get(0)?,
        kind: r.get(1)?,
        period: r.get(2)?,
        version: r.get(3)?,
        issued_at: r.get(4)?,
        issued_by: r.get(5)?,
        sha256: r.get(6)?,
        json: if bodies { r.get(7)? } else { String::new() },
        csv: if bodies { r.get(8)? } else { String::new() },
    })
}

pub(super) fn insert_issued(
    tx: &Transaction<'_>,
    r: &IssuedReport,
    first_only: bool,
) -> StoreResult<Option<IssuedReport>> {
    let version: u32 = tx.query_row(
        "SELECT coalesce(max(version), 0) + 1 FROM issued_reports WHERE kind = ?1 AND period = ?2",
        params![r.kind, r.period],
        |row| row.get(0),
    )?;
    if first_only && version > 1 {
        return Ok(None);
    }
    let id: i64 = tx.query_row(
        "INSERT INTO issued_reports (kind, period, version, issued_at, issued_by, sha256, json, csv)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
        params![r.kind, r.period, version, r.issued_at, r.issued_by, r.sha256, r.json, r.csv],
        |row| row.get(0),
    )?;
    Ok(Some(IssuedReport {
        id,
        version,
        ..r.clone()
    }))
}

pub(super) fn issued(conn: &Connection) -> StoreResult<Vec<IssuedReport>> {
    let sql = format!("SELECT {ISSUED_COLS} FROM issued_reports ORDER BY id DESC");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([], |r| issued_row(r, false))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(super) fn issued_one(conn: &Connection, id: i64) -> StoreResult<Option<IssuedReport>> {
    use rusqlite::OptionalExtension;
    let sql = format!("SELECT {ISSUED_COLS}, json, csv FROM issued_reports WHERE id = ?1");
    Ok(conn
        .query_row(&sql, [id], |r| issued_row(r, true))
        .optional()?)
}
