//! Group commit on the leader: concurrent proposals share one log entry.
//!
//! openraft 0.9 appends each `client_write` separately and waits for its
//! fsync before taking the next, so one entry per proposal caps a node at
//! one proposal per disk flush. The batcher takes every proposal waiting
//! when an entry is started and puts them all in it (up to a cap); while
//! that entry is being written, the next batch gathers. A lone proposal
//! still goes out at once, so nothing waits for a timer.
//!
//! An entry also stays under a byte budget (a fraction of the peer frame
//! cap), so a burst of large commands (catalogue imports, lot photos) makes
//! several entries rather than one that no peer frame could carry.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use openraft::error::{ClientWriteError, RaftError};
use paddle_proto::{Command, Proposal, Reply};
use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::network::ForwardError;
use crate::types::typ::Raft;

/// The answer to one proposal: its entry's index and its own reply.
pub(crate) type Outcome = Result<(u64, Reply), ForwardError>;

struct Pending {
    command: Command,
    /// Encoded size of `command`.
    bytes: usize,
    done: oneshot::Sender<Outcome>,
}

/// Hands proposals to openraft in batches.
#[derive(Clone)]
pub(crate) struct Batcher {
    tx: mpsc::Sender<Pending>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Batcher {
    /// Start the batching task. At most `max_commands` and `max_bytes` (of
    /// encoded commands; a single larger command goes alone) per entry, and
    /// `in_flight` entries being written at once.
    pub(crate) fn start(
        raft: Raft,
        last_stamp: Arc<AtomicU64>,
        max_commands: usize,
        max_bytes: usize,
        in_flight: usize,
    ) -> Self {
        let (tx, mut rx) = mpsc::channel::<Pending>(max_commands * in_flight * 4);
        let permits = Arc::new(Semaphore::new(in_flight));
        tokio::spawn(async move {
            let mut held: Option<Pending> = None;
            loop {
                let first = match held.take() {
                    Some(p) => p,
                    None => match rx.recv().await {
                        Some(p) => p,
                        None => return,
                    },
                };
                let Ok(permit) = permits.clone().acquire_owned().await else {
                    return;
                };
                // Take everything that queued up meanwhile, within budget.
                let mut bytes = first.bytes;
                let mut batch = vec![first];
                while batch.len() < max_commands {
                    match rx.try_recv() {
                        Ok(p) if bytes.saturating_add(p.bytes) > max_bytes => {
                            held = Some(p);
                            break;
                        }
                        Ok(p) => {
                            bytes += p.bytes;
                            batch.push(p);
                        }
                        Err(_) => break,
                    }
                }
                let now = now_ms();
                let stamp = last_stamp.fetch_max(now, Ordering::SeqCst).max(now);
                let raft = raft.clone();
                tokio::spawn(async move {
                    let (commands, waiters): (Vec<_>, Vec<_>) =
                        batch.into_iter().map(|p| (p.command, p.done)).unzip();
                    let result = raft
                        .client_write(Proposal {
                            stamp_ms: stamp,
                            commands,
                        })
                        .await;
                    drop(permit);
                    match result {
                        Ok(resp) => {
                            let index = resp.log_id.index;
                            let mut replies = resp.data.into_iter();
                            for w in waiters {
                                let reply = replies.next().unwrap_or_default();
                                let _ = w.send(Ok((index, reply)));
                            }
                        }
                        Err(e) => {
                            let err = match e {
                                RaftError::APIError(ClientWriteError::ForwardToLeader(f)) => {
                                    ForwardError::NotLeader {
                                        leader: f.leader_id,
                                    }
                                }
                                RaftError::APIError(ClientWriteError::ChangeMembershipError(e)) => {
                                    ForwardError::Refused(e.to_string())
                                }
                                RaftError::Fatal(f) => ForwardError::Refused(f.to_string()),
                            };
                            for w in waiters {
                                let _ = w.send(Err(err.clone()));
                            }
                        }
                    }
                });
            }
        });
        Batcher { tx }
    }

    /// Queue one command; the receiver yields its outcome.
    pub(crate) async fn submit(
        &self,
        command: Command,
    ) -> Result<oneshot::Receiver<Outcome>, ForwardError> {
        let (done, rx) = oneshot::channel();
        let bytes = paddle_proto::codec::encoded_len(&command);
        self.tx
            .send(Pending {
                command,
                bytes,
                done,
            })
            .await
            .map_err(|_| ForwardError::Refused("this node is shutting down".into()))?;
        Ok(rx)
    }
}
