//! Deterministic simulation: whole clusters of real members (openraft on
//! sled, the real auction state machine) on a network the test controls,
//! under faults drawn from one seed.
//!
//! Each seed draws its schedule (`sim/schedule.rs`): 3 or 5 members, the
//! links' weather (loss, duplicates, delays that reorder), clock skew, and
//! timed partitions (isolate a member, one-way cuts), crashes and restarts
//! (one member, or all). Clients bid and read through random members
//! meanwhile; every request's outcome is recorded (acknowledged, refused,
//! unknown). At the end the cluster is healed and checked (`sim/check.rs`).
//!
//! Everything runs on one thread, on tokio's paused clock: timers fire in
//! virtual time, so a seed of several seconds of faults takes well under a
//! second. The schedule is a function of the seed alone, and so is the run:
//! openraft's election timeouts and tokio's `select!` choices are drawn from
//! the seed (`sim_runtime`), blocking work runs on the one thread, and
//! nothing reads the real clock, so a seed replays exactly
//! (`a_seed_replays_exactly`; RELIABILITY.md).
//!
//! ```sh
//! cargo test -p paddle-consensus --test sim    # SIM_SEEDS seeds (default 150) from SIM_FIRST_SEED
//! ./scripts/sim 5000                            # 5,000 seeds in release, with a summary
//! SIM_SEED=1234 cargo test -p paddle-consensus --test sim -- --nocapture   # one seed again
//! SIM_REPLAY=1 ...                              # run each seed twice, count identical runs
//! SIM_LOG=debug ...                             # with the members' logs
//! ```
//!
//! A failing seed prints itself, its schedule and the violations, and
//! keeps its members' sled directories (the path is printed).

#[path = "sim/check.rs"]
mod check;
#[path = "sim/cluster.rs"]
mod cluster;
#[path = "sim/liveness.rs"]
mod liveness;
#[path = "sim/membership.rs"]
mod membership;
#[path = "sim/net.rs"]
mod net;
#[path = "sim/run.rs"]
mod run;
#[path = "sim/schedule.rs"]
mod schedule;

use std::collections::BTreeMap;
use std::time::Instant;

use net::NetCounts;
use run::SeedReport;
use schedule::Schedule;

/// Seeds that once found a bug; always run.
/// (1083, 1084, 1156, 1178, 1195, 1205: the price check once took a repeat's
/// reply, which carries the first outcome, as the price at the repeat's index.)
/// (2177: a leader restarted from its own vote judged an admission by a
/// learner entry that was never committed and answered "stays a learner";
/// the next leader overwrote the entry and the new member never joined.)
const REGRESSION_SEEDS: &[u64] = &[1083, 1084, 1156, 1178, 1195, 1205, 2177];

/// Virtual time clients bid for, per seed.
const LOAD_MS: u64 = 4_000;

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// The runtime a seed runs on: one thread, tokio's paused clock, and every
/// random draw on it following the seed: openraft's election timeouts
/// (`paddle_consensus::runtime`) and, built with `--cfg tokio_unstable`
/// (`.cargo/config.toml` sets it), tokio's own choice of branch in
/// `select!`.
fn sim_runtime(seed: u64) -> std::io::Result<tokio::runtime::Runtime> {
    paddle_consensus::runtime::seed_thread_rng(seed);
    let mut builder = tokio::runtime::Builder::new_current_thread();
    builder.enable_all().start_paused(true);
    #[cfg(tokio_unstable)]
    builder.rng_seed(tokio::runtime::RngSeed::from_bytes(&seed.to_le_bytes()));
    builder.build()
}

/// One run of `seed`'s schedule with its members' directories under `dir`.
fn run_in(seed: u64, schedule: &Schedule, dir: &std::path::Path) -> Result<SeedReport, String> {
    let rt = sim_runtime(seed).map_err(|e| e.to_string())?;
    let result = rt.block_on(run::run(schedule, dir));
    drop(rt);
    result.map_err(|e| format!("the run itself failed: {e:#}"))
}

/// Why a run failed, if it did.
fn failure(result: &Result<SeedReport, String>) -> Option<String> {
    match result {
        Ok(report) if report.verdict.passed() => None,
        Ok(report) => Some(report.verdict.violations.join("\n  ")),
        Err(e) => Some(e.clone()),
    }
}

