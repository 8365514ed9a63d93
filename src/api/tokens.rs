//! Integrators' API tokens, for admins: issue one for an integrator account (named, narrowed to
//! some of its permissions, expiring; the token is shown once), list them (never the token), and
//! revoke one (refused at once).

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::access::{AuditNote, Caller, noted};
use super::error::{ErrorBody, Param};
use super::{ApiError, AppState};
use crate::accounts::{ApiToken, Permission};
use crate::timefmt::now_ms;

#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenView {
    pub id: String,
    pub name: String,
    /// The integrator account it acts as.
    pub username: String,
    /// What it may do; empty = everything the integrator role may.
    pub permissions: Vec<Permission>,
    #[serde(serialize_with = "crate::timefmt::ser_ms")]
    #[schema(value_type = String)]
    pub created_at: i64,
    #[serde(serialize_with = "crate::timefmt::ser_ms")]
    #[schema(value_type = String)]
    pub expires_at: i64,
    #[serde(serialize_with = "crate::timefmt::ser_opt_ms")]
    #[schema(value_type = Option<String>)]
    pub last_used_at: Option<i64>,
    #[serde(serialize_with = "crate::timefmt::ser_opt_ms")]
    #[schema(value_type = Option<String>)]
    pub revoked_at: Option<i64>,
}

impl From<ApiToken> for TokenView {
    fn from(t: ApiToken) -> Self {
        Self {
            id: t.id,
            name: t.name,
            username: t.username,
            permissions: t.permissions,
            created_at: t.created_at_ms,
            expires_at: t.expires_at_ms,
            last_used_at: t.last_used_ms,
            revoked_at: t.revoked_at_ms,
        }
    }
}

/// A token just issued: the only time `token` is shown.
#[derive(Serialize, utoipa::ToSchema)]
pub struct IssuedToken {
    #[serde(flatten)]
    pub view: TokenView,
    /// Send as `Authorization: Bearer …`.
    pub token: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    pub name: String,
    /// The integrator account.
    pub username: String,
    #[serde(default)]
    pub permissions: Vec<Permission>,
    /// Default 90, at most 365.
    pub expires_in_days: Option<u32>,
}

/// Every API token, revoked and expired ones included.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = [TokenView]), (status = 403, body = ErrorBody)))]
pub async fn list(
    _: Caller,
    State(state): State<AppState>,
) -> Result<Json<Vec<TokenView>>, ApiError> {
    let tokens = state.accounts.api_tokens().await?;
    Ok(Json(tokens.into_iter().map(TokenView::from).collect()))
}

/// Issue a token for an integrator account.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "accounts", security(("bearer" = [])),
    request_body = CreateToken,
    responses((status = 201, body = IssuedToken), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "the account is revoked")))]
pub async fn create(
    _: Caller,
    State(state): State<AppState>,
    body: Result<Json<CreateToken>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(req) = body.map_err(|e| ApiError::bad_body(e.body_text()))?;
    let days = req.expires_in_days.unwrap_or(90);
    let (token, secret) = state
        .accounts
        .issue_token(&req.username, req.name, req.permissions, days, now_ms())
        .await?;
    let note = AuditNote {
        target: Some(token.id.clone()),
        detail: serde_json::json!({
            "name": token.name, "username": token.username,
            "permissions": token.permissions, "days": days,
        })
        .to_string(),
        ..AuditNote::default()
    };
    let body = IssuedToken {
        view: token.into(),
        token: secret,
    };
    Ok(noted((StatusCode::CREATED, Json(body)), note))
}

/// Revoke a token: refused from now on.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "accounts", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = TokenView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn revoke(
    _: Caller,
    State(state): State<AppState>,
    Param(id): Param<String>,
) -> Result<Json<TokenView>, ApiError> {
    Ok(Json(
        state.accounts.revoke_token(&id, now_ms()).await?.into(),
    ))
}
