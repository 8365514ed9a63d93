//! One shard worker: evaluates its devices' readings, then hands them to storage and the live feed.

use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::sync::mpsc;

use super::evaluator::Evaluator;
use super::rules::{Places, RuleSet};
use crate::areas::Areas;
use crate::pipeline::directory::Directory;
use crate::pipeline::{AlertChange, LiveSink, ShardInput, StoreMsg, Ticket, Work, WriteItem};

pub struct Shard {
    pub index: usize,
    pub rules: Arc<ArcSwap<RuleSet>>,
    pub alerts: mpsc::Sender<AlertChange>,
    pub store: mpsc::Sender<StoreMsg>,
    /// false: readings are evaluated and pushed live but not stored; the ticket of a message
    /// that then needs no commit goes straight to `done`.
    pub store_readings: bool,
    pub done: mpsc::Sender<Vec<Ticket>>,
    pub live: Arc<dyn LiveSink>,
    /// The hub's start on its clock: silence (`no_data` rules) is counted from here at the
    /// earliest.
    pub started_ms: i64,
    /// Where devices are and their labels, for rules scoped by tags, area or bbox.
    pub directory: Arc<Directory>,
    pub areas: Arc<Areas>,
}

impl Shard {
    pub async fn run(self, mut rx: mpsc::Receiver<ShardInput>) {
        let mut eval = Evaluator::new(self.rules.load_full(), self.started_ms);
        let mut changes = Vec::new();
        let depth = crate::metrics::engine_queue_depth(self.index);
        let evaluated = crate::metrics::engine_readings();
        while let Some(input) = rx.recv().await {
            {
                let current = self.rules.load();
                eval.set_places(Places {
                    positions: self.directory.snapshot(),
                    labels: self.directory.labels(),
                    areas: self.areas.clone(),
                });
                if !Arc::ptr_eq(&current, eval.rules()) {
                    eval.set_rules(current.clone(), crate::timefmt::now_ms(), &mut changes);
                }
            }
            let item = match input.work {
                Work::Readings(readings) => {
                    let now_ms = crate::timefmt::now_ms();
                    for r in &readings {
                        eval.evaluate(r, now_ms, &mut changes);
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
                Work::Heard {
                    device,
                    last_ms,
                    metrics,
                } => {
                    eval.heard_before(&device, None, last_ms);
                    for (metric, at_ms) in metrics {
                        eval.heard_before(&device, Some(&metric), at_ms);
                    }
                    None
                }
                Work::Warm(readings) => {
                    for r in &readings {
                        eval.warm(r);
                    }
                    None
                }
                Work::Tick { now_ms } => {
                    eval.tick(now_ms, &mut changes);
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
