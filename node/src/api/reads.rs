//! How a read picks the state it answers from, and how it says which.
//!
//! Reads are served from this node's applied state. `consistency=
//! linearizable` asks the leader for a read index first; `min_index=N`
//! waits until this node has applied N (read-your-writes for a client that
//! carries the index of its last write or event, from any node). Every
//! answer names the index it reflects and whether this node is stale.

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue};
use paddle_consensus::{Consensus, KvView};
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

/// Longest a write's pre-check waits for the leader's read index.
pub const WRITE_CHECK_WAIT: Duration = Duration::from_secs(3);

/// The view a write is checked against before it is proposed: this node's,
/// unless `found` says it lacks what the write needs (a sale created
/// through another node a moment ago). Then the view is brought up to the
/// leader's read index once, so a write is never refused on a view older
/// than what the cluster has committed; without a leader the answer is
/// `503 no_quorum` (nothing was changed), not a refusal this node cannot
/// stand behind.
pub async fn fresh_view(s: &AppState, found: impl Fn(&KvView) -> bool) -> Result<KvView, ApiError> {
    let view = s.consensus.view();
    if found(&view) {
        return Ok(view);
    }
    Ok(s.consensus.linearizable_view(WRITE_CHECK_WAIT).await?)
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

/// This node's freshness now (the threshold is
/// [`Consensus::stale_after`]: three election timeouts, at least 2 s). A
/// leader that no quorum has answered within it is stale too.
pub fn freshness(c: &Consensus) -> Freshness {
    let age = c.leader_contact_age();
    Freshness {
        stale: c.is_stale(),
        applied_index: c.applied_index(),
        leader_known: c.current_leader().is_some(),
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

/// Server time for clients: the cluster's agreed time (ms since the Unix
/// epoch), the same on every node whatever this machine's clock says.
pub fn server_time_ms(c: &Consensus) -> u64 {
    c.clock().now_ms()
}
