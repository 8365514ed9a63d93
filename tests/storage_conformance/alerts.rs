//! Alerts in the storage contract: what the lifecycle decides is stored as decided, with its
//! timeline; handling actions with their Idempotency-Key; the console's filters.

use std::sync::Arc;

use iochub::accounts::model::Role;
use iochub::alerts::handling::{self, Action, Actor, Request};
use iochub::alerts::lifecycle::Context;
use iochub::alerts::model::ActionRecord;
use iochub::alerts::policy::Policy;
use iochub::alerts::{Alert, AlertQuery, AlertState, AlertWrite, Lifecycle, StateFilter};
use iochub::areas::Areas;
use iochub::pipeline::{AlertChange, Clear, Fire, Op, Severity};
use iochub::storage::*;

use super::contract::T0;

pub(crate) fn fire(rule: &str, device: &str, value: f64, ts: i64) -> AlertChange {
    AlertChange::Fire(Fire {
        rule: rule.into(),
        device: device.into(),
        metric: "water_level".into(),
        op: Op::Ge,
        threshold: 5.0,
        severity: Severity::Critical,
        category: Some("flood".into()),
        value,
        ts_ms: ts,
        flapping: false,
    })
}

pub(crate) fn clear(rule: &str, device: &str, value: f64, ts: i64) -> AlertChange {
    AlertChange::Clear(Clear {
        rule: rule.into(),
        device: device.into(),
        value,
        ts_ms: ts,
    })
}

/// What the alert manager does with a batch: the lifecycle decides (starting from the alerts the
/// store has open, as after a restart), the store persists, the lifecycle applies. Every alert
/// the store then holds must be exactly what the lifecycle decided.
pub(crate) async fn apply(store: &dyn Store, changes: Vec<AlertChange>) -> Vec<Alert> {
    let mut lifecycle =
        Lifecycle::new(store.alerts(AlertQuery::live()).await.expect("live alerts"));
    let (policy, areas) = (Policy::default(), Areas::default());
    let nowhere = |_: &str| None;
    let ctx = Context {
        policy: &policy,
        areas: &areas,
        locate: &nowhere,
        now_ms: T0,
    };
    let decided = lifecycle.decide(&changes, &ctx);
    let ids = store
        .save_alerts(Arc::new(decided.writes.clone()))
        .await
        .expect("save alerts");
    assert_eq!(ids.len(), decided.writes.len());
    let alerts = lifecycle.commit(decided, &ids);
    for (i, alert) in alerts.iter().enumerate() {
        if alerts[i + 1..].iter().all(|later| later.id != alert.id) {
            let stored = store.alert(alert.id).await.expect("alert");
            assert_eq!(stored.as_ref(), Some(alert), "stored as decided");
        }
    }
    alerts
}

/// A rule's flap hold marks its alert flapping; the flag is stored (`apply` compares every
/// field) and goes when the hold ends or the alert clears.
pub(crate) async fn a_flapping_alert_is_stored_as_flapping(store: &dyn Store) {
    let flapping = |on: bool, ts: i64| match fire("flappy", "f-1", 5.5, ts) {
        AlertChange::Fire(f) => AlertChange::Fire(Fire { flapping: on, ..f }),
        other => other,
    };
    let a = apply(store, vec![flapping(true, T0)]).await;
    assert!(a[0].flapping && a[0].active);
    let a = apply(store, vec![flapping(false, T0 + 10)]).await;
    assert!(!a[0].flapping && a[0].active, "steady again, still open");
    apply(store, vec![flapping(true, T0 + 20)]).await;
    let a = apply(store, vec![clear("flappy", "f-1", 4.0, T0 + 30)]).await;
    assert!(!a[0].flapping && !a[0].active);
}

