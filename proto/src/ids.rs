//! Identifiers. Raft node ids are plain `u64` because openraft wants them so;
//! everything auction-facing gets its own type.

/// A Raft node id. Assigned by the cluster at join time, never reused.
pub type NodeId = u64;

pub use crate::auction::ids::{BidId, LotId, Paddle, SaleId};
