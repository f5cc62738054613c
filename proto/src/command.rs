//! The Raft log payload and the reply a proposer gets back.

use serde::{Deserialize, Serialize};

use crate::auction::{AuctionCommand, AuctionReply};

/// One entry of the replicated log as the application sees it.
///
/// The leader stamps every entry with its wall clock in milliseconds when it
/// appends it. Applying takes `max(stamp, previous stamp)`, so time never
/// goes backwards in the log even across a leader change, and every node
/// judges deadlines by the same number rather than by its own clock.
///
/// An entry carries the commands of every proposal that arrived while the
/// previous append was being written (group commit): openraft 0.9 writes
/// each `client_write` with its own fsync, so batching here is what lets
/// a thousand concurrent bidders share one disk flush. The commands apply
/// in order, all with the entry's index and stamp.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    /// Leader wall clock (ms since the Unix epoch) when the entry was appended.
    pub stamp_ms: u64,
    /// What to do, in order.
    pub commands: Vec<Command>,
}

/// Everything the log can carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// The auction rules: sales, lots, bidders, bids, clerk actions.
    Auction(AuctionCommand),
    /// Cluster bookkeeping that must be agreed: node ids, token hashes.
    Cluster(ClusterCommand),
    /// A diagnostic write with no auction meaning, used by benchmarks and by
    /// the history checker of the cluster tests to prove that every
    /// acknowledged write survives. Recorded under `(writer, seq)`.
    Probe(Probe),
}

/// A diagnostic write: `writer` is a client id, `seq` its sequence number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Probe {
    pub writer: u64,
    pub seq: u64,
    pub payload: Vec<u8>,
}

/// Cluster facts that every node must agree on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClusterCommand {
    /// Hand out the next unused node id (ids are never reused, even after a
    /// node is removed, so a stale peer can never be mistaken for a new one).
    AllocateNodeId,
    /// Replace the hash of the operator token (SHA-256, hex).
    SetOperatorTokenHash { hash: String },
    /// Replace the hash of the join secret (SHA-256, hex).
    SetJoinSecretHash { hash: String },
    /// Remember that a node left the cluster: its id is never admitted
    /// again, and its votes are ignored.
    MarkRemoved { node_id: u64 },
    /// Accept a clerk token from now on: the operator makes clerk tokens
    /// through the API, which shows the token once and replicates only its
    /// SHA-256 hex `hash`, so every node can check it and none can leak it.
    AddClerkToken { hash: String, label: String },
    /// Stop accepting the clerk token whose id (the first 12 hex digits of
    /// its hash) is `id`.
    RevokeClerkToken { id: String },
}

/// The answer to a cluster command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClusterReply {
    NodeId(u64),
    Done,
}

/// What the state machine answered to one applied entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Reply {
    /// A blank or membership entry, or a command with nothing to say.
    #[default]
    None,
    Auction(AuctionReply),
    Cluster(ClusterReply),
    /// The probe was recorded (or had already been recorded: probes are
    /// idempotent by `(writer, seq)`).
    Probe {
        first_index: u64,
    },
}
