//! Reading series in SQLite: raw points, raw buckets, and buckets served from the rollup tables
//! where they are complete (see [`crate::storage::rollup`]), plus the rollup bookkeeping row.

use rusqlite::{Connection, OptionalExtension, params};

use crate::storage::rollup::{self, Agg, Watermarks, unrolled_after};
use crate::storage::*;

pub(super) fn watermarks(conn: &Connection) -> rusqlite::Result<Watermarks> {
    conn.prepare_cached(
        "SELECT claimed, rolled_1m, rolled_1h, raw_floor, rollup_floor FROM rollup_state",
    )?
    .query_row([], |r| {
        Ok(Watermarks {
            claimed: r.get(0)?,
            rolled_1m: r.get(1)?,
            rolled_1h: r.get(2)?,
            raw_floor: r.get(3)?,
            rollup_floor: r.get(4)?,
        })
    })
}

pub(super) fn readings(conn: &Connection, q: &ReadingsQuery) -> StoreResult<Vec<Point>> {
    let sid: Option<i64> = conn
        .prepare_cached("SELECT id FROM series WHERE device = ?1 AND metric = ?2")?
        .query_row(params![q.device, q.metric], |r| r.get(0))
        .optional()?;
    let Some(sid) = sid else {
        return Ok(Vec::new());
    };
    let Some(step) = q.step_ms else {
        return Ok(conn
            .prepare_cached(
                "SELECT ts, value FROM readings WHERE series = ?1 AND ts >= ?2 AND ts < ?3
                 ORDER BY ts LIMIT ?4",
            )?
            .query_map(params![sid, q.from_ms, q.to_ms, q.limit], |r| {
                Ok(Point::Raw {
                    ts: r.get(0)?,
                    value: r.get(1)?,
                })
            })?
            .collect::<Result<_, _>>()?);
    };
    let Some(plan) = rollup::plan(q, &watermarks(conn)?) else {
        return Ok(conn
            .prepare_cached(
                "SELECT ts - (ts % ?4) AS b, min(value), avg(value), max(value), count(*)
                 FROM readings WHERE series = ?1 AND ts >= ?2 AND ts < ?3
                 GROUP BY b ORDER BY b LIMIT ?5",
            )?
            .query_map(params![sid, q.from_ms, q.to_ms, step, q.limit], |r| {
                Ok(Point::Bucket {
                    ts: r.get(0)?,
                    min: r.get(1)?,
                    avg: r.get(2)?,
                    max: r.get(3)?,
                    count: r.get::<_, i64>(4)? as u64,
                })
            })?
            .collect::<Result<_, _>>()?);
    };
    let plan = unrolled_after(plan, dirty_from(conn, sid, &plan)?);
    // Raw head, rollups, raw tail; each part is limited on its own, which keeps the first
    // `limit` buckets of the whole exact because the parts follow each other in time.
    let raw_sql = "SELECT ts - (ts % ?4) AS b, min(value), max(value), sum(value), count(*)
                   FROM readings WHERE series = ?1 AND ts >= ?2 AND ts < ?3
                   GROUP BY b ORDER BY b LIMIT ?5";
    let rolled_sql = format!(
        "SELECT bucket - (bucket % ?4) AS b, min(min), max(max), sum(sum), sum(count)
         FROM {} WHERE series = ?1 AND bucket >= ?2 AND bucket < ?3
         GROUP BY b ORDER BY b LIMIT ?5",
        plan.level.table()
    );
    let mut parts = Vec::new();
    for (sql, from, to) in [
        (raw_sql, q.from_ms, plan.from_ms),
        (rolled_sql.as_str(), plan.from_ms, plan.to_ms),
        (raw_sql, plan.to_ms, q.to_ms),
    ] {
        if from >= to {
            continue;
        }
        let mut stmt = conn.prepare_cached(sql)?;
        let rows = stmt.query_map(params![sid, from, to, step, q.limit], |r| {
            Ok(Agg {
                ts: r.get(0)?,
                min: r.get(1)?,
                max: r.get(2)?,
                sum: r.get(3)?,
                count: r.get::<_, i64>(4)?.max(0) as u64,
            })
        })?;
        for a in rows {
            parts.push(a?);
        }
    }
    Ok(rollup::merge(parts, q.limit))
}

/// The earliest minute of the plan's range still waiting to be re-rolled (late readings).
fn dirty_from(conn: &Connection, sid: i64, plan: &rollup::Plan) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached(
        "SELECT min(bucket) FROM rollup_dirty WHERE series = ?1 AND bucket >= ?2 AND bucket < ?3",
    )?
    .query_row(params![sid, plan.from_ms, plan.to_ms], |r| r.get(0))
}
