//! Access control and its audit, in one place: [`ROUTES`] names the [`Permission`] of every
//! endpoint and the audit action of every one that changes something, and [`guard`] (a layer over
//! every route) authenticates the caller, refuses what their role does not hold (403) and
//! everything but the password change while their password must be changed, hands the handler a
//! [`Caller`] with the account's [`Scope`], and records the audited requests and every refusal in
//! the audit trail, with the client's address and the result. A route missing from the table is
//! refused to everyone, so a new endpoint cannot ship open by mistake; a handler adds what only it
//! knows (the login's username, an export's range) as an [`AuditNote`] on its response.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{ApiError, AppState, browser};
use crate::accounts::{Permission, Role, Scope};
use crate::audit::AuditEvent;
use crate::timefmt::now_ms;

/// One endpoint and what it needs.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    /// As axum matches it: `/api/v1/devices/{device}`.
    pub path: &'static str,
    pub permission: Permission,
    /// The audit action of every request to it (`None`: recorded only when its handler notes one).
    pub audit: Option<&'static str>,
}

const fn r(method: &'static str, path: &'static str, permission: Permission) -> Route {
    Route {
        method,
        path,
        permission,
        audit: None,
    }
}

/// A route whose every request is recorded as `action`.
const fn audited(
    method: &'static str,
    path: &'static str,
    permission: Permission,
    action: &'static str,
) -> Route {
    Route {
        method,
        path,
        permission,
        audit: Some(action),
    }
}

use Permission as P;

