//! The alert-handling report of a period, computed from the alerts and their timelines as they
//! stood at the period's end (a pure function: the store supplies the rows, [`super::Reports`]
//! the names).
//!
//! Definitions (also printed in the report, `definitions`):
//! - the period's alerts are those the hub opened in it (`created_at`, wall clock);
//! - time to acknowledge / dispatch / resolve counts from `created_at` to the first timeline
//!   entry that reached that state (a dispatch also acknowledges); resolving counts the last
//!   resolution before the period's end, and leaves out alerts whose condition cleared by
//!   itself before anyone dispatched them (`auto_cleared`: nobody handled them);
//! - the median of an even count is the mean of the two middle values; p90 is the nearest rank;
//! - an acknowledgement deadline is breached when the alert was still waiting for one (not
//!   acknowledged, not resolved) after its `ack_deadline`; a resolution deadline when it was
//!   still unresolved after its `resolve_deadline`; both judged no later than the period's end;
//! - per agency: `received` counts the alerts dispatched to it during the period; of those,
//!   `on_time` were resolved by their resolution deadline (or had none), `late` after it, and
//!   `outstanding` were not resolved at the period's end (`overdue`: of those, past deadline);
//! - still open at the end: every alert opened before the period's end and not resolved by it,
//!   also those opened in earlier periods.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::alerts::model::{Alert, AlertEvent, AlertState, Source};
use crate::calendar::{Period, Zone};

/// How many of the oldest alerts still open at the period's end are listed one by one.
pub const OPEN_LISTED: usize = 50;

#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct PeriodView {
    /// `2026-11`, `2026-Q4`, `2026-H2`, `2026`, or `2026-11-01..2026-11-15`.
    pub label: String,
    /// `month`, `quarter`, `half_year`, `year` or `range`.
    pub kind: String,
    /// First and last local day.
    pub first_day: String,
    pub last_day: String,
    /// `[from, to)` as instants (RFC 3339 with the zone's offset).
    pub from: String,
    pub to: String,
    pub timezone: String,
}

impl PeriodView {
    pub fn new(p: &Period, zone: Zone) -> Self {
        Self {
            label: p.label.clone(),
            kind: p.kind.as_str().to_owned(),
            first_day: p.first.to_string(),
            last_day: p.last.to_string(),
            from: zone.format(p.from_ms),
            to: zone.format(p.to_ms),
            timezone: zone.name().to_owned(),
        }
    }
}

/// One agency's line.
#[derive(Debug, Clone, Default, Serialize, PartialEq, utoipa::ToSchema)]
pub struct AgencyLine {
    pub agency: String,
    /// From the registry; the id when the agency is gone.
    pub name: String,
    pub received: u64,
    pub on_time: u64,
    pub late: u64,
    pub outstanding: u64,
    /// Outstanding and past the resolution deadline at the period's end.
    pub overdue: u64,
    /// Re-dispatched to other agencies before the period's end: no longer this one's to handle
    /// (received = on_time + late + outstanding + transferred).
    pub transferred: u64,
    pub resolve_median_s: Option<f64>,
}

/// A count under a key (a category, a severity, an area) with the key's name.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Count {
    pub key: String,
    pub name: String,
    pub count: u64,
}

/// The alerts opened on one local day, by severity (the chart).
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct DayCount {
    pub date: String,
    pub total: u64,
    pub critical: u64,
    pub warning: u64,
    pub info: u64,
}

