//! The reports against a seeded data set whose answers are computed by hand (in the comments),
//! on each store: what `alerts_for_report` returns, through the report's arithmetic.
//!
//! November 2026 in Asia/Ho_Chi_Minh (UTC+7). Times after an alert's name count from its
//! opening:
//! - A1 flood, critical, 3 Nov 08:00: acknowledged +600 s, dispatched to so-nnmt +1200 s,
//!   started +1800 s, resolved +7200 s (deadline +14400 s: on time), closed +9000 s.
//! - A2 landslide, warning, 10 Nov 09:00: escalated +1200 s, acknowledged late +2700 s (deadline
//!   +900 s), dispatched to pccc +3000 s, resolved +18000 s (deadline +10800 s: late).
//! - A3 forest fire, critical, 20 Nov 14:00: acknowledged +300 s, dispatched to pccc +360 s,
//!   started +600 s, never resolved (deadline +7200 s: overdue at the month's end).
//! - A4 air pollution, info, 30 Nov 23:30 local (16:30 UTC): cleared by itself at 23:40. It
//!   belongs to November.
//! - A5 1 Dec 00:30 local: December's. A6 25 Oct, never handled: open at November's end.
//!   A7 20 Oct, resolved the same day: in no November number.

use std::sync::Arc;

use iochub::accounts::model::Role;
use iochub::alerts::handling::{self, Action, Actor, Request};
use iochub::alerts::model::{AlertEvent, Source};
use iochub::alerts::{Alert, AlertState, AlertWrite};
use iochub::calendar::{Period, Zone};
use iochub::pipeline::Severity;
use iochub::reports::handling::{Names, report};
use iochub::storage::*;

fn at(local: &str) -> i64 {
    iochub::timefmt::parse_rfc3339(local).expect("time")
}

struct Seed<'a> {
    store: &'a dyn Store,
}

impl Seed<'_> {
    async fn open(
        &self,
        rule: &str,
        category: &str,
        severity: Severity,
        created: i64,
        deadlines: Option<(i64, i64)>,
    ) -> Alert {
        let alert = Alert {
            category: Some(category.into()),
            ack_deadline: deadlines.map(|d| created + d.0 * 1000),
            resolve_deadline: deadlines.map(|d| created + d.1 * 1000),
            ..Alert::new(
                Source::Rule,
                rule,
                &format!("{rule}-dev"),
                severity,
                created,
            )
        };
        let write = AlertWrite {
            new: true,
            alert: alert.clone(),
            events: vec![AlertEvent::new(created, "system", "opened")],
            deliveries: Vec::new(),
            attachments: Vec::new(),
        };
        let ids = self
            .store
            .save_alerts(Arc::new(vec![write]))
            .await
            .expect("save");
        Alert {
            id: ids[0],
            ..alert
        }
    }

    async fn save(&self, alert: Alert, event: AlertEvent) -> Alert {
        let write = AlertWrite {
            new: false,
            alert: alert.clone(),
            events: vec![event],
            deliveries: Vec::new(),
            attachments: Vec::new(),
        };
        self.store.save_action(write, None).await.expect("action");
        alert
    }

    /// A handling action `after` seconds from the alert's opening.
    async fn act(&self, a: &Alert, action: Action, after: i64, agency: Option<&str>) -> Alert {
        let (actor, req) = match action {
            Action::Start | Action::Resolve if a.agency.is_some() => (
                actor("handler", Role::AgencyHandler, a.agency.as_deref()),
                Request::default(),
            ),
            Action::Close => (actor("sup", Role::Supervisor, None), Request::default()),
            _ => (
                actor("op", Role::Operator, None),
                Request {
                    agencies: agency.map(|g| vec![g.to_owned()]).unwrap_or_default(),
                    ..Request::default()
                },
            ),
        };
        let now = a.created_at + after * 1000;
        let (next, event) = handling::act(a, action, &req, &actor, None, now).expect("allowed");
        self.save(next, event).await
    }

    async fn escalate(&self, a: &Alert, after: i64) -> Alert {
        let now = a.created_at + after * 1000;
        let alert = Alert {
            escalations: a.escalations + 1,
            updated_at: now,
            ..a.clone()
        };
        self.save(alert, AlertEvent::new(now, "system", "escalated"))
            .await
    }

    async fn auto_resolve(&self, a: &Alert, at: i64) -> Alert {
        let alert = Alert {
            state: AlertState::Resolved,
            resolution: Some("auto_cleared".into()),
            resolved_at: Some(at),
            cleared_at: Some(at),
            updated_at: at,
            ..a.clone()
        };
        let event =
            AlertEvent::new(at, "system", "auto_resolved").moved(a.state, AlertState::Resolved);
        self.save(alert, event).await
    }
}

