//! Read models: what the API may show about a sale, built from the
//! replicated state by the node's read helpers.
//!
//! They hold public facts only. A max is never in here, nor a reserve amount
//! (only whether there is one and whether it is met), nor a bidder's name or
//! token: those stay inside the state machine.

use serde::{Deserialize, Serialize};

use super::ids::{LotId, Paddle, SaleId};
use super::sale::{IncrementTable, LotStatus, PassReason, SaleMode, SaleStatus, SoftClose};
use crate::money::{Currency, Money};

/// A sale as listed and shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleView {
    pub sale: SaleId,
    pub title: String,
    pub currency: Currency,
    pub mode: SaleMode,
    pub increments: IncrementTable,
    pub premium_bp: u32,
    pub soft_close: Option<SoftClose>,
    pub status: SaleStatus,
    pub lots: u32,
    /// Live sales: the lot on (or last on) the rostrum.
    pub current_lot: Option<LotId>,
    pub created_at_ms: u64,
}

/// How a bid reached the sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BidKind {
    /// From a bidder's page (timed, or live over the internet).
    Online,
    /// Entered by the clerk for someone in the room.
    Floor,
    /// Left before a live lot opened; applied when it opens.
    Absentee,
}

/// A lot's public state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LotView {
    pub sale: SaleId,
    pub lot: LotId,
    /// 0-based catalogue position.
    pub position: u32,
    pub title: String,
    pub description: String,
    pub status: LotStatus,
    pub start: Money,
    /// `None` before the first counted bid.
    pub price: Option<Money>,
    pub leader: Option<Paddle>,
    pub has_reserve: bool,
    pub reserve_met: bool,
    /// Offered only until the first bid.
    pub buy_now: Option<Money>,
    pub opens_at_ms: Option<u64>,
    pub scheduled_end_ms: Option<u64>,
    pub effective_end_ms: Option<u64>,
    pub minimum_next: Money,
    pub bids: u32,
    /// Live: the clerk's asking increment override, if any.
    pub asking_increment: Option<Money>,
    /// Set once sold or passed.
    pub result: Option<LotResult>,
}

/// One row of a lot's bid history. The amount shown is the bid's max only
/// once someone beat it; a standing leader's bid shows the price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BidView {
    pub paddle: Paddle,
    pub shown: Money,
    pub kind: BidKind,
    pub stamp_ms: u64,
    pub index: u64,
    pub retracted: bool,
}

/// How a lot ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LotResult {
    pub lot: LotId,
    pub status: LotStatus,
    pub winner: Option<Paddle>,
    pub hammer: Option<Money>,
    pub premium: Option<Money>,
    pub total: Option<Money>,
    pub pass_reason: Option<PassReason>,
    pub buy_now: bool,
    /// Stamp of the sale or pass.
    pub at_ms: u64,
}

/// Per-bidder figures of a sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BidderStats {
    pub paddle: Paddle,
    /// Counted bids (not retracted).
    pub bids: u32,
    pub wins: u32,
    /// Hammer plus premium of lots won.
    pub spend: Money,
}

/// Per-lot figures of a sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LotStats {
    pub lot: LotId,
    pub bids: u32,
    pub unique_bidders: u32,
    /// Current (or final) price minus start; zero without bids.
    pub price_rise: Money,
}

/// Figures of a whole sale, for the operator's dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaleStats {
    pub sale: SaleId,
    pub bidders: Vec<BidderStats>,
    pub lots: Vec<LotStats>,
}

/// Who a bearer token belongs to: what the API needs to authorise a bidder
/// on any node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BidderIdentity {
    pub sale: SaleId,
    pub paddle: Paddle,
    pub name: String,
    pub approved: bool,
    pub limit: Option<Money>,
}
