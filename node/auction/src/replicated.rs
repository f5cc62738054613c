//! The auction state machine: the engine, persisted through consensus's
//! key-value handle.
//!
//! The node's `Application` dispatches `Command::Auction` here:
//!
//! ```text
//! fn apply(&mut self, txn: &mut KvTxn<'_>, e: AppliedEntry<'_>) -> Reply {
//!     match e.command {
//!         Command::Auction(cmd) => Reply::Auction(self.auction.apply_in_batch(txn, e.index, e.stamp_ms, cmd)),
//!         // ...
//!     }
//! }
//! fn batch_ending(&mut self, txn: &mut KvTxn<'_>) { self.auction.end_batch(txn) }
//! fn batch_committed(&mut self, _: &KvView) { publish(self.auction.take_events()) }
//! fn state_replaced(&mut self, view: &KvView) { self.auction.state_replaced(view).expect("...") }
//! ```
//!
//! The in-memory [`AuctionState`] is a cache of the stored records, kept so
//! a bid costs a few map lookups instead of decoding its lot, sale and
//! bidder. The records are the truth: every apply writes what it touched,
//! and [`AuctionMachine::state_replaced`] rebuilds the cache from a view.

use paddle_proto::auction::{AuctionCommand, AuctionReply, EventRecord};

use crate::effects::{Effects, Touched};
use crate::lifecycle::Due;
use crate::outcomes::HashKey;
use crate::records::{event_key, tree, LoadError};
use crate::state::AuctionState;
use paddle_proto::kv::{KvRead, KvWrite};

/// The auction state machine. One per node.
#[derive(Debug, Default)]
pub struct AuctionMachine {
    state: AuctionState,
    /// The key of the in-memory tables' hashes, kept across reloads.
    key: HashKey,
    fx: Effects,
    /// Events of applied commands not yet taken for publishing.
    pending: Vec<EventRecord>,
    /// The log index of the last applied command and the next event seq
    /// within it: one log entry carries several commands (group commit), so
    /// event seqs run on across the commands of an entry and `(index, seq)`
    /// stays unique.
    seq_index: u64,
    next_seq: u32,
    /// Records the commands of the current apply batch touched, written
    /// once at its end ([`AuctionMachine::apply_in_batch`]).
    batch: Touched,
}

impl AuctionMachine {
    /// A machine over an empty state, hashing with the zero key (tests and
    /// tools; a node uses [`AuctionMachine::keyed`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// A machine over an empty state whose tables over client-chosen
    /// strings hash with `key` (the node's own random one: see [`HashKey`]).
    pub fn keyed(key: HashKey) -> Self {
        AuctionMachine {
            state: AuctionState::keyed(key),
            key,
            ..Self::default()
        }
    }

    /// A machine over whatever `store` holds (startup).
    pub fn load(store: &(impl KvRead + ?Sized)) -> Result<Self, LoadError> {
        Ok(AuctionMachine {
            state: AuctionState::load(store)?,
            ..Self::default()
        })
    }

    /// The whole state was replaced (snapshot install, startup): rebuild the
    /// cache and drop events that belonged to the old state.
    pub fn state_replaced(&mut self, store: &(impl KvRead + ?Sized)) -> Result<(), LoadError> {
        self.state = AuctionState::load_keyed(store, self.key)?;
        self.pending.clear();
        self.batch.clear();
        self.seq_index = 0;
        self.next_seq = 0;
        Ok(())
    }

    /// Apply one committed command: decide, write the touched records and
    /// the events (tagged with `index` and `stamp_ms`) through `store`, and
    /// buffer the events for [`AuctionMachine::take_events`].
    pub fn apply<S: KvWrite + ?Sized>(
        &mut self,
        store: &mut S,
        index: u64,
        stamp_ms: u64,
        cmd: &AuctionCommand,
    ) -> AuctionReply {
        self.apply_with(store, index, stamp_ms, cmd, false)
    }

    /// [`AuctionMachine::apply`] for one command of an apply batch: the
    /// records that the batch's commands touch again and again (the lot's
    /// live state, the bidder, the sale, the counters) are written once, by
    /// [`AuctionMachine::end_batch`], which must run before the batch's
    /// writes are stored. What is stored at the end of the batch is the
    /// same; a hot lot's record is encoded once per batch instead of once
    /// per bid.
    pub fn apply_in_batch<S: KvWrite + ?Sized>(
        &mut self,
        store: &mut S,
        index: u64,
        stamp_ms: u64,
        cmd: &AuctionCommand,
    ) -> AuctionReply {
        self.apply_with(store, index, stamp_ms, cmd, true)
    }

    /// Write the records the batch's commands deferred (current values).
    pub fn end_batch<S: KvWrite + ?Sized>(&mut self, store: &mut S) {
        self.batch.dedup();
        self.state.write_touched(&self.batch, store);
        self.batch.clear();
    }

    fn apply_with<S: KvWrite + ?Sized>(
        &mut self,
        store: &mut S,
        index: u64,
        stamp_ms: u64,
        cmd: &AuctionCommand,
        defer: bool,
    ) -> AuctionReply {
        self.fx.clear();
        let reply = self.state.apply(index, stamp_ms, cmd, &mut self.fx);
        if defer {
            self.fx.touched.move_shared_into(&mut self.batch);
        }
        self.fx.touched.dedup();
        self.state.write_touched(&self.fx.touched, store);
        if let (AuctionCommand::SetLotImage { lot, image, .. }, AuctionReply::Accepted { .. }) =
            (cmd, &reply)
        {
            let key = lot.0.to_be_bytes();
            match image {
                Some(i) => store.put(tree::IMAGES, &key, i.bytes.clone()),
                None => store.delete(tree::IMAGES, &key),
            }
        }
        if index != self.seq_index {
            self.seq_index = index;
            self.next_seq = 0;
        }
        for event in self.fx.events.drain(..) {
            let rec = EventRecord {
                index,
                stamp_ms,
                seq: self.next_seq,
                event,
            };
            self.next_seq += 1;
            let key = event_key(rec.event.sale(), index, rec.seq);
            let bytes = paddle_proto::codec::encode(&rec).expect("event records always encode");
            store.put(tree::EVENTS, &key, bytes);
            self.pending.push(rec);
        }
        reply
    }

    /// Events of the commands applied since the last call, in log order.
    /// Call once the batch that produced them is committed.
    pub fn take_events(&mut self) -> Vec<EventRecord> {
        std::mem::take(&mut self.pending)
    }

    /// The engine state (the cache).
    pub fn state(&self) -> &AuctionState {
        &self.state
    }

    /// What the leader's timer should propose at `now_ms`.
    pub fn due(&self, now_ms: u64) -> Due {
        self.state.due(now_ms)
    }
}
