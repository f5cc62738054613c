//! Running a command's async body: a fresh tokio runtime (one thread, or
//! one per core), the body's result turned into the process exit code, and
//! its failure printed once on stderr. Every subcommand that does I/O goes
//! through [`run_async`].

use std::fmt::Display;
use std::future::Future;
use std::process::ExitCode;

/// How many threads a command's runtime has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threads {
    /// One: client commands making a handful of requests, and `demo`,
    /// whose child processes must stay tied to the thread that spawned
    /// them (`PR_SET_PDEATHSIG`).
    One,
    /// One per core: a node, benchmarks, scenarios.
    PerCore,
}

/// A command's failure: what to print and which exit code to end with.
pub trait Failure: Display {
    /// The exit code (1 unless the failure says otherwise).
    fn exit_code(&self) -> ExitCode {
        ExitCode::FAILURE
    }
}

impl Failure for anyhow::Error {}

/// Run `body` on a fresh runtime; `Ok(code)` ends the process with `code`,
/// `Err(e)` prints `paddle <name>: <e>` and ends with `e`'s exit code.
pub fn run_async<E: Failure>(
    name: &str,
    threads: Threads,
    body: impl Future<Output = Result<ExitCode, E>>,
) -> ExitCode {
    let mut builder = match threads {
        Threads::One => tokio::runtime::Builder::new_current_thread(),
        Threads::PerCore => tokio::runtime::Builder::new_multi_thread(),
    };
    let runtime = match builder.enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("paddle {name}: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(body) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("paddle {name}: {e:#}");
            e.exit_code()
        }
    }
}
