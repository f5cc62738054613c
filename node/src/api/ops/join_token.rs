//! The join token new nodes present (`GET /api/v1/cluster/join-token`,
//! `POST .../rotate`): shown to the operator with the exact command for a
//! new machine; only its hash is replicated.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::Json;
use serde::Serialize;

use crate::api::auth::require_operator;
use crate::api::error::ApiError;
use crate::api::state::AppState;
use crate::cluster::secrets::JoinToken;
use crate::cluster::{registry, secrets};
use paddle_proto::{ClusterCommand, Command};

#[derive(Serialize)]
pub struct TokenReply {
    join_token: String,
    /// The command to run on a new machine.
    join_command: String,
}

fn token_reply(s: &AppState, token: &str) -> TokenReply {
    let raft = s
        .consensus
        .node_addr(s.consensus.id())
        .map(|a| a.raft)
        .unwrap_or_default();
    TokenReply {
        join_token: token.to_string(),
        join_command: format!("paddle serve --join {raft} --token {token}"),
    }
}

/// This node's data dir (absent only in tests that run consensus alone).
fn data_dir(s: &AppState) -> Result<&crate::cluster::datadir::DataDir, ApiError> {
    s.data_dir
        .as_ref()
        .ok_or_else(|| ApiError::internal("no data dir"))
}

/// The join token for new nodes (operator).
#[utoipa::path(get, path = "/api/v1/cluster/join-token", tag = "cluster", security(("bearer" = [])),
    responses((status = 200, description = "The join token and the command to run"), (status = 404, description = "Not kept on this node")))]
pub async fn join_token(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    require_operator(&s, &headers)?;
    let dd = data_dir(&s)?;
    let token = dd
        .read_join_token()
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let view = s.consensus.view();
    match (token, registry::join_hash(&view)) {
        (Some(t), Some(hash)) => match JoinToken::parse(&t) {
            Ok(jt) if secrets::token_matches(&jt.secret, &hash) => Ok(Json(token_reply(&s, &t))),
            _ => Err(ApiError::not_found(
                "no_join_token_here",
                "the join token kept on this node was rotated elsewhere; ask the node that rotated it, or rotate here",
            )),
        },
        _ => Err(ApiError::not_found(
            "no_join_token_here",
            "this node keeps no copy of the join token; ask the bootstrap node, or rotate the token here",
        )),
    }
}

/// Replace the join token (operator).
#[utoipa::path(post, path = "/api/v1/cluster/join-token/rotate", tag = "cluster", security(("bearer" = [])),
    responses((status = 200, description = "The new join token")))]
pub async fn rotate_join_token(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    require_operator(&s, &headers)?;
    let dd = data_dir(&s)?;
    let ca_pem =
        std::fs::read_to_string(dd.ca_cert()).map_err(|e| ApiError::internal(e.to_string()))?;
    let fp = paddle_consensus::tls::fingerprint_pem(&ca_pem)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let token = JoinToken::new(&fp);
    s.consensus
        .propose(Command::Cluster(ClusterCommand::SetJoinSecretHash {
            hash: token.secret_hash(),
        }))
        .await?;
    dd.write_join_token(&token.to_string())
        .map_err(|e| ApiError::internal(e.to_string()))?;
    tracing::info!("join token rotated; the old one no longer admits nodes");
    Ok(Json(token_reply(&s, &token.to_string())))
}
