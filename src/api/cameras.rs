//! Cameras: the registry (everyone who reads devices lists them; admins add, edit and remove
//! them) with each camera's live status. A camera is a device, so its name, place and system
//! are set on the device; its URL is shown without credentials, and the credentials never are.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::access::{AuditNote, Caller, noted};
use super::error::{ErrorBody, Param};
use super::{ApiError, AppState};
use crate::camera::model::{
    Camera, CameraPatch, CameraStatus, InvalidCamera, NewCamera, StreamKind, Transport,
};
use crate::camera::picture::PictureError;
use crate::camera::snapshot::SnapshotError;
use crate::storage::{Device, DevicePatch};
use crate::timefmt::now_ms;

impl From<InvalidCamera> for ApiError {
    fn from(e: InvalidCamera) -> Self {
        ApiError::bad_field(e.field, e.message)
    }
}

/// A camera as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CameraView {
    /// Its device key.
    pub id: String,
    pub name: Option<String>,
    /// Without credentials.
    pub url: String,
    pub sub_url: Option<String>,
    /// Whether credentials are stored (they are never shown).
    pub credentials: bool,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// Its connected system, when set on the device.
    pub system: Option<String>,
    pub always_on: bool,
    pub transport: Transport,
    /// The stream as the hub sees it now.
    pub status: Option<CameraStatus>,
    #[serde(serialize_with = "crate::timefmt::ser_ms")]
    #[schema(value_type = String)]
    pub created_at: i64,
    #[serde(serialize_with = "crate::timefmt::ser_ms")]
    #[schema(value_type = String)]
    pub updated_at: i64,
}

fn view(state: &AppState, c: Camera, device: Option<&Device>) -> CameraView {
    CameraView {
        status: state.cameras.status(&c.id),
        name: device.and_then(|d| d.name.clone()),
        lat: device.and_then(|d| d.lat),
        lon: device.and_then(|d| d.lon),
        system: device.and_then(|d| d.system.clone()),
        credentials: c.credentials.is_some(),
        id: c.id,
        url: c.url,
        sub_url: c.sub_url,
        always_on: c.always_on,
        transport: c.transport,
        created_at: c.created_at,
        updated_at: c.updated_at,
    }
}

fn sees(caller: &Caller, device: Option<&Device>) -> bool {
    caller
        .scope
        .sees_position(device.and_then(|d| d.lon.zip(d.lat)))
}

/// A new position (either coordinate, the other from the device) must lie in the caller's
/// areas: an account scoped to some communes cannot place a camera outside them.
fn in_scope(
    caller: &Caller,
    lat: Option<f64>,
    lon: Option<f64>,
    device: Option<&Device>,
) -> Result<(), ApiError> {
    if lat.is_none() && lon.is_none() {
        return Ok(());
    }
    let lat = lat.or(device.and_then(|d| d.lat));
    let lon = lon.or(device.and_then(|d| d.lon));
    if caller.scope.sees_position(lon.zip(lat)) {
        Ok(())
    } else {
        Err(ApiError::bad_field(
            "lat",
            "this place lies outside your areas",
        ))
    }
}

/// The camera and its device, when it lies in the caller's scope (else 404, as for devices).
pub async fn visible(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<(Camera, Option<Device>), ApiError> {
    let missing = || ApiError::not_found(format!("no camera {id:?}"));
    let camera = (state.store.cameras().await?)
        .into_iter()
        .find(|c| c.id == id)
        .ok_or_else(missing)?;
    let device = state.store.device(id).await?;
    if !sees(caller, device.as_ref()) {
        return Err(missing());
    }
    Ok((camera, device))
}

/// Every camera in the caller's areas, with its device.
pub async fn all_visible(
    state: &AppState,
    caller: &Caller,
) -> Result<Vec<(Camera, Option<Device>)>, ApiError> {
    let mut out = Vec::new();
    for c in state.store.cameras().await? {
        let device = state.store.device(&c.id).await?;
        if sees(caller, device.as_ref()) {
            out.push((c, device));
        }
    }
    Ok(out)
}

/// Every camera in the caller's areas, with its status.
#[utoipa::path(get, path = "/api/v1/cameras", tag = "devices", security(("bearer" = [])),
    responses((status = 200, body = [CameraView]), (status = 403, body = ErrorBody)))]
