//! The audit trail, for admins: filtered, newest first, as JSON or as CSV (UTF-8 with a BOM, so
//! that a spreadsheet reads the Vietnamese right).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::access::{AuditNote, Caller, noted};
use super::error::ErrorBody;
use super::{ApiError, AppState};
use crate::audit::{AuditQuery, AuditRecord};
use crate::reports::csv::cell;
use crate::timefmt::{format_ms, parse_rfc3339};

const MAX: u32 = 10_000;

/// Audit records, newest first. `action=user` gives every `user.*` action; `before` pages back.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", security(("bearer" = [])),
    params(
        ("from" = Option<String>, Query, description = "RFC 3339, inclusive"),
        ("to" = Option<String>, Query, description = "RFC 3339, exclusive"),
        ("actor" = Option<String>, Query, description = "a username, or system"),
        ("action" = Option<String>, Query, description = "an action (auth.login) or a family (user)"),
        ("before" = Option<i64>, Query, description = "only records before this seq"),
        ("limit" = Option<u32>, Query, description = "default 1000, max 10000"),
        ("format" = Option<String>, Query, description = "json (default) or csv"),
    ),
    responses((status = 200, description = "the records; as CSV with format=csv",
            content((Vec<AuditRecord> = "application/json"), (String = "text/csv"))),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(
    _: Caller,
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let time = |name: &str| {
        q.get(name)
            .map(|s| {
                parse_rfc3339(s).ok_or_else(|| {
                    ApiError::bad_field(name, format!("{s:?} is not an RFC 3339 time"))
                })
            })
            .transpose()
    };
    let csv = match q.get("format").map(String::as_str) {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => {
            return Err(ApiError::bad_field("format", "must be json or csv"));
        }
    };
    let query = AuditQuery {
        from_ms: time("from")?,
        to_ms: time("to")?,
        actor: q.get("actor").cloned(),
        action: q.get("action").cloned(),
        before_seq: match q.get("before") {
            Some(s) => Some(
                s.parse()
                    .map_err(|_| ApiError::bad_field("before", "a record's seq"))?,
            ),
            None => None,
        },
        limit: match q.get("limit") {
            Some(s) => s
                .parse::<u32>()
                .ok()
                .filter(|l| (1..=MAX).contains(l))
                .ok_or_else(|| ApiError::bad_field("limit", format!("must be 1..{MAX}")))?,
            None => 1000,
        },
    };
    let records = state.store.audit(query).await?;
    if !csv {
        return Ok(Json(records).into_response());
    }
    let note = AuditNote {
        action: Some("export.audit"),
        target: Some("audit".into()),
        detail: serde_json::json!({ "records": records.len(), "filter": q }).to_string(),
        ..AuditNote::default()
    };
    let headers = [
        (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
        (
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"iochub-audit.csv\"",
        ),
    ];
    Ok(noted((headers, to_csv(&records)), note))
}

fn to_csv(records: &[AuditRecord]) -> String {
    let mut out =
        String::from("\u{feff}seq,ts,actor,address,action,target,result,detail,prev_hash,hash\n");
    for r in records {
        let row = [
            r.seq.to_string(),
            format_ms(r.ts_ms),
            cell(&r.actor),
            cell(&r.address),
            cell(&r.action),
            cell(&r.target),
            cell(&r.result),
            cell(&r.detail),
            r.prev_hash.clone(),
            r.hash.clone(),
        ];
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_it_and_starts_with_a_bom() {
        let r = AuditRecord {
            seq: 1,
            ts_ms: 0,
            actor: "admin".into(),
            address: "127.0.0.1".into(),
            action: "user.update".into(),
            target: "op1".into(),
            result: "ok".into(),
            detail: r#"{"display_name":"Nông, Văn \"Dền\""}"#.into(),
            prev_hash: "p".into(),
            hash: "h".into(),
        };
        let csv = to_csv(&[r]);
        assert!(csv.starts_with("\u{feff}seq,ts,"));
        assert!(
            csv.contains(r#","{""display_name"":""Nông, Văn \""Dền\""""}",p,h"#),
            "{csv}"
        );
    }

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(crate::reports::csv::cell("admin"), "admin");
        assert_eq!(crate::reports::csv::cell("a,b"), "\"a,b\"");
        assert_eq!(
            crate::reports::csv::cell("say \"hi\""),
            "\"say \"\"hi\"\"\""
        );
        assert_eq!(
            crate::reports::csv::cell("=HYPERLINK(\"http://x\")"),
            "\"'=HYPERLINK(\"\"http://x\"\")\""
        );
        assert_eq!(crate::reports::csv::cell("+1"), "'+1");
        assert_eq!(crate::reports::csv::cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(crate::reports::csv::cell("\r=1"), "\"'\r=1\"");
    }
}
