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
use std::time::Duration;

// tokio's clock: the real one in a node, the paused one in the simulation.
use tokio::time::Instant;

use openraft::error::{ClientWriteError, RaftError};
use paddle_proto::{Command, Proposal, Reply};
use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::clock::ClusterClock;
use crate::metrics::StageMetrics;
use crate::network::ForwardError;
use crate::types::typ::Raft;

/// The answer to one proposal: its entry's index and its own reply.
pub(crate) type Outcome = Result<(u64, Reply), ForwardError>;

struct Pending {
    command: Command,
    /// Encoded size of `command`.
    bytes: usize,
    done: oneshot::Sender<Outcome>,
    /// When it was queued (`batch_wait`).
    queued: std::time::Instant,
}

/// What a [`Gather`] needs to know of a queued item.
pub(crate) trait Budgeted {
    /// Encoded bytes it adds to a batch.
    fn bytes(&self) -> usize;
}

/// Takes batches off a queue: everything waiting, up to a count and a byte
/// budget (a single larger item goes alone), and only items that
/// `belongs` to the batch's first; the item that does not fit starts the
/// next batch. Shared by the leader's batcher and a follower's forwarder.
pub(crate) struct Gather<T> {
    rx: mpsc::Receiver<T>,
    held: Option<T>,
    max_items: usize,
    max_bytes: usize,
}

impl<T: Budgeted> Gather<T> {
    pub(crate) fn new(rx: mpsc::Receiver<T>, max_items: usize, max_bytes: usize) -> Self {
        Gather {
            rx,
            held: None,
            max_items,
            max_bytes,
        }
    }

    /// The next batch's first item; `None` once every sender is gone.
    pub(crate) async fn first(&mut self) -> Option<T> {
        match self.held.take() {
            Some(p) => Some(p),
            None => self.rx.recv().await,
        }
    }

    /// `first` plus what queued up behind it and fits.
    pub(crate) fn rest(&mut self, first: T, belongs: impl Fn(&T, &T) -> bool) -> Vec<T> {
        let mut bytes = first.bytes();
        let mut batch = vec![first];
        while batch.len() < self.max_items {
            match self.rx.try_recv() {
                Ok(p)
                    if belongs(&batch[0], &p)
                        && bytes.saturating_add(p.bytes()) <= self.max_bytes =>
                {
                    bytes += p.bytes();
                    batch.push(p);
                }
                Ok(p) => {
                    self.held = Some(p);
                    break;
                }
                Err(_) => break,
            }
        }
        batch
    }
}

impl Budgeted for Pending {
    fn bytes(&self) -> usize {
        self.bytes
    }
}

/// Hands proposals to openraft in batches.
#[derive(Clone)]
pub(crate) struct Batcher {
    tx: mpsc::Sender<Pending>,
}

/// The stamp for the next entry: cluster time, never going backwards. A
/// leader without cluster time (it never agreed with a majority of the
/// voters) repeats the last stamp (applying takes the log's previous stamp
/// when this one is older): time stands still rather than follow one
/// machine's clock.
fn next_stamp(clock: &ClusterClock, last: &AtomicU64, warned: &mut Option<Instant>) -> u64 {
    match clock.cluster_ms() {
        Some(now) => last.fetch_max(now, Ordering::SeqCst).max(now),
        None => {
            if warned.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                tracing::warn!(
                    "no agreed cluster time yet (too few voters measured): entries repeat the last stamp"
                );
                *warned = Some(Instant::now());
            }
            last.load(Ordering::SeqCst)
        }
    }
}

impl Batcher {
    /// Start the batching task. At most `max_commands` and `max_bytes` (of
    /// encoded commands; a single larger command goes alone) per entry, and
    /// `in_flight` entries being written at once.
    pub(crate) fn start(
        raft: Raft,
        last_stamp: Arc<AtomicU64>,
        clock: Arc<ClusterClock>,
        max_commands: usize,
        max_bytes: usize,
        in_flight: usize,
        stages: Arc<StageMetrics>,
    ) -> Self {
        let (tx, rx) = mpsc::channel::<Pending>(max_commands * in_flight * 4);
        let permits = Arc::new(Semaphore::new(in_flight));
        let mut queue = Gather::new(rx, max_commands, max_bytes);
        tokio::spawn(async move {
            let mut warned = None;
            while let Some(first) = queue.first().await {
                let Ok(permit) = permits.clone().acquire_owned().await else {
                    return;
                };
                // Take everything that queued up meanwhile, within budget.
                let batch = queue.rest(first, |_, _| true);
                let stamp = next_stamp(&clock, &last_stamp, &mut warned);
                let (raft, stages) = (raft.clone(), stages.clone());
                tokio::spawn(async move {
                    let started = std::time::Instant::now();
                    for p in &batch {
                        stages.batch_wait.observe(started - p.queued);
                    }
                    let (commands, waiters): (Vec<_>, Vec<_>) =
                        batch.into_iter().map(|p| (p.command, p.done)).unzip();
                    let result = raft
                        .client_write(Proposal {
                            stamp_ms: stamp,
                            commands,
                        })
                        .await;
                    stages.raft_write.observe(started.elapsed());
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
                                // Raft stopped: the entry may already be
                                // appended and replicated.
                                RaftError::Fatal(f) => ForwardError::Unknown(f.to_string()),
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
                queued: std::time::Instant::now(),
            })
            .await
            .map_err(|_| ForwardError::Refused("this node is shutting down".into()))?;
        Ok(rx)
    }
}
