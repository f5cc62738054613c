//! The Raft log: entries in segment files, metadata in sled.
//!
//! The entries live in append-only segment files (`segments.rs`), written
//! with one `pwrite` per append and made durable by their own fdatasync
//! thread, so a commit no longer waits for a sled flush. Tree `raft_meta`
//! holds the vote, the committed log id and the last purged log id.
//! `append` makes entries readable at once and reports `log_io_completed`
//! after the fdatasync that covers them; `save_vote` returns after a sled
//! flush, `truncate` after its own fdatasync, `purge` after the purge point
//! (and the state written so far) is flushed. Every entry and value is a
//! versioned record (`codec::encode_record`; see `format.rs`).
//!
//! The state machine's trees are flushed by sled on their own schedule, so
//! after a crash they may hold an entry the log lost (a follower applies
//! what the leader says is committed, flushed here or not). openraft
//! handles a state ahead of the log on start (it purges up to what is
//! applied); [`LogStore::read_committed`] makes sure it is never told a
//! commit point beyond what the log holds.

use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{AnyError, ErrorSubject, ErrorVerb, RaftLogReader, StorageIOError};
use paddle_proto::codec;
use serde::{de::DeserializeOwned, Serialize};

use super::disk::Disk;
use super::segments::SegmentLog;
use crate::types::typ::{Entry, LogId, StorageError, Vote};
use crate::types::TypeConfig;

const KEY_VOTE: &[u8] = b"vote";
const KEY_COMMITTED: &[u8] = b"committed";
const KEY_LAST_PURGED: &[u8] = b"last_purged";

/// The Raft log. Cloning shares the same files and trees.
#[derive(Clone)]
pub struct LogStore {
    disk: Arc<Disk>,
    log: Arc<SegmentLog>,
    meta: sled::Tree,
    /// Last committed index known to this node (0 = none), for metrics.
    committed: Arc<AtomicU64>,
}

fn io_err(subject: ErrorSubject<u64>, verb: ErrorVerb, e: impl std::fmt::Display) -> StorageError {
    StorageIOError::new(subject, verb, AnyError::error(e.to_string())).into()
}

fn read_err(e: impl std::fmt::Display) -> StorageError {
    io_err(ErrorSubject::Logs, ErrorVerb::Read, e)
}

fn write_err(e: impl std::fmt::Display) -> StorageError {
    io_err(ErrorSubject::Logs, ErrorVerb::Write, e)
}

impl LogStore {
    pub(crate) fn open(disk: Arc<Disk>) -> Result<Self, sled::Error> {
        let meta = disk.db.open_tree("raft_meta")?;
        let store = LogStore {
            log: disk.log.clone(),
            disk,
            meta,
            committed: Arc::new(AtomicU64::new(0)),
        };
        if let Ok(Some(Some(c))) = store.get_meta::<Option<LogId>>(KEY_COMMITTED) {
            store.committed.store(c.index, Ordering::Relaxed);
        }
        // Segments a purge recorded but did not get to remove (a crash in
        // between) go now.
        if let Ok(Some(purged)) = store.last_purged() {
            store.log.purge(purged.index).map_err(sled::Error::Io)?;
        }
        Ok(store)
    }

    fn get_meta<T: DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>, StorageError> {
        match self.meta.get(key).map_err(read_err)? {
            Some(v) => Ok(Some(codec::decode_record(&v).map_err(read_err)?)),
            None => Ok(None),
        }
    }

    fn put_meta<T: Serialize>(&self, key: &[u8], value: &T) -> Result<(), StorageError> {
        let bytes = codec::encode_record(value).map_err(write_err)?;
        self.meta.insert(key, bytes).map_err(write_err)?;
        Ok(())
    }

    async fn sync(&self) -> Result<(), StorageError> {
        self.disk.durability.sync().await.map_err(write_err)
    }

    /// The last purged log id (entries up to it are gone).
    pub(crate) fn last_purged(&self) -> Result<Option<LogId>, StorageError> {
        self.get_meta(KEY_LAST_PURGED)
    }

    /// The committed index as last reported by openraft, shared for metrics.
    pub fn committed_index(&self) -> Arc<AtomicU64> {
        self.committed.clone()
    }

    /// Number of entries currently held.
    pub fn len(&self) -> usize {
        self.log.len()
    }

    /// True when the log holds no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn decode_entry(bytes: &[u8]) -> Result<Entry, StorageError> {
    codec::decode_record(bytes).map_err(read_err)
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        let from = match range.start_bound() {
            Bound::Included(i) => *i,
            Bound::Excluded(i) => i.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let to = match range.end_bound() {
            Bound::Included(i) => i.saturating_add(1),
            Bound::Excluded(i) => *i,
            Bound::Unbounded => u64::MAX,
        };
        self.log
            .read_each(from, to, |_, bytes| {
                codec::decode_record(bytes).map_err(std::io::Error::other)
            })
            .map_err(read_err)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let last_purged_log_id = self.last_purged()?;
        let last = match self.log.last().map_err(read_err)? {
            Some((_, bytes)) => Some(decode_entry(&bytes)?.log_id),
            None => None,
        };
        // After a crash in the middle of a purge, entries below the purge point
        // may remain: the purge point still wins.
        Ok(LogState {
            last_purged_log_id,
            last_log_id: std::cmp::max(last, last_purged_log_id),
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), StorageError> {
        self.put_meta(KEY_VOTE, vote)
            .map_err(|e| io_err(ErrorSubject::Vote, ErrorVerb::Write, e))?;
        self.disk
            .durability
            .sync()
            .await
            .map_err(|e| io_err(ErrorSubject::Vote, ErrorVerb::Write, e))
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, StorageError> {
        self.get_meta(KEY_VOTE)
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        // Not needed for safety; sled makes it durable with the next flush.
        if let Some(c) = committed {
            self.committed.store(c.index, Ordering::Relaxed);
        }
        self.put_meta(KEY_COMMITTED, &committed)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        let committed = self.get_meta::<Option<LogId>>(KEY_COMMITTED)?.flatten();
        // sled may have flushed a commit point whose entries the log lost in
        // a crash (they were never acknowledged by this node): openraft would
        // try to re-apply entries it cannot read. Forget such a point; it is
        // only a hint, learned again from the leader.
        let held = std::cmp::max(
            self.log.last_index().map_err(read_err)?,
            self.last_purged()?.map(|l| l.index),
        );
        Ok(committed.filter(|c| Some(c.index) <= held))
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let records = entries
            .into_iter()
            .map(|entry| Ok((entry.log_id.index, codec::encode_record(&entry)?)))
            .collect::<Result<Vec<_>, paddle_proto::codec::CodecError>>()
            .map_err(write_err)?;
        self.log.append(&records).map_err(write_err)?;
        // Readable now; acknowledged once the flusher has fdatasync'd it.
        let (stages, started) = (self.disk.stages.clone(), std::time::Instant::now());
        self.log.sync(Box::new(move |r| {
            stages.log_write.observe(started.elapsed());
            callback.log_io_completed(r)
        }));
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        tracing::debug!(since = log_id.index, "truncating the log");
        self.log.truncate(log_id.index).map_err(write_err)
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        tracing::debug!(upto = log_id.index, "purging the log");
        // Record the purge point first: if we crash in between, the entries
        // still present below it are simply ignored.
        self.put_meta(KEY_LAST_PURGED, &log_id)?;
        // The purge point, and the state applied so far, reach the disk
        // before any segment goes: a snapshot covers what is purged.
        self.sync().await?;
        self.log.purge(log_id.index).map_err(write_err)
    }
}
