use super::*;
use crate::accounts::model::Role;
use crate::alerts::handling::{self, Action, Actor, Request};
use crate::pipeline::{Clear, Fire, Op, Severity};

fn fire(device: &str, value: f64, ts_ms: i64) -> AlertChange {
    AlertChange::Fire(Fire {
        rule: "flood".into(),
        device: device.into(),
        metric: "water_level".into(),
        op: Op::Ge,
        threshold: 5.0,
        severity: Severity::Critical,
        category: Some("flood".into()),
        value,
        ts_ms,
        flapping: false,
    })
}

fn clear(device: &str, value: f64, ts_ms: i64) -> AlertChange {
    AlertChange::Clear(Clear {
        rule: "flood".into(),
        device: device.into(),
        value,
        ts_ms,
    })
}

fn nowhere(_: &str) -> Option<(f64, f64)> {
    None
}

fn decide(life: &Lifecycle, changes: &[AlertChange]) -> Decided {
    let (policy, areas) = (Policy::default(), Areas::default());
    life.decide(
        changes,
        &Context {
            policy: &policy,
            areas: &areas,
            locate: &nowhere,
            now_ms: 100_000,
        },
    )
}

/// What a store does: new alerts draw the next id, changed ones keep theirs.
fn persist(decided: &Decided, next_id: &mut i64) -> Vec<i64> {
    decided
        .writes
        .iter()
        .map(|w| {
            if w.new {
                *next_id += 1;
                *next_id
            } else {
                w.alert.id
            }
        })
        .collect()
}

#[test]
fn fire_repeat_clear_and_new_fire_in_one_batch() {
    let mut life = Lifecycle::default();
    let batch = [
        fire("wl-1", 5.5, 1_000),
        fire("wl-1", 5.9, 2_000),
        clear("wl-1", 4.0, 3_000),
        fire("wl-1", 6.1, 4_000),
    ];
    let decided = decide(&life, &batch);
    // two alerts: the first opened and resolved by itself, a second opened after it
    assert_eq!(decided.writes.len(), 2);
    let first = &decided.writes[0];
    assert!(first.new);
    let a = &first.alert;
    assert_eq!(
        (a.state, a.hits, a.value, a.active, a.resolution.as_deref()),
        (AlertState::Resolved, 2, 4.0, false, Some("auto_cleared"))
    );
    assert_eq!(
        (a.opened_at, a.updated_at, a.resolved_at, a.cleared_at),
        (1_000, 3_000, Some(3_000), Some(3_000))
    );
    let kinds: Vec<_> = first.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["opened", "rebreached", "auto_resolved"]);
    let second = &decided.writes[1].alert;
    assert!(decided.writes[1].new);
    assert_eq!(
        (
            second.state,
            second.hits,
            second.opened_at,
            second.category.as_deref()
        ),
        (AlertState::Open, 1, 4_000, Some("flood"))
    );

    let mut next_id = 10;
    let ids = persist(&decided, &mut next_id);
    let pushed = life.commit(decided, &ids);
    let seen: Vec<_> = pushed.iter().map(|a| (a.id, a.state, a.hits)).collect();
    assert_eq!(
        seen,
        [
            (11, AlertState::Open, 1),
            (11, AlertState::Open, 2),
            (11, AlertState::Resolved, 2),
            (12, AlertState::Open, 1),
        ]
    );
    assert_eq!(
        life.active_pairs(),
        [("wl-1".to_owned(), "flood".to_owned())]
    );
}