/// An alert still unresolved at the period's end.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct OpenAlert {
    pub id: i64,
    pub state: AlertState,
    pub severity: String,
    pub category: Option<String>,
    /// The device, or a field report's text.
    pub subject: String,
    pub agency: Option<String>,
    pub opened: String,
    pub age_s: f64,
    pub overdue: bool,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Deadlines {
    /// Alerts that had an acknowledgement deadline, and how many breached it.
    pub with_ack_deadline: u64,
    pub ack_breaches: u64,
    pub with_resolve_deadline: u64,
    pub resolve_breaches: u64,
    /// Escalation tiers applied during the period, and to how many alerts.
    pub escalations: u64,
    pub alerts_escalated: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct HandlingReport {
    pub kind: &'static str,
    pub province: Option<String>,
    pub period: PeriodView,
    /// Alerts the hub opened in the period.
    pub total: u64,
    /// The period's alerts by their handling state at the period's end (every state listed).
    pub by_state: BTreeMap<String, u64>,
    pub by_category: Vec<Count>,
    pub by_severity: Vec<Count>,
    pub by_area: Vec<Count>,
    /// `rule` (a sensor's rule) or `field` (reported by a person).
    pub by_source: Vec<Count>,
    pub by_agency: Vec<AgencyLine>,
    pub ack_median_s: Option<f64>,
    pub ack_p90_s: Option<f64>,
    pub dispatch_median_s: Option<f64>,
    pub dispatch_p90_s: Option<f64>,
    pub resolve_median_s: Option<f64>,
    pub resolve_p90_s: Option<f64>,
    /// Of the period's alerts: resolved because their condition cleared before dispatch.
    pub auto_cleared: u64,
    pub deadlines: Deadlines,
    /// Every alert opened before the period's end and unresolved at it, by state.
    pub open_at_end: BTreeMap<String, u64>,
    pub open_at_end_total: u64,
    /// The oldest of them, up to [`OPEN_LISTED`].
    pub open_at_end_oldest: Vec<OpenAlert>,
    pub per_day: Vec<DayCount>,
    /// What each number means, in Vietnamese and English.
    pub definitions: BTreeMap<&'static str, Definition>,
}

/// What a number of a report means: its name and definition, in Vietnamese and English.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Definition {
    pub term_vi: &'static str,
    pub term_en: &'static str,
    pub vi: &'static str,
    pub en: &'static str,
}

/// `(key, term_vi, term_en, "vi / en")` rows into definitions.
pub fn definitions_of(
    rows: &[(&'static str, &'static str, &'static str, &'static str)],
) -> BTreeMap<&'static str, Definition> {
    rows.iter()
        .map(|(key, term_vi, term_en, text)| {
            let (vi, en) = text.split_once(" // ").unwrap_or((text, text));
            (
                *key,
                Definition {
                    term_vi,
                    term_en,
                    vi,
                    en,
                },
            )
        })
        .collect()
}

/// Names for keys (agencies, areas, categories) the report shows beside the ids.
#[derive(Debug, Default)]
pub struct Names {
    pub agencies: HashMap<String, String>,
    pub areas: HashMap<String, String>,
}

/// Median (mean of the middle two for an even count) and p90 (nearest rank) of `v`.
pub fn median_p90(mut v: Vec<f64>) -> (Option<f64>, Option<f64>) {
    if v.is_empty() {
        return (None, None);
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    (Some(median), Some(nearest_rank(&v, 0.9)))
}

/// The nearest-rank percentile of sorted `v` (not empty).
pub fn nearest_rank(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// One alert as its timeline says it stood at the period's end.
struct AsOfEnd<'a> {
    alert: &'a Alert,
    state: AlertState,
    acknowledged: Option<i64>,
    dispatched: Option<i64>,
    /// The resolution in force at the end (None once reopened), and whether the condition
    /// clearing before dispatch made it (`auto_resolved`) rather than a person.
    resolved: Option<i64>,
    auto: bool,
    /// The first time it was resolved (an acknowledgement was no longer awaited after it).
    first_resolved: Option<i64>,
    /// Each agency it was ever dispatched to, with the time of its first dispatch there.
    dispatched_to: Vec<(String, i64)>,
    /// The agencies of its latest dispatch: who has it (a re-dispatch replaces them).
    current: Vec<String>,
    escalations_in_period: u64,
}

fn as_of_end<'a>(alert: &'a Alert, events: &[&AlertEvent], period: &Period) -> AsOfEnd<'a> {
    let mut a = AsOfEnd {
        alert,
        state: AlertState::Open,
        acknowledged: None,
        dispatched: None,
        resolved: None,
        auto: false,
        first_resolved: None,
        dispatched_to: Vec::new(),
        current: Vec::new(),
        escalations_in_period: 0,
    };
    for e in events {
        if e.kind == "escalated" && e.ts >= period.from_ms {
            a.escalations_in_period += 1;
        }
        // A dispatch names its agencies, also a re-dispatch that leaves the state as it was
        // (its entry then has no `to_state`).
        if e.kind == "dispatch" {
            a.acknowledged.get_or_insert(e.ts);
            a.dispatched.get_or_insert(e.ts);
            let agencies: Vec<&str> = e
                .detail
                .get("agencies")
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str())
                .collect();
            for agency in &agencies {
                if !a.dispatched_to.iter().any(|(id, _)| id == agency) {
                    a.dispatched_to.push(((*agency).to_owned(), e.ts));
                }
            }
            a.current = agencies.into_iter().map(str::to_owned).collect();
        }
        let Some(to) = e.to_state else { continue };
        a.state = to;
        match to {
            AlertState::Acknowledged | AlertState::Dispatched => {
                a.acknowledged.get_or_insert(e.ts);
            }
            AlertState::Resolved => {
                a.resolved = Some(e.ts);
                a.auto = e.kind == "auto_resolved";
                a.first_resolved.get_or_insert(e.ts);
            }
            AlertState::Closed | AlertState::Open | AlertState::InProgress => {}
        }
        if to.unresolved() {
            a.resolved = None; // reopened
            a.auto = false;
        }
    }
    a
}

