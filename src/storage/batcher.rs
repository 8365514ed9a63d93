//! The storage batcher: drains the bounded write queue into one transaction per batch.
//!
//! Group commit without a timer: it takes whatever is queued (up to a cap), commits, and while the
//! commit runs the queue refills, so batches grow with load and latency stays at one commit when
//! idle. A failed commit is retried, with backoff, with the same batch; meanwhile the queue fills,
//! the shards block, ingest blocks and no MQTT ack goes out: pressure reaches the broker, never
//! memory. Tickets of committed items go to the acker only after the commit returned.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::{Store, WriteOutcome};
use crate::health::Health;
use crate::metrics as m;
use crate::pipeline::{StoreMsg, Ticket, WriteItem};

/// A commit waiting longer than this means the store is stalled (a frozen or overloaded database
/// gives no error, it just does not answer): say so on /healthz while still waiting.
const STALL_AFTER: Duration = Duration::from_secs(5);

/// Commits, marking storage degraded if the commit has not returned after [`STALL_AFTER`].
async fn commit_watched(
    store: &dyn Store,
    items: &Arc<Vec<WriteItem>>,
    health: &Health,
) -> super::StoreResult<WriteOutcome> {
    let write = store.write(items.clone(), crate::timefmt::now_ms());
    tokio::pin!(write);
    tokio::select! {
        r = &mut write => return r,
        _ = tokio::time::sleep(STALL_AFTER) => {}
    }
    tracing::warn!(waited = ?STALL_AFTER, "batch commit is not returning; storage stalled, acks withheld");
    m::storage_stalled();
    health.set_degraded(
        "storage",
        Some(format!("commit not answered for more than {STALL_AFTER:?}")),
    );
    write.await
}

/// Largest batch, in readings; keeps one transaction (and its latency) bounded.
pub const MAX_BATCH_READINGS: usize = 20_000;

pub async fn run(
    store: Arc<dyn Store>,
    mut rx: mpsc::Receiver<StoreMsg>,
    done: mpsc::Sender<Vec<Ticket>>,
    on_commit: impl Fn(&WriteOutcome) + Send,
    health: Arc<Health>,
) {
    while let Some(first) = rx.recv().await {
        let mut tickets = Vec::new();
        let mut items = Vec::new();
        let mut readings = 0usize;
        let mut push = |msg: StoreMsg, readings: &mut usize| {
            if let WriteItem::Readings(r) = &msg.item {
                *readings += r.len();
            }
            tickets.extend(msg.ticket);
            items.push(msg.item);
        };
        push(first, &mut readings);
        while readings < MAX_BATCH_READINGS {
            match rx.try_recv() {
                Ok(msg) => push(msg, &mut readings),
                Err(_) => break,
            }
        }
        m::storage_queue_depth(rx.len());
        let items = Arc::new(items);
        let mut backoff = Duration::from_millis(100);
        let outcome = loop {
            let started = Instant::now();
            match commit_watched(store.as_ref(), &items, &health).await {
                Ok(outcome) => {
                    m::storage_batch_committed(started.elapsed(), items.len(), readings);
                    break outcome;
                }
                Err(error) => {
                    m::storage_write_failed();
                    tracing::error!(%error, items = items.len(), "batch commit failed; retrying, acks withheld");
                    health.set_degraded("storage", Some(error.to_string()));
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        };
        health.set_degraded("storage", None);
        m::ingest_committed(outcome.inserted, outcome.duplicates);
        on_commit(&outcome);
        if !tickets.is_empty() && done.send(tickets).await.is_err() {
            break; // acker gone: shutting down
        }
    }
}
