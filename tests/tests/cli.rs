//! The operator commands against real nodes: `paddle cluster status |
//! token | remove | promote | demote`, `paddle backup` (issue 3: a backup
//! of a 3-node cluster holds exactly the cluster's state and a damaged copy
//! is refused) and `paddle demo` (one command starts a local cluster that
//! joins by token, prints the nodes' URLs and the operator token, stops
//! every node on SIGTERM or Ctrl-C with exit 0, and resumes the same
//! cluster from the same directory).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use paddle_tests::{free_port_range, paddle_cli, Api, Cluster, Load, NodeProc, READY, SETTLE};
use tokio::io::{AsyncBufReadExt, BufReader};

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_paddle"))
}

/// Every cluster subcommand through the CLI, including refusals, and a
/// token rotation that locks the old token out of joining.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cluster_commands_show_change_and_refuse() -> anyhow::Result<()> {
    let mut c = Cluster::start(bin(), 3, &[]).await?;
    let url2 = c.url(1);
    let n1_dir = c.nodes[0].data_dir.display().to_string();
    let op = c.operator_token.clone();
    let run = |args: Vec<String>| {
        let bin = c.bin().to_path_buf();
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            paddle_cli(&bin, &args).await
        }
    };
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();

    let out = run(args(&["cluster", "status", "--node", &url2])).await?;
    assert_eq!(out.code(), 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(lines[0].contains("leader node 1"), "{}", out.stdout);
    assert!(lines[1].starts_with("ID  HTTP"), "{}", out.stdout);
    assert_eq!(lines.len(), 5, "{}", out.stdout);
    // ID HTTP QUIC KIND ROLE TERM APPLIED LAG HEALTHY CLIENTS
    assert!(
        lines[2..].iter().all(|l| {
            let cells: Vec<&str> = l.split_whitespace().collect();
            cells[3] == "voter" && cells[8] == "yes" && cells[9] == "0"
        }),
        "{}",
        out.stdout
    );
    let out = run(args(&["cluster", "status", "--node", &url2, "--json"])).await?;
    let json: serde_json::Value = serde_json::from_str(&out.stdout)?;
    assert_eq!(json["nodes"].as_array().map(Vec::len), Some(3), "{json}");

    // The token, read with the operator token from node 1's data dir.
    let out = run(args(&[
        "cluster",
        "token",
        "--node",
        &c.url(0),
        "--data-dir",
        &n1_dir,
    ]))
    .await?;
    assert_eq!(
        (out.code(), out.stdout.trim()),
        (0, c.join_token.as_str()),
        "{out:?}"
    );
    assert!(out.stderr.contains("paddle serve --join"), "{out:?}");

    let id3 = c.nodes[2].id.expect("id").to_string();
    let with_op = |verb: &str, id: &str| {
        args(&[
            "cluster",
            verb,
            id,
            "--node",
            &url2,
            "--operator-token",
            &op,
        ])
    };
    let out = run(with_op("demote", &id3)).await?;
    assert_eq!(out.code(), 0, "{out:?}");
    assert!(out.stdout.contains("learner"), "{out:?}");
    assert_eq!(c.status(0).await?.voters().len(), 2);
    let out = run(with_op("promote", &id3)).await?;
    assert_eq!(out.code(), 0, "{out:?}");
    assert_eq!(c.status(0).await?.voters().len(), 3);

    // Refusals: exit 1 with the server's code, or 2 for unusable arguments.
    let out = run(with_op("remove", "99")).await?;
    assert_eq!(out.code(), 1, "{out:?}");
    assert!(out.stderr.contains("[not_member, HTTP 404]"), "{out:?}");
    let out = run(args(&[
        "cluster",
        "remove",
        &id3,
        "--node",
        &url2,
        "--operator-token",
        "pdo_x",
    ]))
    .await?;
    assert_eq!(out.code(), 1, "{out:?}");
    assert!(out.stderr.contains("[forbidden, HTTP 403]"), "{out:?}");
    let empty = tempfile::tempdir()?;
    let empty_dir = empty.path().display().to_string();
    let out = run(args(&[
        "cluster",
        "remove",
        &id3,
        "--node",
        &url2,
        "--data-dir",
        &empty_dir,
    ]))
    .await?;
    assert_eq!(out.code(), 2, "{out:?}");
    assert!(out.stderr.contains("no operator token"), "{out:?}");
    let out = run(args(&["cluster", "status", "--node", "127.0.0.1:1"])).await?;
    assert_eq!(out.code(), 1, "{out:?}");
    assert!(out.stderr.contains("cannot reach the node"), "{out:?}");
    assert_eq!(c.status(0).await?.members().len(), 3);

    // Rotation: the old token no longer admits anyone, the new one does.
    let out = run(args(&[
        "cluster",
        "token",
        "--rotate",
        "--node",
        &url2,
        "--operator-token",
        &op,
    ]))
    .await?;
    assert_eq!(out.code(), 0, "{out:?}");
    let new_token = out.stdout.trim().to_string();
    assert!(new_token.starts_with("pdj1.") && new_token != c.join_token);
    let mut stale = NodeProc::new(c.bin(), c.root(), "stale-token", &[]);
    stale.start(Some((&c.nodes[0].raft.to_string(), &c.join_token)))?;
    let status = stale.wait_exit(SETTLE).await?;
    assert!(!status.success() && stale.log_text().contains("bad_join_token"));
    c.join_token = new_token;
    c.join(1, &[]).await?;
    assert_eq!(c.status(0).await?.members().len(), 4);
    c.pass();
    Ok(())
}

