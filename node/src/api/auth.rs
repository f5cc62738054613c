//! Bearer-token authentication for operator requests.
//!
//! Tokens arrive in `Authorization: Bearer <token>`; only their SHA-256
//! is stored (replicated), comparisons are constant-time, and no token is
//! ever logged.

use axum::http::HeaderMap;

use super::{ApiError, AppState};
use crate::cluster::{secrets, state};

/// The bearer token of a request, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?;
    let token = token.trim();
    (!token.is_empty()).then_some(token)
}

/// Refuse unless the request carries the operator token.
pub fn require_operator(s: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(token) = bearer(headers) else {
        return Err(ApiError::unauthorized(
            "this needs the operator token in `Authorization: Bearer <token>`",
        ));
    };
    let view = s.consensus.view();
    match state::operator_hash(&view) {
        Some(hash) if secrets::token_matches(token, &hash) => Ok(()),
        Some(_) => Err(ApiError::forbidden("the operator token is wrong")),
        None => Err(ApiError::unavailable(
            "not_ready",
            "this node has not seen the operator token yet",
        )),
    }
}
