//! The operator's side of a node: liveness and readiness (`health`),
//! Prometheus metrics (`metrics`), the cluster's nodes and membership
//! changes (`nodes`), the join token (`join_token`) and backups (`backup`).

pub mod backup;
pub mod health;
pub mod join_token;
pub mod metrics;
pub mod nodes;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::state::AppState;

/// Every route of this module.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health::health))
        .routes(routes!(health::ready))
        .routes(routes!(metrics::metrics))
        .routes(routes!(nodes::status))
        .routes(routes!(nodes::remove))
        .routes(routes!(nodes::promote))
        .routes(routes!(nodes::demote))
        .routes(routes!(nodes::lead))
        .routes(routes!(join_token::join_token))
        .routes(routes!(join_token::rotate_join_token))
        .routes(routes!(backup::backup))
}
