//! Issuing at each period's end: when local midnight ends a month (and with it, perhaps, a
//! quarter, a half-year and a year), the hub issues both reports of each period that ended,
//! once, a little after midnight so that the last tally is written; a hub that was down then
//! issues them when it starts. Each issue is in the audit trail (`report.issue`, by `system`,
//! with the report's SHA-256).

use std::time::Duration;

use chrono::Datelike;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::Reports;
use super::model::{IssuedReport, KINDS};
use crate::audit::Audit;
use crate::calendar::{Period, Zone};

/// How often the hub looks whether a period has ended, at most (and as often as the tally is
/// written, when that is more often).
const CHECK_EVERY: Duration = Duration::from_secs(60);

/// The (kind, period) pairs due at `now_ms`: those of the periods the last month boundary
/// ended, once `grace_ms` has passed after it, that ended after `since_ms` (when the store
/// began to tally data supply: a new or upgraded hub does not issue reports of a month it never
/// saw) and have no issued version yet.
pub fn due(
    now_ms: i64,
    zone: Zone,
    grace_ms: i64,
    since_ms: i64,
    issued: &[IssuedReport],
) -> Vec<(&'static str, Period)> {
    let today = zone.date_of(now_ms);
    let Some(boundary) = today.with_day(1) else {
        return Vec::new();
    };
    if now_ms < zone.midnight(boundary) + grace_ms {
        return Vec::new();
    }
    let mut due = Vec::new();
    let ended = Period::ending_before(boundary, zone);
    for period in ended.into_iter().filter(|p| p.to_ms > since_ms) {
        for kind in KINDS {
            if !issued
                .iter()
                .any(|r| r.kind == kind && r.period == period.label)
            {
                due.push((kind, period.clone()));
            }
        }
    }
    due
}

/// Issues what is due, now and every `check` (at most a minute), until `stop`.
pub async fn run(
    reports: Reports,
    audit: Audit,
    grace: Duration,
    check: Duration,
    stop: CancellationToken,
) {
    let grace_ms = i64::try_from(grace.as_millis()).unwrap_or(i64::MAX);
    let check = check.min(CHECK_EVERY);
    loop {
        if let Err(error) = issue_due(&reports, &audit, grace_ms).await {
            warn!(%error, "issuing the period's reports failed; trying again");
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(check) => {}
        }
    }
}

async fn issue_due(
    reports: &Reports,
    audit: &Audit,
    grace_ms: i64,
) -> crate::storage::StoreResult<()> {
    let now = crate::timefmt::now_ms();
    let issued = reports.issued().await?;
    let since = reports.since().await?;
    for (kind, period) in due(now, reports.zone(), grace_ms, since, &issued) {
        let Some(r) = reports.issue(kind, &period, "system", now, true).await? else {
            continue; // another hub issued it first
        };
        info!(kind, period = %r.period, version = r.version, sha256 = %r.sha256, "report issued");
        let detail = serde_json::json!({
            "id": r.id, "kind": r.kind, "period": r.period, "version": r.version,
            "sha256": r.sha256,
        });
        audit
            .system(
                now,
                "report.issue",
                &format!("{kind}/{}", r.period),
                detail.to_string(),
            )
            .await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> i64 {
        crate::timefmt::parse_rfc3339(s).expect("time")
    }

    fn issued(kind: &str, period: &str) -> IssuedReport {
        IssuedReport {
            id: 1,
            kind: kind.into(),
            period: period.into(),
            version: 1,
            issued_at: 0,
            issued_by: "system".into(),
            sha256: String::new(),
            json: String::new(),
            csv: String::new(),
        }
    }

    #[test]
    fn a_month_end_makes_its_reports_due_once_after_the_grace() {
        let zone = Zone::default();
        let labels = |d: Vec<(&str, Period)>| -> Vec<String> {
            d.into_iter()
                .map(|(k, p)| format!("{k} {}", p.label))
                .collect()
        };
        // 00:05 local on 1 December: within the 10-minute grace
        assert!(due(at("2026-12-01T00:05:00+07:00"), zone, 600_000, 0, &[]).is_empty());
        let now = at("2026-12-01T00:30:00+07:00");
        assert_eq!(
            labels(due(now, zone, 600_000, 0, &[])),
            ["handling 2026-11", "data-supply 2026-11"]
        );
        let done = [issued("handling", "2026-11")];
        assert_eq!(
            labels(due(now, zone, 600_000, 0, &done)),
            ["data-supply 2026-11"]
        );
        // any day later in December, the same (a hub down at midnight catches up)
        let later = at("2026-12-20T10:00:00+07:00");
        assert_eq!(due(later, zone, 600_000, 0, &[]).len(), 2);
        // a hub installed on 5 December never saw November
        let installed = at("2026-12-05T09:00:00+07:00");
        assert!(due(later, zone, 600_000, installed, &[]).is_empty());
        // New Year: the month, the quarter, the half-year and the year
        let new_year = due(
            at("2027-01-01T01:00:00+07:00"),
            zone,
            600_000,
            installed,
            &[],
        );
        assert_eq!(
            labels(new_year),
            [
                "handling 2026-12",
                "data-supply 2026-12",
                "handling 2026-Q4",
                "data-supply 2026-Q4",
                "handling 2026-H2",
                "data-supply 2026-H2",
                "handling 2026",
                "data-supply 2026"
            ]
        );
    }
}
