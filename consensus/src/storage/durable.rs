//! Making sled's writes durable, one flush at a time.
//!
//! sled 0.34.7's `flush` ends in `sync_file_range`, which pushes pages to the
//! device but does not flush its cache, and it writes blob files without any
//! sync at all. So after every flush we `fdatasync` the `db` file and fsync
//! any new blob. sled can also deadlock when two flushes run at once
//! (sled#1308), so exactly one thread, the flusher, ever flushes: sled's own
//! background flusher is turned off and every caller that needs durability
//! queues a request here. Requests that arrive while a flush runs are served
//! together by the next one (group commit).

use std::collections::HashSet;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crate::metrics::StageMetrics;

/// Called once the flush that covered the request has reached the disk.
pub(crate) type Done = Box<dyn FnOnce(io::Result<()>) + Send>;

pub(crate) enum Msg {
    Flush(Done),
    /// Flush, drop the database handle (releasing sled's file lock), exit.
    Stop(mpsc::Sender<()>),
}

/// A handle to the flusher thread, or (the simulation) the database that
/// the caller's own thread flushes.
#[derive(Clone)]
pub(crate) enum Durability {
    Thread {
        tx: mpsc::Sender<Msg>,
    },
    /// [`FlushMode::Inline`]: flushed on the caller's thread, no fdatasync.
    Inline(Arc<std::sync::Mutex<Option<sled::Db>>>),
}

/// How a node's writes reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FlushMode {
    /// A node: one flusher thread, sled's flush then fdatasync, before any
    /// append or vote is acknowledged.
    #[default]
    Fsync,
    /// The deterministic simulation: sled's flush on the calling thread
    /// (which blocks the single-threaded runtime, so paused time does not
    /// move while it runs) and no fdatasync. Survives a process crash, not
    /// a power cut: the simulation crashes processes only.
    Inline,
}

impl Durability {
    /// Start the flusher for the sled database at `dir`. It also flushes on
    /// its own every `idle_flush` so state-machine writes do not linger.
    pub(crate) fn start(
        db: sled::Db,
        dir: &Path,
        idle_flush: Duration,
        stages: Arc<StageMetrics>,
    ) -> io::Result<Self> {
        let (tx, rx) = mpsc::channel::<Msg>();
        let mut syncer = FileSyncer::open(dir)?;
        thread::Builder::new()
            .name("paddle-fsync".into())
            .spawn(move || loop {
                let first = match rx.recv_timeout(idle_flush) {
                    Ok(msg) => Some(msg),
                    Err(mpsc::RecvTimeoutError::Timeout) => None,
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        let _ = flush_and_sync(&db, &mut syncer);
                        return;
                    }
                };
                let mut batch = Vec::new();
                let mut stop = None;
                for msg in first.into_iter().chain(rx.try_iter()) {
                    match msg {
                        Msg::Flush(done) => batch.push(done),
                        Msg::Stop(ack) => stop = Some(ack),
                    }
                }
                let started = std::time::Instant::now();
                let result = flush_and_sync(&db, &mut syncer);
                stages.disk_flush.observe(started.elapsed());
                if let Err(e) = &result {
                    tracing::error!(error = %e, "flushing sled to disk failed");
                }
                for done in batch {
                    done(clone_result(&result));
                }
                if let Some(ack) = stop {
                    drop(db);
                    let _ = ack.send(());
                    return;
                }
            })?;
        Ok(Durability::Thread { tx })
    }

    /// Flushes on the caller's thread ([`FlushMode::Inline`]).
    pub(crate) fn inline(db: sled::Db) -> Self {
        Durability::Inline(Arc::new(std::sync::Mutex::new(Some(db))))
    }

    /// Ask for a durable flush; `done` runs on the flusher thread afterwards
    /// (inline: on this thread, before this returns).
    pub(crate) fn request(&self, done: Done) {
        match self {
            Durability::Thread { tx } => {
                if let Err(mpsc::SendError(Msg::Flush(done))) = tx.send(Msg::Flush(done)) {
                    done(Err(io::Error::other("the flusher has stopped")));
                }
            }
            Durability::Inline(db) => {
                let result = match db.lock().expect("inline flush lock").as_ref() {
                    Some(db) => db.flush().map(|_| ()).map_err(io::Error::other),
                    None => Err(io::Error::other("the flusher has stopped")),
                };
                done(result);
            }
        }
    }

    /// Run `f`, which blocks, off the async threads (a node: tokio's
    /// blocking pool, so heartbeats keep flowing), or right here when
    /// flushing inline (the simulation: its one thread must not wait on
    /// another thread's timing, or two runs of a seed would interleave
    /// differently). The error is a panic in `f` on the blocking pool.
    pub(crate) async fn blocking<T, F>(&self, f: F) -> Result<T, String>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        match self {
            Durability::Thread { .. } => tokio::task::spawn_blocking(f)
                .await
                .map_err(|e| e.to_string()),
            Durability::Inline(_) => Ok(f()),
        }
    }

    /// Like [`Durability::blocking`], for work that nothing waits for
    /// soon (encoding and writing a snapshot): on a thread of its own,
    /// `name`, whose CPU priority is [`BACKGROUND_NICE`] steps lower than
    /// the node's, so on a busy machine the commit path's threads run
    /// first and the work takes the idle time. `f` must not hold a lock a
    /// commit needs: at a low priority it may hold it long.
    pub(crate) async fn background<T, F>(&self, name: &str, f: F) -> Result<T, String>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        match self {
            Durability::Thread { .. } => {
                let (tx, rx) = tokio::sync::oneshot::channel();
                std::thread::Builder::new()
                    .name(name.to_string())
                    .spawn(move || {
                        lower_this_threads_priority();
                        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
                        let _ = tx.send(r);
                    })
                    .map_err(|e| format!("cannot start {name}: {e}"))?;
                match rx.await {
                    Ok(Ok(v)) => Ok(v),
                    Ok(Err(_)) => Err(format!("{name} panicked")),
                    Err(_) => Err(format!("{name} ended without an answer")),
                }
            }
            Durability::Inline(_) => Ok(f()),
        }
    }

    /// Flush and wait until everything written so far is on disk.
    pub(crate) async fn sync(&self) -> io::Result<()> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.request(Box::new(move |r| {
            let _ = tx.send(r);
        }));
        rx.await
            .unwrap_or_else(|_| Err(io::Error::other("the flusher has stopped")))
    }
}

