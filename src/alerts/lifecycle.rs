//! The alert lifecycle: what a rule's fire or clear does to the alerts, decided in memory by their
//! one owner (the alert manager), so that every store persists the same decisions. It also keeps
//! the *live* alerts (unresolved, or whose condition still holds) that people act on.
//!
//! The two axes (DESIGN §3b "Alert handling"):
//! - a fire opens an alert for (rule, device); while that alert is unresolved, a new breach
//!   updates it (active again, hits + 1, the latest value), never a second one;
//! - a clear makes it inactive (`cleared_at`); before dispatch that also resolves it by itself
//!   (`resolution: auto_cleared`); once dispatched, the handler decides;
//! - a new alert gets its place (the device's position and the areas around it), its deadlines
//!   from `[[escalations]]`, and is forwarded at once when its route says `auto_dispatch`.
//!
//! A batch is decided first ([`Lifecycle::decide`]), without touching the live alerts, and
//! applied only once the store has committed its writes ([`Lifecycle::commit`]), so a failed
//! commit can be retried with the same decisions and leaves the lifecycle as it was.

use std::collections::HashMap;

use serde_json::json;

use super::model::{Alert, AlertEvent, AlertState, AlertWrite, Source};
use super::policy::Policy;
use crate::areas::Areas;
use crate::pipeline::{AlertChange, Clear, Fire};

type Key = (String, String);

/// The actor of what the hub does by itself.
pub const SYSTEM: &str = "system";

/// What deciding a new alert needs to know besides the change.
pub struct Context<'a> {
    pub policy: &'a Policy,
    pub areas: &'a Areas,
    /// A device's position (lon, lat), if known.
    pub locate: &'a (dyn Fn(&str) -> Option<(f64, f64)> + Sync),
    /// Wall-clock time: deadlines count from when the hub learns of an alert.
    pub now_ms: i64,
}

/// The live alerts: unresolved, or with their condition still holding.
#[derive(Debug, Default)]
pub struct Lifecycle {
    live: HashMap<i64, Alert>,
    /// The live rule alert of each (rule, device): the unresolved one if there is one.
    by_key: HashMap<Key, i64>,
}

/// A batch of changes, decided.
#[derive(Debug, Clone)]
pub struct Decided {
    /// What the store must persist: one write per alert the batch touched, in the order the
    /// alerts were first touched, each holding the alert as the batch left it and its new
    /// timeline entries.
    pub writes: Vec<AlertWrite>,
    /// The alert after each change that did something, in order, with the index of its write
    /// (its id is known only after the commit).
    steps: Vec<(usize, Alert)>,
}

fn key_of(a: &Alert) -> Key {
    (a.rule.clone(), a.device.clone())
}

/// Whether the lifecycle keeps this alert in memory.
fn is_live(a: &Alert) -> bool {
    a.state.unresolved() || a.active
}

impl Lifecycle {
    /// Starts from the live alerts of the store.
    pub fn new(alerts: impl IntoIterator<Item = Alert>) -> Self {
        let mut life = Self::default();
        for a in alerts {
            life.apply(a);
        }
        life
    }

    /// (device, rule) of every rule alert whose condition holds, to seed the shards at start.
    pub fn active_pairs(&self) -> Vec<(String, String)> {
        self.live
            .values()
            .filter(|a| a.active && a.source == Source::Rule)
            .map(|a| (a.device.clone(), a.rule.clone()))
            .collect()
    }

    /// How many alerts are unresolved.
    pub fn unresolved_count(&self) -> usize {
        self.live.values().filter(|a| a.state.unresolved()).count()
    }

    pub fn get(&self, id: i64) -> Option<&Alert> {
        self.live.get(&id)
    }

    /// The unresolved rule alert of (rule, device), other than `except`.
    pub fn unresolved_of(&self, rule: &str, device: &str, except: i64) -> Option<&Alert> {
        self.by_key
            .get(&(rule.to_owned(), device.to_owned()))
            .and_then(|id| self.live.get(id))
            .filter(|a| a.id != except && a.state.unresolved())
    }

