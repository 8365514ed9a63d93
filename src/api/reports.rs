//! The periodic reports: `?period=2026-11|2026-Q4|2026-H2|2026` or `?from=&to=` (dates, `to`
//! included), `format=json|csv`. A CSV download is an export, so it is in the audit trail.

use std::collections::HashMap;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::access::{AuditNote, Caller, noted};
use super::error::{ErrorBody, Param};
use super::{ApiError, AppState};
use crate::calendar::{CalendarError, Period};
use crate::reports::model::{IssuedReport, KINDS};
use crate::reports::{HandlingReport, SupplyReport};

impl From<CalendarError> for ApiError {
    fn from(e: CalendarError) -> Self {
        ApiError::bad_field("period", e.to_string())
    }
}

enum Format {
    Json,
    Csv,
}

/// The period and format a report request asks for.
fn asked(state: &AppState, q: &HashMap<String, String>) -> Result<(Period, Format), ApiError> {
    let zone = state.reports.zone();
    let period = match (q.get("period"), q.get("from"), q.get("to")) {
        (Some(p), None, None) => Period::parse(p, zone)?,
        (None, Some(from), Some(to)) => Period::between(from, to, zone)?,
        _ => {
            return Err(ApiError::bad_field(
                "period",
                "give `period` (2026-11, 2026-Q4, 2026-H2, 2026) or both `from` and `to`",
            ));
        }
    };
    let format = match q.get("format").map(String::as_str) {
        None | Some("json") => Format::Json,
        Some("csv") => Format::Csv,
        Some(_) => return Err(ApiError::bad_field("format", "must be json or csv")),
    };
    Ok((period, format))
}

/// Reports cover the whole province: an account scoped to areas or an agency reads its own
/// alerts in the console, not the province's report.
fn whole_province(caller: &Caller) -> Result<(), ApiError> {
    if caller.scope.everything() {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "reports cover the whole province; this account is scoped to areas or an agency",
        ))
    }
}

