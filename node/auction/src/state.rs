//! The auction state: every sale, lot, bidder, bid and first outcome, as
//! plain records.
//!
//! Each record type is also what the state machine stores (one record per
//! key, see `records`), so the in-memory state and the replicated key-value
//! state are two spellings of the same thing and a node can rebuild one from
//! the other at any time.

use std::collections::{BTreeMap, HashMap};

use paddle_proto::auction::{
    AuctionReply, BidId, ImageRef, LotId, LotResult, LotSpec, LotState, LotStatus, Paddle, SaleId,
    SaleMode, SaleSpec,
};
use paddle_proto::auction::{Collection, Consignor, DeskDetails, Pause, Payment, SettlementTerms};
use paddle_proto::Money;
use serde::{Deserialize, Serialize};

use crate::book::BidEntry;
use crate::book::Book;
use crate::ids::{IdMap, IdVec};
use crate::outcomes::{HashKey, Outcomes};

/// Counters that hand out ids during apply (never by clients).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// The next sale id.
    pub next_sale: u64,
    /// The next lot id (global across sales).
    pub next_lot: u64,
}

/// A sale and its catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sale {
    pub id: SaleId,
    pub spec: SaleSpec,
    /// Lots in catalogue order.
    pub lots: Vec<LotId>,
    /// Next paddle number to try when a bidder asks for none.
    pub next_paddle: u32,
    /// Live: the lot opened last. Only it may be reopened.
    pub current_lot: Option<LotId>,
    pub created_at_ms: u64,
}

/// A lot: its terms, where it is in its life, and its bid book. Stored as
/// two records (terms once, live state per change) plus one per bid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lot {
    pub id: LotId,
    pub sale: SaleId,
    /// 0-based catalogue position (drives the staggered close).
    pub position: u32,
    pub spec: LotSpec,
    pub status: LotStatus,
    /// Timed: when bidding may start.
    pub opens_at_ms: Option<u64>,
    /// Timed: the staggered deadline before any extension.
    pub scheduled_end_ms: Option<u64>,
    /// Timed: the deadline after soft-close extensions. A bid is on time iff
    /// its stamp is before it.
    pub effective_end_ms: Option<u64>,
    pub book: Book,
    /// Live: the clerk's asking increment override.
    pub asking_increment: Option<Money>,
    /// Set when sold or passed; cleared by a reopen.
    pub result: Option<LotResult>,
    /// The lot's photo, if any (its bytes are in `auction.images`).
    pub image: Option<ImageRef>,
    /// Every counted or absentee bid, in arrival order (index = seq). Stored
    /// as separate records, one per bid, so a bid never rewrites the history.
    pub bids: Vec<BidEntry>,
}

/// A lot's introduction by the venue's assistant, as stored
/// (`auction.intros`): at most one per lot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intro {
    /// The words, as shown and spoken.
    pub text: String,
    /// `model` or `template`.
    pub source: String,
}

/// A registered bidder of one sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bidder {
    pub sale: SaleId,
    pub paddle: Paddle,
    pub name: String,
    /// SHA-256 hex of the bearer token (never the token).
    pub token_hash: String,
    pub approved: bool,
    /// Cap on `leading + won`.
    pub limit: Option<Money>,
    /// Sum of this bidder's maxes on lots they currently lead.
    pub leading: Money,
    /// Sum of totals (hammer + premium) of lots won.
    pub won: Money,
}

impl Bidder {
    /// What the bidder is committed to now.
    pub fn exposure(&self) -> Money {
        self.leading.saturating_add(self.won)
    }
}

/// The whole auction state. Changed only by [`AuctionState::apply`].
#[derive(Debug, Clone, Default)]
pub struct AuctionState {
    pub(crate) counters: Counters,
    pub(crate) sales: IdVec<SaleId, Sale>,
    pub(crate) lots: IdVec<LotId, Lot>,
    pub(crate) bidders: IdMap<(SaleId, Paddle), Bidder>,
    /// token hash → bidder (an index over `bidders`).
    pub(crate) tokens: HashMap<String, (SaleId, Paddle), HashKey>,
    /// outcome key (see [`outcome_key`]) → the first reply to that bid id.
    pub(crate) outcomes: Outcomes,
    /// Paused sales: since when and why.
    pub(crate) pauses: BTreeMap<SaleId, Pause>,
    /// What the registration desk knows of a bidder (staff only).
    pub(crate) desk: IdMap<(SaleId, Paddle), DeskRecord>,
    /// Live sign-in code hash → bidder (an index over `desk`).
    pub(crate) sign_ins: HashMap<String, (SaleId, Paddle), HashKey>,
    /// Staff notes on single bids: a phone bid's line, a retraction's reason.
    pub(crate) bid_notes: BTreeMap<(LotId, u32), BidNote>,
    /// Sales whose bidders register at the desk only.
    pub(crate) desk_only: std::collections::BTreeSet<SaleId>,
    /// Each opened lot's introduction, once the assistant gave it.
    pub(crate) intros: BTreeMap<LotId, Intro>,
    /// Sales whose staff turned rival profiles off.
    pub(crate) no_rivals: std::collections::BTreeSet<SaleId>,
    /// Settlement: terms, consignors, payments, goods released.
    pub(crate) settle: Settlement,
    /// Scratch buffer for outcome keys (not state).
    pub(crate) key_buf: Vec<u8>,
}

