//! Proposals: on the leader to the batcher, elsewhere forwarded; retried
//! only while certainly not appended; idempotent commands retried while
//! their outcome is unknown.

use std::sync::atomic::Ordering;
use std::time::Duration;

// tokio's clock: the real one in a node, the paused one in the simulation.
use tokio::time::Instant;

use paddle_proto::{Command, Reply};

use super::{Consensus, Core, COMMAND_BYTES_PER_FRAME};
use crate::network::ForwardError;
use crate::types::NodeId;

/// Why a proposal did not produce a committed reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProposeError {
    /// No leader could be reached in time (no quorum): nothing was appended.
    #[error("no leader reachable: the cluster has no quorum right now")]
    NoLeader,
    /// The command may or may not have been committed (timeout after it was
    /// sent). Commands carrying an idempotency key can be sent again.
    #[error("outcome unknown: {0}")]
    Unknown(String),
    /// Refused without being appended (shutting down, membership change).
    #[error("refused: {0}")]
    Refused(String),
}

/// A committed proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// The log index it was committed at.
    pub index: u64,
    /// What the state machine answered.
    pub reply: Reply,
}

impl Consensus {
    /// Propose a command: on the leader it is appended directly, elsewhere it
    /// is forwarded to the leader. Retries (a bounded number of times) only
    /// when the command certainly was not appended.
    pub async fn propose(&self, command: Command) -> Result<Committed, ProposeError> {
        let started = Instant::now();
        let bytes = paddle_proto::codec::encoded_len(&command);
        let most = self.core.cfg.raft.frame_cap() / COMMAND_BYTES_PER_FRAME;
        if bytes > most {
            return Err(ProposeError::Refused(format!(
                "a command of {bytes} bytes is over the {most} bytes a log entry may carry \
                 (a quarter of raft.frame_cap_bytes)"
            )));
        }
        let result = self.propose_inner(command, started).await;
        let m = &self.core.metrics;
        match &result {
            Ok(_) => {
                m.committed.fetch_add(1, Ordering::Relaxed);
                m.latency.observe(started.elapsed());
            }
            Err(_) => {
                m.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
        result
    }

    /// Propose a command that carries its own idempotency key (a bid id):
    /// while its outcome is unknown, propose it again until `deadline` has
    /// passed; the application answers a repeat with the first outcome.
    ///
    /// An answer is definite only when it is known. Once an attempt may have
    /// reached a leader, a later attempt that finds no leader (or is refused)
    /// says nothing about the first, which may still commit: the result is
    /// then `Unknown`, never `NoLeader`. Only a command that certainly never
    /// left this node is answered `NoLeader` or `Refused`.
    pub async fn propose_idempotent(
        &self,
        command: Command,
        deadline: Duration,
    ) -> Result<Committed, ProposeError> {
        let started = Instant::now();
        let mut unknown: Option<String> = None;
        loop {
            match self.propose(command.clone()).await {
                Ok(c) => return Ok(c),
                Err(ProposeError::Unknown(why)) => unknown = Some(why),
                Err(definite) => match &unknown {
                    None => return Err(definite),
                    Some(why) => tracing::debug!(
                        first = %why, now = %definite,
                        "a retry of an unknown outcome found no leader; the first attempt may still commit"
                    ),
                },
            }
            if started.elapsed() >= deadline {
                let why = unknown.unwrap_or_default();
                return Err(ProposeError::Unknown(why));
            }
            tracing::debug!("outcome unknown; proposing the same command again");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn propose_inner(
        &self,
        command: Command,
        started: Instant,
    ) -> Result<Committed, ProposeError> {
        let timeout = Duration::from_millis(self.core.cfg.raft.propose_timeout_ms);
        let pause = Duration::from_millis(self.core.cfg.raft.heartbeat_ms);
        let mut attempts = 0u32;
        loop {
            let left = timeout.saturating_sub(started.elapsed());
            if left.is_zero() {
                return Err(ProposeError::NoLeader);
            }
            let outcome: Result<(), Option<NodeId>> = match self.current_leader() {
                None => Err(None),
                Some(l) if l == self.core.id => {
                    match self.core.propose_local(command.clone(), left).await {
                        Ok((index, reply)) => return Ok(Committed { index, reply }),
                        Err(ForwardError::NotLeader { leader }) => Err(leader),
                        Err(ForwardError::Unknown(e)) => return Err(ProposeError::Unknown(e)),
                        Err(ForwardError::Refused(e)) => return Err(ProposeError::Refused(e)),
                    }
                }
                Some(l) => match self.node_addr(l) {
                    None => Err(None),
                    Some(addr) => {
                        self.core.metrics.forwarded.fetch_add(1, Ordering::Relaxed);
                        match self
                            .core
                            .forwarder
                            .forward(l, addr.raft, command.clone())
                            .await
                        {
                            Ok(Ok((index, reply))) => return Ok(Committed { index, reply }),
                            Ok(Err(ForwardError::NotLeader { leader })) => Err(leader),
                            Ok(Err(ForwardError::Unknown(e))) => {
                                return Err(ProposeError::Unknown(e))
                            }
                            Ok(Err(ForwardError::Refused(e))) => {
                                return Err(ProposeError::Refused(e))
                            }
                            Err(e) if e.not_sent() => Err(None),
                            Err(e) => return Err(ProposeError::Unknown(e.to_string())),
                        }
                    }
                },
            };
            // Not appended anywhere: leadership is moving. Wait until a new
            // leader is known (or a growing pause passes), then retry.
            let tried = self.current_leader();
            let hint = outcome.err().flatten();
            attempts += 1;
            if attempts > self.core.cfg.raft.forward_retries {
                return Err(ProposeError::NoLeader);
            }
            let backoff = (pause * 2u32.saturating_pow(attempts - 1)).min(Duration::from_secs(1));
            let wait = backoff.min(timeout.saturating_sub(started.elapsed()));
            let mut metrics = self.core.raft.metrics();
            let _ = tokio::time::timeout(wait, async {
                loop {
                    let leader = metrics.borrow_and_update().current_leader;
                    if leader.is_some()
                        && (leader != tried
                            || hint.is_some_and(|h| Some(h) == leader && h != self.core.id))
                    {
                        return;
                    }
                    if metrics.changed().await.is_err() {
                        return;
                    }
                }
            })
            .await;
        }
    }

    /// Stop (false) or resume (true) appending new proposals and sending
    /// heartbeats on this node, for a leadership hand-over: callers see
    /// "not leader" and retry, and followers' leader leases run out.
    pub fn set_accepting(&self, accepting: bool) {
        self.core.accepting.store(accepting, Ordering::SeqCst);
        self.core.raft.runtime_config().heartbeat(accepting);
    }
}

impl Core {
    pub(super) async fn propose_local(
        &self,
        command: Command,
        timeout: Duration,
    ) -> Result<(u64, Reply), ForwardError> {
        if !self.accepting.load(Ordering::SeqCst) || self.isolated() {
            return Err(ForwardError::NotLeader { leader: None });
        }
        let rx = self.batcher.submit(command).await?;
        match tokio::time::timeout(timeout, rx).await {
            Err(_) => Err(ForwardError::Unknown(format!(
                "not committed within {timeout:?}"
            ))),
            Ok(Err(_)) => Err(ForwardError::Unknown("the batch was dropped".into())),
            Ok(Ok(outcome)) => outcome,
        }
    }
}
