//! Row mapping and the read queries of the PostgreSQL backend: devices with their latest values,
//! readings (raw and bucketed), alerts, dead letters, users and sessions.

use std::collections::HashMap;

use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

use super::error::{PgResult, to_ms, to_time};
use crate::pipeline::DeadLetter;
use crate::storage::*;

/// Any connection or transaction: the reads run on pooled connections, and the write path reads
/// back the rows it just changed inside its transaction.
pub(super) use deadpool_postgres::GenericClient;

pub(super) const DEVICE_COLS: &str = "key, name, lat, lon, registered, online, first_seen, \
     last_seen, gateway, system, tags, expected_interval_s, areas";

pub(super) fn device_row(r: &Row) -> PgResult<Device> {
    Ok(Device {
        key: r.try_get(0)?,
        name: r.try_get(1)?,
        lat: r.try_get(2)?,
        lon: r.try_get(3)?,
        registered: r.try_get(4)?,
        online: r.try_get(5)?,
        first_seen: to_ms(r.try_get(6)?),
        last_seen: to_ms(r.try_get(7)?),
        gateway: r.try_get(8)?,
        system: r.try_get(9)?,
        system_from: match r.try_get::<_, Option<&str>>(9)? {
            Some(_) => "device",
            None => "none",
        },
        tags: r.try_get(10)?,
        areas: r.try_get(12)?,
        expected_interval_s: r.try_get(11)?,
        latest: Vec::new(),
    })
}

/// Latest value per (device, metric), for one device or all, ordered by device then metric.
pub(super) async fn latest_of(
    c: &impl GenericClient,
    device: Option<&str>,
) -> PgResult<Vec<(String, LatestValue)>> {
    let stmt = c
        .prepare_cached(
            "SELECT device, metric, last_value, last_ts FROM series
             WHERE last_ts IS NOT NULL AND ($1::text IS NULL OR device = $1)
             ORDER BY device, metric",
        )
        .await?;
    c.query(&stmt, &[&device])
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.try_get(0)?,
                LatestValue {
                    metric: r.try_get(1)?,
                    value: r.try_get(2)?,
                    ts: to_ms(r.try_get(3)?),
                    unit: None,
                },
            ))
        })
        .collect()
}

pub(super) async fn all_devices(c: &impl GenericClient) -> PgResult<Vec<Device>> {
    let sql = format!("SELECT {DEVICE_COLS} FROM devices ORDER BY key");
    let mut devices = c
        .query(&sql, &[])
        .await?
        .iter()
        .map(device_row)
        .collect::<PgResult<Vec<_>>>()?;
    // Grouped by key, not merged by walking both lists: that would depend on PostgreSQL and Rust
    // ordering strings alike, which holds for COLLATE "C" but is easy to break later.
    let mut latest: HashMap<String, Vec<LatestValue>> = HashMap::new();
    for (device, l) in latest_of(c, None).await? {
        latest.entry(device).or_default().push(l);
    }
    for d in &mut devices {
        d.latest = latest.remove(&d.key).unwrap_or_default();
    }
    Ok(devices)
}

pub(super) async fn device_by_key(c: &impl GenericClient, key: &str) -> PgResult<Option<Device>> {
    let sql = format!("SELECT {DEVICE_COLS} FROM devices WHERE key = $1");
    let Some(row) = c.query_opt(&sql, &[&key]).await? else {
        return Ok(None);
    };
    let mut d = device_row(&row)?;
    d.latest = latest_of(c, Some(key))
        .await?
        .into_iter()
        .map(|(_, l)| l)
        .collect();
    Ok(Some(d))
}

/// Raw points, or min/avg/max/count buckets on the epoch grid (bucket start = ts − ts mod step),
/// of one series in `[from, to)`. The series is looked up in the same statement (an init plan),
/// and the time bounds let the planner skip the partitions of other days.
pub(super) async fn readings(c: &impl GenericClient, q: &ReadingsQuery) -> PgResult<Vec<Point>> {
    let (from, to) = (to_time(q.from_ms), to_time(q.to_ms));
    let limit = i64::from(q.limit);
    match q.step_ms {
        None => {
            let stmt = c
                .prepare_cached(
                    "SELECT ts, value FROM readings
                     WHERE series = (SELECT id FROM series WHERE device = $1 AND metric = $2)
                       AND ts >= $3 AND ts < $4
                     ORDER BY ts LIMIT $5",
                )
                .await?;
            let params: [&(dyn ToSql + Sync); 5] = [&q.device, &q.metric, &from, &to, &limit];
            c.query(&stmt, &params)
                .await?
                .iter()
                .map(|r| {
                    Ok(Point::Raw {
                        ts: to_ms(r.try_get(0)?),
                        value: r.try_get(1)?,
                    })
                })
                .collect()
        }
        Some(step) => {
            // date_bin with origin at the epoch is exactly ts − ts mod step for the times the
            // hub stores; the stride is built from integer milliseconds so it is exact too.
            let stmt = c
                .prepare_cached(
                    "SELECT date_bin($5::bigint * interval '1 millisecond', ts,
                                     timestamptz '1970-01-01 00:00:00+00') AS b,
                            min(value), avg(value), max(value), count(*)
                     FROM readings
                     WHERE series = (SELECT id FROM series WHERE device = $1 AND metric = $2)
                       AND ts >= $3 AND ts < $4
                     GROUP BY b ORDER BY b LIMIT $6",
                )
                .await?;
            let step = step.max(1);
            let params: [&(dyn ToSql + Sync); 6] =
                [&q.device, &q.metric, &from, &to, &step, &limit];
            c.query(&stmt, &params)
                .await?
                .iter()
                .map(|r| {
                    Ok(Point::Bucket {
                        ts: to_ms(r.try_get(0)?),
                        min: r.try_get(1)?,
                        avg: r.try_get(2)?,
                        max: r.try_get(3)?,
                        count: u64::try_from(r.try_get::<_, i64>(4)?).unwrap_or(0),
                    })
                })
                .collect()
        }
    }
}

pub(super) async fn dead_letters(
    c: &impl GenericClient,
    limit: u32,
    before_id: Option<i64>,
) -> PgResult<Vec<DeadLetter>> {
    let stmt = c
        .prepare_cached(
            "SELECT id, received_at, topic, reason, detail, payload FROM dead_letters
             WHERE ($1::bigint IS NULL OR id < $1) ORDER BY id DESC LIMIT $2",
        )
        .await?;
    c.query(&stmt, &[&before_id, &i64::from(limit)])
        .await?
        .iter()
        .map(|r| {
            Ok(DeadLetter {
                id: r.try_get(0)?,
                received_at: to_ms(r.try_get(1)?),
                topic: r.try_get(2)?,
                reason: r.try_get(3)?,
                detail: r.try_get(4)?,
                payload: r.try_get(5)?,
            })
        })
        .collect()
}
