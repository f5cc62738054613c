//! paddle-proto: the language Paddle speaks.
//!
//! # Layout
//!
//! A bid from a browser arrives as JSON (`ws`), becomes a [`Command`] inside a
//! [`Proposal`] (the Raft log payload, stamped by the leader), travels between
//! nodes as a bincode frame (`codec`), is applied by the auction engine, and
//! comes back out as a [`Reply`] to the proposer and as events to watchers.
//!
//! - [`ids`]: node, sale, lot, paddle and bid identifiers.
//! - [`money`]: exact integer money with an ISO 4217 currency.
//! - [`auction`]: auction commands, events and outcomes.
//! - [`command`]: the Raft log payload and the reply to a proposer.
//! - [`codec`]: the only module that touches bincode; frames with a hard cap.
//! - [`kv`]: the key-value traits consensus offers an application's state
//!   machine (and the rules crate writes through).
//!
//! No I/O lives here.

pub mod auction;
pub mod codec;
pub mod command;
pub mod ids;
pub mod kv;
pub mod money;
#[cfg(feature = "openapi")]
mod openapi;

pub use command::{ClusterCommand, ClusterReply, Command, Probe, Proposal, Reply};
pub use ids::NodeId;
pub use money::{Currency, Money, MoneyError};
