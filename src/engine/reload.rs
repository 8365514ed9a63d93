//! Hot reload of the rules file: on SIGHUP, or when its modification time or size changes.
//! A bad file is logged with the rule and field at fault and the running rule set stays.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use tokio_util::sync::CancellationToken;

use super::rules::RuleSet;

fn stamp(path: &PathBuf) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

pub async fn watch(path: PathBuf, rules: Arc<ArcSwap<RuleSet>>, stop: CancellationToken) {
    let mut last = stamp(&path);
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        let forced = tokio::select! {
            _ = tick.tick() => false,
            Some(_) = async { match hup.as_mut() { Some(h) => h.recv().await, None => std::future::pending().await } } => true,
            () = stop.cancelled() => return,
        };
        let now = stamp(&path);
        if !forced && now == last {
            continue;
        }
        last = now;
        match RuleSet::load(&path) {
            Ok(rs) => {
                tracing::info!(rules = rs.len(), path = %path.display(), forced, "rules reloaded");
                crate::metrics::rules_reloaded(true, rs.len());
                rules.store(Arc::new(rs));
            }
            Err(error) => {
                tracing::error!(%error, path = %path.display(), "rules reload refused; keeping the running rules");
                crate::metrics::rules_reloaded(false, 0);
            }
        }
    }
}
