//! Issue 17 with a real process: peers without a client certificate (any
//! host that reaches the raft port) cannot grow a node's memory nor fill
//! its log, and members keep replicating meanwhile. Also the node's own
//! memory setting (issue 15): no transparent huge pages.
//!
//! The bounds are resources: the node's resident memory (VmRSS) and the
//! number of WARN lines in its log; nothing asserts on time.

use std::path::Path;
use std::time::Duration;

use paddle_consensus::network::transport;
use paddle_consensus::tls;
use paddle_tests::Cluster;

const MIB: usize = 1024 * 1024;

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_paddle"))
}

/// A numeric field of a process's `/proc/PID/status` (`VmRSS` in KiB,
/// `THP_enabled` 0 or 1).
fn status_field(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} line in /proc/{pid}/status"))
}

/// Resident memory of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    status_field(pid, "VmRSS")
}

fn warn_lines(c: &Cluster, i: usize) -> usize {
    c.nodes[i]
        .log_text()
        .lines()
        .filter(|l| l.contains("WARN"))
        .count()
}

/// A probe through the leader commits and reaches every node.
async fn members_replicate(c: &Cluster, seq: u64) -> anyhow::Result<()> {
    let all: Vec<usize> = (0..c.nodes.len()).collect();
    let leader = c.wait_leader(&all).await?;
    let ack = c
        .api
        .probe(&c.url(leader), 1, seq, "members still replicate")
        .await?
        .map_err(|r| anyhow::anyhow!("probe refused: {} {}", r.code(), r.message()))?;
    let _ = ack;
    c.wait_converged(&all).await?;
    Ok(())
}

/// The attacker of the issue, times the anonymous connection limit: each
/// connection opens 12 streams announcing 8 MiB frames and pushes 3 MiB on
/// each without finishing. Before the fix one such connection grew the
/// node by 96 MB; now the node stays within a few MiB and members still
/// commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn strangers_pushing_huge_unfinished_frames_do_not_grow_the_node() -> anyhow::Result<()> {
    let c = Cluster::start(bin(), 2, &[]).await?;
    members_replicate(&c, 1).await?;
    let pid = c.nodes[0].pid().expect("running");
    let before = rss_kib(pid);

    let ca_pem = std::fs::read_to_string(c.nodes[0].data_dir.join("tls/ca.pem"))?;
    let fingerprint = tls::fingerprint_pem(&ca_pem)?;
    let target = c.nodes[0].raft;
    let payload = vec![0x55u8; 3 * MIB];
    let mut attempts = Vec::new();
    for _ in 0..8 {
        let cfg = transport::client_config(tls::join_client_config(&fingerprint)?)?;
        let endpoint = transport::client_endpoint()?;
        let conn = match endpoint.connect_with(cfg, target, tls::CLUSTER_NAME)?.await {
            Ok(conn) => conn,
            Err(_) => continue,
        };
        for _ in 0..12 {
            let conn = conn.clone();
            let payload = payload.clone();
            attempts.push(tokio::spawn(async move {
                let Ok((mut send, _recv)) = conn.open_bi().await else {
                    return;
                };
                let _ = send.write_all(&(8 * MIB as u32).to_be_bytes()).await;
                let _ =
                    tokio::time::timeout(Duration::from_secs(5), send.write_all(&payload)).await;
                // Hold the stream open, unfinished, while memory is read.
                tokio::time::sleep(Duration::from_secs(2)).await;
                drop(conn);
            }));
        }
    }
    // Read the peak while the streams are still held open.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let during = rss_kib(pid);
    for a in attempts {
        a.await?;
    }
    let grew_mib = during.saturating_sub(before) as f64 / 1024.0;
    eprintln!(
        "node RSS: before {} KiB, under attack {} KiB (+{grew_mib:.1} MiB)",
        before, during
    );
    assert!(
        grew_mib < 24.0,
        "strangers grew the node by {grew_mib:.1} MiB"
    );
    members_replicate(&c, 2).await?;
    c.pass();
    Ok(())
}

/// Thousands of garbage datagrams at the raft port, and as many failed
/// handshakes, write a handful of WARN lines, not one each.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn garbage_at_the_raft_port_does_not_flood_the_log() -> anyhow::Result<()> {
    let c = Cluster::start(bin(), 2, &[]).await?;
    members_replicate(&c, 1).await?;
    let warns_before = warn_lines(&c, 0);
    let target = c.nodes[0].raft;

    // Random bytes, and random bytes shaped like a QUIC Initial (long
    // header, version 1, connection ids): the node must parse those.
    let sock = std::net::UdpSocket::bind("127.0.0.1:0")?;
    for i in 0..3000u32 {
        let mut d: Vec<u8> = (0..1200).map(|_| rand::random::<u8>()).collect();
        if i % 2 == 0 {
            d[0] = 0xc0 | (d[0] & 0x0f);
            d[1..5].copy_from_slice(&1u32.to_be_bytes());
            d[5] = 8;
            d[14] = 8;
        }
        let _ = sock.send_to(&d, target);
        if i % 100 == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    // Handshakes that fail: a client that expects another CA.
    let other = tls::CaBundle::generate("other")?;
    for _ in 0..50 {
        let cfg = transport::client_config(tls::join_client_config(&other.fingerprint()?)?)?;
        let endpoint = transport::client_endpoint()?;
        let connecting = endpoint.connect_with(cfg, target, tls::CLUSTER_NAME)?;
        let _ = tokio::time::timeout(Duration::from_secs(2), connecting).await;
    }
    members_replicate(&c, 2).await?;
    let added = warn_lines(&c, 0) - warns_before;
    eprintln!("garbage: {added} WARN lines from 3000 datagrams and 50 failed handshakes");
    if added > 5 {
        eprintln!("{}", c.nodes[0].log_tail(40));
    }
    assert!(added <= 5, "{added} WARN lines");
    c.pass();
    Ok(())
}

/// A node runs without transparent huge pages (`prctl(PR_SET_THP_DISABLE)`
/// first thing in `main`): with them, mimalloc's `MADV_HUGEPAGE` arenas
/// made the kernel zero a 2 MiB page for a first touch anywhere in it,
/// and an idle connection cost over the 8 KiB budget (BENCHMARKS.md,
/// issue 15 step 12).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_runs_without_transparent_huge_pages() -> anyhow::Result<()> {
    let c = Cluster::start(bin(), 1, &[]).await?;
    members_replicate(&c, 1).await?;
    let pid = c.nodes[0].pid().expect("running");
    assert_eq!(status_field(pid, "THP_enabled"), 0, "the node allows THP");
    c.pass();
    Ok(())
}