#[test]
fn decisions_wait_for_the_commit() {
    let mut life = Lifecycle::default();
    let decided = decide(&life, &[fire("wl-1", 5.5, 1_000)]);
    // not committed (the store failed): deciding again gives the same, and nothing is live
    assert_eq!(
        decide(&life, &[fire("wl-1", 5.5, 1_000)]).writes,
        decided.writes
    );
    assert_eq!(life.unresolved_count(), 0);

    life.commit(decided, &[7]);
    let repeat = decide(&life, &[fire("wl-1", 5.8, 2_000)]);
    let [w] = repeat.writes.as_slice() else {
        panic!("a repeat changes the stored alert: {:?}", repeat.writes)
    };
    assert!(!w.new);
    assert_eq!(
        (w.alert.id, w.alert.hits, w.alert.value, w.alert.updated_at),
        (7, 2, 5.8, 2_000)
    );
    assert_eq!(life.commit(repeat, &[7]).len(), 1);

    let cleared = decide(&life, &[clear("wl-1", 4.2, 3_000)]);
    let [w] = cleared.writes.as_slice() else {
        panic!("a clear changes the stored alert: {:?}", cleared.writes)
    };
    assert_eq!(
        (w.alert.id, w.alert.state, w.alert.resolved_at),
        (7, AlertState::Resolved, Some(3_000))
    );
    life.commit(cleared, &[7]);
    assert_eq!(life.unresolved_count(), 0);
    assert!(
        life.get(7).is_none(),
        "resolved and inactive: no longer live"
    );
}

#[test]
fn a_clear_with_nothing_live_does_nothing() {
    let life = Lifecycle::default();
    let decided = decide(
        &life,
        &[clear("wl-1", 4.0, 1_000), clear("wl-2", 4.0, 1_000)],
    );
    assert!(decided.writes.is_empty());
    assert!(Lifecycle::default().commit(decided, &[]).is_empty());
}

#[test]
fn late_readings_do_not_rewind_and_an_unknown_value_keeps_the_last() {
    let mut life = Lifecycle::default();
    let decided = decide(&life, &[fire("wl-1", 5.5, 5_000)]);
    life.commit(decided, &[1]);
    let decided = decide(
        &life,
        &[fire("wl-1", 5.7, 4_000), clear("wl-1", f64::NAN, 4_500)],
    );
    let a = &decided.writes[0].alert;
    assert_eq!(
        (a.updated_at, a.value, a.resolved_at),
        (5_000, 5.7, Some(4_500))
    );
    assert_eq!(a.opened_at, 5_000);
}

/// Takes `action` on the live alert `id` as the manager would, and applies the result.
fn act(life: &mut Lifecycle, id: i64, action: Action, role: Role, agency: Option<&str>) {
    let actor = Actor {
        username: "u".into(),
        role,
        agency: agency.map(Into::into),
    };
    let req = Request {
        agencies: vec!["water".into()],
        ..Request::default()
    };
    let alert = life.get(id).expect("live").clone();
    let (next, _) = handling::act(&alert, action, &req, &actor, None, 50_000).expect("allowed");
    life.apply(next);
}

#[test]
fn after_dispatch_a_clear_leaves_it_to_the_handler_and_a_rebreach_reuses_it() {
    let mut life = Lifecycle::default();
    let d = decide(&life, &[fire("wl-1", 5.5, 1_000)]);
    life.commit(d, &[1]);
    act(&mut life, 1, Action::Dispatch, Role::Operator, None);

    let d = decide(&life, &[clear("wl-1", 4.0, 2_000)]);
    let w = &d.writes[0];
    assert_eq!(
        (
            w.alert.state,
            w.alert.active,
            w.alert.cleared_at,
            w.alert.resolution.as_ref()
        ),
        (AlertState::Dispatched, false, Some(2_000), None)
    );
    assert_eq!(w.events[0].kind, "cleared");
    life.commit(d, &[1]);
    assert!(life.active_pairs().is_empty());
    assert_eq!(life.unresolved_count(), 1);

    act(
        &mut life,
        1,
        Action::Start,
        Role::AgencyHandler,
        Some("water"),
    );
    // a new breach while in progress updates the same alert
    let d = decide(&life, &[fire("wl-1", 6.0, 3_000)]);
    let w = &d.writes[0];
    assert!(!w.new);
    assert_eq!(
        (
            w.alert.id,
            w.alert.state,
            w.alert.active,
            w.alert.hits,
            w.alert.cleared_at
        ),
        (1, AlertState::InProgress, true, 2, None)
    );
    life.commit(d, &[1]);

    // the handler resolves it while the condition still holds: it stays live until it clears,
    // and the next breach after that opens a new alert
    act(
        &mut life,
        1,
        Action::Resolve,
        Role::AgencyHandler,
        Some("water"),
    );
    assert!(
        life.get(1)
            .is_some_and(|a| a.active && a.state == AlertState::Resolved)
    );
    let d = decide(&life, &[clear("wl-1", 4.0, 4_000)]);
    assert_eq!(
        d.writes[0].alert.state,
        AlertState::Resolved,
        "a clear does not change a resolution"
    );
    life.commit(d, &[1]);
    assert!(life.get(1).is_none());
    let d = decide(&life, &[fire("wl-1", 6.0, 5_000)]);
    assert!(d.writes[0].new);
}

