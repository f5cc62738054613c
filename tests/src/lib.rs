//! paddle-tests: the harness for tests that run real `paddle` processes
//! and real browsers (`browser`: chromedriver + fantoccini).
//!
//! A test starts a [`Cluster`] of `paddle serve` processes (each with its
//! own data dir, ports and log file), drives it through the HTTP API with
//! [`Api`], injects faults ([`NodeProc::kill9`], SIGTERM, restarts on the
//! same data dir, [`strace`] with injected delays, partitions in a
//! [`Netns`]), runs probe writers ([`Load`]) and checks the resulting
//! history ([`History::check`]), or runs bidders ([`BidLoad`]) and readers
//! ([`audit::collect::Reader`]) and holds their answers, their reads and
//! every node's final state against the rules ([`Audit::check`]).
//!
//! # Where the tests live, and why
//!
//! The real-process and browser tests are here too, in `tests/tests/`,
//! beside their harness, but they are declared as paddle-node's
//! integration tests (`[[test]]` entries in `node/Cargo.toml` with paths
//! into this folder), and this crate has `autotests = false`. Only an
//! integration test of the package that owns a binary gets
//! `env!("CARGO_BIN_EXE_paddle")`, and only then does cargo guarantee that
//! the binary is built, and up to date, before the tests run, for `cargo
//! test --workspace` and `cargo test -p paddle-node` alike. (Asking cargo
//! for the binary from inside a test, as escargot does, was tried: under
//! `cargo test` the inner build waited about a minute for the outer one's
//! lock, per test binary.) So each test passes the binary in:
//! `Cluster::start(bin(), ...)` with `bin = env!("CARGO_BIN_EXE_paddle")`.
//!
//! The harness is a black-box client: it speaks HTTP, runs processes,
//! reads files and traces, and links no paddle crate but the pure rules
//! (paddle-auction and its paddle-proto, which [`audit`] replays the
//! acknowledged maximums through), so a change of the wire format shows up
//! as a failing test instead of being followed silently. (Tests that need the node's own encodings, to find a vote in
//! a trace or to decode a backup, take them from paddle-node's
//! dependencies.)

pub mod api;
pub mod audit;
pub mod bids;
pub mod browser;
pub mod cluster;
pub mod history;
pub mod netns;
pub mod process;
pub mod strace;

pub use api::{
    wall_ms, Api, ClusterStatus, NodeRow, ProbeAck, ProbeList, Reply, StateHash, TimeReply,
};
pub use audit::{Audit, Verdict};
pub use bids::{check_answers, AnswerCheck, BidLoad, BidRecord, PickLot};
pub use cluster::{Cluster, READY, SETTLE};
pub use history::{History, Load};
pub use netns::Netns;
pub use process::{faketime_env, free_port, free_port_range, paddle_cli, CliOutput, NodeProc};

/// A real 8×6 PNG (a red rectangle), for lot photo tests.
pub const TINY_PNG: &[u8] = b"\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x08\x00\x00\x00\x06\x08\x02\x00\x00\x00\x71\x67\x48\xac\x00\x00\x00\x11\x49\x44\x41\x54\x78\x9c\x63\x38\x61\xa3\x81\x15\x31\x0c\xa4\x04\x00\x9a\x46\x38\x41\x78\xff\xa6\xbe\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82";
