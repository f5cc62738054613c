//! What the consensus tests share: a one-node cluster on loopback.

#![allow(dead_code)]

use std::time::Duration;

use paddle_consensus::probe::ProbeApp;
use paddle_consensus::tls::{issue_identity, CaBundle};
use paddle_consensus::types::NodeAddr;
use paddle_consensus::{Consensus, ConsensusConfig, RaftConfig};

/// A one-node cluster under `ca` with these Raft settings, initialised and
/// leading (its data directory lives as long as the returned guard).
pub async fn single_node(ca: &CaBundle, raft: RaftConfig) -> (Consensus, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let identity = issue_identity(ca, 1).unwrap();
    let c = Consensus::start(
        &identity,
        "127.0.0.1:0".parse().unwrap(),
        dir.path(),
        Box::new(ProbeApp),
        ConsensusConfig {
            raft,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let addr = NodeAddr {
        raft: c.local_addr().unwrap().to_string(),
        http: String::new(),
    };
    c.initialize(addr).await.unwrap();
    for _ in 0..200 {
        if c.current_leader() == Some(1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (c, dir)
}
