//! The state-machine store: applies committed entries through the
//! application, keeps the state in memory (an `imbl` map, for consistent
//! views) and on disk (`state_store`: a base snapshot file plus a sled tree
//! of changes), builds and installs snapshots.

use std::io::Cursor;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{
    AnyError, EntryPayload, ErrorSubject, ErrorVerb, OptionalSend, RaftSnapshotBuilder,
    StorageIOError,
};
use paddle_proto::Reply;
use tokio::sync::watch;

use super::disk::Disk;
use super::snapshot::{self, SnapshotHeader};
use super::state_store::{Bookkeeping, StateStore};
use super::state_writer::StateWriter;
use crate::app::{Application, AppliedEntry};
use crate::kv::{KvTxn, KvView, StateMap};
use crate::metrics::StageMetrics;
use crate::types::typ::{Entry, LogId, SnapshotMeta, StorageError, StoredMembership};
use crate::types::TypeConfig;

pub(super) const SNAPSHOT_FILE: &str = "current.snap";

/// Batches of up to this many commands are applied on the async worker
/// itself; larger ones (catch-ups) on a thread handed over for blocking.
const INLINE_APPLY_COMMANDS: usize = 2_048;

/// Commands in a batch of entries (a blank or membership entry counts one).
fn commands_in(entries: &[Entry]) -> usize {
    entries
        .iter()
        .map(|e| match &e.payload {
            EntryPayload::Normal(p) => p.commands.len(),
            _ => 1,
        })
        .sum()
}

fn sm_err(verb: ErrorVerb, e: impl std::fmt::Display) -> StorageError {
    StorageIOError::new(
        ErrorSubject::StateMachine,
        verb,
        AnyError::error(e.to_string()),
    )
    .into()
}

fn snap_err(verb: ErrorVerb, e: impl std::fmt::Display) -> StorageError {
    StorageIOError::new(
        ErrorSubject::Snapshot(None),
        verb,
        AnyError::error(e.to_string()),
    )
    .into()
}

/// What readers see: the state as of the last fully applied batch.
///
/// The map in `view` is also the one the applies write: an apply holds the
/// write lock while it changes the map and lets go once the batch is
/// applied, so a reader never sees half a batch. Readers take the read
/// lock only to clone the view (O(1)). Keeping no second, published copy
/// means that, unless a reader still holds an older view, a batch changes
/// the map's nodes in place instead of copying every path it touches and
/// freeing the old version afterwards (issue 15, step 6 in BENCHMARKS.md).
#[derive(Clone, Default)]
pub(crate) struct Published {
    pub(crate) view: KvView,
    pub(crate) last_applied: Option<LogId>,
    pub(crate) membership: StoredMembership,
    pub(crate) last_stamp_ms: u64,
}

/// State shared between the store, its snapshot builder and readers.
pub struct SmShared {
    published: RwLock<Published>,
    applied: watch::Sender<u64>,
    snapshot_dir: PathBuf,
    /// Meta of the snapshot file on disk, if any. Also serialises writers of
    /// that file.
    current: Mutex<Option<SnapshotMeta>>,
    durability: super::durable::Durability,
    /// The log's segments, closed with the database.
    log: Arc<super::segments::SegmentLog>,
    /// The state's sled writes, stopped before the database.
    writer: StateWriter,
    stages: Arc<StageMetrics>,
}

impl SmShared {
    /// A consistent view of the whole state as of the last applied batch.
    pub fn view(&self) -> KvView {
        self.published.read().expect("lock").view.clone()
    }

    pub(crate) fn published(&self) -> Published {
        self.published.read().expect("lock").clone()
    }

    /// Where this node's proposals spend their time.
    pub fn stages(&self) -> Arc<StageMetrics> {
        self.stages.clone()
    }

    /// Watch the applied index move.
    pub fn applied_index(&self) -> watch::Receiver<u64> {
        self.applied.subscribe()
    }

