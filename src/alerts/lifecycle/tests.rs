use super::*;
use crate::pipeline::{Clear, Fire, Op, Severity};

fn fire(device: &str, value: f64, ts_ms: i64) -> AlertChange {
    AlertChange::Fire(Fire {
        rule: "flood".into(),
        device: device.into(),
        metric: "water_level".into(),
        op: Op::Ge,
        threshold: 5.0,
        severity: Severity::Critical,
        value,
        ts_ms,
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

/// What a store does: new alerts draw the next id, changed ones keep theirs.
fn persist(decided: &Decided, next_id: &mut i64) -> Vec<i64> {
    decided
        .writes
        .iter()
        .map(|w| match w {
            AlertWrite::New(_) => {
                *next_id += 1;
                *next_id
            }
            AlertWrite::Changed(a) => a.id,
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
    let decided = life.decide(&batch);
    // two alerts: the first opened and resolved, a second opened after it
    assert_eq!(decided.writes.len(), 2);
    let first = decided.writes[0].alert();
    assert!(matches!(decided.writes[0], AlertWrite::New(_)));
    assert_eq!(
        (first.state, first.hits, first.value),
        (AlertState::Resolved, 2, 4.0)
    );
    assert_eq!(
        (first.opened_at, first.updated_at, first.resolved_at),
        (1_000, 3_000, Some(3_000))
    );
    let second = decided.writes[1].alert();
    assert!(matches!(decided.writes[1], AlertWrite::New(_)));
    assert_eq!(
        (second.state, second.hits, second.opened_at),
        (AlertState::Open, 1, 4_000)
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
    assert_eq!(life.open_pairs(), [("wl-1".to_owned(), "flood".to_owned())]);
}

#[test]
fn decisions_wait_for_the_commit() {
    let mut life = Lifecycle::default();
    let decided = life.decide(&[fire("wl-1", 5.5, 1_000)]);
    // not committed (the store failed): deciding again gives the same, and nothing is open
    assert_eq!(
        life.decide(&[fire("wl-1", 5.5, 1_000)]).writes,
        decided.writes
    );
    assert_eq!(life.open_count(), 0);

    life.commit(decided, &[7]);
    let repeat = life.decide(&[fire("wl-1", 5.8, 2_000)]);
    let [AlertWrite::Changed(a)] = repeat.writes.as_slice() else {
        panic!("a repeat changes the stored alert: {:?}", repeat.writes)
    };
    assert_eq!((a.id, a.hits, a.value, a.updated_at), (7, 2, 5.8, 2_000));
    let pushed = life.commit(repeat, &[7]);
    assert_eq!(pushed.len(), 1);

    let cleared = life.decide(&[clear("wl-1", 4.2, 3_000)]);
    let [AlertWrite::Changed(a)] = cleared.writes.as_slice() else {
        panic!("a clear changes the stored alert: {:?}", cleared.writes)
    };
    assert_eq!(
        (a.id, a.state, a.resolved_at),
        (7, AlertState::Resolved, Some(3_000))
    );
    life.commit(cleared, &[7]);
    assert_eq!(life.open_count(), 0);
}

#[test]
fn a_clear_with_nothing_open_does_nothing() {
    let life = Lifecycle::default();
    let decided = life.decide(&[clear("wl-1", 4.0, 1_000), clear("wl-2", 4.0, 1_000)]);
    assert!(decided.writes.is_empty());
    assert!(Lifecycle::default().commit(decided, &[]).is_empty());
}

#[test]
fn late_readings_do_not_rewind_and_an_unknown_value_keeps_the_last() {
    let mut life = Lifecycle::default();
    let decided = life.decide(&[fire("wl-1", 5.5, 5_000)]);
    life.commit(decided, &[1]);
    let decided = life.decide(&[fire("wl-1", 5.7, 4_000), clear("wl-1", f64::NAN, 4_500)]);
    let a = decided.writes[0].alert();
    assert_eq!(
        (a.updated_at, a.value, a.resolved_at),
        (5_000, 5.7, Some(4_500))
    );
    assert_eq!(a.opened_at, 5_000);
}

#[test]
fn starts_from_the_open_alerts_only_and_keeps_devices_apart() {
    let mut life = Lifecycle::default();
    let decided = life.decide(&[fire("wl-1", 5.5, 1_000), fire("wl-2", 6.0, 1_000)]);
    assert_eq!(decided.writes.len(), 2);
    let pushed = life.commit(decided, &[1, 2]);
    let mut resolved = pushed[1].clone();
    resolved.state = AlertState::Resolved;
    let restarted = Lifecycle::new([pushed[0].clone(), resolved]);
    assert_eq!(
        restarted.open_pairs(),
        [("wl-1".to_owned(), "flood".to_owned())]
    );
    // the resolved one opens anew
    let decided = restarted.decide(&[fire("wl-2", 6.5, 2_000)]);
    assert!(matches!(decided.writes.as_slice(), [AlertWrite::New(a)] if a.hits == 1));
}
