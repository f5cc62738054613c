//! In-process clusters over real QUIC on loopback.

use std::collections::BTreeMap;
use std::time::Duration;

use paddle_consensus::probe::{ProbeApp, PROBE_TREE};
use paddle_consensus::tls::{issue_identity, CaBundle};
use paddle_consensus::types::NodeAddr;
use paddle_consensus::{Consensus, ConsensusConfig, KvView, RaftConfig};
use paddle_proto::{Command, Probe, Reply};

struct TestNode {
    c: Consensus,
    _dir: tempfile::TempDir,
}

async fn start_node(ca: &CaBundle, id: u64, cfg: ConsensusConfig) -> TestNode {
    let dir = tempfile::tempdir().unwrap();
    let identity = issue_identity(ca, id).unwrap();
    let c = Consensus::start(
        &identity,
        "127.0.0.1:0".parse().unwrap(),
        dir.path(),
        Box::new(ProbeApp),
        cfg,
    )
    .await
    .unwrap();
    TestNode { c, _dir: dir }
}

fn addr_of(n: &TestNode) -> NodeAddr {
    NodeAddr {
        raft: n.c.local_addr().unwrap().to_string(),
        http: String::new(),
    }
}

async fn three_nodes(cfg: ConsensusConfig) -> Vec<TestNode> {
    let ca = CaBundle::generate("test").unwrap();
    let mut nodes = Vec::new();
    for id in 1..=3 {
        nodes.push(start_node(&ca, id, cfg.clone()).await);
    }
    let others: Vec<_> = nodes[1..].iter().map(|n| (n.c.id(), addr_of(n))).collect();
    nodes[0].c.form(addr_of(&nodes[0]), &others).await.unwrap();
    nodes
}

async fn wait_for(mut f: impl FnMut() -> bool) {
    for _ in 0..500 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("condition not reached in 10 s");
}

fn probe(writer: u64, seq: u64) -> Command {
    Command::Probe(Probe {
        writer,
        seq,
        payload: format!("{writer}/{seq}").into_bytes(),
    })
}

/// Probes as `(writer, seq) -> index` from a node's state.
fn probes(n: &TestNode) -> BTreeMap<(u64, u64), u64> {
    probes_in(&n.c.view())
}

/// Probes as `(writer, seq) -> index` in one view.
fn probes_in(view: &KvView) -> BTreeMap<(u64, u64), u64> {
    view.scan(PROBE_TREE, b"")
        .map(|(k, v)| {
            let w = u64::from_be_bytes(k[..8].try_into().unwrap());
            let s = u64::from_be_bytes(k[8..16].try_into().unwrap());
            ((w, s), u64::from_be_bytes(v[..8].try_into().unwrap()))
        })
        .collect()
}

