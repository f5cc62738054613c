//! The `paddle` command line: one binary for every role (node, operator
//! tool, bidder tool, benchmark), so a venue installs one file.
//!
//! This module only declares arguments, typed, so bad input is refused by
//! clap with a usage error (exit 2) before any command runs. What each
//! command does lives in [`crate::serve`] and [`crate::tools`]; `main`
//! dispatches, and [`run::run_async`] runs each command's async body.

// Doc comments on arguments are clap's help text, written for a terminal
// (`<redacted>`, bare URLs), not for rustdoc.
#![allow(rustdoc::bare_urls, rustdoc::invalid_html_tags)]

pub mod logging;
pub mod run;
#[cfg(test)]
mod tests;
mod values;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use paddle_proto::NodeId;

use crate::config::{ConfigArgs, Secret, SecretError, OPERATOR_TOKEN_FILE};
use values::parse_id;
pub use values::{Amount, NodeUrl};

/// Parsed command line of `paddle`.
#[derive(Debug, Parser)]
#[command(
    name = "paddle",
    version,
    propagate_version = true,
    about = "Edge auction node: live and timed auctions replicated over a venue's own machines",
    long_about = "Edge auction node: live and timed auctions replicated over a venue's own \
                  machines.\n\nEvery machine runs `paddle serve`; the nodes agree on one bid log \
                  with Raft, so every screen shows the same prices and the sale goes on when a \
                  machine dies. `paddle serve` with no flags starts a one-node cluster on \
                  http://127.0.0.1:8080."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Every `paddle` subcommand.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a node: bootstrap a new cluster, join one (--join), or resume from the data dir
    Serve(ServeArgs),
    /// Show or check the node configuration (file < PADDLE_* env < flags)
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Operate the cluster: status, join token, remove, promote, demote, lead, HTTPS certificates
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// Start an N-node cluster on this machine to try Paddle out; Ctrl-C stops it
    Demo(DemoArgs),
    /// Save a consistent snapshot of the cluster state to a file (operator)
    Backup(BackupArgs),
    /// Seed an empty data dir from a backup file as a new one-node cluster
    Restore(RestoreArgs),
    /// Replay an eBay bid log (CSV) through the auction engine and compare final prices
    Replay(ReplayArgs),
    /// Measure throughput and latency on a local cluster
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Place one bid through a node's public API
    Bid(BidArgs),
    /// Print a sale's live events as they are committed
    Watch(WatchArgs),
    /// Run scripted bidders from a file against one or more nodes
    Scenario(ScenarioArgs),
    /// Measure the fallback appraiser on an eBay bid log (leave-one-out over auctions)
    AppraiseEval(AppraiseEvalArgs),
}

/// `paddle appraise-eval`.
#[derive(Debug, Clone, Args)]
pub struct AppraiseEvalArgs {
    /// CSV in eBay bid-log format: auctionid,bid,bidtime,bidder,bidderrate,openbid,price,item,auction_type
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// `paddle serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Node settings.
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// `paddle config ...`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the effective configuration as TOML, secrets shown as <redacted>
    Show(ConfigArgs),
    /// Validate the configuration: exit 0 if a node could start with it, 2 if not
    Check(ConfigArgs),
}

/// `paddle cluster ...`.
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Table of nodes: id, addresses, voter or learner, role, term, applied index, lag, health
    Status(StatusArgs),
    /// Print the join token for new nodes, or replace it with --rotate (operator)
    Token(TokenArgs),
    /// Remove a node from the cluster live; the removed node stops itself (operator)
    Remove(MemberArgs),
    /// Make a learner a voter (operator)
    Promote(MemberArgs),
    /// Make a voter a learner: it keeps serving bidders but stops voting (operator)
    Demote(MemberArgs),
    /// Hand leadership to this voter, e.g. before maintenance on the leader's machine (operator)
    Lead(MemberArgs),
    /// Issue an HTTPS certificate from the cluster CA for `serve --tls-cert` (on a voter's machine)
    Cert(CertArgs),
}

