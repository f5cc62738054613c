//! The accepting side of the QUIC endpoint: identify the peer from its
//! certificate, read one framed request per bi-stream, hand it to the
//! handler, write the one framed response.

use std::sync::Arc;

use futures::future::BoxFuture;
use paddle_proto::codec;
use rustls::pki_types::CertificateDer;
use tracing::Instrument;

use super::rpc::{PeerRequest, PeerResponse};
use crate::tls;
use crate::types::NodeId;

/// Who is on the other end of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// A node holding a certificate from our CA that names this id.
    Member(NodeId),
    /// No client certificate: a node that wants to join, or a tool.
    Anonymous,
}

/// Serves requests from peers.
pub trait Handler: Send + Sync + 'static {
    fn handle(self: Arc<Self>, peer: Peer, req: PeerRequest) -> BoxFuture<'static, PeerResponse>;
}

fn identify(conn: &quinn::Connection) -> Result<Peer, String> {
    let Some(identity) = conn.peer_identity() else {
        return Ok(Peer::Anonymous);
    };
    let certs = identity
        .downcast::<Vec<CertificateDer<'static>>>()
        .map_err(|_| "unexpected peer identity type".to_string())?;
    match certs.first() {
        None => Ok(Peer::Anonymous),
        Some(leaf) => tls::node_id_of(leaf)
            .map(Peer::Member)
            .ok_or_else(|| "client certificate names no node id".to_string()),
    }
}

/// Accept connections until the endpoint closes.
pub async fn serve<H: Handler>(endpoint: quinn::Endpoint, handler: Arc<H>, frame_cap: usize) {
    while let Some(incoming) = endpoint.accept().await {
        let handler = handler.clone();
        tokio::spawn(async move {
            let remote = incoming.remote_address();
            let conn = match incoming.await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(%remote, error = %e, "refused a peer connection during the handshake");
                    return;
                }
            };
            let peer = match identify(&conn) {
                Ok(p) => p,
                Err(reason) => {
                    tracing::warn!(%remote, %reason, "refused a peer connection");
                    conn.close(1u32.into(), reason.as_bytes());
                    return;
                }
            };
            let span = tracing::debug_span!("peer", %remote, ?peer);
            serve_connection(conn, peer, handler, frame_cap)
                .instrument(span)
                .await;
        });
    }
}

async fn serve_connection<H: Handler>(
    conn: quinn::Connection,
    peer: Peer,
    handler: Arc<H>,
    cap: usize,
) {
    loop {
        let (mut send, mut recv) = match conn.accept_bi().await {
            Ok(s) => s,
            Err(e) => {
                tracing::debug!(error = %e, "peer connection ended");
                return;
            }
        };
        let handler = handler.clone();
        tokio::spawn(
            async move {
                let response = match recv.read_to_end(cap + codec::FRAME_HEADER).await {
                    Err(e) => {
                        tracing::warn!(error = %e, cap, "refused a peer request that could not be read");
                        PeerResponse::Refused(format!("request not readable: {e}"))
                    }
                    Ok(bytes) => match codec::decode_frame::<PeerRequest>(&bytes, cap) {
                        Err(e) => {
                            tracing::warn!(error = %e, "refused a malformed peer request");
                            PeerResponse::Refused(format!("malformed request: {e}"))
                        }
                        Ok(req) => handler.handle(peer, req).await,
                    },
                };
                if let PeerResponse::Refused(reason) = &response {
                    tracing::debug!(%reason, "answering with a refusal");
                }
                match codec::encode_frame(&response, cap) {
                    Ok(frame) => {
                        if send.write_all(&frame).await.is_ok() {
                            let _ = send.finish();
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "response over the frame cap; dropping it");
                        let _ = send.reset(2u32.into());
                    }
                }
            }
            .in_current_span(),
        );
    }
}
