//! The video wall's named layouts: everyone who reads the map opens them (a wall with
//! `?layout=name`); operators, supervisors and admins save and remove them, audited. A layout
//! may name only cameras that exist and that the saving account sees; a viewer scoped to some
//! communes gets the layout whole and the wall leaves the cameras it cannot see empty.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::Response;

use super::access::{AuditNote, Caller, noted};
use super::error::{ErrorBody, Param};
use super::{ApiError, AppState};
use crate::camera::wall::{LayoutBody, WallLayout, layout_name};
use crate::timefmt::now_ms;

/// Every saved layout, by name.
#[utoipa::path(get, path = "/api/v1/wall/layouts", tag = "devices", security(("bearer" = [])),
    responses((status = 200, body = [WallLayout]), (status = 403, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<WallLayout>>, ApiError> {
    Ok(Json(state.store.wall_layouts().await?))
}

async fn find(state: &AppState, name: &str) -> Result<WallLayout, ApiError> {
    let name = layout_name(name)?;
    (state.store.wall_layouts().await?)
        .into_iter()
        .find(|l| l.name == name)
        .ok_or_else(|| ApiError::not_found(format!("no wall layout {name:?}")))
}

/// One layout.
#[utoipa::path(get, path = "/api/v1/wall/layouts/{name}", tag = "devices", security(("bearer" = [])),
    params(("name" = String, Path, description = "the layout's name")),
    responses((status = 200, body = WallLayout), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    Param(name): Param<String>,
) -> Result<Json<WallLayout>, ApiError> {
    Ok(Json(find(&state, &name).await?))
}

/// Save a layout under its name, replacing one of that name (201 when new, 200 when replaced):
/// `size` (1, 4, 9 or 16) and `tiles`, each tile's camera id in reading order or `null` for an
/// empty tile. Every camera must exist and lie in the caller's areas.
#[utoipa::path(put, path = "/api/v1/wall/layouts/{name}", tag = "devices", security(("bearer" = [])),
    params(("name" = String, Path, description = "the layout's name")), request_body = LayoutBody,
    responses((status = 200, body = WallLayout), (status = 201, body = WallLayout), (status = 400, body = ErrorBody)))]
pub async fn put(
    caller: Caller,
    State(state): State<AppState>,
    Param(name): Param<String>,
    body: Result<Json<LayoutBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(|e| ApiError::bad_body(e.body_text()))?;
    let layout = body.layout(&name, &caller.username, now_ms())?;
    let visible = super::cameras::all_visible(&state, &caller).await?;
    if let Some(id) =
        (layout.tiles.iter().flatten()).find(|id| !visible.iter().any(|(c, _)| &c.id == *id))
    {
        return Err(ApiError::bad_field("tiles", format!("no camera {id:?}")));
    }
    let new = state.store.save_wall_layout(layout.clone()).await?;
    tracing::info!(by = %caller.username, layout = %layout.name, "wall layout saved");
    let note = AuditNote {
        target: Some(layout.name.clone()),
        detail: serde_json::json!({"size": layout.size, "tiles": layout.tiles}).to_string(),
        ..AuditNote::default()
    };
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(noted((status, Json(layout)), note))
}

/// Remove a layout.
#[utoipa::path(delete, path = "/api/v1/wall/layouts/{name}", tag = "devices", security(("bearer" = [])),
    params(("name" = String, Path, description = "the layout's name")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    caller: Caller,
    State(state): State<AppState>,
    Param(name): Param<String>,
) -> Result<Response, ApiError> {
    let name = layout_name(&name)?;
    if !state.store.delete_wall_layout(&name).await? {
        return Err(ApiError::not_found(format!("no wall layout {name:?}")));
    }
    tracing::info!(by = %caller.username, layout = %name, "wall layout removed");
    let note = AuditNote {
        target: Some(name),
        ..AuditNote::default()
    };
    Ok(noted(StatusCode::NO_CONTENT, note))
}