pub(crate) async fn one_open_alert_per_rule_and_device(store: &dyn Store) {
    let a = apply(store, vec![fire("r1", "a-1", 5.5, T0)]).await;
    let id = a[0].id;
    assert_eq!(
        (a[0].state, a[0].hits, a[0].opened_at),
        (AlertState::Open, 1, T0)
    );
    let a = apply(
        store,
        vec![
            fire("r1", "a-1", 6.0, T0 + 10),
            fire("r2", "a-1", 6.0, T0 + 10),
        ],
    )
    .await;
    assert_eq!(
        (a[0].id, a[0].hits, a[0].value, a[0].updated_at),
        (id, 2, 6.0, T0 + 10)
    );
    assert_ne!(a[1].id, id);
    let r2 = a[1].id;
    let open = AlertQuery {
        state: Some(StateFilter::Is(AlertState::Open)),
        device: Some("a-1".into()),
        limit: 100,
        ..AlertQuery::default()
    };
    assert_eq!(store.alerts(open.clone()).await.expect("alerts").len(), 2);
    let r1_clear = clear("r1", "a-1", 4.0, T0 + 20);
    let a = apply(store, vec![r1_clear.clone()]).await;
    assert_eq!(
        (a[0].id, a[0].state, a[0].resolved_at),
        (id, AlertState::Resolved, Some(T0 + 20))
    );
    // a clear without a known value (rule removed) keeps the stored value
    let gone = clear("r2", "a-1", f64::NAN, T0 + 25);
    let a = apply(store, vec![gone]).await;
    assert_eq!((a[0].state, a[0].value), (AlertState::Resolved, 6.0));
    // clearing what is not open changes nothing
    assert!(apply(store, vec![r1_clear]).await.is_empty());
    // firing again after resolution opens a new alert
    let a = apply(store, vec![fire("r1", "a-1", 7.0, T0 + 30)]).await;
    assert_ne!(a[0].id, id);
    assert_eq!(
        store.alert(id).await.expect("alert").map(|a| a.state),
        Some(AlertState::Resolved)
    );
    assert_eq!(store.alerts(open).await.expect("alerts").len(), 1);
    assert_eq!(
        store.alert(r2).await.expect("alert").map(|a| a.state),
        Some(AlertState::Resolved)
    );
    let all = AlertQuery {
        device: Some("a-1".into()),
        limit: 100,
        ..AlertQuery::default()
    };
    assert_eq!(store.alerts(all).await.expect("alerts").len(), 3);

    // One batch: a fire, a repeat, its clear and a new fire of one pair apply in order, and
    // only the two openings draw an id.
    let r3_clear = clear("r3", "a-1", 1.0, T0 + 42);
    let a = apply(
        store,
        vec![
            fire("r3", "a-1", 8.0, T0 + 40),
            fire("r3", "a-1", 8.5, T0 + 41),
            r3_clear,
            fire("r3", "a-1", 9.0, T0 + 43),
        ],
    )
    .await;
    let seen: Vec<_> = a.iter().map(|a| (a.state, a.hits, a.value)).collect();
    assert_eq!(
        seen,
        [
            (AlertState::Open, 1, 8.0),
            (AlertState::Open, 2, 8.5),
            (AlertState::Resolved, 2, 1.0),
            (AlertState::Open, 1, 9.0)
        ]
    );
    assert_eq!((a[1].id, a[2].id), (a[0].id, a[0].id));
    assert_eq!(a[3].id, a[0].id + 1);
    let r3_done = clear("r3", "a-1", 1.0, T0 + 44);
    let a = apply(store, vec![r3_done]).await;
    assert_eq!(a[0].state, AlertState::Resolved);
}

/// A handling action as the manager takes it: decided by the handling rules, saved with its
/// timeline entry (and its Idempotency-Key), read back as decided.
async fn act(
    store: &dyn Store,
    alert: &Alert,
    action: Action,
    req: Request,
    who: (&str, Role, Option<&str>),
    key: Option<&str>,
) -> Alert {
    let actor = Actor {
        username: who.0.into(),
        role: who.1,
        agency: who.2.map(Into::into),
    };
    let (next, event) =
        handling::act(alert, action, &req, &actor, None, T0 + 1000).expect("allowed");
    let record = key.map(|k| ActionRecord {
        actor: who.0.into(),
        key: k.into(),
        alert: 0,
        action: action.as_str().into(),
        ts_ms: T0 + 1000,
    });
    let write = AlertWrite {
        new: false,
        alert: next.clone(),
        events: vec![event],
        deliveries: Vec::new(),
        attachments: Vec::new(),
    };
    assert_eq!(
        store.save_action(write, record).await.expect("save action"),
        alert.id
    );
    let stored = store.alert(alert.id).await.expect("alert").expect("stored");
    assert_eq!(stored, next, "stored as decided");
    stored
}

