//! Every voter holds the cluster CA key, so a node can join (its
//! certificate signed) while any voter is up, not only while the bootstrap
//! node is.
//!
//! A voter without the key asks the members it knows for it, over the
//! mutual-TLS cluster RPC; a holder answers only callers that are voters in
//! its current membership. The receiver keeps the key only if it belongs to
//! the CA certificate this node already trusts (same fingerprint, key
//! matching the certificate), written with mode 0600. Learners (edge nodes
//! that serve bidders but do not vote) never get it.

use std::sync::Arc;
use std::time::Duration;

use paddle_consensus::tls::CaBundle;

use super::rpc::{ClusterRequest, ClusterResponse};
use super::service::{call_member, ClusterService, StopReason, SHORT_CALL};

/// How often a voter without the key looks for it.
const EVERY: Duration = Duration::from_secs(2);

/// Run for the node's life: fetch the CA key once this node is a voter.
pub async fn hold_ca_key(svc: Arc<ClusterService>) {
    let me = svc.consensus.id();
    loop {
        tokio::time::sleep(EVERY).await;
        if *svc.stop.borrow() != StopReason::Running {
            return;
        }
        if matches!(svc.data_dir.ca(), Ok(Some(_))) {
            return;
        }
        let facts = svc.consensus.facts();
        if !facts.voters.contains(&me) {
            continue;
        }
        for (id, _) in svc.consensus.other_members() {
            let Ok(ClusterResponse::Ca { cert_pem, key_pem }) =
                call_member(&svc.consensus, id, &ClusterRequest::ShareCa, SHORT_CALL).await
            else {
                continue;
            };
            match keep(&svc, CaBundle { cert_pem, key_pem }) {
                Ok(()) => {
                    tracing::info!(
                        from = id,
                        "this voter now holds the cluster CA key (it can sign joins)"
                    );
                    return;
                }
                Err(why) => tracing::warn!(from = id, %why, "refused the CA key a member sent"),
            }
        }
    }
}

/// Keep `ca` if it is this cluster's CA with its own key.
fn keep(svc: &ClusterService, ca: CaBundle) -> Result<(), String> {
    let ours = std::fs::read_to_string(svc.data_dir.ca_cert())
        .map_err(|e| format!("cannot read this node's CA certificate: {e}"))?;
    let fp = |pem: &str| paddle_consensus::tls::fingerprint_pem(pem).map_err(|e| e.to_string());
    if fp(&ours)? != fp(&ca.cert_pem)? {
        return Err("it is another cluster's CA".into());
    }
    if !ca.key_matches().map_err(|e| e.to_string())? {
        return Err("the key does not belong to the CA certificate".into());
    }
    svc.data_dir.write_ca(&ca).map_err(|e| e.to_string())
}
