//! `paddle demo --nodes N [--dir DIR]`: an N-node cluster on this machine,
//! made exactly as separate machines would make it: node 1 bootstraps, the
//! others run `paddle serve --join <node 1's QUIC address>` with the join
//! token node 1 wrote. Each node is a child process running this same
//! executable, so what the demo shows is what a venue runs.
//!
//! Node N listens on HTTP `--http-port` + N - 1 and QUIC `--raft-port` +
//! N - 1, keeps its data in `DIR/node-N` and its log in `DIR/node-N.log`.
//! Running the demo again on the same DIR resumes those nodes (and joins
//! any extra ones). Ctrl-C or SIGTERM stops every node cleanly; the
//! children sit in their own process group so the terminal's Ctrl-C reaches
//! only the demo, which then stops them, and on Linux they also get SIGTERM
//! if the demo itself dies.

use crate::cli::run::{run_async, Threads};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{ExitCode, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::api::ops::nodes::ClusterStatus;
use crate::cli::DemoArgs;
use crate::cluster::datadir::DataDir;
use crate::tools::cluster::render_status;

/// How long one node may take to become ready (a join includes catching up).
const READY_TIMEOUT: Duration = Duration::from_secs(180);
/// How long a node may take to stop after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);
/// Variables that would make a demo node something else than the demo
/// means (another data dir, a join elsewhere). Tuning variables such as
/// `PADDLE_RAFT_MAX_VOTERS` or `PADDLE_LOG` pass through on purpose.
const IDENTITY_VARS: &[&str] = &[
    "PADDLE_CONFIG",
    "PADDLE_DATA_DIR",
    "PADDLE_HTTP_ADDR",
    "PADDLE_RAFT_ADDR",
    "PADDLE_ADVERTISE_HTTP",
    "PADDLE_ADVERTISE_RAFT",
    "PADDLE_JOIN",
    "PADDLE_TOKEN",
];

/// `paddle demo`.
pub fn demo(args: &DemoArgs) -> ExitCode {
    // One thread: children are spawned from the main thread, which lives as
    // long as the demo, so PR_SET_PDEATHSIG fires only when the demo dies.
    run_async("demo", Threads::One, async {
        run(args).await.map(|()| ExitCode::SUCCESS)
    })
}

/// One child node.
struct DemoNode {
    n: u16,
    dir: PathBuf,
    log: PathBuf,
    http: SocketAddr,
    raft: SocketAddr,
    child: tokio::process::Child,
    exited: Option<ExitStatus>,
}

impl DemoNode {
    fn url(&self) -> String {
        format!("http://{}/", self.http)
    }
}

async fn run(args: &DemoArgs) -> anyhow::Result<()> {
    check_ports(args)?;
    check_layout(args)?;
    let exe = std::env::current_exe().context("cannot find the paddle executable")?;
    let mut nodes: Vec<DemoNode> = Vec::new();
    let signal = shutdown_signal();
    tokio::pin!(signal);

    let started = {
        let startup = start_all(args, &exe, &mut nodes);
        tokio::pin!(startup);
        tokio::select! {
            r = &mut startup => Some(r),
            _ = &mut signal => None,
        }
    };
    match started {
        None => {
            eprintln!("paddle demo: stopping before every node was up");
            return stop_all(&mut nodes).await;
        }
        Some(Err(e)) => {
            let _ = stop_all(&mut nodes).await;
            return Err(e);
        }
        Some(Ok(())) => {}
    }
    print_summary(args, &nodes).await;

    loop {
        if nodes.iter().all(|n| n.exited.is_some()) {
            bail!(
                "every node has stopped; see the logs in {}",
                args.dir.display()
            );
        }
        tokio::select! {
            _ = &mut signal => break,
            (i, status) = first_exit(&mut nodes) => {
                let node = &mut nodes[i];
                node.exited = Some(status);
                eprintln!(
                    "paddle demo: node {} exited ({status}); its log: {}",
                    node.n,
                    node.log.display()
                );
            }
        }
    }
    eprintln!("paddle demo: stopping all nodes");
    stop_all(&mut nodes).await
}

fn check_ports(args: &DemoArgs) -> anyhow::Result<()> {
    let last = |first: u16| u32::from(first) + u32::from(args.nodes) - 1;
    if args.http_port == 0 || args.raft_port == 0 {
        bail!("--http-port and --raft-port must not be 0: the demo prints fixed URLs");
    }
    if last(args.http_port) > 65535 || last(args.raft_port) > 65535 {
        bail!(
            "{} nodes do not fit below port 65535 from the given ports",
            args.nodes
        );
    }
    Ok(())
}

/// Refuse directories that would make a second cluster or trip a node.
fn check_layout(args: &DemoArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    let node1 = DataDir::new(args.dir.join("node-1"));
    for n in 1..=args.nodes {
        let dd = DataDir::new(args.dir.join(format!("node-{n}")));
        if !dd.exists() && !dd.is_empty() {
            bail!(
                "{} holds files but no node (no node.json): a start that broke off. \
                 Remove that directory and run the demo again.",
                dd.root().display()
            );
        }
        if n > 1 && dd.exists() && !node1.exists() {
            bail!(
                "{} belongs to an earlier demo cluster but node-1 is gone; use a new --dir",
                dd.root().display()
            );
        }
    }
    Ok(())
}

/// Start node 1, then every other node through a token join, one at a time.
/// Nodes that resume on their data start together and are waited for
/// together: one voter of several cannot be ready alone (no quorum to
/// confirm a leader or agree on cluster time).
async fn start_all(args: &DemoArgs, exe: &Path, nodes: &mut Vec<DemoNode>) -> anyhow::Result<()> {
    let mut join_token: Option<String> = None;
    let mut resumed = 0;
    for n in 1..=args.nodes {
        let dd = DataDir::new(args.dir.join(format!("node-{n}")));
        let needs_join = n > 1 && !dd.node_info().is_ok_and(|i| i.setup_complete);
        let join = if needs_join {
            if join_token.is_none() {
                let node1 = DataDir::new(args.dir.join("node-1"));
                join_token =
                    Some(node1.read_join_token()?.with_context(|| {
                        format!("{} has no join.token", node1.root().display())
                    })?);
            }
            let raft1 = SocketAddr::from((Ipv4Addr::LOCALHOST, args.raft_port));
            Some((raft1, join_token.clone().unwrap_or_default()))
        } else {
            None
        };
        let what = match (n, dd.exists(), needs_join) {
            (1, false, _) => "bootstrapping a new cluster",
            (_, true, false) => "resuming",
            _ => "joining with the join token",
        };
        eprintln!("paddle demo: node {n}: {what}");
        if what != "resuming" {
            let from = nodes.len() - resumed;
            for node in &mut nodes[from..] {
                wait_ready(node).await?;
            }
            resumed = 0;
        }
        nodes.push(spawn(exe, args, n, &dd, join)?);
        if what == "resuming" {
            resumed += 1;
        } else {
            let node = nodes.last_mut().expect("just pushed");
            wait_ready(node).await?;
        }
    }
    let from = nodes.len() - resumed;
    for node in &mut nodes[from..] {
        wait_ready(node).await?;
    }
    Ok(())
}

fn spawn(
    exe: &Path,
    args: &DemoArgs,
    n: u16,
    dd: &DataDir,
    join: Option<(SocketAddr, String)>,
) -> anyhow::Result<DemoNode> {
    let http = SocketAddr::from((Ipv4Addr::LOCALHOST, args.http_port + n - 1));
    let raft = SocketAddr::from((Ipv4Addr::LOCALHOST, args.raft_port + n - 1));
    let log = args.dir.join(format!("node-{n}.log"));
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .with_context(|| format!("cannot open {}", log.display()))?;
    let mut cmd = tokio::process::Command::new(exe);
    cmd.arg("serve")
        .arg("--data-dir")
        .arg(dd.root())
        .arg("--http-addr")
        .arg(http.to_string())
        .arg("--raft-addr")
        .arg(raft.to_string());
    for var in IDENTITY_VARS {
        cmd.env_remove(var);
    }
    if let Some((contact, token)) = join {
        // The token goes through the environment: flags show up in `ps`.
        cmd.arg("--join")
            .arg(contact.to_string())
            .env("PADDLE_TOKEN", token);
    }
    cmd.stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .process_group(0)
        .kill_on_drop(true);
    #[cfg(target_os = "linux")]
    // SAFETY: prctl is async-signal-safe and touches no memory of ours.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd
        .spawn()
        .with_context(|| format!("cannot start {}", exe.display()))?;
    Ok(DemoNode {
        n,
        dir: dd.root().to_path_buf(),
        log,
        http,
        raft,
        child,
        exited: None,
    })
}

/// Poll `/ready` until it answers 200; fail with the log's tail if the
/// node exits first.
async fn wait_ready(node: &mut DemoNode) -> anyhow::Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    let url = format!("{}ready", node.url());
    let started = Instant::now();
    loop {
        if let Some(status) = node.child.try_wait()? {
            node.exited = Some(status);
            bail!(
                "node {} exited ({status}) before it was ready. Last lines of {}:\n{}",
                node.n,
                node.log.display(),
                tail(&node.log, 15)
            );
        }
        if let Ok(r) = client.get(&url).send().await {
            if r.status().is_success() {
                return Ok(());
            }
        }
        if started.elapsed() > READY_TIMEOUT {
            bail!(
                "node {} was not ready within {READY_TIMEOUT:?}; see {}",
                node.n,
                node.log.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The last `lines` lines of a log file.
fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

async fn print_summary(args: &DemoArgs, nodes: &[DemoNode]) {
    println!();
    println!(
        "Paddle demo: {} nodes; data and logs in {}",
        nodes.len(),
        args.dir.display()
    );
    for node in nodes {
        println!(
            "  node {}  {}  (QUIC {}, data {})",
            node.n,
            node.url(),
            node.raft,
            node.dir.display()
        );
    }
    let status = match reqwest::get(format!("{}api/v1/cluster", nodes[0].url())).await {
        Ok(r) => r.json::<ClusterStatus>().await.ok(),
        Err(_) => None,
    };
    if let Some(status) = status {
        println!();
        for line in render_status(&status).lines() {
            println!("  {line}");
        }
    }
    let token_file = args.dir.join("node-1").join("operator.token");
    match std::fs::read_to_string(&token_file) {
        Ok(t) => {
            println!();
            println!("Operator token: {}", t.trim());
            println!("  (kept in {}, mode 0600)", token_file.display());
        }
        Err(e) => println!("Operator token: cannot read {}: {e}", token_file.display()),
    }
    println!();
    println!(
        "Try: paddle cluster status --node {}",
        nodes[nodes.len() - 1].url()
    );
    println!("Press Ctrl-C to stop all nodes.");
}

/// Wait until any running node exits; returns its position and status.
async fn first_exit(nodes: &mut [DemoNode]) -> (usize, ExitStatus) {
    let waits: Vec<_> = nodes
        .iter_mut()
        .enumerate()
        .filter(|(_, n)| n.exited.is_none())
        .map(|(i, n)| Box::pin(async move { (i, n.child.wait().await) }))
        .collect();
    if waits.is_empty() {
        return std::future::pending().await;
    }
    let ((i, status), _, _) = futures::future::select_all(waits).await;
    // A wait that fails means the child is gone; report it as killed.
    let status = status.unwrap_or_else(|_| std::os::unix::process::ExitStatusExt::from_raw(9));
    (i, status)
}

/// SIGTERM every running node, wait for each (killing it after
/// [`STOP_TIMEOUT`]); an error if any did not stop cleanly.
async fn stop_all(nodes: &mut [DemoNode]) -> anyhow::Result<()> {
    for node in nodes.iter().filter(|n| n.exited.is_none()) {
        if let Some(pid) = node.child.id() {
            // SAFETY: plain kill(2) on our own child's pid.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGTERM);
            }
        }
    }
    let mut unclean = Vec::new();
    for node in nodes.iter_mut().filter(|n| n.exited.is_none()) {
        let status = match tokio::time::timeout(STOP_TIMEOUT, node.child.wait()).await {
            Ok(Ok(status)) => status,
            _ => {
                let _ = node.child.start_kill();
                node.child.wait().await?
            }
        };
        node.exited = Some(status);
        if status.success() {
            eprintln!("paddle demo: node {} stopped", node.n);
        } else {
            unclean.push(node.n);
            eprintln!("paddle demo: node {} ended with {status}", node.n);
        }
    }
    if unclean.is_empty() {
        Ok(())
    } else {
        bail!("nodes {unclean:?} did not stop cleanly; see their logs")
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
