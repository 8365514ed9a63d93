//! Devices and their readings.

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use iochub_devices::Catalog;
use iochub_devices::key::{is_valid_device_key, is_valid_metric_name};
use serde::Serialize;

use super::access::{AuditNote, Caller, noted};
use super::error::{ErrorBody, Param};
use super::{ApiError, AppState};
use crate::areas::Areas;
use crate::storage::{Device, DevicePatch, Point, ReadingsQuery};
use crate::systems::{System, UNASSIGNED, system_of};
use crate::timefmt::{format_ms, now_ms, parse_rfc3339};

const DEFAULT_SPAN_MS: i64 = 24 * 3600 * 1000;
const MAX_POINTS: u32 = 100_000;

fn valid_key(device: &str) -> Result<(), ApiError> {
    if is_valid_device_key(device) {
        Ok(())
    } else {
        Err(ApiError::bad_field(
            "device",
            "device keys match [A-Za-z0-9._-]{1,64}",
        ))
    }
}

/// All devices with location, online state, last seen and latest values.
#[utoipa::path(get, path = "/api/v1/devices", tag = "devices", security(("bearer" = [])),
    responses((status = 200, body = [Device]), (status = 401, body = ErrorBody)))]
pub async fn list(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<Vec<Device>>, ApiError> {
    let mut devices = state.store.devices().await?;
    devices.retain(|d| caller.scope.sees_position(position(d)));
    let systems = state.store.systems().await?;
    for d in &mut devices {
        completed(d, &systems, &state.areas);
    }
    Ok(Json(devices))
}

/// Fills what the API derives: units, the system a device gets from the systems' key
/// patterns, the areas its position lies in (unless an operator assigned some).
fn completed(d: &mut Device, systems: &[System], areas: &Areas) {
    with_units(d);
    if d.system.is_none() {
        let system = system_of(&d.key, None, systems);
        if system != UNASSIGNED {
            (d.system, d.system_from) = (Some(system.to_owned()), "pattern");
        }
    }
    if d.areas.is_empty() {
        d.areas = position(d).map_or_else(Vec::new, |(lon, lat)| areas.containing(lon, lat));
    }
}

/// `(lon, lat)` when both are known.
fn position(d: &Device) -> Option<(f64, f64)> {
    d.lon.zip(d.lat)
}

/// The device, when it exists and lies in the caller's scope (outside it, it does not exist
/// for them: 404, not 403, so that the scope does not leak which keys exist).
async fn visible(state: &AppState, caller: &Caller, key: &str) -> Result<Device, ApiError> {
    state
        .store
        .device(key)
        .await?
        .filter(|d| caller.scope.sees_position(position(d)))
        .ok_or_else(|| ApiError::not_found(format!("no device {key:?}")))
}

/// A metric's canonical unit, when the catalog knows the metric.
pub fn unit_of(metric: &str) -> Option<&'static str> {
    static CATALOG: LazyLock<Catalog> = LazyLock::new(Catalog::builtin);
    CATALOG.get(metric).map(|spec| spec.unit)
}

/// Adds each latest value's unit.
pub fn with_units(device: &mut Device) {
    for v in &mut device.latest {
        v.unit = unit_of(&v.metric);
    }
}

/// One device.
#[utoipa::path(get, path = "/api/v1/devices/{device}", tag = "devices", security(("bearer" = [])),
    params(("device" = String, Path, description = "device key")),
    responses((status = 200, body = Device), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    caller: Caller,
    State(state): State<AppState>,
    Param(device): Param<String>,
) -> Result<Json<Device>, ApiError> {
    valid_key(&device)?;
    let mut d = visible(&state, &caller, &device).await?;
    completed(&mut d, &state.store.systems().await?, &state.areas);
    Ok(Json(d))
}

