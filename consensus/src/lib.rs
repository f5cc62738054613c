//! paddle-consensus: agreement on one log.
//!
//! # Layout
//!
//! A proposal enters through [`propose`](crate) on any node. On a follower it
//! is forwarded over QUIC to the leader (`network`); on the leader it is
//! stamped and handed to openraft's `client_write`, which appends it to the
//! sled log (`storage::log`, fdatasync'd before it is acknowledged) and
//! replicates it. Once a majority has it, every node's state machine
//! (`storage::sm`) applies it through the application's [`Application`],
//! writing state and Raft bookkeeping in one atomic sled batch, and the reply
//! travels back to the proposer.
//!
//! - [`types`]: the openraft type configuration.
//! - [`kv`]: the key-value handle the application writes through.
//! - [`app`]: the trait the application implements.

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
pub mod storage;
pub mod tls;
pub mod types;

pub use app::{Application, AppliedEntry};
pub use clock::{ClockConfig, ClockStatus, ClusterClock};
pub use config::{ConsensusConfig, RaftConfig};
pub use kv::{Bytes, KvTxn, KvView};
pub use node::{
    ChangeError, Changed, ClusterFacts, Committed, Consensus, MemberChange, ProposeError,
    ReadError, Role, CATCH_UP_SLACK,
};
