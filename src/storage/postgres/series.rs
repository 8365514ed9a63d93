//! Series ids: the (device, metric) → id map every reading needs, cached in memory and
//! resolved for unknown pairs with one statement per batch.
//!
//! The cache only ever holds ids of committed rows: ids found during a write are added after its
//! commit, and the whole cache is dropped when a write fails (the caller calls
//! [`SeriesIds::forget`]), so an id from a rolled-back insert can never be reused.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use iochub_devices::Reading;

use super::error::{PgError, PgResult};

/// Inserts the pairs that are new and reads back the ids of all of them. Every part of one
/// statement sees the same snapshot, so `ins` yields the new rows and the join the old ones.
/// A pair committed by another writer after that snapshot is in neither (DO NOTHING skips it,
/// the join cannot see it yet); the caller asks again for such pairs, with a fresh snapshot.
const RESOLVE_SQL: &str = "
    WITH input AS (
        SELECT * FROM unnest($1::text[], $2::text[]) AS t (device, metric)
    ), ins AS (
        INSERT INTO series (device, metric) SELECT device, metric FROM input
        ON CONFLICT (device, metric) DO NOTHING
        RETURNING id, device, metric
    )
    SELECT id, device, metric FROM ins
    UNION ALL
    SELECT s.id, s.device, s.metric FROM series s
    JOIN input i ON s.device = i.device AND s.metric = i.metric";

/// Rounds of RESOLVE_SQL before giving up; a second one is needed only after a race.
const RESOLVE_ROUNDS: usize = 3;

/// device -> metric -> series id (nested, so lookups borrow and never allocate).
pub(super) type Found = HashMap<String, HashMap<String, i64>>;

fn lookup(ids: &Found, device: &str, metric: &str) -> Option<i64> {
    ids.get(device).and_then(|m| m.get(metric)).copied()
}

#[derive(Default)]
pub(super) struct SeriesIds {
    cache: Mutex<Found>,
}

impl SeriesIds {
    /// The series id of every reading, in order, and the ids that were not cached yet (to pass
    /// to [`SeriesIds::remember`] once the transaction has committed).
    pub(super) async fn resolve(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        readings: &[&Reading],
    ) -> PgResult<(Vec<i64>, Found)> {
        let mut sids: Vec<Option<i64>> = Vec::with_capacity(readings.len());
        // Sorted, so that concurrent writers insert (and lock) series rows in the same order.
        let mut missing: BTreeSet<(&str, &str)> = BTreeSet::new();
        {
            let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            for r in readings {
                let id = lookup(&cache, &r.device, &r.metric);
                if id.is_none() {
                    missing.insert((&r.device, &r.metric));
                }
                sids.push(id);
            }
        }
        let mut found: Found = HashMap::new();
        let stmt = tx.prepare_cached(RESOLVE_SQL).await?;
        for _ in 0..RESOLVE_ROUNDS {
            if missing.is_empty() {
                break;
            }
            let devices: Vec<&str> = missing.iter().map(|p| p.0).collect();
            let metrics: Vec<&str> = missing.iter().map(|p| p.1).collect();
            for row in tx.query(&stmt, &[&devices, &metrics]).await? {
                let (id, device, metric): (i64, String, String) =
                    (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
                found.entry(device).or_default().insert(metric, id);
            }
            missing.retain(|(d, m)| lookup(&found, d, m).is_none());
        }
        if let Some((device, metric)) = missing.first() {
            return Err(PgError::Invariant(format!(
                "could not resolve the series id of {device}/{metric} (and {} more) after \
                 {RESOLVE_ROUNDS} rounds",
                missing.len() - 1
            )));
        }
        let mut out = Vec::with_capacity(readings.len());
        for (r, id) in readings.iter().zip(sids) {
            let id = match id {
                Some(id) => id,
                // Every pair missing from the cache is in `found` (checked just above).
                None => lookup(&found, &r.device, &r.metric)
                    .ok_or_else(|| PgError::Invariant("series id vanished".into()))?,
            };
            out.push(id);
        }
        Ok((out, found))
    }

    /// Caches ids of a committed transaction.
    pub(super) fn remember(&self, found: Found) {
        if found.is_empty() {
            return;
        }
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        for (device, metrics) in found {
            cache.entry(device).or_default().extend(metrics);
        }
    }

    /// Drops every cached id (after a failed transaction).
    pub(super) fn forget(&self) {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}
