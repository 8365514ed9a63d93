//! The API's error type: a status and a JSON body that names the field at fault.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::accounts::AccountError;
use crate::storage::StoreError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
}

/// `{"error": {"code": "...", "message": "...", "field": "..."}}`
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    pub fn bad_field(field: &str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_field",
            message: message.into(),
            field: Some(field.to_owned()),
        }
    }

    pub fn bad_body(message: impl Into<String>) -> Self {
        let message = message.into();
        // serde names the field in "missing field `x`" / "unknown field `x`"
        let field = message.split('`').nth(1).map(str::to_owned);
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_body",
            message,
            field,
        }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            message: what.into(),
            field: None,
        }
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            code: "unauthorized",
            message: message.into(),
            field: None,
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            code: "forbidden",
            message: message.into(),
            field: None,
        }
    }
}

impl ApiError {
    pub fn conflict(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::CONFLICT,
            code: "conflict",
            message: message.into(),
            field: None,
        }
    }
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        let message = e.to_string();
        match e {
            AccountError::Store(e) => e.into(),
            AccountError::Hash(_) => {
                tracing::error!(error = %message, "password hashing failed");
                Self {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    code: "internal",
                    message,
                    field: None,
                }
            }
            AccountError::Password(p) => Self {
                code: p.code(),
                ..Self::bad_field("password", message)
            },
            AccountError::Invalid { field, .. } => Self::bad_field(field, message),
            AccountError::NoUser(_) | AccountError::NoAgency(_) | AccountError::NoToken(_) => {
                Self::not_found(message)
            }
            AccountError::Conflict(_) => Self::conflict(message),
            AccountError::LoginDenied(_) | AccountError::SessionEnded => {
                Self::unauthorized(message)
            }
            AccountError::Disabled(_) | AccountError::TokensOnly => Self::forbidden(message),
            AccountError::WrongPassword => Self::bad_field("current", message),
            AccountError::SecondFactorRequired => Self {
                code: "totp_required",
                ..Self::unauthorized(message)
            },
            AccountError::WrongCode => Self::bad_field("code", message),
            AccountError::Busy => Self {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "busy",
                message,
                field: None,
            },
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "storage error in API");
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "storage_unavailable",
            message: "storage is unavailable; try again".into(),
            field: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
                field: self.field,
            },
        };
        (self.status, Json(body)).into_response()
    }
}