pub async fn list(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<Vec<CameraView>>, ApiError> {
    let visible = all_visible(&state, &caller).await?;
    Ok(Json(
        visible
            .into_iter()
            .map(|(c, device)| view(&state, c, device.as_ref()))
            .collect(),
    ))
}

/// One camera.
#[utoipa::path(get, path = "/api/v1/cameras/{camera}", tag = "devices", security(("bearer" = [])),
    params(("camera" = String, Path, description = "the camera's device key")),
    responses((status = 200, body = CameraView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    caller: Caller,
    State(state): State<AppState>,
    Param(id): Param<String>,
) -> Result<Json<CameraView>, ApiError> {
    let (camera, device) = visible(&state, &caller, &id).await?;
    Ok(Json(view(&state, camera, device.as_ref())))
}

/// `?stream=main|sub`: which of a camera's streams (main when absent).
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct StreamQuery {
    /// `main` (the default) or `sub` (the camera's smaller stream, when it has one).
    pub stream: Option<String>,
}

impl StreamQuery {
    pub fn kind(&self) -> Result<StreamKind, ApiError> {
        match self.stream.as_deref() {
            None | Some("main") => Ok(StreamKind::Main),
            Some("sub") => Ok(StreamKind::Sub),
            Some(other) => Err(ApiError::bad_field(
                "stream",
                format!("{other:?}: `main` or `sub`"),
            )),
        }
    }
}

impl From<SnapshotError> for ApiError {
    fn from(e: SnapshotError) -> Self {
        let (status, code) = match &e {
            SnapshotError::Unavailable(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, "camera_unavailable")
            }
            SnapshotError::Picture(PictureError::Unsupported(_)) => {
                (StatusCode::NOT_IMPLEMENTED, "codec_unsupported")
            }
            SnapshotError::Picture(_) => (StatusCode::BAD_GATEWAY, "bad_picture"),
        };
        ApiError {
            status,
            code,
            message: e.to_string(),
            field: None,
        }
    }
}

/// A JPEG of the camera's latest keyframe (of its sub-stream with `?stream=sub`). An idle
/// camera is opened for it, so the first one may take a keyframe interval; the JPEG of a
/// keyframe is made once and served to everyone who asks until the next. `Last-Modified` is
/// when its keyframe came. 503 when the camera sends none (with its error), 501 for an H.265
/// camera (only H.264 is decoded).
#[utoipa::path(get, path = "/api/v1/cameras/{camera}/snapshot.jpg", tag = "devices", security(("bearer" = [])),
    params(("camera" = String, Path, description = "the camera's device key"), StreamQuery),
    responses((status = 200, content_type = "image/jpeg", body = Vec<u8>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 501, body = ErrorBody), (status = 502, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn snapshot(
    caller: Caller,
    State(state): State<AppState>,
    Param(id): Param<String>,
    axum::extract::Query(q): axum::extract::Query<StreamQuery>,
) -> Result<Response, ApiError> {
    let kind = q.kind()?;
    visible(&state, &caller, &id).await?;
    let shot = (state.cameras.snapshot(&id, kind).await)
        .ok_or_else(|| ApiError::not_found(format!("no camera {id:?}")))??;
    let taken = chrono::DateTime::from_timestamp_millis(shot.taken_ms)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "image/jpeg".to_owned()),
            // a tile refreshes it: never from a shared cache, and at most a second old
            (
                axum::http::header::CACHE_CONTROL,
                "private, max-age=1".to_owned(),
            ),
            (axum::http::header::LAST_MODIFIED, taken),
        ],
        shot.jpeg,
    )
        .into_response())
}

/// The device side of a camera: name, place and system, checked like a device edit.
async fn device_patch(
    state: &AppState,
    id: &str,
    patch: DevicePatch,
) -> Result<DevicePatch, ApiError> {
    let systems = state.store.systems().await?;
    patch
        .check(id, &state.areas, &systems)
        .map_err(|e| ApiError::bad_field(e.field, e.message))?;
    Ok(patch)
}

/// Registers the camera's device when missing and sets its fields; tells the live map.
async fn apply_device(
    state: &AppState,
    id: &str,
    patch: DevicePatch,
) -> Result<Option<Device>, ApiError> {
    let (lat, lon) = (patch.lat, patch.lon);
    state.store.add_device(id, now_ms()).await?;
    let device = state.store.update_device(id, patch).await?;
    if lat.is_some() || lon.is_some() {
        state.live.directory.locate(&[(id.to_owned(), lat, lon)]);
    }
    Ok(device)
}

