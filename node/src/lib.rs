//! paddle-node: the `paddle` binary's library, the application on top of
//! consensus.
//!
//! # Place in the bid path
//!
//! A bid reaches [`api`] (axum: REST, WebSocket, static UI, health and
//! metrics) on any node: `api::bidding` checks shape, auth, rate and the
//! sale and lot, and hands a `paddle_proto::Command` to
//! `Consensus::propose_idempotent`, which forwards it to the leader, stamps
//! it with cluster time and commits it through Raft. Every node then
//! applies it through [`machine::NodeMachine`], which routes auction
//! commands to `paddle_auction::AuctionMachine` (the pure rules, persisted
//! through consensus's key-value handle) and cluster commands to
//! [`cluster::registry`], and publishes the batch's events once they are on
//! disk; `api::ws::hub` pushes them to every watcher. The leader's
//! [`timer`] proposes timed lots' openings and closings.
//!
//! # Layout
//!
//! - [`cli`]: the command line (typed arguments), running a command's
//!   async body, and the log subscriber; [`config`]: the one configuration struct;
//! - [`serve`]: wires a node together and runs it;
//! - [`api`]: everything HTTP; [`cluster`]: bootstrap, join, membership as
//!   the node answers it, tokens, the data dir, backup and restore;
//! - [`machine`]: the replicated state machine; [`timer`]: timed lots;
//! - [`assistant`]: the venue-local assistant (suggestions, lot
//!   introductions, rival profiles), never on the bid path;
//! - [`tools`]: the client and measuring commands, apart from the server.

pub mod api;
pub mod assistant;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod machine;
pub mod serve;
pub mod timer;
pub mod tools;
