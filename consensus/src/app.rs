//! The seam between agreement and meaning: the application's state machine.
//!
//! Consensus knows `Command` as a type, not what a bid is. The node hands in
//! an [`Application`]; consensus calls it for every committed command, in log
//! order, on every node, with the leader's stamp. Whatever it writes through
//! the [`KvTxn`] is committed atomically with the Raft bookkeeping of the
//! batch; only after that write does consensus call
//! [`Application::batch_committed`], so side effects (events pushed to
//! browsers) never get ahead of the disk.

use paddle_proto::{Command, Reply};

use crate::kv::{KvTxn, KvView};

/// One committed command as the application sees it.
#[derive(Debug, Clone, Copy)]
pub struct AppliedEntry<'a> {
    /// Raft log index of the entry holding this command.
    pub index: u64,
    /// Position of this command within its entry (entries batch commands).
    /// `(index, position)` orders every command ever applied.
    pub position: u32,
    /// Leader stamp in ms, made monotonic over the log (never smaller than
    /// the previous entry's).
    pub stamp_ms: u64,
    pub command: &'a Command,
}

/// The replicated state machine, implemented by the node (auction rules) or
/// by a test. Must be deterministic: a function of the state in the `KvTxn`
/// and the entry, with no clock, randomness or I/O.
pub trait Application: Send + 'static {
    /// Apply one committed command and say what the proposer should hear.
    fn apply(&mut self, txn: &mut KvTxn<'_>, entry: AppliedEntry<'_>) -> Reply;

    /// Every command of the apply batch has been applied; its writes go to
    /// storage, atomically, right after this. Write here what the
    /// application deferred across the batch's commands (a record several
    /// commands touched, once, with its final value).
    fn batch_ending(&mut self, txn: &mut KvTxn<'_>) {
        let _ = txn;
    }

    /// A batch of applies (ending at `view.applied_index()`) is now written to
    /// storage. Publish side effects of the batch here.
    fn batch_committed(&mut self, view: &KvView) {
        let _ = view;
    }

    /// The whole state was replaced or loaded (startup, snapshot install).
    /// Rebuild any cache from `view`.
    fn state_replaced(&mut self, view: &KvView) {
        let _ = view;
    }
}
