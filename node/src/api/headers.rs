//! The headers Paddle adds to HTTP exchanges: the applied index and the
//! stale flag of a read reply, and the index a write's client has seen.

use axum::http::HeaderName;

/// Header naming the applied index a reply reflects.
pub const APPLIED_INDEX_HEADER: HeaderName = HeaderName::from_static("paddle-applied-index");
/// Header saying whether this node has lost touch with the leader.
pub const STALE_HEADER: HeaderName = HeaderName::from_static("paddle-stale");

/// Header a write may carry with the last index its client has seen.
pub const MIN_INDEX_HEADER: &str = "paddle-min-index";
