//! paddle-node: the application behind the `paddle` binary.
//!
//! # Layout
//!
//! A committed `Command::Auction` reaches [`auction::AuctionMachine::apply`]
//! on every node, in log order, with the leader's stamp. The machine runs the
//! pure rules engine ([`auction::AuctionState::apply`]: state + command +
//! stamp → reply + events), writes the touched records through consensus's
//! key-value handle, and buffers the events; the node publishes them once the
//! batch is committed. The API reads public views from a consistent
//! `KvView` through [`auction::read`], and the leader's timer asks
//! [`auction::due`] which timed lots to open or close.
//!
//! - [`auction`]: the rules engine, its state machine, read helpers, the
//!   eBay log replay and the engine benchmark.

pub mod auction;