    fn publish(&self, p: Published) {
        let index = p.view.applied_index;
        *self.published.write().expect("lock") = p;
        self.announce(index);
    }

    /// Tell waiters that `index` is applied (its view is readable).
    fn announce(&self, index: u64) {
        self.applied.send_replace(index);
    }

    /// Make `bytes` the current snapshot file (atomically) and remember its
    /// meta. With `base`, the base file in the same directory that holds
    /// the same bytes, the file is a hard link to it (written once); where
    /// the file system cannot link, or without `base`, the bytes are
    /// written.
    fn store_snapshot_file(
        &self,
        meta: &SnapshotMeta,
        bytes: &[u8],
        base: Option<&str>,
    ) -> std::io::Result<()> {
        let mut current = self.current.lock().expect("lock");
        let linked = base.is_some_and(|base| {
            super::files::link_atomically(&self.snapshot_dir, base, SNAPSHOT_FILE)
                .inspect_err(|e| {
                    tracing::debug!(error = %e, "cannot link the snapshot to its base file; writing it")
                })
                .is_ok()
        });
        if !linked {
            super::files::write_atomically(&self.snapshot_dir, SNAPSHOT_FILE, bytes)?;
        }
        *current = Some(meta.clone());
        Ok(())
    }

    fn read_snapshot_file(&self) -> std::io::Result<Option<(SnapshotMeta, Vec<u8>)>> {
        let current = self.current.lock().expect("lock");
        match &*current {
            None => Ok(None),
            Some(meta) => Ok(Some((
                meta.clone(),
                std::fs::read(self.snapshot_dir.join(SNAPSHOT_FILE))?,
            ))),
        }
    }

    /// Encode the published state as a snapshot file, now (for backups):
    /// consistent, since a published view never changes.
    pub fn snapshot_now(&self) -> Vec<u8> {
        let p = self.published();
        let header = SnapshotHeader {
            snapshot_id: match p.last_applied {
                Some(l) => format!("backup-{}-{}", l.leader_id.term, l.index),
                None => "backup-0-0".to_string(),
            },
            last_applied: p.last_applied,
            membership: p.membership.clone(),
            last_stamp_ms: p.last_stamp_ms,
            keys: p.view.map.len() as u64,
        };
        snapshot::encode(&header, &p.view.map)
    }

    /// Make everything written so far durable (used at shutdown): the
    /// queued state writes, then a flush.
    pub async fn sync(self: &Arc<Self>) -> std::io::Result<()> {
        let me = self.clone();
        self.durability
            .blocking(move || me.writer.drain())
            .await
            .map_err(std::io::Error::other)?
            .map_err(std::io::Error::other)?;
        self.durability.sync().await
    }

    /// Final flush, then release the database and the log's files (call
    /// after Raft stopped).
    pub async fn close(self: &Arc<Self>) {
        let (d, log, me) = (self.durability.clone(), self.log.clone(), self.clone());
        let _ = self
            .durability
            .blocking(move || {
                if let Err(e) = me.writer.stop() {
                    tracing::error!(error = %e, "the state's last writes failed");
                }
                d.stop_blocking();
                if let Err(e) = log.sync_blocking() {
                    tracing::error!(error = %e, "final sync of the log failed");
                }
                log.close();
            })
            .await;
    }

    /// The bytes of the newest snapshot on disk (for backups), if any.
    pub fn snapshot_bytes(&self) -> std::io::Result<Option<Vec<u8>>> {
        Ok(self.read_snapshot_file()?.map(|(_, b)| b))
    }
}

fn meta_of(h: &SnapshotHeader) -> SnapshotMeta {
    SnapshotMeta {
        last_log_id: h.last_applied,
        last_membership: h.membership.clone(),
        snapshot_id: h.snapshot_id.clone(),
    }
}

