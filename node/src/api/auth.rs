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
use paddle_consensus::KvView;
use paddle_proto::auction::BidderIdentity;
use serde::Serialize;

use super::{ApiError, AppState};
use crate::cluster::{secrets, state};
use paddle_auction::read;

/// Name of the cookie a browser may carry its token in.
pub const TOKEN_COOKIE: &str = "paddle_token";

/// Longest token looked at; anything longer is refused unread.
const MAX_TOKEN_LEN: usize = 256;

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

/// The token in the `paddle_token` cookie, if any.
pub fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == TOKEN_COOKIE)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Who a token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The cluster's operator: may do everything.
    Operator,
    /// A clerk: runs the rostrum and the registration desk.
    Clerk { id: String, label: String },
    /// A registered bidder of one sale.
    Bidder(BidderIdentity),
}

impl Caller {
    /// The role's name as the API shows it.
    pub fn role(&self) -> &'static str {
        match self {
            Caller::Operator => "operator",
            Caller::Clerk { .. } => "clerk",
            Caller::Bidder(_) => "bidder",
        }
    }

    /// Clerk or operator.
    pub fn is_staff(&self) -> bool {
        !matches!(self, Caller::Bidder(_))
    }
}

/// What `GET /api/v1/me` and the WebSocket `welcome` say about a caller.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WhoAmI {
    /// `operator`, `clerk`, `bidder` (or `anonymous` on a WebSocket).
    pub role: &'static str,
    /// The bidder's registration, for bidders.
    pub bidder: Option<BidderIdentity>,
    /// The clerk token's id, for clerks.
    pub clerk_id: Option<String>,
    /// The clerk token's label, for clerks.
    pub clerk_label: Option<String>,
    /// For a bidder (`GET /api/v1/me` only): their own standing maximum on
    /// each lot they bid on, so a page that reconnects can show it again.
    /// Nobody else ever sees it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maxes: Option<Vec<OwnMax>>,
}

/// A bidder's own standing maximum on one lot (minor units).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OwnMax {
    pub lot: u64,
    pub max: i64,
}

impl WhoAmI {
    /// Describe a caller (`None`: anonymous).
    pub fn of(caller: Option<&Caller>) -> WhoAmI {
        let (clerk_id, clerk_label) = match caller {
            Some(Caller::Clerk { id, label }) => (Some(id.clone()), Some(label.clone())),
            _ => (None, None),
        };
        WhoAmI {
            role: caller.map_or("anonymous", Caller::role),
            bidder: match caller {
                Some(Caller::Bidder(b)) => Some(b.clone()),
                _ => None,
            },
            clerk_id,
            clerk_label,
            maxes: None,
        }
    }
}

/// Look a token up in one view of the state.
pub fn resolve_in(view: &KvView, token: &str) -> Option<Caller> {
    if token.len() > MAX_TOKEN_LEN {
        return None;
    }
    if let Some(hash) = state::operator_hash(view) {
        if secrets::token_matches(token, &hash) {
            return Some(Caller::Operator);
        }
    }
    let hash = secrets::hash_token(token);
    if let Some(label) = state::clerk_by_hash(view, &hash) {
        return Some(Caller::Clerk {
            id: hash[..state::CLERK_ID_LEN].to_string(),
            label,
        });
    }
    read::bidder_by_token(view, &hash)
        .ok()
        .flatten()
        .map(Caller::Bidder)
}

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
pub async fn require_bidder(s: &AppState, headers: &HeaderMap) -> Result<BidderIdentity, ApiError> {
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
    match state::operator_hash(&view) {
        Some(hash) if secrets::token_matches(token, &hash) => Ok(()),
        Some(_) => Err(ApiError::forbidden("the operator token is wrong")),
        None => Err(ApiError::unavailable(
            "not_ready",
            "this node has not seen the operator token yet",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_come_from_the_header_or_the_cookie() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert("authorization", "Bearer abc ".parse().unwrap());
        assert_eq!(bearer(&h), Some("abc"));
        h.insert("cookie", "a=1; paddle_token=pdb_x; b=2".parse().unwrap());
        assert_eq!(cookie_token(&h).as_deref(), Some("pdb_x"));
        h.insert("cookie", "paddle_token=".parse().unwrap());
        assert_eq!(cookie_token(&h), None);
    }
}