/// `paddle cluster cert`.
#[derive(Debug, Clone, Args)]
#[command(group(clap::ArgGroup::new("names").args(["name", "ip"]).required(true).multiple(true)))]
pub struct CertArgs {
    /// DNS name the staff and bidders type, e.g. venue.local (repeat or comma-separate)
    #[arg(long, value_name = "NAME", value_delimiter = ',')]
    pub name: Vec<String>,
    /// IP address the node is reached at, e.g. 10.0.0.5 (repeat or comma-separate)
    #[arg(long, value_name = "IP", value_delimiter = ',')]
    pub ip: Vec<std::net::IpAddr>,
    /// Where to write the certificate chain (PEM; give it to --tls-cert)
    #[arg(long, value_name = "FILE")]
    pub out_cert: PathBuf,
    /// Where to write the private key (PEM, mode 0600; give it to --tls-key)
    #[arg(long, value_name = "FILE")]
    pub out_key: PathBuf,
    /// Also copy the CA certificate here, to install on staff devices
    #[arg(long, value_name = "FILE")]
    pub ca_out: Option<PathBuf>,
    /// Days the certificate is valid (iOS refuses more than 825)
    #[arg(long, default_value_t = 397, value_parser = clap::value_parser!(u32).range(1..=825))]
    pub days: u32,
    /// Data dir of a voter of the cluster, which holds the CA key (tls/ca.key)
    #[arg(
        long,
        env = "PADDLE_DATA_DIR",
        value_name = "DIR",
        default_value = "./paddle-data"
    )]
    pub data_dir: PathBuf,
    /// Overwrite the output files if they exist
    #[arg(long)]
    pub force: bool,
}

/// Which node a client command talks to.
#[derive(Debug, Clone, Args)]
pub struct NodeArg {
    /// HTTP address of any node of the cluster, e.g. 10.0.0.5:8080 or https://venue-1.local
    #[arg(
        long,
        env = "PADDLE_NODE",
        value_name = "URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub node: NodeUrl,
}

/// How operator commands prove they may change the cluster.
#[derive(Debug, Clone, Args)]
pub struct OperatorAuth {
    /// Operator token printed at bootstrap [default: read from <data-dir>/operator.token]
    #[arg(
        long,
        env = "PADDLE_OPERATOR_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub operator_token: Option<Secret>,
    /// Data dir of a local node, where operator.token is looked for
    #[arg(
        long,
        env = "PADDLE_DATA_DIR",
        value_name = "DIR",
        default_value = "./paddle-data"
    )]
    pub data_dir: PathBuf,
}

impl OperatorAuth {
    /// The operator token: the flag or variable if given, else the local
    /// node's token file; a clear error naming both ways otherwise.
    pub fn token(&self) -> Result<Secret, SecretError> {
        if let Some(token) = &self.operator_token {
            return Ok(token.clone());
        }
        let path = self.data_dir.join(OPERATOR_TOKEN_FILE);
        if path.exists() {
            Secret::read_file(&path)
        } else {
            Err(SecretError::Missing { path })
        }
    }
}

/// `paddle cluster status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// Node to ask.
    #[command(flatten)]
    pub node: NodeArg,
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
}

/// `paddle cluster token`.
#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    /// Replace the join token; the old one stops working at once
    #[arg(long)]
    pub rotate: bool,
    /// Node to ask.
    #[command(flatten)]
    pub node: NodeArg,
    /// Operator credentials.
    #[command(flatten)]
    pub auth: OperatorAuth,
}

/// `paddle cluster remove|promote|demote <ID>`.
#[derive(Debug, Clone, Args)]
pub struct MemberArgs {
    /// Node id, as shown by `paddle cluster status`
    #[arg(value_name = "ID")]
    pub id: NodeId,
    /// Node to send the change to (any node; it is forwarded to the leader).
    #[command(flatten)]
    pub node: NodeArg,
    /// Operator credentials.
    #[command(flatten)]
    pub auth: OperatorAuth,
}

