//! Auction commands, outcomes, events and read models.
//!
//! A bid enters as an [`AuctionCommand::PlaceBid`] inside the Raft log, is
//! decided by the node's pure rules engine, answered with an
//! [`AuctionReply`] (accepted with the lot's public state, or rejected with
//! a [`RejectReason`]), and announced as [`AuctionEvent`]s tagged with the
//! log index. Read helpers answer with the [`view`] types.
//!
//! Every enum here reads as internally tagged JSON in browsers
//! (`{"type": "place_bid", ...}`) and as compact bincode in the log and the
//! store; the private `tagged` module explains why both.
//!
//! - [`ids`]: sale, lot, paddle and bid identifiers.
//! - [`sale`]: the terms of sales and lots, increment tables, statuses.
//! - [`command`], [`reply`], [`event`]: what goes in, what comes back, what
//!   everyone is told.
//! - [`view`]: public read models; [`analytics`]: a sale's dashboard and a
//!   bidder's own history.
//! - [`view`]: public read models.
//! - [`settle`]: settlement terms, consignors, payments, invoices and
//!   statements.

#[macro_use]
mod tagged;

pub mod analytics;
pub mod command;
pub mod event;
pub mod ids;
pub mod image;
pub mod reply;
pub mod sale;
pub mod settle;
pub mod view;

pub use analytics::{
    AnalyticsSummary, BidBucket, BidTimeline, BidderAnalytics, BidderHistory, HistoryBid,
    HistoryLot, HistoryWin, LeaderRow, LotAnalytics, SaleAnalytics,
};
pub use command::{AuctionCommand, DeskDetails};
pub use event::{AuctionEvent, EventRecord};
pub use ids::{BidId, BidIdError, LotId, Paddle, SaleId, MAX_BID_ID_LEN};
pub use image::{ImageKind, ImageRef, LotImage, MAX_IMAGE_BYTES};
pub use reply::{Accepted, AuctionReply, LotState, RejectReason};
pub use sale::{
    ExtendRule, IncrementBand, IncrementTable, IncrementTableError, LotSpec, LotStatus, PassReason,
    SaleMode, SaleSpec, SaleStatus, SoftClose, INCREMENT_TABLE_NAMES,
};
pub use settle::{
    Collection, Consignor, Invoice, InvoiceLine, InvoiceStatus, LotConsignor, Payment,
    PaymentMethod, SettlementSummary, SettlementTerms, Statement, StatementLine, TaxBasis,
};
pub use view::{
    BidKind, BidView, BidderIdentity, BidderStats, LotResult, LotStats, LotView, Pause, SaleStats,
    SaleView,
};
