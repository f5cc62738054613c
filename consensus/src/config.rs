//! The tunables of one member, as the node's configuration file spells them
//! (`[raft]` and `[clock]`): one struct each, used by the node's config as
//! they are, and validated there with the rest of the file.

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use crate::clock::ClockConfig;

/// Everything a member runs with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsensusConfig {
    pub raft: RaftConfig,
    pub clock: ClockConfig,
}

/// Raft timing, batching, snapshot and membership knobs.
///
/// The append RPC's timeout is the heartbeat interval, so the heartbeat must
/// cover a follower's fsync plus a round trip: 50 ms leaves room for fsync
/// spikes of 10 ms on shared disks. The election timeout bounds failover:
/// followers refuse votes while the old leader's lease (the longest election
/// timeout) runs, so a new leader needs at least that long. On slow disks
/// raise the heartbeat to 250–500 ms and the election timeouts with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RaftConfig {
    /// Leader heartbeat interval; also openraft's append-entries RPC timeout.
    pub heartbeat_ms: u64,
    /// Lower bound of the randomised election timeout.
    pub election_timeout_min_ms: u64,
    /// Upper bound of the randomised election timeout.
    pub election_timeout_max_ms: u64,
    /// Build a snapshot after this many logs since the last one.
    pub snapshot_logs: u64,
    /// Most entries sent in one append-entries request.
    pub max_payload_entries: u64,
    /// Largest peer frame accepted or sent; bigger frames are refused.
    pub frame_cap_bytes: u64,
    /// Deadline for one install-snapshot chunk RPC.
    pub install_snapshot_timeout_ms: u64,
    /// Size of one snapshot chunk sent to a lagging peer.
    pub snapshot_chunk_bytes: u64,
    /// Logs kept behind a snapshot, so slightly lagging peers need no snapshot.
    pub keep_logs_after_snapshot: u64,
    /// Joining nodes become voters while there are fewer voters than this;
    /// after that they stay learners (edge nodes).
    pub max_voters: u64,
    /// How long a proposal may wait for its commit before the caller is told
    /// the outcome is unknown.
    pub propose_timeout_ms: u64,
    /// Times a follower re-forwards a proposal when leadership moves.
    pub forward_retries: u32,
    /// Largest request a peer without a client certificate may send. Such
    /// a peer can only join, and a join request is about 400 bytes; anyone who
    /// reaches the peer port can be one, so this stays small.
    pub anonymous_frame_cap_bytes: u64,
    /// Requests one connection without a certificate may have open at once.
    pub anonymous_streams: u32,
    /// Connections without a certificate a node keeps open at once; more
    /// are closed right after the handshake.
    pub anonymous_connections: u32,
    /// New connections without a certificate admitted per second (and in a
    /// burst); more are closed right after the handshake.
    pub anonymous_connects_per_second: u32,
}

impl Default for RaftConfig {
    fn default() -> Self {
        RaftConfig {
            heartbeat_ms: 50,
            election_timeout_min_ms: 150,
            election_timeout_max_ms: 300,
            snapshot_logs: 10_000,
            max_payload_entries: 64,
            frame_cap_bytes: 16 * 1024 * 1024,
            install_snapshot_timeout_ms: 5_000,
            snapshot_chunk_bytes: 1024 * 1024,
            keep_logs_after_snapshot: 1_000,
            max_voters: 5,
            propose_timeout_ms: 5_000,
            forward_retries: 5,
            anonymous_frame_cap_bytes: 8 * 1024,
            anonymous_streams: 4,
            anonymous_connections: 8,
            anonymous_connects_per_second: 4,
        }
    }
}

impl RaftConfig {
    /// [`RaftConfig::heartbeat_ms`] as a duration.
    pub fn heartbeat(&self) -> Duration {
        Duration::from_millis(self.heartbeat_ms)
    }

    /// [`RaftConfig::propose_timeout_ms`] as a duration.
    pub fn propose_timeout(&self) -> Duration {
        Duration::from_millis(self.propose_timeout_ms)
    }

    /// The `anonymous_*` keys, as the peer server uses them.
    pub fn anonymous_limits(&self) -> crate::network::AnonymousLimits {
        crate::network::AnonymousLimits {
            frame_cap: usize::try_from(self.anonymous_frame_cap_bytes).unwrap_or(usize::MAX),
            streams: self.anonymous_streams,
            connections: self.anonymous_connections,
            connects_per_second: self.anonymous_connects_per_second,
        }
    }

    /// [`RaftConfig::frame_cap_bytes`] as a size in memory.
    pub fn frame_cap(&self) -> usize {
        usize::try_from(self.frame_cap_bytes).unwrap_or(usize::MAX)
    }
}
