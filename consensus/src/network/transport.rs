//! QUIC plumbing: one endpoint per node serving both directions, a cache of
//! connections to peers, and the request/response exchange on a bi-stream.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use paddle_proto::codec::{self, CodecError};
use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use serde::{de::DeserializeOwned, Serialize};

use super::gate::AnonymousLimits;
use super::rpc::{PeerRequest, PeerResponse};
use crate::tls::{self, NodeIdentity, TlsError};
use crate::types::NodeId;

/// How a call to a peer failed. `Unreachable` means nothing was sent.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("peer {addr} unreachable: {reason}")]
    Unreachable { addr: String, reason: String },
    #[error("stream to {addr} failed: {reason}")]
    Stream { addr: String, reason: String },
    #[error("no answer from {addr} within {after:?}")]
    Timeout { addr: String, after: Duration },
    #[error("bad frame from {addr}: {source}")]
    Frame { addr: String, source: CodecError },
    #[error("peer {addr} refused the request: {reason}")]
    Refused { addr: String, reason: String },
    /// The request itself is over the frame cap; nothing was sent.
    #[error("request to {addr} not sent: {source}")]
    RequestTooLarge { addr: String, source: CodecError },
}

impl TransportError {
    /// True when the request certainly did not reach the peer.
    pub fn not_sent(&self) -> bool {
        matches!(self, TransportError::Unreachable { .. })
    }
}

/// Bi-streams a member may have open on one connection at once.
pub const MEMBER_STREAMS: u32 = 4096;
/// Bytes a member may have in flight on one connection (snapshot chunks and
/// append batches from several streams at once).
pub const MEMBER_RECEIVE_WINDOW: u32 = 32 * 1024 * 1024;

/// QUIC transport settings: idle detection and flow-control windows sized
/// for snapshot chunks.
fn transport_config() -> quinn::TransportConfig {
    let mut t = quinn::TransportConfig::default();
    t.max_idle_timeout(Some(
        Duration::from_secs(5)
            .try_into()
            .expect("valid idle timeout"),
    ));
    t.keep_alive_interval(Some(Duration::from_millis(1000)));
    t.stream_receive_window((8u32 * 1024 * 1024).into());
    t.receive_window(MEMBER_RECEIVE_WINDOW.into());
    t.send_window(32 * 1024 * 1024);
    t.max_concurrent_bidi_streams(MEMBER_STREAMS.into());
    t
}

/// The accepting side's settings: what a peer gets before its certificate
/// is checked, which is what an anonymous peer keeps (few streams, a
/// receive window of a few requests). The server raises a member to
/// [`MEMBER_STREAMS`] and [`MEMBER_RECEIVE_WINDOW`] once it is identified.
fn server_transport_config(anonymous: &AnonymousLimits) -> Arc<quinn::TransportConfig> {
    let mut t = transport_config();
    t.max_concurrent_bidi_streams(anonymous.streams.into());
    t.max_concurrent_uni_streams(0u32.into());
    let window = u32::try_from(anonymous.receive_window()).unwrap_or(MEMBER_RECEIVE_WINDOW);
    t.receive_window(window.into());
    Arc::new(t)
}

/// Longest wait for a QUIC handshake with a peer.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// A quinn server config from a rustls one, with the limits a peer has
/// before its certificate is checked.
pub fn server_config(
    tls: rustls::ServerConfig,
    anonymous: &AnonymousLimits,
) -> Result<quinn::ServerConfig, TlsError> {
    let crypto = QuicServerConfig::try_from(tls).map_err(|e| TlsError::Verifier(e.to_string()))?;
    let mut cfg = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    cfg.transport_config(server_transport_config(anonymous));
    Ok(cfg)
}

/// A quinn client config from a rustls one.
pub fn client_config(tls: rustls::ClientConfig) -> Result<quinn::ClientConfig, TlsError> {
    let crypto = QuicClientConfig::try_from(tls).map_err(|e| TlsError::Verifier(e.to_string()))?;
    let mut cfg = quinn::ClientConfig::new(Arc::new(crypto));
    cfg.transport_config(Arc::new(transport_config()));
    Ok(cfg)
}

/// Open the node's one QUIC endpoint on `bind`; serve it with the same
/// `anonymous` limits (`server::serve`).
pub fn bind_endpoint(
    identity: &NodeIdentity,
    bind: SocketAddr,
    anonymous: &AnonymousLimits,
) -> Result<quinn::Endpoint, std::io::Error> {
    let server = server_config(
        identity.server_config().map_err(std::io::Error::other)?,
        anonymous,
    )
    .map_err(std::io::Error::other)?;
    quinn::Endpoint::server(server, bind)
}

