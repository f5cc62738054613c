//! Issue 3 with real processes: live membership while probes are written,
//! and the refusals. Joins go through `paddle serve --join <QUIC address>
//! --token <token>`, removals through the `paddle cluster remove` command,
//! exactly as an operator does them; every test that writes ends with the
//! history check on the nodes still in the cluster. Bad joins, a removed
//! node coming back, membership changes without (or with a wrong) operator
//! token and a removal that would lose quorum are each refused with a clear
//! message and leave the membership exactly as it was.

use std::path::Path;
use std::time::{Duration, Instant};

use paddle_tests::{paddle_cli, Cluster, ClusterStatus, Load, NodeProc, SETTLE};

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_paddle"))
}

/// How long the bulk writers may take to commit 100,000 probes.
const BULK_DEADLINE: Duration = Duration::from_secs(1200);

/// `paddle cluster <verb> <id>` through node `via`, with the operator token.
async fn cluster_cmd(c: &Cluster, verb: &str, id: u64, via: usize) -> anyhow::Result<String> {
    let id = id.to_string();
    let url = c.url(via);
    let out = paddle_cli(
        c.bin(),
        &[
            "cluster",
            verb,
            &id,
            "--node",
            &url,
            "--operator-token",
            &c.operator_token,
        ],
    )
    .await?;
    anyhow::ensure!(
        out.status.success(),
        "paddle cluster {verb} {id} failed ({}): {}",
        out.status,
        out.stderr
    );
    Ok(out.stdout)
}

/// Three processes (bootstrap + two token joins); 100,000+ committed
/// commands (probes; the leader batches concurrent ones into one log entry,
/// so the log index is lower, as in `paddle bench join`); a fourth node
/// joins through a FOLLOWER while probes are written, catches up from a
/// snapshot (every node has purged the log's start, so nothing else could
/// bring it up) and is promoted to voter.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fourth_node_joins_through_a_follower_after_100k_commands() -> anyhow::Result<()> {
    // Batching packs the 100,000 commands into a few thousand entries:
    // snapshot every 1,000 so the log's start is surely purged.
    let args = [
        "--raft-snapshot-logs",
        "1000",
        "--raft-keep-logs-after-snapshot",
        "100",
    ];
    let mut c = Cluster::start(bin(), 3, &args).await?;
    let all = [0, 1, 2];
    let leader = c.wait_leader(&all).await?;

    // Bulk: many concurrent writers at the leader (no forwarding hop).
    let bulk = Load::start(&c.api, c.urls(&[leader]), 10_000..10_256, "");
    let started = Instant::now();
    while bulk.acked() < 100_000 {
        anyhow::ensure!(
            started.elapsed() < BULK_DEADLINE,
            "only {} probes committed in {BULK_DEADLINE:?}",
            bulk.acked()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let bulk_secs = started.elapsed().as_secs_f64();
    let bulk = bulk.finish().await?;
    eprintln!(
        "bulk: {} probes in {bulk_secs:.1} s ({:.0}/s) through HTTP, log index {}",
        bulk.acked(),
        bulk.acked() as f64 / bulk_secs,
        c.metric(leader, "paddle_raft_last_log_index").await?
    );

    let load = Load::start(&c.api, c.urls(&all), 1..9, "during the join");
    load.wait_progress(50, SETTLE).await?;
    let mut purged = u64::MAX;
    for i in all {
        purged = purged.min(c.metric(i, "paddle_raft_purged_index").await?);
    }
    assert!(
        purged > 0,
        "no node purged its log: a snapshot would not be needed"
    );

    let follower = all.into_iter().find(|i| *i != leader).expect("a follower");
    let join_started = Instant::now();
    let new = c.join(follower, &args).await?;
    let new_id = c.nodes[new].id.expect("id learned");
    eprintln!(
        "node {new_id} joined through follower {} and was admitted in {:.1} s",
        c.nodes[follower].name,
        join_started.elapsed().as_secs_f64()
    );
    c.wait_status(leader, "the new node to be a voter", |s| {
        s.voters().contains(&new_id) && !s.joint
    })
    .await?;
    let snap = c.metric(new, "paddle_raft_snapshot_index").await?;
    assert!(
        snap >= purged,
        "node {new_id} must have installed a snapshot covering the purged log (..={purged}), has {snap}"
    );
    load.wait_progress(100, SETTLE).await?;
    let history = load.finish().await?;
    let four = [0, 1, 2, new];
    c.check_history(&history, &four).await?;
    let state = c.check_history(&bulk, &four).await?;
    eprintln!(
        "four nodes converged at index {} ({} keys)",
        state.applied_index, state.keys
    );
    c.pass();
    Ok(())
}

/// With `--raft-max-voters 3` a fourth node stays a learner, and probes
/// sent only to it are forwarded to the leader and committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn beyond_max_voters_a_node_stays_a_learner_and_forwards() -> anyhow::Result<()> {
    let args = ["--raft-max-voters", "3"];
    let mut c = Cluster::start(bin(), 3, &args).await?;
    let new = c.join(1, &args).await?;
    let new_id = c.nodes[new].id.expect("id learned");
    let s = c.status(new).await?;
    let row = s.nodes.iter().find(|n| n.id == new_id).expect("listed");
    assert!(!row.voter, "node {new_id} must stay a learner: {s:#?}");
    assert_eq!(s.voters().len(), 3);

    let load = Load::start(&c.api, vec![c.url(new)], 1..5, "through a learner");
    load.wait_progress(100, SETTLE).await?;
    let history = load.finish().await?;
    assert!(c.metric(new, "paddle_proposals_forwarded_total").await? >= 100);
    c.check_history(&history, &[0, 1, 2, new]).await?;
    // Voters get the CA key (so any of them can sign joins); a learner never.
    wait_for_ca(&c, &[1, 2]).await?;
    assert!(
        !c.nodes[new].data_dir.join("tls/ca.key").exists(),
        "a learner must not hold the CA key"
    );
    c.pass();
    Ok(())
}