impl Durability {
    /// Flush one last time and stop the flusher, releasing its database
    /// handle. Later requests fail with "the flusher has stopped".
    pub(crate) fn stop_blocking(&self) {
        match self {
            Durability::Thread { tx: stop } => {
                let (tx, rx) = mpsc::channel();
                if stop.send(Msg::Stop(tx)).is_ok() {
                    let _ = rx.recv();
                }
            }
            Durability::Inline(db) => {
                if let Some(db) = db.lock().expect("inline flush lock").take() {
                    let _ = db.flush();
                }
            }
        }
    }

    /// Blocking variant of [`Durability::sync`] for callers outside async.
    pub(crate) fn sync_blocking(&self) -> io::Result<()> {
        wait_blocking(|done| self.request(done), "the flusher has stopped")
    }
}

/// Hand `request` a [`Done`] and wait on this thread until it is called;
/// `stopped` is the error if it is dropped uncalled.
pub(crate) fn wait_blocking(request: impl FnOnce(Done), stopped: &str) -> io::Result<()> {
    let (tx, rx) = mpsc::channel();
    request(Box::new(move |r| {
        let _ = tx.send(r);
    }));
    rx.recv()
        .unwrap_or_else(|_| Err(io::Error::other(stopped.to_string())))
}

fn clone_result(r: &io::Result<()>) -> io::Result<()> {
    match r {
        Ok(()) => Ok(()),
        Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
    }
}

fn flush_and_sync(db: &sled::Db, syncer: &mut FileSyncer) -> io::Result<()> {
    db.flush().map_err(io::Error::other)?;
    syncer.sync()
}

/// fdatasyncs sled's files: the `db` log file and blob files not yet synced.
struct FileSyncer {
    db_file: File,
    blobs_dir: PathBuf,
    synced_blobs: HashSet<std::ffi::OsString>,
}

impl FileSyncer {
    fn open(dir: &Path) -> io::Result<Self> {
        Ok(FileSyncer {
            db_file: File::open(dir.join("db"))?,
            blobs_dir: dir.join("blobs"),
            synced_blobs: HashSet::new(),
        })
    }

    fn sync(&mut self) -> io::Result<()> {
        self.db_file.sync_data()?;
        let entries = match std::fs::read_dir(&self.blobs_dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let mut new_blob = false;
        let mut present = HashSet::new();
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            if !self.synced_blobs.contains(&name) {
                match File::open(entry.path()) {
                    Ok(f) => f.sync_data()?,
                    // sled removed it in the meantime: nothing to keep.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                }
                new_blob = true;
            }
            present.insert(name);
        }
        if new_blob {
            File::open(&self.blobs_dir)?.sync_all()?;
        }
        self.synced_blobs = present;
        Ok(())
    }
}

/// How many nice steps below the node a [`Durability::background`] thread
/// runs.
pub(crate) const BACKGROUND_NICE: libc::c_int = 10;

/// Lower the calling thread's CPU priority by [`BACKGROUND_NICE`] (on
/// Linux the nice value is per thread). Lowering needs no privilege; if
/// the kernel refuses anyway, the thread runs on at the node's priority.
fn lower_this_threads_priority() {
    // SAFETY: getpriority and setpriority read and change only the calling
    // thread's nice value (`who` 0 with PRIO_PROCESS is the caller).
    let done = unsafe {
        *libc::__errno_location() = 0;
        let now = libc::getpriority(libc::PRIO_PROCESS, 0);
        *libc::__errno_location() == 0
            && libc::setpriority(libc::PRIO_PROCESS, 0, (now + BACKGROUND_NICE).min(19)) == 0
    };
    if !done {
        tracing::debug!(
            error = %io::Error::last_os_error(),
            "cannot lower a background thread's priority"
        );
    }
}
