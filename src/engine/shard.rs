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
    pub live: LiveFeed,
}

impl Shard {
    pub async fn run(self, mut rx: mpsc::Receiver<ShardInput>) {
        let mut eval = Evaluator::new(self.rules.load_full());
        let mut changes = Vec::new();
        let depth = crate::metrics::engine_queue_depth(self.index);
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
                    let readings = Arc::new(readings);
                    self.live.readings(&readings);
                    Some(WriteItem::Readings(readings))
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
            if let Some(item) = item
                && self
                    .store
                    .send(StoreMsg {
                        ticket: input.ticket,
                        item,
                    })
                    .await
                    .is_err()
            {
                return;
            }
            depth.set(rx.len() as f64);
        }
    }
}
