//! Checks a [`Config`] once, before anything starts, and reports every
//! problem at once, each naming the key, its value, the flag and variable
//! that set it, and what to do.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use super::{Config, LimitsConfig, PeerAddr, RaftConfig, KIB, MIB};

/// Why a configuration could not be used. `paddle` prints it and exits 2.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The `--config` file could not be read.
    #[error("cannot read config file {path}: {source}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has an unknown key or a wrong type.
    #[error("config file {path} is not valid:\n{message}")]
    ParseFile {
        /// The file.
        path: PathBuf,
        /// toml's message, with line, column and key.
        message: String,
    },
    /// Values parsed but do not make sense, alone or together.
    #[error("invalid configuration:\n{}", list(.0))]
    Invalid(Vec<Problem>),
}

impl ConfigError {
    /// The problems found by validation (empty for file errors).
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Invalid(problems) => problems,
            _ => &[],
        }
    }
}

fn list(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  - {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One invalid value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The TOML key, dotted for sections: `raft.heartbeat_ms`.
    pub key: &'static str,
    /// The value as given.
    pub value: String,
    /// What is wrong and what would be right.
    pub reason: String,
}

impl Problem {
    /// The command-line flag that sets this key: `--raft-heartbeat-ms`.
    pub fn flag(&self) -> String {
        format!("--{}", self.key.replace(['.', '_'], "-"))
    }

    /// The environment variable that sets this key: `PADDLE_RAFT_HEARTBEAT_MS`.
    pub fn env(&self) -> String {
        format!("PADDLE_{}", self.key.replace('.', "_").to_ascii_uppercase())
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The log filter has one more source below PADDLE_LOG.
        let rust_log = if self.key == "log" { ", RUST_LOG" } else { "" };
        write!(
            f,
            "{} = {}: {} (set with {}, {}{rust_log} or the config file)",
            self.key,
            self.value,
            self.reason,
            self.flag(),
            self.env()
        )
    }
}

/// Collects problems while walking the config.
pub(super) struct Checker(Vec<Problem>);

impl Checker {
    pub(super) fn fail(
        &mut self,
        key: &'static str,
        value: impl fmt::Display,
        reason: impl Into<String>,
    ) {
        self.0.push(Problem {
            key,
            value: value.to_string(),
            reason: reason.into(),
        });
    }

    /// `lo <= value <= hi`, with the unit in the message.
    pub(super) fn range(&mut self, key: &'static str, value: u64, lo: u64, hi: u64, unit: &str) {
        if value < lo || value > hi {
            self.fail(key, value, format!("must be between {lo} and {hi} {unit}"));
        }
    }
}

impl Config {
    /// Checks every value and every relation between values; returns all
    /// problems found, not just the first.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut c = Checker(Vec::new());
        self.check_node(&mut c);
        check_raft(&self.raft, &mut c);
        check_clock(&self.clock, &mut c);
        self.limits.check(&mut c, &self.raft);
        self.assistant.check(&mut c);
        if c.0.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(c.0))
        }
    }

    fn check_node(&self, c: &mut Checker) {
        if self.data_dir.as_os_str().is_empty() {
            c.fail("data_dir", "\"\"", "must name a directory");
        }
        check_bind(
            c,
            "http_addr",
            self.http_addr,
            &self.advertise_http,
            "advertise_http",
        );
        check_bind(
            c,
            "raft_addr",
            self.raft_addr,
            &self.advertise_raft,
            "advertise_raft",
        );
        self.check_tls(c);
        match (&self.join, &self.token) {
            (Some(join), None) => c.fail(
                "join",
                join,
                "joining needs the cluster's join token: set token (--token / PADDLE_TOKEN); \
                 `paddle cluster token` on an existing node prints it",
            ),
            (None, Some(_)) => c.fail(
                "token",
                super::REDACTED,
                "a join token is only used together with join; set join to an existing \
                 node's QUIC address, or remove the token",
            ),
            _ => {}
        }
        if let Some(join) = &self.join {
            let own = self
                .advertise_raft
                .clone()
                .or_else(|| PeerAddr::from_socket(self.raft_addr).ok());
            if own.as_ref() == Some(join) {
                c.fail(
                    "join",
                    join,
                    "is this node's own QUIC address; join through another node of the cluster",
                );
            } else if own.as_ref().is_some_and(PeerAddr::is_loopback)
                && join.ip().is_some_and(|ip| !ip.is_loopback())
            {
                let key = if self.advertise_raft.is_some() {
                    "advertise_raft"
                } else {
                    "raft_addr"
                };
                c.fail(
                    key,
                    own.as_ref().map_or(String::new(), ToString::to_string),
                    format!(
                        "is a loopback address, but the cluster at {join} is on another \
                         machine and could not reach this node there; bind or advertise an \
                         address that machine can reach"
                    ),
                );
            }
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log) {
            c.fail(
                "log",
                &self.log,
                format!("is not a tracing filter ({e}); use e.g. `info` or `info,paddle_consensus=debug`"),
            );
        }
    }
}

