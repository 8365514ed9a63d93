//! Escalation tiers, decided from stored deadlines (a pure function of the alert, the policy and
//! the time), so timers survive a restart: nothing sleeps, the alert manager asks at every tick
//! which live alerts are due.
//!
//! An alert's escalation is the one for the severity it opened with (and its category). Tier `i`
//! is due at `created_at + after_i` and applies while the alert is unacknowledged, or, once
//! acknowledged, unresolved past its `resolve_deadline`; a tier due while neither holds waits for
//! the resolve deadline (none: it never applies). Tiers apply in order, one per tick; an applied
//! tier notifies (the supervisors and operators through the live feed, the agencies again by
//! webhook) and may raise the severity one step. `next_escalation_at` holds when to look again.

use serde_json::json;

use super::lifecycle::SYSTEM;
use super::model::{Alert, AlertEvent, AlertState};
use super::policy::Policy;
use crate::pipeline::Severity;

/// What is due for one alert now.
#[derive(Debug, Clone, PartialEq)]
pub enum Due {
    /// A tier applies: the alert after it, its timeline entry, and whether the agencies hear
    /// of it again.
    Tier {
        alert: Alert,
        event: AlertEvent,
        renotify: bool,
    },
    /// Nothing applies now; the alert with its next look-again time moved (or cleared).
    Later(Alert),
}

fn raised(s: Severity) -> Severity {
    match s {
        Severity::Info => Severity::Warning,
        Severity::Warning | Severity::Critical => Severity::Critical,
    }
}

