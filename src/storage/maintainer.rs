//! The hub task that keeps rollups and retention going: one [`Store::maintain`] pass at start,
//! then one a minute (a minute is the finest rollup bucket, so each pass has about one closed
//! minute to roll). A failed pass is logged and retried at the next tick; nothing else waits on
//! it, so a slow pass never holds up ingest beyond the backend's own bounded steps.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::{RetentionPolicy, Store};

const PERIOD: Duration = Duration::from_secs(60);

/// Runs until `stop` is cancelled.
pub async fn run(store: Arc<dyn Store>, policy: RetentionPolicy, stop: CancellationToken) {
    tracing::info!(
        raw_days = policy.raw_days,
        rollup_days = policy.rollup_days,
        "storage maintenance: rollups every minute, retention in days (0 = forever)"
    );
    let mut tick = tokio::time::interval(PERIOD);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = stop.cancelled() => return,
        }
        let started = Instant::now();
        match store.maintain(crate::timefmt::now_ms(), &policy).await {
            Ok(r) => {
                crate::metrics::rollup_buckets("1m", r.buckets_1m);
                crate::metrics::rollup_buckets("1h", r.buckets_1h);
                crate::metrics::retention_dropped("raw_rows", r.raw_rows_dropped);
                crate::metrics::retention_dropped("partitions", r.partitions_dropped.len() as u64);
                crate::metrics::retention_dropped("rollup_rows", r.rollup_rows_dropped);
                if r.changed() {
                    tracing::info!(
                        buckets_1m = r.buckets_1m,
                        buckets_1h = r.buckets_1h,
                        late_minutes = r.dirty_minutes,
                        raw_rows_dropped = r.raw_rows_dropped,
                        partitions_dropped = ?r.partitions_dropped,
                        rollup_rows_dropped = r.rollup_rows_dropped,
                        rolled_to = ?r.rolled_to.map(crate::timefmt::format_ms),
                        took_ms = started.elapsed().as_millis() as u64,
                        "storage maintenance"
                    );
                }
            }
            Err(e) => tracing::warn!(error = %e, "storage maintenance failed; retried next minute"),
        }
    }
}
