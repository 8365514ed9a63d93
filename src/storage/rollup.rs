//! Rollups and retention, the parts both backends share: the retention policy, the report of a
//! maintenance pass, the watermarks, which rollup level a bucketed query may read, and merging
//! bucket aggregates from several sources into the points the API returns.
//!
//! How it works (each backend implements the SQL):
//! - `readings_1m` is rolled from raw readings, `readings_1h` from `readings_1m`, over closed
//!   buckets only, with upserts (recomputing a bucket is always safe). `rolled_1m` / `rolled_1h`
//!   say up to where each table is complete.
//! - Late data: before rolling forward, a pass *claims* the range (`claimed`). A write that inserts
//!   a reading below `claimed` marks its minute dirty in the same transaction; the next pass
//!   re-rolls dirty minutes from raw and their hours from the minutes. So a reading that arrives
//!   after its bucket was rolled — late, or redelivered after a crash — is reflected one pass later.
//! - Retention drops raw readings older than the policy, but never at or above `rolled_1m`: raw data
//!   goes only once it is rolled up. Dirty minutes below `raw_floor` are discarded, not re-rolled:
//!   their raw data is gone, and re-rolling would replace a complete bucket by a partial one.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Point, ReadingsQuery};

pub const MINUTE_MS: i64 = 60_000;
pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 86_400_000;
/// Widest range rolled forward in one transaction: bounds how long a catch-up pass (first start
/// on an existing database, or after a long stop) holds locks.
pub const CHUNK_MS: i64 = 6 * HOUR_MS;
/// Dirty minutes re-rolled per transaction.
pub const DIRTY_BATCH: usize = 5_000;

/// How long data is kept. 0 days = forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    pub raw_days: u32,
    pub rollup_days: u32,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        Self {
            raw_days: 90,
            rollup_days: 730,
        }
    }
}

impl RetentionPolicy {
    /// Raw readings before this time may go (still bounded by the rollup watermark);
    /// hour-aligned, so the deletion runs at most once an hour (a cut that moved every minute
    /// made the SQLite pass visit every series every minute: ~800 ms on the one writer at
    /// 60,000 series).
    pub fn raw_cutoff(&self, now_ms: i64) -> Option<i64> {
        cutoff(now_ms, self.raw_days).map(|t| floor(t, HOUR_MS))
    }

    /// Rollups before this time go; hour-aligned, so the deletion runs at most once an hour.
    pub fn rollup_cutoff(&self, now_ms: i64) -> Option<i64> {
        cutoff(now_ms, self.rollup_days).map(|t| floor(t, HOUR_MS))
    }
}

fn cutoff(now_ms: i64, days: u32) -> Option<i64> {
    (days > 0).then(|| now_ms.saturating_sub(i64::from(days) * DAY_MS))
}

/// What one maintenance pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MaintenanceReport {
    /// 1-minute buckets written (rolled forward or re-rolled).
    pub buckets_1m: u64,
    /// 1-hour buckets written.
    pub buckets_1h: u64,
    /// Dirty minutes (late readings) re-rolled, or discarded below the raw floor.
    pub dirty_minutes: u64,
    /// Raw readings deleted (SQLite; PostgreSQL drops partitions and does not count rows).
    pub raw_rows_dropped: u64,
    /// Daily partitions of `readings` dropped (PostgreSQL).
    pub partitions_dropped: Vec<String>,
    /// Rollup rows deleted by rollup retention.
    pub rollup_rows_dropped: u64,
    /// `rolled_1m` after the pass.
    pub rolled_to: Option<i64>,
}

impl MaintenanceReport {
    /// Whether the pass changed anything (a second pass at the same time changes nothing).
    pub fn changed(&self) -> bool {
        self.buckets_1m + self.buckets_1h + self.dirty_minutes > 0
            || self.raw_rows_dropped + self.rollup_rows_dropped > 0
            || !self.partitions_dropped.is_empty()
    }