    /// Every live alert.
    pub fn live(&self) -> impl Iterator<Item = &Alert> {
        self.live.values()
    }

    /// Takes in an alert as it now stands in the store (after an action or a commit).
    pub fn apply(&mut self, alert: Alert) {
        let key = key_of(&alert);
        if is_live(&alert) {
            if alert.source == Source::Rule {
                // An unresolved alert owns its key over one that is only still active.
                let keep_other = self
                    .by_key
                    .get(&key)
                    .and_then(|id| self.live.get(id))
                    .is_some_and(|o| {
                        o.id != alert.id && o.state.unresolved() && !alert.state.unresolved()
                    });
                if !keep_other {
                    self.by_key.insert(key, alert.id);
                }
            }
            self.live.insert(alert.id, alert);
        } else {
            self.live.remove(&alert.id);
            if self.by_key.get(&key) == Some(&alert.id) {
                self.by_key.remove(&key);
            }
        }
    }

    /// Decides `changes` in order against the live alerts, leaving them as they are.
    pub fn decide(&self, changes: &[AlertChange], ctx: &Context<'_>) -> Decided {
        let mut writes: Vec<AlertWrite> = Vec::new();
        let mut touched: HashMap<Key, usize> = HashMap::new();
        let mut steps = Vec::with_capacity(changes.len());
        for change in changes {
            let (rule, device) = change.key();
            let key = (rule.to_owned(), device.to_owned());
            let earlier = touched.get(&key).copied();
            // The alert of (rule, device) as this batch has it so far.
            let current = match earlier {
                Some(i) => Some(&writes[i].alert),
                None => self.by_key.get(&key).and_then(|id| self.live.get(id)),
            };
            let (alert, events, same) = match (change, current) {
                (AlertChange::Fire(fire), Some(a)) if a.state.unresolved() => {
                    let (alert, event) = rebreached(a, fire);
                    (alert, vec![event], true)
                }
                (AlertChange::Fire(fire), _) => {
                    let (alert, events) = opened(fire, ctx);
                    (alert, events, false)
                }
                (AlertChange::Clear(clear), Some(a)) if a.active => {
                    let (alert, event) = cleared(a, clear);
                    (alert, vec![event], true)
                }
                (AlertChange::Clear(_), _) => continue,
            };
            let index = match (same, earlier) {
                // The batch already writes this alert: that write now holds its latest state.
                (true, Some(i)) => {
                    writes[i].alert = alert;
                    writes[i].events.extend(events);
                    i
                }
                (true, None) => {
                    writes.push(AlertWrite {
                        new: false,
                        alert,
                        events,
                        deliveries: Vec::new(),
                        attachments: Vec::new(),
                    });
                    writes.len() - 1
                }
                // A new alert (also after one resolved in this batch): a write of its own.
                (false, _) => {
                    writes.push(AlertWrite {
                        new: true,
                        alert,
                        events,
                        deliveries: Vec::new(),
                        attachments: Vec::new(),
                    });
                    writes.len() - 1
                }
            };
            touched.insert(key, index);
            steps.push((index, writes[index].alert.clone()));
        }
        Decided { writes, steps }
    }

