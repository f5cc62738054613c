//! One real `paddle serve` process: its ports, data dir and log file, and
//! the ways a test ends it (SIGKILL, SIGTERM, or waiting for it to stop by
//! itself).
//!
//! Ports are picked by the harness, not by the node (port 0), because a
//! node must come back on the same addresses after a restart: the cluster
//! membership stores them. They come from 20000..32000, below Linux's
//! ephemeral range, so the QUIC client sockets of running nodes (which use
//! ephemeral ports) never take a stopped node's port, and each is checked
//! free for both TCP and UDP before use.
//!
//! Each node's stdout and stderr go to `<root>/<name>.log`, appended across
//! restarts; [`crate::Cluster`] prints the tails when a test fails. Set
//! `PADDLE_TEST_LOG` (a log filter, e.g. `info,openraft=info`) to make the
//! nodes log more. On Linux
//! each child gets SIGKILL when the thread that spawned it ends
//! (`PR_SET_PDEATHSIG`), so a crashed or killed test run leaves no node
//! behind.

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rand::Rng;

use crate::api::Api;

/// Ports handed out by this test process, never handed out twice.
static USED_PORTS: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

/// A port free for both TCP and UDP on 127.0.0.1, not used before by this
/// process.
pub fn free_port() -> u16 {
    let mut rng = rand::thread_rng();
    loop {
        let port = rng.gen_range(20_000..32_000);
        let mut used = USED_PORTS.lock().expect("port set");
        let used = used.get_or_insert_with(HashSet::new);
        if used.contains(&port) {
            continue;
        }
        let tcp = TcpListener::bind((Ipv4Addr::LOCALHOST, port));
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, port));
        if tcp.is_ok() && udp.is_ok() {
            used.insert(port);
            return port;
        }
    }
}

/// `n` consecutive ports, each free for TCP and UDP (for `paddle demo`,
/// which numbers its nodes' ports from a base); returns the first.
pub fn free_port_range(n: u16) -> u16 {
    let mut rng = rand::thread_rng();
    'search: loop {
        let base = rng.gen_range(20_000..32_000 - n);
        let mut used = USED_PORTS.lock().expect("port set");
        let used = used.get_or_insert_with(HashSet::new);
        for port in base..base + n {
            let free = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
                && UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).is_ok();
            if used.contains(&port) || !free {
                continue 'search;
            }
        }
        used.extend(base..base + n);
        return base;
    }
}

/// Where Debian's `faketime` package puts libfaketime.
const FAKETIME_LIBS: &[&str] = &[
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/faketime/libfaketime.so.1",
];

/// Environment that makes a node's wall clock lie (libfaketime, preloaded
/// into the node itself so the pid the harness holds is the node's):
/// `spec` is a libfaketime `FAKETIME` value, `"+600s"`, `"-600s"` or
/// `"@2001-01-01 00:00:00"` (starts then, and runs). Only the wall clock
/// moves; the monotonic clock (tokio's timers, QUIC) stays true. Fails when
/// Debian's `faketime` is not installed (the README's test command installs
/// it).
pub fn faketime_env(spec: &str) -> anyhow::Result<Vec<(String, String)>> {
    let lib = FAKETIME_LIBS
        .iter()
        .find(|p| Path::new(p).exists())
        .context("libfaketime not found: apt-get install faketime")?;
    Ok(vec![
        ("LD_PRELOAD".into(), lib.to_string()),
        ("FAKETIME".into(), spec.into()),
        ("FAKETIME_DONT_FAKE_MONOTONIC".into(), "1".into()),
        ("FAKETIME_DONT_RESET".into(), "1".into()),
    ])
}

/// A `paddle serve` process (running or not) with everything needed to
/// start it again the same way.
pub struct NodeProc {
    pub name: String,
    bin: PathBuf,
    pub data_dir: PathBuf,
    pub http: SocketAddr,
    pub raft: SocketAddr,
    /// Extra `serve` flags, used on every start.
    pub args: Vec<String>,
    /// Extra environment variables, used on every start (a skewed clock:
    /// [`faketime_env`]).
    pub env: Vec<(String, String)>,
    log: PathBuf,
    child: Option<Child>,
    /// The node id, once known.
    pub id: Option<u64>,
    /// Serves HTTPS (started with --tls-cert/--tls-key): its URL is https.
    pub tls: bool,
}

impl NodeProc {
    /// A node named `name` under `root` (data dir `root/name`), not started.
    pub fn new(bin: &Path, root: &Path, name: &str, args: &[&str]) -> Self {
        NodeProc {
            name: name.to_string(),
            bin: bin.to_path_buf(),
            data_dir: root.join(name),
            http: SocketAddr::from((Ipv4Addr::LOCALHOST, free_port())),
            raft: SocketAddr::from((Ipv4Addr::LOCALHOST, free_port())),
            args: args.iter().map(|a| a.to_string()).collect(),
            env: Vec::new(),
            log: root.join(format!("{name}.log")),
            child: None,
            id: None,
            tls: false,
        }
    }