fn actor(name: &str, role: Role, agency: Option<&str>) -> Actor {
    Actor {
        username: name.into(),
        role,
        agency: agency.map(Into::into),
    }
}

/// Seeds the alerts above; returns A3 and A6, which stay open.
async fn seed(store: &dyn Store) -> (i64, i64) {
    let s = Seed { store };
    let a1 = s
        .open(
            "a1",
            "flood",
            Severity::Critical,
            at("2026-11-03T08:00:00+07:00"),
            Some((900, 14_400)),
        )
        .await;
    let a1 = s.act(&a1, Action::Acknowledge, 600, None).await;
    let a1 = s.act(&a1, Action::Dispatch, 1200, Some("so-nnmt")).await;
    let a1 = s.act(&a1, Action::Start, 1800, None).await;
    let a1 = s.act(&a1, Action::Resolve, 7200, None).await;
    s.act(&a1, Action::Close, 9000, None).await;

    let a2 = s
        .open(
            "a2",
            "landslide",
            Severity::Warning,
            at("2026-11-10T09:00:00+07:00"),
            Some((900, 10_800)),
        )
        .await;
    let a2 = s.escalate(&a2, 1200).await;
    let a2 = s.act(&a2, Action::Acknowledge, 2700, None).await;
    let a2 = s.act(&a2, Action::Dispatch, 3000, Some("pccc")).await;
    s.act(&a2, Action::Resolve, 18_000, None).await;

    let a3 = s
        .open(
            "a3",
            "forest_fire",
            Severity::Critical,
            at("2026-11-20T14:00:00+07:00"),
            Some((900, 7200)),
        )
        .await;
    let a3 = s.act(&a3, Action::Acknowledge, 300, None).await;
    let a3 = s.act(&a3, Action::Dispatch, 360, Some("pccc")).await;
    let a3 = s.act(&a3, Action::Start, 600, None).await;

    let a4 = s
        .open(
            "a4",
            "air_pollution",
            Severity::Info,
            at("2026-11-30T23:30:00+07:00"),
            None,
        )
        .await;
    s.auto_resolve(&a4, at("2026-11-30T23:40:00+07:00")).await;

    s.open(
        "a5",
        "flood",
        Severity::Warning,
        at("2026-12-01T00:30:00+07:00"),
        None,
    )
    .await;
    let a6 = s
        .open(
            "a6",
            "equipment",
            Severity::Info,
            at("2026-10-25T10:00:00+07:00"),
            None,
        )
        .await;
    let a7 = s
        .open(
            "a7",
            "flood",
            Severity::Info,
            at("2026-10-20T10:00:00+07:00"),
            None,
        )
        .await;
    s.auto_resolve(&a7, at("2026-10-20T12:00:00+07:00")).await;
    (a3.id, a6.id)
}

