//! Threshold evaluation with `for` durations and hysteresis, over state owned by one shard.
//!
//! State exists only for (device, rule) pairs that are pending (condition holding, `for` not yet
//! reached) or active (alert open); a reading that breaches nothing touches no state and
//! allocates nothing. Durations are measured in reading time, so replayed or buffered data
//! evaluates as it happened.

use std::sync::Arc;

use iochub_devices::Reading;
use rustc_hash::FxHashMap;

use super::rules::{Rule, RuleSet};
use crate::pipeline::{AlertChange, Clear, Fire};

#[derive(Debug, Clone)]
struct RuleState {
    rule_id: Arc<str>,
    fingerprint: u64,
    pending_since: Option<i64>,
    active: bool,
    last_value: f64,
}

/// The rule state of one shard's devices.
pub struct Evaluator {
    rules: Arc<RuleSet>,
    state: FxHashMap<String, Vec<RuleState>>,
}

fn fire(rule: &Rule, r: &Reading) -> AlertChange {
    AlertChange::Fire(Fire {
        rule: rule.id.to_string(),
        device: r.device.clone(),
        metric: r.metric.clone(),
        op: rule.op,
        threshold: rule.value,
        severity: rule.severity,
        category: rule.category.clone(),
        value: r.value,
        ts_ms: r.ts_ms,
    })
}

impl Evaluator {
    pub fn new(rules: Arc<RuleSet>) -> Self {
        Self {
            rules,
            state: FxHashMap::default(),
        }
    }

    pub fn rules(&self) -> &Arc<RuleSet> {
        &self.rules
    }

    /// (device, rule) pairs with state, for tests and introspection.
    pub fn tracked(&self) -> usize {
        self.state.values().map(Vec::len).sum()
    }

    /// Marks an alert that is open in storage as active, so that it can clear after a restart.
    pub fn seed_active(&mut self, device: &str, rule_id: &str) {
        let Some(rule) = self.rules.get(rule_id) else {
            return;
        };
        let states = self.state.entry(device.to_owned()).or_default();
        if !states.iter().any(|s| s.fingerprint == rule.fingerprint) {
            states.push(RuleState {
                rule_id: rule.id.clone(),
                fingerprint: rule.fingerprint,
                pending_since: None,
                active: true,
                last_value: f64::NAN,
            });
        }
    }

    /// Swaps in a new rule set. State of unchanged rules is kept; a changed rule keeps its open
    /// alert open (it clears under the new definition) but restarts any pending `for`; an alert of
    /// a removed rule, or of a rule that no longer covers the device, is cleared.
    pub fn set_rules(&mut self, rules: Arc<RuleSet>, now_ms: i64, out: &mut Vec<AlertChange>) {
        for (device, states) in self.state.iter_mut() {
            states.retain_mut(|st| {
                let next = rules.get(&st.rule_id).filter(|r| r.applies_to(device));
                match next {
                    Some(r) if r.fingerprint == st.fingerprint => true,
                    Some(r) if st.active => {
                        st.fingerprint = r.fingerprint;
                        st.pending_since = None;
                        true
                    }
                    _ => {
                        if st.active {
                            out.push(AlertChange::Clear(Clear {
                                rule: st.rule_id.to_string(),
                                device: device.clone(),
                                value: st.last_value,
                                ts_ms: now_ms,
                            }));
                        }
                        false
                    }
                }
            });
        }
        self.state.retain(|_, s| !s.is_empty());
        self.rules = rules;
    }

    /// Evaluates one reading against every rule on its metric; transitions go to `out`.
    pub fn evaluate(&mut self, r: &Reading, out: &mut Vec<AlertChange>) {
        let rules = self.rules.clone();
        for rule in rules.applicable(&r.metric, &r.device) {
            self.step(rule, r, out);
        }
    }

    fn step(&mut self, rule: &Rule, r: &Reading, out: &mut Vec<AlertChange>) {
        let v = r.value;
        let found = self.state.get_mut(r.device.as_str()).and_then(|states| {
            states
                .iter()
                .position(|s| s.fingerprint == rule.fingerprint)
                .map(|i| (states, i))
        });
        let Some((states, i)) = found else {
            if rule.breached(v) {
                let active = rule.for_ms == 0;
                if active {
                    out.push(fire(rule, r));
                }
                self.state
                    .entry(r.device.clone())
                    .or_default()
                    .push(RuleState {
                        rule_id: rule.id.clone(),
                        fingerprint: rule.fingerprint,
                        pending_since: (!active).then_some(r.ts_ms),
                        active,
                        last_value: v,
                    });
            }
            return;
        };
        let st = &mut states[i];
        st.last_value = v;
        let keep = if st.active {
            if rule.cleared(v) {
                out.push(AlertChange::Clear(Clear {
                    rule: rule.id.to_string(),
                    device: r.device.clone(),
                    value: v,
                    ts_ms: r.ts_ms,
                }));
                false
            } else {
                true
            }
        } else if rule.breached(v) {
            let since = *st.pending_since.get_or_insert(r.ts_ms);
            if r.ts_ms - since >= rule.for_ms {
                st.active = true;
                st.pending_since = None;
                out.push(fire(rule, r));
            }
            true
        } else {
            false
        };
        if !keep {
            states.swap_remove(i);
            if states.is_empty() {
                self.state.remove(r.device.as_str());
            }
        }
    }
}

#[cfg(test)]
mod tests;