impl Config {
    /// HTTPS: both files or neither, both readable, the key the
    /// certificate's; a redirect listener only with TLS and on its own port.
    fn check_tls(&self, c: &mut Checker) {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => {
                if let Err((which, reason)) = super::tls::web_server_config(cert, key) {
                    let path = if which == "tls_cert" { cert } else { key };
                    c.fail(which, path.display(), reason);
                }
            }
            (Some(cert), None) => c.fail(
                "tls_cert",
                cert.display(),
                "HTTPS needs the certificate's key too: also set tls_key (--tls-key / PADDLE_TLS_KEY)",
            ),
            (None, Some(key)) => c.fail(
                "tls_key",
                key.display(),
                "HTTPS needs a certificate for this key too: also set tls_cert (--tls-cert / PADDLE_TLS_CERT)",
            ),
            (None, None) => {}
        }
        if let Some(redirect) = self.http_redirect_addr {
            if !self.tls_on() {
                c.fail(
                    "http_redirect_addr",
                    redirect,
                    "redirects plain HTTP to HTTPS, so it needs TLS on: set tls_cert and tls_key, \
                     or remove http_redirect_addr",
                );
            } else if redirect == self.http_addr
                || (redirect.port() == self.http_addr.port() && redirect.port() != 0)
            {
                c.fail(
                    "http_redirect_addr",
                    redirect,
                    format!(
                        "must use another port than http_addr ({}), which serves HTTPS",
                        self.http_addr
                    ),
                );
            }
        }
    }
}

/// A bind address is fine as is, unless it is 0.0.0.0/:: without an
/// explicit advertise address (nobody could be told where to connect).
fn check_bind(
    c: &mut Checker,
    key: &'static str,
    bind: SocketAddr,
    advertise: &Option<PeerAddr>,
    advertise_key: &'static str,
) {
    if bind.ip().is_unspecified() && advertise.is_none() {
        c.fail(
            key,
            bind,
            format!(
                "binds every interface, so the node cannot tell others which address to use; \
                 also set {advertise_key} (--{} / PADDLE_{}) to an address they can reach",
                advertise_key.replace('_', "-"),
                advertise_key.to_ascii_uppercase()
            ),
        );
    }
}

fn check_clock(k: &super::ClockConfig, c: &mut Checker) {
    c.range("clock.max_skew_ms", k.max_skew_ms, 10, 3_600_000, "ms");
    c.range(
        "clock.sample_interval_ms",
        k.sample_interval_ms,
        50,
        60_000,
        "ms",
    );
}