/// A client-only endpoint (for a node that is joining, or a CLI).
pub fn client_endpoint() -> Result<quinn::Endpoint, std::io::Error> {
    quinn::Endpoint::client("0.0.0.0:0".parse().expect("valid addr"))
}

/// Resolve `host:port`.
pub async fn resolve(addr: &str) -> Result<SocketAddr, String> {
    tokio::net::lookup_host(addr)
        .await
        .map_err(|e| format!("cannot resolve {addr}: {e}"))?
        .next()
        .ok_or_else(|| format!("{addr} resolves to no address"))
}

/// Send one request on a fresh bi-stream of `conn` and read the one
/// response, refusing frames over `cap` and any trailing bytes.
pub async fn exchange<Req: Serialize, Resp: DeserializeOwned>(
    conn: &quinn::Connection,
    req: &Req,
    cap: usize,
    addr: &str,
) -> Result<Resp, TransportError> {
    let stream_err = |e: &dyn std::fmt::Display| TransportError::Stream {
        addr: addr.to_string(),
        reason: e.to_string(),
    };
    let frame = codec::encode_frame(req, cap).map_err(|source| match source {
        CodecError::TooLarge { .. } => TransportError::RequestTooLarge {
            addr: addr.into(),
            source,
        },
        source => TransportError::Frame {
            addr: addr.into(),
            source,
        },
    })?;
    let (mut send, mut recv) = conn.open_bi().await.map_err(|e| stream_err(&e))?;
    send.write_all(&frame).await.map_err(|e| stream_err(&e))?;
    send.finish().map_err(|e| stream_err(&e))?;
    let bytes = recv
        .read_to_end(cap + codec::FRAME_HEADER)
        .await
        .map_err(|e| match e {
            quinn::ReadToEndError::TooLong => TransportError::Frame {
                addr: addr.into(),
                source: CodecError::TooLarge { len: cap + 1, cap },
            },
            other => stream_err(&other),
        })?;
    if bytes.is_empty() {
        return Err(stream_err(
            &"the peer closed the stream without answering (it refused the request)",
        ));
    }
    codec::decode_frame(&bytes, cap).map_err(|source| TransportError::Frame {
        addr: addr.into(),
        source,
    })
}

/// Carries peer requests instead of QUIC: the deterministic simulation's
/// network (`consensus/tests/sim`), which decides for every message whether
/// it arrives, when, and how many times.
pub trait PeerWire: Send + Sync + 'static {
    /// Deliver `req` from `from` to `to` and bring back the answer, failing
    /// as a QUIC call would (`Unreachable`: certainly not delivered). The
    /// caller's deadline is applied around the returned future.
    fn call(
        &self,
        from: NodeId,
        to: NodeId,
        req: &PeerRequest,
    ) -> BoxFuture<'static, Result<PeerResponse, TransportError>>;
}

/// How this node reaches its peers.
enum Link {
    Quic(Quic),
    Wire { me: NodeId, wire: Arc<dyn PeerWire> },
}

/// Connections to peers, cached by node id and dropped on any error so a
/// half-dead connection is never reused.
struct Quic {
    endpoint: quinn::Endpoint,
    client: quinn::ClientConfig,
    conns: Mutex<HashMap<NodeId, quinn::Connection>>,
    /// Calls in a row per peer that timed out without an answer.
    slow: Mutex<HashMap<NodeId, u32>>,
}

/// Calls to peers: over QUIC (cached connections, dropped on any error so a
/// half-dead connection is never reused), or over a test's [`PeerWire`].
pub struct PeerClients {
    link: Link,
    frame_cap: usize,
}

/// Timeouts in a row after which a connection is presumed half-dead and
/// replaced.
const TIMEOUTS_BEFORE_RECONNECT: u32 = 5;

impl PeerClients {
    pub fn new(
        endpoint: quinn::Endpoint,
        identity: &NodeIdentity,
        frame_cap: usize,
    ) -> Result<Self, TlsError> {
        Ok(PeerClients {
            link: Link::Quic(Quic {
                endpoint,
                client: client_config(identity.client_config()?)?,
                conns: Mutex::new(HashMap::new()),
                slow: Mutex::new(HashMap::new()),
            }),
            frame_cap,
        })
    }