/// What is due for `alert` at `now_ms`, if anything (`None`: not yet its time).
pub fn due(alert: &Alert, policy: &Policy, now_ms: i64) -> Option<Due> {
    let at = alert.next_escalation_at?;
    if at > now_ms {
        return None;
    }
    let later = |next: Option<i64>| {
        Some(Due::Later(Alert {
            next_escalation_at: next,
            ..alert.clone()
        }))
    };
    if !alert.state.unresolved() {
        return later(None);
    }
    let Some(tiers) = policy.escalation(alert).map(|e| &e.tiers) else {
        return later(None);
    };
    let index = alert.escalations as usize;
    let Some(tier) = tiers.get(index) else {
        return later(None);
    };
    let due_at = alert.created_at.saturating_add(tier.after_ms);
    if due_at > now_ms {
        // the policy changed since: look again when this tier is due
        return later(Some(due_at));
    }
    let overdue = alert.resolve_deadline.filter(|d| now_ms >= *d);
    let reason = match (alert.state, overdue) {
        (AlertState::Open, _) => "not acknowledged",
        (_, Some(_)) => "not resolved by its deadline",
        (_, None) => return later(alert.resolve_deadline),
    };
    let mut next = alert.clone();
    next.escalations += 1;
    next.next_escalation_at = tiers
        .get(index + 1)
        .map(|t| alert.created_at.saturating_add(t.after_ms).max(now_ms));
    let mut detail = json!({
        "tier": index + 1, "after_s": tier.after_ms / 1000, "notify": tier.notify,
        "reason": reason,
    });
    if tier.raise_severity && raised(alert.severity) != alert.severity {
        next.severity = raised(alert.severity);
        detail["severity"] = json!({ "from": alert.severity, "to": next.severity });
    }
    next.updated_at = alert.updated_at.max(now_ms);
    let renotify = tier.notify.iter().any(|n| n == "agency") && !alert.agencies.is_empty();
    let event = AlertEvent::new(now_ms, SYSTEM, "escalated").detail(detail);
    Some(Due::Tier {
        alert: next,
        event,
        renotify,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn policy() -> Policy {
        let doc: toml::Table = r#"
[[escalations]]
severity = "warning"
ack_within = "5m"
resolve_within = "1h"
tiers = [
  { after = "10m", notify = ["supervisor"] },
  { after = "30m", raise_severity = true },
  { after = "2h", notify = ["agency", "supervisor"] },
]
"#
        .parse()
        .expect("toml");
        Policy::from_toml(None, doc.get("escalations")).expect("policy")
    }

    fn warning() -> Alert {
        Alert {
            severity: Severity::Warning,
            opened_severity: Severity::Warning,
            created_at: 0,
            resolve_deadline: Some(60 * MIN),
            next_escalation_at: Some(10 * MIN),
            ..Alert::example("flood", "wl-1")
        }
    }

    fn step(a: &Alert, p: &Policy, now: i64) -> Alert {
        match due(a, p, now) {
            Some(Due::Tier { alert, .. } | Due::Later(alert)) => alert,
            None => a.clone(),
        }
    }

    #[test]
    fn tiers_apply_in_order_while_unacknowledged() {
        let p = policy();
        let a = warning();
        assert_eq!(due(&a, &p, 9 * MIN), None, "not yet");
        let Some(Due::Tier {
            alert: a,
            event,
            renotify,
        }) = due(&a, &p, 11 * MIN)
        else {
            panic!("tier 1 is due")
        };
        assert_eq!((a.escalations, a.next_escalation_at), (1, Some(30 * MIN)));
        assert_eq!(event.detail["notify"], json!(["supervisor"]));
        assert!(!renotify);
        // both remaining tiers passed: one per tick, in order
        let Some(Due::Tier {
            alert: a, event, ..
        }) = due(&a, &p, 125 * MIN)
        else {
            panic!("tier 2")
        };
        assert_eq!(a.severity, Severity::Critical);
        assert_eq!(event.detail["severity"]["to"], "critical");
        assert_eq!(a.next_escalation_at, Some(125 * MIN));
        assert_eq!(
            policy().escalation(&a).map(|e| e.tiers.len()),
            Some(3),
            "a raised alert keeps the escalation it opened with"
        );
        let Some(Due::Tier {
            alert: a, renotify, ..
        }) = due(&a, &p, 125 * MIN)
        else {
            panic!("tier 3")
        };
        assert!(!renotify, "no agency to notify yet");
        assert_eq!((a.escalations, a.next_escalation_at), (3, None));
        assert_eq!(due(&a, &p, 500 * MIN), None, "nothing more");
    }

    #[test]
    fn once_acknowledged_tiers_wait_for_the_resolve_deadline() {
        let p = policy();
        let a = Alert {
            state: AlertState::Dispatched,
            agencies: vec!["water".into()],
            agency: Some("water".into()),
            ..warning()
        };
        let Some(Due::Later(b)) = due(&a, &p, 11 * MIN) else {
            panic!("postponed")
        };
        assert_eq!((b.escalations, b.next_escalation_at), (0, Some(60 * MIN)));
        // at the resolve deadline the overdue tiers apply, one per tick
        let b = step(&b, &p, 61 * MIN);
        let b = step(&b, &p, 61 * MIN);
        assert_eq!((b.escalations, b.severity), (2, Severity::Critical));
        assert_eq!(b.next_escalation_at, Some(120 * MIN));
        let Some(Due::Tier {
            renotify, alert: c, ..
        }) = due(&b, &p, 121 * MIN)
        else {
            panic!("tier 3")
        };
        assert!(renotify, "the agencies hear of it again");
        assert_eq!(c.escalations, 3);

        // resolved: nothing more, the timer is cleared
        let done = Alert {
            state: AlertState::Resolved,
            ..b
        };
        assert!(
            matches!(due(&done, &p, 200 * MIN), Some(Due::Later(a)) if a.next_escalation_at.is_none())
        );
        // acknowledged without a resolve deadline: tiers never apply
        let no_deadline = Alert {
            state: AlertState::Acknowledged,
            resolve_deadline: None,
            ..warning()
        };
        assert!(
            matches!(due(&no_deadline, &p, 11 * MIN), Some(Due::Later(a)) if a.next_escalation_at.is_none())
        );
    }
}
