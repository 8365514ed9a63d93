//! Logging in and out, who am I, and the account's own password change. The token that
//! `POST /api/v1/auth/login` returns works as `Authorization: Bearer TOKEN` and as the
//! `iochub_session` cookie; [`super::access`] checks it on every other request.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::access::{AuditNote, Caller, noted, token_from};
use super::{ApiError, AppState};
use crate::accounts::{AccountError, Permission, Role};
use crate::timefmt::now_ms;

pub const COOKIE_NAME: &str = "iochub_session";

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    /// The authenticator code (or a recovery code) of an account with a second factor; without
    /// it such a login answers 401 `totp_required`.
    pub totp: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    pub token: String,
    pub username: String,
    pub role: Role,
    /// The API refuses everything but `POST /api/v1/auth/password` until it is changed.
    pub must_change_password: bool,
    /// `require_totp`: the API refuses everything but enrolling a second factor until it is.
    pub must_enrol_totp: bool,
    #[serde(serialize_with = "crate::timefmt::ser_ms")]
    #[schema(value_type = String)]
    pub expires_at: i64,
}

/// Log in; returns a bearer token and sets the session cookie. A wrong username, a wrong
/// password and a lockout after repeated failures give the same 401.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 400, body = super::error::ErrorBody),
        (status = 401, body = super::error::ErrorBody),
        (status = 403, description = "locked or revoked account (the password was right), an integrator account, or a login from another site's page", body = super::error::ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    body: Result<Json<LoginRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(req) = body.map_err(|e| ApiError::bad_body(e.body_text()))?;
    let now = now_ms();
    // The username as tried, bounded: it goes into the log and the audit trail.
    let tried: String = req.username.chars().take(64).collect();
    let done = match state
        .accounts
        .login(&req.username, req.password, req.totp, now)
        .await
    {
        Ok(done) => done,
        Err(e) => {
            let reason = match &e {
                AccountError::LoginDenied(_) => "wrong username or password, or locked out",
                AccountError::Disabled("locked") => "account locked",
                AccountError::Disabled(_) => "account revoked",
                AccountError::TokensOnly => "integrator account",
                AccountError::SecondFactorRequired => "second factor not given",
                _ => "error",
            };
            if !matches!(e, AccountError::Store(_)) {
                tracing::warn!(username = %tried, reason, "login refused");
                crate::metrics::login(false);
            }
            let note = AuditNote {
                actor: Some(tried),
                action: Some("auth.login_failed"),
                target: Some("session".into()),
                detail: reason.into(),
            };
            return Ok(noted(ApiError::from(e), note));
        }
    };
    tracing::info!(username = %done.user.username, "login");
    crate::metrics::login(true);
    let cookie = format!(
        "{COOKIE_NAME}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
        done.token,
        (done.expires_at_ms - now) / 1000,
        if state.https { "; Secure" } else { "" }
    );
    let must_enrol_totp = state.accounts.must_enrol_totp(&done.user);
    let mut resp = Json(LoginResponse {
        token: done.token,
        username: done.user.username,
        role: done.user.role,
        must_change_password: done.user.must_change_password,
        must_enrol_totp,
        expires_at: done.expires_at_ms,
    })
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(SET_COOKIE, v);
    }
    let note = AuditNote {
        actor: Some(tried),
        action: Some("auth.login"),
        target: Some("session".into()),
        detail: String::new(),
    };
    Ok(noted(resp, note))
}

