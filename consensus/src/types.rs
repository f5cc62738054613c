//! The openraft type configuration, declared once.

use std::fmt;
use std::io::Cursor;

use serde::{Deserialize, Serialize};

pub use paddle_proto::NodeId;
use paddle_proto::{Proposal, Reply};

/// Where a node can be reached: its QUIC (Raft) address and its HTTP
/// address, stored in the replicated membership so every node can tell
/// clients where the others are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeAddr {
    /// QUIC address for peers, e.g. `10.0.0.5:7080`.
    pub raft: String,
    /// HTTP address for browsers and operators, e.g. `10.0.0.5:8080`.
    pub http: String,
}

impl fmt::Display for NodeAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "raft={} http={}", self.raft, self.http)
    }
}

openraft::declare_raft_types!(
    /// Paddle's Raft: log entries carry stamped batches of commands, replies
    /// are the state machine's answers (one per command), nodes carry their
    /// addresses.
    pub TypeConfig:
        D = Proposal,
        R = Vec<Reply>,
        NodeId = NodeId,
        Node = NodeAddr,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = crate::runtime::PaddleRuntime,
);

/// Short names for openraft's generic types.
pub mod typ {
    use super::{NodeAddr, NodeId, TypeConfig};

    pub type Raft = openraft::Raft<TypeConfig>;
    pub type Entry = openraft::Entry<TypeConfig>;
    pub type LogId = openraft::LogId<NodeId>;
    pub type Vote = openraft::Vote<NodeId>;
    pub type StoredMembership = openraft::StoredMembership<NodeId, NodeAddr>;
    pub type Membership = openraft::Membership<NodeId, NodeAddr>;
    pub type SnapshotMeta = openraft::SnapshotMeta<NodeId, NodeAddr>;
    pub type Snapshot = openraft::Snapshot<TypeConfig>;
    pub type StorageError = openraft::StorageError<NodeId>;
    pub type RaftMetrics = openraft::RaftMetrics<NodeId, NodeAddr>;
    pub type RaftError<E = openraft::error::Infallible> = openraft::error::RaftError<NodeId, E>;
    pub type RPCError<E = openraft::error::Infallible> =
        openraft::error::RPCError<NodeId, NodeAddr, RaftError<E>>;
    pub type ClientWriteError = openraft::error::ClientWriteError<NodeId, NodeAddr>;
    pub type CheckIsLeaderError = openraft::error::CheckIsLeaderError<NodeId, NodeAddr>;
    pub type ForwardToLeader = openraft::error::ForwardToLeader<NodeId, NodeAddr>;
    pub type AppendEntriesRequest = openraft::raft::AppendEntriesRequest<TypeConfig>;
    pub type AppendEntriesResponse = openraft::raft::AppendEntriesResponse<NodeId>;
    pub type VoteRequest = openraft::raft::VoteRequest<NodeId>;
    pub type VoteResponse = openraft::raft::VoteResponse<NodeId>;
    pub type InstallSnapshotRequest = openraft::raft::InstallSnapshotRequest<TypeConfig>;
    pub type InstallSnapshotResponse = openraft::raft::InstallSnapshotResponse<NodeId>;
}
