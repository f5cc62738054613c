//! The auction state as key-value records: tree names, key layouts, and
//! conversion both ways.
//!
//! | tree              | key                                   | value                 |
//! |-------------------|---------------------------------------|-----------------------|
//! | `auction.meta`    | `counters`                            | [`Counters`]          |
//! | `auction.sales`   | sale (8 B)                            | [`Sale`]              |
//! | `auction.lots`    | lot (8 B)                             | a lot's terms         |
//! | `auction.lot_state` | lot (8 B)                           | a lot's live state    |
//! | `auction.bids`    | lot (8 B) · seq (4 B)                 | [`BidEntry`]          |
//! | `auction.bidders` | sale (8 B) · paddle (4 B)             | [`Bidder`]            |
//! | `auction.tokens`  | token hash (hex)                      | (sale, paddle)        |
//! | `auction.bid_ids` | sale · paddle · source (1 B) · bid id | first `AuctionReply`  |
//! | `auction.events`  | sale (8 B) · index (8 B) · seq (4 B)  | `EventRecord`         |
//! | `auction.images`  | lot (8 B)                             | photo bytes           |
//! | `auction.pauses`  | sale (8 B)                            | `Pause` (while paused) |
//! | `auction.desk`    | sale (8 B) · paddle (4 B)             | [`DeskRecord`]        |
//! | `auction.sign_ins` | sign-in code hash (hex)              | (sale, paddle)        |
//! | `auction.bid_notes` | lot (8 B) · seq (4 B)               | [`BidNote`]           |
//! | `auction.desk_only` | sale (8 B)                          | `()` (self-registration closed) |
//! | `auction.intros`  | lot (8 B)                             | [`Intro`](crate::Intro) |
//! | `auction.no_rivals` | sale (8 B)                          | `()` (rival profiles off) |
//! | `auction.settle_terms` | sale (8 B)                       | `SettlementTerms`     |
//! | `auction.consignors` | consignor id (4 B)                 | `Consignor`           |
//! | `auction.lot_consignors` | lot (8 B)                      | consignor id (`u32`)  |
//! | `auction.payments` | sale (8 B) · paddle (4 B) · seq (4 B) | `Payment`            |
//! | `auction.collected` | lot (8 B)                           | `Collection` (goods released) |
//!
//! Integers are big-endian so byte order is numeric order: a prefix scan of
//! `auction.events` by sale returns that sale's events in log order, and one
//! of `auction.bids` by lot returns its history in order. Values are encoded
//! with the one codec (bincode). Events are written by the machine, not
//! held in [`AuctionState`]. A lot is split in two records: its terms
//! (title, a description of up to 4 000 characters, start, reserve,
//! schedule) are written once, and only its small live state (status,
//! book, deadline, result) is rewritten by each bid.

use paddle_proto::auction::{ImageRef, LotId, LotResult, LotSpec, LotStatus, Paddle, SaleId};
use paddle_proto::codec::{decode, encode, CodecError};
use paddle_proto::Money;
use serde::{de::DeserializeOwned, Deserialize, Serialize};

use crate::book::Book;

use crate::book::BidEntry;
use crate::effects::Touched;
use crate::outcomes::HashKey;
use crate::state::{AuctionState, BidNote, Bidder, Counters, DeskRecord, Lot, Sale};
use crate::store::MemStore;
use paddle_proto::kv::{KvRead, KvWrite};

