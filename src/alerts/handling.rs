//! What people may do to an alert: the handling actions, who may take each, from which states,
//! and what each does ([`act`], a pure function of the alert, the request and the actor).
//!
//! | action        | who                                         | from                         | to                      |
//! |---------------|---------------------------------------------|------------------------------|-------------------------|
//! | `acknowledge` | IOC (operator, supervisor, admin)           | open                         | acknowledged            |
//! | `dispatch`    | IOC                                         | open, acknowledged, dispatched | dispatched            |
//! | `start`       | the lead agency (its handler or integrator) | dispatched                   | in_progress             |
//! | `resolve`     | the lead agency                             | dispatched, in_progress      | resolved                |
//! |               | an operator (before dispatch)               | open, acknowledged           | resolved                |
//! |               | a supervisor or admin                       | any unresolved               | resolved                |
//! | `close`       | IOC                                         | resolved                     | closed                  |
//! | `reopen`      | IOC                                         | resolved                     | dispatched (or open)    |
//! | `comment`     | IOC, any agency it is forwarded to (text, a photo) | any but closed        | (same)                  |
//! | `assign`      | IOC; the lead agency (its own people)       | any unresolved               | (same)                  |
//!
//! A role that may never take an action is refused with [`Refusal::Forbidden`] (403); an action
//! the alert's state does not allow is [`Refusal::Conflict`] (409, with the state).

use serde_json::json;

use super::model::{Alert, AlertEvent, AlertState, Attachment};
use super::policy::Route;
use crate::accounts::model::Role;

/// A handling action (`POST /api/v1/alerts/{id}/{action}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Acknowledge,
    Dispatch,
    Start,
    Resolve,
    Close,
    Reopen,
    Comment,
    Assign,
}

impl Action {
    pub const ALL: [Action; 8] = [
        Self::Acknowledge,
        Self::Dispatch,
        Self::Start,
        Self::Resolve,
        Self::Close,
        Self::Reopen,
        Self::Comment,
        Self::Assign,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Acknowledge => "acknowledge",
            Self::Dispatch => "dispatch",
            Self::Start => "start",
            Self::Resolve => "resolve",
            Self::Close => "close",
            Self::Reopen => "reopen",
            Self::Comment => "comment",
            Self::Assign => "assign",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// How an alert may end.
pub const RESOLUTIONS: &[&str] = &["handled", "false_alarm", "duplicate", "auto_cleared"];

/// The request's body, as the action reads it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Request {
    pub note: Option<String>,
    /// Dispatch: the agencies chosen (lead first); empty = the route's.
    pub agencies: Vec<String>,
    /// Assign: the account.
    pub user: Option<String>,
    /// Comment: the text.
    pub text: Option<String>,
    /// Resolve: `handled` (default), `false_alarm`, `duplicate`.
    pub resolution: Option<String>,
    /// Comment: a photo (checked by [`Attachment::photo`]).
    pub photo: Option<Attachment>,
}

/// Who acts.
#[derive(Debug, Clone, PartialEq)]
pub struct Actor {
    pub username: String,
    pub role: Role,
    /// A handler's or integrator's agency.
    pub agency: Option<String>,
}

/// Why an action was not taken.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    /// The role (or the actor's agency) may not take this action on this alert.
    #[error("{0}")]
    Forbidden(String),
    /// The alert's state does not allow it.
    #[error("{reason}")]
    Conflict { reason: String, state: AlertState },
    /// The request lacks something the action needs.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
}

/// The actor's standing towards this alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Party {
    /// The IOC's duty: operators, supervisors (and the admin).
    Ioc,
    /// The lead agency it is forwarded to.
    Lead,
    /// Another agency it is forwarded to.
    Coordinating,
    Outsider,
}

fn party(actor: &Actor, alert: &Alert) -> Party {
    match actor.role {
        Role::Admin | Role::Supervisor | Role::Operator => Party::Ioc,
        Role::AgencyHandler | Role::Integrator => match actor.agency.as_deref() {
            Some(a) if alert.agency.as_deref() == Some(a) => Party::Lead,
            Some(a) if alert.forwarded_to(a) => Party::Coordinating,
            _ => Party::Outsider,
        },
        Role::Viewer => Party::Outsider,
    }
}

fn conflict(alert: &Alert, reason: impl Into<String>) -> Refusal {
    Refusal::Conflict {
        reason: reason.into(),
        state: alert.state,
    }
}

fn forbidden(reason: impl Into<String>) -> Refusal {
    Refusal::Forbidden(reason.into())
}

