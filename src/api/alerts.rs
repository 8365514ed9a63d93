//! Alerts: the list and one alert (within the caller's scope), an alert's timeline, the handling
//! actions (`POST /api/v1/alerts/{id}/{action}`, taken by the alert manager), and dead letters.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::access::{AuditNote, Caller, noted};
use super::error::{ErrorBody, ErrorDetail, Param};
use super::{ApiError, AppState};
use crate::alerts::handling::{Action, Actor, Refusal, Request};
use crate::alerts::manager::{ActError, ActionOrder};
use crate::alerts::model::{Attachment, Delivery, Source};
use crate::alerts::{Alert, AlertEvent, AlertQuery, AlertState, StateFilter};
use crate::pipeline::{DeadLetter, Severity};

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

/// `before`: only ids below this (paging).
fn before_of(q: &HashMap<String, String>) -> Result<Option<i64>, ApiError> {
    q.get("before")
        .map(|s| {
            s.parse::<i64>()
                .map_err(|_| ApiError::bad_field("before", "must be an integer id"))
        })
        .transpose()
}

fn time(q: &HashMap<String, String>, field: &str) -> Result<Option<i64>, ApiError> {
    q.get(field)
        .map(|s| {
            crate::timefmt::parse_rfc3339(s)
                .ok_or_else(|| ApiError::bad_field(field, "must be an RFC 3339 time"))
        })
        .transpose()
}

/// The query of `GET /api/v1/alerts`, checked.
fn query_of(q: &HashMap<String, String>) -> Result<AlertQuery, ApiError> {
    let state = match q.get("state").map(String::as_str) {
        None | Some("all") => None,
        Some("unresolved") => Some(StateFilter::Unresolved),
        Some(s) => Some(StateFilter::Is(AlertState::parse(s).ok_or_else(|| {
            ApiError::bad_field(
                "state",
                "must be open, acknowledged, dispatched, in_progress, resolved, closed, unresolved or all",
            )
        })?)),
    };
    let severity = q
        .get("severity")
        .map(|s| {
            Severity::parse(s)
                .ok_or_else(|| ApiError::bad_field("severity", "must be info, warning or critical"))
        })
        .transpose()?;
    let source = q
        .get("source")
        .map(|s| {
            Source::parse(s).ok_or_else(|| ApiError::bad_field("source", "must be rule or field"))
        })
        .transpose()?;
    let before = before_of(q)?;
    Ok(AlertQuery {
        state,
        device: q.get("device").cloned(),
        agency: q.get("agency").cloned(),
        severity,
        category: q.get("category").cloned(),
        area: q.get("area").cloned(),
        source,
        from: time(q, "from")?,
        to: time(q, "to")?,
        before,
        live: false,
        limit: limit(q, 500, 10_000)?,
    })
}

/// Alerts, newest first, within the caller's scope; filters combine.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts", security(("bearer" = [])),
    params(
        ("state" = Option<String>, Query, description = "open | acknowledged | dispatched | in_progress | resolved | closed | unresolved (every state before resolved) | all (default)"),
        ("device" = Option<String>, Query, description = "only this device"),
        ("agency" = Option<String>, Query, description = "forwarded to this agency"),
        ("severity" = Option<String>, Query, description = "info | warning | critical"),
        ("category" = Option<String>, Query, description = "flood | landslide | forest_fire | air_pollution | equipment | other"),
        ("area" = Option<String>, Query, description = "lying in this area (id from GET /api/v1/areas)"),
        ("source" = Option<String>, Query, description = "rule | field"),
        ("from" = Option<String>, Query, description = "opened at or after (RFC 3339)"),
        ("to" = Option<String>, Query, description = "opened before (RFC 3339)"),
        ("before" = Option<i64>, Query, description = "only ids below this (paging)"),
        ("limit" = Option<u32>, Query, description = "default 500, max 10000"),
    ),
    responses((status = 200, body = [Alert]), (status = 400, body = ErrorBody)))]