    /// Base URL of the HTTP API, without a trailing slash.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.http)
    }

    /// The `paddle` binary this node runs.
    pub fn bin(&self) -> &Path {
        &self.bin
    }

    /// Path of the log file (stdout and stderr of every start).
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Start `paddle serve`; with `join = Some((contact, token))` as a
    /// joining node (token through `PADDLE_TOKEN`, as the docs advise).
    pub fn start(&mut self, join: Option<(&str, &str)>) -> anyhow::Result<()> {
        if self.is_running() {
            bail!("{} is already running", self.name);
        }
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        use std::io::Write;
        writeln!(log, "===== harness: starting {} =====", self.name)?;
        let mut cmd = Command::new(&self.bin);
        // Nothing from the test's environment decides what the node is.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PADDLE_") {
                cmd.env_remove(key);
            }
        }
        cmd.arg("serve")
            .arg("--data-dir")
            .arg(&self.data_dir)
            .arg("--http-addr")
            .arg(self.http.to_string())
            .arg("--raft-addr")
            .arg(self.raft.to_string())
            .args(&self.args);
        if let Some((contact, token)) = join {
            cmd.arg("--join").arg(contact).env("PADDLE_TOKEN", token);
        }
        // Post-mortems: PADDLE_TEST_LOG=info,openraft=info makes every node
        // of every test log openraft's decisions (elections, votes).
        if let Ok(filter) = std::env::var("PADDLE_TEST_LOG") {
            cmd.arg("--log").arg(filter);
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd.env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        // SAFETY: prctl is async-signal-safe and touches no memory of ours.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {}", self.bin.display()))?;
        self.child = Some(child);
        Ok(())
    }

    /// The process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// True while the process runs (reaps it when it has exited).
    pub fn is_running(&mut self) -> bool {
        self.try_exit().is_none() && self.child.is_some()
    }

    /// The exit status if the process has ended (and forgets the child).
    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        match child.try_wait() {
            Ok(Some(status)) => {
                self.child = None;
                Some(status)
            }
            _ => None,
        }
    }

    /// Send a signal to the running process.
    pub fn signal(&self, sig: libc::c_int) {
        if let Some(pid) = self.pid() {
            // SAFETY: kill(2) on our own child's pid.
            unsafe {
                libc::kill(pid as libc::pid_t, sig);
            }
        }
    }

    /// SIGKILL, like a power cut for the process, and reap it.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Wait until the process exits by itself.
    pub async fn wait_exit(&mut self, timeout: Duration) -> anyhow::Result<ExitStatus> {
        let started = Instant::now();
        loop {
            let Some(child) = self.child.as_mut() else {
                bail!("{} is not running", self.name);
            };
            if let Some(status) = child.try_wait()? {
                self.child = None;
                return Ok(status);
            }
            if started.elapsed() > timeout {
                bail!(
                    "{} did not exit within {timeout:?}; last log lines:\n{}",
                    self.name,
                    self.log_tail(30)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGTERM and wait for the clean exit.
    pub async fn stop(&mut self) -> anyhow::Result<ExitStatus> {
        self.signal(libc::SIGTERM);
        self.wait_exit(Duration::from_secs(60)).await
    }

    /// Poll `/ready` until it answers 200; fails early, with the log, if
    /// the process exits.
    pub async fn wait_ready(&mut self, api: &Api, timeout: Duration) -> anyhow::Result<()> {
        let started = Instant::now();
        let url = self.url();
        loop {
            if let Some(status) = self.try_exit() {
                bail!(
                    "{} exited ({status}) before it was ready; last log lines:\n{}",
                    self.name,
                    self.log_tail(30)
                );
            }
            if self.child.is_none() {
                bail!("{} is not running", self.name);
            }
            if api.ready(&url).await {
                return Ok(());
            }
            if started.elapsed() > timeout {
                bail!(
                    "{} was not ready within {timeout:?}; last log lines:\n{}",
                    self.name,
                    self.log_tail(30)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Everything the process wrote so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The last `n` lines of the log.
    pub fn log_tail(&self, n: usize) -> String {
        let text = self.log_text();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// What a finished `paddle` command printed.
#[derive(Debug)]
pub struct CliOutput {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl CliOutput {
    /// The exit code (-1 when killed by a signal).
    pub fn code(&self) -> i32 {
        self.status.code().unwrap_or(-1)
    }
}

/// Run `paddle <args>` to completion (operator commands), with no
/// `PADDLE_*` variable of the test environment leaking in.
pub async fn paddle_cli(bin: &Path, args: &[&str]) -> anyhow::Result<CliOutput> {
    let mut cmd = tokio::process::Command::new(bin);
    cmd.args(args).stdin(Stdio::null()).kill_on_drop(true);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PADDLE_") {
            cmd.env_remove(key);
        }
    }
    let out = cmd
        .output()
        .await
        .with_context(|| format!("running paddle {args:?}"))?;
    Ok(CliOutput {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}
