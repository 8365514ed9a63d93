//! Access control, in one place: [`ROUTES`] names the [`Permission`] of every endpoint, and
//! [`guard`] (a layer over every route) authenticates the caller, refuses what their role does not
//! hold (403) and everything but the password change while their password must be changed, and
//! hands the handler a [`Caller`] with the account's [`Scope`]. A route missing from the table is
//! refused to everyone, so a new endpoint cannot ship open by mistake.

use std::sync::Arc;

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{ApiError, AppState};
use crate::accounts::{self, Permission, Role, Scope};
use crate::timefmt::now_ms;

/// One endpoint and what it needs.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    /// As axum matches it: `/api/v1/devices/{device}`.
    pub path: &'static str,
    pub permission: Permission,
}

const fn r(method: &'static str, path: &'static str, permission: Permission) -> Route {
    Route {
        method,
        path,
        permission,
    }
}

use Permission as P;

/// Every endpoint of the hub.
pub const ROUTES: &[Route] = &[
    r("GET", "/healthz", P::Public),
    r("POST", "/api/v1/auth/login", P::Public),
    r("POST", "/api/v1/auth/logout", P::Session),
    r("GET", "/api/v1/auth/me", P::Session),
    r("POST", "/api/v1/auth/password", P::Session),
    r("GET", "/api/v1/openapi.json", P::Session),
    r("GET", "/api/v1/map", P::MapRead),
    r("GET", "/api/v1/catalog", P::MapRead),
    r("GET", "/api/v1/areas", P::MapRead),
    r("POST", "/api/v1/areas/summary", P::MapRead),
    r("GET", "/ws", P::MapRead),
    r("GET", "/api/v1/devices", P::DevicesRead),
    r("GET", "/api/v1/devices/{device}", P::DevicesRead),
    r("PATCH", "/api/v1/devices/{device}", P::DevicesWrite),
    r("GET", "/api/v1/devices/{device}/readings", P::DevicesRead),
    r("GET", "/api/v1/alerts", P::AlertsRead),
    r("GET", "/api/v1/alerts/{id}", P::AlertsRead),
    r("GET", "/api/v1/rules", P::RulesRead),
    r("GET", "/api/v1/dead-letters", P::SystemRead),
    r("GET", "/metrics", P::SystemRead),
    r("GET", "/api/v1/agencies", P::AgenciesRead),
    r("POST", "/api/v1/agencies", P::AgenciesManage),
    r("GET", "/api/v1/agencies/{id}", P::AgenciesRead),
    r("PATCH", "/api/v1/agencies/{id}", P::AgenciesManage),
    r("GET", "/api/v1/users", P::UsersManage),
    r("POST", "/api/v1/users", P::UsersManage),
    r("GET", "/api/v1/users/{username}", P::UsersManage),
    r("PATCH", "/api/v1/users/{username}", P::UsersManage),
    r("POST", "/api/v1/users/{username}/lock", P::UsersManage),
    r("POST", "/api/v1/users/{username}/unlock", P::UsersManage),
    r("POST", "/api/v1/users/{username}/revoke", P::UsersManage),
    r(
        "POST",
        "/api/v1/users/{username}/reset-password",
        P::UsersManage,
    ),
];

/// What an account whose password must be changed may still do.
const WHILE_MUST_CHANGE: &[&str] = &[
    "/api/v1/auth/me",
    "/api/v1/auth/password",
    "/api/v1/auth/logout",
];

pub fn route(method: &Method, path: &str) -> Option<&'static Route> {
    ROUTES
        .iter()
        .find(|r| r.path == path && r.method == method.as_str())
}

/// An authenticated caller, as the guard found them.
#[derive(Debug, Clone)]
pub struct Caller {
    pub username: String,
    pub role: Role,
    pub agency: Option<String>,
    pub scope: Arc<Scope>,
    pub must_change_password: bool,
    /// Epoch ms when the session ends.
    pub expires_at: i64,
}

/// The token of a request: `Authorization: Bearer …`, else the session cookie.
pub fn token_from(headers: &HeaderMap) -> Option<&str> {
    use axum::http::header::{AUTHORIZATION, COOKIE};
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
        .find_map(|c| {
            c.trim()
                .strip_prefix(super::auth::COOKIE_NAME)?
                .strip_prefix('=')
        })
}

/// Finds the live session and account of the request's token.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let token = token_from(headers).ok_or_else(|| {
        ApiError::unauthorized(
            "authentication required: send Authorization: Bearer TOKEN or log in",
        )
    })?;
    let expired = || ApiError::unauthorized("session expired or invalid; log in again");
    let session = state
        .store
        .session(&accounts::token_hash(token), now_ms())
        .await?
        .ok_or_else(expired)?;
    let user = state
        .store
        .user(&session.username)
        .await?
        .ok_or_else(expired)?;
    let scope = state.accounts.scope_of(&user).await?;
    Ok(Caller {
        username: user.username,
        role: user.role,
        agency: user.agency,
        scope: Arc::new(scope),
        must_change_password: user.must_change_password,
        expires_at: session.expires_at_ms,
    })
}

/// The layer over every route: see the module doc.
pub async fn guard(
    State(state): State<AppState>,
    matched: Option<MatchedPath>,
    mut req: Request,
    next: Next,
) -> Response {
    let Some(path) = matched.as_ref().map(MatchedPath::as_str) else {
        return next.run(req).await; // the fallback: static files and 404s
    };
    let Some(route) = route(req.method(), path) else {
        return ApiError::forbidden(format!(
            "{} {path} has no access rule; refused to everyone",
            req.method()
        ))
        .into_response();
    };
    if route.permission == P::Public || (path == "/metrics" && state.metrics_public) {
        return next.run(req).await;
    }
    let caller = match authenticate(&state, req.headers()).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    if caller.must_change_password && !WHILE_MUST_CHANGE.contains(&path) {
        return ApiError {
            code: "password_change_required",
            ..ApiError::forbidden("the password must be changed first: POST /api/v1/auth/password")
        }
        .into_response();
    }
    if !caller.role.may(route.permission) {
        return ApiError::forbidden(format!(
            "the role {} may not do this ({:?} is needed)",
            caller.role.as_str(),
            route.permission
        ))
        .into_response();
    }
    req.extensions_mut().insert(caller);
    next.run(req).await
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::unauthorized("authentication required"))
    }
}
