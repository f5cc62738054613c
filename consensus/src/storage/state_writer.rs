//! The state's sled writes, off the apply's path.
//!
//! An apply changes the in-memory map, publishes the view and answers its
//! proposals; writing the batch's changes into sled (`StateStore::
//! write_batch`) only makes the state durable beside a log that already
//! holds the batch's entries on a majority's disks. So the write is handed
//! to one thread, `paddle-statewrite`, which writes the batches in order.
//! A crash loses at most the batches still queued: the state on disk is
//! then behind the log, and the entries after it are applied again on
//! start, as after any crash between a commit and its state's flush.
//!
//! Three things must not overtake a queued write, and wait for it:
//! - the snapshot builder's rebase, which drops the chunks up to its index
//!   ([`StateWriter::wait_for`] that index);
//! - a snapshot install, which replaces the delta tree
//!   ([`StateWriter::drain`]);
//! - shutdown's last flush ([`StateWriter::stop`]).
//!
//! A failed write is kept: the next apply, drain or wait returns it, so
//! Raft stops rather than apply on top of a state that has a hole. The
//! queue is bounded ([`QUEUE`]): an apply waits when the writer is that far
//! behind, on a thread tokio is told blocks (`block_in_place`), so the
//! runtime's other tasks move to another worker meanwhile.
//!
//! # One sled batch for several applies
//!
//! Every sled `apply_batch` seals sled's current I/O buffer and writes it
//! out (a `pwrite`, a `sync_file_range` and a wake-up of sled's I/O
//! thread pool): two buffer writes per batch, measured with `strace -c`
//! on sled 0.34.7, against one per ~4 MiB for plain inserts. One batch per
//! apply made sled's threads the largest consumer of CPU at 5,000 bids/s
//! (issue 15, step 13). So the writer gathers: after the first queued
//! apply it takes what else arrives within [`GATHER`] (at most [`QUEUE`]
//! applies) and writes them as one batch, their changes joined into one
//! chunk stream keyed by the last one's index, with the last one's
//! bookkeeping. Applies keep their order, and sled's batch keeps them
//! atomic together.
//!
//! A joined chunk may straddle a base: a rebase at index `S` drops the
//! chunks keyed at or below `S` and keeps one keyed at `L > S` that also
//! holds changes from batches at or below `S`. Replaying it over the base
//! still gives the state at `L`: every change is a blind put or delete of
//! a whole key, the chunk holds every batch from its first to `L`, and so
//! each key it touches ends at its last write up to `L`, while the keys it
//! does not touch were not changed after `S`.
//!
//! The simulation ([`FlushMode::Inline`](super::FlushMode)) writes on the
//! applying thread, so two runs of a seed do the same.

use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::durable::Durability;
use super::state_store::{Bookkeeping, StateStore};
use crate::kv::Write;
use crate::metrics::StageMetrics;

/// Apply batches the writer may be behind before an apply waits; also the
/// most it joins into one sled batch.
pub(super) const QUEUE: usize = 64;
/// How long after an apply arrives the writer waits for more to join it.
/// No commit waits for the writer; a crash replays at most this much more
/// of the log on start.
pub(super) const GATHER: Duration = Duration::from_millis(10);

struct Job {
    writes: Vec<Write>,
    book: Bookkeeping,
}

#[derive(Default)]
struct Progress {
    queued: u64,
    done: u64,
    /// Last applied index of the last batch written.
    written_index: u64,
    /// The first failed write; nothing is written after it.
    error: Option<String>,
}

type Shared = Arc<(Mutex<Progress>, Condvar)>;

/// Writes apply batches into the state store, in order.
pub(super) struct StateWriter {
    /// `None` once stopped: the store is no longer held (sled keeps its
    /// directory locked while any handle lives).
    mode: Mutex<Option<Mode>>,
    progress: Shared,
}

enum Mode {
    /// A node: the queue to the writer thread, and the thread.
    Thread {
        tx: mpsc::SyncSender<Job>,
        thread: JoinHandle<()>,
    },
    /// The simulation: written on the caller's thread.
    Inline {
        store: Arc<Mutex<StateStore>>,
        stages: Arc<StageMetrics>,
    },
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The next applies to write together: the first to arrive, then what
/// arrives within [`GATHER`], up to [`QUEUE`]. `None` once every sender is
/// gone and nothing is left.
fn gather(rx: &mpsc::Receiver<Job>) -> Option<Vec<Job>> {
    let first = rx.recv().ok()?;
    let until = Instant::now() + GATHER;
    let mut jobs = vec![first];
    while jobs.len() < QUEUE {
        let left = until.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(job) => jobs.push(job),
            Err(_) => break,
        }
    }
    Some(jobs)
}

/// Several consecutive applies as one: their changes in order, the last
/// one's bookkeeping.
fn join(jobs: Vec<Job>) -> Job {
    let mut jobs = jobs.into_iter();
    let mut joined = jobs.next().expect("gather returns at least one job");
    for job in jobs {
        joined.writes.extend(job.writes);
        joined.book = job.book;
    }
    joined
}

