//! Bucketed reads that use the rollup tables where they are complete (see
//! [`crate::storage::rollup`]): a raw head up to the first whole bucket of the level, the
//! rollups up to the level's watermark, and a raw tail after it, merged bucket by bucket.

use tokio_postgres::types::ToSql;

use super::error::{PgResult, to_ms, to_time};
use super::read::GenericClient;
use crate::storage::rollup::{self, Agg, Watermarks, unrolled_after};
use crate::storage::*;

pub(super) async fn watermarks(c: &impl GenericClient) -> PgResult<Watermarks> {
    let stmt = c
        .prepare_cached(
            "SELECT claimed, rolled_1m, rolled_1h, raw_floor, rollup_floor FROM rollup_state",
        )
        .await?;
    let row = c.query_one(&stmt, &[]).await?;
    let at = |i: usize| -> PgResult<Option<i64>> {
        Ok(row
            .try_get::<_, Option<std::time::SystemTime>>(i)?
            .map(to_ms))
    };
    Ok(Watermarks {
        claimed: at(0)?,
        rolled_1m: at(1)?,
        rolled_1h: at(2)?,
        raw_floor: at(3)?,
        rollup_floor: at(4)?,
    })
}

const RAW_SQL: &str = "
    SELECT date_bin($4::bigint * interval '1 millisecond', ts,
                    timestamptz '1970-01-01 00:00:00+00') AS b,
           min(value), max(value), sum(value), count(*)
    FROM readings WHERE series = $1 AND ts >= $2 AND ts < $3
    GROUP BY b ORDER BY b LIMIT $5";

fn rolled_sql(table: &str) -> String {
    format!(
        "SELECT date_bin($4::bigint * interval '1 millisecond', bucket,
                         timestamptz '1970-01-01 00:00:00+00') AS b,
                min(min), max(max), sum(sum), sum(count)::bigint
         FROM {table} WHERE series = $1 AND bucket >= $2 AND bucket < $3
         GROUP BY b ORDER BY b LIMIT $5"
    )
}

/// The buckets of `q` read partly from rollups, or `None` when no rollup applies (the caller
/// then aggregates raw readings as before).
pub(super) async fn readings(
    c: &impl GenericClient,
    q: &ReadingsQuery,
) -> PgResult<Option<Vec<Point>>> {
    let (Some(step), Some(plan)) = (q.step_ms, rollup::plan(q, &watermarks(c).await?)) else {
        return Ok(None);
    };
    let sid = c
        .query_opt(
            "SELECT id FROM series WHERE device = $1 AND metric = $2",
            &[&q.device, &q.metric],
        )
        .await?;
    let Some(sid) = sid else {
        return Ok(Some(Vec::new()));
    };
    let sid: i64 = sid.try_get(0)?;
    // Minutes waiting to be re-rolled (late readings) are read raw, from the first one on.
    let dirty = c
        .query_one(
            "SELECT min(bucket) FROM rollup_dirty
             WHERE series = $1 AND bucket >= $2 AND bucket < $3",
            &[&sid, &to_time(plan.from_ms), &to_time(plan.to_ms)],
        )
        .await?
        .try_get::<_, Option<std::time::SystemTime>>(0)?
        .map(to_ms);
    let plan = unrolled_after(plan, dirty);
    let limit = i64::from(q.limit);
    let rolled = rolled_sql(plan.level.table());
    let mut parts = Vec::new();
    for (sql, from, to) in [
        (RAW_SQL, q.from_ms, plan.from_ms),
        (rolled.as_str(), plan.from_ms, plan.to_ms),
        (RAW_SQL, plan.to_ms, q.to_ms),
    ] {
        if from >= to {
            continue;
        }
        let stmt = c.prepare_cached(sql).await?;
        let (from, to) = (to_time(from), to_time(to));
        let params: [&(dyn ToSql + Sync); 5] = [&sid, &from, &to, &step, &limit];
        for r in c.query(&stmt, &params).await? {
            parts.push(Agg {
                ts: to_ms(r.try_get(0)?),
                min: r.try_get(1)?,
                max: r.try_get(2)?,
                sum: r.try_get(3)?,
                count: u64::try_from(r.try_get::<_, i64>(4)?).unwrap_or(0),
            });
        }
    }
    Ok(Some(rollup::merge(parts, q.limit)))
}
