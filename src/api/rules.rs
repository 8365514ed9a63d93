//! The rules file through the API: the active rules, a file checked before it is saved, saved
//! (written atomically, swapped in at once and audited), and backtested as a job.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::access::{AuditNote, Caller, noted};
use super::error::ErrorBody;
use super::jobs::Job;
use super::{ApiError, AppState};
use crate::engine::reload::RulesChange;
use crate::engine::{RuleError, RuleSet};
use crate::pipeline::{Op, Severity};
use crate::timefmt::{now_ms, parse_rfc3339};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RuleView {
    pub id: String,
    /// `threshold`, `no_data`, `rate`, `window`, `anomaly` or `all`.
    pub kind: &'static str,
    /// The metric its alerts are about (the first condition's for `all`; empty for a
    /// `no_data` rule on any reading).
    pub metric: String,
    /// The comparison of a threshold or window rule; null for other kinds.
    pub op: Option<Op>,
    /// The line of a threshold or window rule; null for other kinds.
    pub value: Option<f64>,
    pub clear: Option<f64>,
    pub severity: Severity,
    pub category: Option<String>,
    pub for_seconds: f64,
    /// The span the rule looks back over: `window` of a window rule, `over` of a rate rule,
    /// `within` of an `all` rule; null for other kinds.
    pub span_seconds: Option<f64>,
    pub devices: Option<Vec<String>>,
    /// The whole rule as the rules file has it (the same field names).
    #[schema(value_type = Object)]
    pub definition: serde_json::Value,
}

impl RuleView {
    fn of(r: &crate::engine::Rule) -> Self {
        use crate::engine::rules::Kind;
        let (op, value, clear) = match &r.kind {
            Kind::Threshold { compare, .. } | Kind::Window { compare, .. } => {
                (Some(compare.op), Some(compare.value), compare.clear)
            }
            _ => (None, None, None),
        };
        RuleView {
            id: r.id.to_string(),
            kind: r.kind.name(),
            metric: r.kind.metric().to_owned(),
            op,
            value,
            clear,
            severity: r.severity,
            category: r.category.clone(),
            for_seconds: r.for_ms as f64 / 1000.0,
            span_seconds: Some(r.kind.memory_span_ms())
                .filter(|&ms| ms > 0)
                .map(|ms| ms as f64 / 1000.0),
            devices: r.spec.common.devices.clone(),
            definition: serde_json::to_value(&r.spec).unwrap_or_default(),
        }
    }
}

/// The active rule set (after the latest successful reload).
#[utoipa::path(get, path = "/api/v1/rules", tag = "rules", security(("bearer" = [])),
    responses((status = 200, body = [RuleView])))]
pub async fn list(_: Caller, State(state): State<AppState>) -> Json<Vec<RuleView>> {
    Json(state.rules.load().rules.iter().map(RuleView::of).collect())
}

/// The rules file as it is on disk (TOML), for an editor; the active rules are those of its last
/// successful load.
#[utoipa::path(get, path = "/api/v1/rules/file", tag = "rules", security(("bearer" = [])),
    responses((status = 200, body = String, content_type = "application/toml"), (status = 404, body = ErrorBody)))]
pub async fn file(_: Caller, State(state): State<AppState>) -> Result<Response, ApiError> {
    let text = tokio::fs::read_to_string(state.rules_file.path.as_path())
        .await
        .map_err(|e| ApiError::not_found(format!("the rules file cannot be read: {e}")))?;
    Ok((
        [(header::CONTENT_TYPE, "application/toml; charset=utf-8")],
        text,
    )
        .into_response())
}

/// Where a rules file is wrong: the rule (or table) and the field, when the error names them.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RuleProblem {
    /// A rule id, `#3` for a rule without a valid id, `route #1`, `(file)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

