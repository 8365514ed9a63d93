//! Field reports (`POST /api/v1/incidents`): an incident seen by a person — a citizen's call, a
//! patrol's app, an operator — becomes an alert without a device (source `field`), at its place,
//! routed and handled like any other. And the photos attached to alerts.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::access::{AuditNote, Caller, noted};
use super::alerts::{idempotency_key, refused};
use super::error::{ErrorBody, Param};
use super::{ApiError, AppState};
use crate::alerts::Alert;
use crate::alerts::handling::Actor;
use crate::alerts::manager::Incident;
use crate::alerts::model::Attachment;
use crate::alerts::policy::CATEGORIES;
use crate::pipeline::Severity;

/// A field report.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentBody {
    /// `flood`, `landslide`, `forest_fire`, `air_pollution`, `equipment`, `other`.
    pub category: String,
    pub severity: Severity,
    pub lat: f64,
    pub lon: f64,
    /// What was seen (1 to 4000 characters).
    pub text: String,
    /// Who saw it (a name, a phone number), if the channel knows.
    pub reporter: Option<String>,
    /// A photo, base64 JPEG or PNG (at most 4 MiB).
    pub photo: Option<String>,
}

/// Creates a field alert; 201 with it.
#[utoipa::path(post, path = "/api/v1/incidents", tag = "alerts", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "a repeat with the same key (per account) opens no second alert and answers with the first")),
    request_body = IncidentBody,
    responses(
        (status = 201, body = Alert, description = "the field alert"),
        (status = 400, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "the Idempotency-Key was used for another action"),
    ))]
pub async fn report(
    caller: Caller,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body: IncidentBody = ApiError::json(&body)?;
    if !CATEGORIES.contains(&body.category.as_str()) {
        return Err(ApiError::bad_field(
            "category",
            format!("must be one of {}", CATEGORIES.join(", ")),
        ));
    }
    if !(body.lat.is_finite() && (-90.0..=90.0).contains(&body.lat)) {
        return Err(ApiError::bad_field("lat", "must be a latitude, -90 to 90"));
    }
    if !(body.lon.is_finite() && (-180.0..=180.0).contains(&body.lon)) {
        return Err(ApiError::bad_field(
            "lon",
            "must be a longitude, -180 to 180",
        ));
    }
    let text = body.text.trim();
    if text.is_empty() || text.chars().count() > 4000 {
        return Err(ApiError::bad_field("text", "1 to 4000 characters"));
    }
    let reporter = body
        .reporter
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    if reporter.as_ref().is_some_and(|r| r.chars().count() > 200) {
        return Err(ApiError::bad_field("reporter", "at most 200 characters"));
    }
    let photo = body
        .photo
        .as_deref()
        .map(|p| Attachment::photo(p, &caller.username, crate::timefmt::now_ms()))
        .transpose()
        .map_err(|e| ApiError::bad_field("photo", e.to_string()))?;
    let incident = Incident {
        category: body.category,
        severity: body.severity,
        lat: body.lat,
        lon: body.lon,
        text: text.to_owned(),
        reporter,
        photo,
        actor: Actor {
            username: caller.username.clone(),
            role: caller.role,
            agency: caller.agency.clone(),
        },
        idempotency_key: idempotency_key(&headers)?,
    };
    Ok(match state.alerts.report(incident).await {
        Ok(alert) => {
            let note = AuditNote {
                target: Some(alert.id.to_string()),
                detail: format!(
                    "{} {} at {:.5},{:.5}",
                    alert.category.as_deref().unwrap_or("-"),
                    alert.severity.as_str(),
                    body.lat,
                    body.lon
                ),
                ..AuditNote::default()
            };
            noted((StatusCode::CREATED, Json(alert)), note)
        }
        Err(e) => refused(e),
    })
}

/// A photo attached to an alert the caller sees, by its SHA-256 (named in the timeline).
#[utoipa::path(get, path = "/api/v1/alerts/{id}/attachments/{sha256}", tag = "alerts", security(("bearer" = [])),
    params(
        ("id" = i64, Path, description = "alert id"),
        ("sha256" = String, Path, description = "the photo's SHA-256, hex"),
    ),
    responses(
        (status = 200, description = "the photo", content_type = "image/jpeg"),
        (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn attachment(
    caller: Caller,
    State(state): State<AppState>,
    Param((id, sha256)): Param<(String, String)>,
) -> Result<Response, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::bad_field("id", "alert ids are integers"))?;
    let alert = super::alerts::visible(&state, &caller, id).await?;
    let photo = state
        .store
        .attachment(alert.id, &sha256)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no attachment {sha256} on alert {id}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, photo.mime),
            (header::CACHE_CONTROL, "private, max-age=86400".to_owned()),
        ],
        photo.bytes,
    )
        .into_response())
}
