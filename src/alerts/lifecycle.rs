//! The alert lifecycle: what a fire or a clear does to the alerts, decided in memory by their one
//! owner (the alert manager), so that every store persists the same decisions.
//!
//! Today's moves: a fire opens an alert for (rule, device), or updates the open one (value, rule
//! parameters, hits + 1); a clear resolves the open one; a clear with nothing open does nothing.
//! A batch is decided first ([`Lifecycle::decide`]), without touching the open alerts, and
//! applied only once the store has committed its writes ([`Lifecycle::commit`]), so a failed
//! commit can be retried with the same decisions and leaves the lifecycle as it was.

use std::collections::HashMap;

use super::model::{Alert, AlertState, AlertWrite};
use crate::pipeline::{AlertChange, Clear, Fire};

type Key = (String, String);

/// The open alerts, one per (rule, device).
#[derive(Debug, Default)]
pub struct Lifecycle {
    open: HashMap<Key, Alert>,
}

/// A batch of changes, decided.
#[derive(Debug, Clone)]
pub struct Decided {
    /// What the store must persist: one write per alert the batch touched, in the order the
    /// alerts were first touched, each holding the alert as the batch left it.
    pub writes: Vec<AlertWrite>,
    /// The alert after each change that did something, in order, with the index of its write
    /// (its id is known only after the commit).
    steps: Vec<(usize, Alert)>,
}

impl Lifecycle {
    /// Starts from the alerts open in the store.
    pub fn new(open: impl IntoIterator<Item = Alert>) -> Self {
        let open = open
            .into_iter()
            .filter(|a| a.state == AlertState::Open)
            .map(|a| ((a.rule.clone(), a.device.clone()), a))
            .collect();
        Self { open }
    }

    /// (device, rule) of every open alert.
    pub fn open_pairs(&self) -> Vec<(String, String)> {
        self.open
            .keys()
            .map(|(rule, device)| (device.clone(), rule.clone()))
            .collect()
    }

    pub fn open_count(&self) -> usize {
        self.open.len()
    }

    /// Decides `changes` in order against the open alerts, leaving them as they are.
    pub fn decide(&self, changes: &[AlertChange]) -> Decided {
        let mut writes: Vec<AlertWrite> = Vec::new();
        let mut touched: HashMap<Key, usize> = HashMap::new();
        let mut steps = Vec::with_capacity(changes.len());
        for change in changes {
            let (rule, device) = change.key();
            let key = (rule.to_owned(), device.to_owned());
            let earlier = touched.get(&key).copied();
            // The alert of (rule, device) as this batch has it so far, if it is open.
            let open = match earlier {
                Some(i) => Some(writes[i].alert()),
                None => self.open.get(&key),
            }
            .filter(|a| a.state == AlertState::Open);
            let stored = open.is_some();
            let alert = match (change, open) {
                (AlertChange::Fire(fire), None) => opened(fire),
                (AlertChange::Fire(fire), Some(alert)) => fired(alert, fire),
                (AlertChange::Clear(clear), Some(alert)) => resolved(alert, clear),
                (AlertChange::Clear(_), None) => continue,
            };
            let index = match earlier.filter(|_| stored) {
                // The batch already writes this alert: that write now holds its latest state.
                Some(i) => {
                    writes[i] = match writes[i] {
                        AlertWrite::New(_) => AlertWrite::New(alert),
                        AlertWrite::Changed(_) => AlertWrite::Changed(alert),
                    };
                    i
                }
                // An alert stored before this batch, or a new one (also after one resolved in
                // this batch): a write of its own.
                None => {
                    writes.push(if stored {
                        AlertWrite::Changed(alert)
                    } else {
                        AlertWrite::New(alert)
                    });
                    writes.len() - 1
                }
            };
            touched.insert(key, index);
            steps.push((index, writes[index].alert().clone()));
        }
        Decided { writes, steps }
    }

    /// Applies a batch once the store has persisted its writes; `ids` are the ids the store gave
    /// them, in order. Returns the alert after each change, ids filled in, to push live.
    pub fn commit(&mut self, decided: Decided, ids: &[i64]) -> Vec<Alert> {
        for (write, &id) in decided.writes.iter().zip(ids) {
            let alert = write.alert();
            let key = (alert.rule.clone(), alert.device.clone());
            match alert.state {
                AlertState::Open => {
                    self.open.insert(
                        key,
                        Alert {
                            id,
                            ..alert.clone()
                        },
                    );
                }
                AlertState::Resolved => {
                    if self.open.get(&key).is_some_and(|a| a.id == id) {
                        self.open.remove(&key);
                    }
                }
            }
        }
        decided
            .steps
            .into_iter()
            .map(|(index, alert)| Alert {
                id: ids.get(index).copied().unwrap_or(alert.id),
                ..alert
            })
            .collect()
    }
}

fn opened(fire: &Fire) -> Alert {
    Alert {
        id: 0,
        rule: fire.rule.clone(),
        device: fire.device.clone(),
        metric: fire.metric.clone(),
        value: fire.value,
        threshold: fire.threshold,
        op: fire.op,
        severity: fire.severity,
        state: AlertState::Open,
        opened_at: fire.ts_ms,
        updated_at: fire.ts_ms,
        resolved_at: None,
        hits: 1,
    }
}

/// A repeat fire: the latest value and rule parameters (the rule may have been edited), one
/// more hit. `updated_at` never goes back (a late reading does not rewind it).
fn fired(alert: &Alert, fire: &Fire) -> Alert {
    Alert {
        value: fire.value,
        updated_at: alert.updated_at.max(fire.ts_ms),
        severity: fire.severity,
        threshold: fire.threshold,
        op: fire.op,
        hits: alert.hits.saturating_add(1),
        ..alert.clone()
    }
}

/// A clear: resolved at the reading's time; a non-finite value (no reading known) keeps the last.
fn resolved(alert: &Alert, clear: &Clear) -> Alert {
    Alert {
        state: AlertState::Resolved,
        resolved_at: Some(clear.ts_ms),
        value: if clear.value.is_finite() {
            clear.value
        } else {
            alert.value
        },
        updated_at: alert.updated_at.max(clear.ts_ms),
        ..alert.clone()
    }
}

#[cfg(test)]
mod tests;