impl RuleProblem {
    fn of(e: &RuleError) -> Self {
        match e {
            RuleError::Invalid {
                rule,
                field,
                message,
            } => RuleProblem {
                rule: Some(rule.clone()),
                field: Some(field.clone()),
                message: message.clone(),
            },
            RuleError::Policy { table, message } => RuleProblem {
                rule: Some(table.clone()),
                field: None,
                message: message.clone(),
            },
            other => RuleProblem {
                rule: None,
                field: None,
                message: other.to_string(),
            },
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Validation {
    pub valid: bool,
    /// Rules in the file (when valid).
    pub rules: usize,
    pub error: Option<RuleProblem>,
    /// The rules as the hub reads them (when valid).
    pub parsed: Vec<RuleView>,
}

/// An empty body: refused rather than read as a file without rules (a save would remove every
/// rule); a file that means no rules says so in a comment.
fn non_empty(text: &str) -> Result<(), ApiError> {
    if text.is_empty() {
        return Err(ApiError::bad_body(
            "send the whole rules file as the body (a file with no rules: a comment line)",
        ));
    }
    Ok(())
}

/// A rules file refused: 400 `invalid_rules`, the error naming rule and field, `field` the body's.
fn refused(e: &RuleError, field: Option<String>) -> ApiError {
    ApiError {
        status: StatusCode::BAD_REQUEST,
        code: "invalid_rules",
        message: e.to_string(),
        field,
    }
}

/// A rules file (TOML) parsed and checked against the configured areas.
fn checked(state: &AppState, text: &str) -> Result<RuleSet, RuleError> {
    let rs = RuleSet::parse(text)?;
    rs.check_areas(&state.areas)?;
    Ok(rs)
}

/// Checks a whole rules file (the body, TOML) without saving it: what is wrong, rule and field.
#[utoipa::path(post, path = "/api/v1/rules/validate", tag = "rules", security(("bearer" = [])),
    request_body(content = String, content_type = "text/plain", description = "the whole rules file (TOML)"),
    responses((status = 200, body = Validation), (status = 400, body = ErrorBody)))]
pub async fn validate(
    _: Caller,
    State(state): State<AppState>,
    text: String,
) -> Result<Json<Validation>, ApiError> {
    non_empty(&text)?;
    Ok(Json(match checked(&state, &text) {
        Ok(rs) => Validation {
            valid: true,
            rules: rs.len(),
            error: None,
            parsed: rs.rules.iter().map(RuleView::of).collect(),
        },
        Err(e) => Validation {
            valid: false,
            rules: 0,
            error: Some(RuleProblem::of(&e)),
            parsed: Vec::new(),
        },
    }))
}

/// What a save changed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Saved {
    pub rules: usize,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
}

/// Replaces the rules file with the body (TOML) when it is valid: written atomically, in force at
/// once (state of unchanged rules kept, as on a reload), and audited with what changed.
#[utoipa::path(put, path = "/api/v1/rules", tag = "rules", security(("bearer" = [])),
    request_body(content = String, content_type = "text/plain", description = "the whole rules file (TOML)"),
    responses((status = 200, body = Saved), (status = 400, body = ErrorBody)))]
pub async fn replace(
    caller: Caller,
    State(state): State<AppState>,
    text: String,
) -> Result<Response, ApiError> {
    non_empty(&text)?;
    let rs = checked(&state, &text).map_err(|e| {
        let field = RuleProblem::of(&e).field;
        refused(&e, field)
    })?;
    // One save at a time: the file written and the rules swapped in are the same.
    let _writing = state.rules_file.writing.lock().await;
    let path = state.rules_file.path.clone();
    let written = tokio::task::spawn_blocking(move || write_atomically(&path, text.as_bytes()))
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))
        .and_then(|r| r);
    written.map_err(|e| {
        let path = state.rules_file.path.display();
        ApiError::conflict(format!("cannot write {path}: {e}"))
    })?;
    let change = RulesChange::between(&state.rules.load(), &rs);
    state.rules.store(Arc::new(rs));
    crate::metrics::rules_reloaded(true, change.rules);
    tracing::info!(by = %caller.username, rules = change.rules, added = ?change.added,
        removed = ?change.removed, changed = ?change.changed, "rules saved through the API");
    let saved = Saved {
        rules: change.rules,
        added: change.added,
        removed: change.removed,
        changed: change.changed,
    };
    let note = AuditNote {
        target: Some(state.rules_file.path.display().to_string()),
        detail: serde_json::json!({
            "added": saved.added, "removed": saved.removed, "changed": saved.changed,
            "rules": saved.rules,
        })
        .to_string(),
        ..AuditNote::default()
    };
    Ok(noted(Json(saved), note))
}

