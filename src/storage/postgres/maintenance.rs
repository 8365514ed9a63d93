//! The maintenance pass of the PostgreSQL backend: roll closed minutes and hours forward, re-roll
//! dirty minutes, drop daily partitions and rollups past their retention (the algorithm is in
//! [`crate::storage::rollup`]).
//!
//! Writers run concurrently, so the claim is fenced: a write transaction holds
//! `ROLLUP_LOCK` shared from its start, and the pass moves `claimed` under it exclusively. Once
//! the claim commits, every write that had begun has committed (its readings are visible to the
//! roll that follows), and every later write sees the new `claimed` and marks its minute dirty.
//! Dirty entries are deleted only if no write bumped their `marks` meanwhile. One pass at a time
//! across hubs (`MAINTAIN_LOCK`, try-lock: a second hub skips). Queries go series by series
//! (`LATERAL`) through the `(series, ts)` keys: a range on time alone would scan whole days.

use std::collections::BTreeSet;
use std::time::SystemTime;

use super::buckets::watermarks;
use super::error::{PgResult, to_time};
use super::partition::{Partitions, day_of};
use super::timescale::{self, Layout};
use crate::storage::rollup::{
    DIRTY_BATCH, HOUR_MS, MINUTE_MS, MaintenanceReport, RetentionPolicy, chunk_end, floor,
};

/// Fences `claimed` against in-flight writes ("iochubru").
pub(super) const ROLLUP_LOCK: i64 = 0x696f_6368_7562_7275;
/// One maintenance pass at a time across processes ("iochubmt").
const MAINTAIN_LOCK: i64 = 0x696f_6368_7562_6d74;

const UPSERT: &str = "ON CONFLICT (series, bucket) DO UPDATE SET min = excluded.min, \
                      max = excluded.max, sum = excluded.sum, count = excluded.count";

fn roll_minutes(source: &str) -> String {
    format!(
        "INSERT INTO readings_1m (series, bucket, min, max, sum, count)
         SELECT s.id, b.* FROM {source} CROSS JOIN LATERAL (
             SELECT date_bin('1 minute', r.ts, timestamptz '1970-01-01 00:00:00+00'),
                    min(r.value), max(r.value), sum(r.value), count(*)
             FROM readings r WHERE r.series = s.id AND r.ts >= s.lo AND r.ts < s.hi
             GROUP BY 1) b
         {UPSERT}"
    )
}

fn roll_hours(source: &str) -> String {
    format!(
        "INSERT INTO readings_1h (series, bucket, min, max, sum, count)
         SELECT s.id, b.* FROM {source} CROSS JOIN LATERAL (
             SELECT date_bin('1 hour', m.bucket, timestamptz '1970-01-01 00:00:00+00'),
                    min(m.min), max(m.max), sum(m.sum), sum(m.count)::bigint
             FROM readings_1m m WHERE m.series = s.id AND m.bucket >= s.lo AND m.bucket < s.hi
             GROUP BY 1) b
         {UPSERT}"
    )
}

/// Every series over one range `[$1, $2)`.
const ALL_SERIES: &str = "(SELECT id, $1::timestamptz AS lo, $2::timestamptz AS hi FROM series) s";
/// Listed series, each over its own range of `width`: `$1` ids, `$2` starts.
fn listed(width: &str) -> String {
    format!(
        "(SELECT id, lo, lo + interval '{width}' AS hi
          FROM unnest($1::bigint[], $2::timestamptz[]) AS l (id, lo)) s"
    )
}

pub(super) async fn maintain(
    client: &mut deadpool_postgres::Object,
    layout: Layout,
    partitions: &Partitions,
    now_ms: i64,
    policy: RetentionPolicy,
) -> PgResult<MaintenanceReport> {
    let got: bool = client
        .query_one("SELECT pg_try_advisory_lock($1)", &[&MAINTAIN_LOCK])
        .await?
        .try_get(0)?;
    if !got {
        tracing::debug!("another hub is maintaining the rollups; skipped");
        return Ok(MaintenanceReport::default());
    }
    let out = pass(client, layout, partitions, now_ms, policy).await;
    // On a broken connection the session lock went with the session.
    let _ = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MAINTAIN_LOCK])
        .await;
    out
}

async fn pass(
    client: &mut deadpool_postgres::Object,
    layout: Layout,
    partitions: &Partitions,
    now_ms: i64,
    policy: RetentionPolicy,
) -> PgResult<MaintenanceReport> {
    let target = floor(now_ms, MINUTE_MS);
    let mut report = MaintenanceReport::default();
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&ROLLUP_LOCK])
        .await?;
    tx.execute(
        "UPDATE rollup_state SET claimed = greatest(coalesce(claimed, $1), $1)",
        &[&to_time(target)],
    )
    .await?;
    tx.commit().await?;

    while !forward(client, layout, target, &mut report).await? {}
    while dirty(client, layout, &mut report).await? {}
    if let Some(cut) = policy.raw_cutoff(now_ms) {
        drop_raw(client, layout, partitions, cut, &mut report).await?;
    }
    if let Some(cut) = policy.rollup_cutoff(now_ms) {
        drop_rollups(client, layout, cut, &mut report).await?;
    }
    report.rolled_to = watermarks(&*client).await?.rolled_1m;
    Ok(report)
}

