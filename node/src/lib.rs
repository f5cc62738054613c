//! paddle-node: the `paddle` binary's library.
//!
//! # Layout
//!
//! A request reaches `api` (axum: REST, WebSocket, static UI, health and
//! metrics). Reads are served from the local state (`paddle_consensus`
//! views); writes become a `paddle_proto::Command` handed to
//! `Consensus::propose`, which forwards to the leader, commits through Raft
//! and applies it on every node through `machine::NodeMachine`.
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
//! - `cluster`: bootstrap, join, remove, backup/restore, tokens, data dir.
//! - `serve`: wires a node together; `config`, `cli`, `commands`: the
//!   command line; `bench`: `paddle bench`.

pub mod api;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod logging;
pub mod machine;
pub mod serve;
pub mod timer;
pub mod tools;