/// Until every node of `idx` holds the CA key, private to its owner.
async fn wait_for_ca(c: &Cluster, idx: &[usize]) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let deadline = std::time::Instant::now() + SETTLE;
    for &i in idx {
        let key = c.nodes[i].data_dir.join("tls/ca.key");
        while !key.exists() {
            anyhow::ensure!(
                std::time::Instant::now() < deadline,
                "{} never got the CA key",
                c.nodes[i].name
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mode = std::fs::metadata(&key)?.permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}: CA key mode {mode:o}", c.nodes[i].name);
    }
    Ok(())
}

/// The bootstrap node, the first holder of the CA key, dies for good: the
/// other voters hold the key too, so a replacement still joins (through
/// any of them) and is promoted.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodes_join_after_the_bootstrap_node_is_gone() -> anyhow::Result<()> {
    let mut c = Cluster::start(bin(), 3, &[]).await?;
    wait_for_ca(&c, &[1, 2]).await?;
    let first_id = c.nodes[0].id.expect("id");
    c.nodes[0].kill9();
    std::fs::remove_dir_all(&c.nodes[0].data_dir)?;
    let leader = c.wait_leader(&[1, 2]).await?;
    cluster_cmd(&c, "remove", first_id, leader).await?;
    let via = if leader == 1 { 2 } else { 1 };
    let new = c.join(via, &[]).await?;
    let new_id = c.nodes[new].id.expect("id");
    let s = c
        .wait_status(leader, "three healthy voters again", |s| {
            s.voters().len() == 3 && s.nodes.iter().all(|n| n.healthy)
        })
        .await?;
    assert!(s.voters().contains(&new_id) && !s.members().contains(&first_id));
    c.pass();
    Ok(())
}

/// Remove a follower, then the leader (asking the leader itself), while
/// probes run: each removed process exits by itself with status 0, the rest
/// keep committing, and nothing acknowledged is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn remove_a_follower_then_the_leader_while_probes_run() -> anyhow::Result<()> {
    let mut c = Cluster::start(bin(), 4, &[]).await?;
    let all = [0, 1, 2, 3];
    let load = Load::start(&c.api, c.urls(&all), 1..9, "removals");
    load.wait_progress(100, SETTLE).await?;

    let leader = c.wait_leader(&all).await?;
    let follower = all.into_iter().find(|i| *i != leader).expect("a follower");
    let fid = c.nodes[follower].id.expect("id");
    let said = cluster_cmd(&c, "remove", fid, leader).await?;
    assert!(said.contains("removed"), "{said}");
    let status = c.nodes[follower].wait_exit(SETTLE).await?;
    assert!(status.success(), "a removed node exits 0, got {status}");
    load.wait_progress(100, SETTLE).await?;

    let lid = c.nodes[leader].id.expect("id");
    cluster_cmd(&c, "remove", lid, leader).await?;
    let status = c.nodes[leader].wait_exit(SETTLE).await?;
    assert!(status.success(), "a removed leader exits 0, got {status}");
    let rest: Vec<usize> = all
        .into_iter()
        .filter(|i| *i != leader && *i != follower)
        .collect();
    c.wait_leader(&rest).await?;
    load.wait_progress(100, SETTLE).await?;
    let history = load.finish().await?;
    c.check_history(&history, &rest).await?;
    let s = c.status(rest[0]).await?;
    let mut ids: Vec<u64> = rest.iter().map(|i| c.nodes[*i].id.expect("id")).collect();
    ids.sort();
    assert_eq!(s.members(), ids);
    assert_eq!(s.voters(), ids);
    c.pass();
    Ok(())
}