/// `paddle demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Number of nodes (up to 5 vote; more join as learners)
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub nodes: u16,
    /// Directory for the nodes' data dirs (node-1, node-2, ...)
    #[arg(long, value_name = "DIR", default_value = "./paddle-demo")]
    pub dir: PathBuf,
    /// HTTP port of node 1; node N uses this + N - 1
    #[arg(long, value_name = "PORT", default_value_t = 8080)]
    pub http_port: u16,
    /// QUIC port of node 1; node N uses this + N - 1
    #[arg(long, value_name = "PORT", default_value_t = 7080)]
    pub raft_port: u16,
}

/// `paddle backup`.
#[derive(Debug, Clone, Args)]
pub struct BackupArgs {
    /// Node to take the snapshot from.
    #[command(flatten)]
    pub node: NodeArg,
    /// File to write (versioned, with a checksum)
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Overwrite FILE if it exists
    #[arg(long)]
    pub force: bool,
    /// Operator credentials.
    #[command(flatten)]
    pub auth: OperatorAuth,
}

/// `paddle restore`.
#[derive(Debug, Clone, Args)]
pub struct RestoreArgs {
    /// Backup file written by `paddle backup`
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
    /// Empty data dir for the new node; start it with `paddle serve --data-dir DIR`
    #[arg(long, env = "PADDLE_DATA_DIR", value_name = "DIR")]
    pub data_dir: PathBuf,
}

/// Bid increment tables known to `paddle replay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum IncrementTable {
    /// eBay US increments of 2005 (0.05 below 1.00 up to 100.00 from 5000.00)
    #[value(name = "ebay-2005")]
    Ebay2005,
}

/// `paddle replay`.
#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// CSV in eBay bid-log format: auctionid,bid,bidtime,bidder,bidderrate,openbid,price,item,auction_type
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Increment table to replay with
    #[arg(long, value_enum, default_value_t = IncrementTable::Ebay2005)]
    pub increments: IncrementTable,
    /// Print the report as one JSON document (no progress bar)
    #[arg(long)]
    pub json: bool,
}

/// `paddle bid`.
#[derive(Debug, Clone, Args)]
pub struct BidArgs {
    /// Node to bid through.
    #[command(flatten)]
    pub node: NodeArg,
    /// Bidder token returned at registration
    #[arg(
        long,
        env = "PADDLE_BIDDER_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub token: Secret,
    /// Sale id
    #[arg(long, value_name = "SALE", value_parser = parse_id)]
    pub sale: String,
    /// Lot id
    #[arg(long, value_name = "LOT", value_parser = parse_id)]
    pub lot: String,
    /// Maximum amount as a decimal in the sale's currency, e.g. 12.50
    #[arg(long, value_name = "AMOUNT")]
    pub amount: Amount,
    /// Client bid id; resending the same id never makes a second bid [default: a new random id]
    #[arg(long, value_name = "ID", value_parser = parse_id)]
    pub bid_id: Option<String>,
    /// Buy the lot now at its buy-now price (AMOUNT must equal it)
    #[arg(long)]
    pub buy_now: bool,
}

/// `paddle watch`.
#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    /// Node to watch through.
    #[command(flatten)]
    pub node: NodeArg,
    /// Sale id
    #[arg(long, value_name = "SALE", value_parser = parse_id)]
    pub sale: String,
    /// Replay events after this log index first (resume after a disconnect)
    #[arg(long, value_name = "INDEX")]
    pub since: Option<u64>,
    /// Print raw JSON messages, one per line
    #[arg(long)]
    pub json: bool,
}

