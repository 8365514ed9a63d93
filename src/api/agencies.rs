//! The agency registry: the competent bodies alerts are forwarded to. Everyone on duty reads it;
//! admins edit it. A webhook's secret is write-only: the API says whether one is set, never what.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::access::{AuditNote, Caller, noted};
use super::error::{ErrorBody, Param};
use super::{ApiError, AppState};
use crate::accounts::{Agency, AgencyKind, Contact, Webhook};
use crate::timefmt::now_ms;

#[derive(Serialize, utoipa::ToSchema)]
pub struct WebhookView {
    pub url: String,
    /// Always true: a webhook has a secret, which is never shown back.
    pub secret_set: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AgencyView {
    pub id: String,
    pub name: String,
    pub kind: AgencyKind,
    /// An area id; null = the whole province.
    pub area: Option<String>,
    pub contacts: Vec<Contact>,
    pub webhook: Option<WebhookView>,
    #[serde(serialize_with = "crate::timefmt::ser_ms")]
    #[schema(value_type = String)]
    pub created_at: i64,
    #[serde(serialize_with = "crate::timefmt::ser_ms")]
    #[schema(value_type = String)]
    pub updated_at: i64,
}

impl From<Agency> for AgencyView {
    fn from(a: Agency) -> Self {
        Self {
            id: a.id,
            name: a.name,
            kind: a.kind,
            area: a.area,
            contacts: a.contacts,
            webhook: a.webhook.map(|w| WebhookView {
                url: w.url,
                secret_set: true,
            }),
            created_at: a.created_at_ms,
            updated_at: a.updated_at_ms,
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAgency {
    pub id: String,
    pub name: String,
    pub kind: AgencyKind,
    pub area: Option<String>,
    #[serde(default)]
    pub contacts: Vec<Contact>,
    pub webhook: Option<Webhook>,
}

/// A webhook edit: the secret may be left out to keep the current one.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    pub url: String,
    pub secret: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAgency {
    pub name: Option<String>,
    pub kind: Option<AgencyKind>,
    /// `null` = the whole province.
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub area: Option<Option<String>>,
    pub contacts: Option<Vec<Contact>>,
    /// `null` removes the webhook.
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<WebhookPatch>)]
    pub webhook: Option<Option<WebhookPatch>>,
}

/// Every agency, by id.
#[utoipa::path(get, path = "/api/v1/agencies", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = [AgencyView]), (status = 403, body = ErrorBody)))]
pub async fn list(
    _: Caller,
    State(state): State<AppState>,
) -> Result<Json<Vec<AgencyView>>, ApiError> {
    let list = state.accounts.agencies().await?;
    Ok(Json(list.into_iter().map(AgencyView::from).collect()))
}

/// Add an agency.
#[utoipa::path(post, path = "/api/v1/agencies", tag = "accounts", security(("bearer" = [])),
    request_body = CreateAgency,
    responses((status = 201, body = AgencyView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(
    caller: Caller,
    State(state): State<AppState>,
    body: Result<Json<CreateAgency>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(req) = body.map_err(|e| ApiError::bad_body(e.body_text()))?;
    let agency = Agency {
        id: req.id,
        name: req.name,
        kind: req.kind,
        area: req.area,
        contacts: req.contacts,
        webhook: req.webhook,
        created_at_ms: 0,
        updated_at_ms: 0,
    };
    let agency = state.accounts.add_agency(agency, now_ms()).await?;
    tracing::info!(by = %caller.username, agency = %agency.id, "agency added");
    let note = AuditNote {
        target: Some(agency.id.clone()),
        detail: described(&agency),
        ..AuditNote::default()
    };
    Ok(noted(
        (StatusCode::CREATED, Json(AgencyView::from(agency))),
        note,
    ))
}

/// An agency for the audit trail: its fields, the webhook's secret left out.
fn described(a: &Agency) -> String {
    serde_json::json!({
        "name": a.name, "kind": a.kind, "area": a.area, "contacts": a.contacts,
        "webhook": a.webhook.as_ref().map(|w| &w.url),
    })
    .to_string()
}

/// One agency.
#[utoipa::path(get, path = "/api/v1/agencies/{id}", tag = "accounts", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = AgencyView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    _: Caller,
    State(state): State<AppState>,
    Param(id): Param<String>,
) -> Result<Json<AgencyView>, ApiError> {
    Ok(Json(state.accounts.agency(&id).await?.into()))
}

/// Edit an agency; absent fields stay.
#[utoipa::path(patch, path = "/api/v1/agencies/{id}", tag = "accounts", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = UpdateAgency,
    responses((status = 200, body = AgencyView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn patch(
    caller: Caller,
    State(state): State<AppState>,
    Param(id): Param<String>,
    body: Result<Json<UpdateAgency>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(req) = body.map_err(|e| ApiError::bad_body(e.body_text()))?;
    let mut a = state.accounts.agency(&id).await?;
    if let Some(n) = req.name {
        a.name = n;
    }
    if let Some(k) = req.kind {
        a.kind = k;
    }
    if let Some(area) = req.area {
        a.area = area;
    }
    if let Some(c) = req.contacts {
        a.contacts = c;
    }
    if let Some(w) = req.webhook {
        a.webhook = match w {
            None => None,
            Some(WebhookPatch { url, secret }) => {
                let secret = match (secret, &a.webhook) {
                    (Some(s), _) => s,
                    (None, Some(old)) => old.secret.clone(),
                    (None, None) => {
                        return Err(ApiError::bad_field(
                            "webhook.secret",
                            "a new webhook needs a secret",
                        ));
                    }
                };
                Some(Webhook { url, secret })
            }
        };
    }
    let a = state.accounts.save_agency(a, now_ms()).await?;
    tracing::info!(by = %caller.username, agency = %a.id, "agency edited");
    let note = AuditNote {
        detail: described(&a),
        ..AuditNote::default()
    };
    Ok(noted(Json(AgencyView::from(a)), note))
}