pub(crate) async fn handling_timeline_and_filters(store: &dyn Store) {
    let opened = apply(
        store,
        vec![fire("h1", "b-1", 5.5, T0), fire("h2", "b-2", 6.5, T0)],
    )
    .await;
    let (a, b) = (opened[0].clone(), opened[1].clone());
    let op = ("op-1", Role::Operator, None);
    let a = act(
        store,
        &a,
        Action::Acknowledge,
        Request::default(),
        op,
        Some("k-1"),
    )
    .await;
    let req = Request {
        agencies: vec!["water".into(), "rescue".into()],
        note: Some("Đội cứu hộ xuất phát".into()),
        ..Request::default()
    };
    let a = act(store, &a, Action::Dispatch, req, op, None).await;
    assert_eq!((a.agency.as_deref(), a.agencies.len()), (Some("water"), 2));

    // the remembered request
    let r = store
        .action_request("op-1", "k-1")
        .await
        .expect("request")
        .expect("stored");
    assert_eq!((r.alert, r.action.as_str()), (a.id, "acknowledge"));
    assert!(
        store
            .action_request("op-2", "k-1")
            .await
            .expect("request")
            .is_none(),
        "keys are per account"
    );

    // the condition clears after dispatch: the alert stays with the agency
    let cleared = apply(store, vec![clear("h1", "b-1", 4.0, T0 + 2000)]).await;
    assert_eq!(
        (cleared[0].state, cleared[0].active),
        (AlertState::Dispatched, false)
    );
    let a = cleared[0].clone();
    let water = ("w-1", Role::AgencyHandler, Some("water"));
    let a = act(store, &a, Action::Start, Request::default(), water, None).await;
    let a = act(store, &a, Action::Resolve, Request::default(), water, None).await;
    assert_eq!(
        (a.state, a.resolution.as_deref()),
        (AlertState::Resolved, Some("handled"))
    );

    let timeline = store.alert_timeline(a.id).await.expect("timeline");
    let seen: Vec<_> = timeline
        .iter()
        .map(|e| (e.kind.as_str(), e.actor.as_str(), e.to_state))
        .collect();
    assert_eq!(
        seen,
        [
            ("opened", "system", None),
            ("acknowledge", "op-1", Some(AlertState::Acknowledged)),
            ("dispatch", "op-1", Some(AlertState::Dispatched)),
            ("cleared", "system", None),
            ("start", "w-1", Some(AlertState::InProgress)),
            ("resolve", "w-1", Some(AlertState::Resolved)),
        ]
    );
    assert_eq!(timeline[2].note.as_deref(), Some("Đội cứu hộ xuất phát"));
    assert_eq!(timeline[2].detail["agencies"][1], "rescue");
    assert!(timeline.windows(2).all(|w| w[0].seq < w[1].seq));
    assert!(timeline.iter().all(|e| e.alert == a.id));

    // filters
    fn q(f: impl FnOnce(&mut AlertQuery)) -> AlertQuery {
        let mut q = AlertQuery {
            limit: 100,
            ..AlertQuery::default()
        };
        f(&mut q);
        q
    }
    let ids = |alerts: Vec<Alert>| alerts.into_iter().map(|a| a.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store
            .alerts(q(|q| q.agency = Some("rescue".into())))
            .await
            .expect("agency")),
        [a.id]
    );
    let unresolved = store
        .alerts(q(|q| q.state = Some(StateFilter::Unresolved)))
        .await
        .expect("unresolved");
    assert!(
        unresolved.iter().any(|x| x.id == b.id) && unresolved.iter().all(|x| x.state.unresolved())
    );
    assert!(!unresolved.iter().any(|x| x.id == a.id));
    assert_eq!(
        ids(store
            .alerts(q(|q| {
                q.state = Some(StateFilter::Is(AlertState::Resolved));
                q.category = Some("flood".into());
                q.device = Some("b-1".into())
            }))
            .await
            .expect("resolved")),
        [a.id]
    );
    assert!(
        store
            .alerts(q(|q| q.category = Some("landslide".into())))
            .await
            .expect("category")
            .is_empty()
    );
    let by_time = store
        .alerts(q(|q| {
            q.from = Some(T0);
            q.to = Some(T0 + 1);
            q.device = Some("b-2".into())
        }))
        .await
        .expect("time");
    assert_eq!(ids(by_time), [b.id]);
    let page = store
        .alerts(q(|q| {
            q.before = Some(b.id);
            q.limit = 1;
        }))
        .await
        .expect("page");
    assert!(page.len() == 1 && page[0].id < b.id);
    assert!(
        store
            .alerts(q(|q| q.severity = Some(Severity::Info)))
            .await
            .expect("severity")
            .iter()
            .all(|x| x.severity == Severity::Info)
    );
    // live: unresolved or still active
    let live = store.alerts(AlertQuery::live()).await.expect("live");
    assert!(live.iter().any(|x| x.id == b.id) && !live.iter().any(|x| x.id == a.id));
    // b lies in an area when it has one (written by a field report or a located device)
    let placed = Alert {
        areas: vec!["cb".into(), "cb-x-baolac".into()],
        lat: Some(22.9),
        lon: Some(105.8),
        ..b.clone()
    };
    store
        .save_action(
            AlertWrite {
                new: false,
                alert: placed.clone(),
                events: Vec::new(),
                deliveries: Vec::new(),
                attachments: Vec::new(),
            },
            None,
        )
        .await
        .expect("save");
    assert_eq!(
        ids(store
            .alerts(q(|q| q.area = Some("cb-x-baolac".into())))
            .await
            .expect("area")),
        [b.id]
    );
    assert_eq!(store.alert(b.id).await.expect("alert"), Some(placed));
}

