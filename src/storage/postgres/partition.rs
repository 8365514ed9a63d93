//! Daily partitions of `readings`: which UTC day a reading falls in, and creating the partition
//! of a day before the first write into it.
//!
//! Partitions are made on demand, not ahead by a timer: a write first asks for every day its
//! batch touches that this process has not seen yet (a set kept in memory, so the steady state
//! costs no round trip). Creation runs in its own short transaction *before* the write
//! transaction, because `CREATE TABLE … PARTITION OF` takes an ACCESS EXCLUSIVE lock on
//! `readings` until commit: held inside the write transaction it would block every reader for
//! the length of a batch. Two writers (two hubs, or a hub and an operator) creating the same day
//! are serialised by an advisory lock, under which `IF NOT EXISTS` sees the other's committed
//! table. The set is dropped whenever a write fails, so a partition removed behind our back
//! (retention) is made again on the retry.

use std::collections::{BTreeSet, HashSet};
use std::sync::Mutex;

use chrono::{DateTime, Datelike, Utc};

use super::error::PgResult;

const DAY_MS: i64 = 86_400_000;

/// Advisory lock key serialising partition DDL across processes ("iochubpt").
const PARTITION_LOCK: i64 = 0x696f_6368_7562_7074;

/// How long partition DDL may wait for its lock on `readings` (a long report query holds a
/// conflicting lock). Past it the write fails and the batcher retries, instead of every reader
/// queueing behind a DDL statement that itself queues behind the report.
const DDL_LOCK_TIMEOUT: &str = "5s";

/// The UTC day (days since the epoch) of a time in epoch milliseconds.
pub(super) fn day_of(ts_ms: i64) -> i64 {
    ts_ms.div_euclid(DAY_MS)
}

/// Days this process knows have a partition.
#[derive(Default)]
pub(super) struct Partitions {
    known: Mutex<HashSet<i64>>,
}

impl Partitions {
    /// The days among `days` not known to exist yet, in order.
    pub(super) fn missing(&self, days: impl IntoIterator<Item = i64>) -> BTreeSet<i64> {
        let known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        days.into_iter().filter(|d| !known.contains(d)).collect()
    }

    fn remember(&self, days: &BTreeSet<i64>) {
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        known.extend(days.iter().copied());
    }

    /// Forgets every day: the next write checks its days again.
    pub(super) fn forget(&self) {
        self.known.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// Makes sure a partition exists for each of `days` (from [`Partitions::missing`]).
    pub(super) async fn ensure(
        &self,
        client: &mut deadpool_postgres::Object,
        days: BTreeSet<i64>,
    ) -> PgResult<()> {
        if days.is_empty() {
            return Ok(());
        }
        let tx = client.transaction().await?;
        // No "already exists, skipping" notice (logged by tokio-postgres) per day per restart.
        tx.batch_execute(&format!(
            "SET LOCAL lock_timeout = '{DDL_LOCK_TIMEOUT}'; \
             SET LOCAL client_min_messages = warning"
        ))
        .await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&PARTITION_LOCK])
            .await?;
        for &day in &days {
            let Some(ddl) = create_partition_sql(day) else {
                continue; // beyond year 9998: the insert then names the missing partition
            };
            tx.batch_execute(&ddl).await?;
        }
        tx.commit().await?;
        self.remember(&days);
        Ok(())
    }
}

impl Partitions {
    /// Retention: drops every daily partition that ends at or before `cut_day` (days since the
    /// epoch), each in its own short transaction under the partition lock, and forgets it here
    /// so that a late reading for that day would make the partition again. Returns their names.
    pub(super) async fn drop_before(
        &self,
        client: &mut deadpool_postgres::Object,
        cut_day: i64,
    ) -> PgResult<Vec<String>> {
        let names: Vec<String> = client
            .query(
                "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                 WHERE i.inhparent = 'readings'::regclass ORDER BY 1",
                &[],
            )
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
        let mut dropped = Vec::new();
        for name in names {
            // Only our own `readings_pYYYYMMDD`; anything else attached by hand stays.
            let Some(day) = day_of_partition(&name) else {
                continue;
            };
            if day >= cut_day {
                continue;
            }
            let tx = client.transaction().await?;
            // DROP of a partition locks `readings` itself: wait briefly, never queue readers
            // behind a long report for long (the next pass tries again).
            tx.batch_execute(&format!("SET LOCAL lock_timeout = '{DDL_LOCK_TIMEOUT}'"))
                .await?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&PARTITION_LOCK])
                .await?;
            // The name was checked to be readings_p + 8 digits above: safe to splice.
            tx.batch_execute(&format!("DROP TABLE IF EXISTS {name}"))
                .await?;
            tx.commit().await?;
            self.known
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&day);
            dropped.push(name);
        }
        Ok(dropped)
    }
}

/// The day of a `readings_pYYYYMMDD` partition name.
fn day_of_partition(name: &str) -> Option<i64> {
    let digits = name.strip_prefix("readings_p")?;
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let date = chrono::NaiveDate::parse_from_str(digits, "%Y%m%d").ok()?;
    let start = date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis();
    Some(day_of(start))
}

/// `CREATE TABLE IF NOT EXISTS readings_pYYYYMMDD PARTITION OF readings FOR VALUES FROM (day)
/// TO (next day)`, bounds written with an explicit UTC offset so the session's time zone does
/// not matter. The statement is built from integers only, never from input text.
fn create_partition_sql(day: i64) -> Option<String> {
    let start = DateTime::<Utc>::from_timestamp(day.checked_mul(86_400)?, 0)?;
    let end = DateTime::<Utc>::from_timestamp(day.checked_add(1)?.checked_mul(86_400)?, 0)?;
    // Four-digit years only: chrono writes others with a sign, which no table name may hold.
    if !(1..=9998).contains(&start.year()) {
        return None;
    }
    Some(format!(
        "CREATE TABLE IF NOT EXISTS readings_p{} PARTITION OF readings \
         FOR VALUES FROM ('{}') TO ('{}')",
        start.format("%Y%m%d"),
        start.format("%Y-%m-%d %H:%M:%S+00"),
        end.format("%Y-%m-%d %H:%M:%S+00"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_utc_and_floor_before_the_epoch() {
        assert_eq!(day_of(1_732_270_000_000), 20_049); // 2024-11-22T10:06:40Z
        assert_eq!(day_of(20_049 * DAY_MS), 20_049);
        assert_eq!(day_of(20_050 * DAY_MS - 1), 20_049);
        assert_eq!(day_of(-1), -1);
    }

    #[test]
    fn partition_ddl_names_the_day_and_bounds_it() {
        assert_eq!(
            create_partition_sql(20_049).as_deref(),
            Some(
                "CREATE TABLE IF NOT EXISTS readings_p20241122 PARTITION OF readings \
                 FOR VALUES FROM ('2024-11-22 00:00:00+00') TO ('2024-11-23 00:00:00+00')"
            )
        );
    }

    #[test]
    fn partition_names_give_their_day() {
        assert_eq!(day_of_partition("readings_p20241122"), Some(20_049));
        assert_eq!(day_of_partition("readings_p2024112"), None);
        assert_eq!(day_of_partition("readings_old"), None);
        assert_eq!(day_of_partition("readings_p2024x122"), None);
    }

    #[test]
    fn missing_days_exclude_known_ones() {
        let p = Partitions::default();
        p.remember(&BTreeSet::from([1, 2]));
        assert_eq!(p.missing([3, 1, 3, 0]), BTreeSet::from([0, 3]));
        p.forget();
        assert_eq!(p.missing([1]), BTreeSet::from([1]));
    }
}