/// Add a camera: `id` (its device key), `url` (`rtsp://`, credentials inside it or as
/// `username`/`password`), optional `sub_url`, `name`, `lat`, `lon`, `system`, `always_on`,
/// `transport` (`tcp`, the default, or `udp`).
#[utoipa::path(post, path = "/api/v1/cameras", tag = "devices", security(("bearer" = [])),
    request_body = NewCamera,
    responses((status = 201, body = CameraView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(
    caller: Caller,
    State(state): State<AppState>,
    body: Result<Json<NewCamera>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(new) = body.map_err(|e| ApiError::bad_body(e.body_text()))?;
    let camera = new.camera(now_ms())?;
    let existing = state.store.device(&camera.id).await?;
    if existing.is_some() && !sees(&caller, existing.as_ref()) {
        return Err(ApiError::conflict(format!(
            "a device {:?} exists outside your areas",
            camera.id
        )));
    }
    in_scope(&caller, new.lat, new.lon, existing.as_ref())?;
    let patch = device_patch(&state, &camera.id, DevicePatch::of_camera(&new)).await?;
    if !state.store.insert_camera(camera.clone()).await? {
        return Err(ApiError::conflict(format!(
            "a camera {:?} exists already",
            camera.id
        )));
    }
    let device = apply_device(&state, &camera.id, patch).await?;
    state.cameras.set(camera.clone());
    tracing::info!(by = %caller.username, camera = %camera.id, url = %camera.url, "camera added");
    let note = AuditNote {
        target: Some(camera.id.clone()),
        detail: described(&camera),
        ..AuditNote::default()
    };
    let body = view(&state, camera, device.as_ref());
    Ok(noted((StatusCode::CREATED, Json(body)), note))
}

/// Edit a camera; absent fields stay (`sub_url: ""` removes the sub-stream, `username: ""` the
/// credentials). Its stream starts over when where or how it is pulled changed.
#[utoipa::path(patch, path = "/api/v1/cameras/{camera}", tag = "devices", security(("bearer" = [])),
    params(("camera" = String, Path, description = "the camera's device key")), request_body = CameraPatch,
    responses((status = 200, body = CameraView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn patch(
    caller: Caller,
    State(state): State<AppState>,
    Param(id): Param<String>,
    body: Result<Json<CameraPatch>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(patch) = body.map_err(|e| ApiError::bad_body(e.body_text()))?;
    let (camera, mut device) = visible(&state, &caller, &id).await?;
    in_scope(&caller, patch.lat, patch.lon, device.as_ref())?;
    let next = camera.patched(&patch, now_ms())?;
    let device_edit = DevicePatch {
        name: patch.name.clone(),
        lat: patch.lat,
        lon: patch.lon,
        system: patch.system.clone(),
        ..DevicePatch::default()
    };
    let device_edit = device_patch(&state, &id, device_edit).await?;
    if !state.store.save_camera(next.clone()).await? {
        return Err(ApiError::not_found(format!("no camera {id:?}")));
    }
    if device_edit != DevicePatch::default() {
        device = apply_device(&state, &id, device_edit).await?;
    }
    state.cameras.set(next.clone());
    tracing::info!(by = %caller.username, camera = %id, "camera edited");
    let note = AuditNote {
        detail: described(&next),
        ..AuditNote::default()
    };
    Ok(noted(Json(view(&state, next, device.as_ref())), note))
}

/// Remove a camera: its stream stops; its device stays, with its readings and alerts.
#[utoipa::path(delete, path = "/api/v1/cameras/{camera}", tag = "devices", security(("bearer" = [])),
    params(("camera" = String, Path, description = "the camera's device key")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    caller: Caller,
    State(state): State<AppState>,
    Param(id): Param<String>,
) -> Result<Response, ApiError> {
    visible(&state, &caller, &id).await?;
    if !state.store.delete_camera(&id).await? {
        return Err(ApiError::not_found(format!("no camera {id:?}")));
    }
    state.cameras.remove(&id);
    tracing::info!(by = %caller.username, camera = %id, "camera removed");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The audit's record of a camera: never its credentials.
fn described(c: &Camera) -> String {
    serde_json::json!({
        "url": c.url, "sub_url": c.sub_url, "credentials": c.credentials.is_some(),
        "always_on": c.always_on, "transport": c.transport,
    })
    .to_string()
}
