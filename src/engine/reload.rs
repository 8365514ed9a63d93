//! Hot reload of the rules file: on SIGHUP, or when its modification time or size changes.
//! A bad file is logged with the rule and field at fault and the running rule set stays. Every
//! reload that changes something, or is refused, is reported as a [`RulesChange`] (the hub puts
//! it in the audit trail: a rule change must be answerable even when made in a file).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::rules::RuleSet;
use crate::areas::Areas;

fn stamp(path: &PathBuf) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// What one reload did: rule ids added, removed and changed (by fingerprint), or why the file
/// was refused.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RulesChange {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
    /// Rules in force afterwards.
    pub rules: usize,
    /// The refusal (the running rules stayed).
    pub error: Option<String>,
}

impl RulesChange {
    pub fn between(old: &RuleSet, new: &RuleSet) -> Self {
        let mut change = RulesChange {
            rules: new.len(),
            ..Self::default()
        };
        for r in &new.rules {
            match old.get(&r.id) {
                None => change.added.push(r.id.to_string()),
                Some(o) if o.fingerprint != r.fingerprint => change.changed.push(r.id.to_string()),
                Some(_) => {}
            }
        }
        for r in &old.rules {
            if new.get(&r.id).is_none() {
                change.removed.push(r.id.to_string());
            }
        }
        change
    }

    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
            && self.error.is_none()
    }
}

pub async fn watch(
    path: PathBuf,
    rules: Arc<ArcSwap<RuleSet>>,
    areas: Arc<Areas>,
    changes: mpsc::Sender<RulesChange>,
    stop: CancellationToken,
) {
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
        let loaded = RuleSet::load(&path).and_then(|rs| rs.check_areas(&areas).map(|()| rs));
        let change = match loaded {
            Ok(rs) => {
                tracing::info!(rules = rs.len(), path = %path.display(), forced, "rules reloaded");
                crate::metrics::rules_reloaded(true, rs.len());
                let change = RulesChange::between(&rules.load(), &rs);
                rules.store(Arc::new(rs));
                change
            }
            Err(error) => {
                tracing::error!(%error, path = %path.display(), "rules reload refused; keeping the running rules");
                crate::metrics::rules_reloaded(false, 0);
                RulesChange {
                    rules: rules.load().len(),
                    error: Some(error.to_string()),
                    ..RulesChange::default()
                }
            }
        };
        // Bounded, and waited on: a change is never dropped unreported (the reader is quick).
        if !change.is_empty() && changes.send(change).await.is_err() {
            return;
        }
    }
}