/// The earliest reading at or after `from`, found series by series through the primary key.
async fn first_reading(
    tx: &deadpool_postgres::Transaction<'_>,
    from: i64,
) -> PgResult<Option<i64>> {
    let row = tx
        .query_one(
            "SELECT min((SELECT min(ts) FROM readings WHERE series = s.id AND ts >= $1))
             FROM series s",
            &[&to_time(from)],
        )
        .await?;
    Ok(row
        .try_get::<_, Option<SystemTime>>(0)?
        .map(super::error::to_ms))
}

/// Rolls one chunk forward; true once `rolled_1m` reached `target`.
async fn forward(
    client: &mut deadpool_postgres::Object,
    layout: Layout,
    target: i64,
    report: &mut MaintenanceReport,
) -> PgResult<bool> {
    let tx = client.transaction().await?;
    let m = watermarks(&tx).await?;
    let mut start = match m.rolled_1m {
        Some(s) => s,
        None => first_reading(&tx, super::error::PG_MIN_MS)
            .await?
            .map_or(target, |t| floor(t, HOUR_MS)),
    };
    // Skip stretches without readings (first start on old data, a long stop).
    if start < target {
        start = match first_reading(&tx, start).await? {
            Some(t) => start.max(floor(t, HOUR_MS)).min(target),
            None => target,
        };
    }
    let chunk = chunk_end(start, target);
    let (done, end) = (chunk.is_none(), chunk.unwrap_or(start));
    let rolled_1m = m.rolled_1m.map_or(end, |r| r.max(end));
    let h_from = m.rolled_1h.unwrap_or_else(|| floor(start, HOUR_MS));
    let h_to = floor(rolled_1m, HOUR_MS).max(h_from);
    let moved = m.rolled_1m != Some(rolled_1m) || m.rolled_1h != Some(h_to);
    let advance = "UPDATE rollup_state SET rolled_1m = $1, rolled_1h = $2";
    let advance_to: [&(dyn tokio_postgres::types::ToSql + Sync); 2] =
        [&to_time(rolled_1m), &to_time(h_to)];
    if layout == Layout::Timescale {
        // Refreshes cannot run in a transaction; one pass at a time (MAINTAIN_LOCK) and the
        // watermarks moving only after the refreshes keep this safe to interrupt.
        tx.commit().await?;
        if !done {
            report.buckets_1m += timescale::refresh(client, "readings_1m", start, end).await?;
        }
        if h_from < h_to {
            report.buckets_1h += timescale::refresh(client, "readings_1h", h_from, h_to).await?;
        }
        if moved {
            client.execute(advance, &advance_to).await?;
        }
        return Ok(done);
    }
    if !done {
        let sql = roll_minutes(ALL_SERIES);
        report.buckets_1m += tx.execute(&sql, &[&to_time(start), &to_time(end)]).await?;
    }
    if h_from < h_to {
        let sql = roll_hours(ALL_SERIES);
        report.buckets_1h += tx
            .execute(&sql, &[&to_time(h_from), &to_time(h_to)])
            .await?;
    }
    if moved {
        tx.execute(advance, &advance_to).await?;
    }
    tx.commit().await?;
    Ok(done)
}