/// A backup taken from a follower of a 3-node cluster: magic `PADDLESN`,
/// mode 0600, exactly the cluster's state (same hashes at the same index),
/// never overwritten without --force. `paddle restore` seeds a new
/// one-node cluster from it whose state hash (bookkeeping aside) is the
/// old cluster's; a file with one flipped byte is refused by the checksum
/// and by `paddle restore`, which leaves the data dir empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backup_restores_the_cluster_state_and_damage_is_refused() -> anyhow::Result<()> {
    use paddle_consensus::storage::{seed, snapshot};
    let c = Cluster::start(bin(), 3, &[]).await?;
    let load = Load::start(&c.api, c.urls(&[0, 1, 2]), 1..5, "backup me");
    load.wait_progress(200, SETTLE).await?;
    load.finish().await?;
    let state = c.wait_converged(&[0, 1, 2]).await?;

    let out_file = c.root().join("sale.paddle");
    let out_path = out_file.display().to_string();
    let n1_dir = c.nodes[0].data_dir.display().to_string();
    let backup = [
        "backup",
        "--node",
        &c.url(2),
        "--out",
        &out_path,
        "--data-dir",
        &n1_dir,
    ];
    let out = paddle_cli(c.bin(), &backup).await?;
    assert_eq!(out.code(), 0, "{out:?}");
    assert!(out.stdout.contains("checksum verified"), "{out:?}");
    let bytes = std::fs::read(&out_file)?;
    assert_eq!(&bytes[..8], b"PADDLESN");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&out_file)?.permissions().mode() & 0o777,
        0o600
    );

    let (header, view) = seed::read_backup(&bytes)?;
    assert_eq!(
        header.last_applied.map(|l| l.index),
        Some(state.applied_index)
    );
    assert_eq!(
        view.state_hash(),
        state.full_hash,
        "backup != cluster state"
    );
    assert_eq!(view.state_hash_without(&["cluster"]), state.state_hash);

    let again = paddle_cli(c.bin(), &backup).await?;
    assert_eq!(again.code(), 1, "{again:?}");
    assert!(again.stderr.contains("--force"), "{again:?}");
    assert_eq!(
        std::fs::read(&out_file)?,
        bytes,
        "an existing backup was replaced"
    );

    let mut flipped = bytes.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x01;
    let err = snapshot::decode_header(&flipped).expect_err("a flipped byte must be refused");
    assert!(err.to_string().contains("checksum"), "{err}");
    let err = snapshot::decode_header(&bytes[..bytes.len() - 10]).expect_err("truncated");
    assert!(!err.to_string().is_empty());

    // Restore into a new data dir and start it: a new one-node cluster
    // holding the old cluster's state, its log continuing after it.
    let mut restored = NodeProc::new(c.bin(), c.root(), "restored", &[]);
    let dir = restored.data_dir.display().to_string();
    let out = paddle_cli(
        c.bin(),
        &["restore", "--from", &out_path, "--data-dir", &dir],
    )
    .await?;
    assert_eq!(out.code(), 0, "{out:?}");
    restored.start(None)?;
    restored.wait_ready(&c.api, READY).await?;
    let token = std::fs::read_to_string(restored.data_dir.join("operator.token"))?;
    let there = Api::new(token.trim()).state(&restored.url(), 0).await?;
    assert_eq!(there.state_hash, state.state_hash, "restored state differs");
    assert!(there.applied_index >= state.applied_index, "{there:?}");
    restored.stop().await?;

    let bad_file = c.root().join("flipped.paddle");
    std::fs::write(&bad_file, &flipped)?;
    let bad_dir = c.root().join("from-flipped");
    let out = paddle_cli(
        c.bin(),
        &[
            "restore",
            "--from",
            &bad_file.display().to_string(),
            "--data-dir",
            &bad_dir.display().to_string(),
        ],
    )
    .await?;
    assert_eq!(out.code(), 1, "{out:?}");
    assert!(out.stderr.contains("checksum"), "{out:?}");
    assert!(
        std::fs::read_dir(&bad_dir).map_or(true, |mut d| d.next().is_none()),
        "a refused restore must leave the data dir empty"
    );
    c.pass();
    Ok(())
}

