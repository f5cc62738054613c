//! What each `paddle` subcommand does, one function per subcommand, called
//! from the single dispatch in `main.rs`.
//!
//! `config show` / `config check` live in `main.rs` (pure config work).
//! The operator commands that talk to a node's HTTP API have a file each:
//! `cluster` (status, token, remove, promote, demote), `backup`, `demo`,
//! sharing `client`. The public-API client commands have a file each too:
//! `bid`, `watch` and `scenario`. The others are here and hand over to
//! their module (serve, restore, replay, bench). Keep the signatures'
//! arguments (the parsed, typed CLI structs) and return the process exit
//! code.

mod backup;
pub mod bench;
mod bid;
pub mod client;
mod cluster;
mod demo;
pub mod replay;
mod scenario;
mod watch;

pub use backup::backup;
pub use cluster::{
    cluster_demote, cluster_lead, cluster_promote, cluster_remove, cluster_status, cluster_token,
    render_status,
};
pub use demo::demo;

use std::process::ExitCode;

use crate::cli::{
    BenchApiArgs, BenchConsensusArgs, BenchEngineArgs, BenchJoinArgs, BidArgs, ReplayArgs,
    RestoreArgs, ScenarioArgs, WatchArgs,
};
use crate::config::Config;

/// `paddle serve` (issue 2): open the data dir, bootstrap/join/resume,
/// start Raft over QUIC and the HTTP API; exit 0 on SIGTERM after draining.
/// Gets a validated config, logging already set up.
pub fn serve(config: Config) -> ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("paddle: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(crate::serve::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("paddle: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `paddle restore` (issue 3): seed a new one-node cluster from a backup.
pub fn restore(args: &RestoreArgs) -> ExitCode {
    match crate::cluster::restore::restore(&args.from, &args.data_dir) {
        Ok(r) => {
            println!(
                "Restored {} keys at log index {} into {}.",
                r.keys,
                r.applied_index,
                args.data_dir.display()
            );
            println!(
                "This is a new one-node cluster; this node is id {}.",
                r.node_id
            );
            println!();
            println!(
                "  Start it:        paddle serve --data-dir {}",
                args.data_dir.display()
            );
            println!("  Operator token:  {}", r.operator_token);
            println!(
                "  Join others:     paddle serve --join <its QUIC address> --token {}",
                r.join_token
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("paddle restore: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `paddle replay` (issue 4): eBay bid logs through the engine.
pub fn replay(args: &ReplayArgs) -> ExitCode {
    let name = match args.increments {
        crate::cli::IncrementTable::Ebay2005 => "ebay-2005",
    };
    let Some(table) = paddle_proto::auction::IncrementTable::named(name) else {
        eprintln!("paddle replay: unknown increment table {name}");
        return ExitCode::from(2);
    };
    let file = match std::fs::File::open(&args.file) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("paddle replay: cannot open {}: {e}", args.file.display());
            return ExitCode::FAILURE;
        }
    };
    match crate::tools::replay::replay_csv(std::io::BufReader::new(file), table) {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("paddle replay: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `paddle bench consensus` (issue 2): proposals/s, commit latency, failover.
pub fn bench_consensus(args: &BenchConsensusArgs) -> ExitCode {
    let settings = crate::tools::bench::consensus::Settings {
        nodes: args.nodes,
        proposers: args.proposers.clone(),
        payload_bytes: args.payload_bytes,
        seconds: args.common.seconds,
        failover: !args.no_failover,
        rate: args.rate,
        dir: args.common.dir.clone(),
        consensus: paddle_consensus::ConsensusConfig::default(),
    };
    run_bench(
        "consensus",
        args.common.json,
        crate::tools::bench::consensus::run(settings),
        |report| report.to_string(),
    )
}

/// Run a benchmark on a multi-threaded runtime and print its report: as
/// JSON with `json`, else as `text` renders it.
pub(crate) fn run_bench<R: serde::Serialize>(
    name: &str,
    json: bool,
    bench: impl std::future::Future<Output = anyhow::Result<R>>,
    text: impl FnOnce(&R) -> String,
) -> ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("paddle bench {name}: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(bench) {
        Ok(report) => {
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).unwrap_or_default()
                );
            } else {
                print!("{}", text(&report));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("paddle bench {name}: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `paddle bench api` (issue 5): WebSocket bids and fan-out.
pub fn bench_api(args: &BenchApiArgs) -> ExitCode {
    crate::tools::bench::api::main(args)
}

/// `paddle bench engine` (issue 4): engine applies/s, in memory and on sled.
pub fn bench_engine(args: &BenchEngineArgs) -> ExitCode {
    let cfg = crate::tools::bench::engine_load::BenchConfig {
        sales: 1,
        lots_per_sale: args.lots,
        bidders_per_sale: args.bidders,
        bids: args.bids.min(u32::MAX as u64) as u32,
        seed: args.seed,
        through_machine: false,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("paddle bench: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(crate::tools::bench::engine::run(
        cfg,
        args.sled_batch.max(1),
    )) {
        Ok(report) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("paddle bench engine: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `paddle bench join` (issue 3): time for a new node to catch up and vote.
pub fn bench_join(args: &BenchJoinArgs) -> ExitCode {
    let settings = crate::tools::bench::join::Settings {
        nodes: args.nodes,
        entries: args.entries.clone(),
        // Four nodes share this process and its two cores while one of them
        // installs a large snapshot: the default 50 ms heartbeat (also the
        // append deadline) would measure CPU starvation, not catch-up. On
        // separate machines the defaults apply.
        consensus: paddle_consensus::ConsensusConfig {
            raft: paddle_consensus::RaftConfig {
                heartbeat_ms: 100,
                election_timeout_min_ms: 300,
                election_timeout_max_ms: 600,
                ..Default::default()
            },
            ..Default::default()
        },
    };
    run_bench(
        "join",
        args.common.json,
        crate::tools::bench::join::run(settings),
        |rows| crate::tools::bench::join::table(rows),
    )
}

/// `paddle bid` (issue 5): one bid through the public API, with its outcome.
pub fn bid(args: &BidArgs) -> ExitCode {
    bid::bid(args)
}

/// `paddle watch` (issue 5): a sale's live events, resumable with --since.
pub fn watch(args: &WatchArgs) -> ExitCode {
    watch::watch(args)
}

/// `paddle scenario` (issue 5): scripted bidders against the public API.
pub fn scenario(args: &ScenarioArgs) -> ExitCode {
    scenario::scenario(args)
}
