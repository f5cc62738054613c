//! Who a request is: a bearer token from the header or the cookie, and the
//! caller it resolves to in one view of the state (the operator, a clerk,
//! or a bidder of one sale). Only hashes are stored and compared.

use axum::http::HeaderMap;
use paddle_consensus::KvView;
use paddle_proto::auction::BidderIdentity;
use serde::Serialize;

use crate::cluster::{registry, secrets};
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
    Bidder(SignedIn),
}

/// A bidder as their token resolved: who they are, and the tag of the
/// token (see `paddle_auction::token_tag`), which every bid they send
/// carries so the engine refuses it once the desk has replaced the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    pub who: BidderIdentity,
    pub token_tag: u64,
}

impl std::ops::Deref for SignedIn {
    type Target = BidderIdentity;
    fn deref(&self) -> &BidderIdentity {
        &self.who
    }
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
                Some(Caller::Bidder(b)) => Some(b.who.clone()),
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
    if let Some(hash) = registry::operator_hash(view) {
        if secrets::token_matches(token, &hash) {
            return Some(Caller::Operator);
        }
    }
    let hash = secrets::hash_token(token);
    if let Some(label) = registry::clerk_by_hash(view, &hash) {
        return Some(Caller::Clerk {
            id: hash[..registry::CLERK_ID_LEN].to_string(),
            label,
        });
    }
    let token_tag = paddle_auction::token_tag(&hash);
    read::bidder_by_token(view, &hash)
        .ok()
        .flatten()
        .map(|who| Caller::Bidder(SignedIn { who, token_tag }))
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