/// Edit a device: name, position, `registered: true` to confirm a self-registered device,
/// `gateway` (a gateway's key, `""` to detach) to let that gateway publish for it, its connected
/// `system` (`""`: from the systems' key patterns), `tags`, `areas` (`[]`: those its position
/// lies in), and `expected_interval_s` (0 clears).
#[utoipa::path(patch, path = "/api/v1/devices/{device}", tag = "devices", security(("bearer" = [])),
    params(("device" = String, Path, description = "device key")), request_body = DevicePatch,
    responses((status = 200, body = Device), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn patch(
    user: Caller,
    State(state): State<AppState>,
    Param(device): Param<String>,
    body: Result<Json<DevicePatch>, JsonRejection>,
) -> Result<Json<Device>, ApiError> {
    valid_key(&device)?;
    let Json(patch) = body.map_err(|e| ApiError::bad_body(e.body_text()))?;
    let systems = state.store.systems().await?;
    patch
        .check(&device, &state.areas, &systems)
        .map_err(|e| ApiError::bad_field(e.field, e.message))?;
    visible(&state, &user, &device).await?;
    let (lat, lon, gateway) = (patch.lat, patch.lon, patch.gateway.is_some());
    let labelled = patch.tags.is_some() || patch.areas.is_some();
    let updated = state.store.update_device(&device, patch).await?;
    let mut d = updated.ok_or_else(|| ApiError::not_found(format!("no device {device:?}")))?;
    if labelled {
        // rules scoped by tags or area see the change at the device's next reading
        let (tags, areas) = (d.tags.clone(), d.areas.clone());
        let labels = crate::pipeline::directory::Labels { tags, areas };
        state.live.directory.label(&[(device.clone(), labels)]);
    }
    completed(&mut d, &systems, &state.areas);
    if lat.is_some() || lon.is_some() {
        state.live.directory.locate(&[(device.clone(), lat, lon)]);
    }
    if gateway {
        state.device_accounts.reload().await?;
    }
    tracing::info!(user = %user.username, device = %device, "device updated");
    Ok(Json(d))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Readings {
    pub device: String,
    pub metric: String,
    #[serde(serialize_with = "crate::timefmt::ser_ms")]
    #[schema(value_type = String)]
    pub from: i64,
    #[serde(serialize_with = "crate::timefmt::ser_ms")]
    #[schema(value_type = String)]
    pub to: i64,
    /// Bucket width in seconds when aggregated.
    pub step_seconds: Option<f64>,
    pub points: Vec<Point>,
}

fn time_param(q: &HashMap<String, String>, name: &str) -> Result<Option<i64>, ApiError> {
    q.get(name)
        .map(|s| {
            parse_rfc3339(s)
                .ok_or_else(|| ApiError::bad_field(name, format!("{s:?} is not an RFC 3339 time")))
        })
        .transpose()
}

/// Readings of one metric in `[from, to)`; with `step`, min/avg/max/count per bucket.
#[utoipa::path(get, path = "/api/v1/devices/{device}/readings", tag = "devices", security(("bearer" = [])),
    params(
        ("device" = String, Path, description = "device key"),
        ("metric" = String, Query, description = "metric name"),
        ("from" = Option<String>, Query, description = "RFC 3339; default: `to` minus 24 h"),
        ("to" = Option<String>, Query, description = "RFC 3339; default: now"),
        ("step" = Option<String>, Query, description = "bucket width, e.g. 60s, 5m, 1h"),
        ("limit" = Option<u32>, Query, description = "most points returned (default and max 100000)"),
        ("format" = Option<String>, Query, description = "json (default) or csv"),
    ),
    responses(
        (status = 200, description = "the points; as CSV with format=csv",
            content((Readings = "application/json"), (String = "text/csv"))),
        (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "no such device in the caller's areas")))]
pub async fn readings(
    caller: Caller,
    State(state): State<AppState>,
    Param(device): Param<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    valid_key(&device)?;
    if !caller.scope.everything() {
        visible(&state, &caller, &device).await?;
    }
    let csv = match q.get("format").map(String::as_str) {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(ApiError::bad_field("format", "must be json or csv")),
    };
    let metric = q
        .get("metric")
        .ok_or_else(|| ApiError::bad_field("metric", "required"))?;
    if !is_valid_metric_name(metric) {
        return Err(ApiError::bad_field(
            "metric",
            "metric names match [A-Za-z0-9._-]{1,64}",
        ));
    }
    let to = time_param(&q, "to")?.unwrap_or_else(now_ms);
    let from = time_param(&q, "from")?.unwrap_or(to - DEFAULT_SPAN_MS);
    if from >= to {
        return Err(ApiError::bad_field("from", "must be before `to`"));
    }
    let step_ms = match q.get("step") {
        None => None,
        Some(s) => {
            let d = humantime::parse_duration(s).map_err(|e| {
                ApiError::bad_field("step", format!("{s:?} is not a duration like 60s: {e}"))
            })?;
            let ms = d.as_millis() as i64;
            if ms < 1000 {
                return Err(ApiError::bad_field("step", "must be at least 1s"));
            }
            Some(ms)
        }
    };
    let limit = match q.get("limit") {
        None => MAX_POINTS,
        Some(s) => s
            .parse::<u32>()
            .ok()
            .filter(|l| (1..=MAX_POINTS).contains(l))
            .ok_or_else(|| ApiError::bad_field("limit", format!("must be 1..{MAX_POINTS}")))?,
    };
    let query = ReadingsQuery {
        device: device.clone(),
        metric: metric.clone(),
        from_ms: from,
        to_ms: to,
        step_ms,
        limit,
    };
    let points = state.store.readings(query).await?;
    if csv {
        let name = format!("attachment; filename=\"{device}_{metric}.csv\"");
        let headers = [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, name),
        ];
        let note = AuditNote {
            action: Some("export.readings"),
            target: Some(device.clone()),
            detail: serde_json::json!({
                "metric": metric, "from": format_ms(from), "to": format_ms(to), "points": points.len()
            })
            .to_string(),
            ..AuditNote::default()
        };
        return Ok(noted((headers, to_csv(&points)), note));
    }
    Ok(Json(Readings {
        device,
        metric: metric.clone(),
        from,
        to,
        step_seconds: step_ms.map(|s| s as f64 / 1000.0),
        points,
    })
    .into_response())
}

