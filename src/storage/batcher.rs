//! The storage batcher: drains the bounded write queue into one transaction per batch.
//!
//! Group commit without a timer: it takes whatever is queued (up to a cap), commits, and while the
//! commit runs the queue refills, so batches grow with load and latency stays at one commit when
//! idle. A failed commit is retried, with backoff, with the same batch; meanwhile the queue fills,
//! the shards block, ingest blocks and no MQTT ack goes out: pressure reaches the broker, never
//! memory. Tickets of committed items go to the acker only after the commit returned.
//!
//! It also tallies the data supply of what it committed ([`SupplyTally`]) and adds the tally to
//! a later batch every few seconds: counting costs nothing per reading in the database.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::supply::SupplyTally;
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

/// Runs until the queue closes: commits each batch, hands its tickets back, tallies what it
/// stored ([`SupplyTally`]) and adds the tally to a batch every `flush_every` (alone when the
/// queue is idle, and once more at the end).
pub async fn run(
    store: Arc<dyn Store>,
    mut rx: mpsc::Receiver<StoreMsg>,
    done: mpsc::Sender<Vec<Ticket>>,
    on_commit: impl Fn(&WriteOutcome) + Send,
    health: Arc<Health>,
    mut tally: SupplyTally,
) {
    match store.devices().await {
        Ok(devices) => {
            for d in devices {
                if let Some(ts) = d.latest.iter().map(|l| l.ts).max() {
                    tally.know(&d.key, ts);
                }
            }
        }
        Err(error) => {
            tracing::warn!(%error, "supply tally starts without the devices' last readings")
        }
    }
    let mut last_flush = Instant::now();
    loop {
        let wait = tally.flush_every().saturating_sub(last_flush.elapsed());
        let first = if tally.is_empty() {
            rx.recv().await
        } else {
            match tokio::time::timeout(wait, rx.recv()).await {
                Ok(msg) => msg,
                Err(_) => {
                    // Idle with a tally to hand over: a batch of its own.
                    let mut items = Arc::new(vec![WriteItem::Supply(tally.take())]);
                    commit(store.as_ref(), &mut items, 0, &health).await;
                    last_flush = Instant::now();
                    continue;
                }
            }
        };
        let Some(first) = first else { break };
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
        if !tally.is_empty() && last_flush.elapsed() >= tally.flush_every() {
            items.push(WriteItem::Supply(tally.take()));
            last_flush = Instant::now();
        }
        let mut items = Arc::new(items);
        let outcome = commit(store.as_ref(), &mut items, readings, &health).await;
        tally.committed(&items, &outcome, crate::timefmt::now_ms());
        on_commit(&outcome);
        if !tickets.is_empty() && done.send(tickets).await.is_err() {
            break; // acker gone: shutting down
        }
    }
    if !tally.is_empty() {
        let mut items = Arc::new(vec![WriteItem::Supply(tally.take())]);
        commit(store.as_ref(), &mut items, 0, &health).await;
    }
}

/// Commits `items`, retrying with backoff until it succeeds (acks wait meanwhile). A failed
/// commit that carried the supply tally is retried without it: the readings come first, and a
/// tally the store refuses must not hold them back (it is logged, and the report is short by it).
async fn commit(
    store: &dyn Store,
    items: &mut Arc<Vec<WriteItem>>,
    readings: usize,
    health: &Health,
) -> WriteOutcome {
    let mut backoff = Duration::from_millis(100);
    let outcome = loop {
        let started = Instant::now();
        match commit_watched(store, items, health).await {
            Ok(outcome) => {
                m::storage_batch_committed(started.elapsed(), items.len(), readings);
                break outcome;
            }
            Err(error) => {
                m::storage_write_failed();
                tracing::error!(%error, items = items.len(), "batch commit failed; retrying, acks withheld");
                health.set_degraded("storage", Some(error.to_string()));
                if items.iter().any(|i| matches!(i, WriteItem::Supply(_))) {
                    tracing::warn!(
                        "the batch's supply tally is dropped so that its readings can commit"
                    );
                    let kept = items
                        .iter()
                        .filter(|i| !matches!(i, WriteItem::Supply(_)))
                        .cloned()
                        .collect();
                    *items = Arc::new(kept);
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    };
    health.set_degraded("storage", None);
    m::ingest_committed(outcome.inserted, outcome.duplicates);
    outcome
}
