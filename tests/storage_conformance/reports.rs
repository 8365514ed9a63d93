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
use iochub::pipeline::{DeadLetter, WriteItem};
use iochub::reports::handling::{Names, report};
use iochub::reports::supply::{Inputs, Thresholds};
use iochub::storage::supply::{SupplySettings, SupplyTally};
use iochub::storage::*;
use iochub::systems::System;

use super::contract::readings;

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

/// One batch through the store and the batcher's tally, committed at `commit_ms`.
async fn commit(store: &dyn Store, tally: &mut SupplyTally, items: Vec<WriteItem>, commit_ms: i64) {
    let items = Arc::new(items);
    let outcome = store.write(items.clone(), commit_ms).await.expect("write");
    tally.committed(&items, &outcome, commit_ms);
}

fn letter(device: &str, reason: &str, at: i64) -> DeadLetter {
    DeadLetter {
        id: None,
        received_at: at,
        topic: format!("ioc/{device}/telemetry"),
        reason: reason.into(),
        detail: "seeded".into(),
        payload: "{".into(),
    }
}

/// The data-supply report of 10 November 2026 (local), by hand. The `water` system expects a
/// reading every 300 s of `wl-*` and `st-dead`:
/// - wl-1 reports every 5 min, each stored 2 s later, but is silent from 03:00 to 06:00 (the 35
///   readings 03:05–05:55 are missing): 253 of 288, one outage of 10,800 s, all live;
/// - wl-2 reports all 288, each stored 400 s late (not live: the live time is 300 s); 4 of them
///   are sent again at 13:00 (duplicates), 2 messages are malformed and 1 value out of range;
/// - aq-1 has no system and no interval: two metrics every 10 min, learned as 600 s, 288 of 288;
/// - st-dead last reported on 9 November at 12:00: nothing of 288, an outage of the whole day.
pub(crate) async fn supply_report_has_the_hand_computed_answers(store: &dyn Store) {
    let zone = Zone::default();
    let day = at("2026-11-10T00:00:00+07:00");
    let water = System {
        id: "water".into(),
        name: "Mạng trạm quan trắc tài nguyên nước".into(),
        owner: Some("Sở Nông nghiệp và Môi trường".into()),
        expected_interval_s: Some(300.0),
        devices: vec!["wl-*".into()],
        created_at: 0,
        updated_at: 0,
    };
    assert!(store.insert_system(water).await.expect("system"));
    let mut tally = SupplyTally::new(SupplySettings::default());
    // The day before: each device's first appearance (st-dead's last reading).
    let eve = day - 5 * 60_000;
    commit(
        store,
        &mut tally,
        vec![
            readings("wl-1", "water_level", &[(eve, 1.0)]),
            readings("wl-2", "water_level", &[(eve, 1.0)]),
            readings("aq-1", "pm25", &[(eve, 10.0)]),
            readings("aq-1", "pm10", &[(eve, 20.0)]),
            readings(
                "st-dead",
                "water_level",
                &[(at("2026-11-09T12:00:00+07:00"), 1.0)],
            ),
        ],
        eve + 1000,
    )
    .await;
    let patch = DevicePatch {
        system: Some("water".into()),
        ..DevicePatch::default()
    };
    store.update_device("st-dead", patch).await.expect("patch");
    let silent = at("2026-11-10T03:00:00+07:00")..=at("2026-11-10T06:00:00+07:00");
    for slot in 0..288 {
        let ts = day + slot * 300_000;
        let mut live = Vec::new();
        if ts == *silent.start() || ts == *silent.end() || !silent.contains(&ts) {
            live.push(readings("wl-1", "water_level", &[(ts, 2.0)]));
        }
        if slot % 2 == 0 {
            live.push(readings("aq-1", "pm25", &[(ts, 11.0)]));
            live.push(readings("aq-1", "pm10", &[(ts, 21.0)]));
        }
        if !live.is_empty() {
            commit(store, &mut tally, live, ts + 2000).await;
        }
        let late = vec![readings("wl-2", "water_level", &[(ts, 2.0)])];
        commit(store, &mut tally, late, ts + 400_000).await;
    }
    let noon = at("2026-11-10T12:00:00+07:00");
    let again: Vec<(i64, f64)> = (0..4).map(|i| (noon + i * 300_000, 2.0)).collect();
    let letters = vec![
        letter("wl-2", "malformed_json", noon),
        letter("wl-2", "malformed_json", noon + 1),
        letter("wl-2", "out_of_range", noon + 2),
        letter("nobody-known", "malformed_json", noon + 3),
    ];
    commit(
        store,
        &mut tally,
        vec![
            readings("wl-2", "water_level", &again),
            WriteItem::DeadLetters(letters),
        ],
        at("2026-11-10T13:00:00+07:00"),
    )
    .await;
    store
        .write(Arc::new(vec![WriteItem::Supply(tally.take())]), day)
        .await
        .expect("supply");

    let period = Period::between("2026-11-10", "2026-11-10", zone).expect("period");
    let (first, last) = (period.first.to_string(), period.last.to_string());
    let devices = store.devices().await.expect("devices");
    let systems = store.systems().await.expect("systems");
    let supply = store.supply(&first, &last).await.expect("supply");
    let gaps = store
        .supply_gaps(period.from_ms, period.to_ms)
        .await
        .expect("gaps");
    let rejections = store
        .rejections(period.from_ms, period.to_ms)
        .await
        .expect("rejections");
    let report = iochub::reports::supply::report(&Inputs {
        period: &period,
        zone,
        now_ms: period.to_ms + 3_600_000,
        thresholds: Thresholds {
            live_within_ms: 300_000,
            outage_after_ms: 3_600_000,
        },
        devices: &devices,
        systems: &systems,
        supply: &supply,
        gaps: &gaps,
        rejections: &rejections,
    });
    let device = |key: &str| {
        report
            .devices
            .iter()
            .find(|d| d.device == key)
            .unwrap_or_else(|| panic!("{key} in {:?}", report.devices))
    };
    let close = |a: Option<f64>, b: f64| a.is_some_and(|a| (a - b).abs() < 1e-9);

    let wl1 = device("wl-1");
    let s = &wl1.supply;
    assert_eq!(
        (wl1.interval_source, wl1.interval_s),
        ("system", Some(300.0))
    );
    assert_eq!(
        (s.expected, s.received, s.rejected, s.duplicates),
        (288, 253, 0, 0)
    );
    assert!(close(s.complete, 253.0 / 288.0), "{s:?}");
    assert_eq!(
        (s.correct, s.clean, s.live),
        (Some(1.0), Some(1.0), Some(1.0))
    );
    assert_eq!(
        (s.latency_median_s, s.latency_p95_s),
        (Some(2.0), Some(2.0))
    );
    assert_eq!((s.outages, s.outage_s), (1, 10_800.0));

    let wl2 = &device("wl-2").supply;
    assert_eq!(
        (
            wl2.expected,
            wl2.received,
            wl2.rejected,
            wl2.duplicates,
            wl2.out_of_range
        ),
        (288, 288, 2, 4, 1)
    );
    assert_eq!(wl2.rejected_by_reason.get("malformed_json"), Some(&2));
    assert_eq!(wl2.complete, Some(1.0));
    assert!(close(wl2.correct, 288.0 / 290.0), "{wl2:?}");
    assert!(close(wl2.clean, 288.0 / 293.0), "{wl2:?}");
    assert_eq!(wl2.live, Some(0.0));
    assert_eq!(
        (wl2.latency_median_s, wl2.latency_p95_s),
        (Some(600.0), Some(600.0))
    );
    assert_eq!(wl2.outages, 0);

    let aq = device("aq-1");
    assert_eq!(
        (aq.system.as_str(), aq.interval_source, aq.metrics),
        ("unassigned", "learned", 2)
    );
    assert!(close(aq.interval_s, 600.0), "{aq:?}");
    assert_eq!((aq.supply.expected, aq.supply.received), (288, 288));

    let dead = device("st-dead");
    assert_eq!(
        (
            dead.supply.expected,
            dead.supply.received,
            dead.supply.complete
        ),
        (288, 0, Some(0.0))
    );
    assert_eq!((dead.supply.correct, dead.supply.live), (None, None));
    assert_eq!((dead.supply.outages, dead.supply.outage_s), (1, 86_400.0));

    let water = report
        .systems
        .iter()
        .find(|s| s.id == "water")
        .expect("water");
    assert_eq!((water.devices, water.silent_devices), (3, 1));
    let w = &water.supply;
    assert_eq!(
        (
            w.expected,
            w.received,
            w.rejected,
            w.duplicates,
            w.out_of_range
        ),
        (864, 541, 2, 4, 1)
    );
    assert!(close(w.complete, 541.0 / 864.0), "{w:?}");
    assert!(close(w.correct, 541.0 / 543.0), "{w:?}");
    assert!(close(w.clean, 541.0 / 546.0), "{w:?}");
    assert!(close(w.live, 253.0 / 545.0), "{w:?}");
    assert_eq!((w.outages, w.outage_s), (2, 97_200.0));
    assert_eq!(
        report.unattributed_rejections, 1,
        "nobody-known is no device"
    );
    let longest = &report.outages[0];
    assert_eq!(
        (longest.device.as_str(), longest.end.as_deref()),
        ("st-dead", None)
    );
    assert_eq!(report.outages[1].start, "2026-11-10T03:00:00+07:00");
    assert_eq!(
        report.outages[1].end.as_deref(),
        Some("2026-11-10T06:00:00+07:00")
    );
}

