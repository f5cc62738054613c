//! The state-machine store: applies committed entries through the
//! application, keeps the state in memory and in sled, builds and installs
//! snapshots.
//!
//! The state lives in one of two sled trees (`sm_a`, `sm_b`); `raft_meta`
//! names the active one. An apply batch is one sled `Batch` on the active
//! tree holding the application's writes plus last-applied, membership and
//! the last stamp, so they commit atomically. Installing a snapshot fills the
//! inactive tree, syncs, then flips the pointer: a crash at any point leaves
//! either the old state or the new one, never a mix.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{
    AnyError, EntryPayload, ErrorSubject, ErrorVerb, OptionalSend, RaftSnapshotBuilder,
    StorageIOError,
};
use paddle_proto::{codec, Reply};
use tokio::sync::watch;

use super::durable::Disk;
use super::snapshot::{self, SnapshotHeader};
use crate::app::{Application, AppliedEntry};
use crate::kv::{KvTxn, KvView, StateMap, Write};
use crate::types::typ::{Entry, LogId, SnapshotMeta, StorageError, StoredMembership};
use crate::types::TypeConfig;

const KEY_ACTIVE: &[u8] = b"sm_active";
/// Reserved keys inside the state tree: they start with NUL, which no
/// application key can (application keys start with a tree name).
pub(super) const META_APPLIED: &[u8] = b"\0applied";
pub(super) const META_MEMBERSHIP: &[u8] = b"\0membership";
pub(super) const META_STAMP: &[u8] = b"\0stamp";
const INSTALL_BATCH: usize = 10_000;
pub(super) const SNAPSHOT_FILE: &str = "current.snap";

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
}

impl SmShared {
    /// A consistent view of the whole state as of the last applied batch.
    pub fn view(&self) -> KvView {
        self.published.read().expect("lock").view.clone()
    }

    pub(crate) fn published(&self) -> Published {
        self.published.read().expect("lock").clone()
    }

    /// Watch the applied index move.
    pub fn applied_index(&self) -> watch::Receiver<u64> {
        self.applied.subscribe()
    }

    fn publish(&self, p: Published) {
        let index = p.view.applied_index;
        *self.published.write().expect("lock") = p;
        self.applied.send_replace(index);
    }

