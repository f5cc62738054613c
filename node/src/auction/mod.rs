//! The auction rules: a pure engine, the state machine that persists it,
//! and the tools around it.
//!
//! A bid goes: `AuctionCommand::PlaceBid` → [`AuctionMachine::apply`] →
//! [`AuctionState::apply`] (`bidding`: check everything, then change the
//! lot's [`Book`] and the bidders' exposure, append events) → the touched
//! records are written ([`records`]) → the reply goes to the proposer and
//! the events, after commit, to every watcher.
//!
//! - `state`: the records that make up the state; `book`: proxy pricing;
//!   `engine`: `apply` and the catalogue and registration commands;
//!   `bidding`: bids and retraction; `lifecycle`: opening, closing, the
//!   clerk's commands and the timer's [`due`] helper.
//! - [`records`], [`store`], [`machine`]: persistence through consensus.
//! - [`read`]: public views for the API.
//! - [`replay`]: replays eBay bid logs through the engine.
//! - [`bench`]: measures engine applies per second.

mod bidding;
mod book;
mod effects;
mod engine;
mod lifecycle;
mod outcomes;
mod state;

pub mod bench;
pub mod machine;
pub mod read;
pub mod records;
pub mod replay;
pub mod store;

pub use book::{Book, Standing};
pub use effects::{Effects, Touched};
pub use engine::{MAX_LOTS_PER_COMMAND, MAX_LOTS_PER_SALE, MAX_PADDLE};
pub use lifecycle::{due, Due};
pub use machine::AuctionMachine;
pub use records::LoadError;
pub use replay::{replay_csv, ReplayError, ReplayReport, ReplayRow};
pub use state::{AuctionState, BidEntry, Bidder, Counters, Lot, Sale, MAX_BID};
pub use store::{KvRead, KvWrite, MemStore};
