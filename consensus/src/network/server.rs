//! The accepting side of the QUIC endpoint: identify the peer from its
//! certificate, read one framed request per bi-stream (with a bound, and a
//! small one for peers without a certificate), hand it to the handler,
//! write the one framed response.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use paddle_proto::codec::{self, CodecError};
use rustls::pki_types::CertificateDer;
use tracing::Instrument;

use super::gate::{AnonymousLimits, Gate, LogThrottle};
use super::rpc::{PeerRequest, PeerResponse};
use super::transport::{MEMBER_RECEIVE_WINDOW, MEMBER_STREAMS};
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

/// At most one WARN line per this period for refused strangers (failed
/// handshakes, unreadable or oversized requests, connections over the
/// limits); the line counts the ones held back.
pub const REFUSAL_LOG_PERIOD: Duration = Duration::from_secs(10);

/// How long an anonymous peer may take to send one whole request: a join
/// request is a few hundred bytes, so a stream still open after this is
/// holding a slot on purpose.
const ANONYMOUS_READ_DEADLINE: Duration = Duration::from_secs(10);

/// QUIC application error code for a stream or connection refused by us.
const REFUSED: u32 = 1;

/// What the server needs besides the handler: the caps and the gate.
struct Limits {
    frame_cap: usize,
    gate: Gate,
    log: LogThrottle,
}

