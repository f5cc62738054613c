//! How a read picks the state it answers from, and how it says which.
//!
//! Reads are served from this node's applied state. `consistency=
//! linearizable` asks the leader for a read index first; `min_index=N`
//! waits until this node has applied N (read-your-writes for a client that
//! carries the index of its last write or event, from any node). Every
//! answer names the index it reflects and whether this node is stale.

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue};
use paddle_consensus::{Consensus, KvView, Role};
use serde::{Deserialize, Serialize};

use super::{ApiError, AppState};

/// Longest a read waits for `min_index` or a read index.
pub const READ_WAIT: Duration = Duration::from_secs(10);

/// Header naming the applied index a reply reflects.
pub const APPLIED_INDEX_HEADER: HeaderName = HeaderName::from_static("paddle-applied-index");
/// Header saying whether this node has lost touch with the leader.
pub const STALE_HEADER: HeaderName = HeaderName::from_static("paddle-stale");

/// The consistency parameters every read takes.
#[derive(Debug, Default, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReadQuery {
    /// `local` (default): this node's applied state. `linearizable`: every
    /// write committed before the request is included.
    #[serde(default)]
    pub consistency: Option<String>,
    /// Wait (up to 10 s) until this node has applied at least this index.
    #[serde(default)]
    pub min_index: Option<u64>,
}

/// The view a read answers from.
pub async fn view_for(s: &AppState, q: &ReadQuery) -> Result<KvView, ApiError> {
    let view = match q.consistency.as_deref() {
        Some("linearizable") => s.consensus.linearizable_view(READ_WAIT).await?,
        None | Some("local") => s.consensus.view(),
        Some(other) => {
            return Err(ApiError::bad_request(
                "bad_consistency",
                format!("consistency must be `local` or `linearizable`, not `{other}`"),
            ))
        }
    };
    match q.min_index {
        Some(i) if i > view.applied_index() => Ok(s.consensus.wait_applied(i, READ_WAIT).await?),
        _ => Ok(view),
    }
}

/// Whether this node is in touch with a leader, as shown to clients.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Freshness {
    /// No leader known, or none heard from for longer than the threshold:
    /// reads are "as of `applied_index`", bids are refused.
    pub stale: bool,
    /// The index this node has applied.
    pub applied_index: u64,
    /// Whether a leader is known.
    pub leader_known: bool,
    /// Seconds since a leader was last heard from (`null`: never).
    pub leader_contact_secs: Option<f64>,
}

/// How long without a leader's contact before a node calls itself stale:
/// three election timeouts (a healthy cluster elects within one), at least
/// two seconds (a loaded machine can delay heartbeats past one).
pub fn stale_after(c: &Consensus) -> Duration {
    Duration::from_millis((3 * c.config().election_timeout_max_ms).max(2_000))
}

/// This node's freshness now.
pub fn freshness(c: &Consensus) -> Freshness {
    let f = c.facts();
    let limit = stale_after(c);
    let alone = f.role == Role::Leader && f.voters.len() <= 1;
    let age = if alone {
        Some(Duration::ZERO)
    } else {
        c.leader_contact_age()
    };
    let leader_known = f.leader.is_some();
    Freshness {
        stale: !leader_known || age.is_none_or(|a| a > limit),
        applied_index: f.applied,
        leader_known,
        leader_contact_secs: age.map(|a| (a.as_secs_f64() * 1000.0).round() / 1000.0),
    }
}

/// The headers of a read reply.
pub fn read_headers(s: &AppState, view: &KvView) -> [(HeaderName, HeaderValue); 2] {
    let stale = freshness(&s.consensus).stale;
    [
        (
            APPLIED_INDEX_HEADER,
            HeaderValue::from(view.applied_index()),
        ),
        (
            STALE_HEADER,
            HeaderValue::from_static(if stale { "true" } else { "false" }),
        ),
    ]
}

/// Milliseconds since the Unix epoch on this node's clock.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
