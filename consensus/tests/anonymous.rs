//! Peers without a client certificate (issue 17): they may only make the
//! join exchange, within small limits, and members keep working while
//! strangers push at those limits.
//!
//! Nothing here asserts on time: the bounds are bytes, streams and
//! connections.

use std::time::Duration;

use paddle_consensus::network::transport::{self, PeerClients};
use paddle_consensus::network::{PeerRequest, PeerResponse};
use paddle_consensus::tls::{self, issue_identity, CaBundle};
use paddle_consensus::{Consensus, RaftConfig};
use paddle_proto::codec;
use paddle_proto::{Command, Probe};

mod common;

use common::single_node;

const MIB: usize = 1024 * 1024;

async fn commits(c: &Consensus, seq: u64) {
    c.propose(Command::Probe(Probe {
        writer: 1,
        seq,
        payload: vec![],
    }))
    .await
    .expect("a proposal commits");
}

/// A member (node 5's genuine certificate) asks for a read index.
async fn member_is_answered(c: &Consensus, ca: &CaBundle) {
    let five = issue_identity(ca, 5).unwrap();
    let clients = PeerClients::new(transport::client_endpoint().unwrap(), &five, 16 * MIB).unwrap();
    let addr = c.local_addr().unwrap().to_string();
    let resp = clients
        .call(1, &addr, &PeerRequest::ReadIndex, Duration::from_secs(5))
        .await
        .expect("a member is answered");
    assert!(matches!(resp, PeerResponse::ReadIndex(Ok(_))), "{resp:?}");
}

/// A connection without a client certificate, as a joining node makes one.
async fn stranger(c: &Consensus, ca: &CaBundle) -> Result<quinn::Connection, String> {
    let tls = tls::join_client_config(&ca.fingerprint().unwrap()).unwrap();
    let cfg = transport::client_config(tls).unwrap();
    let endpoint = transport::client_endpoint().unwrap();
    endpoint
        .connect_with(cfg, c.local_addr().unwrap(), tls::CLUSTER_NAME)
        .unwrap()
        .await
        .map_err(|e| e.to_string())
}

/// Send one request frame and read the answer.
async fn ask(conn: &quinn::Connection, frame: &[u8]) -> Result<PeerResponse, String> {
    // Debug, not Display: a read error's Display leaves out the close reason.
    let (mut send, mut recv) = conn.open_bi().await.map_err(|e| format!("{e:?}"))?;
    let _ = send.write_all(frame).await;
    let _ = send.finish();
    let bytes = recv.read_to_end(MIB).await.map_err(|e| format!("{e:?}"))?;
    codec::decode_frame(&bytes, MIB).map_err(|e| e.to_string())
}

/// The attacker of the issue: one stranger opens many streams, each with a
/// header announcing 8 MiB and then megabytes of payload, never finished.
/// Each is refused on its header, while unfinished; the stranger cannot
/// get more than a few requests' worth of bytes accepted (before the fix
/// the server granted and buffered all of it); the member still commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_announcing_huge_frames_is_refused_on_the_header() {
    let ca = CaBundle::generate("real").unwrap();
    let (c, _dir) = single_node(&ca, RaftConfig::default()).await;
    commits(&c, 1).await;
    let conn = stranger(&c, &ca).await.unwrap();

    let streams = 12;
    let payload = vec![0x55u8; 3 * MIB];
    let mut attempts = Vec::new();
    for _ in 0..streams {
        let conn = conn.clone();
        let payload = payload.clone();
        attempts.push(tokio::spawn(async move {
            let (mut send, mut recv) = conn.open_bi().await.map_err(|e| e.to_string())?;
            send.write_all(&(8 * MIB as u32).to_be_bytes())
                .await
                .map_err(|e| e.to_string())?;
            // Push the payload without finishing; the server stops the
            // stream, which ends these writes.
            let _ = tokio::time::timeout(Duration::from_secs(3), send.write_all(&payload)).await;
            let answer = recv.read_to_end(MIB).await.map_err(|e| e.to_string())?;
            codec::decode_frame::<PeerResponse>(&answer, MIB).map_err(|e| e.to_string())
        }));
    }
    let mut refused = 0;
    for a in attempts {
        match a.await.unwrap() {
            Ok(PeerResponse::Refused(reason)) => {
                assert!(reason.contains("over the cap"), "{reason}");
                refused += 1;
            }
            other => panic!("expected a refusal on the header, got {other:?}"),
        }
    }
    assert_eq!(refused, streams);
    // What the stranger got onto the wire is bounded by the window the
    // server grants a stranger, not by what it tried to send (36 MiB).
    let sent = conn.stats().udp_tx.bytes;
    assert!(
        sent < 2 * MIB as u64,
        "a stranger pushed {sent} bytes into the node"
    );
    commits(&c, 2).await;
    member_is_answered(&c, &ca).await;
    c.shutdown().await;
}

