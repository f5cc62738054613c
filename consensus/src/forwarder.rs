//! Forwarding from a follower to the leader, batched.
//!
//! Every proposal a follower receives goes to the leader. One QUIC stream
//! per proposal costs a stream setup and a leader task each; under load the
//! forwarder sends everything waiting as one request instead, and the
//! leader feeds the commands to its own batcher.

use std::sync::Arc;
use std::time::Duration;

use paddle_proto::Command;
use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::batcher::{Budgeted, Gather, Outcome};
use crate::metrics::StageMetrics;
use crate::network::{ForwardError, PeerClients, PeerRequest, PeerResponse, TransportError};
use crate::types::NodeId;

/// Most commands in one forwarded request.
const FORWARD_BATCH: usize = 256;
/// Forwarded requests in flight at once.
const FORWARDS_IN_FLIGHT: usize = 8;

struct Pending {
    leader: NodeId,
    addr: String,
    command: Command,
    /// Encoded size of `command`.
    bytes: usize,
    done: oneshot::Sender<Result<Outcome, TransportError>>,
}

impl Budgeted for Pending {
    fn bytes(&self) -> usize {
        self.bytes
    }
}

/// Sends proposals to the leader in batches.
#[derive(Clone)]
pub(crate) struct Forwarder {
    tx: mpsc::Sender<Pending>,
}

impl Forwarder {
    /// Start the forwarding task: at most `max_bytes` of encoded commands
    /// per request (a single larger command goes alone).
    pub(crate) fn start(
        clients: Arc<PeerClients>,
        deadline: Duration,
        max_bytes: usize,
        stages: Arc<StageMetrics>,
    ) -> Self {
        let (tx, rx) = mpsc::channel::<Pending>(FORWARD_BATCH * FORWARDS_IN_FLIGHT * 4);
        let permits = Arc::new(Semaphore::new(FORWARDS_IN_FLIGHT));
        let mut queue = Gather::new(rx, FORWARD_BATCH, max_bytes);
        tokio::spawn(async move {
            while let Some(first) = queue.first().await {
                let Ok(permit) = permits.clone().acquire_owned().await else {
                    return;
                };
                let (leader, addr) = (first.leader, first.addr.clone());
                // A batch goes to one leader, within the byte budget.
                let batch = queue.rest(first, |a, b| a.leader == b.leader);
                let (clients, stages) = (clients.clone(), stages.clone());
                tokio::spawn(async move {
                    let (commands, waiters): (Vec<_>, Vec<_>) =
                        batch.into_iter().map(|p| (p.command, p.done)).unzip();
                    let n = commands.len();
                    let req = PeerRequest::ProposeMany(commands);
                    let started = std::time::Instant::now();
                    let result = clients.call(leader, &addr, &req, deadline).await;
                    stages.forward.observe(started.elapsed());
                    drop(permit);
                    match result {
                        Ok(PeerResponse::ProposedMany(outcomes)) if outcomes.len() == n => {
                            for (w, o) in waiters.into_iter().zip(outcomes) {
                                let _ = w.send(Ok(o));
                            }
                        }
                        Ok(other) => {
                            let e = ForwardError::Unknown(format!(
                                "unexpected answer from the leader: {other:?}"
                            ));
                            for w in waiters {
                                let _ = w.send(Ok(Err(e.clone())));
                            }
                        }
                        Err(e) => {
                            let not_sent = e.not_sent();
                            let text = e.to_string();
                            for w in waiters {
                                let err = if not_sent {
                                    TransportError::Unreachable {
                                        addr: addr.clone(),
                                        reason: text.clone(),
                                    }
                                } else {
                                    TransportError::Stream {
                                        addr: addr.clone(),
                                        reason: text.clone(),
                                    }
                                };
                                let _ = w.send(Err(err));
                            }
                        }
                    }
                });
            }
        });
        Forwarder { tx }
    }

    /// Forward one command to `leader` at `addr`.
    pub(crate) async fn forward(
        &self,
        leader: NodeId,
        addr: String,
        command: Command,
    ) -> Result<Outcome, TransportError> {
        let (done, rx) = oneshot::channel();
        let unreachable = |addr: &str| TransportError::Unreachable {
            addr: addr.to_string(),
            reason: "this node is shutting down".into(),
        };
        if self
            .tx
            .send(Pending {
                leader,
                addr: addr.clone(),
                bytes: paddle_proto::codec::encoded_len(&command),
                command,
                done,
            })
            .await
            .is_err()
        {
            return Err(unreachable(&addr));
        }
        rx.await.unwrap_or_else(|_| Err(unreachable(&addr)))
    }
}