/// `ts,value` rows, or `ts,min,avg,max,count` for buckets; times in RFC 3339.
fn to_csv(points: &[Point]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(32 + points.len() * 40);
    match points.first() {
        Some(Point::Bucket { .. }) => out.push_str("ts,min,avg,max,count\n"),
        _ => out.push_str("ts,value\n"),
    }
    for p in points {
        let _ = match p {
            Point::Raw { ts, value } => writeln!(out, "{},{value}", format_ms(*ts)),
            Point::Bucket {
                ts,
                min,
                avg,
                max,
                count,
            } => {
                writeln!(out, "{},{min},{avg},{max},{count}", format_ms(*ts))
            }
        };
    }
    out
}

/// A device's MQTT password, issued once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct IssuedCredentials {
    pub device: String,
    /// The MQTT username: the device key.
    pub username: String,
    /// Shown only now; the hub keeps only its hash.
    pub password: String,
    #[serde(serialize_with = "crate::timefmt::ser_ms")]
    #[schema(value_type = String)]
    pub issued_at: i64,
}

/// Issue (or replace) a device's MQTT password: the username is the device key, the password is
/// shown once. The device may then publish only under `ioc/{device}/` (a gateway also under the
/// keys of the devices behind it) on the embedded broker with `--mqtt-auth`, and on a Mosquitto
/// configured by `iochub mosquitto-auth`. The device need not have reported yet.
#[utoipa::path(post, path = "/api/v1/devices/{device}/credentials", tag = "devices", security(("bearer" = [])),
    params(("device" = String, Path, description = "device key")),
    responses((status = 201, body = IssuedCredentials), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn issue_credentials(
    caller: Caller,
    State(state): State<AppState>,
    Param(device): Param<String>,
) -> Result<Response, ApiError> {
    valid_key(&device)?;
    // A scoped caller issues only for devices it can see; an unscoped one also for new devices.
    if !caller.scope.areas.is_empty() {
        visible(&state, &caller, &device).await?;
    }
    let password = crate::accounts::mqtt::new_password();
    let issued_at = now_ms();
    let credential = crate::storage::DeviceCredential {
        device: device.clone(),
        hash: crate::accounts::mqtt::hash(&password),
        issued_at_ms: issued_at,
    };
    state.store.set_device_credential(credential).await?;
    state.device_accounts.reload().await?;
    let body = IssuedCredentials {
        username: device.clone(),
        device,
        password,
        issued_at,
    };
    let note = AuditNote {
        detail: "issued; any earlier password of the device no longer works".into(),
        ..AuditNote::default()
    };
    Ok(noted((StatusCode::CREATED, Json(body)), note))
}

/// Withdraw a device's MQTT password: the broker refuses it from the next connect (the embedded
/// broker at once; a Mosquitto after `iochub mosquitto-auth` is re-run and reloaded).
#[utoipa::path(delete, path = "/api/v1/devices/{device}/credentials", tag = "devices", security(("bearer" = [])),
    params(("device" = String, Path, description = "device key")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_credentials(
    caller: Caller,
    State(state): State<AppState>,
    Param(device): Param<String>,
) -> Result<StatusCode, ApiError> {
    valid_key(&device)?;
    if !caller.scope.areas.is_empty() {
        visible(&state, &caller, &device).await?;
    }
    if !state.store.delete_device_credential(&device).await? {
        return Err(ApiError::not_found(format!(
            "device {device:?} has no MQTT credentials"
        )));
    }
    state.device_accounts.reload().await?;
    Ok(StatusCode::NO_CONTENT)
}
