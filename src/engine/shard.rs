//! One shard worker: evaluates its devices' readings, then hands them to storage and the live feed.

use std::sync::Arc;

use arc_swap::ArcSwap;
use iochub_devices::Reading;
use tokio::sync::mpsc;

use super::evaluator::Evaluator;
use super::rules::RuleSet;
use crate::ingest::acks::Ticket;
use crate::storage::batcher::StoreMsg;
use crate::storage::{AlertChange, WriteItem};
use crate::ws::LiveFeed;

#[derive(Debug)]
pub enum Work {
    Readings(Vec<Reading>),
    Status {
        device: String,
        online: bool,
        ts_ms: i64,
    },
    /// An alert open in storage at start: mark it active so that it can clear.
    Seed {
        device: String,
        rule: String,
    },
}

#[derive(Debug)]
pub struct ShardInput {
    pub ticket: Option<Ticket>,
    pub work: Work,
}

pub struct Shard {
    pub index: usize,
    pub rules: Arc<ArcSwap<RuleSet>>,
    pub alerts: mpsc::Sender<AlertChange>,
    pub store: mpsc::Sender<StoreMsg>,
    /// false: readings are evaluated and pushed live but not stored; the ticket of a message
    /// that then needs no commit goes straight to `done`.
    pub store_readings: bool,
    pub done: mpsc::Sender<Vec<Ticket>>,
    pub live: LiveFeed,
}

impl Shard {
    pub async fn run(self, mut rx: mpsc::Receiver<ShardInput>) {
        let mut eval = Evaluator::new(self.rules.load_full());
        let mut changes = Vec::new();
        let depth = crate::metrics::engine_queue_depth(self.index);
        let evaluated = crate::metrics::engine_readings();
        while let Some(input) = rx.recv().await {
            {
                let current = self.rules.load();
                if !Arc::ptr_eq(&current, eval.rules()) {
                    eval.set_rules(current.clone(), crate::timefmt::now_ms(), &mut changes);
                }
            }
            let item = match input.work {
                Work::Readings(readings) => {
                    for r in &readings {
                        eval.evaluate(r, &mut changes);
                    }
                    evaluated.increment(readings.len() as u64);
                    let readings = Arc::new(readings);
                    self.live.readings(&readings);
                    self.store_readings.then_some(WriteItem::Readings(readings))
                }
                Work::Status {
                    device,
                    online,
                    ts_ms,
                } => {
                    self.live.status(&device, online, ts_ms);
                    Some(WriteItem::Status {
                        device,
                        online,
                        ts_ms,
                    })
                }
                Work::Seed { device, rule } => {
                    eval.seed_active(&device, &rule);
                    None
                }
            };
            for change in changes.drain(..) {
                if self.alerts.send(change).await.is_err() {
                    return;
                }
            }
            let sent = match (item, input.ticket) {
                (Some(item), ticket) => self.store.send(StoreMsg { ticket, item }).await.is_ok(),
                // Nothing to commit for this part: it is done once evaluated.
                (None, Some(ticket)) => self.done.send(vec![ticket]).await.is_ok(),
                (None, None) => true,
            };
            if !sent {
                return;
            }
            depth.set(rx.len() as f64);
        }
    }
}
