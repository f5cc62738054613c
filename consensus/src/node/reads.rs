//! Reads: this node's view, read-your-writes by index, and linearizable
//! reads through the leader's read index.

use std::time::Duration;

// tokio's clock: the real one in a node, the paused one in the simulation.
use tokio::time::Instant;

use openraft::error::RaftError;

use super::{Consensus, Core};
use crate::kv::KvView;
use crate::network::{ForwardError, PeerRequest, PeerResponse};

/// Why a read could not be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("no leader reachable for a linearizable read")]
    NoLeader,
    #[error("index {wanted} not applied within {waited_ms} ms (applied: {applied})")]
    Timeout {
        wanted: u64,
        applied: u64,
        waited_ms: u64,
    },
}

impl Consensus {
    /// Wait until this node has applied `index`, then return a view at or
    /// after it. Read-your-writes for a client that carries its last index.
    pub async fn wait_applied(&self, index: u64, timeout: Duration) -> Result<KvView, ReadError> {
        let mut rx = self.core.shared.applied_index();
        let started = Instant::now();
        let reached = tokio::time::timeout(timeout, rx.wait_for(|applied| *applied >= index)).await;
        match reached {
            Ok(Ok(_)) => Ok(self.view()),
            _ => Err(ReadError::Timeout {
                wanted: index,
                applied: self.applied_index(),
                waited_ms: started.elapsed().as_millis() as u64,
            }),
        }
    }

    /// A view that reflects every write committed before this call started
    /// (linearizable): the leader confirms its leadership with a quorum and
    /// names a read index; this node waits until it has applied that index.
    pub async fn linearizable_view(&self, timeout: Duration) -> Result<KvView, ReadError> {
        let started = Instant::now();
        let index = self.read_index(timeout).await?;
        self.wait_applied(index, timeout.saturating_sub(started.elapsed()))
            .await
    }

    async fn read_index(&self, timeout: Duration) -> Result<u64, ReadError> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            // A node cut off from the leader fails at once rather than
            // hanging until the partition heals.
            let cut_off = self.core.cut_off();
            if left.is_zero() || cut_off {
                return Err(ReadError::NoLeader);
            }
            match self.current_leader() {
                Some(l) if l == self.core.id => {
                    if let Ok(Ok(i)) =
                        tokio::time::timeout(left, self.core.local_read_index()).await
                    {
                        return Ok(i);
                    }
                }
                Some(l) => {
                    if let Some(addr) = self.node_addr(l) {
                        let resp = self
                            .core
                            .clients
                            .call(l, &addr.raft, &PeerRequest::ReadIndex, left)
                            .await;
                        if let Ok(PeerResponse::ReadIndex(Ok(i))) = resp {
                            return Ok(i);
                        }
                    }
                }
                None => {}
            }
            tokio::time::sleep(Duration::from_millis(self.core.cfg.raft.heartbeat_ms).min(left))
                .await;
        }
    }
}

impl Core {
    pub(super) async fn local_read_index(&self) -> Result<u64, ForwardError> {
        match self.raft.get_read_log_id().await {
            Ok((read, _applied)) => Ok(read.map(|l| l.index).unwrap_or(0)),
            Err(RaftError::APIError(openraft::error::CheckIsLeaderError::ForwardToLeader(f))) => {
                Err(ForwardError::NotLeader {
                    leader: f.leader_id,
                })
            }
            Err(RaftError::APIError(openraft::error::CheckIsLeaderError::QuorumNotEnough(e))) => {
                Err(ForwardError::Refused(e.to_string()))
            }
            Err(RaftError::Fatal(f)) => Err(ForwardError::Refused(f.to_string())),
        }
    }
}