/// The `[raft]` values and their relations (consensus's own struct).
fn check_raft(r: &RaftConfig, c: &mut Checker) {
    let this = r;
    {
        c.range("raft.heartbeat_ms", this.heartbeat_ms, 10, 10_000, "ms");
        if this.election_timeout_min_ms < 3 * this.heartbeat_ms {
            c.fail(
                "raft.election_timeout_min_ms",
                this.election_timeout_min_ms,
                format!(
                    "must be at least 3 x heartbeat_ms ({}), or a follower calls an election \
                     after one delayed heartbeat",
                    3 * this.heartbeat_ms
                ),
            );
        }
        if this.election_timeout_max_ms <= this.election_timeout_min_ms {
            c.fail(
                "raft.election_timeout_max_ms",
                this.election_timeout_max_ms,
                format!(
                    "must be greater than election_timeout_min_ms ({}); the gap randomises \
                     elections so candidates do not keep splitting the vote",
                    this.election_timeout_min_ms
                ),
            );
        } else if this.election_timeout_max_ms > 60_000 {
            c.fail(
                "raft.election_timeout_max_ms",
                this.election_timeout_max_ms,
                "must be at most 60000 ms, or a dead leader stalls the sale for minutes",
            );
        }
        c.range(
            "raft.snapshot_logs",
            this.snapshot_logs,
            1,
            100_000_000,
            "logs",
        );
        c.range(
            "raft.max_payload_entries",
            this.max_payload_entries,
            1,
            65_536,
            "entries",
        );
        c.range(
            "raft.frame_cap_bytes",
            this.frame_cap_bytes,
            64 * KIB,
            1024 * MIB,
            "bytes",
        );
        if this.snapshot_chunk_bytes < 4 * KIB {
            c.fail(
                "raft.snapshot_chunk_bytes",
                this.snapshot_chunk_bytes,
                "must be at least 4096 bytes",
            );
        } else if this.snapshot_chunk_bytes >= this.frame_cap_bytes {
            c.fail(
                "raft.snapshot_chunk_bytes",
                this.snapshot_chunk_bytes,
                format!(
                    "must be smaller than frame_cap_bytes ({}): a chunk travels in one frame \
                     with its header",
                    this.frame_cap_bytes
                ),
            );
        }
        c.range(
            "raft.install_snapshot_timeout_ms",
            this.install_snapshot_timeout_ms,
            this.heartbeat_ms.max(100),
            600_000,
            "ms (at least heartbeat_ms and 100)",
        );
        c.range(
            "raft.keep_logs_after_snapshot",
            this.keep_logs_after_snapshot,
            0,
            100_000_000,
            "logs",
        );
        if this.max_voters == 0 || this.max_voters > 15 || this.max_voters.is_multiple_of(2) {
            c.fail(
                "raft.max_voters",
                this.max_voters,
                "must be odd and between 1 and 15: a majority of N voters must agree, and an \
                 even N tolerates no more failures than N-1 while needing more votes \
                 (4 voters survive 1 failure, like 3); extra nodes join as learners",
            );
        }
        if this.propose_timeout_ms < this.election_timeout_max_ms
            || this.propose_timeout_ms > 600_000
        {
            c.fail(
                "raft.propose_timeout_ms",
                this.propose_timeout_ms,
                format!(
                    "must be between election_timeout_max_ms ({}) and 600000 ms, so a \
                     proposal can outlive one leader election",
                    this.election_timeout_max_ms
                ),
            );
        }
        c.range(
            "raft.forward_retries",
            this.forward_retries.into(),
            0,
            100,
            "retries",
        );
        c.range(
            "raft.anonymous_frame_cap_bytes",
            this.anonymous_frame_cap_bytes,
            4 * KIB,
            MIB,
            "bytes (a join request needs about 400 bytes)",
        );
        c.range(
            "raft.anonymous_streams",
            this.anonymous_streams.into(),
            1,
            64,
            "streams",
        );
        c.range(
            "raft.anonymous_connections",
            this.anonymous_connections.into(),
            1,
            1024,
            "connections",
        );
        c.range(
            "raft.anonymous_connects_per_second",
            this.anonymous_connects_per_second.into(),
            1,
            1000,
            "connections per second",
        );
    }
}