/// The writer thread: gathered jobs in order, each gathering as one sled
/// batch; nothing after a failed one.
fn run(
    rx: mpsc::Receiver<Job>,
    store: Arc<Mutex<StateStore>>,
    progress: Shared,
    stages: Arc<StageMetrics>,
) {
    while let Some(jobs) = gather(&rx) {
        let count = jobs.len() as u64;
        let job = join(jobs);
        let failed = lock(&progress.0).error.is_some();
        let result = if failed {
            Ok(())
        } else {
            let started = std::time::Instant::now();
            let r = lock(&store).write_batch(job.writes, &job.book);
            stages.state_write.observe(started.elapsed());
            r
        };
        let mut p = lock(&progress.0);
        p.done += count;
        match result {
            Ok(()) if !failed => {
                p.written_index = job.book.last_applied.map_or(0, |l| l.index);
            }
            Ok(()) => {}
            Err(e) => {
                tracing::error!(error = %e, "writing the state into sled failed; the next apply stops Raft");
                p.error = Some(e);
            }
        }
        drop(p);
        progress.1.notify_all();
    }
}

/// Queue `job`; when the queue is full, wait for room without holding a
/// tokio worker idle (`block_in_place` on a multi-thread runtime).
fn send(tx: &mpsc::SyncSender<Job>, job: Job) -> Result<(), ()> {
    match tx.try_send(job) {
        Ok(()) => Ok(()),
        Err(mpsc::TrySendError::Disconnected(_)) => Err(()),
        Err(mpsc::TrySendError::Full(job)) => {
            let multi_thread = tokio::runtime::Handle::try_current()
                .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
            if multi_thread {
                tokio::task::block_in_place(|| tx.send(job)).map_err(|_| ())
            } else {
                tx.send(job).map_err(|_| ())
            }
        }
    }
}

impl StateWriter {
    /// A writer for `store`: a thread for a node, the caller's own thread
    /// when `durability` flushes inline (the simulation).
    pub(super) fn start(
        store: Arc<Mutex<StateStore>>,
        durability: &Durability,
        stages: Arc<StageMetrics>,
    ) -> std::io::Result<Self> {
        let progress: Shared = Arc::default();
        let mode = match durability {
            Durability::Inline(_) => Mode::Inline { store, stages },
            Durability::Thread { .. } => {
                let (tx, rx) = mpsc::sync_channel::<Job>(QUEUE);
                let p = progress.clone();
                let thread = std::thread::Builder::new()
                    .name("paddle-statewrite".into())
                    .spawn(move || run(rx, store, p, stages))?;
                Mode::Thread { tx, thread }
            }
        };
        Ok(StateWriter {
            mode: Mutex::new(Some(mode)),
            progress,
        })
    }

    /// Queue one apply batch's changes and bookkeeping (inline: write them
    /// now). Err: an earlier write failed, or the writer has stopped.
    pub(super) fn write(&self, writes: Vec<Write>, book: Bookkeeping) -> Result<(), String> {
        if let Some(e) = &lock(&self.progress.0).error {
            return Err(format!("an earlier state write failed: {e}"));
        }
        let stopped = || "the state writer has stopped".to_string();
        let tx = match &*lock(&self.mode) {
            None => return Err(stopped()),
            Some(Mode::Inline { store, stages }) => {
                let started = std::time::Instant::now();
                let r = lock(store).write_batch(writes, &book);
                stages.state_write.observe(started.elapsed());
                return r;
            }
            Some(Mode::Thread { tx, .. }) => tx.clone(),
        };
        lock(&self.progress.0).queued += 1;
        send(&tx, Job { writes, book }).map_err(|_| {
            lock(&self.progress.0).queued -= 1;
            stopped()
        })
    }

    /// Wait (blocking) until every batch up to log index `index` is
    /// written, or nothing is queued (at most [`GATHER`] more than the
    /// writes themselves take).
    pub(super) fn wait_for(&self, index: u64) -> Result<(), String> {
        self.wait_until(|p| p.written_index >= index || p.done == p.queued)
    }

    /// Wait (blocking) until every queued batch is written.
    pub(super) fn drain(&self) -> Result<(), String> {
        self.wait_until(|p| p.done == p.queued)
    }

    fn wait_until(&self, ready: impl Fn(&Progress) -> bool) -> Result<(), String> {
        let (m, cv) = &*self.progress;
        let mut p = lock(m);
        while !ready(&p) && p.error.is_none() {
            p = cv.wait(p).unwrap_or_else(|e| e.into_inner());
        }
        match &p.error {
            Some(e) => Err(format!("a state write failed: {e}")),
            None => Ok(()),
        }
    }

    /// Write what is queued, end the thread (blocking) and let go of the
    /// store. Later writes fail.
    pub(super) fn stop(&self) -> Result<(), String> {
        if let Some(Mode::Thread { tx, thread }) = lock(&self.mode).take() {
            drop(tx);
            let _ = thread.join();
        }
        match &lock(&self.progress.0).error {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
#[path = "state_writer_tests.rs"]
mod tests;
