//! Peers that must be refused: another CA, a forged node id, oversized and
//! truncated frames. Each is refused, nothing crashes, nothing is applied.

mod common;

use std::time::Duration;

use paddle_consensus::network::transport::{self, PeerClients, TransportError};
use paddle_consensus::network::{PeerRequest, PeerResponse};
use paddle_consensus::tls::{self, issue_identity, CaBundle};
use paddle_consensus::{Consensus, RaftConfig};
use paddle_proto::codec;
use paddle_proto::{Command, Probe};

/// A one-node cluster with a small frame cap that has committed a probe.
async fn single_node(ca: &CaBundle) -> (Consensus, tempfile::TempDir) {
    let raft = RaftConfig {
        frame_cap_bytes: 64 * 1024,
        ..Default::default()
    };
    let (c, dir) = common::single_node(ca, raft).await;
    c.propose(Command::Probe(Probe {
        writer: 1,
        seq: 1,
        payload: vec![],
    }))
    .await
    .unwrap();
    (c, dir)
}

fn forged_append(leader: u64) -> PeerRequest {
    // A heartbeat claiming to come from `leader` at a high term.
    let vote = openraft::Vote::new_committed(99, leader);
    PeerRequest::AppendEntries(openraft::raft::AppendEntriesRequest {
        vote,
        prev_log_id: None,
        entries: vec![],
        leader_commit: None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_from_another_ca_is_refused() {
    let ca = CaBundle::generate("real").unwrap();
    let (c, _dir) = single_node(&ca).await;
    let before = c.view().state_hash();
    let term = c.facts().term;

    let other = CaBundle::generate("impostor").unwrap();
    let impostor = issue_identity(&other, 2).unwrap();
    let endpoint = transport::client_endpoint().unwrap();
    let clients = PeerClients::new(endpoint, &impostor, 64 * 1024).unwrap();
    let addr = c.local_addr().unwrap().to_string();
    let err = clients
        .call(1, &addr, &forged_append(2), Duration::from_secs(2))
        .await
        .unwrap_err();
    assert!(
        matches!(err, TransportError::Unreachable { .. }),
        "handshake must fail: {err}"
    );

    assert_eq!(c.view().state_hash(), before);
    assert_eq!(c.facts().term, term, "the forged heartbeat changed nothing");
    assert!(c
        .propose(Command::Probe(Probe {
            writer: 1,
            seq: 2,
            payload: vec![]
        }))
        .await
        .is_ok());
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_claiming_another_id_is_refused() {
    let ca = CaBundle::generate("real").unwrap();
    let (c, _dir) = single_node(&ca).await;
    let term = c.facts().term;
    // A genuine certificate for node 5 that pretends to be node 3 in the message.
    let five = issue_identity(&ca, 5).unwrap();
    let clients =
        PeerClients::new(transport::client_endpoint().unwrap(), &five, 64 * 1024).unwrap();
    let addr = c.local_addr().unwrap().to_string();
    let err = clients
        .call(1, &addr, &forged_append(3), Duration::from_secs(2))
        .await
        .unwrap_err();
    match err {
        TransportError::Refused { reason, .. } => assert!(reason.contains("claims"), "{reason}"),
        other => panic!("expected a refusal, got {other}"),
    }
    // Dialling node 1 while expecting it to be node 4 fails the handshake.
    let err = clients
        .call(4, &addr, &PeerRequest::ReadIndex, Duration::from_secs(2))
        .await
        .unwrap_err();
    assert!(matches!(err, TransportError::Unreachable { .. }), "{err}");
    assert_eq!(c.facts().term, term);
    assert_eq!(c.facts().role, paddle_consensus::Role::Leader);
    c.shutdown().await;
}

async fn raw_exchange(c: &Consensus, ca: &CaBundle, bytes: Vec<u8>) -> Result<Vec<u8>, String> {
    let me = issue_identity(ca, 7).unwrap();
    let endpoint = transport::client_endpoint().unwrap();
    let cfg = transport::client_config(me.client_config().unwrap()).unwrap();
    let conn = endpoint
        .connect_with(cfg, c.local_addr().unwrap(), &tls::node_name(1))
        .unwrap()
        .await
        .map_err(|e| e.to_string())?;
    let (mut send, mut recv) = conn.open_bi().await.map_err(|e| e.to_string())?;
    // The server may stop reading early; ignore write errors and look at the answer.
    let _ = send.write_all(&bytes).await;
    let _ = send.finish();
    recv.read_to_end(1 << 20).await.map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_truncated_frames_are_refused() {
    let ca = CaBundle::generate("real").unwrap();
    let (c, _dir) = single_node(&ca).await;
    let before = c.view().state_hash();
    let cap = 64 * 1024;

    // Over the cap: a proposal whose payload is bigger than the frame cap.
    let big = PeerRequest::ProposeMany(vec![Command::Probe(Probe {
        writer: 9,
        seq: 9,
        payload: vec![7; 2 * cap],
    })]);
    let frame = codec::encode_frame(&big, usize::MAX).unwrap();
    match raw_exchange(&c, &ca, frame).await {
        Ok(answer) => match codec::decode_frame::<PeerResponse>(&answer, cap).unwrap() {
            PeerResponse::Refused(reason) => assert!(reason.contains("not readable"), "{reason}"),
            other => panic!("expected a refusal, got {other:?}"),
        },
        Err(e) => panic!("expected an answer, got {e}"),
    }

    // Truncated: a header announcing more bytes than follow.
    let good = codec::encode_frame(&PeerRequest::ReadIndex, cap).unwrap();
    let mut cut = good.clone();
    cut[3] += 10;
    let answer = raw_exchange(&c, &ca, cut).await.unwrap();
    match codec::decode_frame::<PeerResponse>(&answer, cap).unwrap() {
        PeerResponse::Refused(reason) => assert!(reason.contains("truncated"), "{reason}"),
        other => panic!("expected a refusal, got {other:?}"),
    }

    // Trailing bytes after a valid frame.
    let mut long = good.clone();
    long.push(0);
    let answer = raw_exchange(&c, &ca, long).await.unwrap();
    match codec::decode_frame::<PeerResponse>(&answer, cap).unwrap() {
        PeerResponse::Refused(reason) => assert!(reason.contains("trailing"), "{reason}"),
        other => panic!("expected a refusal, got {other:?}"),
    }

    // Garbage body.
    let answer = raw_exchange(&c, &ca, vec![0, 0, 0, 4, 0xff, 0xfe, 0xfd, 0xfc])
        .await
        .unwrap();
    assert!(matches!(
        codec::decode_frame::<PeerResponse>(&answer, cap).unwrap(),
        PeerResponse::Refused(_)
    ));

    assert_eq!(c.view().state_hash(), before, "nothing was applied");
    assert!(c
        .propose(Command::Probe(Probe {
            writer: 1,
            seq: 3,
            payload: vec![]
        }))
        .await
        .is_ok());
    c.shutdown().await;
}
