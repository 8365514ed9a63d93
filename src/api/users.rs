//! Accounts, for admins: issue, list and search, edit, lock, unlock, revoke, reset the password.
//! A temporary password is the one given, or one generated and returned once.

use std::collections::HashMap;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::access::{AuditNote, Caller, noted};
use super::error::{ErrorBody, Param};
use super::{ApiError, AppState};
use crate::accounts::{AccountPatch, AccountState, NewAccount, Role, User};
use crate::timefmt::now_ms;

/// An account as the API shows it: never its password hash.
#[derive(Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub agency: Option<String>,
    pub areas: Vec<String>,
    pub contact: Option<String>,
    pub state: AccountState,
    /// `admin` or `inactive`, when locked.
    pub lock_reason: Option<String>,
    pub must_change_password: bool,
    pub failed_logins: u32,
    /// Logins are refused until then after repeated failures.
    #[serde(serialize_with = "crate::timefmt::ser_opt_ms")]
    #[schema(value_type = Option<String>)]
    pub locked_until: Option<i64>,
    #[serde(serialize_with = "crate::timefmt::ser_ms")]
    #[schema(value_type = String)]
    pub created_at: i64,
    #[serde(serialize_with = "crate::timefmt::ser_ms")]
    #[schema(value_type = String)]
    pub last_active_at: i64,
    #[serde(serialize_with = "crate::timefmt::ser_ms")]
    #[schema(value_type = String)]
    pub password_changed_at: i64,
    /// A confirmed second factor (TOTP) is asked for at every login.
    pub totp_enabled: bool,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            totp_enabled: u.second_factor.as_ref().is_some_and(|f| f.confirmed),
            username: u.username,
            display_name: u.display_name,
            role: u.role,
            agency: u.agency,
            areas: u.areas,
            contact: u.contact,
            state: u.state,
            lock_reason: u.lock_reason,
            must_change_password: u.must_change_password,
            failed_logins: u.failed_logins,
            locked_until: u.locked_until_ms,
            created_at: u.created_at_ms,
            last_active_at: u.last_active_ms,
            password_changed_at: u.password_changed_ms,
        }
    }
}

/// An account just issued or reset, with its temporary password when the hub generated it (shown
/// this once).
#[derive(Serialize, utoipa::ToSchema)]
pub struct IssuedUser {
    #[serde(flatten)]
    pub user: UserView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temporary_password: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub username: String,
    #[serde(default)]
    pub display_name: String,
    pub role: Role,
    pub agency: Option<String>,
    #[serde(default)]
    pub areas: Vec<String>,
    pub contact: Option<String>,
    /// The temporary password; absent = generated and returned once.
    pub password: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub agency: Option<Option<String>>,
    pub areas: Option<Vec<String>>,
    #[serde(default, deserialize_with = "super::present")]
    #[schema(value_type = Option<String>)]
    pub contact: Option<Option<String>>,
    /// `locked`, `active` (unlock) or `revoked`: the same as the action endpoints.
    pub state: Option<AccountState>,
}

#[derive(Deserialize, utoipa::ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ResetPassword {
    pub password: Option<String>,
}

fn body<T: Default>(b: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    match b {
        Ok(Json(v)) => Ok(v),
        Err(JsonRejection::MissingJsonContentType(_)) => Ok(T::default()),
        Err(e) => Err(ApiError::bad_body(e.body_text())),
    }
}