/// Run one seed on its own paused single-threaded runtime. On failure the
/// members' directories are kept and named, and the seed is run once more
/// with every member logging into `members.log` beside them: the seed
/// replays exactly, so that is the log of the failing run.
fn run_seed(seed: u64) -> Result<SeedReport, String> {
    let schedule = Schedule::draw(seed, env_u64("SIM_LOAD_MS").unwrap_or(LOAD_MS));
    let dir = tempfile::Builder::new()
        .prefix(&format!("paddle-sim-{seed}-"))
        .tempdir()
        .map_err(|e| e.to_string())?;
    let result = run_in(seed, &schedule, dir.path());
    let Some(why) = failure(&result) else {
        return result;
    };
    let kept = dir.keep();
    let logged = run_logged(seed, &schedule, &kept, &why);
    Err(format!(
        "SEED {seed} FAILED\n{schedule}violations:\n  {why}\nmember directories kept in {}\n{logged}\nreplay: SIM_SEED={seed} cargo test -p paddle-consensus --test sim -- --nocapture",
        kept.display()
    ))
}

/// Run `seed` again under `kept/again`, logging every member (each line
/// names its member: `member{id=2}`) to `kept/members.log` at `SIM_LOG`'s
/// level (default: consensus at debug, the rest at info); say where, and
/// whether it failed the same way.
fn run_logged(seed: u64, schedule: &Schedule, kept: &std::path::Path, why: &str) -> String {
    let path = kept.join("members.log");
    let file = match std::fs::File::create(&path) {
        Ok(f) => f,
        Err(e) => return format!("no members' log: {e}"),
    };
    let filter = std::env::var("SIM_LOG").unwrap_or_else(|_| "info,paddle_consensus=debug".into());
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .finish();
    let again = tracing::subscriber::with_default(subscriber, || {
        run_in(seed, schedule, &kept.join("again"))
    });
    let verdict = match failure(&again) {
        Some(w) if w == why => "it failed the same way".to_string(),
        Some(w) => format!("it failed differently:\n  {w}"),
        None => "it passed (the run did not replay)".to_string(),
    };
    format!(
        "the same seed run again, every member logging: {} ({verdict})",
        path.display()
    )
}

#[test]
fn seeds_hold() {
    if std::env::var("SIM_LOG").is_ok() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(std::env::var("SIM_LOG").unwrap_or_default())
            .with_test_writer()
            .try_init();
    }
    let seeds: Vec<u64> = match env_u64("SIM_SEED") {
        Some(one) => vec![one],
        None => {
            let first = env_u64("SIM_FIRST_SEED").unwrap_or(1);
            let n = env_u64("SIM_SEEDS").unwrap_or(150);
            REGRESSION_SEEDS
                .iter()
                .copied()
                .chain(first..first + n)
                .collect()
        }
    };
    let started = Instant::now();
    let mut failures = Vec::new();
    let mut passed = 0u64;
    let mut faults: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut net = NetCounts::default();
    let (mut acked, mut refused, mut unknown, mut reads, mut failed_reads, mut lost) =
        (0, 0, 0, 0, 0, 0);
    // SIM_REPLAY=1: run every seed twice and count the runs that were
    // observably identical (see RELIABILITY.md on what is exact).
    let replay = std::env::var("SIM_REPLAY").is_ok();
    let mut replayed_same = 0u64;
    let mut replayed_differently = Vec::new();
    for &seed in &seeds {
        let outcome = run_seed(seed);
        if replay {
            if let (Ok(a), Ok(b)) = (&outcome, &run_seed(seed)) {
                if a.fingerprint == b.fingerprint {
                    replayed_same += 1;
                } else {
                    replayed_differently.push(seed);
                }
            }
        }
        match outcome {
            Ok(r) => {
                passed += 1;
                if seeds.len() == 1 {
                    // Equal in every run of this seed (see a_seed_replays_exactly).
                    println!("seed {seed}: fingerprint {:016x}", r.fingerprint);
                }
                for (k, n) in &r.faults.by_kind {
                    *faults.entry(k).or_default() += n;
                }
                net += r.net;
                acked += r.acked;
                refused += r.refused;
                unknown += r.unknown;
                reads += r.reads;
                failed_reads += r.failed_reads;
                lost += r.verdict.lost;
            }
            Err(report) => {
                eprintln!("{report}");
                failures.push(seed);
            }
        }
    }
    println!(
        "simulation: {passed} of {} seeds passed in {:.1} s; faults injected: {faults:?}; \
         messages: {net:?}; bids acknowledged {acked}, refused {refused}, unknown {unknown}; \
         linearizable reads {reads} (and {failed_reads} that found no quorum); \
         acknowledged bids lost: {lost}",
        seeds.len(),
        started.elapsed().as_secs_f64()
    );
    if replay {
        println!(
            "replay: {replayed_same} of {} seeds ran observably the same twice; differently: {replayed_differently:?}",
            seeds.len()
        );
    }
    assert!(failures.is_empty(), "failing seeds: {failures:?}");
}

