//! A data dir's state machine applied directly, without Raft or a network:
//! for tools and benchmarks that measure the apply path on real sled
//! (`paddle bench engine`). Entries get consecutive indexes in one term;
//! each call is one apply batch, committed as one sled write, as a
//! follower applies a run of committed entries.

use std::path::Path;

use openraft::storage::RaftStateMachine;
use openraft::{CommittedLeaderId, Entry, EntryPayload, LogId};
use paddle_proto::Proposal;

use super::{LogStore, StateMachineStore};
use crate::app::Application;
use crate::types::TypeConfig;

/// The state machine of a data dir, applied by hand.
pub struct DirectApply {
    _log: LogStore,
    sm: StateMachineStore,
    index: u64,
}

impl DirectApply {
    /// Open (or create) the storage under `dir` with `app` as its machine.
    pub fn open(dir: &Path, app: Box<dyn Application>) -> Result<Self, String> {
        let (log, sm) = super::open(dir, app).map_err(|e| e.to_string())?;
        Ok(DirectApply {
            _log: log,
            sm,
            index: 0,
        })
    }

    /// Apply one log entry per proposal, all in one apply batch.
    pub async fn apply(&mut self, proposals: Vec<Proposal>) -> Result<(), String> {
        let entries: Vec<Entry<TypeConfig>> = proposals
            .into_iter()
            .map(|p| {
                self.index += 1;
                Entry {
                    log_id: LogId::new(CommittedLeaderId::new(1, 1), self.index),
                    payload: EntryPayload::Normal(p),
                }
            })
            .collect();
        self.sm
            .apply(entries)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}