/// A dead node (killed, data dir deleted) is replaced: removed with the
/// CLI, a new node joins with a new id, and the cluster is back to three
/// healthy voters.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dead_node_is_removed_and_replaced() -> anyhow::Result<()> {
    let mut c = Cluster::start(bin(), 3, &[]).await?;
    let all = [0, 1, 2];
    let load = Load::start(&c.api, c.urls(&all), 1..5, "replace");
    load.wait_progress(50, SETTLE).await?;
    let leader = c.wait_leader(&all).await?;
    let dead = all.into_iter().find(|i| *i != leader).expect("a follower");
    let dead_id = c.nodes[dead].id.expect("id");
    c.nodes[dead].kill9();
    std::fs::remove_dir_all(&c.nodes[dead].data_dir)?;

    cluster_cmd(&c, "remove", dead_id, leader).await?;
    let live: Vec<usize> = all.into_iter().filter(|i| *i != dead).collect();
    let new = c.join(live[0], &[]).await?;
    let new_id = c.nodes[new].id.expect("id");
    assert_ne!(new_id, dead_id, "a replacement gets a new id");
    let s = c
        .wait_status(leader, "three healthy voters", |s| {
            s.voters().len() == 3 && s.nodes.len() == 3 && s.nodes.iter().all(|n| n.healthy)
        })
        .await?;
    assert!(s.voters().contains(&new_id) && !s.members().contains(&dead_id));
    load.wait_progress(50, SETTLE).await?;
    let history = load.finish().await?;
    c.check_history(&history, &[live[0], live[1], new]).await?;
    c.pass();
    Ok(())
}

/// Members and voters, the part of the status a refusal must not change.
fn membership(s: &ClusterStatus) -> (Vec<u64>, Vec<u64>) {
    (s.members(), s.voters())
}

/// Start a joiner with `token` through `contact` and return what it said
/// when it gave up (it must exit non-zero by itself).
async fn failed_join(
    c: &Cluster,
    name: &str,
    contact: &str,
    token: &str,
) -> anyhow::Result<String> {
    let mut node = NodeProc::new(c.bin(), c.root(), name, &[]);
    node.start(Some((contact, token)))?;
    let status = node.wait_exit(SETTLE).await?;
    let log = node.log_text();
    anyhow::ensure!(
        !status.success(),
        "a refused join must fail: {status}\n{log}"
    );
    anyhow::ensure!(
        !node.data_dir.join("node.json").exists(),
        "a refused join must not leave a node behind"
    );
    Ok(log)
}

/// A wrong join secret, a tampered CA fingerprint and an address that is
/// not a Paddle node: each joiner stops with a message naming the problem.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_joins_are_refused_and_change_nothing() -> anyhow::Result<()> {
    let c = Cluster::start(bin(), 3, &[]).await?;
    let before = membership(&c.status(0).await?);
    let contact = c.nodes[1].raft.to_string();
    let (fp, secret) = {
        let mut parts = c.join_token.split('.');
        parts.next();
        (
            parts.next().expect("fingerprint").to_string(),
            parts.next().expect("secret").to_string(),
        )
    };

    // Right CA, wrong secret (a well-formed token of another cluster's shape).
    let other_secret = if secret.starts_with('A') { "B" } else { "A" }.to_string() + &secret[1..];
    let log = failed_join(
        &c,
        "bad-secret",
        &contact,
        &format!("pdj1.{fp}.{other_secret}"),
    )
    .await?;
    assert!(
        log.contains("refused the join") && log.contains("bad_join_token"),
        "wrong secret:\n{log}"
    );

    // One hex digit of the fingerprint changed: the node must not trust
    // the cluster it reaches.
    let flipped = if fp.starts_with('0') { "1" } else { "0" }.to_string() + &fp[1..];
    let log = failed_join(
        &c,
        "bad-fingerprint",
        &contact,
        &format!("pdj1.{flipped}.{secret}"),
    )
    .await?;
    assert!(
        log.contains("does not match the fingerprint in the token"),
        "tampered fingerprint:\n{log}"
    );

    // The HTTP port: TCP, nothing answers QUIC there.
    let http = c.nodes[1].http.to_string();
    let log = failed_join(&c, "not-paddle", &http, &c.join_token).await?;
    assert!(
        log.contains("did not answer as a Paddle node"),
        "not a Paddle node:\n{log}"
    );

    assert_eq!(membership(&c.status(0).await?), before);
    c.pass();
    Ok(())
}