/// Re-rolls one batch of dirty minutes (and their hours); true when there may be more.
async fn dirty(
    client: &mut deadpool_postgres::Object,
    layout: Layout,
    report: &mut MaintenanceReport,
) -> PgResult<bool> {
    let tx = client.transaction().await?;
    let m = watermarks(&tx).await?;
    let Some(rolled_1m) = m.rolled_1m else {
        return Ok(false);
    };
    let rolled_1h = m.rolled_1h.unwrap_or(i64::MIN);
    let rows = tx
        .query(
            "SELECT series, bucket, marks FROM rollup_dirty WHERE bucket < $1
             ORDER BY series, bucket LIMIT $2",
            &[&to_time(rolled_1m), &(DIRTY_BATCH as i64)],
        )
        .await?;
    let (mut ids, mut minutes, mut marks) = (Vec::new(), Vec::new(), Vec::new());
    for r in &rows {
        ids.push(r.try_get::<_, i64>(0)?);
        minutes.push(r.try_get::<_, SystemTime>(1)?);
        marks.push(r.try_get::<_, i64>(2)?);
    }
    // Below the raw floor the raw minute is incomplete: keep the rollup made from it whole.
    let (mut roll_ids, mut roll_minutes_at, mut hours) = (Vec::new(), Vec::new(), BTreeSet::new());
    for (&id, &at) in ids.iter().zip(&minutes) {
        let ms = super::error::to_ms(at);
        if m.raw_floor.is_some_and(|f| ms < f) {
            continue;
        }
        roll_ids.push(id);
        roll_minutes_at.push(at);
        let hour = floor(ms, HOUR_MS);
        if hour < rolled_1h {
            hours.insert((id, hour));
        }
    }
    // Locks the entries in (series, bucket) order, as writers mark them (write.rs): taken in
    // whatever order the join yields, a writer marking two of them deadlocked with this.
    let forget = "DELETE FROM rollup_dirty d USING (
             SELECT r.series, r.bucket FROM rollup_dirty r
             JOIN unnest($1::bigint[], $2::timestamptz[], $3::bigint[]) AS x (series, bucket, marks)
               ON r.series = x.series AND r.bucket = x.bucket AND r.marks = x.marks
             ORDER BY r.series, r.bucket
             FOR UPDATE OF r
         ) l
         WHERE d.series = l.series AND d.bucket = l.bucket";
    if layout == Layout::Timescale {
        // TimescaleDB tracks which buckets late rows invalidated: refreshing the window that
        // spans the dirty minutes (and their hours) re-materialises just those.
        tx.commit().await?;
        let minutes_ms = roll_minutes_at.iter().map(|&t| super::error::to_ms(t));
        if let Some((lo, hi)) = span(minutes_ms, MINUTE_MS) {
            report.buckets_1m += timescale::refresh(client, "readings_1m", lo, hi).await?;
        }
        if let Some((lo, hi)) = span(hours.iter().map(|&(_, h)| h), HOUR_MS) {
            report.buckets_1h += timescale::refresh(client, "readings_1h", lo, hi).await?;
        }
        client.execute(forget, &[&ids, &minutes, &marks]).await?;
    } else {
        if !roll_ids.is_empty() {
            let sql = roll_minutes(&listed("1 minute"));
            report.buckets_1m += tx.execute(&sql, &[&roll_ids, &roll_minutes_at]).await?;
        }
        if !hours.is_empty() {
            let (h_ids, h_at): (Vec<i64>, Vec<SystemTime>) =
                hours.iter().map(|&(id, h)| (id, to_time(h))).unzip();
            let sql = roll_hours(&listed("1 hour"));
            report.buckets_1h += tx.execute(&sql, &[&h_ids, &h_at]).await?;
        }
        tx.execute(forget, &[&ids, &minutes, &marks]).await?;
        tx.commit().await?;
    }
    report.dirty_minutes += rows.len() as u64;
    Ok(rows.len() == DIRTY_BATCH)
}

/// `[first, last + width)` of bucket starts, `None` when there are none.
fn span(starts: impl Iterator<Item = i64>, width: i64) -> Option<(i64, i64)> {
    let (lo, hi) = starts.fold((i64::MAX, i64::MIN), |(lo, hi), t| (lo.min(t), hi.max(t)));
    (lo <= hi).then_some((lo, hi + width))
}

/// Drops the daily partitions of raw readings that end before `cut` — but never at or above
/// `rolled_1m`, so raw data goes only once it is rolled up.
async fn drop_raw(
    client: &mut deadpool_postgres::Object,
    layout: Layout,
    partitions: &Partitions,
    cut: i64,
    report: &mut MaintenanceReport,
) -> PgResult<()> {
    let m = watermarks(&*client).await?;
    let Some(rolled_1m) = m.rolled_1m else {
        return Ok(());
    };
    let cut_day = day_of(cut.min(rolled_1m));
    let floor_ms = cut_day * crate::storage::rollup::DAY_MS;
    if m.raw_floor.is_some_and(|f| f >= floor_ms) {
        return Ok(());
    }
    report.partitions_dropped = match layout {
        Layout::Native => partitions.drop_before(client, cut_day).await?,
        Layout::Timescale => timescale::drop_raw_chunks(client, floor_ms).await?,
    };
    client
        .execute(
            "UPDATE rollup_state SET raw_floor = $1",
            &[&to_time(floor_ms)],
        )
        .await?;
    Ok(())
}

/// Deletes rollups below `cut` (hour-aligned, so this runs once an hour at most), series by
/// series through the primary key.
async fn drop_rollups(
    client: &mut deadpool_postgres::Object,
    layout: Layout,
    cut: i64,
    report: &mut MaintenanceReport,
) -> PgResult<()> {
    let tx = client.transaction().await?;
    if watermarks(&tx)
        .await?
        .rollup_floor
        .is_some_and(|f| f >= cut)
    {
        return Ok(());
    }
    let cut_at = to_time(cut);
    if layout == Layout::Timescale {
        tx.commit().await?;
        report.rollup_rows_dropped += timescale::drop_rollup_chunks(client, cut).await?;
        client
            .execute("UPDATE rollup_state SET rollup_floor = $1", &[&cut_at])
            .await?;
        return Ok(());
    }
    let ids: Vec<i64> = tx
        .query("SELECT id FROM series", &[])
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?;
    for table in ["readings_1m", "readings_1h"] {
        let stmt = tx
            .prepare_cached(&format!(
                "DELETE FROM {table} WHERE series = $1 AND bucket < $2"
            ))
            .await?;
        for id in &ids {
            report.rollup_rows_dropped += tx.execute(&stmt, &[id, &cut_at]).await?;
        }
    }
    tx.execute("UPDATE rollup_state SET rollup_floor = $1", &[&cut_at])
        .await?;
    tx.commit().await?;
    Ok(())
}