fn invalid(field: &str, message: impl Into<String>) -> Refusal {
    Refusal::Invalid {
        field: field.to_owned(),
        message: message.into(),
    }
}

fn trimmed(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Takes `action` on `alert` for `actor` at `now_ms`; `route` is the route matching the alert
/// (a dispatch without agencies uses it). Returns the alert as the action leaves it and its
/// timeline entry.
pub fn act(
    alert: &Alert,
    action: Action,
    req: &Request,
    actor: &Actor,
    route: Option<&Route>,
    now_ms: i64,
) -> Result<(Alert, AlertEvent), Refusal> {
    use AlertState as S;
    let who = party(actor, alert);
    let state = alert.state;
    let ioc_only = |what: &str| {
        if who == Party::Ioc {
            Ok(())
        } else {
            Err(forbidden(format!(
                "only the IOC's duty (operators, supervisors) may {what}"
            )))
        }
    };
    let note = trimmed(&req.note);
    let mut next = alert.clone();
    next.updated_at = alert.updated_at.max(now_ms);
    let event = AlertEvent::new(now_ms, &actor.username, action.as_str()).note(note);
    let event = match action {
        Action::Acknowledge => {
            ioc_only("acknowledge an alert")?;
            if state != S::Open {
                return Err(conflict(alert, format!("already {}", state.as_str())));
            }
            next.state = S::Acknowledged;
            next.acknowledged_at = Some(now_ms);
            event
        }
        Action::Dispatch => {
            ioc_only("dispatch an alert")?;
            if !matches!(state, S::Open | S::Acknowledged | S::Dispatched) {
                return Err(conflict(
                    alert,
                    format!("an alert that is {} cannot be dispatched", state.as_str()),
                ));
            }
            let agencies = if req.agencies.is_empty() {
                route.map(|r| r.agencies.clone()).ok_or_else(|| {
                    invalid("agency", "no route matches this alert; name the agency")
                })?
            } else {
                req.agencies.clone()
            };
            if agencies == alert.agencies && state == S::Dispatched {
                return Err(conflict(alert, "already dispatched to these agencies"));
            }
            next.state = S::Dispatched;
            next.agency = agencies.first().cloned();
            next.agencies = agencies.clone();
            next.acknowledged_at = alert.acknowledged_at.or(Some(now_ms));
            next.dispatched_at = Some(now_ms);
            event.detail(json!({ "agencies": agencies }))
        }
        Action::Start => {
            if who != Party::Lead {
                return Err(forbidden(
                    "only the lead agency it is dispatched to starts handling it",
                ));
            }
            if state != S::Dispatched {
                return Err(conflict(alert, format!("already {}", state.as_str())));
            }
            next.state = S::InProgress;
            event
        }
        Action::Resolve => {
            let allowed = match (who, actor.role) {
                (Party::Lead, _) => matches!(state, S::Dispatched | S::InProgress),
                (Party::Ioc, Role::Operator) => matches!(state, S::Open | S::Acknowledged),
                (Party::Ioc, _) => state.unresolved(),
                _ => {
                    return Err(forbidden(
                        "only the lead agency (or the IOC's duty before dispatch) resolves it",
                    ));
                }
            };
            if !allowed {
                return Err(conflict(
                    alert,
                    match (who, state) {
                        (_, S::Resolved | S::Closed) => format!("already {}", state.as_str()),
                        (Party::Ioc, _) => format!(
                            "dispatched to {}: its handler resolves it (or a supervisor)",
                            alert.agency.as_deref().unwrap_or("an agency")
                        ),
                        _ => format!(
                            "an alert that is {} is not the agency's to resolve",
                            state.as_str()
                        ),
                    },
                ));
            }
            let resolution = trimmed(&req.resolution).unwrap_or("handled");
            if !RESOLUTIONS.contains(&resolution) || resolution == "auto_cleared" {
                return Err(invalid(
                    "resolution",
                    "must be handled, false_alarm or duplicate",
                ));
            }
            next.state = S::Resolved;
            next.resolution = Some(resolution.to_owned());
            next.resolved_at = Some(now_ms);
            event.detail(json!({ "resolution": resolution }))
        }
        Action::Close => {
            ioc_only("close an alert")?;
            if state != S::Resolved {
                return Err(conflict(
                    alert,
                    match state {
                        S::Closed => "already closed".to_owned(),
                        _ => format!(
                            "only a resolved alert can be closed; it is {}",
                            state.as_str()
                        ),
                    },
                ));
            }
            next.state = S::Closed;
            next.closed_at = Some(now_ms);
            event
        }
        Action::Reopen => {
            ioc_only("reopen an alert")?;
            if state != S::Resolved {
                return Err(conflict(
                    alert,
                    match state {
                        S::Closed => "a closed alert is final".to_owned(),
                        _ => format!(
                            "only a resolved alert can be reopened; it is {}",
                            state.as_str()
                        ),
                    },
                ));
            }
            next.state = if alert.agency.is_some() {
                S::Dispatched
            } else {
                S::Open
            };
            next.resolution = None;
            next.resolved_at = None;
            event
        }
        Action::Comment => {
            if !matches!(who, Party::Ioc | Party::Lead | Party::Coordinating) {
                return Err(forbidden(
                    "only the IOC's duty and the agencies it is forwarded to comment on it",
                ));
            }
            if state == S::Closed {
                return Err(conflict(alert, "a closed alert is final"));
            }
            let text = trimmed(&req.text).or(note);
            match (&req.photo, text) {
                (None, None) => return Err(invalid("text", "a comment needs text or a photo")),
                (Some(p), _) => event.note(text).detail(json!({
                    "photo": p.sha256, "mime": p.mime, "size": p.bytes.len(),
                })),
                (None, Some(_)) => event.note(text),
            }
        }
        Action::Assign => {
            if !matches!(who, Party::Ioc | Party::Lead) {
                return Err(forbidden(
                    "only the IOC's duty and the lead agency assign it",
                ));
            }
            if !state.unresolved() {
                return Err(conflict(alert, format!("already {}", state.as_str())));
            }
            let user = trimmed(&req.user).ok_or_else(|| invalid("user", "name the account"))?;
            next.assignee = Some(user.to_owned());
            event.detail(json!({ "user": user }))
        }
    };
    let event = event.moved(state, next.state);
    Ok((next, event))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::Severity;

    fn actor(role: Role, agency: Option<&str>) -> Actor {
        Actor {
            username: format!("{}-1", role.as_str()),
            role,
            agency: agency.map(Into::into),
        }
    }

    fn alert() -> Alert {
        Alert::example("flood", "wl-1")
    }

    fn route(agencies: &[&str]) -> Route {
        Route {
            category: None,
            severities: vec![Severity::Critical],
            area: None,
            agencies: agencies.iter().map(|a| (*a).to_owned()).collect(),
            auto_dispatch: false,
        }
    }

    fn run(a: &Alert, action: Action, who: &Actor) -> Result<Alert, Refusal> {
        act(
            a,
            action,
            &Request::default(),
            who,
            Some(&route(&["water", "rescue"])),
            5_000,
        )
        .map(|(a, _)| a)
    }

    #[test]
    fn the_whole_way_with_the_roles_of_the_matrix() {
        let op = actor(Role::Operator, None);
        let water = actor(Role::AgencyHandler, Some("water"));
        let rescue = actor(Role::AgencyHandler, Some("rescue"));
        let sup = actor(Role::Supervisor, None);

        let a = alert();
        assert!(matches!(
            run(&a, Action::Acknowledge, &water),
            Err(Refusal::Forbidden(_))
        ));
        let a = run(&a, Action::Acknowledge, &op).expect("ack");
        assert_eq!(
            (a.state, a.acknowledged_at),
            (AlertState::Acknowledged, Some(5_000))
        );
        assert!(matches!(
            run(&a, Action::Acknowledge, &op),
            Err(Refusal::Conflict {
                state: AlertState::Acknowledged,
                ..
            })
        ));
        assert!(matches!(
            run(&a, Action::Start, &water),
            Err(Refusal::Forbidden(_))
        ));

        let (a, event) = act(
            &a,
            Action::Dispatch,
            &Request::default(),
            &op,
            Some(&route(&["water", "rescue"])),
            6_000,
        )
        .expect("dispatch");
        assert_eq!(
            (a.state, a.agency.as_deref()),
            (AlertState::Dispatched, Some("water"))
        );
        assert_eq!(a.agencies, ["water", "rescue"]);
        assert_eq!(
            (event.from_state, event.to_state),
            (Some(AlertState::Acknowledged), Some(AlertState::Dispatched))
        );
        assert_eq!(event.detail["agencies"][1], "rescue");

        assert!(
            matches!(run(&a, Action::Start, &rescue), Err(Refusal::Forbidden(_))),
            "a coordinating agency does not lead"
        );
        assert!(matches!(
            run(&a, Action::Start, &op),
            Err(Refusal::Forbidden(_))
        ));
        assert!(
            matches!(run(&a, Action::Resolve, &op), Err(Refusal::Conflict { .. })),
            "once dispatched, the handler decides"
        );
        let commented = act(
            &a,
            Action::Comment,
            &Request {
                text: Some("on our way".into()),
                ..Request::default()
            },
            &rescue,
            None,
            6_500,
        );
        assert_eq!(
            commented.expect("comment").1.note.as_deref(),
            Some("on our way")
        );

        let a = run(&a, Action::Start, &water).expect("start");
        assert_eq!(a.state, AlertState::InProgress);
        let a = run(&a, Action::Resolve, &water).expect("resolve");
        assert_eq!(
            (a.state, a.resolution.as_deref()),
            (AlertState::Resolved, Some("handled"))
        );
        assert!(matches!(
            run(&a, Action::Close, &water),
            Err(Refusal::Forbidden(_))
        ));

        let reopened = run(&a, Action::Reopen, &op).expect("reopen");
        assert_eq!(
            (reopened.state, reopened.resolved_at),
            (AlertState::Dispatched, None)
        );

        let a = run(&a, Action::Close, &sup).expect("close");
        assert_eq!((a.state, a.closed_at), (AlertState::Closed, Some(5_000)));
        for action in Action::ALL {
            let refusal = run(&a, action, &sup).expect_err("closed is final");
            match action {
                // the IOC never starts handling, whatever the state
                Action::Start => assert!(matches!(refusal, Refusal::Forbidden(_))),
                _ => assert!(
                    matches!(refusal, Refusal::Conflict { .. }),
                    "{action:?} on a closed alert: {refusal:?}"
                ),
            }
        }
    }

    #[test]
    fn who_resolves_before_dispatch_and_who_may_not_act_at_all() {
        let a = alert();
        let resolved = run(&a, Action::Resolve, &actor(Role::Operator, None)).expect("false alarm");
        assert_eq!(resolved.state, AlertState::Resolved);
        let viewer = actor(Role::Viewer, None);
        let stranger = actor(Role::AgencyHandler, Some("police"));
        for action in Action::ALL {
            assert!(
                matches!(run(&a, action, &viewer), Err(Refusal::Forbidden(_))),
                "{action:?}"
            );
            assert!(
                matches!(run(&a, action, &stranger), Err(Refusal::Forbidden(_))),
                "{action:?}"
            );
        }
        // a supervisor may resolve a dispatched alert; an operator may not
        let dispatched = run(&a, Action::Dispatch, &actor(Role::Operator, None)).expect("dispatch");
        assert!(run(&dispatched, Action::Resolve, &actor(Role::Supervisor, None)).is_ok());
        let by_token = actor(Role::Integrator, Some("water"));
        assert!(
            run(&dispatched, Action::Start, &by_token).is_ok(),
            "the agency's system acts like its handler"
        );
    }

    #[test]
    fn requests_that_lack_what_the_action_needs() {
        let op = actor(Role::Operator, None);
        let a = alert();
        let no_route = act(&a, Action::Dispatch, &Request::default(), &op, None, 1);
        assert!(matches!(no_route, Err(Refusal::Invalid { ref field, .. }) if field == "agency"));
        let chosen = Request {
            agencies: vec!["police".into()],
            ..Request::default()
        };
        let (d, _) = act(
            &a,
            Action::Dispatch,
            &chosen,
            &op,
            Some(&route(&["water"])),
            1,
        )
        .expect("picked");
        assert_eq!(
            d.agency.as_deref(),
            Some("police"),
            "the operator's choice beats the route"
        );
        assert!(matches!(
            run(&a, Action::Comment, &op),
            Err(Refusal::Invalid { .. })
        ));
        assert!(matches!(
            run(&a, Action::Assign, &op),
            Err(Refusal::Invalid { .. })
        ));
        let bad = Request {
            resolution: Some("auto_cleared".into()),
            ..Request::default()
        };
        assert!(matches!(
            act(&a, Action::Resolve, &bad, &op, None, 1),
            Err(Refusal::Invalid { .. })
        ));
        let assign = Request {
            user: Some("nguyen.van.a".into()),
            ..Request::default()
        };
        let (assigned, event) = act(&a, Action::Assign, &assign, &op, None, 1).expect("assign");
        assert_eq!(assigned.assignee.as_deref(), Some("nguyen.van.a"));
        assert_eq!(
            (event.from_state, event.detail["user"].as_str()),
            (None, Some("nguyen.van.a"))
        );
    }
}
