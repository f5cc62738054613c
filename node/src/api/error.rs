//! Errors as clear replies: every error has a stable code, a message a
//! person understands, and the HTTP status that fits its meaning.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

/// An error reply. `code` is stable (clients switch on it); `message` is
/// for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// More fields for the reply body next to `error` (a refused bid's
    /// `bid_result`), so a client needs one way to read every refusal.
    pub details: Option<(&'static str, serde_json::Value)>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
    #[serde(flatten)]
    details: Option<std::collections::BTreeMap<&'static str, &'a serde_json::Value>>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: None,
        }
    }
    /// The same error with one more top-level field in its body.
    pub fn with_details(mut self, key: &'static str, value: serde_json::Value) -> Self {
        self.details = Some((key, value));
        self
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }
    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            error: Inner {
                code: self.code,
                message: &self.message,
            },
            details: self
                .details
                .as_ref()
                .map(|(k, v)| std::collections::BTreeMap::from([(*k, v)])),
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<paddle_consensus::ProposeError> for ApiError {
    fn from(e: paddle_consensus::ProposeError) -> Self {
        use paddle_consensus::ProposeError as P;
        match e {
            P::NoLeader => ApiError::unavailable(
                "no_quorum",
                "no leader is reachable right now; nothing was changed",
            ),
            P::Unknown(m) => ApiError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "outcome_unknown",
                format!(
                    "the request may or may not have been applied ({m}); retry with the same id"
                ),
            ),
            P::Refused(m) => {
                ApiError::unavailable("refused", format!("the cluster refused the request: {m}"))
            }
        }
    }
}

impl From<paddle_consensus::ReadError> for ApiError {
    fn from(e: paddle_consensus::ReadError) -> Self {
        use paddle_consensus::ReadError as R;
        match e {
            R::NoLeader => ApiError::unavailable(
                "no_quorum",
                "no leader is reachable for a linearizable read",
            ),
            R::Timeout { .. } => {
                ApiError::new(StatusCode::GATEWAY_TIMEOUT, "not_caught_up", e.to_string())
            }
        }
    }
}