/// Issued reports: each issue of (kind, period) is the next version; listed newest first without
/// bodies; read back byte for byte.
pub(crate) async fn issued_reports_are_versioned_and_kept(store: &dyn Store) {
    let report = |json: &str| iochub::reports::model::IssuedReport {
        id: 0,
        kind: "handling".into(),
        period: "2026-11".into(),
        version: 0,
        issued_at: at("2026-12-01T00:30:00+07:00"),
        issued_by: "system".into(),
        sha256: iochub::hex::sha256(json.as_bytes()),
        json: json.into(),
        csv: "\u{feff}Báo cáo\r\n".into(),
    };
    let issue = |r, first_only| store.insert_issued_report(r, first_only);
    let v1 = issue(report(r#"{"total":4}"#), true)
        .await
        .expect("issue")
        .expect("v1");
    let again = issue(report(r#"{"total":4}"#), true)
        .await
        .expect("issue again");
    assert_eq!(
        again, None,
        "the hub's own issue happens once, also from two hubs"
    );
    let v2 = issue(report(r#"{"total":5}"#), false)
        .await
        .expect("reissue")
        .expect("v2");
    let other = issue(
        iochub::reports::model::IssuedReport {
            kind: "data-supply".into(),
            ..report("{}")
        },
        true,
    )
    .await
    .expect("other kind")
    .expect("its first");
    assert_eq!((v1.version, v2.version, other.version), (1, 2, 1));
    let list = store.issued_reports().await.expect("list");
    let ids: Vec<i64> = list.iter().map(|r| r.id).collect();
    assert_eq!(ids, [other.id, v2.id, v1.id], "newest first");
    assert!(
        list.iter().all(|r| r.json.is_empty()),
        "no bodies in the list"
    );
    let back = store.issued_report(v1.id).await.expect("get").expect("v1");
    assert_eq!(back, v1, "as issued, bodies and all");
    assert_eq!(back.sha256, iochub::hex::sha256(back.json.as_bytes()));
    assert_eq!(store.issued_report(9999).await.expect("get"), None);
}
