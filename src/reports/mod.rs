//! The IOC's periodic reports (DESIGN §3b "Reports"): how alerts were handled, per agency
//! ([`handling`]), and how each connected system supplies its data ([`supply`]).
//!
//! Each report is a pure function of what the store returns for the period
//! ([`handling::report`]), so that the numbers can be checked by hand against a seeded data set;
//! [`Reports`] fetches the rows and the names (agencies, areas) and renders CSV ([`csv`]).
//! Periods are local days of the province's time zone ([`crate::calendar`]).

pub mod csv;
pub mod handling;
pub mod issuing;
pub mod model;
pub mod supply;

use std::sync::Arc;

use crate::areas::Areas;
use crate::calendar::{Period, Zone};
use crate::storage::{Store, StoreResult};
use model::IssuedReport;

pub use handling::HandlingReport;
pub use supply::SupplyReport;

/// What the reports print about the province, and what they count as live and as an outage.
#[derive(Debug, Clone)]
pub struct Letterhead {
    pub zone: Zone,
    /// The province's name, printed on the reports.
    pub province: Option<String>,
    pub thresholds: supply::Thresholds,
}

#[derive(Clone)]
pub struct Reports {
    store: Arc<dyn Store>,
    areas: Arc<Areas>,
    letterhead: Letterhead,
}

impl Reports {
    pub fn new(store: Arc<dyn Store>, areas: Arc<Areas>, letterhead: Letterhead) -> Self {
        Self {
            store,
            areas,
            letterhead,
        }
    }

    pub fn zone(&self) -> Zone {
        self.letterhead.zone
    }

    /// The alert-handling report of `period`.
    pub async fn handling(&self, period: &Period) -> StoreResult<HandlingReport> {
        let (alerts, events) = self
            .store
            .alerts_for_report(period.from_ms, period.to_ms)
            .await?;
        let mut names = handling::Names::default();
        for agency in self.store.agencies().await? {
            names.agencies.insert(agency.id, agency.name);
        }
        for count in alerts.iter().flat_map(|a| &a.areas) {
            if let Some(area) = self.areas.get(count) {
                names.areas.insert(count.clone(), area.name.clone());
            }
        }
        let mut report = handling::report(period, self.zone(), &alerts, &events, &names);
        report.province = self.letterhead.province.clone();
        Ok(report)
    }

    /// The data-supply report of `period`, judged up to `now_ms` while it runs.
    pub async fn supply(&self, period: &Period, now_ms: i64) -> StoreResult<SupplyReport> {
        let (first, last) = (period.first.to_string(), period.last.to_string());
        let (from, to) = (period.from_ms, period.to_ms);
        let store = &self.store;
        let (devices, systems, supply, gaps, rejections) = tokio::try_join!(
            store.devices(),
            store.systems(),
            store.supply(&first, &last),
            store.supply_gaps(from, to),
            store.rejections(from, to),
        )?;
        let mut report = supply::report(&supply::Inputs {
            period,
            zone: self.zone(),
            now_ms,
            thresholds: self.letterhead.thresholds,
            devices: &devices,
            systems: &systems,
            supply: &supply,
            gaps: &gaps,
            rejections: &rejections,
        });
        report.province = self.letterhead.province.clone();
        Ok(report)
    }

    /// Every issued report, newest first (without bodies).
    pub async fn issued(&self) -> StoreResult<Vec<IssuedReport>> {
        self.store.issued_reports().await
    }

    /// Since when the store tallies data supply: no report is issued for a period that ended
    /// before.
    pub async fn since(&self) -> StoreResult<i64> {
        self.store.reports_since().await
    }

    /// One issued report, bodies and all.
    pub async fn issued_one(&self, id: i64) -> StoreResult<Option<IssuedReport>> {
        self.store.issued_report(id).await
    }

    /// Issues the `kind` report of `period` as it stands now: stored unchanged as the next
    /// version, with the SHA-256 of its JSON. With `first_only` (the hub's own issue at a
    /// period's end) only when none is issued yet: None then.
    pub async fn issue(
        &self,
        kind: &str,
        period: &Period,
        issued_by: &str,
        now_ms: i64,
        first_only: bool,
    ) -> StoreResult<Option<IssuedReport>> {
        let (json, csv) = match kind {
            "handling" => {
                let r = self.handling(period).await?;
                (to_json(&r), csv::handling(&r))
            }
            _ => {
                let r = self.supply(period, now_ms).await?;
                (to_json(&r), csv::supply(&r))
            }
        };
        let report = IssuedReport {
            id: 0,
            kind: kind.to_owned(),
            period: period.label.clone(),
            version: 0,
            issued_at: now_ms,
            issued_by: issued_by.to_owned(),
            sha256: crate::hex::sha256(json.as_bytes()),
            json,
            csv,
        };
        self.store.insert_issued_report(report, first_only).await
    }
}

fn to_json(report: &impl serde::Serialize) -> String {
    // A report is plain data (strings, numbers, maps with string keys): it always serialises.
    serde_json::to_string(report).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}
