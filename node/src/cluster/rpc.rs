//! Cluster requests between nodes, carried as application RPCs over the
//! QUIC transport: joining, admitting, signing, status, leadership moves.

use std::time::Duration;

use paddle_consensus::network::{PeerRequest, PeerResponse};
use paddle_consensus::types::NodeAddr;
use paddle_consensus::ClusterFacts;
use paddle_consensus::Consensus;
use paddle_proto::codec;
use serde::{Deserialize, Serialize};

/// What one node asks another about the cluster.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ClusterRequest {
    /// A new node proves the join secret and asks for an id and a
    /// certificate for its key (anonymous connection, pinned CA).
    Join { secret: String, csr_pem: String },
    /// A node that got its certificate asks to be added as a learner,
    /// caught up, and promoted while voters are few.
    Admit {
        secret: String,
        node_id: u64,
        addr: NodeAddr,
    },
    /// Sign a node certificate (asked of a node holding the CA key).
    Sign { csr_pem: String, node_id: u64 },
    /// This node's status.
    Status,
    /// Start an election now (leadership hand-over).
    TriggerElection,
    /// You were removed from the cluster: stop.
    Removed { node_id: u64 },
    /// An operator's membership change, forwarded to the leader.
    Change(MembershipChange),
    /// How many WebSocket connections follow each sale on this node (for
    /// the cluster-wide presence count shown to watchers).
    Presence,
    /// A voter without the CA key asks a holder for it, so joins keep
    /// working when the bootstrap node is gone. Answered to voters only.
    ShareCa,
}

/// Membership changes an operator can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MembershipChange {
    Remove(u64),
    Promote(u64),
    Demote(u64),
    /// Hand leadership to this voter (maintenance on the leader's machine).
    Lead(u64),
}

/// One node's view of itself, for `cluster status`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeStatus {
    pub facts: ClusterFactsWire,
    /// Ms since this node last heard from a working leader.
    pub leader_contact_ms: Option<u64>,
    /// Open WebSocket connections (bidders' and staff's pages) on this node.
    pub clients: u64,
}

/// The parts of [`ClusterFacts`] that travel between nodes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterFactsWire {
    pub id: u64,
    pub role: String,
    pub term: u64,
    pub leader: Option<u64>,
    pub last_log: Option<u64>,
    pub committed: u64,
    pub applied: u64,
}

impl From<&ClusterFacts> for ClusterFactsWire {
    fn from(f: &ClusterFacts) -> Self {
        ClusterFactsWire {
            id: f.id,
            role: serde_json::to_value(f.role)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            term: f.term,
            leader: f.leader,
            last_log: f.last_log,
            committed: f.committed,
            applied: f.applied,
        }
    }
}

/// The answer to a [`ClusterRequest`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ClusterResponse {
    Joined {
        node_id: u64,
        cert_pem: String,
        ca_pem: String,
    },
    Admitted {
        voter: bool,
    },
    Signed {
        cert_pem: String,
    },
    Status(NodeStatus),
    Done,
    /// `(sale, watchers)` on the answering node.
    Presence(Vec<(u64, u64)>),
    /// The cluster CA (to a voter, over mutual TLS).
    Ca {
        cert_pem: String,
        key_pem: String,
    },
    /// Refused or failed, with a stable code and a message for people.
    Error {
        code: String,
        message: String,
    },
}

impl ClusterResponse {
    pub fn error(code: &str, message: impl Into<String>) -> Self {
        ClusterResponse::Error {
            code: code.to_string(),
            message: message.into(),
        }
    }
}

/// Deadline for short cluster calls (status, sign, trigger).
pub const SHORT_CALL: Duration = Duration::from_secs(3);
/// Deadline for an admit: the new node may need to catch up from a large
/// snapshot first.
pub const ADMIT_CALL: Duration = Duration::from_secs(600);

/// Send a cluster request to member `id` and decode the answer.
pub async fn call_member(
    consensus: &Consensus,
    id: u64,
    req: &ClusterRequest,
    deadline: Duration,
) -> Result<ClusterResponse, String> {
    let addr = consensus
        .node_addr(id)
        .ok_or_else(|| format!("node {id} is not in the membership"))?;
    let body = codec::encode(req).map_err(|e| e.to_string())?;
    match consensus
        .peers()
        .call(id, &addr.raft, &PeerRequest::App(body), deadline)
        .await
    {
        Ok(PeerResponse::App(Ok(bytes))) => codec::decode(&bytes).map_err(|e| e.to_string()),
        Ok(PeerResponse::App(Err(e))) => Err(e),
        Ok(other) => Err(format!("unexpected answer {other:?}")),
        Err(e) => Err(e.to_string()),
    }
}