pub async fn list(
    caller: Caller,
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Vec<Alert>>, ApiError> {
    let mut query = query_of(&q)?;
    if let Some(own) = &caller.scope.alerts_of_agency {
        // An agency's account: its own alerts, selected by the store.
        if query.agency.as_ref().is_some_and(|a| a != own) {
            return Ok(Json(Vec::new()));
        }
        query.agency = Some(own.clone());
    }
    let mut alerts = state.store.alerts(query).await?;
    if !caller.scope.everything() {
        let positions = state.live.directory.snapshot();
        alerts.retain(|a| {
            caller
                .scope
                .sees(a, positions.get(a.device.as_str()).copied())
        });
    }
    Ok(Json(alerts))
}

fn alert_id(id: &str) -> Result<i64, ApiError> {
    id.parse()
        .map_err(|_| ApiError::bad_field("id", "alert ids are integers"))
}

/// The stored alert, if the caller sees it.
pub(super) async fn visible(state: &AppState, caller: &Caller, id: i64) -> Result<Alert, ApiError> {
    state
        .store
        .alert(id)
        .await?
        .filter(|a| {
            let positions = state.live.directory.snapshot();
            caller
                .scope
                .sees(a, positions.get(a.device.as_str()).copied())
        })
        .ok_or_else(|| ApiError::not_found(format!("no alert {id}")))
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
    Ok(Json(visible(&state, &caller, alert_id(&id)?).await?))
}

/// An alert's timeline, oldest first: every change of its condition and handling, comment,
/// assignment, delivery and escalation, with who and when.
#[utoipa::path(get, path = "/api/v1/alerts/{id}/timeline", tag = "alerts", security(("bearer" = [])),
    params(("id" = i64, Path, description = "alert id")),
    responses((status = 200, body = [AlertEvent]), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn timeline(
    caller: Caller,
    State(state): State<AppState>,
    Param(id): Param<String>,
) -> Result<Json<Vec<AlertEvent>>, ApiError> {
    let alert = visible(&state, &caller, alert_id(&id)?).await?;
    Ok(Json(state.store.alert_timeline(alert.id).await?))
}

/// The body of a handling action; every field is optional, and an empty body is `{}`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    /// A note kept in the timeline.
    pub note: Option<String>,
    /// Dispatch: the (lead) agency; absent = the route's.
    pub agency: Option<String>,
    /// Dispatch: the agencies, the lead first (instead of `agency`).
    pub agencies: Option<Vec<String>>,
    /// Assign: the account.
    pub user: Option<String>,
    /// Comment: the text.
    pub text: Option<String>,
    /// Resolve: `handled` (default), `false_alarm` or `duplicate`.
    pub resolution: Option<String>,
    /// Comment: a photo, base64 JPEG or PNG (at most 4 MiB).
    pub photo: Option<String>,
}

/// 409: the alert's state does not allow the action; `state` is the state it is in.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ConflictBody {
    pub error: ErrorDetail,
    pub state: AlertState,
}

/// The longest text a note or comment may have.
const MAX_TEXT: usize = 4000;

fn request_of(body: &Bytes, actor: &str) -> Result<Request, ApiError> {
    let body: ActionBody = if body.iter().all(u8::is_ascii_whitespace) {
        ActionBody::default()
    } else {
        ApiError::json(body)?
    };
    for (field, text) in [("note", &body.note), ("text", &body.text)] {
        if text.as_ref().is_some_and(|t| t.chars().count() > MAX_TEXT) {
            return Err(ApiError::bad_field(
                field,
                format!("at most {MAX_TEXT} characters"),
            ));
        }
    }
    let agencies = match (body.agency, body.agencies) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_field(
                "agencies",
                "give agency or agencies, not both",
            ));
        }
        (Some(a), None) => vec![a],
        (None, Some(list)) => list,
        (None, None) => Vec::new(),
    };
    if agencies
        .iter()
        .any(|a| a.trim().is_empty() || a.len() > 100)
    {
        return Err(ApiError::bad_field(
            "agency",
            "an agency id is 1 to 100 characters",
        ));
    }
    let mut seen = std::collections::HashSet::new();
    if !agencies.iter().all(|a| seen.insert(a)) {
        return Err(ApiError::bad_field("agencies", "an agency is named twice"));
    }
    let photo = body
        .photo
        .as_deref()
        .map(|p| Attachment::photo(p, actor, crate::timefmt::now_ms()))
        .transpose()
        .map_err(|e| ApiError::bad_field("photo", e.to_string()))?;
    Ok(Request {
        note: body.note,
        agencies,
        user: body.user,
        text: body.text,
        resolution: body.resolution,
        photo,
    })
}

/// The `Idempotency-Key` header: 1 to 200 visible ASCII characters.
pub(super) fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    v.to_str()
        .ok()
        .filter(|k| (1..=200).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
        .map(|k| Some(k.to_owned()))
        .ok_or_else(|| ApiError::bad_field("Idempotency-Key", "1 to 200 visible ASCII characters"))
}

pub(super) fn refused(e: ActError) -> Response {
    match e {
        ActError::NotFound(id) => ApiError::not_found(format!("no alert {id}")).into_response(),
        ActError::Refused(Refusal::Forbidden(m)) => ApiError::forbidden(m).into_response(),
        ActError::Refused(Refusal::Invalid { field, message }) => {
            ApiError::bad_field(&field, message).into_response()
        }
        ActError::Refused(Refusal::Conflict { reason, state }) => {
            let body = ConflictBody {
                error: ErrorDetail {
                    code: "conflict".into(),
                    message: reason,
                    field: None,
                },
                state,
            };
            (StatusCode::CONFLICT, Json(body)).into_response()
        }
        e @ ActError::KeyReused { .. } => ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "idempotency_key_reused",
            ..ApiError::bad_field("Idempotency-Key", e.to_string())
        }
        .into_response(),
        ActError::Store(e) => ApiError::from(e).into_response(),
        e @ ActError::Stopped => ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "stopping",
            message: e.to_string(),
            field: None,
        }
        .into_response(),
    }
}

