//! Real partitions without touching the host's firewall: a private network
//! namespace of the test's own (`ip netns add`), with only a loopback in
//! it. The nodes and the test's client run inside it, and iptables rules
//! inside it drop UDP between two nodes' QUIC ports (each node speaks QUIC
//! to its peers from its one raft port, so `--sport A --dport B` is exactly
//! the link from A to B). Nothing leaves the namespace, which is deleted
//! when the [`Netns`] is dropped.
//!
//! A test enters the namespace on its own thread before it builds its tokio
//! runtime ([`Netns::enter`]): threads and processes started from that
//! thread inherit it, so the runtime's workers, the reqwest client and
//! every `paddle serve` child live there too.

use std::process::Command;

use anyhow::{bail, Context};

/// A private network namespace, deleted on drop.
pub struct Netns {
    name: String,
}

fn run(program: &str, args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new(program).args(args).output().with_context(|| {
        format!("running {program} {args:?} (iproute2 and iptables are needed)")
    })?;
    if !out.status.success() {
        bail!(
            "{program} {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

impl Netns {
    /// A new namespace named after `prefix` and this process, with `lo` up.
    pub fn create(prefix: &str) -> anyhow::Result<Netns> {
        let name = format!("{prefix}-{}-{}", std::process::id(), rand::random::<u16>());
        run("ip", &["netns", "add", &name])?;
        let ns = Netns { name };
        ns.exec("ip", &["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// Its name (for `ip netns exec`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Move the calling thread into the namespace. Call it on the test's
    /// thread before building the runtime or starting any node.
    pub fn enter(&self) -> anyhow::Result<()> {
        let path = format!("/var/run/netns/{}", self.name);
        let f = std::fs::File::open(&path).with_context(|| format!("opening {path}"))?;
        use std::os::fd::AsRawFd;
        // SAFETY: setns on a namespace file we just opened; it changes only
        // this thread's network namespace.
        let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
        if rc != 0 {
            bail!(
                "setns into {}: {}",
                self.name,
                std::io::Error::last_os_error()
            );
        }
        Ok(())
    }

    /// Run a command inside the namespace.
    pub fn exec(&self, program: &str, args: &[&str]) -> anyhow::Result<()> {
        let mut all = vec!["netns", "exec", &self.name, program];
        all.extend_from_slice(args);
        run("ip", &all)
    }

    /// Drop every packet from the QUIC port `from` to the QUIC port `to`
    /// (one direction only).
    pub fn drop_link(&self, from: u16, to: u16) -> anyhow::Result<()> {
        let (f, t) = (from.to_string(), to.to_string());
        self.exec(
            "iptables",
            &[
                "-A", "INPUT", "-p", "udp", "--sport", &f, "--dport", &t, "-j", "DROP",
            ],
        )
    }

    /// Cut both directions between two QUIC ports.
    pub fn cut(&self, a: u16, b: u16) -> anyhow::Result<()> {
        self.drop_link(a, b)?;
        self.drop_link(b, a)
    }

    /// Cut `port` off from every port in `others`, both ways.
    pub fn isolate(&self, port: u16, others: &[u16]) -> anyhow::Result<()> {
        for o in others {
            self.cut(port, *o)?;
        }
        Ok(())
    }

    /// Remove every rule: the network is whole again.
    pub fn heal(&self) -> anyhow::Result<()> {
        self.exec("iptables", &["-F", "INPUT"])
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = run("ip", &["netns", "del", &self.name]);
    }
}