/// Tree names (no NUL inside, as consensus requires).
pub mod tree {
    /// Id counters.
    pub const META: &str = "auction.meta";
    /// One record per sale.
    pub const SALES: &str = "auction.sales";
    /// One record per lot: its terms, written once.
    pub const LOTS: &str = "auction.lots";
    /// One record per lot: status, book, deadline, result (rewritten by bids).
    pub const LOT_STATE: &str = "auction.lot_state";
    /// One record per counted or absentee bid, by lot then seq.
    pub const BIDS: &str = "auction.bids";
    /// One record per registered bidder, by sale then paddle.
    pub const BIDDERS: &str = "auction.bidders";
    /// Token hash → bidder, so any node can authenticate a bearer token.
    pub const TOKENS: &str = "auction.tokens";
    /// First outcome per bid id: what makes retries idempotent.
    pub const BID_IDS: &str = "auction.bid_ids";
    /// Events per sale in log order, for `since=<index>` replays.
    pub const EVENTS: &str = "auction.events";
    /// Lot photos: lot (8 B) → the image's bytes (its kind and version are
    /// in the lot's live state).
    pub const IMAGES: &str = "auction.images";
    /// Paused sales: sale (8 B) → since when and why.
    pub const PAUSES: &str = "auction.pauses";
    /// The desk's details and pending sign-in code per bidder (staff only).
    pub const DESK: &str = "auction.desk";
    /// Live sign-in code hash → bidder.
    pub const SIGN_INS: &str = "auction.sign_ins";
    /// Staff notes on single bids (phone line, retraction reason).
    pub const BID_NOTES: &str = "auction.bid_notes";
    /// Sales whose self-registration is closed: sale (8 B) → `()`.
    pub const DESK_ONLY: &str = "auction.desk_only";
    /// Each opened lot's introduction: lot (8 B) → `Intro`.
    pub const INTROS: &str = "auction.intros";
    /// Sales whose rival profiles are off: sale (8 B) → `()`.
    pub const NO_RIVALS: &str = "auction.no_rivals";
    /// A sale's settlement terms: sale (8 B) → `SettlementTerms`.
    pub const SETTLE_TERMS: &str = "auction.settle_terms";
    /// Consignors: id (4 B) → `Consignor`.
    pub const CONSIGNORS: &str = "auction.consignors";
    /// Lot (8 B) → the id of the consignor it names.
    pub const LOT_CONSIGNORS: &str = "auction.lot_consignors";
    /// Payments: sale · paddle · seq → `Payment`.
    pub const PAYMENTS: &str = "auction.payments";
    /// Goods released: lot (8 B) → `Collection`.
    pub const COLLECTED: &str = "auction.collected";
}

/// Key of the counters record in `auction.meta`.
pub const COUNTERS_KEY: &[u8] = b"counters";

/// Key of a sale.
pub fn sale_key(sale: SaleId) -> [u8; 8] {
    sale.0.to_be_bytes()
}

/// Key of a lot.
pub fn lot_key(lot: LotId) -> [u8; 8] {
    lot.0.to_be_bytes()
}

