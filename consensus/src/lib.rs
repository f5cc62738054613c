//! paddle-consensus: agreement on one log, and on one clock.
//!
//! # Place in the bid path
//!
//! A command enters through [`Consensus::propose`] on any node. On a
//! follower it is forwarded over QUIC to the leader (`forwarder`,
//! [`network`]); on the leader the batcher (group commit) stamps it with
//! cluster time ([`clock`]) and hands it to openraft, which appends it to
//! the sled log (`storage::log`, fdatasync'd before it is acknowledged) and
//! replicates it. Once a majority has it, every node's state machine
//! (`storage::sm`) applies it through the application's [`Application`],
//! writing state and Raft bookkeeping in one atomic sled batch through the
//! key-value handle ([`kv`]), and the reply travels back to the proposer.
//! openraft stays inside this crate: the application sees [`Consensus`]'s
//! methods only.
//!
//! # Layout
//!
//! - [`node`]: [`Consensus`], a running member: proposals, reads, facts,
//!   membership changes, what it answers peers, its background tasks;
//! - [`clock`]: cluster time agreed from the members' clocks;
//! - [`config`]: the member's tunables, as the node's config file has them;
//! - `batcher`, `forwarder`: group commit on the leader, batched forwarding;
//! - [`network`]: QUIC transport, peer messages, openraft's network, and
//!   the limits on peers without a certificate (`network::gate`); a test's
//!   `PeerWire` in place of QUIC for the simulation
//!   ([`Consensus::start_simulated`], `tests/sim.rs`);
//! - [`storage`]: the only module that imports sled: log, state machine,
//!   snapshots, durability (fdatasync), direct apply for tools;
//! - [`kv`], [`app`]: the seam the application implements and writes
//!   through; [`tls`]: the cluster's PKI; [`types`]: openraft's types;
//!   [`probe`]: a tiny application for tests and diagnostics;
//!   [`runtime`]: openraft's runtime (tokio) with a random source the
//!   simulation seeds.

pub mod app;
mod batcher;
pub mod clock;
pub mod config;
mod forwarder;
pub mod kv;
pub mod metrics;
pub mod network;
pub mod node;
pub mod probe;
pub mod runtime;
pub mod storage;
pub mod tls;
pub mod types;

pub use app::{Application, AppliedEntry};
pub use clock::{ClockConfig, ClockStatus, ClusterClock};
pub use config::{ConsensusConfig, RaftConfig};
pub use kv::{Bytes, KvTxn, KvView};
pub use node::{
    ChangeError, Changed, ClusterFacts, Committed, Consensus, MemberChange, ProposeError,
    ReadError, Role, Simulated, CATCH_UP_SLACK,
};
