//! What nodes say to each other: one request and one response per QUIC
//! bi-stream, each a bincode frame (see `paddle_proto::codec`).

use openraft::error::InstallSnapshotError;
use paddle_proto::{Command, Reply};
use serde::{Deserialize, Serialize};

use crate::types::typ::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    RaftError, VoteRequest, VoteResponse,
};
use crate::types::NodeId;

/// A request from one node to another.
#[derive(Debug, Serialize, Deserialize)]
pub enum PeerRequest {
    AppendEntries(AppendEntriesRequest),
    Vote(VoteRequest),
    InstallSnapshot(InstallSnapshotRequest),
    /// A follower forwards clients' commands to the leader (batched).
    ProposeMany(Vec<Command>),
    /// A follower asks the leader for a read index (linearizable reads).
    ReadIndex,
    /// An application request (joining, status); the node interprets it.
    App(Vec<u8>),
    /// What time is it on your wall clock? (cluster time, `clock.rs`)
    Clock,
    /// The leader handing over asks its chosen successor to campaign.
    Campaign,
}

impl PeerRequest {
    /// A short name for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            PeerRequest::AppendEntries(_) => "append_entries",
            PeerRequest::Vote(_) => "vote",
            PeerRequest::InstallSnapshot(_) => "install_snapshot",
            PeerRequest::ProposeMany(_) => "propose_many",
            PeerRequest::ReadIndex => "read_index",
            PeerRequest::App(_) => "app",
            PeerRequest::Clock => "clock",
            PeerRequest::Campaign => "campaign",
        }
    }
}

/// Why the leader could not take a forwarded request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ForwardError {
    /// The receiver is not the leader (it names the one it knows, if any);
    /// the command was not appended and may be sent again.
    #[error("not the leader (leader: {leader:?})")]
    NotLeader { leader: Option<NodeId> },
    /// The command may or may not have been committed.
    #[error("outcome unknown: {0}")]
    Unknown(String),
    /// The receiver is shutting down or broken; nothing was appended.
    #[error("refused: {0}")]
    Refused(String),
}

/// The answer to a [`PeerRequest`].
#[derive(Debug, Serialize, Deserialize)]
pub enum PeerResponse {
    AppendEntries(Result<AppendEntriesResponse, RaftError>),
    Vote(Result<VoteResponse, RaftError>),
    InstallSnapshot(Result<InstallSnapshotResponse, RaftError<InstallSnapshotError>>),
    /// Per forwarded command, in order: the log index it was committed at
    /// and the state machine's reply, or why not.
    ProposedMany(Vec<Result<(u64, Reply), ForwardError>>),
    /// The leader's read index.
    ReadIndex(Result<u64, ForwardError>),
    App(Result<Vec<u8>, String>),
    /// The request was refused before being looked at (wrong identity,
    /// not a member, malformed); the reason says why.
    Refused(String),
    /// The answerer's wall clock (µs since the epoch) when it received the
    /// clock request and when it answered.
    Clock {
        received_us: i64,
        sent_us: i64,
    },
    /// The asked node has started an election.
    Campaigning,
}
