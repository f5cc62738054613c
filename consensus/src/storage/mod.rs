//! Storage: the only module that imports sled.
//!
//! The Raft log's entries live in append-only segment files
//! (`segments.rs`, `raft/log/`). One sled database per node holds the Raft
//! metadata (`raft_meta`: vote, committed, last purged, active state tree)
//! and the replicated state (`sm_a` / `sm_b`), written by its own thread
//! (`state_writer.rs`). Snapshot files live beside it.
//! Every stored value and the data dir itself carry a format version
//! (`format.rs`); opening refuses other versions and migrates data dirs
//! written before versions existed.

mod chunks;
pub mod direct;
mod disk;
mod durable;
mod files;
pub mod format;
pub mod log;
pub mod seed;
mod segments;
pub mod sm;
pub mod snapshot;
mod state_store;
mod state_writer;

use std::path::Path;

pub use durable::FlushMode;
pub use log::LogStore;
pub use sm::{SmShared, SnapshotBuilder, StateMachineStore};

use crate::app::Application;
use crate::types::typ::StorageError;

/// Open (or create) a node's storage under `dir`.
pub fn open(
    dir: &Path,
    app: Box<dyn Application>,
) -> Result<(LogStore, StateMachineStore), StorageError> {
    open_with(dir, app, FlushMode::Fsync)
}

/// [`open`], flushing as `mode` says (the simulation flushes inline).
pub fn open_with(
    dir: &Path,
    app: Box<dyn Application>,
    mode: FlushMode,
) -> Result<(LogStore, StateMachineStore), StorageError> {
    let io = |e: std::io::Error| -> StorageError {
        openraft::StorageIOError::new(
            openraft::ErrorSubject::Store,
            openraft::ErrorVerb::Read,
            openraft::AnyError::error(e.to_string()),
        )
        .into()
    };
    let disk = disk::Disk::open(&dir.join("sled"), mode).map_err(io)?;
    if let Err(e) = format::open(&disk) {
        disk.durability.stop_blocking();
        return Err(io(std::io::Error::other(e)));
    }
    let log = LogStore::open(disk.clone()).map_err(|e| io(std::io::Error::other(e)))?;
    let sm = StateMachineStore::open(disk, dir.join("snapshots"), app)?;
    Ok((log, sm))
}
