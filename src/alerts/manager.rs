//! The alert manager: the one owner of the open alerts. It takes the engine's fire/clear
//! decisions in batches, lets the [`Lifecycle`] decide what they do, has the store commit that,
//! and only then applies it and pushes the alerts live.
//!
//! Decisions queue in a bounded channel; a slow store blocks the shards (and so ingest), never
//! drops a decision. An alert is pushed only after it is committed, so the id a wall display
//! shows always exists. A failed commit is retried with the same decisions.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::lifecycle::Lifecycle;
use super::model::{Alert, AlertQuery, AlertState};
use crate::health::Health;
use crate::metrics as m;
use crate::pipeline::AlertChange;
use crate::storage::{Store, StoreResult};

const MAX_BATCH: usize = 1000;

pub struct AlertManager {
    store: Arc<dyn Store>,
    lifecycle: Lifecycle,
    health: Arc<Health>,
}

impl AlertManager {
    /// Picks up the alerts left open in the store.
    pub async fn load(store: Arc<dyn Store>, health: Arc<Health>) -> StoreResult<Self> {
        let open = store
            .alerts(AlertQuery {
                state: Some(AlertState::Open),
                device: None,
                limit: u32::MAX,
            })
            .await?;
        Ok(Self {
            store,
            lifecycle: Lifecycle::new(open),
            health,
        })
    }

    /// (device, rule) of every open alert, to seed the shards at start.
    pub fn open_pairs(&self) -> Vec<(String, String)> {
        self.lifecycle.open_pairs()
    }

    /// Runs until every sender of `rx` is gone; `publish` gets each committed alert change.
    pub async fn run(mut self, mut rx: mpsc::Receiver<AlertChange>, publish: impl Fn(Alert)) {
        let mut batch = Vec::new();
        while let Some(first) = rx.recv().await {
            batch.push(first);
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(c) => batch.push(c),
                    Err(_) => break,
                }
            }
            let decided = self.lifecycle.decide(&batch);
            batch.clear();
            let writes = Arc::new(decided.writes.clone());
            let ids = if writes.is_empty() {
                Vec::new()
            } else {
                self.commit(writes).await
            };
            for alert in self.lifecycle.commit(decided, &ids) {
                match (alert.state, alert.hits) {
                    (AlertState::Resolved, _) => m::alert_resolved(),
                    (_, 1) => m::alert_opened(),
                    _ => m::alert_updated(),
                }
                tracing::info!(id = alert.id, rule = %alert.rule, device = %alert.device,
                    state = alert.state.as_str(), value = alert.value, "alert");
                publish(alert);
            }
        }
    }

    /// Commits until the store takes it, with backoff; says so on /healthz meanwhile.
    async fn commit(&self, writes: Arc<Vec<super::AlertWrite>>) -> Vec<i64> {
        let mut backoff = Duration::from_millis(100);
        loop {
            let started = std::time::Instant::now();
            match self.store.save_alerts(writes.clone()).await {
                Ok(ids) => {
                    m::alert_commit(started.elapsed());
                    self.health.set_degraded("alerts", None);
                    return ids;
                }
                Err(error) => {
                    tracing::error!(%error, "alert commit failed; retrying");
                    self.health.set_degraded("alerts", Some(error.to_string()));
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
    }
}
