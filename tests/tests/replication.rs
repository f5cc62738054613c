//! Issue 2 with real processes: the replicated core survives a killed
//! leader, a whole-cluster power cut and a node that fell far behind, and
//! its appends and votes are on disk before they count.
//!
//! Each fault test runs `paddle serve` processes (the binary cargo built
//! for this package) through the `paddle-tests` harness, writes numbered
//! probes through Raft from several concurrent writers while it injects
//! the fault, and ends with the history check: every acknowledged probe is
//! present on every node at the index its ack named, nothing unsent
//! appears, real-time order holds, and all nodes hold the same state hash
//! at the same applied index. Waits poll with generous deadlines; nothing
//! asserts on time.
//!
//! The durability tests look at the system calls of real nodes: a log
//! append reaches `fdatasync` on its log segment file, and a vote on sled's
//! `db` file, before anything that depends on them is acknowledged. A clean restart proving nothing
//! was lost is not enough (the page cache survives a process kill). strace
//! is required: `./scripts/test` installs it when missing, and when it is
//! missing or ptrace is not permitted these tests FAIL with strace's
//! message instead of skipping.

use std::path::Path;
use std::time::{Duration, Instant};

use paddle_tests::strace::{contains, now_us, Call, Strace, Trace};
use paddle_tests::{Cluster, Load, READY, SETTLE};

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_paddle"))
}

/// kill -9 the leader while probes are written: the survivors elect a new
/// leader and keep acknowledging; the killed node restarts on its data dir
/// and catches up; all three converge and no acknowledged probe is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn leader_kill9_mid_stream_loses_no_acknowledged_probe() -> anyhow::Result<()> {
    let mut c = Cluster::start(bin(), 3, &[]).await?;
    let all = [0, 1, 2];
    // Writers keep every node as a target, the dead one included: a client
    // does not know which node died and must fail over by itself.
    let load = Load::start(&c.api, c.urls(&all), 1..9, "kill the leader");
    load.wait_progress(200, SETTLE).await?;

    let old = c.wait_leader(&all).await?;
    let old_term = c.metric(old, "paddle_raft_term").await?;
    c.nodes[old].kill9();
    let survivors: Vec<usize> = all.into_iter().filter(|i| *i != old).collect();
    let new = c.wait_leader(&survivors).await?;
    assert_ne!(new, old, "a killed node cannot lead");
    assert!(c.metric(new, "paddle_raft_term").await? > old_term);
    // The survivors go on: probes are acknowledged under the new leader.
    load.wait_progress(200, SETTLE).await?;

    c.restart(&[old]).await?;
    load.wait_progress(200, SETTLE).await?;
    let history = load.finish().await?;
    let state = c.check_history(&history, &all).await?;
    eprintln!(
        "leader kill: {} probes acknowledged, converged at index {} ({})",
        history.acked(),
        state.applied_index,
        state.state_hash
    );
    c.pass();
    Ok(())
}

/// SIGKILL all three nodes at once (a power cut of the venue) while probes
/// are written, restart them on their data dirs: every probe acknowledged
/// before the cut is still there.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn whole_cluster_kill9_and_restart_keeps_every_acknowledged_probe() -> anyhow::Result<()> {
    let mut c = Cluster::start(bin(), 3, &[]).await?;
    let all = [0, 1, 2];
    let load = Load::start(&c.api, c.urls(&all), 101..109, "power cut");
    load.wait_progress(300, SETTLE).await?;

    c.kill_all_at_once(&all);
    let acked_before_cut = load.acked();
    c.restart(&all).await?;
    c.wait_leader(&all).await?;
    load.wait_progress(100, SETTLE).await?;
    let history = load.finish().await?;
    let state = c.check_history(&history, &all).await?;
    assert!(acked_before_cut >= 300);
    eprintln!(
        "power cut: {acked_before_cut} probes acknowledged before it, {} in all; \
         converged at index {}",
        history.acked(),
        state.applied_index
    );
    c.pass();
    Ok(())
}