/// Log out: ends the session server-side and clears the cookie.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])), responses((status = 204)))]
pub async fn logout(
    _: Caller,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(token) = token_from(&headers) {
        state.accounts.logout(token).await?;
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut().insert(
        SET_COOKIE,
        HeaderValue::from_static("iochub_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    Ok(resp)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionInfo {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub agency: Option<String>,
    /// Area ids the account is narrowed to; empty = the whole province.
    pub areas: Vec<String>,
    pub must_change_password: bool,
    /// `require_totp` and no second factor yet: only its enrolment is allowed.
    pub must_enrol_totp: bool,
    /// A confirmed second factor is asked for at every login.
    pub totp_enabled: bool,
    /// What the role may do (the web app shows only these actions).
    pub permissions: Vec<Permission>,
    #[serde(serialize_with = "crate::timefmt::ser_ms")]
    #[schema(value_type = String)]
    pub expires_at: i64,
}

/// Who is logged in: 200 with the account, or 401 when there is none (the app checks this on
/// load to decide between the login page and the console).
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = SessionInfo), (status = 401, body = super::error::ErrorBody)))]
pub async fn me(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<SessionInfo>, ApiError> {
    let user = state.accounts.user(&caller.username).await?;
    let must_enrol_totp = state.accounts.must_enrol_totp(&user);
    let totp_enabled = user.second_factor.as_ref().is_some_and(|f| f.confirmed);
    Ok(Json(SessionInfo {
        username: user.username,
        display_name: user.display_name,
        role: user.role,
        agency: user.agency,
        areas: user.areas,
        must_change_password: user.must_change_password,
        must_enrol_totp,
        totp_enabled,
        permissions: user.role.permissions(),
        expires_at: caller.expires_at,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current: String,
    pub new: String,
}

/// Change one's own password (12 to 128 characters, not a common one); this session stays, the
/// account's other sessions end (one of them may be the reason for the change).
#[utoipa::path(post, path = "/api/v1/auth/password", tag = "auth", security(("bearer" = [])),
    request_body = PasswordChange,
    responses((status = 204), (status = 400, body = super::error::ErrorBody)))]
pub async fn password(
    caller: Caller,
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<PasswordChange>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let Json(req) = body.map_err(|e| ApiError::bad_body(e.body_text()))?;
    let this_session = token_from(&headers).map(crate::accounts::token_hash);
    state
        .accounts
        .change_password(
            &caller.username,
            req.current,
            req.new,
            this_session.as_deref(),
            now_ms(),
        )
        .await
        .map_err(|e| match e {
            AccountError::Password(p) => ApiError {
                code: p.code(),
                ..ApiError::bad_field("new", p.to_string())
            },
            e => e.into(),
        })?;
    tracing::info!(username = %caller.username, "password changed");
    Ok(StatusCode::NO_CONTENT)
}

/// A started enrolment: put the secret into an authenticator app (the URL as a QR code or a
/// link, or the secret typed in), then confirm with its first code.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TotpEnrolment {
    /// Base32, for typing into the app.
    pub secret: String,
    /// `otpauth://totp/iochub:{username}?secret=…`
    pub otpauth_url: String,
    /// The same URL as a QR code, an SVG document, for the app's camera (null only if the URL
    /// were too long for a QR code, which a username of at most 64 characters never makes it).
    pub qr_svg: Option<String>,
}

/// `text` as a QR code (medium error correction) in SVG, black on white with the quiet zone.
fn qr_svg(text: &str) -> Option<String> {
    use qrcode::render::svg;
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M).ok()?;
    Some(
        code.render::<svg::Color<'_>>()
            .min_dimensions(200, 200)
            .dark_color(svg::Color("#000000"))
            .light_color(svg::Color("#ffffff"))
            .build(),
    )
}

/// Start enrolling one's own second factor (TOTP, RFC 6238); not asked for at login until it is
/// confirmed. Refused (409) while one is enabled.
#[utoipa::path(post, path = "/api/v1/auth/totp", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = TotpEnrolment), (status = 409, body = super::error::ErrorBody)))]
pub async fn totp_enrol(
    caller: Caller,
    State(state): State<AppState>,
) -> Result<Json<TotpEnrolment>, ApiError> {
    let factor = state.accounts.enrol_totp(&caller.username).await?;
    let otpauth_url = factor.otpauth_url(&caller.username);
    Ok(Json(TotpEnrolment {
        qr_svg: qr_svg(&otpauth_url),
        otpauth_url,
        secret: factor.secret,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpCode {
    pub code: String,
}

/// The recovery codes, each good for one login without the app; shown only now.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RecoveryCodes {
    pub recovery_codes: Vec<String>,
}

/// Confirm the enrolment with the app's current code: from the next login on it is asked for.
#[utoipa::path(post, path = "/api/v1/auth/totp/confirm", tag = "auth", security(("bearer" = [])),
    request_body = TotpCode,
    responses((status = 200, body = RecoveryCodes), (status = 400, body = super::error::ErrorBody),
        (status = 409, body = super::error::ErrorBody)))]
pub async fn totp_confirm(
    caller: Caller,
    State(state): State<AppState>,
    body: Result<Json<TotpCode>, JsonRejection>,
) -> Result<Json<RecoveryCodes>, ApiError> {
    let Json(req) = body.map_err(|e| ApiError::bad_body(e.body_text()))?;
    let recovery_codes = state
        .accounts
        .confirm_totp(&caller.username, &req.code, now_ms())
        .await?;
    Ok(Json(RecoveryCodes { recovery_codes }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpDisable {
    /// One's own password.
    pub password: String,
}

/// Turn one's own second factor off (with the password); refused (409) where `require_totp`
/// requires it. The account's sessions end.
#[utoipa::path(delete, path = "/api/v1/auth/totp", tag = "auth", security(("bearer" = [])),
    request_body = TotpDisable,
    responses((status = 204), (status = 400, body = super::error::ErrorBody), (status = 409, body = super::error::ErrorBody)))]
pub async fn totp_disable(
    caller: Caller,
    State(state): State<AppState>,
    body: Result<Json<TotpDisable>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let Json(req) = body.map_err(|e| ApiError::bad_body(e.body_text()))?;
    state
        .accounts
        .disable_totp(&caller.username, req.password, now_ms())
        .await
        .map_err(|e| match e {
            AccountError::WrongPassword => ApiError::bad_field("password", e.to_string()),
            e => e.into(),
        })?;
    Ok(StatusCode::NO_CONTENT)
}
