//! paddle-node: the `paddle` binary's library.
//!
//! # Layout
//!
//! A request reaches `api` (axum: REST, WebSocket, static UI, health and
//! metrics). Reads are served from the local state (`paddle_consensus`
//! views); writes become a `paddle_proto::Command` handed to
//! `Consensus::propose`, which forwards to the leader, commits through Raft
//! and applies it on every node through `machine::NodeMachine` (the
//! auction rules, cluster facts, probes). `cluster` brings a node into a
//! cluster (bootstrap, join, remove); `serve` wires it all together;
//! `config`, `cli` and `commands` are the command line.

pub mod api;
pub mod bench;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod config;
pub mod logging;
pub mod machine;
pub mod serve;
