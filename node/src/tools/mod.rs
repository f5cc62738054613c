//! The client and measuring commands, apart from the server: everything
//! `paddle` does besides `serve` and `config`, one function per
//! subcommand, called from the single dispatch in `main.rs`. None of it is
//! on a node's bid path; it talks to nodes as any client would (HTTP and
//! WebSocket), or, for benchmarks, starts nodes of its own.
//!
//! - Operator commands over a node's HTTP API: `cluster` (status, token,
//!   remove, promote, demote, lead), `backup` (and `restore` below), `demo`,
//!   sharing `client`.
//! - `cert`: `paddle cluster cert`, an HTTPS certificate from the CA in a
//!   voter's data dir (no node is asked).
//! - Public-API clients: `bid`, `watch`, `scenario`.
//! - `replay`: eBay bid logs through the rules engine.
//! - `bench`: `paddle bench consensus|api|engine|join` and the engine's load
//!   generator.
//!
//! Each takes its parsed, typed CLI struct and returns the exit code.

mod backup;
pub mod bench;
mod bid;
mod cert;
pub mod client;
mod cluster;
mod demo;
pub mod replay;
mod scenario;
mod watch;

pub use backup::backup;
pub use cert::cluster_cert;
pub use cluster::{
    cluster_demote, cluster_lead, cluster_promote, cluster_remove, cluster_status, cluster_token,
    render_status,
};
pub use demo::demo;

use std::io::IsTerminal;
use std::process::ExitCode;

use crate::cli::run::{run_async, Threads};
use crate::cli::{
    BenchApiArgs, BenchConsensusArgs, BenchEngineArgs, BenchJoinArgs, BidArgs, ReplayArgs,
    RestoreArgs, ScenarioArgs, WatchArgs,
};

/// `paddle restore`: seed a new one-node cluster from a backup.
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

/// `paddle replay`: eBay bid logs through the engine.
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
    // A progress bar on a terminal only: never in a pipe, a log or --json.
    let bar = (!args.json && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "replaying {bar:30} {pos}/{len} auctions ({elapsed})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let progress = |done: usize, total: usize| {
        if let Some(b) = &bar {
            b.set_length(total as u64);
            b.set_position(done as u64);
        }
    };
    let result =
        crate::tools::replay::replay_csv_with(std::io::BufReader::new(file), table, progress);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    match result {
        Ok(report) if args.json => {
            println!("{}", report.to_json());
            ExitCode::SUCCESS
        }
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

/// `paddle bench consensus`: proposals/s, commit latency, failover.
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
    run_async(&format!("bench {name}"), Threads::PerCore, async {
        let report = bench.await?;
        if json {
            println!(
                "{}",
                serde_json::to_string_pretty(&report).unwrap_or_default()
            );
        } else {
            print!("{}", text(&report));
        }
        Ok::<_, anyhow::Error>(ExitCode::SUCCESS)
    })
}

/// `paddle bench api`: WebSocket bids and fan-out.
pub fn bench_api(args: &BenchApiArgs) -> ExitCode {
    crate::tools::bench::api::main(args)
}

/// `paddle bench engine`: engine applies/s, in memory and on sled.
pub fn bench_engine(args: &BenchEngineArgs) -> ExitCode {
    let cfg = crate::tools::bench::engine_load::BenchConfig {
        sales: 1,
        lots_per_sale: args.lots,
        bidders_per_sale: args.bidders,
        bids: args.bids.min(u32::MAX as u64) as u32,
        seed: args.seed,
        through_machine: false,
    };
    run_bench(
        "engine",
        false,
        crate::tools::bench::engine::run(cfg, args.sled_batch.max(1)),
        |report| report.to_string(),
    )
}

/// `paddle bench join`: time for a new node to catch up and vote.
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

/// `paddle bid`: one bid through the public API, with its outcome.
pub fn bid(args: &BidArgs) -> ExitCode {
    bid::bid(args)
}

/// `paddle watch`: a sale's live events, resumable with --since.
pub fn watch(args: &WatchArgs) -> ExitCode {
    watch::watch(args)
}

/// `paddle scenario`: scripted bidders against the public API.
pub fn scenario(args: &ScenarioArgs) -> ExitCode {
    scenario::scenario(args)
}