/// A join-sized application request from a stranger reaches the handler
/// (here the probe node has no application handler, and says so); a raft
/// message from a stranger is refused before the handler.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_may_only_make_application_requests() {
    let ca = CaBundle::generate("real").unwrap();
    let (c, _dir) = single_node(&ca, RaftConfig::default()).await;
    let conn = stranger(&c, &ca).await.unwrap();

    // A join request: a 43-character secret and a CSR, as the node sends.
    let (_key, csr_pem) = tls::generate_node_key().unwrap();
    let body = codec::encode(&("J".repeat(43), csr_pem.clone())).unwrap();
    let frame = codec::encode_frame(&PeerRequest::App(body), MIB).unwrap();
    eprintln!(
        "join-like request: CSR {} bytes, frame {} bytes",
        csr_pem.len(),
        frame.len()
    );
    match ask(&conn, &frame).await.unwrap() {
        PeerResponse::Refused(reason) => assert!(reason.contains("not ready"), "{reason}"),
        other => panic!("expected the handler's answer, got {other:?}"),
    }

    let frame = codec::encode_frame(&PeerRequest::ReadIndex, MIB).unwrap();
    match ask(&conn, &frame).await.unwrap() {
        PeerResponse::Refused(reason) => assert!(reason.contains("certificate"), "{reason}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    c.shutdown().await;
}

/// Strangers beyond `anonymous_connections` are closed right after the
/// handshake, and so are those beyond the connection rate; members are
/// not counted and keep working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_beyond_the_connection_limits_are_refused() {
    let ca = CaBundle::generate("real").unwrap();
    let raft = RaftConfig {
        anonymous_connections: 2,
        anonymous_connects_per_second: 1000,
        ..Default::default()
    };
    let (c, _dir) = single_node(&ca, raft).await;
    let app = codec::encode_frame(&PeerRequest::App(vec![1, 2, 3]), MIB).unwrap();

    let first = stranger(&c, &ca).await.unwrap();
    let second = stranger(&c, &ca).await.unwrap();
    assert!(ask(&first, &app).await.is_ok());
    assert!(ask(&second, &app).await.is_ok());
    for _ in 0..5 {
        let extra = stranger(&c, &ca).await.unwrap();
        let err = ask(&extra, &app).await.unwrap_err();
        assert!(err.contains("too many connections"), "{err}");
    }
    member_is_answered(&c, &ca).await;
    commits(&c, 1).await;

    // A slot frees when a stranger leaves.
    first.close(0u32.into(), b"done");
    let mut admitted = false;
    for _ in 0..100 {
        let again = stranger(&c, &ca).await.unwrap();
        if ask(&again, &app).await.is_ok() {
            admitted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(admitted, "a freed slot admits a new stranger");
    c.shutdown().await;
}

/// Beyond `anonymous_connects_per_second` new strangers are refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_beyond_the_connection_rate_are_refused() {
    let ca = CaBundle::generate("real").unwrap();
    let raft = RaftConfig {
        anonymous_connections: 100,
        anonymous_connects_per_second: 1,
        ..Default::default()
    };
    let (c, _dir) = single_node(&ca, raft).await;
    let app = codec::encode_frame(&PeerRequest::App(vec![1, 2, 3]), MIB).unwrap();
    let mut refused = 0;
    for _ in 0..5 {
        let s = stranger(&c, &ca).await.unwrap();
        if let Err(e) = ask(&s, &app).await {
            assert!(e.contains("too many new connections"), "{e}");
            refused += 1;
        }
    }
    // One per second with a burst of one: five handshakes in a row take far
    // less than the seconds that would refill the bucket for each.
    assert!(refused >= 1, "no stranger was refused");
    member_is_answered(&c, &ca).await;
    commits(&c, 1).await;
    c.shutdown().await;
}
