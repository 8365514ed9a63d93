//! Alerts and dead letters.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};

use super::access::Caller;
use super::error::{ErrorBody, Param};
use super::{ApiError, AppState};
use crate::alerts::{Alert, AlertQuery, AlertState};
use crate::pipeline::DeadLetter;

fn limit(q: &HashMap<String, String>, default: u32, max: u32) -> Result<u32, ApiError> {
    match q.get("limit") {
        None => Ok(default),
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|l| (1..=max).contains(l))
            .ok_or_else(|| ApiError::bad_field("limit", format!("must be 1..{max}"))),
    }
}

/// Alerts, newest first; `state=open` for the ones still open.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts", security(("bearer" = [])),
    params(
        ("state" = Option<String>, Query, description = "open | resolved (default: all)"),
        ("device" = Option<String>, Query, description = "only this device"),
        ("limit" = Option<u32>, Query, description = "default 500, max 10000"),
    ),
    responses((status = 200, body = [Alert]), (status = 400, body = ErrorBody)))]
pub async fn list(
    caller: Caller,
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Vec<Alert>>, ApiError> {
    let alert_state = match q.get("state").map(String::as_str) {
        None | Some("all") => None,
        Some(s) => Some(
            AlertState::parse(s)
                .ok_or_else(|| ApiError::bad_field("state", "must be open, resolved or all"))?,
        ),
    };
    let query = AlertQuery {
        state: alert_state,
        device: q.get("device").cloned(),
        limit: limit(&q, 500, 10_000)?,
    };
    let mut alerts = state.store.alerts(query).await?;
    if !caller.scope.everything() {
        let positions = state.live.directory.snapshot();
        alerts.retain(|a| in_scope(&caller, a, &positions));
    }
    Ok(Json(alerts))
}

/// Whether the caller's scope reaches this alert (by its device's position; alerts carry no
/// agency until alert handling forwards them, so an agency handler sees none yet).
fn in_scope(caller: &Caller, alert: &Alert, positions: &crate::ws::Positions) -> bool {
    caller
        .scope
        .sees_alert(None, positions.get(alert.device.as_str()).copied())
}

/// One alert.
#[utoipa::path(get, path = "/api/v1/alerts/{id}", tag = "alerts", security(("bearer" = [])),
    params(("id" = i64, Path, description = "alert id")),
    responses((status = 200, body = Alert), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    caller: Caller,
    State(state): State<AppState>,
    Param(id): Param<String>,
) -> Result<Json<Alert>, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::bad_field("id", "alert ids are integers"))?;
    state
        .store
        .alert(id)
        .await?
        .filter(|a| {
            caller.scope.everything() || in_scope(&caller, a, &state.live.directory.snapshot())
        })
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no alert {id}")))
}

/// Refused messages and records, newest first, with the reason.
#[utoipa::path(get, path = "/api/v1/dead-letters", tag = "ingest", security(("bearer" = [])),
    params(
        ("limit" = Option<u32>, Query, description = "default 100, max 10000"),
        ("before" = Option<i64>, Query, description = "only ids below this (paging)"),
    ),
    responses((status = 200, body = [DeadLetter]), (status = 400, body = ErrorBody)))]
pub async fn dead_letters(
    _: Caller,
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Vec<DeadLetter>>, ApiError> {
    let before = q
        .get("before")
        .map(|s| {
            s.parse::<i64>()
                .map_err(|_| ApiError::bad_field("before", "must be an integer id"))
        })
        .transpose()?;
    Ok(Json(
        state
            .store
            .dead_letters(limit(&q, 100, 10_000)?, before)
            .await?,
    ))
}