/// The sled-backed state machine.
pub struct StateMachineStore {
    /// Behind a mutex so a snapshot install can run on a blocking thread.
    store: Arc<Mutex<StateStore>>,
    last_applied: Option<LogId>,
    membership: StoredMembership,
    last_stamp_ms: u64,
    /// Behind a mutex only to make the store `Sync`; never contended.
    app: Mutex<Box<dyn Application>>,
    shared: Arc<SmShared>,
    snapshots_built: u64,
}

impl StateMachineStore {
    pub(crate) fn open(
        disk: Arc<Disk>,
        snapshot_dir: PathBuf,
        mut app: Box<dyn Application>,
    ) -> Result<Self, StorageError> {
        let (store, working, book) =
            StateStore::open(&disk.db, &snapshot_dir).map_err(|e| sm_err(ErrorVerb::Read, e))?;
        let Bookkeeping {
            last_applied,
            membership,
            last_stamp_ms,
        } = book;
        let current = match std::fs::read(snapshot_dir.join(SNAPSHOT_FILE)) {
            Ok(bytes) => Some(meta_of(
                &snapshot::decode_header(&bytes).map_err(|e| snap_err(ErrorVerb::Read, e))?,
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(snap_err(ErrorVerb::Read, e)),
        };
        let applied_index = last_applied.map(|l| l.index).unwrap_or(0);
        let view = KvView {
            map: working,
            applied_index,
        };
        app.state_replaced(&view);
        let (applied, _) = watch::channel(applied_index);
        let store = Arc::new(Mutex::new(store));
        let writer = StateWriter::start(store.clone(), &disk.durability, disk.stages.clone())
            .map_err(|e| sm_err(ErrorVerb::Write, e))?;
        let shared = Arc::new(SmShared {
            published: RwLock::new(Published {
                view,
                last_applied,
                membership: membership.clone(),
                last_stamp_ms,
            }),
            applied,
            snapshot_dir,
            current: Mutex::new(current),
            durability: disk.durability.clone(),
            log: disk.log.clone(),
            writer,
            stages: disk.stages.clone(),
        });
        Ok(StateMachineStore {
            store,
            last_applied,
            membership,
            last_stamp_ms,
            app: Mutex::new(app),
            shared,
            snapshots_built: 0,
        })
    }

    /// The handle readers use.
    pub fn shared(&self) -> Arc<SmShared> {
        self.shared.clone()
    }

    fn bookkeeping(&self) -> Bookkeeping {
        Bookkeeping {
            last_applied: self.last_applied,
            membership: self.membership.clone(),
            last_stamp_ms: self.last_stamp_ms,
        }
    }

    /// Replace the whole state with `map` (snapshot install) and publish it.
    fn publish_replaced(&mut self, map: StateMap) -> KvView {
        let view = KvView {
            map,
            applied_index: self.last_applied.map(|l| l.index).unwrap_or(0),
        };
        self.shared.publish(Published {
            view: view.clone(),
            last_applied: self.last_applied,
            membership: self.membership.clone(),
            last_stamp_ms: self.last_stamp_ms,
        });
        view
    }
}

impl StateMachineStore {
    /// Apply committed entries: every command through the application, then
    /// all writes plus the Raft bookkeeping as one sled batch, then publish
    /// the new view and let the application emit its side effects.
    fn apply_now(&mut self, entries: Vec<Entry>) -> Result<Vec<Vec<Reply>>, StorageError> {
        let started = std::time::Instant::now();
        let mut replies = Vec::new();
        let mut writes = Vec::new();
        let shared = self.shared.clone();
        // Readers wait while the batch changes the map (see `Published`).
        let mut published = shared.published.write().expect("lock");
        let working = &mut published.view.map;
        for entry in entries {
            self.last_applied = Some(entry.log_id);
            let reply = match entry.payload {
                EntryPayload::Blank => Vec::new(),
                EntryPayload::Normal(proposal) => {
                    self.last_stamp_ms = self.last_stamp_ms.max(proposal.stamp_ms);
                    let app = self.app.get_mut().expect("lock");
                    let mut out = Vec::with_capacity(proposal.commands.len());
                    for (position, command) in proposal.commands.iter().enumerate() {
                        let mut txn = KvTxn {
                            map: &mut *working,
                            writes: &mut writes,
                        };
                        let at = AppliedEntry {
                            index: entry.log_id.index,
                            position: position as u32,
                            stamp_ms: self.last_stamp_ms,
                            command,
                        };
                        out.push(app.apply(&mut txn, at));
                    }
                    out
                }
                EntryPayload::Membership(m) => {
                    self.membership = StoredMembership::new(Some(entry.log_id), m);
                    Vec::new()
                }
            };
            replies.push(reply);
        }
        self.app.get_mut().expect("lock").batch_ending(&mut KvTxn {
            map: &mut *working,
            writes: &mut writes,
        });
        // The view now holds every committed entry of the batch: readable
        // before the state write below, which only makes the state durable
        // beside the log that already holds these entries.
        let index = self.last_applied.map(|l| l.index).unwrap_or(0);
        published.view.applied_index = index;
        published.last_applied = self.last_applied;
        published.membership = self.membership.clone();
        published.last_stamp_ms = self.last_stamp_ms;
        let view = published.view.clone();
        drop(published);
        let stages = self.shared.stages.clone();
        stages.apply.observe(started.elapsed());
        // Into sled on the writer thread (`state_writer.rs`): the log
        // already holds these entries on a majority's disks.
        self.shared
            .writer
            .write(writes, self.bookkeeping())
            .map_err(|e| sm_err(ErrorVerb::Write, e))?;
        let started = std::time::Instant::now();
        self.shared.announce(index);
        self.app.get_mut().expect("lock").batch_committed(&view);
        stages.publish.observe(started.elapsed());
        Ok(replies)
    }
}

/// Builds a snapshot from a consistent view while applies go on, and makes
/// it the base of the on-disk state (see `state_store.rs`).
pub struct SnapshotBuilder {
    shared: Arc<SmShared>,
    store: Arc<Mutex<StateStore>>,
    seq: u64,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError> {
        let p = self.shared.published();
        let shared = self.shared.clone();
        let store = self.store.clone();
        let seq = self.seq;
        // Where the base file goes, if this snapshot will be the new base
        // (not when a newer one was installed meanwhile).
        let base_dir = {
            let s = store.lock().expect("lock");
            let index = p.last_applied.map_or(0, |l| l.index);
            s.would_rebase(index).then(|| s.dir().to_path_buf())
        };
        let header = SnapshotHeader {
            snapshot_id: match p.last_applied {
                Some(l) => format!("{}-{}-{}", l.leader_id.term, l.index, seq),
                None => format!("0-0-{seq}"),
            },
            last_applied: p.last_applied,
            membership: p.membership.clone(),
            last_stamp_ms: p.last_stamp_ms,
            keys: p.view.map.len() as u64,
        };
        let meta = meta_of(&header);
        // Encoding and writing the file take tens of ms of CPU and disk on a
        // large state: done at a low priority, holding no lock a commit
        // needs. The snapshot file is the base file under a second name
        // (written once).
        let (bytes, base) = {
            let (shared, header, meta) = (shared.clone(), header.clone(), meta.clone());
            self.shared
                .durability
                .background("paddle-snapshot", move || {
                    let bytes = snapshot::encode(&header, &p.view.map);
                    let base = base_dir
                        .map(|dir| StateStore::write_base_file(&dir, &header, &bytes))
                        .transpose()
                        .map_err(std::io::Error::other)?;
                    shared.store_snapshot_file(&meta, &bytes, base.as_deref())?;
                    Ok::<_, std::io::Error>((bytes, base))
                })
                .await
                .map_err(|e| snap_err(ErrorVerb::Write, e))?
                .map_err(|e| snap_err(ErrorVerb::Write, e))?
        };
        if let Some(file) = base {
            // The state's chunks up to here can go: this snapshot becomes
            // the base. The rebase takes the store, which the state writer
            // needs: at the node's own priority.
            let index = header.last_applied.map_or(0, |l| l.index);
            self.shared
                .durability
                .blocking(move || {
                    // The rebase drops the chunks up to `index`: none of
                    // them may still be queued.
                    shared
                        .writer
                        .wait_for(index)
                        .map_err(std::io::Error::other)?;
                    store
                        .lock()
                        .expect("lock")
                        .rebase(&file, &header, &shared.durability)
                        .map_err(std::io::Error::other)
                })
                .await
                .map_err(|e| snap_err(ErrorVerb::Write, e))?
                .map_err(|e| snap_err(ErrorVerb::Write, e))?;
        }
        tracing::info!(id = %meta.snapshot_id, bytes = bytes.len(), "built a snapshot");
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(bytes)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachineStore {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        Ok((self.last_applied, self.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Vec<Reply>>, StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let entries: Vec<Entry> = entries.into_iter().collect();
        // Applying is CPU and sled work: on a multi-threaded runtime, tell
        // tokio when a batch is large (a catch-up), so that heartbeats and
        // RPCs keep flowing on other threads meanwhile. A live batch takes
        // well under a millisecond, less than the hand-over of the worker's
        // core to another thread that `block_in_place` costs.
        let multi = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if multi && commands_in(&entries) > INLINE_APPLY_COMMANDS {
            tokio::task::block_in_place(|| self.apply_now(entries))
        } else {
            self.apply_now(entries)
        }
    }
    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.snapshots_built += 1;
        SnapshotBuilder {
            shared: self.shared.clone(),
            store: self.store.clone(),
            seq: self.snapshots_built,
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError> {
        let bytes = snapshot.into_inner();
        let verb = ErrorVerb::Write;
        let expected = meta.last_log_id;
        let store = self.store.clone();
        let shared = self.shared.clone();
        let file_meta = meta.clone();
        // Decoding and writing a large state takes a while: do it off the
        // async threads so heartbeats keep flowing meanwhile.
        let (header, map) = self
            .shared
            .durability
            .blocking(move || {
                let (header, map) = snapshot::decode(&bytes).map_err(|e| e.to_string())?;
                if header.last_applied != expected {
                    return Err("snapshot contents do not match its meta".to_string());
                }
                // The install replaces the delta tree: no older write may
                // land in the new one.
                shared.writer.drain()?;
                store
                    .lock()
                    .expect("lock")
                    .install(&bytes, &header, &shared.durability)?;
                shared
                    .store_snapshot_file(&file_meta, &bytes, None)
                    .map_err(|e| e.to_string())?;
                Ok((header, map))
            })
            .await
            .map_err(|e| snap_err(verb, e))?
            .map_err(|e| snap_err(verb, e))?;
        tracing::info!(id = %meta.snapshot_id, keys = header.keys, "installed a snapshot");
        self.last_applied = header.last_applied;
        self.membership = header.membership.clone();
        self.last_stamp_ms = header.last_stamp_ms;
        let view = self.publish_replaced(map);
        let app = self.app.get_mut().expect("lock");
        let multi = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if multi {
            tokio::task::block_in_place(|| app.state_replaced(&view));
        } else {
            app.state_replaced(&view);
        }
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError> {
        let shared = self.shared.clone();
        let found = self
            .shared
            .durability
            .blocking(move || shared.read_snapshot_file())
            .await
            .map_err(|e| snap_err(ErrorVerb::Read, e))?
            .map_err(|e| snap_err(ErrorVerb::Read, e))?;
        Ok(found.map(|(meta, bytes)| Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(bytes)),
        }))
    }
}