    /// Raw rows plus partitions plus rollup rows removed, for the retention metric.
    pub fn dropped(&self) -> u64 {
        self.raw_rows_dropped + self.partitions_dropped.len() as u64 + self.rollup_rows_dropped
    }
}

/// The bookkeeping row (`rollup_state`), in epoch milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Watermarks {
    pub claimed: Option<i64>,
    pub rolled_1m: Option<i64>,
    pub rolled_1h: Option<i64>,
    pub raw_floor: Option<i64>,
    pub rollup_floor: Option<i64>,
}

/// A rollup table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Minute,
    Hour,
}

impl Level {
    pub fn width(self) -> i64 {
        match self {
            Level::Minute => MINUTE_MS,
            Level::Hour => HOUR_MS,
        }
    }

    pub fn table(self) -> &'static str {
        match self {
            Level::Minute => "readings_1m",
            Level::Hour => "readings_1h",
        }
    }

    /// The coarsest level whose buckets tile a step's buckets exactly, if any.
    pub fn for_step(step_ms: i64) -> Option<Level> {
        if step_ms >= HOUR_MS && step_ms % HOUR_MS == 0 {
            Some(Level::Hour)
        } else if step_ms >= MINUTE_MS && step_ms % MINUTE_MS == 0 {
            Some(Level::Minute)
        } else {
            None
        }
    }
}

/// Where a bucketed query reads rollups: `[from, to)` of `level`, whole buckets only, below the
/// level's watermark. The rest of the query range (an unaligned head, and the tail not yet rolled)
/// is read raw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub level: Level,
    pub from_ms: i64,
    pub to_ms: i64,
}

/// The rollup part of a query, or `None` when the query reads raw only (no step, a step that no
/// level tiles, or nothing rolled in range).
pub fn plan(q: &ReadingsQuery, marks: &Watermarks) -> Option<Plan> {
    let level = Level::for_step(q.step_ms?)?;
    let rolled = match level {
        Level::Minute => marks.rolled_1m?,
        Level::Hour => marks.rolled_1h?,
    };
    let w = level.width();
    let from_ms = q.from_ms.checked_add(w - 1).map(|t| floor(t, w))?;
    let to_ms = floor(q.to_ms, w).min(rolled);
    (from_ms < to_ms).then_some(Plan {
        level,
        from_ms,
        to_ms,
    })
}

/// The plan cut short at the first dirty minute (if any): from there on the rollups may miss late
/// readings until the next pass re-rolls them, so the query reads raw instead and stays exact.
pub fn unrolled_after(plan: Plan, first_dirty: Option<i64>) -> Plan {
    match first_dirty {
        Some(d) => Plan {
            to_ms: floor(d, plan.level.width()).clamp(plan.from_ms, plan.to_ms),
            ..plan
        },
        None => plan,
    }
}

/// `t` rounded down to a multiple of `w` (the epoch grid).
/// The end of the next chunk to roll forward from `start` towards `target`: at most
/// [`CHUNK_MS`] past the hour `start` falls in; `None` once `start` has reached `target`.
pub fn chunk_end(start: i64, target: i64) -> Option<i64> {
    (start < target).then(|| (floor(start, HOUR_MS) + CHUNK_MS).min(target))
}

pub fn floor(t: i64, w: i64) -> i64 {
    t - t.rem_euclid(w)
}

/// One bucket's aggregate from one source.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Agg {
    pub ts: i64,
    pub min: f64,
    pub max: f64,
    pub sum: f64,
    pub count: u64,
}