/// A running `paddle demo` and what it printed up to "Press Ctrl-C".
struct Demo {
    child: tokio::process::Child,
    banner: String,
    stderr_path: std::path::PathBuf,
}

async fn start_demo(dir: &Path, http: u16, raft: u16, run: usize) -> anyhow::Result<Demo> {
    let stderr_path = dir.with_extension(format!("demo-{run}.stderr"));
    let mut child = tokio::process::Command::new(bin())
        .args(["demo", "--nodes", "3", "--dir"])
        .arg(dir)
        .args([
            "--http-port",
            &http.to_string(),
            "--raft-port",
            &raft.to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr_path)?)
        .kill_on_drop(true)
        .spawn()?;
    let mut lines = BufReader::new(child.stdout.take().context("stdout")?).lines();
    let mut banner = String::new();
    let read = async {
        while let Some(line) = lines.next_line().await? {
            banner.push_str(&line);
            banner.push('\n');
            if line.contains("Press Ctrl-C") {
                return anyhow::Ok(());
            }
        }
        anyhow::bail!("demo stdout ended")
    };
    let outcome = tokio::time::timeout(READY, read).await;
    if !matches!(outcome, Ok(Ok(()))) {
        let err = std::fs::read_to_string(&stderr_path).unwrap_or_default();
        anyhow::bail!("demo did not come up ({outcome:?}):\n{banner}\n{err}");
    }
    // Keep draining stdout so the demo never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok(Demo {
        child,
        banner,
        stderr_path,
    })
}

impl Demo {
    /// Send `sig` and wait for the demo's exit code.
    async fn stop(mut self, sig: libc::c_int) -> anyhow::Result<(i32, String)> {
        let pid = self.child.id().context("demo not running")?;
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(pid as libc::pid_t, sig);
        }
        let status = tokio::time::timeout(Duration::from_secs(90), self.child.wait()).await??;
        let err = std::fs::read_to_string(&self.stderr_path).unwrap_or_default();
        Ok((status.code().unwrap_or(-1), err))
    }
}

async fn members(api: &Api, url: &str) -> anyhow::Result<(Vec<u64>, Vec<u64>)> {
    let s = api.cluster(url).await?;
    anyhow::ensure!(s.leader.is_some(), "no leader: {s:?}");
    Ok((s.members(), s.voters()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_starts_stops_and_resumes_a_cluster() -> anyhow::Result<()> {
    let root = tempfile::tempdir()?;
    let dir = root.path().join("demo");
    let (http, raft) = (free_port_range(3), free_port_range(3));
    let urls: Vec<String> = (0..3)
        .map(|i| format!("http://127.0.0.1:{}", http + i))
        .collect();

    let demo = start_demo(&dir, http, raft, 1).await?;
    for url in &urls {
        assert!(demo.banner.contains(&format!("{url}/")), "{}", demo.banner);
    }
    let token = std::fs::read_to_string(dir.join("node-1/operator.token"))?;
    assert!(
        demo.banner
            .contains(&format!("Operator token: {}", token.trim())),
        "{}",
        demo.banner
    );
    let api = Api::new(token.trim());
    let first = members(&api, &urls[1]).await?;
    assert_eq!(first.0.len(), 3);
    assert_eq!(first.1, first.0, "three nodes are three voters");
    let (code, err) = demo.stop(libc::SIGTERM).await?;
    assert_eq!(code, 0, "{err}");
    for url in &urls {
        assert!(
            !api.ready(url).await,
            "{url} still answers after the demo stopped"
        );
    }

    // Same directory: the same cluster comes back; Ctrl-C stops it.
    let demo = start_demo(&dir, http, raft, 2).await?;
    assert_eq!(members(&api, &urls[2]).await?, first);
    let (code, err) = demo.stop(libc::SIGINT).await?;
    assert_eq!(code, 0, "{err}");
    assert_eq!(err.matches("resuming").count(), 3, "{err}");
    for url in &urls {
        assert!(!api.ready(url).await, "{url} still answers after Ctrl-C");
    }
    Ok(())
}