impl PartialEq for AuctionState {
    fn eq(&self, other: &Self) -> bool {
        self.counters == other.counters
            && self.sales == other.sales
            && self.lots == other.lots
            && self.bidders == other.bidders
            && self.tokens == other.tokens
            && self.outcomes == other.outcomes
            && self.pauses == other.pauses
            && self.desk == other.desk
            && self.sign_ins == other.sign_ins
            && self.bid_notes == other.bid_notes
            && self.desk_only == other.desk_only
            && self.intros == other.intros
            && self.no_rivals == other.no_rivals
            && self.settle == other.settle
    }
}

/// The settlement records of every sale (see `settle`): only inputs;
/// invoices and statements are derived from them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Settlement {
    pub terms: BTreeMap<SaleId, SettlementTerms>,
    pub consignors: BTreeMap<u32, Consignor>,
    pub lot_consignors: BTreeMap<LotId, u32>,
    /// Payments per buyer, in the order recorded (index = seq).
    pub payments: BTreeMap<(SaleId, Paddle), Vec<Payment>>,
    /// (sale, payment id) → where it is (an index over `payments`).
    pub payment_ids: BTreeMap<(SaleId, String), (Paddle, u32)>,
    pub collected: BTreeMap<LotId, Collection>,
}

/// The desk's record of a bidder: their details, and the sign-in code they
/// have not redeemed yet (its hash, and until when it works).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeskRecord {
    pub details: DeskDetails,
    pub code_hash: Option<String>,
    pub code_expires_ms: u64,
    /// The code last redeemed (so a retried redeem answers alike).
    pub redeemed: Option<String>,
}

/// Staff notes on one bid.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BidNote {
    /// The phone line a phone bid came in on.
    pub line: Option<u16>,
    /// Why the operator retracted it.
    pub retract_reason: Option<String>,
}

/// Key of a stored first outcome: sale (8 bytes BE), paddle (4 bytes BE),
/// source (1 byte: 0 the bidder's own bids, 1 staff bids for that paddle:
/// floor, phone, commission), then the bid id. Bid ids are scoped to
/// whoever chose them,
/// so two bidders who both pick `"1"`, or a bidder and the clerk, never see
/// each other's outcome.
pub fn outcome_key(buf: &mut Vec<u8>, sale: SaleId, paddle: Paddle, staff: bool, bid_id: &BidId) {
    buf.clear();
    buf.extend_from_slice(&sale.0.to_be_bytes());
    buf.extend_from_slice(&paddle.0.to_be_bytes());
    buf.push(u8::from(staff));
    buf.extend_from_slice(bid_id.as_str().as_bytes());
}

impl AuctionState {
    /// An empty state: no sales, counters at zero (hashing with the zero
    /// key: for tests and tools; a node uses [`AuctionState::keyed`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty state whose in-memory tables over client-chosen strings hash
    /// with `key` (see [`HashKey`]).
    pub fn keyed(key: HashKey) -> Self {
        AuctionState {
            tokens: HashMap::with_hasher(key),
            sign_ins: HashMap::with_hasher(key),
            outcomes: Outcomes::keyed(key),
            ..Self::default()
        }
    }

    /// A sale by id.
    pub fn sale(&self, id: SaleId) -> Option<&Sale> {
        self.sales.get(&id)
    }

    /// Every sale in id order.
    pub fn sales(&self) -> impl Iterator<Item = &Sale> {
        self.sales.values()
    }

    /// A lot by id.
    pub fn lot(&self, id: LotId) -> Option<&Lot> {
        self.lots.get(&id)
    }

    /// Every lot in id order.
    pub fn lots(&self) -> impl Iterator<Item = &Lot> {
        self.lots.values()
    }