/// A CSV attachment, noted in the audit trail as an export.
fn csv_download(kind: &str, period: &Period, body: String) -> Response {
    let name = format!(
        "attachment; filename=\"iochub-{kind}-{}.csv\"",
        period.label.replace("..", "_")
    );
    let headers = [
        (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
        (header::CONTENT_DISPOSITION, name),
    ];
    let note = AuditNote {
        action: Some("export.report"),
        target: Some(kind.to_owned()),
        detail: serde_json::json!({ "period": period.label, "format": "csv" }).to_string(),
        ..AuditNote::default()
    };
    noted((headers, body), note)
}

/// How alerts were handled in a period: totals by state, category, severity, area and source;
/// times to acknowledge, dispatch and resolve (median, p90); deadlines and escalations; per
/// agency received, on time, late, outstanding; alerts still open at the period's end; alerts
/// per day. Each number's definition is in `definitions`.
#[utoipa::path(get, path = "/api/v1/reports/handling", tag = "reports", security(("bearer" = [])),
    params(
        ("period" = Option<String>, Query, description = "2026-11, 2026-Q4, 2026-H2 or 2026 (local days of the configured time zone)"),
        ("from" = Option<String>, Query, description = "first day (YYYY-MM-DD), with `to`"),
        ("to" = Option<String>, Query, description = "last day, included"),
        ("format" = Option<String>, Query, description = "json (default) or csv (UTF-8 with BOM)"),
    ),
    responses(
        (status = 200, description = "the report", content((HandlingReport = "application/json"), (String = "text/csv"))),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn handling(
    caller: Caller,
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    whole_province(&caller)?;
    let (period, format) = asked(&state, &q)?;
    let report = state.reports.handling(&period).await?;
    Ok(match format {
        Format::Json => Json(report).into_response(),
        Format::Csv => csv_download("handling", &period, crate::reports::csv::handling(&report)),
    })
}

/// How each connected system, and each of its devices, supplied its data in a period: expected
/// and received readings (complete), refused (correct), sent again and out of range (clean),
/// latency and the share stored within the live time (live), outages; the four shares đúng, đủ,
/// sạch, sống per system and device, each defined in `definitions`.
#[utoipa::path(get, path = "/api/v1/reports/data-supply", tag = "reports", security(("bearer" = [])),
    params(
        ("period" = Option<String>, Query, description = "2026-11, 2026-Q4, 2026-H2 or 2026 (local days of the configured time zone)"),
        ("from" = Option<String>, Query, description = "first day (YYYY-MM-DD), with `to`"),
        ("to" = Option<String>, Query, description = "last day, included"),
        ("format" = Option<String>, Query, description = "json (default) or csv (UTF-8 with BOM)"),
    ),
    responses(
        (status = 200, description = "the report", content((SupplyReport = "application/json"), (String = "text/csv"))),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn data_supply(
    caller: Caller,
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    whole_province(&caller)?;
    let (period, format) = asked(&state, &q)?;
    let report = state
        .reports
        .supply(&period, crate::timefmt::now_ms())
        .await?;
    Ok(match format {
        Format::Json => Json(report).into_response(),
        Format::Csv => csv_download("data-supply", &period, crate::reports::csv::supply(&report)),
    })
}

/// What to issue: a report kind and a period (`period`, or `from` and `to`).
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueRequest {
    /// `handling` or `data-supply`.
    pub kind: String,
    pub period: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// The issued reports, newest first: `id`, `kind`, `period`, `version`, `issued_at`,
/// `issued_by`, `sha256` (of the JSON as issued).
#[utoipa::path(get, path = "/api/v1/reports/issued", tag = "reports", security(("bearer" = [])),
    responses((status = 200, body = [IssuedReport]), (status = 403, body = ErrorBody)))]
pub async fn issued(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<Vec<IssuedReport>>, ApiError> {
    whole_province(&caller)?;
    Ok(Json(state.reports.issued().await?))
}

/// Issue a report now: the next version of (kind, period), kept unchanged from then on. The hub
/// issues each month's, quarter's, half-year's and year's reports by itself at their end.
#[utoipa::path(post, path = "/api/v1/reports/issued", tag = "reports", security(("bearer" = [])),
    request_body = IssueRequest,
    responses((status = 201, body = IssuedReport), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn issue(
    caller: Caller,
    State(state): State<AppState>,
    body: Result<Json<IssueRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    whole_province(&caller)?;
    let Json(req) = body.map_err(|e| ApiError::bad_body(e.body_text()))?;
    let Some(kind) = KINDS.iter().find(|k| **k == req.kind) else {
        return Err(ApiError::bad_field(
            "kind",
            "must be handling or data-supply",
        ));
    };
    let mut q = HashMap::new();
    for (key, value) in [("period", req.period), ("from", req.from), ("to", req.to)] {
        if let Some(v) = value {
            q.insert(key.to_owned(), v);
        }
    }
    let (period, _) = asked(&state, &q)?;
    let now = crate::timefmt::now_ms();
    let r = state
        .reports
        .issue(kind, &period, &caller.username, now, false)
        .await?
        .ok_or_else(|| ApiError::conflict("not issued"))?;
    tracing::info!(by = %caller.username, kind, period = %r.period, version = r.version, "report issued");
    let note = AuditNote {
        target: Some(format!("{kind}/{}", r.period)),
        detail: serde_json::json!({
            "id": r.id, "kind": r.kind, "period": r.period, "version": r.version, "sha256": r.sha256,
        })
        .to_string(),
        ..AuditNote::default()
    };
    Ok(noted((StatusCode::CREATED, Json(r)), note))
}

/// One issued report exactly as issued (`format=json`, the default, or `csv`), with its SHA-256
/// in `X-Iochub-Sha256`: the hash of the JSON, which the audit trail recorded when it was issued.
#[utoipa::path(get, path = "/api/v1/reports/issued/{id}", tag = "reports", security(("bearer" = [])),
    params(("id" = i64, Path), ("format" = Option<String>, Query, description = "json (default) or csv")),
    responses(
        (status = 200, description = "the report as issued", content((Object = "application/json"), (String = "text/csv"))),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn issued_one(
    caller: Caller,
    State(state): State<AppState>,
    Param(id): Param<i64>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    whole_province(&caller)?;
    let csv = match q.get("format").map(String::as_str) {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(ApiError::bad_field("format", "must be json or csv")),
    };
    let r = state
        .reports
        .issued_one(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no issued report {id}")))?;
    let sha = ("x-iochub-sha256", r.sha256.clone());
    Ok(if csv {
        let name = format!(
            "attachment; filename=\"iochub-{}-{}-v{}.csv\"",
            r.kind,
            r.period.replace("..", "_"),
            r.version
        );
        let headers = [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, name),
        ];
        (headers, [sha], r.csv).into_response()
    } else {
        let headers = [(header::CONTENT_TYPE, "application/json".to_owned())];
        (headers, [sha], r.json).into_response()
    })
}