pub(crate) async fn handling_report_has_the_hand_computed_answers(store: &dyn Store) {
    let (a3, a6) = seed(store).await;
    let zone = Zone::default();
    let names = Names::default();
    let november = Period::parse("2026-11", zone).expect("period");
    let (alerts, events) = store
        .alerts_for_report(november.from_ms, november.to_ms)
        .await
        .expect("rows");
    let r = report(&november, zone, &alerts, &events, &names);

    assert_eq!(r.total, 4, "A1–A4; A5 is December's, A6 and A7 October's");
    let states: Vec<(&str, u64)> = r.by_state.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        states,
        [
            ("acknowledged", 0),
            ("closed", 1),
            ("dispatched", 0),
            ("in_progress", 1),
            ("open", 0),
            ("resolved", 2)
        ]
    );
    let keyed = |c: &[iochub::reports::handling::Count]| -> Vec<(String, u64)> {
        c.iter().map(|c| (c.key.clone(), c.count)).collect()
    };
    assert_eq!(
        keyed(&r.by_severity),
        [
            ("critical".into(), 2),
            ("warning".into(), 1),
            ("info".into(), 1)
        ]
    );
    assert_eq!(r.by_category.len(), 4);
    assert_eq!((r.ack_median_s, r.ack_p90_s), (Some(600.0), Some(2700.0)));
    assert_eq!(
        (r.dispatch_median_s, r.dispatch_p90_s),
        (Some(1200.0), Some(3000.0))
    );
    assert_eq!(
        (r.resolve_median_s, r.resolve_p90_s),
        (Some(12_600.0), Some(18_000.0)),
        "A1 7200 s and A2 18000 s; A4 cleared by itself"
    );
    assert_eq!(r.auto_cleared, 1);
    let d = &r.deadlines;
    assert_eq!(
        (d.with_ack_deadline, d.ack_breaches),
        (3, 1),
        "A2 acknowledged late"
    );
    assert_eq!(
        (d.with_resolve_deadline, d.resolve_breaches),
        (3, 2),
        "A2 resolved late, A3 never"
    );
    assert_eq!((d.escalations, d.alerts_escalated), (1, 1));

    let agencies: Vec<_> = r
        .by_agency
        .iter()
        .map(|a| {
            (
                a.agency.as_str(),
                a.received,
                a.on_time,
                a.late,
                a.outstanding,
                a.overdue,
            )
        })
        .collect();
    assert_eq!(
        agencies,
        [("pccc", 2, 0, 1, 1, 1), ("so-nnmt", 1, 1, 0, 0, 0)]
    );
    assert_eq!(r.by_agency[0].resolve_median_s, Some(15_000.0));
    assert_eq!(r.by_agency[1].resolve_median_s, Some(6000.0));

    assert_eq!(
        r.open_at_end_total, 2,
        "A3 in progress, A6 open since October"
    );
    assert_eq!(r.open_at_end["in_progress"], 1);
    assert_eq!(r.open_at_end["open"], 1);
    let oldest: Vec<(i64, bool)> = r
        .open_at_end_oldest
        .iter()
        .map(|o| (o.id, o.overdue))
        .collect();
    assert_eq!(oldest, [(a6, false), (a3, true)]);

    assert_eq!(r.per_day.len(), 30);
    let day = |date: &str| r.per_day.iter().find(|d| d.date == date).expect("day");
    assert_eq!(
        (day("2026-11-30").total, day("2026-11-30").info),
        (1, 1),
        "23:30 local"
    );
    assert_eq!(day("2026-11-03").critical, 1);
    assert_eq!(r.per_day.iter().map(|d| d.total).sum::<u64>(), 4);

    // December: A5 is its only alert; A3, A5 and A6 are open at its end.
    let december = Period::parse("2026-12", zone).expect("period");
    let (alerts, events) = store
        .alerts_for_report(december.from_ms, december.to_ms)
        .await
        .expect("rows");
    let r = report(&december, zone, &alerts, &events, &names);
    assert_eq!((r.total, r.open_at_end_total), (1, 3));
    assert!(r.by_agency.is_empty(), "nothing was dispatched in December");
    assert_eq!(r.deadlines.escalations, 0);

    // The fourth quarter holds them all but A6 and A7's October... and those too: Q4 starts 1 Oct.
    let q4 = Period::parse("2026-Q4", zone).expect("period");
    let (alerts, events) = store
        .alerts_for_report(q4.from_ms, q4.to_ms)
        .await
        .expect("rows");
    let r = report(&q4, zone, &alerts, &events, &names);
    assert_eq!((r.total, r.auto_cleared), (7, 2));
}
