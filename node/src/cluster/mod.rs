//! Cluster life: bootstrap, join, leave; the data dir; tokens.
//!
//! A join goes: `join::join_files` (anonymous QUIC with the CA pinned by
//! the token; `service` checks the secret, allocates an id through Raft and
//! signs the node's key) → Raft starts → `join::after_start` (Admit with
//! the new certificate; the leader's `membership::admit` adds a learner,
//! waits for it to catch up and promotes it while voters are few).

pub mod ca_share;
pub mod datadir;
pub mod join;
pub mod membership;
pub mod registry;
pub mod restore;
pub mod rpc;
pub mod secrets;
pub mod service;
