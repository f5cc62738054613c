//! The node's replicated state machine: routes each committed command to
//! the part of the node that owns it, and publishes auction events once the
//! batch that produced them is on disk.

use std::sync::Arc;

use paddle_consensus::probe::apply_probe;
use paddle_consensus::{Application, AppliedEntry, KvTxn, KvView};
use paddle_proto::auction::EventRecord;
use paddle_proto::{Command, Reply};
use tokio::sync::broadcast;

use crate::cluster::registry;
use paddle_auction::{AuctionMachine, HashKey};

/// Events of one applied batch, in log order, with the index the state
/// reflects once they are all applied. A batch with no events means the
/// whole state was replaced (snapshot install): watchers must start over
/// from the state at `applied_index`.
#[derive(Debug, Clone)]
pub struct EventBatch {
    pub applied_index: u64,
    pub events: Vec<EventRecord>,
}

/// Capacity of the event channel, in batches. A subscriber that falls this
/// far behind is told it lagged and resumes from the stored events.
pub const EVENT_CHANNEL_BATCHES: usize = 4096;

/// Everything a node applies: auction commands, cluster facts, probes.
pub struct NodeMachine {
    auction: AuctionMachine,
    events: broadcast::Sender<Arc<EventBatch>>,
}

impl NodeMachine {
    /// A machine whose events go to `events` (nobody listening is fine).
    /// The auction tables over client-chosen strings hash with a key drawn
    /// here, so nobody outside this process can aim collisions at them.
    pub fn new(events: broadcast::Sender<Arc<EventBatch>>) -> Self {
        NodeMachine {
            auction: AuctionMachine::keyed(HashKey::new(rand::random(), rand::random())),
            events,
        }
    }

    /// A machine for tools and benchmarks that publish nowhere.
    pub fn standalone() -> Self {
        Self::new(broadcast::channel(1).0)
    }
}

impl Application for NodeMachine {
    fn apply(&mut self, txn: &mut KvTxn<'_>, entry: AppliedEntry<'_>) -> Reply {
        match entry.command {
            Command::Probe(p) => apply_probe(txn, entry.index, p),
            Command::Cluster(c) => registry::apply(txn, c),
            Command::Auction(a) => {
                Reply::Auction(
                    self.auction
                        .apply_in_batch(txn, entry.index, entry.stamp_ms, a),
                )
            }
        }
    }

    fn batch_ending(&mut self, txn: &mut KvTxn<'_>) {
        self.auction.end_batch(txn);
    }

    fn batch_committed(&mut self, view: &KvView) {
        let events = self.auction.take_events();
        if !events.is_empty() {
            // No receiver is fine: nobody is watching.
            let _ = self.events.send(Arc::new(EventBatch {
                applied_index: view.applied_index(),
                events,
            }));
        }
    }

    fn state_replaced(&mut self, view: &KvView) {
        if let Err(e) = self.auction.state_replaced(view) {
            // The stored records cannot be read back: the data dir is
            // damaged. Running on would serve wrong prices.
            tracing::error!(error = %e, "the auction state in the data dir is damaged");
            panic!("the auction state in the data dir is damaged: {e}");
        }
        // Events between the old state and this one were never seen here.
        let _ = self.events.send(Arc::new(EventBatch {
            applied_index: view.applied_index(),
            events: Vec::new(),
        }));
    }
}
