//! `GET /api/v1/time`: cluster time and how this node's own clock stands
//! against it (clock sync for clients without a WebSocket).

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::api::reads::server_time_ms;
use crate::api::state::AppState;

/// The server clock: cluster time, and how this node's own clock stands.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TimeOut {
    /// Cluster time, ms since the Unix epoch: the same on every node.
    pub server_time_ms: u64,
    pub node_id: u64,
    /// This node agreed on cluster time with a majority of the voters (at
    /// least once); `false`: `server_time_ms` is this node's own clock.
    pub synced: bool,
    /// A majority of the voters is measured and agrees right now.
    pub agreed: bool,
    /// This node's wall clock minus cluster time, ms (`null` before sync).
    pub offset_ms: Option<f64>,
    /// This node's clock is further than `max_skew_ms` from cluster time.
    pub skewed: bool,
    pub max_skew_ms: u64,
}

/// Cluster time (for clients without a WebSocket), and this node's skew.
#[utoipa::path(get, path = "/api/v1/time", tag = "auth", responses((status = 200, body = TimeOut)))]
pub async fn time(State(s): State<AppState>) -> Json<TimeOut> {
    let c = s.consensus.clock().status();
    Json(TimeOut {
        server_time_ms: server_time_ms(&s.consensus),
        node_id: s.consensus.id(),
        synced: c.synced,
        agreed: c.agreed,
        offset_ms: c.offset_ms,
        skewed: c.skewed,
        max_skew_ms: c.max_skew_ms,
    })
}