/// `paddle scenario`.
#[derive(Debug, Clone, Args)]
pub struct ScenarioArgs {
    /// Scenario file describing bidders, their timing and amounts
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Node(s) to spread bidders over, overriding the file (repeat or comma-separate)
    #[arg(long = "node", value_name = "URL", value_delimiter = ',')]
    pub nodes: Vec<NodeUrl>,
    /// Seed for the bidders' random choices, for repeatable runs
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
}

/// `paddle bench ...`: each starts its own local cluster and prints results.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Committed proposals/s and commit latency at several proposer counts, and leader failover
    Consensus(BenchConsensusArgs),
    /// Bids/s and bid-to-watcher latency over WebSockets, memory per connection, fan-out
    Api(BenchApiArgs),
    /// Auction engine applies/s in memory and through sled
    Engine(BenchEngineArgs),
    /// Time for a new node to become a caught-up voter, and the throughput dip meanwhile
    Join(BenchJoinArgs),
}

/// Options every benchmark shares.
#[derive(Debug, Clone, Args)]
pub struct BenchCommon {
    /// Seconds to measure each configuration
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=3600))]
    pub seconds: u32,
    /// Print results as JSON
    #[arg(long)]
    pub json: bool,
    /// Directory for the nodes' data [default: a fresh temporary directory]
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// `paddle bench consensus`.
#[derive(Debug, Clone, Args)]
pub struct BenchConsensusArgs {
    /// Nodes in the loopback cluster
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=9))]
    pub nodes: u16,
    /// Concurrent proposers to measure, comma-separated
    #[arg(long, value_delimiter = ',', default_value = "1,64,1024",
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub proposers: Vec<u32>,
    /// Bytes of payload per proposal
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=1_048_576))]
    pub payload_bytes: u32,
    /// Skip killing the leader to measure the time to the next commit
    #[arg(long)]
    pub no_failover: bool,
    /// Open loop: the proposers together offer this many proposals per
    /// second (latency counts from the scheduled send time), instead of
    /// each sending its next proposal as soon as the last one committed
    #[arg(long, value_name = "PER_SECOND", value_parser = clap::value_parser!(u32).range(1..))]
    pub rate: Option<u32>,
    /// Shared options.
    #[command(flatten)]
    pub common: BenchCommon,
}

/// `paddle bench api`.
#[derive(Debug, Clone, Args)]
pub struct BenchApiArgs {
    /// Nodes in the loopback cluster
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=9))]
    pub nodes: u16,
    /// WebSocket bidders, spread over the nodes
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub bidders: u32,
    /// WebSocket watchers, spread over the nodes
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub watchers: u32,
    /// Offered bid rate over all bidders
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub bids_per_second: u32,
    /// Closed loop: each bidder sends its next bid when the last one's
    /// result arrives, as redis-benchmark's clients do (--bids-per-second
    /// is then ignored)
    #[arg(long)]
    pub closed_loop: bool,
    /// Also write the latency distributions (bid -> result, bid -> watcher) as an SVG
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Shared options.
    #[command(flatten)]
    pub common: BenchCommon,
}

/// `paddle bench engine`.
#[derive(Debug, Clone, Args)]
pub struct BenchEngineArgs {
    /// Bids to apply
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub bids: u64,
    /// Lots the bids are spread over
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub lots: u32,
    /// Distinct bidders
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(2..))]
    pub bidders: u32,
    /// Also measure applies through sled, committing this many bids per batch (0 = memory only)
    #[arg(long, default_value_t = 100)]
    pub sled_batch: u32,
    /// Seed of the generated bids
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print results as JSON
    #[arg(long)]
    pub json: bool,
}

/// `paddle bench join`.
#[derive(Debug, Clone, Args)]
pub struct BenchJoinArgs {
    /// Committed entries before the new node joins, comma-separated
    #[arg(long, value_delimiter = ',', default_value = "100000,1000000",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub entries: Vec<u64>,
    /// Nodes in the cluster before the join
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=9))]
    pub nodes: u16,
    /// Shared options.
    #[command(flatten)]
    pub common: BenchCommon,
}