impl LimitsConfig {
    fn check(&self, c: &mut Checker, raft: &RaftConfig) {
        c.range(
            "limits.ws_max_message_bytes",
            self.ws_max_message_bytes as u64,
            256,
            MIB,
            "bytes (a bid message needs about 200)",
        );
        c.range(
            "limits.ws_buffer_bytes",
            self.ws_buffer_bytes as u64,
            256,
            MIB,
            "bytes",
        );
        c.range(
            "limits.max_connections",
            self.max_connections as u64,
            1,
            1_000_000,
            "connections",
        );
        c.range(
            "limits.max_subscriptions_per_connection",
            self.max_subscriptions_per_connection as u64,
            1,
            1024,
            "sales",
        );
        c.range(
            "limits.bids_per_second_per_connection",
            self.bids_per_second_per_connection.into(),
            1,
            10_000,
            "bids/s",
        );
        c.range(
            "limits.bids_per_second_per_bidder",
            self.bids_per_second_per_bidder.into(),
            1,
            10_000,
            "bids/s",
        );
        c.range(
            "limits.registrations_per_minute_per_address",
            self.registrations_per_minute_per_address.into(),
            1,
            100_000,
            "registrations/min",
        );
        c.range(
            "limits.registrations_per_minute_per_sale",
            self.registrations_per_minute_per_sale.into(),
            1,
            100_000,
            "registrations/min",
        );
        let body = self.http_body_bytes as u64;
        if !(KIB..=256 * MIB).contains(&body) {
            c.fail(
                "limits.http_body_bytes",
                body,
                "must be between 1024 and 268435456 bytes",
            );
        } else if body > raft.frame_cap_bytes / 4 {
            c.fail(
                "limits.http_body_bytes",
                body,
                format!(
                    "must be at most a quarter of raft.frame_cap_bytes ({}): a request may \
                     become one command, and a command may fill at most a quarter of a peer frame",
                    raft.frame_cap_bytes
                ),
            );
        }
        c.range(
            "limits.max_http_connections",
            self.max_http_connections as u64,
            1,
            1_000_000,
            "connections",
        );
        c.range(
            "limits.http_header_timeout_ms",
            self.http_header_timeout_ms,
            100,
            600_000,
            "ms",
        );
        c.range(
            "limits.http_body_timeout_ms",
            self.http_body_timeout_ms,
            100,
            3_600_000,
            "ms",
        );
        for (i, origin) in self.allowed_origins.iter().enumerate() {
            if let Err(reason) = check_origin(origin) {
                c.fail("limits.allowed_origins", format!("{origin:?}"), reason);
            } else if self.allowed_origins[..i].contains(origin) {
                c.fail(
                    "limits.allowed_origins",
                    format!("{origin:?}"),
                    "is listed twice",
                );
            }
        }
    }
}

/// An origin is exactly `scheme://host[:port]` as browsers send it in the
/// `Origin` header: http or https, no path, no trailing slash, no wildcard.
fn check_origin(origin: &str) -> Result<(), String> {
    const HINT: &str = "write origins as browsers send them, e.g. https://venue.example:8443";
    if origin == "*" || origin.contains('*') {
        return Err(format!(
            "wildcards are not allowed: any web page could then bid with a visitor's \
             session; list each origin ({HINT})"
        ));
    }
    let url = reqwest::Url::parse(origin).map_err(|e| format!("is not a URL ({e}); {HINT}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("must use http or https; {HINT}"));
    }
    if url.origin().ascii_serialization() != origin {
        return Err(format!(
            "is not a bare origin (no path, query, user or trailing slash; lowercase host; \
             no default port): {} would match; {HINT}",
            url.origin().ascii_serialization()
        ));
    }
    Ok(())
}
