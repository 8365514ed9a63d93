//! Connected systems: the data sources the data-supply report is about. Everyone who reads
//! devices reads them; admins add and edit them (`[[systems]]` in the config adds them at start).

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::Response;

use super::access::{AuditNote, Caller, noted};
use super::error::{ErrorBody, Param};
use super::{ApiError, AppState};
use crate::systems::{InvalidSystem, System, SystemPatch};
use crate::timefmt::now_ms;

impl From<InvalidSystem> for ApiError {
    fn from(e: InvalidSystem) -> Self {
        ApiError::bad_field(e.field, e.message)
    }
}

/// Every connected system, by id.
#[utoipa::path(get, path = "/api/v1/systems", tag = "devices", security(("bearer" = [])),
    responses((status = 200, body = [System]), (status = 403, body = ErrorBody)))]
pub async fn list(_: Caller, State(state): State<AppState>) -> Result<Json<Vec<System>>, ApiError> {
    Ok(Json(state.store.systems().await?))
}

async fn find(state: &AppState, id: &str) -> Result<System, ApiError> {
    state
        .store
        .systems()
        .await?
        .into_iter()
        .find(|s| s.id == id)
        .ok_or_else(|| ApiError::not_found(format!("no system {id:?}")))
}

/// One connected system.
#[utoipa::path(get, path = "/api/v1/systems/{id}", tag = "devices", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = System), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    _: Caller,
    State(state): State<AppState>,
    Param(id): Param<String>,
) -> Result<Json<System>, ApiError> {
    Ok(Json(find(&state, &id).await?))
}

/// Add a connected system: `id`, `name`, optional `owner`, `expected_interval_s` and `devices`
/// (key patterns such as `wl-*`).
#[utoipa::path(post, path = "/api/v1/systems", tag = "devices", security(("bearer" = [])),
    request_body = System,
    responses((status = 201, body = System), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(
    caller: Caller,
    State(state): State<AppState>,
    body: Result<Json<System>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(mut system) = body.map_err(|e| ApiError::bad_body(e.body_text()))?;
    system.validate()?;
    let now = now_ms();
    (system.created_at, system.updated_at) = (now, now);
    if !state.store.insert_system(system.clone()).await? {
        return Err(ApiError::conflict(format!(
            "a system {:?} exists already",
            system.id
        )));
    }
    tracing::info!(by = %caller.username, system = %system.id, "system added");
    let note = AuditNote {
        target: Some(system.id.clone()),
        detail: described(&system),
        ..AuditNote::default()
    };
    Ok(noted((StatusCode::CREATED, Json(system)), note))
}

/// Edit a connected system; absent fields stay (`owner: ""` and `expected_interval_s: 0` clear).
#[utoipa::path(patch, path = "/api/v1/systems/{id}", tag = "devices", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = SystemPatch,
    responses((status = 200, body = System), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn patch(
    caller: Caller,
    State(state): State<AppState>,
    Param(id): Param<String>,
    body: Result<Json<SystemPatch>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(patch) = body.map_err(|e| ApiError::bad_body(e.body_text()))?;
    let system = find(&state, &id).await?.patched(patch, now_ms());
    system.validate()?;
    if !state.store.save_system(system.clone()).await? {
        return Err(ApiError::not_found(format!("no system {id:?}")));
    }
    tracing::info!(by = %caller.username, system = %id, "system edited");
    let note = AuditNote {
        detail: described(&system),
        ..AuditNote::default()
    };
    Ok(noted(Json(system), note))
}

fn described(s: &System) -> String {
    serde_json::json!({
        "name": s.name, "owner": s.owner, "expected_interval_s": s.expected_interval_s,
        "devices": s.devices,
    })
    .to_string()
}
