//! The public face of a node: HTTP (REST, WebSocket, static UI) with axum.
//! Only this module imports axum.

pub mod auth;
pub mod cluster;
pub mod error;
pub mod ops;
pub mod probe;

use std::sync::Arc;

use axum::Router;
use paddle_consensus::Consensus;

use crate::cluster::datadir::DataDir;
use crate::cluster::service::ClusterService;

pub use error::ApiError;

/// A function that renders more Prometheus lines (other parts of the node
/// add their counters this way).
pub type MetricsFn = fn(&AppState) -> String;

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub consensus: Consensus,
    pub extra_metrics: Arc<Vec<MetricsFn>>,
    /// Cluster operations (absent in tests that run consensus alone).
    pub cluster: Option<Arc<ClusterService>>,
    pub data_dir: Option<DataDir>,
    /// Auction events of every applied batch, after they are on disk.
    pub events: tokio::sync::broadcast::Sender<Arc<crate::machine::EventBatch>>,
}

/// The whole HTTP surface of a node.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(ops::routes())
        .merge(cluster::routes())
        .merge(probe::routes())
        .with_state(state)
}
