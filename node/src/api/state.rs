//! What every handler shares: the node's consensus handle, its cluster
//! service, the event channel, and the public API's limits, WebSocket hub
//! and presence counts.

use std::sync::Arc;

use paddle_consensus::Consensus;

use crate::api::analytics_cache::AnalyticsCache;
use crate::api::limits::Limits;
use crate::api::ws::hub::Hub;
use crate::api::ws::presence::Presence;
use crate::cluster::datadir::DataDir;
use crate::cluster::service::ClusterService;
use crate::config::LimitsConfig;

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
    /// The public API's limits, WebSocket hub and presence counts.
    pub api: Arc<PublicApi>,
}

/// State of the public API (REST and WebSocket).
pub struct PublicApi {
    pub limits: Arc<Limits>,
    pub hub: Arc<Hub>,
    pub presence: Presence,
    /// The last analytics figures per sale (see `rest::analytics`).
    pub analytics: AnalyticsCache,
    /// The OpenAPI document, built once with the router.
    pub openapi: Arc<serde_json::Value>,
    /// The venue-local assistant (off unless configured).
    pub assistant: Arc<crate::assistant::Assistant>,
}

impl PublicApi {
    /// The API state for a node with these limits, serving `openapi` as its
    /// OpenAPI document, over HTTPS when `https`.
    pub fn new(
        limits: LimitsConfig,
        openapi: serde_json::Value,
        https: bool,
        assistant: crate::config::AssistantConfig,
    ) -> Arc<PublicApi> {
        let doc = openapi;
        Arc::new(PublicApi {
            limits: Arc::new(Limits::new(limits).with_https(https)),
            hub: Arc::new(Hub::default()),
            presence: Presence::default(),
            analytics: Default::default(),
            openapi: Arc::new(doc),
            assistant: Arc::new(crate::assistant::Assistant::new(assistant)),
        })
    }

    /// This node's watcher counts, for peers asking through the cluster RPC.
    pub fn watcher_counts(hub: Arc<Hub>) -> crate::cluster::service::WatcherCounts {
        Arc::new(move || {
            hub.local_counts()
                .into_iter()
                .map(|(s, n)| (s.0, n))
                .collect()
        })
    }
}
