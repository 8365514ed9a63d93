//! The alert manager: applies the engine's fire/clear decisions to stored alerts — one open alert
//! per (rule, device), a repeat updates it, a clear resolves it — and pushes the result live.
//!
//! Decisions queue in a bounded channel; a slow store blocks the shards (and so ingest), never
//! drops a decision. An alert is pushed to WebSocket clients only after it is committed, so the
//! id a wall display shows always exists.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::health::Health;
use crate::metrics as m;
use crate::storage::{AlertChange, AlertQuery, AlertState, Store, StoreResult};
use crate::ws::LiveFeed;

const MAX_BATCH: usize = 1000;

pub async fn run(
    store: Arc<dyn Store>,
    mut rx: mpsc::Receiver<AlertChange>,
    live: LiveFeed,
    health: Arc<Health>,
) {
    let mut batch = Vec::new();
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(c) => batch.push(c),
                Err(_) => break,
            }
        }
        let mut backoff = Duration::from_millis(100);
        let alerts = loop {
            let started = std::time::Instant::now();
            match store
                .apply_alerts(batch.clone(), crate::timefmt::now_ms())
                .await
            {
                Ok(a) => {
                    m::alert_commit(started.elapsed());
                    break a;
                }
                Err(error) => {
                    tracing::error!(%error, "alert commit failed; retrying");
                    health.set_degraded("alerts", Some(error.to_string()));
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        };
        health.set_degraded("alerts", None);
        batch.clear();
        for alert in alerts {
            match (alert.state, alert.hits) {
                (AlertState::Resolved, _) => m::alert_resolved(),
                (_, 1) => m::alert_opened(),
                _ => m::alert_updated(),
            }
            tracing::info!(id = alert.id, rule = %alert.rule, device = %alert.device,
                state = alert.state.as_str(), value = alert.value, "alert");
            live.alert(alert);
        }
    }
}

/// (device, rule) of every open alert, to seed the shards at start.
pub async fn open_pairs(store: &dyn Store) -> StoreResult<Vec<(String, String)>> {
    let open = store
        .alerts(AlertQuery {
            state: Some(AlertState::Open),
            device: None,
            limit: u32::MAX,
        })
        .await?;
    Ok(open.into_iter().map(|a| (a.device, a.rule)).collect())
}