/// Key of one bid of a lot.
pub fn bid_key(lot: LotId, seq: u32) -> [u8; 12] {
    let mut k = [0u8; 12];
    k[..8].copy_from_slice(&lot.0.to_be_bytes());
    k[8..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// Key of a bidder.
pub fn bidder_key(sale: SaleId, paddle: Paddle) -> [u8; 12] {
    let mut k = [0u8; 12];
    k[..8].copy_from_slice(&sale.0.to_be_bytes());
    k[8..].copy_from_slice(&paddle.0.to_be_bytes());
    k
}

/// Key of one event.
pub fn event_key(sale: SaleId, index: u64, seq: u32) -> [u8; 20] {
    let mut k = [0u8; 20];
    k[..8].copy_from_slice(&sale.0.to_be_bytes());
    k[8..16].copy_from_slice(&index.to_be_bytes());
    k[16..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// A stored record could not be read back: a bug or a damaged store, never
/// an auction outcome.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("record {key:?} of tree {tree} does not decode: {source}")]
    Decode {
        tree: &'static str,
        key: Vec<u8>,
        source: CodecError,
    },
    #[error("stored state is inconsistent: {0}")]
    Inconsistent(String),
}

/// Decode one stored value.
pub(crate) fn decode_at<T: DeserializeOwned>(
    tree: &'static str,
    key: &[u8],
    v: &[u8],
) -> Result<T, LoadError> {
    decode(v).map_err(|source| LoadError::Decode {
        tree,
        key: key.to_vec(),
        source,
    })
}

/// The id a key of `tree` names: exactly 8 big-endian bytes (a damaged or
/// hand-made store may hold any key; it is refused, never sliced blindly).
fn key_id(tree: &'static str, k: &[u8]) -> Result<u64, LoadError> {
    let id: [u8; 8] = k.try_into().map_err(|_| bad_key(tree, k))?;
    Ok(u64::from_be_bytes(id))
}

/// The id and the 4-byte number after it in a 12-byte key of `tree`.
fn id_and_seq(tree: &'static str, k: &[u8]) -> Result<(u64, u32), LoadError> {
    let k: &[u8; 12] = k.try_into().map_err(|_| bad_key(tree, k))?;
    let (id, seq) = k.split_at(8);
    Ok((
        u64::from_be_bytes(id.try_into().expect("8 bytes")),
        u32::from_be_bytes(seq.try_into().expect("4 bytes")),
    ))
}

fn bad_key(tree: &'static str, k: &[u8]) -> LoadError {
    LoadError::Inconsistent(format!("key {k:?} of tree {tree} has the wrong length"))
}

/// Every record of `tree` under `prefix`, decoded, in key order.
pub fn scan_all<T: DeserializeOwned>(
    store: &(impl KvRead + ?Sized),
    tree: &'static str,
    prefix: &[u8],
) -> Result<Vec<(Vec<u8>, T)>, LoadError> {
    scan_where(store, tree, prefix, |_| true)
}

/// The records of `tree` under `prefix` whose key `keep` accepts (judged
/// before decoding), decoded, in key order.
pub fn scan_where<T: DeserializeOwned>(
    store: &(impl KvRead + ?Sized),
    tree: &'static str,
    prefix: &[u8],
    keep: impl Fn(&[u8]) -> bool,
) -> Result<Vec<(Vec<u8>, T)>, LoadError> {
    scan_decoded(store, tree, prefix, prefix, keep)
}

/// The records of `tree` under `prefix` from the first key `>= from` on,
/// decoded, in key order: the store seeks to `from`.
pub fn scan_from<T: DeserializeOwned>(
    store: &(impl KvRead + ?Sized),
    tree: &'static str,
    prefix: &[u8],
    from: &[u8],
) -> Result<Vec<(Vec<u8>, T)>, LoadError> {
    scan_decoded(store, tree, prefix, from, |_| true)
}

fn scan_decoded<T: DeserializeOwned>(
    store: &(impl KvRead + ?Sized),
    tree: &'static str,
    prefix: &[u8],
    from: &[u8],
    keep: impl Fn(&[u8]) -> bool,
) -> Result<Vec<(Vec<u8>, T)>, LoadError> {
    let mut out = Vec::new();
    let mut err = None;
    store.scan_prefix_from(tree, prefix, from, &mut |k, v| {
        if !keep(k) {
            return true;
        }
        match decode_at(tree, k, v) {
            Ok(t) => {
                out.push((k.to_vec(), t));
                true
            }
            Err(e) => {
                err = Some(e);
                false
            }
        }
    });
    match err {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// A lot's terms as stored (borrowed for writing).
#[derive(Serialize)]
struct LotTermsRef<'a> {
    id: LotId,
    sale: SaleId,
    position: u32,
    spec: &'a LotSpec,
    opens_at_ms: Option<u64>,
    scheduled_end_ms: Option<u64>,
}

/// A lot's terms as stored (owned for reading).
#[derive(Deserialize)]
struct LotTerms {
    id: LotId,
    sale: SaleId,
    position: u32,
    spec: LotSpec,
    opens_at_ms: Option<u64>,
    scheduled_end_ms: Option<u64>,
}

/// A lot's live state as stored (borrowed for writing).
#[derive(Serialize)]
struct LotLiveRef<'a> {
    status: LotStatus,
    effective_end_ms: Option<u64>,
    book: &'a Book,
    asking_increment: Option<Money>,
    result: Option<LotResult>,
    image: Option<ImageRef>,
}

/// A lot's live state as stored (owned for reading).
#[derive(Deserialize)]
struct LotLive {
    status: LotStatus,
    effective_end_ms: Option<u64>,
    book: Book,
    asking_increment: Option<Money>,
    result: Option<LotResult>,
    image: Option<ImageRef>,
}

fn put_lot_terms(out: &mut (impl KvWrite + ?Sized), l: &Lot) {
    let terms = LotTermsRef {
        id: l.id,
        sale: l.sale,
        position: l.position,
        spec: &l.spec,
        opens_at_ms: l.opens_at_ms,
        scheduled_end_ms: l.scheduled_end_ms,
    };
    put(out, tree::LOTS, &lot_key(l.id), &terms);
}

fn put_lot_live(out: &mut (impl KvWrite + ?Sized), l: &Lot) {
    let live = LotLiveRef {
        status: l.status,
        effective_end_ms: l.effective_end_ms,
        book: &l.book,
        asking_increment: l.asking_increment,
        result: l.result,
        image: l.image,
    };
    put(out, tree::LOT_STATE, &lot_key(l.id), &live);
}

fn assemble(terms: LotTerms, live: LotLive) -> Lot {
    Lot {
        id: terms.id,
        sale: terms.sale,
        position: terms.position,
        spec: terms.spec,
        status: live.status,
        opens_at_ms: terms.opens_at_ms,
        scheduled_end_ms: terms.scheduled_end_ms,
        effective_end_ms: live.effective_end_ms,
        book: live.book,
        asking_increment: live.asking_increment,
        result: live.result,
        image: live.image,
        bids: Vec::new(),
    }
}

/// A stored lot (terms and live state, without its bids).
pub fn read_lot(store: &(impl KvRead + ?Sized), lot: LotId) -> Result<Option<Lot>, LoadError> {
    let key = lot_key(lot);
    let (Some(t), Some(l)) = (
        store.get(tree::LOTS, &key),
        store.get(tree::LOT_STATE, &key),
    ) else {
        return Ok(None);
    };
    let terms = decode_at(tree::LOTS, &key, &t)?;
    let live = decode_at(tree::LOT_STATE, &key, &l)?;
    Ok(Some(assemble(terms, live)))
}

pub(crate) fn put<T: Serialize + ?Sized>(
    out: &mut (impl KvWrite + ?Sized),
    tree: &str,
    key: &[u8],
    value: &T,
) {
    // Plain structs and enums of integers and strings always encode; a
    // failure here is a bug, and a state machine must not carry on after it.
    let bytes = encode(value).expect("auction records always encode");
    out.put(tree, key, bytes);
}

impl Touched {
    /// Move the keys that many commands of one apply batch touch again (the
    /// counters, sales, lots' live state, bidders) into `batch`, to be
    /// written once, with their final values, when the batch ends
    /// ([`crate::AuctionMachine::end_batch`]). None of these records is
    /// ever deleted, so writing the last value once stores what writing
    /// every value in turn would.
    pub fn move_shared_into(&mut self, batch: &mut Touched) {
        batch.counters |= std::mem::take(&mut self.counters);
        batch.sales.append(&mut self.sales);
        batch.lots.append(&mut self.lots);
        batch.bidders.append(&mut self.bidders);
    }

    /// Drop repeated keys (an apply may touch a record several times).
    pub fn dedup(&mut self) {
        self.sales.sort_unstable();
        self.sales.dedup();
        self.lots.sort_unstable();
        self.lots.dedup();
        self.new_lots.sort_unstable();
        self.new_lots.dedup();
        self.bidders.sort_unstable();
        self.bidders.dedup();
        self.bids.sort_unstable();
        self.bids.dedup();
        self.pauses.sort_unstable();
        self.pauses.dedup();
        self.desk.sort_unstable();
        self.desk.dedup();
        self.bid_notes.sort_unstable();
        self.bid_notes.dedup();
        self.desk_only.sort_unstable();
        self.desk_only.dedup();
        self.intros.sort_unstable();
        self.intros.dedup();
        self.no_rivals.sort_unstable();
        self.no_rivals.dedup();
        self.settle_terms.sort_unstable();
        self.settle_terms.dedup();
        self.consignors.sort_unstable();
        self.consignors.dedup();
        self.lot_consignors.sort_unstable();
        self.lot_consignors.dedup();
        self.payments.sort_unstable();
        self.payments.dedup();
        self.collected.sort_unstable();
        self.collected.dedup();
    }
}

mod state_io;