/// Every endpoint of the hub.
pub const ROUTES: &[Route] = &[
    r("GET", "/healthz", P::Public),
    r("POST", "/api/v1/auth/login", P::Public),
    audited("POST", "/api/v1/auth/logout", P::Session, "auth.logout"),
    r("GET", "/api/v1/auth/me", P::Session),
    audited(
        "POST",
        "/api/v1/auth/password",
        P::Session,
        "auth.password_change",
    ),
    audited("POST", "/api/v1/auth/totp", P::Session, "auth.totp_enrol"),
    audited(
        "POST",
        "/api/v1/auth/totp/confirm",
        P::Session,
        "auth.totp_confirm",
    ),
    audited(
        "DELETE",
        "/api/v1/auth/totp",
        P::Session,
        "auth.totp_disable",
    ),
    r("GET", "/api/v1/openapi.json", P::Session),
    r("GET", "/api/v1/map", P::MapRead),
    r("GET", "/api/v1/catalog", P::MapRead),
    r("GET", "/api/v1/areas", P::MapRead),
    r("POST", "/api/v1/areas/summary", P::MapRead),
    r("GET", "/ws", P::MapRead),
    r("GET", "/ws/video/{camera}", P::MapRead),
    r("GET", "/api/v1/devices", P::DevicesRead),
    r("GET", "/api/v1/devices/{device}", P::DevicesRead),
    audited(
        "PATCH",
        "/api/v1/devices/{device}",
        P::DevicesWrite,
        "device.update",
    ),
    r("GET", "/api/v1/devices/{device}/readings", P::DevicesRead),
    audited(
        "POST",
        "/api/v1/devices/{device}/credentials",
        P::DevicesWrite,
        "device.credentials_issue",
    ),
    audited(
        "DELETE",
        "/api/v1/devices/{device}/credentials",
        P::DevicesWrite,
        "device.credentials_revoke",
    ),
    r("GET", "/api/v1/alerts", P::AlertsRead),
    r("GET", "/api/v1/alerts/{id}", P::AlertsRead),
    r("GET", "/api/v1/alerts/{id}/timeline", P::AlertsRead),
    r("GET", "/api/v1/deliveries", P::AlertsRead),
    r(
        "GET",
        "/api/v1/alerts/{id}/attachments/{sha256}",
        P::AlertsRead,
    ),
    audited(
        "POST",
        "/api/v1/incidents",
        P::IncidentsReport,
        "incident.report",
    ),
    audited(
        "POST",
        "/api/v1/alerts/{id}/acknowledge",
        P::AlertsAct,
        "alert.acknowledge",
    ),
    audited(
        "POST",
        "/api/v1/alerts/{id}/dispatch",
        P::AlertsAct,
        "alert.dispatch",
    ),
    audited(
        "POST",
        "/api/v1/alerts/{id}/start",
        P::AlertsAct,
        "alert.start",
    ),
    audited(
        "POST",
        "/api/v1/alerts/{id}/resolve",
        P::AlertsAct,
        "alert.resolve",
    ),
    audited(
        "POST",
        "/api/v1/alerts/{id}/close",
        P::AlertsAct,
        "alert.close",
    ),
    audited(
        "POST",
        "/api/v1/alerts/{id}/reopen",
        P::AlertsAct,
        "alert.reopen",
    ),
    audited(
        "POST",
        "/api/v1/alerts/{id}/comment",
        P::AlertsAct,
        "alert.comment",
    ),
    audited(
        "POST",
        "/api/v1/alerts/{id}/assign",
        P::AlertsAct,
        "alert.assign",
    ),
    r("GET", "/api/v1/rules", P::RulesRead),
    audited("PUT", "/api/v1/rules", P::RulesManage, "rules.update"),
    r("POST", "/api/v1/rules/validate", P::RulesManage),
    r("GET", "/api/v1/rules/file", P::RulesManage),
    audited(
        "POST",
        "/api/v1/rules/backtest",
        P::RulesManage,
        "rules.backtest",
    ),
    r("GET", "/api/v1/jobs/{id}", P::RulesManage),
    r("GET", "/api/v1/dead-letters", P::SystemRead),
    r("GET", "/metrics", P::SystemRead),
    r("GET", "/api/v1/reports/handling", P::Reports),
    r("GET", "/api/v1/reports/data-supply", P::Reports),
    r("GET", "/api/v1/reports/issued", P::Reports),
    audited("POST", "/api/v1/reports/issued", P::Reports, "report.issue"),
    r("GET", "/api/v1/reports/issued/{id}", P::Reports),
    r("GET", "/api/v1/cameras", P::DevicesRead),
    audited("POST", "/api/v1/cameras", P::CamerasManage, "camera.create"),
    r("GET", "/api/v1/cameras/{camera}", P::DevicesRead),
    r("GET", "/api/v1/cameras/{camera}/snapshot.jpg", P::MapRead),
    audited(
        "PATCH",
        "/api/v1/cameras/{camera}",
        P::CamerasManage,
        "camera.update",
    ),
    audited(
        "DELETE",
        "/api/v1/cameras/{camera}",
        P::CamerasManage,
        "camera.delete",
    ),
    r("GET", "/api/v1/wall/layouts", P::MapRead),
    r("GET", "/api/v1/wall/layouts/{name}", P::MapRead),
    audited(
        "PUT",
        "/api/v1/wall/layouts/{name}",
        P::WallArrange,
        "wall_layout.save",
    ),
    audited(
        "DELETE",
        "/api/v1/wall/layouts/{name}",
        P::WallArrange,
        "wall_layout.delete",
    ),
    r("GET", "/api/v1/systems", P::DevicesRead),
    audited("POST", "/api/v1/systems", P::SystemsManage, "system.create"),
    r("GET", "/api/v1/systems/{id}", P::DevicesRead),
    audited(
        "PATCH",
        "/api/v1/systems/{id}",
        P::SystemsManage,
        "system.update",
    ),
    r("GET", "/api/v1/agencies", P::AgenciesRead),
    audited(
        "POST",
        "/api/v1/agencies",
        P::AgenciesManage,
        "agency.create",
    ),
    r("GET", "/api/v1/agencies/{id}", P::AgenciesRead),
    audited(
        "PATCH",
        "/api/v1/agencies/{id}",
        P::AgenciesManage,
        "agency.update",
    ),
    r("GET", "/api/v1/users", P::UsersManage),
    audited("POST", "/api/v1/users", P::UsersManage, "user.create"),
    r("GET", "/api/v1/users/{username}", P::UsersManage),
    audited(
        "PATCH",
        "/api/v1/users/{username}",
        P::UsersManage,
        "user.update",
    ),
    audited(
        "POST",
        "/api/v1/users/{username}/lock",
        P::UsersManage,
        "user.lock",
    ),
    audited(
        "POST",
        "/api/v1/users/{username}/unlock",
        P::UsersManage,
        "user.unlock",
    ),
    audited(
        "POST",
        "/api/v1/users/{username}/revoke",
        P::UsersManage,
        "user.revoke",
    ),
    audited(
        "POST",
        "/api/v1/users/{username}/reset-password",
        P::UsersManage,
        "user.reset_password",
    ),
    audited(
        "POST",
        "/api/v1/users/{username}/reset-totp",
        P::UsersManage,
        "user.reset_totp",
    ),
    r("GET", "/api/v1/audit", P::AuditRead),
    r("GET", "/api/v1/tokens", P::TokensManage),
    audited("POST", "/api/v1/tokens", P::TokensManage, "token.create"),
    audited(
        "DELETE",
        "/api/v1/tokens/{id}",
        P::TokensManage,
        "token.revoke",
    ),
];