/// Takes `action` on alert `id` for the caller; the audit record says what it did.
async fn act(
    caller: Caller,
    state: AppState,
    id: String,
    headers: HeaderMap,
    body: Bytes,
    action: Action,
) -> Result<Response, ApiError> {
    let id = alert_id(&id)?;
    let request = request_of(&body, &caller.username)?;
    let order = ActionOrder {
        id,
        action,
        request,
        actor: Actor {
            username: caller.username.clone(),
            role: caller.role,
            agency: caller.agency.clone(),
        },
        scope: caller.scope.clone(),
        idempotency_key: idempotency_key(&headers)?,
    };
    Ok(match state.alerts.act(order).await {
        Ok(alert) => {
            let detail = match action {
                Action::Dispatch => {
                    format!("{} to {}", alert.state.as_str(), alert.agencies.join(", "))
                }
                Action::Assign => format!("to {}", alert.assignee.as_deref().unwrap_or("-")),
                _ => alert.state.as_str().to_owned(),
            };
            let note = AuditNote {
                detail,
                ..AuditNote::default()
            };
            noted(Json(alert), note)
        }
        Err(e) => refused(e),
    })
}

macro_rules! action_endpoint {
    ($name:ident, $action:expr, $path:literal, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "alerts", security(("bearer" = [])),
            params(
                ("id" = i64, Path, description = "alert id"),
                ("Idempotency-Key" = Option<String>, Header, description = "a repeat with the same key (per account) acts once and answers with the alert as it stands"),
            ),
            request_body(content = ActionBody, description = "optional; `{}` or empty"),
            responses(
                (status = 200, body = Alert, description = "the alert as the action left it"),
                (status = 400, body = ErrorBody),
                (status = 404, body = ErrorBody),
                (status = 409, body = ConflictBody, description = "the alert's state does not allow it"),
                (status = 422, body = ErrorBody, description = "the Idempotency-Key was used for another action"),
            ))]
        pub async fn $name(
            caller: Caller,
            State(state): State<AppState>,
            Param(id): Param<String>,
            headers: HeaderMap,
            body: Bytes,
        ) -> Result<Response, ApiError> {
            act(caller, state, id, headers, body, $action).await
        }
    };
}

action_endpoint!(
    acknowledge,
    Action::Acknowledge,
    "/api/v1/alerts/{id}/acknowledge",
    "Acknowledge: the IOC's duty takes the alert (open → acknowledged)."
);
action_endpoint!(
    dispatch,
    Action::Dispatch,
    "/api/v1/alerts/{id}/dispatch",
    "Dispatch: forward the alert to the competent agency (the route's unless `agency`/`agencies` names others); again to forward it elsewhere."
);
action_endpoint!(
    start,
    Action::Start,
    "/api/v1/alerts/{id}/start",
    "Start: the lead agency begins handling (dispatched → in_progress)."
);
action_endpoint!(
    resolve,
    Action::Resolve,
    "/api/v1/alerts/{id}/resolve",
    "Resolve: the lead agency reports it handled (an operator before dispatch, a supervisor at any time); `resolution` handled | false_alarm | duplicate."
);
action_endpoint!(
    close,
    Action::Close,
    "/api/v1/alerts/{id}/close",
    "Close: the IOC files a resolved alert (final)."
);
action_endpoint!(
    reopen,
    Action::Reopen,
    "/api/v1/alerts/{id}/reopen",
    "Reopen: a resolved alert goes back to its agency (dispatched), or to open if it never had one."
);
action_endpoint!(
    comment,
    Action::Comment,
    "/api/v1/alerts/{id}/comment",
    "Comment: add `text` to the timeline (the IOC and the agencies it is forwarded to)."
);
action_endpoint!(
    assign,
    Action::Assign,
    "/api/v1/alerts/{id}/assign",
    "Assign: name the account handling it (`user`); an agency assigns its own people."
);

/// Webhook deliveries to the agencies, newest first: of one alert (which the caller must see),
/// or of every alert (the IOC's duty only).
#[utoipa::path(get, path = "/api/v1/deliveries", tag = "alerts", security(("bearer" = [])),
    params(
        ("alert" = Option<i64>, Query, description = "only this alert's"),
        ("limit" = Option<u32>, Query, description = "default 100, max 10000"),
    ),
    responses((status = 200, body = [Delivery]), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn deliveries(
    caller: Caller,
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Vec<Delivery>>, ApiError> {
    let limit = limit(&q, 100, 10_000)?;
    let alert = match q.get("alert") {
        Some(id) => Some(
            visible(
                &state,
                &caller,
                alert_id(id).map_err(|_| ApiError::bad_field("alert", "alert ids are integers"))?,
            )
            .await?
            .id,
        ),
        None if caller.scope.everything() => None,
        None => {
            return Err(ApiError::bad_field(
                "alert",
                "name the alert (only the IOC's duty lists every delivery)",
            ));
        }
    };
    let mut list = state.store.deliveries(alert, limit).await?;
    if let Some(own) = &caller.scope.alerts_of_agency {
        list.retain(|d| &d.agency == own);
    }
    Ok(Json(list))
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
    let before = before_of(&q)?;
    Ok(Json(
        state
            .store
            .dead_letters(limit(&q, 100, 10_000)?, before)
            .await?,
    ))
}