    /// Write `bytes` as the current snapshot file (atomically) and remember
    /// its meta.
    fn store_snapshot_file(&self, meta: &SnapshotMeta, bytes: &[u8]) -> std::io::Result<()> {
        let mut current = self.current.lock().expect("lock");
        write_atomically(&self.snapshot_dir, SNAPSHOT_FILE, bytes)?;
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

    /// Make everything written so far durable (used at shutdown).
    pub async fn sync(&self) -> std::io::Result<()> {
        self.durability.sync().await
    }

    /// Final flush, then release the database (call after Raft stopped).
    pub async fn close(&self) {
        let d = self.durability.clone();
        let _ = tokio::task::spawn_blocking(move || d.stop_blocking()).await;
    }

    /// The bytes of the newest snapshot on disk (for backups), if any.
    pub fn snapshot_bytes(&self) -> std::io::Result<Option<Vec<u8>>> {
        Ok(self.read_snapshot_file()?.map(|(_, b)| b))
    }
}

pub(super) fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!("{name}.tmp"));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, dir.join(name))?;
    std::fs::File::open(dir)?.sync_all()
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
    disk: Arc<Disk>,
    raft_meta: sled::Tree,
    active: sled::Tree,
    working: StateMap,
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
        let read = |e: sled::Error| sm_err(ErrorVerb::Read, e);
        let raft_meta = disk.db.open_tree("raft_meta").map_err(read)?;
        let active_name = match raft_meta.get(KEY_ACTIVE).map_err(read)? {
            Some(v) => String::from_utf8_lossy(&v).into_owned(),
            None => "sm_a".to_string(),
        };
        let active = disk.db.open_tree(&active_name).map_err(read)?;
        let mut working = StateMap::new();
        let mut last_applied: Option<LogId> = None;
        let mut membership = StoredMembership::default();
        let mut last_stamp_ms = 0;
        for item in active.iter() {
            let (k, v) = item.map_err(read)?;
            let bad = |e: codec::CodecError| sm_err(ErrorVerb::Read, e);
            match &*k {
                META_APPLIED => last_applied = codec::decode(&v).map_err(bad)?,
                META_MEMBERSHIP => membership = codec::decode(&v).map_err(bad)?,
                META_STAMP => last_stamp_ms = codec::decode(&v).map_err(bad)?,
                _ if k.first() == Some(&0) => {}
                _ => {
                    working.insert(k.as_ref().into(), v.as_ref().into());
                }
            }
        }
        let current = match std::fs::read(snapshot_dir.join(SNAPSHOT_FILE)) {
            Ok(bytes) => Some(meta_of(
                &snapshot::decode_header(&bytes).map_err(|e| snap_err(ErrorVerb::Read, e))?,
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(snap_err(ErrorVerb::Read, e)),
        };
        let applied_index = last_applied.map(|l| l.index).unwrap_or(0);
        let view = KvView {
            map: working.clone(),
            applied_index,
        };
        app.state_replaced(&view);
        let (applied, _) = watch::channel(applied_index);
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
        });
        Ok(StateMachineStore {
            disk,
            raft_meta,
            active,
            working,
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

    fn meta_batch(&self, batch: &mut sled::Batch) -> Result<(), StorageError> {
        let enc = |e: codec::CodecError| sm_err(ErrorVerb::Write, e);
        batch.insert(
            META_APPLIED,
            codec::encode(&self.last_applied).map_err(enc)?,
        );
        batch.insert(
            META_MEMBERSHIP,
            codec::encode(&self.membership).map_err(enc)?,
        );
        batch.insert(META_STAMP, codec::encode(&self.last_stamp_ms).map_err(enc)?);
        Ok(())
    }

    fn publish(&mut self) -> KvView {
        let view = KvView {
            map: self.working.clone(),
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
        let mut replies = Vec::new();
        let mut writes = Vec::new();
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
                            map: &mut self.working,
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
        let mut batch = sled::Batch::default();
        for w in writes {
            match w {
                Write::Put(k, v) => batch.insert(&*k, &*v),
                Write::Delete(k) => batch.remove(&*k),
            }
        }
        self.meta_batch(&mut batch)?;
        self.active
            .apply_batch(batch)
            .map_err(|e| sm_err(ErrorVerb::Write, e))?;
        let view = self.publish();
        self.app.get_mut().expect("lock").batch_committed(&view);
        Ok(replies)

    }
}

/// Decode a snapshot and write it, with its bookkeeping, into the (cleared)
/// tree `name`. Blocking.
fn fill_tree(
    db: &sled::Db,
    name: &str,
    bytes: &[u8],
    expected: Option<LogId>,
) -> Result<(SnapshotHeader, StateMap, sled::Tree), String> {
    let (header, map) = snapshot::decode(bytes).map_err(|e| e.to_string())?;
    if header.last_applied != expected {
        return Err("snapshot contents do not match its meta".into());
    }
    let tree = db.open_tree(name).map_err(|e| e.to_string())?;
    tree.clear().map_err(|e| e.to_string())?;
    let mut batch = sled::Batch::default();
    for (n, (k, v)) in map.iter().enumerate() {
        batch.insert(&**k, &**v);
        if n % INSTALL_BATCH == INSTALL_BATCH - 1 {
            tree.apply_batch(std::mem::take(&mut batch)).map_err(|e| e.to_string())?;
        }
    }
    let enc = |e: codec::CodecError| e.to_string();
    batch.insert(META_APPLIED, codec::encode(&header.last_applied).map_err(enc)?);
    batch.insert(META_MEMBERSHIP, codec::encode(&header.membership).map_err(enc)?);
    batch.insert(META_STAMP, codec::encode(&header.last_stamp_ms).map_err(enc)?);
    tree.apply_batch(batch).map_err(|e| e.to_string())?;
    Ok((header, map, tree))
}

/// Builds a snapshot from a consistent view while applies go on.
pub struct SnapshotBuilder {
    shared: Arc<SmShared>,
    seq: u64,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError> {
        let p = self.shared.published();
        let shared = self.shared.clone();
        let seq = self.seq;
        let (meta, bytes) = tokio::task::spawn_blocking(move || {
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
            let bytes = snapshot::encode(&header, &p.view.map);
            let meta = meta_of(&header);
            shared.store_snapshot_file(&meta, &bytes)?;
            Ok::<_, std::io::Error>((meta, bytes))
        })
        .await
        .map_err(|e| snap_err(ErrorVerb::Write, e))?
        .map_err(|e| snap_err(ErrorVerb::Write, e))?;
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
        // tokio so that heartbeats and RPCs keep flowing on other threads
        // while a large catch-up batch is applied.
        let multi = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if multi {
            tokio::task::block_in_place(|| self.apply_now(entries))
        } else {
            self.apply_now(entries)
        }
    }
    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.snapshots_built += 1;
        SnapshotBuilder {
            shared: self.shared.clone(),
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
        let inactive_name = if self.active.name() == b"sm_a".as_slice() { "sm_b" } else { "sm_a" };
        let db = self.disk.db.clone();
        let expected = meta.last_log_id;
        // Decoding and writing a large state takes seconds: do it off the
        // async threads so heartbeats keep flowing meanwhile.
        let (header, map, inactive, bytes) = tokio::task::spawn_blocking(move || {
            fill_tree(&db, inactive_name, &bytes, expected).map(|(h, m, t)| (h, m, t, bytes))
        })
        .await
        .map_err(|e| snap_err(verb, e))?
        .map_err(|e| snap_err(verb, e))?;
        tracing::info!(id = %meta.snapshot_id, keys = header.keys, "installing a snapshot");
        self.working = map;
        self.last_applied = header.last_applied;
        self.membership = header.membership.clone();
        self.last_stamp_ms = header.last_stamp_ms;
        self.disk
            .durability
            .sync()
            .await
            .map_err(|e| sm_err(verb, e))?;
        // The flip: from here on a restart loads the new state.
        self.raft_meta
            .insert(KEY_ACTIVE, inactive_name.as_bytes())
            .map_err(|e| sm_err(verb, e))?;
        self.disk
            .durability
            .sync()
            .await
            .map_err(|e| sm_err(verb, e))?;
        let old = std::mem::replace(&mut self.active, inactive);
        tokio::task::spawn_blocking(move || old.clear())
            .await
            .map_err(|e| sm_err(verb, e))?
            .map_err(|e| sm_err(verb, e))?;
        let shared = self.shared.clone();
        let file_meta = meta.clone();
        tokio::task::spawn_blocking(move || shared.store_snapshot_file(&file_meta, &bytes))
            .await
            .map_err(|e| snap_err(verb, e))?
            .map_err(|e| snap_err(verb, e))?;
        let view = self.publish();
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
        let found = tokio::task::spawn_blocking(move || shared.read_snapshot_file())
            .await
            .map_err(|e| snap_err(ErrorVerb::Read, e))?
            .map_err(|e| snap_err(ErrorVerb::Read, e))?;
        Ok(found.map(|(meta, bytes)| Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(bytes)),
        }))
    }
}