/// What an account whose password must be changed may still do.
const WHILE_MUST_CHANGE: &[&str] = &[
    "/api/v1/auth/me",
    "/api/v1/auth/password",
    "/api/v1/auth/logout",
];

/// What an account that must enrol a second factor may still do.
const WHILE_MUST_ENROL: &[&str] = &[
    "/api/v1/auth/me",
    "/api/v1/auth/password",
    "/api/v1/auth/logout",
    "/api/v1/auth/totp",
    "/api/v1/auth/totp/confirm",
];

pub fn route(method: &Method, path: &str) -> Option<&'static Route> {
    ROUTES
        .iter()
        .find(|r| r.path == path && r.method == method.as_str())
}

/// The guard's own answers, added to every operation of the OpenAPI document that lacks them
/// (the handlers' annotations describe only what the handler answers): 401 without a live
/// session and 403 for a refusal (role, token, a pending password change or second-factor
/// enrolment, a change with the cookie from another site), on every route that needs a session;
/// 429 (too many attempts from one address) on the login.
pub fn document(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let refusal = |description: &str| {
        let content = ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ErrorBody")))
            .build();
        ResponseBuilder::new()
            .description(description)
            .content("application/json", content)
            .build()
    };
    for (path, item) in doc.paths.paths.iter_mut() {
        let operations = [
            ("GET", &mut item.get),
            ("POST", &mut item.post),
            ("PUT", &mut item.put),
            ("PATCH", &mut item.patch),
            ("DELETE", &mut item.delete),
        ];
        for (method, op) in operations {
            let (Some(op), Some(route)) = (
                op.as_mut(),
                ROUTES.iter().find(|r| r.method == method && r.path == path),
            ) else {
                continue;
            };
            let mut answers = Vec::new();
            if route.permission != P::Public {
                answers.push(("401", "no live session: none sent, or it ended or expired"));
                answers.push((
                    "403",
                    "refused: the role or token lacks the permission, the password must be changed or a second factor enrolled first, or a change with the cookie came from another site",
                ));
            }
            if path == "/api/v1/auth/login" {
                answers.push((
                    "429",
                    "too many login attempts from this address (Retry-After)",
                ));
            }
            for (status, description) in answers {
                op.responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| refusal(description).into());
            }
        }
    }
}

/// An authenticated caller, as the guard found them.
#[derive(Debug, Clone)]
pub struct Caller {
    pub username: String,
    pub role: Role,
    pub agency: Option<String>,
    pub scope: Arc<Scope>,
    pub must_change_password: bool,
    /// `require_totp` and no second factor yet (a login session, not a token).
    pub must_enrol_totp: bool,
    /// Epoch ms when the session ends.
    pub expires_at: i64,
    /// Cancelled when the session is ended (logout, lock, revoke, reset, a change of powers).
    pub ended: tokio_util::sync::CancellationToken,
    /// An API token's narrower permissions; `None` = the role's.
    pub permissions: Option<Arc<[Permission]>>,
}