/// Accounts by username, revoked ones included; `q` searches username, name and contact.
#[utoipa::path(get, path = "/api/v1/users", tag = "accounts", security(("bearer" = [])),
    params(
        ("q" = Option<String>, Query, description = "text in username, display name or contact"),
        ("role" = Option<String>, Query, description = "only this role"),
        ("state" = Option<String>, Query, description = "active | locked | revoked"),
        ("agency" = Option<String>, Query, description = "only this agency"),
    ),
    responses((status = 200, body = [UserView]), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(
    _: Caller,
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Vec<UserView>>, ApiError> {
    let role = match q.get("role") {
        Some(r) => Some(Role::parse(r).ok_or_else(|| ApiError::bad_field("role", "unknown role"))?),
        None => None,
    };
    let wanted_state = match q.get("state") {
        Some(s) => Some(
            AccountState::parse(s)
                .ok_or_else(|| ApiError::bad_field("state", "active, locked or revoked"))?,
        ),
        None => None,
    };
    let text = q.get("q").map(|t| t.to_lowercase());
    let users = state.accounts.users().await?;
    Ok(Json(
        users
            .into_iter()
            .filter(|u| role.is_none_or(|r| u.role == r))
            .filter(|u| wanted_state.is_none_or(|s| u.state == s))
            .filter(|u| q.get("agency").is_none_or(|a| u.agency.as_ref() == Some(a)))
            .filter(|u| {
                text.as_ref().is_none_or(|t| {
                    [Some(&u.username), Some(&u.display_name), u.contact.as_ref()]
                        .into_iter()
                        .flatten()
                        .any(|f| f.to_lowercase().contains(t))
                })
            })
            .map(UserView::from)
            .collect(),
    ))
}

/// Issue an account. It must change its password at the first login.
#[utoipa::path(post, path = "/api/v1/users", tag = "accounts", security(("bearer" = [])),
    request_body = CreateUser,
    responses((status = 201, body = IssuedUser), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(
    caller: Caller,
    State(state): State<AppState>,
    body: Result<Json<CreateUser>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(req) = body.map_err(|e| ApiError::bad_body(e.body_text()))?;
    let new = NewAccount {
        username: req.username,
        display_name: req.display_name,
        role: req.role,
        agency: req.agency,
        areas: req.areas,
        contact: req.contact,
        password: req.password,
    };
    let (user, temporary_password) = state.accounts.issue(new, now_ms()).await?;
    tracing::info!(by = %caller.username, username = %user.username, role = user.role.as_str(), "account issued");
    let note = AuditNote {
        target: Some(user.username.clone()),
        detail: serde_json::json!({
            "role": user.role, "agency": user.agency, "areas": user.areas,
            "password": if temporary_password.is_some() { "generated" } else { "given" },
        })
        .to_string(),
        ..AuditNote::default()
    };
    let body = Json(IssuedUser {
        user: user.into(),
        temporary_password,
    });
    Ok(noted((StatusCode::CREATED, body), note))
}

/// One account.
#[utoipa::path(get, path = "/api/v1/users/{username}", tag = "accounts", security(("bearer" = [])),
    params(("username" = String, Path)),
    responses((status = 200, body = UserView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    _: Caller,
    State(state): State<AppState>,
    Param(username): Param<String>,
) -> Result<Json<UserView>, ApiError> {
    Ok(Json(state.accounts.user(&username).await?.into()))
}

/// Edit an account; a change of role, agency or areas ends its sessions.
#[utoipa::path(patch, path = "/api/v1/users/{username}", tag = "accounts", security(("bearer" = [])),
    params(("username" = String, Path)), request_body = UpdateUser,
    responses((status = 200, body = UserView), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn patch(
    caller: Caller,
    State(state): State<AppState>,
    Param(username): Param<String>,
    body: Result<Json<UpdateUser>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(req) = body.map_err(|e| ApiError::bad_body(e.body_text()))?;
    let detail = serde_json::json!({
        "display_name": req.display_name, "role": req.role, "agency": req.agency,
        "areas": req.areas, "contact": req.contact, "state": req.state,
    });
    let patch = AccountPatch {
        display_name: req.display_name,
        role: req.role,
        agency: req.agency,
        areas: req.areas,
        contact: req.contact,
    };
    let a = &state.accounts;
    let mut user = a
        .update(&caller.username, &username, patch, now_ms())
        .await?;
    if let Some(s) = req.state
        && s != user.state
    {
        user = match s {
            AccountState::Locked => a.lock(&caller.username, &username).await?,
            AccountState::Active => a.unlock(&username, now_ms()).await?,
            AccountState::Revoked => a.revoke(&caller.username, &username).await?,
        };
    }
    tracing::info!(by = %caller.username, username = %username, "account edited");
    let note = AuditNote {
        detail: without_nulls(detail),
        ..AuditNote::default()
    };
    Ok(noted(Json(UserView::from(user)), note))
}

/// The fields a PATCH gave, as JSON (absent ones left out).
fn without_nulls(v: serde_json::Value) -> String {
    match v {
        serde_json::Value::Object(m) => {
            let kept: serde_json::Map<_, _> = m.into_iter().filter(|(_, v)| !v.is_null()).collect();
            serde_json::Value::Object(kept).to_string()
        }
        other => other.to_string(),
    }
}

/// Lock an account: its sessions end at once.
#[utoipa::path(post, path = "/api/v1/users/{username}/lock", tag = "accounts", security(("bearer" = [])),
    params(("username" = String, Path)),
    responses((status = 200, body = UserView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn lock(
    caller: Caller,
    State(state): State<AppState>,
    Param(username): Param<String>,
) -> Result<Json<UserView>, ApiError> {
    let user = state.accounts.lock(&caller.username, &username).await?;
    tracing::info!(by = %caller.username, username = %username, "account locked");
    Ok(Json(user.into()))
}

/// Unlock an account (also lifts a lockout after failed logins).
#[utoipa::path(post, path = "/api/v1/users/{username}/unlock", tag = "accounts", security(("bearer" = [])),
    params(("username" = String, Path)),
    responses((status = 200, body = UserView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn unlock(
    caller: Caller,
    State(state): State<AppState>,
    Param(username): Param<String>,
) -> Result<Json<UserView>, ApiError> {
    let user = state.accounts.unlock(&username, now_ms()).await?;
    tracing::info!(by = %caller.username, username = %username, "account unlocked");
    Ok(Json(user.into()))
}

/// Clear an account's second factor (a lost phone, no recovery code left); its sessions end,
/// and where one is required (`require_totp`) it enrols again at its next login.
#[utoipa::path(post, path = "/api/v1/users/{username}/reset-totp", tag = "accounts", security(("bearer" = [])),
    params(("username" = String, Path)),
    responses((status = 200, body = UserView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn reset_totp(
    caller: Caller,
    State(state): State<AppState>,
    Param(username): Param<String>,
) -> Result<Json<UserView>, ApiError> {
    let user = state
        .accounts
        .reset_totp(&caller.username, &username)
        .await?;
    tracing::info!(by = %caller.username, username = %username, "second factor reset");
    Ok(Json(user.into()))
}

/// Revoke an account for good; it stays listed, and its username is never issued again.
#[utoipa::path(post, path = "/api/v1/users/{username}/revoke", tag = "accounts", security(("bearer" = [])),
    params(("username" = String, Path)),
    responses((status = 200, body = UserView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn revoke(
    caller: Caller,
    State(state): State<AppState>,
    Param(username): Param<String>,
) -> Result<Json<UserView>, ApiError> {
    let user = state.accounts.revoke(&caller.username, &username).await?;
    tracing::info!(by = %caller.username, username = %username, "account revoked");
    Ok(Json(user.into()))
}

/// Give an account a temporary password, to be changed at its next login; its sessions end.
#[utoipa::path(post, path = "/api/v1/users/{username}/reset-password", tag = "accounts",
    security(("bearer" = [])), params(("username" = String, Path)), request_body = Option<ResetPassword>,
    responses((status = 200, body = IssuedUser), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn reset_password(
    caller: Caller,
    State(state): State<AppState>,
    Param(username): Param<String>,
    req: Result<Json<ResetPassword>, JsonRejection>,
) -> Result<Json<IssuedUser>, ApiError> {
    let req = body(req)?;
    let (user, temporary_password) = state
        .accounts
        .reset_password(&caller.username, &username, req.password, now_ms())
        .await?;
    tracing::info!(by = %caller.username, username = %username, "password reset");
    Ok(Json(IssuedUser {
        user: user.into(),
        temporary_password,
    }))
}