impl Limits {
    /// Log a refusal of a stranger, at most once per [`REFUSAL_LOG_PERIOD`].
    fn refused(&self, what: &str, remote: std::net::SocketAddr, reason: &dyn std::fmt::Display) {
        if let Some(suppressed) = self.log.admit() {
            tracing::warn!(%remote, %reason, suppressed, "{what} (further refusals are logged at most every {REFUSAL_LOG_PERIOD:?}; `suppressed` counts those held back)");
        } else {
            tracing::debug!(%remote, %reason, "{what}");
        }
    }
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

/// Accept connections until the endpoint closes. The endpoint must have
/// been bound with the same `anonymous` limits (its initial stream credit
/// and receive window are theirs).
pub async fn serve<H: Handler>(
    endpoint: quinn::Endpoint,
    handler: Arc<H>,
    frame_cap: usize,
    anonymous: AnonymousLimits,
) {
    let limits = Arc::new(Limits {
        frame_cap,
        gate: Gate::new(anonymous),
        log: LogThrottle::new(REFUSAL_LOG_PERIOD),
    });
    while let Some(incoming) = endpoint.accept().await {
        let handler = handler.clone();
        let limits = limits.clone();
        tokio::spawn(async move {
            let remote = incoming.remote_address();
            let conn = match incoming.await {
                Ok(c) => c,
                Err(e) => {
                    limits.refused("refused a peer connection during the handshake", remote, &e);
                    return;
                }
            };
            let peer = match identify(&conn) {
                Ok(p) => p,
                Err(reason) => {
                    limits.refused("refused a peer connection", remote, &reason);
                    conn.close(REFUSED.into(), reason.as_bytes());
                    return;
                }
            };
            let (slot, cap) = match peer {
                Peer::Member(_) => {
                    conn.set_max_concurrent_bi_streams(MEMBER_STREAMS.into());
                    conn.set_receive_window(MEMBER_RECEIVE_WINDOW.into());
                    (None, limits.frame_cap)
                }
                Peer::Anonymous => match limits.gate.admit() {
                    Ok(slot) => (Some(slot), limits.gate.limits().frame_cap),
                    Err(reason) => {
                        limits.refused(
                            "refused a connection without a certificate",
                            remote,
                            &reason,
                        );
                        conn.close(REFUSED.into(), reason.as_bytes());
                        return;
                    }
                },
            };
            let span = tracing::debug_span!("peer", %remote, ?peer);
            serve_connection(conn, peer, handler, cap, limits)
                .instrument(span)
                .await;
            drop(slot);
        });
    }
}

/// Why a request was not handed to the handler.
enum Unread {
    /// The stream failed, or the frame is over the cap: "not readable".
    Unreadable(String),
    /// The frame is cut short, has trailing bytes or does not decode.
    Malformed(CodecError),
}

/// Read one request frame of at most `cap` body bytes. The header is read
/// first and an oversized frame is refused before its body is read; the
/// stream is then stopped, so quinn discards whatever else arrives on it.
async fn read_request(recv: &mut quinn::RecvStream, cap: usize) -> Result<PeerRequest, Unread> {
    use quinn::ReadExactError;
    let mut header = [0u8; codec::FRAME_HEADER];
    match recv.read_exact(&mut header).await {
        Ok(()) => {}
        Err(ReadExactError::FinishedEarly(got)) => {
            return Err(Unread::Malformed(CodecError::Truncated {
                expected: codec::FRAME_HEADER,
                got,
            }))
        }
        Err(ReadExactError::ReadError(e)) => return Err(Unread::Unreadable(e.to_string())),
    }
    let len = codec::frame_len(header, cap).map_err(|e| Unread::Unreadable(e.to_string()))?;
    let mut body = vec![0u8; len];
    match recv.read_exact(&mut body).await {
        Ok(()) => {}
        Err(ReadExactError::FinishedEarly(got)) => {
            return Err(Unread::Malformed(CodecError::Truncated {
                expected: len,
                got,
            }))
        }
        Err(ReadExactError::ReadError(e)) => return Err(Unread::Unreadable(e.to_string())),
    }
    let mut more = [0u8; 64];
    match recv.read(&mut more).await {
        Ok(None) => {}
        Ok(Some(n)) => return Err(Unread::Malformed(CodecError::TrailingBytes(n))),
        Err(e) => return Err(Unread::Unreadable(e.to_string())),
    }
    codec::decode(&body).map_err(Unread::Malformed)
}

/// Read, check and answer one request on one bi-stream.
async fn serve_stream<H: Handler>(
    mut send: quinn::SendStream,
    mut recv: quinn::RecvStream,
    peer: Peer,
    handler: Arc<H>,
    cap: usize,
    limits: Arc<Limits>,
    remote: std::net::SocketAddr,
) {
    let read = match peer {
        Peer::Member(_) => read_request(&mut recv, cap).await,
        Peer::Anonymous => {
            tokio::time::timeout(ANONYMOUS_READ_DEADLINE, read_request(&mut recv, cap))
                .await
                .unwrap_or_else(|_| {
                    Err(Unread::Unreadable(format!(
                        "not complete within {ANONYMOUS_READ_DEADLINE:?}"
                    )))
                })
        }
    };
    let response = match read {
        Err(Unread::Unreadable(e)) => {
            let _ = recv.stop(REFUSED.into());
            limits.refused("refused a peer request that could not be read", remote, &e);
            PeerResponse::Refused(format!("request not readable: {e}"))
        }
        Err(Unread::Malformed(e)) => {
            let _ = recv.stop(REFUSED.into());
            limits.refused("refused a malformed peer request", remote, &e);
            PeerResponse::Refused(format!("malformed request: {e}"))
        }
        // A peer without a certificate may only make application requests
        // (the join exchange); the application refuses the rest of them.
        Ok(req) if peer == Peer::Anonymous && !matches!(req, PeerRequest::App(_)) => {
            limits.refused(
                "refused a request from a peer without a certificate",
                remote,
                &req.kind(),
            );
            PeerResponse::Refused(format!("{} requests need a member certificate", req.kind()))
        }
        Ok(req) => handler.handle(peer, req).await,
    };
    if let PeerResponse::Refused(reason) = &response {
        tracing::debug!(%reason, "answering with a refusal");
    }
    match codec::encode_frame(&response, limits.frame_cap) {
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

async fn serve_connection<H: Handler>(
    conn: quinn::Connection,
    peer: Peer,
    handler: Arc<H>,
    cap: usize,
    limits: Arc<Limits>,
) {
    let remote = conn.remote_address();
    loop {
        let (send, recv) = match conn.accept_bi().await {
            Ok(s) => s,
            Err(e) => {
                tracing::debug!(error = %e, "peer connection ended");
                return;
            }
        };
        tokio::spawn(
            serve_stream(
                send,
                recv,
                peer,
                handler.clone(),
                cap,
                limits.clone(),
                remote,
            )
            .in_current_span(),
        );
    }
}