fn auto_cleared(a: &AsOfEnd) -> bool {
    a.resolved.is_some() && a.auto
}

fn severity_rank(s: &str) -> u8 {
    match s {
        "critical" => 0,
        "warning" => 1,
        _ => 2,
    }
}

fn counted(map: HashMap<String, u64>, name: impl Fn(&str) -> String) -> Vec<Count> {
    let mut v: Vec<Count> = map
        .into_iter()
        .map(|(key, count)| Count {
            name: name(&key),
            key,
            count,
        })
        .collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    v
}

/// The report of `period` from the rows [`crate::storage::Store::alerts_for_report`] returned.
pub fn report(
    period: &Period,
    zone: Zone,
    alerts: &[Alert],
    events: &[AlertEvent],
    names: &Names,
) -> HandlingReport {
    let mut by_alert: HashMap<i64, Vec<&AlertEvent>> = HashMap::new();
    for e in events.iter().filter(|e| e.ts < period.to_ms) {
        by_alert.entry(e.alert).or_default().push(e);
    }
    let facts: Vec<AsOfEnd> = alerts
        .iter()
        .filter(|a| a.created_at < period.to_ms)
        .map(|a| {
            as_of_end(
                a,
                by_alert.get(&a.id).map_or(&[][..], Vec::as_slice),
                period,
            )
        })
        .collect();
    let in_period = |f: &&AsOfEnd| f.alert.created_at >= period.from_ms;

    let mut by_state: BTreeMap<String, u64> = AlertState::ALL
        .iter()
        .map(|s| (s.as_str().to_owned(), 0))
        .collect();
    let (mut category, mut severity, mut area, mut source) = Default::default();
    let (mut ack, mut dispatch, mut resolve) = (Vec::new(), Vec::new(), Vec::new());
    let mut deadlines = Deadlines::default();
    let mut auto = 0;
    let mut days: BTreeMap<chrono::NaiveDate, DayCount> = period
        .each_day()
        .map(|d| {
            let zero = DayCount {
                date: d.to_string(),
                total: 0,
                critical: 0,
                warning: 0,
                info: 0,
            };
            (d, zero)
        })
        .collect();
    let bump = |m: &mut HashMap<String, u64>, k: &str| *m.entry(k.to_owned()).or_insert(0) += 1;
    for f in facts.iter().filter(in_period) {
        let a = f.alert;
        *by_state.entry(f.state.as_str().to_owned()).or_insert(0) += 1;
        bump(&mut category, a.category.as_deref().unwrap_or("other"));
        bump(&mut severity, a.severity.as_str());
        bump(&mut source, a.source.as_str());
        for id in &a.areas {
            bump(&mut area, id);
        }
        let since = |t: Option<i64>| t.map(|t| (t - a.created_at).max(0) as f64 / 1000.0);
        ack.extend(since(f.acknowledged));
        dispatch.extend(since(f.dispatched));
        if !auto_cleared(f) {
            resolve.extend(since(f.resolved));
        } else {
            auto += 1;
        }
        let end = period.to_ms;
        if let Some(deadline) = a.ack_deadline {
            deadlines.with_ack_deadline += 1;
            let waited_until = [f.acknowledged, f.first_resolved, Some(end)]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(end);
            deadlines.ack_breaches += u64::from(deadline < waited_until);
        }
        if let Some(deadline) = a.resolve_deadline {
            deadlines.with_resolve_deadline += 1;
            deadlines.resolve_breaches += u64::from(deadline < f.resolved.unwrap_or(end));
        }
        if let Some(day) = days.get_mut(&zone.date_of(a.created_at)) {
            day.total += 1;
            match a.severity.as_str() {
                "critical" => day.critical += 1,
                "warning" => day.warning += 1,
                _ => day.info += 1,
            }
        }
    }
    for f in &facts {
        deadlines.escalations += f.escalations_in_period;
        deadlines.alerts_escalated += u64::from(f.escalations_in_period > 0);
    }

    // Per agency: the alerts dispatched to it during the period, whenever they were opened.
    let mut agencies: BTreeMap<String, (AgencyLine, Vec<f64>)> = BTreeMap::new();
    for f in &facts {
        for (agency, at) in &f.dispatched_to {
            if *at < period.from_ms {
                continue;
            }
            let (line, times) = agencies.entry(agency.clone()).or_default();
            line.received += 1;
            if !f.current.contains(agency) {
                line.transferred += 1; // re-dispatched to others, who answer for it now
                continue;
            }
            let deadline = f.alert.resolve_deadline;
            match f.resolved {
                Some(t) => {
                    if deadline.is_none_or(|d| t <= d) {
                        line.on_time += 1;
                    } else {
                        line.late += 1;
                    }
                    times.push((t - at).max(0) as f64 / 1000.0);
                }
                _ => {
                    line.outstanding += 1;
                    line.overdue += u64::from(deadline.is_some_and(|d| d < period.to_ms));
                }
            }
        }
    }
    let by_agency = agencies
        .into_iter()
        .map(|(id, (mut line, times))| {
            line.name = names
                .agencies
                .get(&id)
                .cloned()
                .unwrap_or_else(|| id.clone());
            line.agency = id;
            line.resolve_median_s = median_p90(times).0;
            line
        })
        .collect();

    let mut open_at_end: BTreeMap<String, u64> = AlertState::ALL
        .iter()
        .filter(|s| s.unresolved())
        .map(|s| (s.as_str().to_owned(), 0))
        .collect();
    let mut open: Vec<&AsOfEnd> = facts.iter().filter(|f| f.state.unresolved()).collect();
    for f in &open {
        *open_at_end.entry(f.state.as_str().to_owned()).or_insert(0) += 1;
    }
    open.sort_by_key(|f| (f.alert.created_at, f.alert.id));
    let open_at_end_oldest = open
        .iter()
        .take(OPEN_LISTED)
        .map(|f| {
            let a = f.alert;
            OpenAlert {
                id: a.id,
                state: f.state,
                severity: a.severity.as_str().to_owned(),
                category: a.category.clone(),
                subject: match a.source {
                    Source::Field => a.text.clone().unwrap_or_default(),
                    Source::Rule => a.device.clone(),
                },
                agency: f.current.first().cloned(),
                opened: zone.format(a.created_at),
                age_s: (period.to_ms - a.created_at).max(0) as f64 / 1000.0,
                overdue: a.resolve_deadline.is_some_and(|d| d < period.to_ms),
            }
        })
        .collect();

    let (ack_median_s, ack_p90_s) = median_p90(ack);
    let (dispatch_median_s, dispatch_p90_s) = median_p90(dispatch);
    let (resolve_median_s, resolve_p90_s) = median_p90(resolve);
    let mut by_severity = counted(severity, str::to_owned);
    by_severity.sort_by_key(|c| severity_rank(&c.key));
    HandlingReport {
        kind: "handling",
        province: None,
        period: PeriodView::new(period, zone),
        total: facts.iter().filter(in_period).count() as u64,
        by_state,
        by_category: counted(category, str::to_owned),
        by_severity,
        by_area: counted(area, |id| {
            names
                .areas
                .get(id)
                .cloned()
                .unwrap_or_else(|| id.to_owned())
        }),
        by_source: counted(source, str::to_owned),
        by_agency,
        ack_median_s,
        ack_p90_s,
        dispatch_median_s,
        dispatch_p90_s,
        resolve_median_s,
        resolve_p90_s,
        auto_cleared: auto,
        deadlines,
        open_at_end_total: open.len() as u64,
        open_at_end,
        open_at_end_oldest,
        per_day: days.into_values().collect(),
        definitions: definitions(),
    }
}