/// Two runs of one seed see the same thing: every request and its outcome
/// in order, every read, every message's fate and the final state hash
/// (the report's fingerprint). That is what lets a failing seed be studied
/// again, in this process or another.
#[test]
fn a_seed_replays_exactly() {
    if !cfg!(tokio_unstable) {
        // RUSTFLAGS in the environment replaced .cargo/config.toml's.
        eprintln!("built without --cfg tokio_unstable: tokio's select! is unseeded, so runs may differ; not checked");
        return;
    }
    for seed in [3, 17, 1083, 1205] {
        let first = run_seed(seed).unwrap_or_else(|e| panic!("{e}"));
        let again = run_seed(seed).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (first.acked, first.refused, first.unknown, first.reads),
            (again.acked, again.refused, again.unknown, again.reads),
            "seed {seed}: the clients saw different outcomes"
        );
        assert_eq!(
            first.fingerprint, again.fingerprint,
            "seed {seed} ran differently the second time"
        );
    }
}

#[test]
fn a_seed_draws_one_schedule() {
    for seed in [1, 42, 1_000_003] {
        let a = Schedule::draw(seed, LOAD_MS).to_string();
        assert_eq!(a, Schedule::draw(seed, LOAD_MS).to_string());
        assert_ne!(a, Schedule::draw(seed + 1, LOAD_MS).to_string());
    }
}

/// Run one scripted scenario for `seed` in a fresh directory, on its own
/// paused single-threaded runtime; on failure keep the members' directories
/// and name them.
fn scripted<T, F, Fut>(name: &str, seed: u64, scenario: F) -> T
where
    F: FnOnce(std::path::PathBuf, u64) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let dir = tempfile::Builder::new()
        .prefix(&format!("paddle-sim-{name}-"))
        .tempdir()
        .expect("tempdir");
    let rt = sim_runtime(seed).expect("runtime");
    let out = rt.block_on(scenario(dir.path().to_path_buf(), seed));
    drop(rt);
    out.unwrap_or_else(|e| {
        let kept = dir.keep();
        panic!(
            "{name}, seed {seed}: {e:#} (member directories kept in {})",
            kept.display()
        )
    })
}

/// Three survivors of five, with three different log lengths, elect the one
/// that can win, within a few election timeouts (virtual time).
#[test]
fn survivors_with_unequal_logs_elect_a_leader() {
    for seed in 1..=5u64 {
        let took = scripted("liveness", seed, |dir, seed| async move {
            liveness::survivors_with_unequal_logs(&dir, seed).await
        });
        println!("seed {seed}: a new leader after {took:?} (virtual time)");
    }
}

/// Members added and removed while links fail, followers crash and the
/// leader dies; every member left holds every acknowledged probe.
#[test]
fn membership_changes_under_faults_lose_nothing() {
    let seeds = env_u64("SIM_MEMBERSHIP_SEEDS").unwrap_or(5);
    for seed in 1..=seeds {
        let acked = scripted("membership", seed, |dir, seed| async move {
            membership::changes_under_faults(&dir, seed).await
        });
        println!("seed {seed}: {acked} acknowledged probes, all on every member");
    }
}
