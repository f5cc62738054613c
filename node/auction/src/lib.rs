//! paddle-auction: the auction rules, and the records that persist them.
//!
//! # Place in the bid path
//!
//! A bid has been checked for shape and auth by the node's API, proposed,
//! committed by Raft and stamped with cluster time. Every node then hands
//! the committed `AuctionCommand::PlaceBid` to
//! [`AuctionMachine::apply`](replicated::AuctionMachine::apply) with its log
//! index and stamp. That runs the pure engine ([`AuctionState::apply`]:
//! state + command + index + stamp → reply + events; `bidding`: check
//! everything, then change the lot's [`Book`] and the bidders' exposure),
//! writes the touched records ([`records`]) through the key-value handle
//! consensus gives it ([`paddle_proto::kv`]) and buffers the events, which
//! the node publishes once the batch is on disk. The node's API reads
//! public views from a consistent view through [`read`], and the leader's
//! timer asks [`due`] which timed lots to open or close.
//!
//! Nothing here has a clock, I/O, randomness or threads (the crate's
//! dependencies are proto, serde, thiserror and a hash): the same commands
//! with the same stamps give the same state and replies on every node,
//! which is what lets every node apply the log alone.
//!
//! # Layout
//!
//! - `state`: the records that make up the state; `book`: proxy pricing;
//!   `engine`: `apply` and the catalogue and registration commands;
//!   `bidding`: bids (online, floor, phone, commission) and retraction;
//!   `lifecycle`: opening, closing, the clerk's commands and the timer's
//!   [`due`] helper; `room`: pause, resume, extend, lot edits, retraction
//!   with a reason; `desk`: desk registration, contact details and sign-in
//!   codes; `assistant`: lot introductions and the rival-profile switch;
//!   `outcomes`: the first outcome of every bid id; `effects`: what
//!   one apply touched and said.
//!   codes; `outcomes`: the first outcome of every bid id; `effects`: what
//!   one apply touched and said; [`settle`]: settlement (terms,
//!   consignors, payments, goods released) and the invoices, statements
//!   and summary derived from them, with their read helpers.
//! - [`records`]: trees, keys and encodings of the stored state;
//!   [`replicated`]: the engine as a replicated state machine;
//!   [`store`]: an in-memory key-value store for tests and tools.
//! - [`read`]: public views for the API; [`analytics`]: a sale's dashboard
//!   figures and a bidder's own history, derived from the same records.

mod assistant;
mod bidding;
mod book;
mod checks;
mod desk;
mod effects;
mod engine;
mod ids;
mod lifecycle;
mod outcomes;
mod room;
mod state;

pub mod analytics;
pub mod settle;

pub mod read;
pub mod records;
pub mod replicated;
pub mod store;

pub use assistant::{INTRO_SOURCES, MAX_INTRO_CHARS};
pub use book::BidEntry;
pub use book::{Book, Standing, Terms};
pub use checks::token_tag;
pub use checks::MAX_BID;
pub use desk::SIGN_IN_VALID_MS;
pub use effects::{Effects, Touched};
pub use engine::{MAX_LOTS_PER_COMMAND, MAX_LOTS_PER_SALE, MAX_PADDLE};
pub use lifecycle::{due, Due};
pub use outcomes::HashKey;
pub use paddle_proto::kv::{KvRead, KvWrite};
pub use records::LoadError;
pub use replicated::AuctionMachine;
pub use room::MAX_EXTEND_MS;
pub use state::{AuctionState, BidNote, Bidder, Counters, DeskRecord, Intro, Lot, Sale};
pub use store::MemStore;