    /// A bidder by sale and paddle.
    pub fn bidder(&self, sale: SaleId, paddle: Paddle) -> Option<&Bidder> {
        self.bidders.get(&(sale, paddle))
    }

    /// Every bidder of every sale, in no particular order.
    pub fn bidders(&self) -> impl Iterator<Item = &Bidder> {
        self.bidders.values()
    }

    /// The first reply given to a bid id (a bidder's own, or with `floor`
    /// the clerk's for that paddle), if any.
    pub fn outcome(
        &self,
        sale: SaleId,
        paddle: Paddle,
        floor: bool,
        bid_id: &BidId,
    ) -> Option<&AuctionReply> {
        let mut k = Vec::with_capacity(13 + bid_id.as_str().len());
        outcome_key(&mut k, sale, paddle, floor, bid_id);
        self.outcomes.get(&k)
    }

    /// The id counters.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The public state of a lot (what a reply or a page may show).
    pub fn lot_state(&self, id: LotId) -> Option<LotState> {
        let lot = self.lots.get(&id)?;
        let sale = self.sales.get(&lot.sale)?;
        Some(lot.public_state(sale))
    }
}

impl Lot {
    /// The increment a bid must add at `price`: the clerk's override, else
    /// the sale's table.
    pub fn increment_at(&self, sale: &Sale, price: Money) -> Money {
        self.asking_increment
            .unwrap_or_else(|| sale.spec.increments.increment_at(price))
    }

    /// The least the next bid from a non-leader must be: the start price
    /// without bids, else the price plus the increment of its band.
    pub fn minimum_next(&self, sale: &Sale) -> Money {
        match self.book.price {
            None => self.spec.start,
            Some(p) => p.saturating_add(self.increment_at(sale, p)),
        }
    }

    /// Whether a bid in log entry `index`, stamped `stamp_ms`, is
    /// simultaneous with the last counted bid: the same stamp *and* the same
    /// entry. Bids of one entry were committed together, and nobody could
    /// have seen the others; bids of different entries were not, even if a
    /// clock that stood still gave them one stamp.
    pub fn simultaneous(&self, index: u64, stamp_ms: u64) -> bool {
        self.book.last_stamp_ms == Some(stamp_ms)
            && self
                .bids
                .iter()
                .rev()
                .find(|b| b.applied && !b.retracted)
                .is_some_and(|b| b.index == index)
    }

    /// The minimum a bid in entry `index` stamped `stamp_ms` must reach:
    /// the current minimum, or, for a bid simultaneous with the last counted
    /// one (see [`Lot::simultaneous`]), the minimum that stood before them
    /// (simultaneous bids are judged alike).
    pub fn minimum_at(&self, sale: &Sale, index: u64, stamp_ms: u64) -> Money {
        let now = self.minimum_next(sale);
        if self.simultaneous(index, stamp_ms) {
            now.min(self.book.stamp_minimum)
        } else {
            now
        }
    }

    /// Whether the reserve is met (true when there is no reserve).
    pub fn reserve_met(&self) -> bool {
        match (self.spec.reserve, &self.book.top) {
            (None, _) => true,
            (Some(r), Some(top)) => top.max >= r,
            (Some(_), None) => false,
        }
    }

    /// Buy-now price while it is still offered (timed, no bid yet, open or
    /// scheduled).
    pub fn buy_now_offer(&self, sale: &Sale) -> Option<Money> {
        let timed = matches!(sale.spec.mode, SaleMode::Timed { .. });
        let live_status = matches!(self.status, LotStatus::Scheduled | LotStatus::Open);
        if timed && live_status && self.book.bids == 0 {
            self.spec.buy_now
        } else {
            None
        }
    }

    /// The public state of this lot.
    pub fn public_state(&self, sale: &Sale) -> LotState {
        LotState {
            lot: self.id,
            status: self.status,
            price: self.book.price,
            leader: self.book.top.as_ref().map(|t| t.paddle),
            has_reserve: self.spec.reserve.is_some(),
            reserve_met: self.reserve_met(),
            effective_end_ms: self.effective_end_ms,
            minimum_next: self.minimum_next(sale),
            bids: self.book.bids,
        }
    }

    /// The leader and their max, when this lot's lead counts towards the
    /// leader's limit (open or under fair warning).
    pub(crate) fn leading_exposure(&self) -> Option<(Paddle, Money)> {
        if self.status.is_biddable() {
            self.book.top.as_ref().map(|t| (t.paddle, t.max))
        } else {
            None
        }
    }
}