/// The rules file the API reads and writes, and the lock that keeps two saves apart.
pub struct RulesFile {
    pub path: PathBuf,
    pub writing: tokio::sync::Mutex<()>,
}

impl RulesFile {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            writing: tokio::sync::Mutex::new(()),
        }
    }
}

/// Writes `path` whole or not at all: a new file beside it (a name no other writer uses),
/// synced, renamed over it; removed again if anything fails.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp-{}-{n}", std::process::id()));
    let written = (|| {
        let mut f = std::fs::File::create_new(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// What to backtest: a rules file (the active one when absent) over a range of the stored
/// readings (`from`/`to`, or the last `days`, 7 by default).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BacktestRequest {
    /// The rules file to try, as TOML text; absent: the active rules.
    pub rules: Option<String>,
    /// RFC 3339; default: `to` minus `days`.
    pub from: Option<String>,
    /// RFC 3339, exclusive; default: now.
    pub to: Option<String>,
    /// The range's length when `from` is absent (default 7, at most 366).
    pub days: Option<f64>,
    /// Only these devices.
    pub devices: Option<Vec<String>>,
}

/// Starts a backtest job: `202` with the job; its progress and result at `GET /api/v1/jobs/{id}`.
#[utoipa::path(post, path = "/api/v1/rules/backtest", tag = "rules", security(("bearer" = [])),
    request_body = BacktestRequest,
    responses((status = 202, body = Job), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn backtest(
    caller: Caller,
    State(state): State<AppState>,
    body: Result<Json<BacktestRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(req) = body.map_err(|e| ApiError::bad_body(e.body_text()))?;
    let rules = match &req.rules {
        Some(text) => {
            Arc::new(checked(&state, text).map_err(|e| refused(&e, Some("rules".into())))?)
        }
        None => state.rules.load_full(),
    };
    let time = |name: &str, v: &Option<String>| {
        v.as_deref()
            .map(|s| {
                parse_rfc3339(s).ok_or_else(|| {
                    ApiError::bad_field(name, format!("{s:?} is not an RFC 3339 time"))
                })
            })
            .transpose()
    };
    let to = time("to", &req.to)?.unwrap_or_else(now_ms);
    let days = req.days.unwrap_or(7.0);
    if !(days > 0.0 && days <= 366.0) {
        return Err(ApiError::bad_field("days", "more than 0 and at most 366"));
    }
    let from = time("from", &req.from)?.unwrap_or(to - (days * 86_400_000.0) as i64);
    if from >= to || to - from > 366 * 86_400_000 {
        return Err(ApiError::bad_field(
            "from",
            "before `to`, and at most 366 days before it",
        ));
    }
    let id = state.jobs.start("backtest", &caller.username)?;
    let request = crate::replay::backtest::Request {
        rules,
        from_ms: from,
        to_ms: to,
        devices: req.devices,
    };
    let (jobs, store, areas) = (state.jobs.clone(), state.store.clone(), state.areas.clone());
    let run = {
        let jobs = jobs.clone();
        tokio::spawn(async move {
            let mut progress = |p: &crate::replay::backtest::Progress| jobs.progress(id, p);
            let result = crate::replay::backtest::run(store, areas, &request, &mut progress)
                .await
                .map_err(|e| e.to_string());
            jobs.finish(id, result);
        })
    };
    // a job that panicked is failed, not running for ever (which would refuse every next one)
    tokio::spawn(async move {
        if let Err(e) = run.await {
            jobs.finish(id, Err(format!("the backtest stopped: {e}")));
        }
    });
    let job = state
        .jobs
        .get(id)
        .ok_or_else(|| ApiError::not_found("the job is gone"))?;
    let note = AuditNote {
        target: Some(format!("job {id}")),
        detail: serde_json::json!({
            "from": crate::timefmt::format_ms(from), "to": crate::timefmt::format_ms(to),
            "rules": if req.rules.is_some() { "given" } else { "active" },
        })
        .to_string(),
        ..AuditNote::default()
    };
    Ok(noted((StatusCode::ACCEPTED, Json(job)), note))
}