/// Combines aggregates (already bucketed to `step` by each source) into points ordered by time,
/// the first `limit` only. A bucket split between sources (raw head, rollups, raw tail) becomes
/// one: min of mins, max of maxes, sum of sums and counts.
pub fn merge(parts: impl IntoIterator<Item = Agg>, limit: u32) -> Vec<Point> {
    let mut buckets: BTreeMap<i64, Agg> = BTreeMap::new();
    for a in parts {
        buckets
            .entry(a.ts)
            .and_modify(|b| {
                b.min = b.min.min(a.min);
                b.max = b.max.max(a.max);
                b.sum += a.sum;
                b.count += a.count;
            })
            .or_insert(a);
    }
    buckets
        .into_values()
        .filter(|a| a.count > 0)
        .take(limit as usize)
        .map(|a| Point::Bucket {
            ts: a.ts,
            min: a.min,
            avg: a.sum / a.count as f64,
            max: a.max,
            count: a.count,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(from: i64, to: i64, step: Option<i64>) -> ReadingsQuery {
        ReadingsQuery {
            device: "d".into(),
            metric: "m".into(),
            from_ms: from,
            to_ms: to,
            step_ms: step,
            limit: 10,
        }
    }

    #[test]
    fn steps_pick_the_coarsest_level_that_tiles_them() {
        assert_eq!(Level::for_step(2 * HOUR_MS), Some(Level::Hour));
        assert_eq!(Level::for_step(90 * MINUTE_MS), Some(Level::Minute));
        assert_eq!(Level::for_step(MINUTE_MS), Some(Level::Minute));
        assert_eq!(Level::for_step(30_000), None);
        assert_eq!(Level::for_step(90_000), None);
    }

    #[test]
    fn plans_cover_whole_rolled_buckets_only() {
        let marks = Watermarks {
            rolled_1m: Some(10 * MINUTE_MS),
            rolled_1h: Some(0),
            ..Default::default()
        };
        let p = plan(&q(30_000, 20 * MINUTE_MS, Some(MINUTE_MS)), &marks);
        assert_eq!(
            p,
            Some(Plan {
                level: Level::Minute,
                from_ms: MINUTE_MS,
                to_ms: 10 * MINUTE_MS
            })
        );
        assert_eq!(plan(&q(0, HOUR_MS, Some(HOUR_MS)), &marks), None);
        assert_eq!(plan(&q(0, HOUR_MS, None), &marks), None);
        assert_eq!(
            plan(&q(0, HOUR_MS, Some(MINUTE_MS)), &Watermarks::default()),
            None
        );
    }

    #[test]
    fn split_buckets_merge_into_one() {
        let a = |ts, min: f64, max: f64, sum, count| Agg {
            ts,
            min,
            max,
            sum,
            count,
        };
        let pts = merge(
            [
                a(0, 1.0, 2.0, 3.0, 2),
                a(60, 5.0, 5.0, 5.0, 1),
                a(0, 0.0, 1.0, 1.0, 2),
            ],
            10,
        );
        assert_eq!(
            pts,
            vec![
                Point::Bucket {
                    ts: 0,
                    min: 0.0,
                    avg: 1.0,
                    max: 2.0,
                    count: 4
                },
                Point::Bucket {
                    ts: 60,
                    min: 5.0,
                    avg: 5.0,
                    max: 5.0,
                    count: 1
                }
            ]
        );
        assert_eq!(
            merge([a(0, 1.0, 1.0, 1.0, 1), a(60, 1.0, 1.0, 1.0, 1)], 1).len(),
            1
        );
    }

    #[test]
    fn cutoffs_respect_zero_as_forever() {
        let p = RetentionPolicy {
            raw_days: 0,
            rollup_days: 1,
        };
        assert_eq!(p.raw_cutoff(DAY_MS * 10), None);
        assert_eq!(p.rollup_cutoff(DAY_MS * 10 + 5), Some(DAY_MS * 9));
        let p = RetentionPolicy {
            raw_days: 1,
            rollup_days: 0,
        };
        assert_eq!(
            p.raw_cutoff(DAY_MS * 10 + HOUR_MS + 5),
            Some(DAY_MS * 9 + HOUR_MS)
        );
        assert_eq!(p.rollup_cutoff(DAY_MS * 10), None);
    }
}
