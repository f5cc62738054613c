//! Read models of a sale's analytics and of a bidder's own history.
//!
//! Every figure here is derived from the replicated state (lot records,
//! bid records and the sale's stored event stream) by the engine's read
//! functions, so every node at the same applied index gives the same
//! answer. Percentages are integers in basis points (1 % = 100 bp) and
//! money is minor units: no float ever touches a figure.

use serde::{Deserialize, Serialize};

use super::ids::{BidId, LotId, Paddle, SaleId};
use super::sale::LotStatus;
use super::view::BidKind;
use crate::money::Money;

/// A sale's dashboard: totals, the bid timeline, per-lot and per-bidder
/// figures and the leaderboards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SaleAnalytics {
    /// The sale.
    pub sale: SaleId,
    /// Whole-sale figures.
    pub summary: AnalyticsSummary,
    /// Counted bids per time bucket, by the log's stamps.
    pub bids_over_time: BidTimeline,
    /// Every lot, in catalogue order.
    pub lots: Vec<LotAnalytics>,
    /// Every bidder who registered or bid, by paddle. Staff only: empty
    /// in the public answer.
    pub bidders: Vec<BidderAnalytics>,
    /// Top bidders by spend (hammer plus premium of lots won), at most 10.
    pub top_by_spend: Vec<LeaderRow>,
    /// Top bidders by counted bids, at most 10.
    pub top_by_bids: Vec<LeaderRow>,
}

/// Whole-sale figures.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AnalyticsSummary {
    /// Lots in the catalogue.
    pub lots: u32,
    /// Lots not opened yet.
    pub scheduled: u32,
    /// Lots taking bids (open or under fair warning).
    pub open: u32,
    /// Lots sold.
    pub sold: u32,
    /// Lots passed (unsold).
    pub passed: u32,
    /// Lots withdrawn.
    pub withdrawn: u32,
    /// Sold lots as a share of sold plus passed, in basis points (`null`
    /// before any lot is sold or passed).
    pub sell_through_bp: Option<u32>,
    /// Sum of the hammer prices of sold lots.
    pub hammer_total: Money,
    /// Sum of the buyer's premiums of sold lots.
    pub premium_total: Money,
    /// Hammer plus premium.
    pub total: Money,
    /// Counted bids (applied, not retracted).
    pub bids: u32,
    /// Bids the operator retracted.
    pub retracted: u32,
    /// Distinct paddles with a counted bid.
    pub active_bidders: u32,
    /// Registered bidders.
    pub registered: u32,
    /// Soft-close extensions triggered by late bids (`lot_extended`).
    pub extensions: u32,
    /// Extensions the operator gave (`lot_extended_by`, reason `operator`).
    pub operator_extensions: u32,
}

/// Counted bids per time bucket. Buckets are `bucket_ms` wide, aligned to
/// multiples of it (cluster time), contiguous from the first bid's bucket
/// to the last's; `bucket_ms` is one minute unless the sale ran longer
/// than 240 buckets, then the next of 2, 5, 10, 15, 30, 60, 120, 240, 720
/// or 1440 minutes that fits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BidTimeline {
    /// Width of a bucket (ms).
    pub bucket_ms: u64,
    /// The buckets, oldest first (empty without bids).
    pub buckets: Vec<BidBucket>,
}

/// One bucket of the bid timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BidBucket {
    /// Start of the bucket (cluster time, ms).
    pub start_ms: u64,
    /// Counted bids stamped in it.
    pub bids: u32,
}

/// Per-lot figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LotAnalytics {
    pub lot: LotId,
    /// 0-based catalogue position.
    pub position: u32,
    pub title: String,
    pub status: LotStatus,
    /// Start price.
    pub start: Money,
    /// Current (or final) price; `null` without bids.
    pub price: Option<Money>,
    /// Sold: the hammer price.
    pub hammer: Option<Money>,
    /// Counted bids.
    pub bids: u32,
    /// Distinct paddles among counted bids.
    pub unique_bidders: u32,
    /// Rise from the start price to the hammer (sold) or the current price
    /// (open), in basis points; `null` without a price.
    pub rise_bp: Option<i64>,
    /// Stamp of the lot's opening (`null` before it opens).
    pub opened_at_ms: Option<u64>,
    /// From opening to the first bid (0 when absentee bids were waiting).
    pub time_to_first_bid_ms: Option<u64>,
    /// Soft-close extensions of this lot.
    pub extensions: u32,
    /// Sold: the buyer.
    pub winner: Option<Paddle>,
    /// Sold: the runner-up, the best other bidder when the hammer fell.
    pub underbidder: Option<Paddle>,
}

/// Per-bidder figures (staff only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BidderAnalytics {
    pub paddle: Paddle,
    /// The registered name (`null` for the house paddle 0).
    pub name: Option<String>,
    /// Counted bids.
    pub bids: u32,
    /// Lots they placed a counted bid on.
    pub lots_bid: u32,
    /// Lots won.
    pub wins: u32,
    /// Hammer plus premium of lots won.
    pub spend: Money,
    /// Times another bid took the lead from them (`outbid` events).
    pub outbid: u32,
}

/// One row of a leaderboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LeaderRow {
    /// 1-based.
    pub rank: u32,
    pub paddle: Paddle,
    /// For staff only (`null` in the public answer).
    pub name: Option<String>,
    pub bids: u32,
    pub wins: u32,
    pub spend: Money,
}

/// A bidder's own history in their sale: only ever shown to that bidder
/// (their maxes are in it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BidderHistory {
    pub sale: SaleId,
    pub paddle: Paddle,
    /// Every bid of theirs, lot by lot in history order.
    pub bids: Vec<HistoryBid>,
    /// Every lot they bid on, in catalogue order.
    pub lots: Vec<HistoryLot>,
    /// Lots won, in catalogue order.
    pub wins: Vec<HistoryWin>,
    /// Hammer plus premium of the lots won.
    pub spend: Money,
    /// Counted bids (applied, not retracted).
    pub counted_bids: u32,
}

/// One of the bidder's own bids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryBid {
    pub lot: LotId,
    pub title: String,
    /// Place in the lot's history.
    pub seq: u32,
    pub bid_id: BidId,
    /// Their maximum.
    pub max: Money,
    /// What the public history shows for it.
    pub shown: Money,
    pub kind: BidKind,
    pub stamp_ms: u64,
    pub index: u64,
    /// False while an absentee bid waits for its live lot to open.
    pub applied: bool,
    pub retracted: bool,
}

/// Where the bidder stands on one lot they bid on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryLot {
    pub lot: LotId,
    pub title: String,
    pub status: LotStatus,
    pub price: Option<Money>,
    /// They lead it now (or won it).
    pub leading: bool,
    /// Their highest maximum (retracted bids left out).
    pub max: Option<Money>,
    /// Their counted bids on it.
    pub bids: u32,
}

/// A lot the bidder won.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HistoryWin {
    pub lot: LotId,
    pub title: String,
    pub hammer: Money,
    pub premium: Money,
    pub total: Money,
    pub buy_now: bool,
    pub at_ms: u64,
}
