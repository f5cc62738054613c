//! Whether this node is in touch with a working leader, as shown to clients
//! (stale badge, `node_status`, `Paddle-Stale`), and the server time they
//! count down by.

use paddle_consensus::Consensus;
use serde::Serialize;

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

/// Server time for clients: the cluster's agreed time (ms since the Unix
/// epoch), the same on every node whatever this machine's clock says.
pub fn server_time_ms(c: &Consensus) -> u64 {
    c.clock().now_ms()
}
