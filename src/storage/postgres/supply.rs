//! Data-supply counts in PostgreSQL: the batcher's tallies added per (local day, device) in one
//! statement per hand-over, silences, and what the report reads back.

use deadpool_postgres::GenericClient;

use super::error::{PgResult, to_ms, to_time};
use crate::pipeline::supply::{LATENCY_BUCKETS, SupplyDelta, SupplyGap};
use crate::reports::model::IssuedReport;
use crate::storage::{DeviceSupply, Rejections};

const ADD_DAYS: &str = "
    INSERT INTO supply_days (device, day, received, duplicates, live, first_ts, last_ts, metrics,
                             interval_ms, latency)
    SELECT d, day::date, r, dup, l, f, la, m, iv, lat::bigint[]
    FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[],
                $6::timestamptz[], $7::timestamptz[], $8::int[], $10::bigint[], $9::text[])
         AS t (d, day, r, dup, l, f, la, m, iv, lat)
    ORDER BY 2, 1
    ON CONFLICT (day, device) DO UPDATE SET
        received = supply_days.received + excluded.received,
        duplicates = supply_days.duplicates + excluded.duplicates,
        live = supply_days.live + excluded.live,
        first_ts = least(supply_days.first_ts, excluded.first_ts),
        last_ts = greatest(supply_days.last_ts, excluded.last_ts),
        metrics = greatest(supply_days.metrics, excluded.metrics),
        interval_ms = coalesce(excluded.interval_ms, supply_days.interval_ms),
        latency = ARRAY(SELECT a + b FROM unnest(supply_days.latency, excluded.latency) AS x (a, b))";

const ADD_GAPS: &str = "
    INSERT INTO supply_gaps (device, from_ts, to_ts)
    SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[]) ORDER BY 1, 2
    ON CONFLICT (device, from_ts) DO UPDATE SET
        to_ts = greatest(supply_gaps.to_ts, excluded.to_ts)";

pub(super) async fn add(c: &impl GenericClient, delta: &SupplyDelta) -> PgResult<()> {
    if !delta.days.is_empty() {
        let days = &delta.days;
        let text = |f: fn(&crate::pipeline::supply::SupplyDay) -> &str| -> Vec<&str> {
            days.iter().map(f).collect()
        };
        let count = |f: fn(&crate::pipeline::supply::SupplyDay) -> u64| -> Vec<i64> {
            days.iter().map(|d| f(d) as i64).collect()
        };
        let first: Vec<_> = days.iter().map(|d| to_time(d.first_ts)).collect();
        let last: Vec<_> = days.iter().map(|d| to_time(d.last_ts)).collect();
        let metrics: Vec<i32> = days.iter().map(|d| d.metrics as i32).collect();
        let latency: Vec<String> = days
            .iter()
            .map(|d| {
                let n: Vec<String> = d.latency.iter().map(u64::to_string).collect();
                format!("{{{}}}", n.join(","))
            })
            .collect();
        let intervals: Vec<Option<i64>> = days.iter().map(|d| d.interval_ms).collect();
        let stmt = c.prepare_cached(ADD_DAYS).await?;
        c.execute(
            &stmt,
            &[
                &text(|d| &d.device),
                &text(|d| &d.day),
                &count(|d| d.received),
                &count(|d| d.duplicates),
                &count(|d| d.live),
                &first,
                &last,
                &metrics,
                &latency,
                &intervals,
            ],
        )
        .await?;
    }
    if !delta.gaps.is_empty() {
        let devices: Vec<&str> = delta.gaps.iter().map(|g| g.device.as_str()).collect();
        let from: Vec<_> = delta.gaps.iter().map(|g| to_time(g.from_ms)).collect();
        let to: Vec<_> = delta.gaps.iter().map(|g| to_time(g.to_ms)).collect();
        let stmt = c.prepare_cached(ADD_GAPS).await?;
        c.execute(&stmt, &[&devices, &from, &to]).await?;
    }
    Ok(())
}

pub(super) async fn supply(
    c: &impl GenericClient,
    first_day: &str,
    last_day: &str,
) -> PgResult<Vec<DeviceSupply>> {
    let sums: Vec<String> = (1..=LATENCY_BUCKETS)
        .map(|i| format!("sum(latency[{i}])::bigint"))
        .collect();
    let sql = format!(
        "SELECT device, sum(received)::bigint, sum(duplicates)::bigint, sum(live)::bigint,
             count(*)::int, max(metrics), min(first_ts), max(last_ts),
             avg(interval_ms)::float8, 0::float8,
             {sums}
         FROM supply_days WHERE day >= $1::text::date AND day <= $2::text::date
         GROUP BY device ORDER BY device",
        sums = sums.join(", ")
    );
    let stmt = c.prepare_cached(&sql).await?;
    c.query(&stmt, &[&first_day, &last_day])
        .await?
        .iter()
        .map(|r| {
            let mut latency = [0u64; LATENCY_BUCKETS];
            for (i, l) in latency.iter_mut().enumerate() {
                *l = r.try_get::<_, i64>(10 + i)?.max(0) as u64;
            }
            let interval: Option<f64> = r.try_get(8)?;
            Ok(DeviceSupply {
                device: r.try_get(0)?,
                received: r.try_get::<_, i64>(1)?.max(0) as u64,
                duplicates: r.try_get::<_, i64>(2)?.max(0) as u64,
                live: r.try_get::<_, i64>(3)?.max(0) as u64,
                days: r.try_get::<_, i32>(4)?.max(0) as u32,
                metrics: r.try_get::<_, i32>(5)?.max(0) as u32,
                first_ts: to_ms(r.try_get(6)?),
                last_ts: to_ms(r.try_get(7)?),
                interval_ms: interval.filter(|i| *i > 0.0),
                latency,
            })
        })
        .collect()
}

