//! Authentication: `Authorization: Bearer TOKEN` or the `iochub_session` cookie, both carrying
//! the same opaque token that `POST /api/v1/auth/login` returns.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, State};
use axum::http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::{ApiError, AppState};
use crate::accounts::Session;
use crate::accounts::{self, SESSION_TTL_MS};
use crate::timefmt::now_ms;

pub const COOKIE_NAME: &str = "iochub_session";

/// An authenticated caller.
pub struct Authed {
    pub username: String,
    /// Epoch ms when the session ends.
    pub expires_at: i64,
}

fn token_from(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok())
        && let Some(t) = v.strip_prefix("Bearer ")
    {
        return Some(t.trim());
    }
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(COOKIE_NAME)?.strip_prefix('='))
}

pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Authed, ApiError> {
    let token = token_from(headers).ok_or_else(|| {
        ApiError::unauthorized(
            "authentication required: send Authorization: Bearer TOKEN or log in",
        )
    })?;
    match state
        .store
        .session(&accounts::token_hash(token), now_ms())
        .await?
    {
        Some(s) => Ok(Authed {
            username: s.username,
            expires_at: s.expires_at_ms,
        }),
        None => Err(ApiError::unauthorized(
            "session expired or invalid; log in again",
        )),
    }
}

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        authenticate(state, &parts.headers).await
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    pub token: String,
    pub username: String,
    #[serde(serialize_with = "crate::timefmt::ser_ms")]
    #[schema(value_type = String)]
    pub expires_at: i64,
}

/// Log in; returns a bearer token and sets the session cookie.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = super::error::ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    body: Result<Json<LoginRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(req) = body.map_err(|e| ApiError::bad_body(e.body_text()))?;
    let denied = || ApiError::unauthorized("invalid username or password");
    let user = state.store.user(&req.username).await?;
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let password = req.password;
    // Argon2 is deliberately slow: keep it off the async workers.
    let ok = tokio::task::spawn_blocking(move || {
        hash.is_some_and(|h| accounts::verify_password(&password, &h))
    })
    .await
    .unwrap_or(false);
    let Some(user) = user.filter(|_| ok) else {
        tracing::warn!(username = %req.username, "login failed");
        return Err(denied());
    };
    if user.locked {
        return Err(ApiError::forbidden("account is locked"));
    }
    let token = accounts::new_token();
    let expires_at = now_ms() + SESSION_TTL_MS;
    let session = Session {
        token_hash: accounts::token_hash(&token),
        username: user.username.clone(),
        expires_at_ms: expires_at,
    };
    state.store.create_session(session, now_ms()).await?;
    tracing::info!(username = %user.username, "login");
    let cookie = format!(
        "{COOKIE_NAME}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        SESSION_TTL_MS / 1000
    );
    let mut resp = Json(LoginResponse {
        token,
        username: user.username,
        expires_at,
    })
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(SET_COOKIE, v);
    }
    Ok(resp)
}

/// Log out: ends the session and clears the cookie.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", responses((status = 204)))]
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(token) = token_from(&headers) {
        state
            .store
            .delete_session(&accounts::token_hash(token))
            .await?;
    }
    let mut resp = axum::http::StatusCode::NO_CONTENT.into_response();
    resp.headers_mut().insert(
        SET_COOKIE,
        HeaderValue::from_static("iochub_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    Ok(resp)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionInfo {
    pub username: String,
    #[serde(serialize_with = "crate::timefmt::ser_ms")]
    #[schema(value_type = String)]
    pub expires_at: i64,
}

/// Who is logged in: 200 with the session, or 401 when there is none (the app checks this on
/// load to decide between the login page and the console).
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = SessionInfo), (status = 401, body = super::error::ErrorBody)))]
pub async fn me(user: Authed) -> Json<SessionInfo> {
    Json(SessionInfo {
        username: user.username,
        expires_at: user.expires_at,
    })
}