fn definitions() -> BTreeMap<&'static str, Definition> {
    definitions_of(&[
        (
            "total",
            "Tổng số cảnh báo",
            "Alerts",
            "Số cảnh báo hệ thống mở trong kỳ (theo thời điểm mở). // Alerts the hub opened in the period.",
        ),
        (
            "ack",
            "Thời gian tiếp nhận",
            "Time to acknowledge",
            "Từ lúc mở đến lần tiếp nhận (hoặc chuyển xử lý) đầu tiên; trung vị và phân vị 90. // From opening to the first acknowledgement (or dispatch); median and p90.",
        ),
        (
            "dispatch",
            "Thời gian chuyển xử lý",
            "Time to dispatch",
            "Từ lúc mở đến lần chuyển cơ quan chức năng đầu tiên. // From opening to the first dispatch to an agency.",
        ),
        (
            "resolve",
            "Thời gian xử lý xong",
            "Time to resolve",
            "Từ lúc mở đến khi được xử lý xong trước cuối kỳ; không tính cảnh báo tự hết trước khi chuyển xử lý. // From opening to its resolution before the period's end; alerts that cleared by themselves before dispatch are left out.",
        ),
        (
            "deadlines",
            "Trễ hạn",
            "Deadlines",
            "Trễ hạn tiếp nhận: quá hạn tiếp nhận mà chưa tiếp nhận, chưa xử lý xong; trễ hạn xử lý: quá hạn xử lý mà chưa xử lý xong (xét đến cuối kỳ). // An acknowledgement deadline is breached when the alert was still waiting past it; a resolution deadline when it was still unresolved past it (judged up to the period's end).",
        ),
        (
            "by_agency",
            "Theo cơ quan",
            "Per agency",
            "Đã nhận = số cảnh báo được chuyển đến trong kỳ; đúng hạn / trễ hạn = xử lý xong trước / sau hạn xử lý; tồn = chưa xử lý xong cuối kỳ; đã chuyển = được chuyển tiếp cho cơ quan khác. // Received = dispatched to it in the period; on time / late = resolved by / after the resolution deadline; outstanding = unresolved at the period's end; transferred = re-dispatched to other agencies.",
        ),
        (
            "open_at_end",
            "Tồn cuối kỳ",
            "Open at the end",
            "Mọi cảnh báo mở trước cuối kỳ chưa xử lý xong tại cuối kỳ, kể cả từ các kỳ trước. // Still open at the end: every alert opened before the period's end and unresolved at it, also from earlier periods.",
        ),
        (
            "median",
            "Trung vị, phân vị 90",
            "Median, p90",
            "Trung vị của số chẵn giá trị là trung bình hai giá trị giữa; phân vị 90 theo hạng gần nhất. // The median of an even count is the mean of the two middle values; p90 is the nearest rank.",
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::alerts::model::{AlertEvent, Source};
    use crate::pipeline::Severity;

    fn at(s: &str) -> i64 {
        crate::timefmt::parse_rfc3339(s).expect("time")
    }

    fn event(
        alert: i64,
        ts: i64,
        kind: &str,
        moved: Option<(AlertState, AlertState)>,
    ) -> AlertEvent {
        let e = AlertEvent {
            alert,
            ..AlertEvent::new(ts, "someone", kind)
        };
        match moved {
            Some((from, to)) => e.moved(from, to),
            None => e,
        }
    }

    /// A re-dispatch moves the alert to another agency without changing its state: the first
    /// agency received it and passed it on, the second answers for it.
    #[test]
    fn a_redispatched_alert_is_the_new_agencys() {
        use AlertState as S;
        let zone = Zone::default();
        let nov = Period::parse("2026-11", zone).expect("period");
        let t = at("2026-11-03T08:00:00+07:00");
        let alert = Alert {
            id: 1,
            resolve_deadline: Some(t + 4 * 3_600_000),
            ..Alert::new(Source::Rule, "r", "d", Severity::Critical, t)
        };
        let to = |agency: &str| serde_json::json!({ "agencies": [agency] });
        let events = vec![
            event(1, t, "opened", None),
            event(1, t + 60_000, "dispatch", Some((S::Open, S::Dispatched))).detail(to("so-nnmt")),
            event(1, t + 600_000, "dispatch", None).detail(to("pccc")),
            event(
                1,
                t + 3_600_000,
                "resolve",
                Some((S::Dispatched, S::Resolved)),
            ),
        ];
        let r = report(&nov, zone, &[alert], &events, &Names::default());
        let line = |id: &str| {
            r.by_agency
                .iter()
                .find(|a| a.agency == id)
                .expect(id)
                .clone()
        };
        let (first, second) = (line("so-nnmt"), line("pccc"));
        assert_eq!(
            (first.received, first.transferred, first.on_time),
            (1, 1, 0)
        );
        assert_eq!(
            (second.received, second.on_time, second.transferred),
            (1, 1, 0)
        );
        assert_eq!(
            second.resolve_median_s,
            Some(3000.0),
            "from its own dispatch"
        );
    }

    /// A November resolution by a person stays that in November's report, whatever happened to
    /// the alert in December; an alert resolved in time before its deadline was not waiting for
    /// an acknowledgement afterwards.
    #[test]
    fn the_report_of_a_past_month_reads_the_timeline_up_to_its_end() {
        use AlertState as S;
        let zone = Zone::default();
        let nov = Period::parse("2026-11", zone).expect("period");
        let t = at("2026-11-28T08:00:00+07:00");
        let alert = Alert {
            id: 7,
            ack_deadline: Some(t + 900_000),
            resolution: Some("auto_cleared".into()), // how it stands now, in December
            ..Alert::new(Source::Rule, "r", "d", Severity::Warning, t)
        };
        let events = vec![
            event(7, t, "opened", None),
            event(7, t + 300_000, "resolve", Some((S::Open, S::Resolved))),
            event(
                7,
                at("2026-12-02T08:00:00+07:00"),
                "reopen",
                Some((S::Resolved, S::Open)),
            ),
        ];
        let r = report(&nov, zone, &[alert], &events, &Names::default());
        assert_eq!((r.auto_cleared, r.resolve_median_s), (0, Some(300.0)));
        assert_eq!(r.deadlines.ack_breaches, 0, "resolved before the deadline");
        assert_eq!(r.by_state["resolved"], 1);
    }

    #[test]
    fn medians_and_nearest_rank() {
        assert_eq!(median_p90(vec![]), (None, None));
        assert_eq!(median_p90(vec![60.0]), (Some(60.0), Some(60.0)));
        assert_eq!(median_p90(vec![120.0, 60.0]), (Some(90.0), Some(120.0)));
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(median_p90(ten), (Some(5.5), Some(9.0)));
        let eleven: Vec<f64> = (1..=11).map(f64::from).collect();
        assert_eq!(median_p90(eleven), (Some(6.0), Some(10.0)));
    }
}
