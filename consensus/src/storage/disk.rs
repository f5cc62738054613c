//! One node's storage handles: sled (through its flusher) and the log's
//! segment files, opened side by side.

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::durable::{Durability, FlushMode};
use super::segments::SegmentLog;
use crate::metrics::StageMetrics;

/// Shared pieces of one node's storage.
pub(crate) struct Disk {
    pub(crate) db: sled::Db,
    pub(crate) durability: Durability,
    /// Where this node's proposals spend their time (`/metrics`).
    pub(crate) stages: Arc<StageMetrics>,
    /// The Raft log's entries, in segment files beside the database
    /// (`../log`), synced on their own (`segments.rs`).
    pub(crate) log: Arc<SegmentLog>,
}

impl Disk {
    /// Open the sled database at `dir` and the log segments beside it.
    pub(crate) fn open(dir: &Path, mode: FlushMode) -> io::Result<Arc<Self>> {
        std::fs::create_dir_all(dir)?;
        let config = sled::Config::new()
            .path(dir)
            // Only the flusher flushes (sled#1308).
            .flush_every_ms(None)
            .cache_capacity(256 * 1024 * 1024);
        // sled locks its directory until the last handle of the previous
        // open is dropped. A member restarted in the same process (tests,
        // the simulation) can race the tasks of its previous run that
        // still hold one for a moment after `shutdown`: wait a little for
        // the lock, then give up with sled's error (another process
        // holding it keeps it).
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        let db = loop {
            match config.open() {
                Ok(db) => break db,
                // sled 0.34 reports it as `Other` with this text.
                Err(sled::Error::Io(e))
                    if e.to_string().starts_with("could not acquire lock")
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(io::Error::other(e)),
            }
        };
        let log_dir = dir.with_file_name("log");
        let log = SegmentLog::open(&log_dir, mode)?;
        let stages = Arc::new(StageMetrics::default());
        let durability = match mode {
            FlushMode::Fsync => {
                Durability::start(db.clone(), dir, Duration::from_millis(500), stages.clone())?
            }
            FlushMode::Inline => Durability::inline(db.clone()),
        };
        Ok(Arc::new(Disk {
            db,
            durability,
            stages,
            log,
        }))
    }
}