impl Caller {
    /// The role holds `p`, and so does the token when the caller is one.
    pub fn may(&self, p: Permission) -> bool {
        self.role.may(p) && self.permissions.as_ref().is_none_or(|ps| ps.contains(&p))
    }
}

/// The bearer token of `Authorization: Bearer …`, if the request has one.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    v.strip_prefix("Bearer ").map(str::trim)
}

/// The token of a request: `Authorization: Bearer …`, else the session cookie.
pub fn token_from(headers: &HeaderMap) -> Option<&str> {
    use axum::http::header::COOKIE;
    if let Some(t) = bearer(headers) {
        return Some(t);
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

/// The request header with which the web app marks its own background refreshes: they do not
/// count as the person's activity for the idle timeout.
pub const BACKGROUND: &str = "x-iochub-background";

/// Finds the live session and account of the request's token.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let token = token_from(headers).ok_or_else(|| {
        ApiError::unauthorized(
            "authentication required: send Authorization: Bearer TOKEN or log in",
        )
    })?;
    let activity = !headers.contains_key(BACKGROUND);
    let live = state
        .accounts
        .authenticate(token, now_ms(), activity)
        .await?;
    Ok(Caller {
        username: live.user.username.clone(),
        role: live.user.role,
        agency: live.user.agency.clone(),
        scope: live.scope,
        // A token does not use the password, so a pending change does not hold it up.
        must_change_password: live.user.must_change_password && live.token_id.is_none(),
        must_enrol_totp: state.accounts.must_enrol_totp(&live.user) && live.token_id.is_none(),
        expires_at: live.session.expires_at_ms,
        ended: live.ended.child_token(),
        permissions: live.permissions,
    })
}

/// What a handler adds to the audit record of its request (on its response's extensions).
#[derive(Debug, Clone, Default)]
pub struct AuditNote {
    /// Who acted, when the guard cannot know (the login).
    pub actor: Option<String>,
    /// The action, when the route has none or the handler knows better (`auth.login_failed`).
    pub action: Option<&'static str>,
    /// What it was done to, when the path does not say (a created account).
    pub target: Option<String>,
    pub detail: String,
}

/// `resp` with `note` for the guard to record.
pub fn noted(resp: impl IntoResponse, note: AuditNote) -> Response {
    let mut resp = resp.into_response();
    resp.extensions_mut().insert(note);
    resp
}

/// The client's address: the connection's peer, or the client behind it when the peer is a
/// trusted proxy (see [`super::proxy`]).
fn client_of(req: &Request, trusted: &[ipnet::IpNet]) -> Option<IpAddr> {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>()?.0.ip();
    Some(super::proxy::client_ip(peer, req.headers(), trusted))
}

/// The value in `path` at the place of the route's last `{param}`: the record's target.
fn target_of(pattern: &str, path: &str) -> String {
    let segments: Vec<&str> = pattern.split('/').collect();
    let at = segments.iter().rposition(|s| s.starts_with('{'));
    at.and_then(|i| path.split('/').nth(i))
        .unwrap_or(path)
        .to_owned()
}

fn result_of(status: StatusCode) -> String {
    if status.is_success() {
        "ok".into()
    } else if status.is_client_error() {
        format!("refused:{}", status.as_u16())
    } else {
        format!("failed:{}", status.as_u16())
    }
}

