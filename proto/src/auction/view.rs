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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SaleView {
    /// The sale's id.
    pub sale: SaleId,
    /// Its title.
    pub title: String,
    /// Every amount of the sale is in its minor units.
    pub currency: Currency,
    /// Timed (with its schedule) or live.
    pub mode: SaleMode,
    /// Public, so bidders can work out the next minimum themselves.
    pub increments: IncrementTable,
    /// Buyer's premium in basis points.
    pub premium_bp: u32,
    /// The anti-sniping rule, if any.
    pub soft_close: Option<SoftClose>,
    /// Derived from the lots' statuses.
    pub status: SaleStatus,
    /// Number of lots in the catalogue.
    pub lots: u32,
    /// Live sales: the lot on (or last on) the rostrum.
    pub current_lot: Option<LotId>,
    /// Stamp of the command that created it.
    pub created_at_ms: u64,
    /// Set while the operator has the sale paused.
    pub paused: Option<Pause>,
    /// Bidders may register on their own (`false`: at the desk only).
    pub self_registration: bool,
    /// Outbid bidders may ask about the style of the paddle leading them
    /// (`false`: staff turned rival profiles off).
    pub rival_profiles: bool,
}

/// A sale's pause: why, and since when (the stamp; countdowns stand still
/// at `effective_end_ms - since_ms`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Pause {
    pub reason: String,
    pub since_ms: u64,
}

/// How a bid reached the sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BidKind {
    /// From a bidder's page (timed, or live over the internet).
    Online,
    /// Entered by the clerk for someone in the room.
    Floor,
    /// Left before a live lot opened; applied when it opens.
    Absentee,
    /// A maximum left with the office, placed by a clerk on the bidder's
    /// behalf (before a live lot opens it waits, like an absentee bid).
    Commission,
    /// Relayed by a phone clerk (the line number is for staff only).
    Phone,
}

/// A lot's public state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LotView {
    /// The sale it belongs to.
    pub sale: SaleId,
    /// The lot's id.
    pub lot: LotId,
    /// 0-based catalogue position.
    pub position: u32,
    /// Catalogue title.
    pub title: String,
    /// Catalogue text.
    pub description: String,
    /// Where every node serves the lot's photo (`None`: no photo).
    pub image: Option<String>,
    /// Where the lot is in its life.
    pub status: LotStatus,
    /// The least a first bid may be.
    pub start: Money,
    /// `None` before the first counted bid.
    pub price: Option<Money>,
    /// The leading paddle (never their max).
    pub leader: Option<Paddle>,
    /// Whether there is a reserve (its amount stays hidden).
    pub has_reserve: bool,
    /// Whether the leading max meets the reserve (true without one).
    pub reserve_met: bool,
    /// Offered only until the first bid.
    pub buy_now: Option<Money>,
    /// Timed: when bidding opens.
    pub opens_at_ms: Option<u64>,
    /// Timed: the staggered end before any extension.
    pub scheduled_end_ms: Option<u64>,
    /// Timed: the end after soft-close extensions; drives countdowns.
    pub effective_end_ms: Option<u64>,
    /// The least the next bid from a non-leader must be.
    pub minimum_next: Money,
    /// Counted bids.
    pub bids: u32,
    /// Live: the clerk's asking increment override, if any.
    pub asking_increment: Option<Money>,
    /// Set once sold or passed.
    pub result: Option<LotResult>,
}

/// One row of a lot's bid history. The amount shown is the bid's max only
/// once someone beat it; a standing leader's bid shows the price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BidView {
    /// Who bid.
    pub paddle: Paddle,
    /// The amount the history shows (never an unbeaten max).
    pub shown: Money,
    /// Online, floor or absentee.
    pub kind: BidKind,
    /// Leader's stamp of the bid (for an absentee bid: when it was left).
    pub stamp_ms: u64,
    /// Log index of the bid.
    pub index: u64,
    /// Retracted by the operator (kept in the history, struck through).
    pub retracted: bool,
}

/// How a lot ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LotResult {
    /// The lot.
    pub lot: LotId,
    /// Sold or passed.
    pub status: LotStatus,
    /// Sold: the buyer.
    pub winner: Option<Paddle>,
    /// Sold: the hammer price.
    pub hammer: Option<Money>,
    /// Sold: the buyer's premium on the hammer.
    pub premium: Option<Money>,
    /// Sold: hammer plus premium.
    pub total: Option<Money>,
    /// Passed: why.
    pub pass_reason: Option<PassReason>,
    /// Sold through buy-now.
    pub buy_now: bool,
    /// Stamp of the sale or pass.
    pub at_ms: u64,
}

/// Per-bidder figures of a sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BidderStats {
    /// The bidder.
    pub paddle: Paddle,
    /// Counted bids (not retracted).
    pub bids: u32,
    /// Lots won.
    pub wins: u32,
    /// Hammer plus premium of lots won.
    pub spend: Money,
}

/// Per-lot figures of a sale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LotStats {
    /// The lot.
    pub lot: LotId,
    /// Counted bids.
    pub bids: u32,
    /// Distinct paddles among counted bids.
    pub unique_bidders: u32,
    /// Current (or final) price minus start; zero without bids.
    pub price_rise: Money,
}

/// Figures of a whole sale, for the operator's dashboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SaleStats {
    /// The sale.
    pub sale: SaleId,
    /// Every registered bidder (and the house paddle if it bid), by paddle.
    pub bidders: Vec<BidderStats>,
    /// Every lot, in catalogue order.
    pub lots: Vec<LotStats>,
}

/// Who a bearer token belongs to: what the API needs to authorise a bidder
/// on any node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BidderIdentity {
    /// The sale the registration is for.
    pub sale: SaleId,
    /// The bidder's paddle in it.
    pub paddle: Paddle,
    /// The name they registered with (shown to themselves and staff only).
    pub name: String,
    /// Whether they may bid yet.
    pub approved: bool,
    /// Their spending limit, if any.
    pub limit: Option<Money>,
}