/// Membership changes need the operator token: none is 401, a wrong one
/// 403; and removing a healthy voter while another is dead would leave no
/// healthy majority: 409 would_lose_quorum. Nothing changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn membership_changes_need_the_token_and_a_quorum() -> anyhow::Result<()> {
    let mut c = Cluster::start(bin(), 3, &[]).await?;
    let before = membership(&c.status(0).await?);
    let leader = c.wait_leader(&[0, 1, 2]).await?;
    let followers: Vec<usize> = [0, 1, 2].into_iter().filter(|i| *i != leader).collect();
    let target = c.nodes[followers[0]].id.expect("id");
    let url = format!("{}/api/v1/cluster/nodes/{target}/remove", c.url(leader));

    let r = c.api.call(reqwest::Method::POST, &url, None, false).await?;
    assert_eq!((r.status, r.code()), (401, "unauthorized"), "{r:?}");
    assert!(r.message().contains("operator token"), "{r:?}");
    let r = c
        .api
        .with_token("pdo_not-the-token")
        .call(reqwest::Method::POST, &url, None, true)
        .await?;
    assert_eq!((r.status, r.code()), (403, "forbidden"), "{r:?}");
    assert_eq!(membership(&c.status(0).await?), before);

    // One voter dead: removing the other healthy follower would leave the
    // leader alone with a dead voter.
    c.nodes[followers[1]].kill9();
    let r = c.api.post(&url, serde_json::json!({})).await?;
    assert_eq!((r.status, r.code()), (409, "would_lose_quorum"), "{r:?}");
    assert!(r.message().contains("majority"), "{r:?}");
    let after = c.status(leader).await?;
    assert_eq!(membership(&after), before);

    c.restart(&[followers[1]]).await?;
    c.pass();
    Ok(())
}

/// A removed node restarted on its old data dir refuses to start, saying
/// it was removed; the cluster does not take it back.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_removed_node_cannot_come_back() -> anyhow::Result<()> {
    let mut c = Cluster::start(bin(), 3, &[]).await?;
    let leader = c.wait_leader(&[0, 1, 2]).await?;
    let gone = [0, 1, 2]
        .into_iter()
        .find(|i| *i != leader)
        .expect("follower");
    let gone_id = c.nodes[gone].id.expect("id");
    let url = format!("{}/api/v1/cluster/nodes/{gone_id}/remove", c.url(leader));
    let r = c.api.post(&url, serde_json::json!({})).await?;
    assert_eq!(r.status, 200, "{r:?}");
    let status = c.nodes[gone].wait_exit(SETTLE).await?;
    assert!(status.success(), "{status}");
    let before = membership(&c.status(leader).await?);
    assert!(!before.0.contains(&gone_id));

    c.nodes[gone].start(None)?;
    let status = c.nodes[gone].wait_exit(SETTLE).await?;
    let tail = c.nodes[gone].log_tail(5);
    assert!(!status.success(), "a removed node must not run: {status}");
    assert!(tail.contains("removed from the cluster"), "{tail}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(membership(&c.status(leader).await?), before);
    c.pass();
    Ok(())
}

/// A node removed while it was down restarts on its old data dir with a
/// membership that still lists it; the members it asks tell it it was
/// removed, it stops on its own, and the next start refuses at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_removed_while_down_stops_when_it_returns() -> anyhow::Result<()> {
    let mut c = Cluster::start(bin(), 3, &[]).await?;
    let leader = c.wait_leader(&[0, 1, 2]).await?;
    let gone = [0, 1, 2]
        .into_iter()
        .find(|i| *i != leader)
        .expect("follower");
    let gone_id = c.nodes[gone].id.expect("id");
    c.nodes[gone].kill9();
    cluster_cmd(&c, "remove", gone_id, leader).await?;
    let before = membership(&c.status(leader).await?);
    assert!(!before.0.contains(&gone_id));

    c.nodes[gone].start(None)?;
    let status = c.nodes[gone].wait_exit(SETTLE).await?;
    assert!(status.success(), "stops as removed: {status}");
    assert!(
        c.nodes[gone]
            .log_text()
            .contains("was removed while it was away"),
        "{}",
        c.nodes[gone].log_tail(10)
    );
    assert_eq!(membership(&c.status(leader).await?), before);

    c.nodes[gone].start(None)?;
    let status = c.nodes[gone].wait_exit(SETTLE).await?;
    assert!(!status.success(), "a removed node must not run: {status}");
    assert!(c.nodes[gone]
        .log_tail(5)
        .contains("removed from the cluster"));
    c.pass();
    Ok(())
}