/// A follower stopped while the others write far past the snapshot interval
/// (500 entries, 100 kept after a snapshot) comes back after every node has
/// purged the entries it lacks, so it can only catch up from a snapshot;
/// it does, and converges.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn follower_far_behind_catches_up_from_a_snapshot() -> anyhow::Result<()> {
    let args = [
        "--raft-snapshot-logs",
        "500",
        "--raft-keep-logs-after-snapshot",
        "100",
    ];
    let mut c = Cluster::start(bin(), 3, &args).await?;
    let all = [0, 1, 2];
    let leader = c.wait_leader(&all).await?;
    let behind = all.into_iter().find(|i| *i != leader).expect("a follower");
    let running: Vec<usize> = all.into_iter().filter(|i| *i != behind).collect();

    let status = c.nodes[behind].stop().await?;
    assert!(
        status.success(),
        "SIGTERM must stop a node cleanly: {status}"
    );
    // Upper bound of what the stopped node holds: the leader had at least
    // every entry the follower had when it stopped.
    let leader = c.wait_leader(&running).await?;
    let held = c.metric(leader, "paddle_raft_last_log_index").await?;

    let load = Load::start(&c.api, c.urls(&running), 201..217, "far behind");
    let started = Instant::now();
    loop {
        let mut purged = u64::MAX;
        for &i in &running {
            purged = purged.min(c.metric(i, "paddle_raft_purged_index").await?);
        }
        if purged > held + 1 {
            eprintln!("every running node purged up to {purged}; the stopped one holds <= {held}");
            break;
        }
        anyhow::ensure!(
            started.elapsed() < READY,
            "logs were not purged past {held} (purged: {purged})"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let history = load.finish().await?;

    c.restart(&[behind]).await?;
    let state = c.check_history(&history, &all).await?;
    let snap = c.metric(behind, "paddle_raft_snapshot_index").await?;
    assert!(
        snap > held,
        "the node caught up, so it must hold a snapshot past {held}; it reports {snap}"
    );
    eprintln!(
        "far behind: {} probes while stopped; caught up to {} with snapshot at {snap}",
        history.acked(),
        state.applied_index
    );
    c.pass();
    Ok(())
}

/// sled's data file inside a node's data dir (votes live there).
fn is_sled_db(call: &Call) -> bool {
    call.path().is_some_and(|p| p.ends_with("/raft/sled/db"))
}

/// A segment file of a node's Raft log (`raft/log/<first index>.seg`).
fn is_log_segment(call: &Call) -> bool {
    call.path()
        .is_some_and(|p| p.contains("/raft/log/") && p.ends_with(".seg"))
}

/// A successful fdatasync/fsync of the file `path` picks.
fn is_sync(call: &Call, path: fn(&Call) -> bool) -> bool {
    matches!(call.name.as_str(), "fdatasync" | "fsync") && call.ok() && path(call)
}

/// The first successful pwrite to a file `path` picks, at or after
/// `after_us`, whose buffer satisfies `pred`.
fn first_write(
    trace: &Trace,
    after_us: u64,
    path: fn(&Call) -> bool,
    pred: impl Fn(&[u8]) -> bool,
) -> Option<&Call> {
    trace.calls.iter().find(|c| {
        c.name.starts_with("pwrite")
            && c.ok()
            && c.start_us >= after_us
            && path(c)
            && c.first_string().is_some_and(|b| pred(&b))
    })
}

/// An append is on disk before its proposal is acknowledged.
///
/// A one-node cluster (every commit is a local append, nothing else can
/// make an entry durable) is traced while ten probes are written one after
/// the other, each with a unique payload and writer id. For each probe the
/// trace must show, in this order:
///  1. W: a `pwrite` to a segment file under `raft/log/` whose buffer
///     holds the payload (the log entry reaching the file; the payload is
///     stored raw by the codec);
///  2. F: an `fdatasync`/`fsync` of a segment file that starts after W
///     returned and returns successfully (a segment is synced in full
///     before the next one is written to, so any segment's sync after W
///     covers W);
///  3. R: the HTTP response carrying the probe's writer id, written to the
///     client's socket only after F returned.
///
/// fdatasync makes everything written to the file before it durable,
/// whichever thread asked for it, so W < F < R proves the acknowledged
/// entry was on disk when the client heard "committed". An implementation
/// that acknowledged first and synced later fails this: its response is
/// written before the flush that writes the entry (the background flush
/// runs every 500 ms; one probe takes a few ms), ten times in a row.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn append_reaches_fdatasync_before_the_ack() -> anyhow::Result<()> {
    let c = Cluster::start(bin(), 1, &[]).await?;
    let pid = c.nodes[0].pid().expect("running");
    let syscalls = "trace=pwrite64,pwritev,pwritev2,write,writev,sendto,sendmsg,fdatasync,fsync";
    let strace = Strace::attach(pid, &c.root().join("append.trace"), &["-e", syscalls]).await?;
    let tag = now_us();
    let mut probes = Vec::new();
    for k in 0..10u64 {
        let writer = 7_700_000_000 + k;
        let payload = format!("durable-append-{tag}-{k}");
        let ack = c
            .api
            .probe(&c.url(0), writer, 1, &payload)
            .await?
            .map_err(|r| anyhow::anyhow!("probe refused: {r:?}"))?;
        probes.push((writer, payload, ack.index));
    }
    // The client may read the last response before strace has seen that
    // write return; the parser keeps such a call (its start is all R
    // needs), and a short pause lets strace catch up anyway.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let trace = strace.detach()?;

    for (writer, payload, index) in probes {
        let w = first_write(&trace, 0, is_log_segment, |b| {
            contains(b, payload.as_bytes())
        })
        .ok_or_else(|| anyhow::anyhow!("no pwrite to a raft/log segment carries {payload}"))?;
        let writer_text = writer.to_string();
        let r = trace
            .calls
            .iter()
            .find(|c| {
                matches!(c.name.as_str(), "write" | "writev" | "sendto" | "sendmsg")
                    && c.path().is_some_and(|p| p.starts_with("socket:"))
                    && c.args.contains(&writer_text)
            })
            .ok_or_else(|| anyhow::anyhow!("no HTTP response for writer {writer}"))?;
        let f = trace.calls.iter().find(|c| {
            is_sync(c, is_log_segment) && c.start_us >= w.end_us(0) && c.end_us(0) <= r.start_us
        });
        assert!(
            f.is_some(),
            "probe {writer} (index {index}): no fdatasync of the log between the entry's \
             pwrite at {} and the response at {}",
            w.start_us,
            r.start_us
        );
    }
    c.pass();
    Ok(())
}

