//! The API's error type: a status and a JSON body that names the field at fault; and [`Param`],
//! the path extractor whose refusals are that body too.

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
        let field = field_at_fault(&message);
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_body",
            message,
            field,
        }
    }

    /// A JSON body read from raw bytes (where a handler takes the body as it came: an empty one
    /// allowed, or a larger limit), refused with the same message as axum's `Json`, so the field
    /// at fault is named the same way.
    pub fn json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, Self> {
        serde_json::from_slice(bytes).map_err(|e| {
            Self::bad_body(format!(
                "Failed to deserialize the JSON body into the target type: {e}"
            ))
        })
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

/// The field a body rejection of axum is about, as a path (`webhook.url`, `contacts[0].name`):
/// the path serde_path_to_error puts before the error (`role: unknown variant …`), and below it
/// the field serde names in "missing field `x`" / "unknown field `x`". None when the body as a
/// whole is at fault (not JSON, no JSON content type).
fn field_at_fault(message: &str) -> Option<String> {
    // "Failed to deserialize the JSON body into the target type: [path: ]error"
    let (_, rest) = message.split_once(": ")?;
    let (path, error) = match rest.split_once(": ") {
        Some((path, error)) if !path.contains(' ') => (Some(path), error),
        _ => (None, rest),
    };
    let named = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|prefix| error.strip_prefix(prefix)?.split('`').next());
    match (path, named) {
        (Some(path), Some(name)) => Some(format!("{path}.{name}")),
        (Some(path), None) => Some(path.to_owned()),
        (None, name) => name.map(str::to_owned),
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

/// A path parameter, as [`axum::extract::Path`], refused (a segment that is not UTF-8 once
/// percent-decoded, one that does not parse) with the JSON body naming it, not axum's plain
/// text.
pub struct Param<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for Param<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        use axum::extract::path::{ErrorKind, Path};
        use axum::extract::rejection::PathRejection;
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(Self(value)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                let message = e.body_text();
                Err(match e.into_kind() {
                    ErrorKind::InvalidUtf8InPathParam { key }
                    | ErrorKind::ParseErrorAtKey { key, .. } => ApiError::bad_field(&key, message),
                    _ => ApiError::bad_field("path", message),
                })
            }
            Err(e) => Err(ApiError::bad_field("path", e.body_text())),
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

#[cfg(test)]
mod tests {
    use super::field_at_fault;

    /// scripts/fuzz-api showed `"field": "Content-Type: application/json"` for a body sent
    /// without the JSON content type, and a bad enum value named the value, not the field.
    #[test]
    fn a_body_rejection_names_the_field_or_none() {
        let data = "Failed to deserialize the JSON body into the target type";
        for (message, field) in [
            (
                format!("{data}: missing field `username` at line 1 column 2"),
                Some("username"),
            ),
            (
                format!("{data}: unknown field `aera`, expected one of `area`"),
                Some("aera"),
            ),
            (
                format!("{data}: role: unknown variant `root`, expected one of `admin`"),
                Some("role"),
            ),
            (
                format!("{data}: webhook: missing field `url`"),
                Some("webhook.url"),
            ),
            (
                format!("{data}: contacts[0].name: invalid type: integer `5`, expected a string"),
                Some("contacts[0].name"),
            ),
            (
                "Expected request with `Content-Type: application/json`".to_owned(),
                None,
            ),
            (
                "Failed to parse the request body as JSON: expected value at line 1 column 1"
                    .to_owned(),
                None,
            ),
        ] {
            assert_eq!(field_at_fault(&message).as_deref(), field, "{message}");
        }
    }
}