pub(super) async fn gaps(c: &impl GenericClient, from: i64, to: i64) -> PgResult<Vec<SupplyGap>> {
    let stmt = c
        .prepare_cached(
            "SELECT device, from_ts, to_ts FROM supply_gaps WHERE to_ts > $1 AND from_ts < $2
             ORDER BY device, from_ts",
        )
        .await?;
    c.query(&stmt, &[&to_time(from), &to_time(to)])
        .await?
        .iter()
        .map(|r| {
            Ok(SupplyGap {
                device: r.try_get(0)?,
                from_ms: to_ms(r.try_get(1)?),
                to_ms: to_ms(r.try_get(2)?),
            })
        })
        .collect()
}

pub(super) async fn rejections(
    c: &impl GenericClient,
    from: i64,
    to: i64,
) -> PgResult<Vec<Rejections>> {
    let stmt = c
        .prepare_cached(
            "SELECT topic, reason, count(*) FROM dead_letters
             WHERE received_at >= $1 AND received_at < $2
             GROUP BY topic, reason ORDER BY topic, reason",
        )
        .await?;
    c.query(&stmt, &[&to_time(from), &to_time(to)])
        .await?
        .iter()
        .map(|r| {
            Ok(Rejections {
                topic: r.try_get(0)?,
                reason: r.try_get(1)?,
                count: r.try_get::<_, i64>(2)?.max(0) as u64,
            })
        })
        .collect()
}

const ISSUED_COLS: &str = "id, kind, period, version, issued_at, issued_by, sha256";

fn issued_row(r: &tokio_postgres::Row, bodies: bool) -> PgResult<IssuedReport> {
    Ok(IssuedReport {
        id: r.try_get(0)?,
        kind: r.try_get(1)?,
        period: r.try_get(2)?,
        version: r.try_get::<_, i32>(3)?.max(0) as u32,
        issued_at: to_ms(r.try_get(4)?),
        issued_by: r.try_get(5)?,
        sha256: r.try_get(6)?,
        json: if bodies { r.try_get(7)? } else { String::new() },
        csv: if bodies { r.try_get(8)? } else { String::new() },
    })
}

/// The next version of (kind, period), numbered under a transaction-scoped advisory lock on the
/// pair, so that two hubs issuing at once do not both take it.
pub(super) async fn insert_issued(
    c: &mut deadpool_postgres::Object,
    r: &IssuedReport,
    first_only: bool,
) -> PgResult<Option<IssuedReport>> {
    let tx = c.transaction().await?;
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('issued_reports:' || $1 || ':' || $2))",
        &[&r.kind, &r.period],
    )
    .await?;
    let row = tx
        .query_opt(
            "INSERT INTO issued_reports (kind, period, version, issued_at, issued_by, sha256, json,
                 csv)
             SELECT $1, $2, coalesce(max(version), 0) + 1, $3, $4, $5, $6, $7
             FROM issued_reports WHERE kind = $1 AND period = $2
             HAVING NOT $8 OR count(*) = 0
             RETURNING id, version",
            &[
                &r.kind,
                &r.period,
                &to_time(r.issued_at),
                &r.issued_by,
                &r.sha256,
                &r.json,
                &r.csv,
                &first_only,
            ],
        )
        .await?;
    let Some(row) = row else {
        tx.commit().await?;
        return Ok(None);
    };
    let (id, version): (i64, i32) = (row.try_get(0)?, row.try_get(1)?);
    tx.commit().await?;
    Ok(Some(IssuedReport {
        id,
        version: version.max(0) as u32,
        ..r.clone()
    }))
}

pub(super) async fn issued(c: &impl GenericClient) -> PgResult<Vec<IssuedReport>> {
    let sql = format!("SELECT {ISSUED_COLS} FROM issued_reports ORDER BY id DESC");
    c.query(&sql, &[])
        .await?
        .iter()
        .map(|r| issued_row(r, false))
        .collect()
}

pub(super) async fn issued_one(c: &impl GenericClient, id: i64) -> PgResult<Option<IssuedReport>> {
    let sql = format!("SELECT {ISSUED_COLS}, json, csv FROM issued_reports WHERE id = $1");
    c.query_opt(&sql, &[&id])
        .await?
        .as_ref()
        .map(|r| issued_row(r, true))
        .transpose()
}