#[test]
fn starts_from_the_live_alerts_only_and_keeps_devices_apart() {
    let mut life = Lifecycle::default();
    let decided = decide(&life, &[fire("wl-1", 5.5, 1_000), fire("wl-2", 6.0, 1_000)]);
    assert_eq!(decided.writes.len(), 2);
    let pushed = life.commit(decided, &[1, 2]);
    let mut resolved = pushed[1].clone();
    resolved.state = AlertState::Resolved;
    resolved.active = false;
    let restarted = Lifecycle::new([pushed[0].clone(), resolved]);
    assert_eq!(
        restarted.active_pairs(),
        [("wl-1".to_owned(), "flood".to_owned())]
    );
    // the resolved one opens anew
    let decided = decide(&restarted, &[fire("wl-2", 6.5, 2_000)]);
    assert!(matches!(decided.writes.as_slice(), [w] if w.new && w.alert.hits == 1));
}

#[test]
fn a_new_alert_gets_its_place_deadlines_and_auto_dispatch() {
    let areas = Areas::parse([("demo", iochub_sim::province::AREAS_GEOJSON)]).expect("areas");
    let doc: toml::Table = r#"
[[routes]]
category = "flood"
severity = "critical"
area = "cb-p-thucphan"
agency = ["ubnd-thucphan", "water"]
auto_dispatch = true

[[escalations]]
severity = "critical"
ack_within = "5m"
resolve_within = "2h"
"#
    .parse()
    .expect("toml");
    let policy = Policy::from_toml(doc.get("routes"), doc.get("escalations")).expect("policy");
    let city = |_: &str| Some((106.257, 22.666));
    let ctx = Context {
        policy: &policy,
        areas: &areas,
        locate: &city,
        now_ms: 1_000_000,
    };
    let d = Lifecycle::default().decide(&[fire("wl-1", 5.5, 900_000)], &ctx);
    let w = &d.writes[0];
    let a = &w.alert;
    assert!(
        a.areas.iter().any(|x| x == "cb-p-thucphan"),
        "{:?}",
        a.areas
    );
    assert_eq!((a.lon, a.lat), (Some(106.257), Some(22.666)));
    assert_eq!(
        (a.ack_deadline, a.resolve_deadline),
        (Some(1_300_000), Some(8_200_000)),
        "deadlines count from when the hub learns of it"
    );
    assert_eq!(
        (a.state, a.agency.as_deref(), a.dispatched_at),
        (
            AlertState::Dispatched,
            Some("ubnd-thucphan"),
            Some(1_000_000)
        )
    );
    let kinds: Vec<_> = w
        .events
        .iter()
        .map(|e| (e.kind.as_str(), e.actor.as_str()))
        .collect();
    assert_eq!(kinds, [("opened", "system"), ("dispatch", "system")]);

    // elsewhere: no route, no dispatch
    let west = |_: &str| Some((105.55, 22.88));
    let ctx = Context {
        locate: &west,
        ..ctx
    };
    let d = Lifecycle::default().decide(&[fire("wl-9", 5.5, 900_000)], &ctx);
    assert_eq!(d.writes[0].alert.state, AlertState::Open);
}