/// `count` probes proposed through every node at once; each must commit
/// and answer with its own index. Returns `(writer, seq) -> index`.
async fn propose_through_every_node(nodes: &[TestNode], count: u64) -> BTreeMap<(u64, u64), u64> {
    let mut tasks = Vec::new();
    for (w, n) in nodes.iter().enumerate() {
        let c = n.c.clone();
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for seq in 0..count {
                let r = c
                    .propose(probe(w as u64, seq))
                    .await
                    .expect("proposal commits");
                assert_eq!(
                    r.reply,
                    Reply::Probe {
                        first_index: r.index
                    }
                );
                acked.push(((w as u64, seq), r.index));
            }
            acked
        }));
    }
    let mut acked = BTreeMap::new();
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    acked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proposals_through_leader_and_followers_commit_in_one_order() {
    let nodes = three_nodes(ConsensusConfig::default()).await;
    let acked = propose_through_every_node(&nodes, 50).await;
    let last = *acked.values().max().unwrap();
    for n in &nodes {
        n.c.wait_applied(last, Duration::from_secs(10))
            .await
            .unwrap();
    }
    let first = probes(&nodes[0]);
    assert_eq!(
        first, acked,
        "every acknowledged probe is applied at the index it was acknowledged with"
    );
    for n in &nodes[1..] {
        assert_eq!(probes(n), first);
        assert_eq!(n.c.view().state_hash(), nodes[0].c.view().state_hash());
    }
    // A repeated probe is recognised, not applied twice.
    let again = nodes[2].c.propose(probe(0, 0)).await.unwrap();
    assert_eq!(
        again.reply,
        Reply::Probe {
            first_index: acked[&(0, 0)]
        }
    );
    // Linearizable reads from a follower see the write.
    let view = nodes[1]
        .c
        .linearizable_view(Duration::from_secs(5))
        .await
        .unwrap();
    assert!(view.applied_index() >= again.index);
    for n in &nodes {
        n.c.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_far_behind_catches_up_from_a_snapshot() {
    let cfg = ConsensusConfig {
        raft: RaftConfig {
            snapshot_logs: 200,
            keep_logs_after_snapshot: 10,
            ..Default::default()
        },
        ..Default::default()
    };
    let ca = CaBundle::generate("test").unwrap();
    let a = start_node(&ca, 1, cfg.clone()).await;
    a.c.initialize(addr_of(&a)).await.unwrap();
    wait_for(|| a.c.current_leader() == Some(1)).await;
    let mut last = 0;
    for seq in 0..1000 {
        last = a.c.propose(probe(9, seq)).await.unwrap().index;
    }
    wait_for(|| a.c.facts().purged.unwrap_or(0) > 100).await;
    let b = start_node(&ca, 2, cfg).await;
    a.c.add_learner(2, addr_of(&b), true).await.unwrap();
    b.c.wait_applied(last, Duration::from_secs(10))
        .await
        .unwrap();
    assert!(
        b.c.facts().snapshot.is_some(),
        "the learner installed a snapshot"
    );
    assert_eq!(probes(&b).len(), 1000);
    assert_eq!(b.c.view().state_hash(), a.c.view().state_hash());
    // More writes after the install, then a restart: the node loads the
    // installed base plus what it applied since.
    for seq in 1000..1100 {
        last = a.c.propose(probe(9, seq)).await.unwrap().index;
    }
    b.c.wait_applied(last, Duration::from_secs(10))
        .await
        .unwrap();
    let before = b.c.view().state_hash();
    b.c.shutdown().await;
    let identity = issue_identity(&ca, 2).unwrap();
    let again = Consensus::start(
        &identity,
        "127.0.0.1:0".parse().unwrap(),
        b._dir.path(),
        Box::new(ProbeApp),
        ConsensusConfig::default(),
    )
    .await
    .unwrap();
    assert!(again.applied_index() >= last);
    assert_eq!(
        again.view().state_hash(),
        before,
        "restart restores base + delta"
    );
    a.c.shutdown().await;
    again.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_seeds_a_new_cluster_that_continues_after_it() {
    let ca = CaBundle::generate("old").unwrap();
    let a = start_node(&ca, 1, ConsensusConfig::default()).await;
    a.c.initialize(addr_of(&a)).await.unwrap();
    wait_for(|| a.c.current_leader() == Some(1)).await;
    let mut last = 0;
    for seq in 0..300 {
        last = a.c.propose(probe(3, seq)).await.unwrap().index;
    }
    let backup = a.c.state().snapshot_now();
    let hash = a.c.view().state_hash();
    a.c.shutdown().await;

    // A damaged backup is refused and leaves nothing behind.
    let dir = tempfile::tempdir().unwrap();
    let mut bad = backup.clone();
    bad[backup.len() / 2] ^= 1;
    let addr = NodeAddr {
        raft: "127.0.0.1:1".into(),
        http: String::new(),
    };
    assert!(paddle_consensus::storage::seed::seed_from_snapshot(
        dir.path(),
        &bad,
        5,
        addr.clone(),
        |_| {}
    )
    .is_err());
    assert!(!dir.path().join("sled").exists());

    // A new cluster (new CA, node id 5) continues after the backup.
    let ca2 = CaBundle::generate("new").unwrap();
    paddle_consensus::storage::seed::seed_from_snapshot(dir.path(), &backup, 5, addr, |_| {})
        .unwrap();
    let identity = issue_identity(&ca2, 5).unwrap();
    let b = Consensus::start(
        &identity,
        "127.0.0.1:0".parse().unwrap(),
        dir.path(),
        Box::new(ProbeApp),
        ConsensusConfig::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        b.view().state_hash(),
        hash,
        "the restored state is the backed-up state"
    );
    wait_for(|| b.current_leader() == Some(5)).await;
    let next = b.propose(probe(3, 1000)).await.unwrap();
    assert!(
        next.index > last,
        "indexes continue after the backup ({} > {last})",
        next.index
    );
    assert_eq!(
        b.propose(probe(3, 0)).await.unwrap().reply,
        Reply::Probe { first_index: 2 }
    );
    b.shutdown().await;
}

/// Large commands never wedge replication: a command over a quarter of the
/// frame cap is refused, concurrent ones are split across entries by size,
/// and a learner that is sent many large entries at once gets them in
/// appends that fit a frame (openraft's `PayloadTooLarge` retry).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_commands_fit_the_frame_cap() {
    let cfg = ConsensusConfig {
        raft: RaftConfig {
            frame_cap_bytes: 64 * 1024,
            snapshot_logs: 1_000_000,
            ..Default::default()
        },
        ..Default::default()
    };
    let big = |writer: u64, seq: u64, len: usize| {
        Command::Probe(Probe {
            writer,
            seq,
            payload: vec![seq as u8; len],
        })
    };
    let ca = CaBundle::generate("test").unwrap();
    let a = start_node(&ca, 1, cfg.clone()).await;
    a.c.initialize(addr_of(&a)).await.unwrap();
    wait_for(|| a.c.current_leader() == Some(1)).await;

    let refused = a.c.propose(big(1, 0, 20 * 1024)).await.unwrap_err();
    assert!(refused.to_string().contains("frame_cap_bytes"), "{refused}");
    assert!(probes(&a).is_empty(), "a refused command changes nothing");

    // Concurrent 3 KiB commands: entries of at most 8 KiB (a frame's eighth).
    let before = a.c.facts().last_log.unwrap_or(0);
    let tasks: Vec<_> = (0..40)
        .map(|seq| {
            let c = a.c.clone();
            tokio::spawn(async move { c.propose(big(2, seq, 3 * 1024)).await.unwrap().index })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let entries = a.c.facts().last_log.unwrap_or(0) - before;
    assert!(entries >= 40 / 2, "40 × 3 KiB in {entries} entries");

    // 12 KiB commands one by one, then a learner: the leader's first
    // appends to it would hold up to 64 such entries (768 KiB).
    let mut last = 0;
    for seq in 0..150 {
        last = a.c.propose(big(3, seq, 12 * 1024)).await.unwrap().index;
    }
    let b = start_node(&ca, 2, cfg).await;
    a.c.add_learner(2, addr_of(&b), true).await.unwrap();
    b.c.wait_applied(last, Duration::from_secs(30))
        .await
        .unwrap();
    assert!(b.c.facts().snapshot.is_none(), "caught up from the log");
    assert_eq!(probes(&b).len(), 190);
    assert_eq!(b.c.view().state_hash(), a.c.view().state_hash());
    a.c.shutdown().await;
    b.c.shutdown().await;
}

/// The applier changes the state map in place while no reader holds an
/// older view (`storage/sm.rs`, `Published`). A view a reader holds must
/// still never change, and every view must hold whole batches: each probe
/// applied at or before its index, none after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_hold_whole_batches_and_never_change_while_applies_go_on() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    let nodes = three_nodes(ConsensusConfig::default()).await;
    let done = Arc::new(AtomicBool::new(false));
    let mut readers = Vec::new();
    for n in &nodes {
        let (c, done) = (n.c.clone(), done.clone());
        readers.push(tokio::spawn(async move {
            let mut kept = Vec::new();
            while !done.load(Ordering::Relaxed) {
                let v = c.view();
                let seen = probes_in(&v);
                kept.push((v, seen));
                tokio::time::sleep(Duration::from_millis(3)).await;
            }
            kept
        }));
    }
    let acked = propose_through_every_node(&nodes, 100).await;
    let last = *acked.values().max().unwrap();
    for n in &nodes {
        n.c.wait_applied(last, Duration::from_secs(10))
            .await
            .unwrap();
    }
    done.store(true, Ordering::Relaxed);
    let mut views = 0;
    for r in readers {
        for (v, seen) in r.await.unwrap() {
            assert_eq!(
                probes_in(&v),
                seen,
                "a held view changed after later applies"
            );
            let whole: BTreeMap<_, _> = acked
                .iter()
                .filter(|(_, &i)| i <= v.applied_index())
                .map(|(k, i)| (*k, *i))
                .collect();
            assert_eq!(
                seen,
                whole,
                "the view at index {} holds exactly the probes applied up to it",
                v.applied_index()
            );
            views += 1;
        }
    }
    assert!(views > 3, "the readers took views while the writers ran");
}