/// A vote is on disk before it counts.
///
/// Three nodes; one follower V is traced with strace injecting a 400 ms
/// delay at the return of every `fdatasync` (`-e inject=...:delay_exit`).
/// The leader is killed; V's vote is needed by whoever wins (two of three
/// voters are left), whether V grants it to the other follower or casts it
/// for itself as a candidate. The test polls both survivors' `/metrics`
/// and notes when it first sees a leader of a newer term (L, term T): the
/// time it received that answer is after L became leader.
///
/// From the trace: W is V's first pwrite to `raft/sled/db` after the kill
/// carrying the key `vote` and the codec bytes of `Vote { term: T, node: L,
/// committed: false }` (the vote that elected L), F the first fdatasync of
/// that file starting after W. The check is F's return (entry + time in
/// the kernel + the injected delay) <= the first sighting of L as leader.
/// If votes were acknowledged before the sync, L would lead within
/// milliseconds of V's decision, while F could only return 400 ms after it
/// started. Elections use long timeouts (3-4.5 s) so that a delayed vote
/// answer (at most two delayed syncs) still fits in the vote RPC deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn vote_reaches_fdatasync_before_it_counts() -> anyhow::Result<()> {
    let timing = [
        "--raft-heartbeat-ms",
        "100",
        "--raft-election-timeout-min-ms",
        "3000",
        "--raft-election-timeout-max-ms",
        "4500",
        "--raft-propose-timeout-ms",
        "10000",
    ];
    let mut c = Cluster::start(bin(), 3, &timing).await?;
    let all = [0, 1, 2];
    let leader = c.wait_leader(&all).await?;
    let old_term = c.metric(leader, "paddle_raft_term").await?;
    let rest: Vec<usize> = all.into_iter().filter(|i| *i != leader).collect();
    let (v, other) = (rest[0], rest[1]);
    const DELAY_US: u64 = 400_000;
    let inject = format!("inject=fdatasync:delay_exit={DELAY_US}");
    let strace = Strace::attach(
        c.nodes[v].pid().expect("running"),
        &c.root().join("vote.trace"),
        &[
            "-e",
            "trace=pwrite64,pwritev,pwritev2,fdatasync,fsync",
            "-e",
            &inject,
        ],
    )
    .await?;

    let killed_at = now_us();
    c.nodes[leader].kill9();
    let started = Instant::now();
    let (seen_at, term, new_leader) = 'poll: loop {
        for i in [v, other] {
            let url = c.url(i);
            let (Ok(term), Ok(l)) = (
                c.api.metric(&url, "paddle_raft_term").await,
                c.api.metric(&url, "paddle_raft_leader_id").await,
            ) else {
                continue;
            };
            if l != 0 && term > old_term {
                break 'poll (now_us(), term, l);
            }
        }
        anyhow::ensure!(started.elapsed() < SETTLE, "no new leader after the kill");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let trace = strace.detach()?;

    let vote =
        paddle_proto::codec::encode(&paddle_consensus::types::typ::Vote::new(term, new_leader))?;
    // Stored as a versioned record (format header, then the vote), which
    // sled writes after its one-byte length.
    let sealed = paddle_proto::codec::seal_record(&vote);
    let mut value = vec![sealed.len() as u8];
    value.extend_from_slice(&sealed);
    let w = first_write(&trace, killed_at, is_sled_db, |b| {
        contains(b, b"vote") && contains(b, &value)
    });
    let f = w.and_then(|w| {
        trace
            .calls
            .iter()
            .find(|c| is_sync(c, is_sled_db) && c.start_us >= w.end_us(0))
    });
    let (Some(w), Some(f)) = (w, f) else {
        panic!(
            "node {new_leader} led term {term} (seen at {seen_at}), but the trace of node {} \
             shows {}: the vote counted before it was durable",
            c.nodes[v].id.unwrap_or(0),
            if w.is_none() {
                "no pwrite of that vote to sled's db after the kill"
            } else {
                "no fdatasync of sled's db after the vote's pwrite"
            }
        );
    };
    assert!(f.delayed, "strace did not delay the fdatasync: {f:?}");
    let synced = f.end_us(DELAY_US);
    assert!(
        synced <= seen_at,
        "node {new_leader} led term {term} (seen at {seen_at}) before the vote written at {} \
         was synced ({synced})",
        w.start_us
    );
    eprintln!(
        "vote: written {} µs after the kill, synced {} µs later, leader seen {} µs after that",
        w.start_us - killed_at,
        synced - w.start_us,
        seen_at - synced
    );
    c.pass();
    Ok(())
}
