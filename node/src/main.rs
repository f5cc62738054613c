//! `paddle`: parse the command line, load the configuration where a
//! command needs one, set up logging, and hand over to `serve` (a node) or
//! `tools` (every client and measuring command).
//!
//! Exit codes: 0 success, 1 the command failed, 2 bad arguments or bad
//! configuration (nothing was started).

use std::process::ExitCode;

use clap::Parser;
use paddle_node::cli::logging;
use paddle_node::cli::{BenchCommand, Cli, ClusterCommand, Command, ConfigCommand};
use paddle_node::config::{Config, ConfigArgs, LogFormat};
use paddle_node::tools;

/// mimalloc instead of glibc's malloc: the bid path allocates many small,
/// short-lived buffers (frames, JSON, records, map keys) across threads,
/// and glibc's allocator took a fifth of the nodes' busy CPU
/// (BENCHMARKS.md, issue 15 step 7).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Bad arguments or configuration; the same code clap uses for usage errors.
const EXIT_BAD_CONFIG: u8 = 2;

fn main() -> ExitCode {
    forget_empty_paddle_vars();
    run(Cli::parse())
}

/// A node runs without transparent huge pages (Linux; elsewhere nothing
/// to do).
///
/// mimalloc 3 advises its arenas `MADV_HUGEPAGE`, so where the kernel's THP
/// mode is `madvise` (Debian's default) the first touch anywhere in a
/// 2 MiB stretch faults in a whole zeroed 2 MiB page. A node touches its
/// arenas sparsely (each connection, thread and size class on pages of its
/// own), so resident memory per idle WebSocket connection rose from
/// ~7.3 KiB to 8.4–10.2 KiB (over the 8 KiB budget), and the kernel spent
/// 4–5 % of the machine's CPU zeroing pages during a 5,000 bids/s run.
/// BENCHMARKS.md, issue 15 step 12. The flag is the process's (every
/// thread, every mapping, those mimalloc made before `main` too, since the
/// kernel checks it at each fault) and kept across `exec`; a node starts no
/// other program. Client and bench commands keep the machine's default.
fn no_transparent_huge_pages() -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and touches no memory
    // of this process; it only sets a flag on its address space.
    if unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// An empty `PADDLE_*` variable counts as unset, as in most tools: env
/// files and compose files write `PADDLE_TOKEN=` for "not yet". clap would
/// otherwise parse the empty text as a value. Runs before any thread exists.
fn forget_empty_paddle_vars() {
    let empty: Vec<_> = std::env::vars_os()
        .filter(|(k, v)| k.to_string_lossy().starts_with("PADDLE_") && v.is_empty())
        .map(|(k, _)| k)
        .collect();
    for key in empty {
        std::env::remove_var(key);
    }
}

/// The one place that maps each subcommand to its code: `serve` and
/// `config` here and in `serve`, every client and measuring command in
/// `tools`.
fn run(cli: Cli) -> ExitCode {
    // Client and tool commands log warnings only, unless RUST_LOG asks;
    // `serve` sets up logging from its validated config instead.
    let is_tool = !matches!(cli.command, Command::Serve(_) | Command::Config(_));
    if is_tool {
        if let Err(e) = logging::init(LogFormat::Human, &logging::tool_filter()) {
            eprintln!("paddle: {e}; logging stays off");
        }
    }
    match cli.command {
        Command::Serve(args) => serve(&args.config),
        Command::Config(ConfigCommand::Show(args)) => config_show(&args),
        Command::Config(ConfigCommand::Check(args)) => config_check(&args),
        Command::Cluster(ClusterCommand::Status(args)) => tools::cluster_status(&args),
        Command::Cluster(ClusterCommand::Token(args)) => tools::cluster_token(&args),
        Command::Cluster(ClusterCommand::Remove(args)) => tools::cluster_remove(&args),
        Command::Cluster(ClusterCommand::Promote(args)) => tools::cluster_promote(&args),
        Command::Cluster(ClusterCommand::Demote(args)) => tools::cluster_demote(&args),
        Command::Cluster(ClusterCommand::Lead(args)) => tools::cluster_lead(&args),
        Command::Cluster(ClusterCommand::Cert(args)) => tools::cluster_cert(&args),
        Command::Demo(args) => tools::demo(&args),
        Command::Backup(args) => tools::backup(&args),
        Command::Restore(args) => tools::restore(&args),
        Command::Replay(args) => tools::replay(&args),
        Command::Bench(BenchCommand::Consensus(args)) => tools::bench_consensus(&args),
        Command::Bench(BenchCommand::Api(args)) => tools::bench_api(&args),
        Command::Bench(BenchCommand::Engine(args)) => tools::bench_engine(&args),
        Command::Bench(BenchCommand::Join(args)) => tools::bench_join(&args),
        Command::Bid(args) => tools::bid(&args),
        Command::Watch(args) => tools::watch(&args),
        Command::Scenario(args) => tools::scenario(&args),
        Command::AppraiseEval(args) => match paddle_node::assistant::eval::run(&args.file) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("paddle appraise-eval: {e:#}");
                ExitCode::from(2)
            }
        },
    }
}

/// `paddle serve`: nothing starts unless the configuration is valid.
fn serve(args: &ConfigArgs) -> ExitCode {
    let config = match load_config(args) {
        Ok(config) => config,
        Err(code) => return code,
    };
    if let Err(e) = logging::init(config.log_format, &config.log) {
        eprintln!("paddle: {e}");
        return ExitCode::from(EXIT_BAD_CONFIG);
    }
    if let Err(e) = no_transparent_huge_pages() {
        tracing::warn!("cannot turn transparent huge pages off for this node ({e}); memory per connection may be higher");
    }
    paddle_node::serve::main(config)
}

/// Loads and validates the configuration, or prints why not and returns
/// the exit code to stop with.
fn load_config(args: &ConfigArgs) -> Result<Config, ExitCode> {
    Config::load(args).map_err(|e| {
        eprintln!("paddle: {e}");
        ExitCode::from(EXIT_BAD_CONFIG)
    })
}

/// `paddle config show`: the effective configuration as TOML on stdout.
fn config_show(args: &ConfigArgs) -> ExitCode {
    match load_config(args) {
        Ok(config) => {
            print!("{}", config.show());
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

/// `paddle config check`: exit 0 if a node could start with this config.
fn config_check(args: &ConfigArgs) -> ExitCode {
    match load_config(args) {
        Ok(_) => {
            eprintln!("paddle: configuration is valid");
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}