pub(crate) async fn deliveries_wait_in_the_outbox_until_answered(store: &dyn Store) {
    use iochub::alerts::model::{Attempt, DeliveryState, Outgoing};
    let opened = apply(store, vec![fire("d1", "c-1", 5.5, T0)]).await;
    let alert = &opened[0];
    let out = |id: &str, agency: &str| Outgoing {
        id: id.into(),
        agency: agency.into(),
        event: "dispatch".into(),
    };
    let write = AlertWrite {
        new: false,
        alert: alert.clone(),
        events: Vec::new(),
        deliveries: vec![out("dl-1", "water"), out("dl-2", "rescue")],
        attachments: Vec::new(),
    };
    store.save_action(write, None).await.expect("save");
    let due = store.due_deliveries(T0 + 60_000, 10).await.expect("due");
    let ids: Vec<_> = due.iter().map(|d| d.id.as_str()).collect();
    assert!(ids.contains(&"dl-1") && ids.contains(&"dl-2"), "{ids:?}");
    let d1 = due.iter().find(|d| d.id == "dl-1").expect("dl-1");
    let body: serde_json::Value = serde_json::from_str(&d1.body).expect("json body");
    assert_eq!(
        (
            body["delivery"].as_str(),
            body["event"].as_str(),
            body["alert"]["id"].as_i64()
        ),
        (Some("dl-1"), Some("dispatch"), Some(alert.id))
    );
    // a failure: pending, due again later
    let failed = Attempt {
        id: "dl-1".into(),
        at_ms: T0 + 61_000,
        state: DeliveryState::Pending,
        status: Some(500),
        error: Some("answered 500".into()),
        next_attempt_at: T0 + 70_000,
        event: None,
    };
    assert!(store.record_attempt(failed).await.expect("record"));
    let due: Vec<_> = store
        .due_deliveries(T0 + 65_000, 10)
        .await
        .expect("due")
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert!(
        !due.contains(&"dl-1".to_owned()),
        "waits for its next attempt"
    );
    let done = Attempt {
        id: "dl-1".into(),
        at_ms: T0 + 71_000,
        state: DeliveryState::Delivered,
        status: Some(204),
        error: None,
        next_attempt_at: T0 + 71_000,
        event: Some(iochub::alerts::AlertEvent::new(
            T0 + 71_000,
            "system",
            "delivered",
        )),
    };
    assert!(store.record_attempt(done.clone()).await.expect("record"));
    assert!(
        !store.record_attempt(done).await.expect("again"),
        "an ended delivery does not change"
    );
    let listed = store.deliveries(Some(alert.id), 10).await.expect("list");
    let d1 = listed.iter().find(|d| d.id == "dl-1").expect("listed");
    assert_eq!(
        (d1.state, d1.attempts, d1.last_status, d1.delivered_at),
        (DeliveryState::Delivered, 2, Some(204), Some(T0 + 71_000))
    );
    let timeline = store.alert_timeline(alert.id).await.expect("timeline");
    assert_eq!(timeline.last().map(|e| e.kind.as_str()), Some("delivered"));
}