/// The layer over every route: see the module doc.
pub async fn guard(
    State(state): State<AppState>,
    matched: Option<MatchedPath>,
    mut req: Request,
    next: Next,
) -> Response {
    let Some(pattern) = matched.as_ref().map(MatchedPath::as_str) else {
        return next.run(req).await; // the fallback: static files and 404s
    };
    let client = client_of(&req, &state.trusted_proxies);
    let (method, path, address) = (
        req.method().clone(),
        req.uri().path().to_owned(),
        client.map_or_else(|| "-".into(), |ip| ip.to_string()),
    );
    let record = |actor: String, action: &str, target: String, result: String, detail: String| {
        let audit = state.audit.clone();
        let event = AuditEvent {
            ts_ms: now_ms(),
            actor,
            address: address.clone(),
            action: action.to_owned(),
            target,
            result,
            detail,
        };
        async move { audit.record(event).await }
    };
    let Some(route) = route(&method, pattern) else {
        return ApiError::forbidden(format!(
            "{method} {pattern} has no access rule; refused to everyone"
        ))
        .into_response();
    };
    let caller = if route.permission == P::Public || (pattern == "/metrics" && state.metrics_public)
    {
        None
    } else {
        match authenticate(&state, req.headers()).await {
            Ok(c) => Some(c),
            Err(e) => return e.into_response(),
        }
    };
    let origin = browser::origin_allowed(req.headers(), &state.allowed_origins);
    if pattern == "/api/v1/auth/login" {
        if origin == Some(false) {
            return ApiError::forbidden("a login from another site's page is refused")
                .into_response();
        }
        if let Some(refused) = client.and_then(|ip| state.login_throttle.check(ip).err()) {
            let secs = refused.wait.as_secs().max(1);
            crate::metrics::login_limited();
            if refused.first {
                record(
                    "-".into(),
                    "auth.login_limited",
                    "session".into(),
                    "refused:429".into(),
                    format!(
                        "too many login attempts from this address; retry in {secs} s \
                         (further refusals this minute are counted, not recorded)"
                    ),
                )
                .await;
            }
            let mut resp = ApiError {
                status: StatusCode::TOO_MANY_REQUESTS,
                code: "rate_limited",
                message: format!(
                    "too many login attempts from this address; try again in {secs} s"
                ),
                field: None,
            }
            .into_response();
            resp.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
            return resp;
        }
    }
    if let Some(c) = &caller {
        let by_cookie = bearer(req.headers()).is_none();
        let sockets = pattern == "/ws" || pattern.starts_with("/ws/");
        let refusal = if sockets && origin == Some(false) {
            Some(ApiError {
                code: "origin",
                ..ApiError::forbidden("this page's origin may not open the live feed")
            })
        } else if by_cookie && browser::changes(&method) && origin != Some(true) {
            Some(ApiError {
                code: "csrf",
                ..ApiError::forbidden(
                    "a change with the session cookie must come from the hub's own pages",
                )
            })
        } else if c.must_change_password && !WHILE_MUST_CHANGE.contains(&pattern) {
            Some(ApiError {
                code: "password_change_required",
                ..ApiError::forbidden(
                    "the password must be changed first: POST /api/v1/auth/password",
                )
            })
        } else if c.must_enrol_totp && !WHILE_MUST_ENROL.contains(&pattern) {
            Some(ApiError {
                code: "totp_enrollment_required",
                ..ApiError::forbidden(
                    "this role needs a second factor first: POST /api/v1/auth/totp, then /confirm",
                )
            })
        } else if !c.may(route.permission) {
            Some(ApiError::forbidden(format!(
                "the role {} (or this token) may not do this ({:?} is needed)",
                c.role.as_str(),
                route.permission
            )))
        } else {
            None
        };
        if let Some(refusal) = refusal {
            let detail = refusal.message.clone();
            record(
                c.username.clone(),
                "access.denied",
                format!("{method} {path}"),
                "refused:403".into(),
                detail,
            )
            .await;
            return refusal.into_response();
        }
        req.extensions_mut().insert(c.clone());
    }
    let resp = next.run(req).await;
    let note = resp.extensions().get::<AuditNote>().cloned();
    if let Some(action) = note.as_ref().and_then(|n| n.action).or(route.audit) {
        let note = note.unwrap_or_default();
        let actor = note
            .actor
            .or_else(|| caller.as_ref().map(|c| c.username.clone()))
            .unwrap_or_else(|| "-".into());
        let target = note.target.unwrap_or_else(|| target_of(pattern, &path));
        record(actor, action, target, result_of(resp.status()), note.detail).await;
    }
    resp
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
