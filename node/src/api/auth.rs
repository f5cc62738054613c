//! Bearer-token authentication and roles.
//!
//! Tokens arrive in `Authorization: Bearer <token>` (REST), or in the
//! WebSocket's first message or a `paddle_token` cookie (browsers cannot
//! set headers on a WebSocket). Only SHA-256 hashes are stored, replicated
//! with the state: the operator's and clerks' in the cluster tree, bidders'
//! in the auction state, so any node can check any token. The operator
//! token is compared in constant time; clerk and bidder tokens are looked
//! up by their hash (which reveals nothing about the token). No token is
//! ever logged.

use std::time::Duration;

use axum::http::HeaderMap;

pub use crate::api::caller::{
    bearer, cookie_token, resolve_in, Caller, OwnMax, SignedIn, WhoAmI, TOKEN_COOKIE,
};
use crate::api::error::ApiError;
use crate::api::state::AppState;
use crate::cluster::{registry, secrets};

/// Look a token up; when this node does not know it yet, look again at the
/// leader's read index (a bidder who registered through another node a few
/// milliseconds ago, whose registration this node has not applied yet).
pub async fn resolve(s: &AppState, token: &str) -> Option<Caller> {
    if let Some(c) = resolve_in(&s.consensus.view(), token) {
        return Some(c);
    }
    match s.consensus.linearizable_view(Duration::from_secs(2)).await {
        Ok(view) => resolve_in(&view, token),
        Err(_) => None,
    }
}

/// The caller of a REST request: `None` without a token, 401 for a token
/// nobody issued.
pub async fn caller(s: &AppState, headers: &HeaderMap) -> Result<Option<Caller>, ApiError> {
    let Some(token) = bearer(headers) else {
        return Ok(None);
    };
    match resolve(s, token).await {
        Some(c) => Ok(Some(c)),
        None => Err(ApiError::unauthorized(
            "the token is not recognised (revoked, mistyped, or from another cluster)",
        )),
    }
}

/// Any known token.
pub async fn require_caller(s: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    caller(s, headers).await?.ok_or_else(|| {
        ApiError::unauthorized("this needs a token in `Authorization: Bearer <token>`")
    })
}

/// A clerk or the operator.
pub async fn require_staff(s: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let c = require_caller(s, headers).await?;
    if c.is_staff() {
        Ok(c)
    } else {
        Err(ApiError::forbidden(
            "this is for clerks and the operator; a bidder token may not do it",
        ))
    }
}

/// The operator (by the role resolver: a token nobody issued is 401).
pub async fn require_operator_role(s: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    match require_caller(s, headers).await? {
        Caller::Operator => Ok(()),
        other => Err(ApiError::forbidden(format!(
            "this is for the operator; a {} token may not do it",
            other.role()
        ))),
    }
}

/// A bidder.
pub async fn require_bidder(s: &AppState, headers: &HeaderMap) -> Result<SignedIn, ApiError> {
    match require_caller(s, headers).await? {
        Caller::Bidder(b) => Ok(b),
        other => Err(ApiError::forbidden(format!(
            "bids need a bidder token; a {} places floor bids instead",
            other.role()
        ))),
    }
}

/// Refuse unless the request carries the operator token. Used by the
/// cluster and diagnostic routes, which answer 403 to any other token.
pub fn require_operator(s: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(token) = bearer(headers) else {
        return Err(ApiError::unauthorized(
            "this needs the operator token in `Authorization: Bearer <token>`",
        ));
    };
    let view = s.consensus.view();
    match registry::operator_hash(&view) {
        Some(hash) if secrets::token_matches(token, &hash) => Ok(()),
        Some(_) => Err(ApiError::forbidden("the operator token is wrong")),
        None => Err(ApiError::unavailable(
            "not_ready",
            "this node has not seen the operator token yet",
        )),
    }
}
