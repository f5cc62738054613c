//! Seeding a fresh node from a snapshot file (restore from a backup).
//!
//! The new node becomes the only voter of a new cluster that continues the
//! old one's log positions: its state is the snapshot's, its log starts
//! right after the snapshot (`last_purged` = the snapshot's last log id),
//! and its membership names only itself. Event indexes and stamps stay
//! monotonic across the restore, so clients that resume "since index N"
//! are never confused by a counter that went back to 1.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use paddle_proto::codec;
use serde::Serialize;

use super::disk::Disk;
use super::snapshot::{self, SnapshotError, SnapshotHeader};
use super::state_store::StateStore;
use crate::kv::KvTxn;
use crate::types::typ::{Membership, StoredMembership, Vote};
use crate::types::{NodeAddr, NodeId};

/// Why a seed failed.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("the backup is not usable: {0}")]
    Snapshot(#[from] SnapshotError),
    #[error("the backup holds no applied state (it was taken before anything was applied)")]
    Empty,
    #[error("storage: {0}")]
    Storage(String),
    #[error("{0} already holds Raft data; restore only into a new data dir")]
    NotEmpty(String),
}

/// Read a backup, let `edit` adjust the state (new tokens, ids), and write
/// it as the starting state of node `node_id` at `addr` under `dir`.
/// Returns the header of the seeded state.
pub fn seed_from_snapshot(
    dir: &Path,
    backup: &[u8],
    node_id: NodeId,
    addr: NodeAddr,
    edit: impl FnOnce(&mut KvTxn<'_>),
) -> Result<SnapshotHeader, SeedError> {
    let (header, mut map) = snapshot::decode(backup)?;
    let last = header.last_applied.ok_or(SeedError::Empty)?;
    let sled_dir = dir.join("sled");
    if sled_dir.exists() {
        return Err(SeedError::NotEmpty(dir.display().to_string()));
    }
    let mut writes = Vec::new();
    edit(&mut KvTxn {
        map: &mut map,
        writes: &mut writes,
    });
    let membership = Membership::new(
        vec![BTreeSet::from([node_id])],
        BTreeMap::from([(node_id, addr)]),
    );
    let stored = StoredMembership::new(Some(last), membership);
    let header = SnapshotHeader {
        snapshot_id: format!("restore-{}-{}", last.leader_id.term, last.index),
        last_applied: Some(last),
        membership: stored.clone(),
        last_stamp_ms: header.last_stamp_ms,
        keys: map.len() as u64,
    };
    let io = |e: &dyn std::fmt::Display| SeedError::Storage(e.to_string());
    let disk = Disk::open(&sled_dir, crate::storage::FlushMode::Fsync).map_err(|e| io(&e))?;
    super::format::mark(&disk.db).map_err(|e| io(&e))?;
    let bytes = snapshot::encode(&header, &map);
    let snapshots = dir.join("snapshots");
    let (mut store, _, _) = StateStore::open(&disk.db, &snapshots).map_err(|e| io(&e))?;
    store
        .install(&bytes, &header, &disk.durability)
        .map_err(|e| io(&e))?;
    let meta = disk.db.open_tree("raft_meta").map_err(|e| io(&e))?;
    meta.insert(b"last_purged", enc(&last)?)
        .map_err(|e| io(&e))?;
    meta.insert(b"vote", enc(&Vote::new(last.leader_id.term, node_id))?)
        .map_err(|e| io(&e))?;
    disk.durability.sync_blocking().map_err(|e| io(&e))?;
    super::files::write_atomically(&snapshots, super::sm::SNAPSHOT_FILE, &bytes)
        .map_err(|e| io(&e))?;
    disk.durability.stop_blocking();
    Ok(header)
}

fn enc<T: Serialize>(value: &T) -> Result<Vec<u8>, SeedError> {
    codec::encode_record(value).map_err(|e| SeedError::Storage(e.to_string()))
}

/// Decode a backup's header and state for inspection (`paddle restore`
/// reads the old cluster's facts before choosing ids).
pub fn read_backup(backup: &[u8]) -> Result<(SnapshotHeader, crate::kv::KvView), SeedError> {
    let (header, map) = snapshot::decode(backup)?;
    let applied_index = header.last_applied.map(|l| l.index).unwrap_or(0);
    Ok((header, crate::kv::KvView { map, applied_index }))
}
