//! What one apply changed: the events to announce and the records to write.
//!
//! The engine appends to an [`Effects`] instead of returning fresh vectors,
//! so the hot bid path reuses the same buffers apply after apply and stays
//! allocation-light. The state machine turns `touched` into key-value writes
//! and `events` into stored, indexed event records.

use paddle_proto::auction::{AuctionEvent, LotId, Paddle, SaleId};

/// Events and touched records of the applies since the last [`Effects::clear`].
#[derive(Debug, Default)]
pub struct Effects {
    /// Events in the order they happened.
    pub events: Vec<AuctionEvent>,
    /// Records that must be (re)written.
    pub touched: Touched,
}

/// Keys of records changed by an apply. May hold duplicates; writers
/// deduplicate or simply write twice.
#[derive(Debug, Default)]
pub struct Touched {
    pub counters: bool,
    pub sales: Vec<SaleId>,
    /// Lots whose live state changed.
    pub lots: Vec<LotId>,
    /// Lots just created (their terms are written once).
    pub new_lots: Vec<LotId>,
    pub bidders: Vec<(SaleId, Paddle)>,
    /// New or changed bid entries: (lot, seq).
    pub bids: Vec<(LotId, u32)>,
    /// Newly indexed token hashes, by bidder.
    pub tokens: Vec<(SaleId, Paddle)>,
    /// Token hashes no longer valid (a reissued or redeemed sign-in).
    pub dead_tokens: Vec<String>,
    /// Sales paused or resumed.
    pub pauses: Vec<SaleId>,
    /// Desk records written (and the sign-in codes they index).
    pub desk: Vec<(SaleId, Paddle)>,
    /// Sign-in code hashes spent or replaced.
    pub dead_codes: Vec<String>,
    /// Bids whose staff note changed: (lot, seq).
    pub bid_notes: Vec<(LotId, u32)>,
    /// Sales whose self-registration was opened or closed.
    pub desk_only: Vec<SaleId>,
    /// Lots given their introduction.
    pub intros: Vec<LotId>,
    /// Sales whose rival profiles were allowed or forbidden.
    pub no_rivals: Vec<SaleId>,
    /// Sales whose settlement terms were set.
    pub settle_terms: Vec<SaleId>,
    /// Consignors created or edited.
    pub consignors: Vec<u32>,
    /// Lots whose consignor was set or cleared.
    pub lot_consignors: Vec<LotId>,
    /// New payments: (sale, paddle, seq).
    pub payments: Vec<(SaleId, Paddle, u32)>,
    /// Lots whose goods were released.
    pub collected: Vec<LotId>,
    /// Keys of newly stored first outcomes (see `outcome_key`), each
    /// prefixed by its length as a big-endian `u16`: one flat buffer so the
    /// bid path allocates nothing here.
    outcome_keys: Vec<u8>,
}

impl Effects {
    /// A fresh, empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forget everything, keeping the allocations for the next apply.
    pub fn clear(&mut self) {
        self.events.clear();
        self.touched.clear();
    }
}

impl Touched {
    /// Forget every key, keeping capacity.
    pub fn clear(&mut self) {
        self.counters = false;
        self.sales.clear();
        self.lots.clear();
        self.new_lots.clear();
        self.bidders.clear();
        self.bids.clear();
        self.tokens.clear();
        self.dead_tokens.clear();
        self.pauses.clear();
        self.desk.clear();
        self.dead_codes.clear();
        self.bid_notes.clear();
        self.desk_only.clear();
        self.intros.clear();
        self.no_rivals.clear();
        self.settle_terms.clear();
        self.consignors.clear();
        self.lot_consignors.clear();
        self.payments.clear();
        self.collected.clear();
        self.outcome_keys.clear();
    }

    /// Remember that the outcome under `key` was stored.
    pub(crate) fn push_outcome(&mut self, key: &[u8]) {
        let len = u16::try_from(key.len()).expect("outcome keys are at most 77 bytes");
        self.outcome_keys.extend_from_slice(&len.to_be_bytes());
        self.outcome_keys.extend_from_slice(key);
    }

    /// Keys of the outcomes stored since the last clear.
    pub fn outcome_keys(&self) -> impl Iterator<Item = &[u8]> {
        let mut rest = self.outcome_keys.as_slice();
        std::iter::from_fn(move || {
            let (len, tail) = rest.split_first_chunk::<2>()?;
            let (key, tail) = tail.split_at(u16::from_be_bytes(*len) as usize);
            rest = tail;
            Some(key)
        })
    }
}