    /// Applies a batch once the store has persisted its writes; `ids` are the ids the store gave
    /// them, in order. Returns the alert after each change, ids filled in, to push live.
    pub fn commit(&mut self, decided: Decided, ids: &[i64]) -> Vec<Alert> {
        for (write, &id) in decided.writes.iter().zip(ids) {
            self.apply(Alert {
                id,
                ..write.alert.clone()
            });
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

/// A new alert: its place, its deadlines, and its forwarding when its route says so.
fn opened(fire: &Fire, ctx: &Context<'_>) -> (Alert, Vec<AlertEvent>) {
    let position = (ctx.locate)(&fire.device);
    let mut alert = Alert {
        metric: fire.metric.clone(),
        value: fire.value,
        threshold: fire.threshold,
        op: Some(fire.op),
        active: true,
        flapping: fire.flapping,
        category: fire.category.clone(),
        lon: position.map(|p| p.0),
        lat: position.map(|p| p.1),
        areas: position.map_or_else(Vec::new, |(lon, lat)| ctx.areas.containing(lon, lat)),
        opened_at: fire.ts_ms,
        updated_at: fire.ts_ms,
        ..Alert::new(
            Source::Rule,
            &fire.rule,
            &fire.device,
            fire.severity,
            ctx.now_ms,
        )
    };
    let events = place(&mut alert, ctx);
    let mut all = vec![AlertEvent::new(ctx.now_ms, SYSTEM, "opened").detail(json!({
        "value": fire.value, "ts": crate::timefmt::format_ms(fire.ts_ms),
        "flapping": fire.flapping,
    }))];
    all.extend(events);
    (alert, all)
}

/// Gives a new alert (a rule's or a field report's) its deadlines and, when its route says
/// `auto_dispatch`, forwards it at once; returns the timeline entries that adds.
pub fn place(alert: &mut Alert, ctx: &Context<'_>) -> Vec<AlertEvent> {
    if let Some(e) = ctx.policy.escalation(alert) {
        alert.ack_deadline = e.ack_within_ms.map(|d| ctx.now_ms.saturating_add(d));
        alert.resolve_deadline = e.resolve_within_ms.map(|d| ctx.now_ms.saturating_add(d));
        alert.next_escalation_at = e
            .tiers
            .first()
            .map(|t| ctx.now_ms.saturating_add(t.after_ms));
    }
    match ctx.policy.route(alert).filter(|r| r.auto_dispatch) {
        Some(route) => {
            alert.state = AlertState::Dispatched;
            alert.agency = route.agencies.first().cloned();
            alert.agencies = route.agencies.clone();
            alert.dispatched_at = Some(ctx.now_ms);
            vec![
                AlertEvent::new(ctx.now_ms, SYSTEM, "dispatch")
                    .moved(AlertState::Open, AlertState::Dispatched)
                    .detail(json!({ "agencies": route.agencies, "auto": true })),
            ]
        }
        None => Vec::new(),
    }
}

/// A new breach of an unresolved alert: active again, the latest value and rule parameters (the
/// rule may have been edited; a severity raised by escalation stays), one more hit. The engine
/// also sends one when a flap hold starts or ends with the condition holding (`flapping`).
/// `updated_at` never goes back (a late reading does not rewind it).
fn rebreached(alert: &Alert, fire: &Fire) -> (Alert, AlertEvent) {
    let next = Alert {
        value: fire.value,
        updated_at: alert.updated_at.max(fire.ts_ms),
        severity: alert.severity.max(fire.severity),
        threshold: fire.threshold,
        op: Some(fire.op),
        active: true,
        flapping: fire.flapping,
        cleared_at: None,
        hits: alert.hits.saturating_add(1),
        ..alert.clone()
    };
    let event = AlertEvent::new(fire.ts_ms, SYSTEM, "rebreached")
        .detail(json!({ "value": fire.value, "hits": next.hits, "flapping": fire.flapping }));
    (next, event)
}

/// The condition stopped holding: before dispatch the alert resolves by itself; after, it only
/// becomes inactive. A non-finite value (no reading known) keeps the last.
fn cleared(alert: &Alert, clear: &Clear) -> (Alert, AlertEvent) {
    let mut next = Alert {
        active: false,
        flapping: false,
        cleared_at: Some(clear.ts_ms),
        value: if clear.value.is_finite() {
            clear.value
        } else {
            alert.value
        },
        updated_at: alert.updated_at.max(clear.ts_ms),
        ..alert.clone()
    };
    let kind = if matches!(alert.state, AlertState::Open | AlertState::Acknowledged) {
        next.state = AlertState::Resolved;
        next.resolution = Some("auto_cleared".into());
        next.resolved_at = Some(clear.ts_ms);
        next.next_escalation_at = None;
        "auto_resolved"
    } else {
        "cleared"
    };
    let value = clear.value.is_finite().then_some(clear.value);
    let event = AlertEvent::new(clear.ts_ms, SYSTEM, kind)
        .moved(alert.state, next.state)
        .detail(json!({ "value": value }));
    (next, event)
}

#[cfg(test)]
mod tests;