    /// Calls from `me` carried by `wire` (the simulation).
    pub fn on_wire(me: NodeId, wire: Arc<dyn PeerWire>, frame_cap: usize) -> Self {
        PeerClients {
            link: Link::Wire { me, wire },
            frame_cap,
        }
    }

    /// The largest frame this node sends or accepts.
    pub fn frame_cap(&self) -> usize {
        self.frame_cap
    }

    /// Forget the cached connection to `target` (after an error).
    pub fn drop_connection(&self, target: NodeId) {
        if let Link::Quic(q) = &self.link {
            q.drop_connection(target);
        }
    }

    /// Call `target` at `addr` and wait at most `deadline` for the answer.
    pub async fn call(
        &self,
        target: NodeId,
        addr: &str,
        req: &PeerRequest,
        deadline: Duration,
    ) -> Result<PeerResponse, TransportError> {
        let result = match &self.link {
            Link::Quic(q) => q.call(target, addr, req, deadline, self.frame_cap).await,
            Link::Wire { me, wire } => {
                match tokio::time::timeout(deadline, wire.call(*me, target, req)).await {
                    Ok(r) => r,
                    Err(_) => Err(TransportError::Timeout {
                        addr: addr.to_string(),
                        after: deadline,
                    }),
                }
            }
        };
        match result {
            Ok(PeerResponse::Refused(reason)) => Err(TransportError::Refused {
                addr: addr.to_string(),
                reason,
            }),
            other => other,
        }
    }
}

impl Quic {
    async fn connection(
        &self,
        target: NodeId,
        addr: &str,
        deadline: Duration,
    ) -> Result<quinn::Connection, TransportError> {
        if let Some(c) = self.conns.lock().expect("lock").get(&target) {
            if c.close_reason().is_none() {
                return Ok(c.clone());
            }
        }
        let unreachable = |reason: String| TransportError::Unreachable {
            addr: addr.to_string(),
            reason,
        };
        let sock = resolve(addr).await.map_err(unreachable)?;
        // Dialing `n<target>.paddle` makes TLS refuse any peer that is not
        // `target` under our CA.
        let connecting = self
            .endpoint
            .connect_with(self.client.clone(), sock, &tls::node_name(target))
            .map_err(|e| unreachable(e.to_string()))?;
        // A live peer on a LAN answers a handshake in milliseconds; a dead
        // one never does, so do not let a long call deadline hold us.
        let handshake = deadline.min(CONNECT_TIMEOUT);
        let conn = tokio::time::timeout(handshake, connecting)
            .await
            .map_err(|_| unreachable(format!("no handshake within {handshake:?}")))?
            .map_err(|e| unreachable(e.to_string()))?;
        tracing::debug!(target, addr, "connected to peer");
        self.conns
            .lock()
            .expect("lock")
            .insert(target, conn.clone());
        Ok(conn)
    }

    fn drop_connection(&self, target: NodeId) {
        if let Some(c) = self.conns.lock().expect("lock").remove(&target) {
            c.close(0u32.into(), b"dropped after an error");
        }
    }

    async fn call(
        &self,
        target: NodeId,
        addr: &str,
        req: &PeerRequest,
        deadline: Duration,
        frame_cap: usize,
    ) -> Result<PeerResponse, TransportError> {
        let started = tokio::time::Instant::now();
        let conn = self.connection(target, addr, deadline).await?;
        let left = deadline.saturating_sub(started.elapsed());
        let result = match tokio::time::timeout(
            left,
            exchange::<_, PeerResponse>(&conn, req, frame_cap, addr),
        )
        .await
        {
            Ok(r) => r,
            Err(_) => Err(TransportError::Timeout {
                addr: addr.to_string(),
                after: deadline,
            }),
        };
        match result {
            Ok(resp) => {
                self.slow.lock().expect("lock").remove(&target);
                Ok(resp)
            }
            Err(e) => {
                // A dead connection is replaced at once. A slow answer is
                // not a dead connection: other streams (a snapshot chunk,
                // say) may be busy on it, so it is dropped only after
                // several calls in a row got nothing back.
                let dead = conn.close_reason().is_some()
                    || !matches!(
                        e,
                        TransportError::Timeout { .. } | TransportError::RequestTooLarge { .. }
                    );
                let misses = {
                    let mut slow = self.slow.lock().expect("lock");
                    let n = slow.entry(target).or_insert(0);
                    *n += 1;
                    *n
                };
                if dead || misses >= TIMEOUTS_BEFORE_RECONNECT {
                    self.slow.lock().expect("lock").remove(&target);
                    self.drop_connection(target);
                }
                Err(e)
            }
        }
    }
}
