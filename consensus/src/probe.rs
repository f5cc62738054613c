//! The smallest useful application: it records probes.
//!
//! Consensus is tested and benchmarked without the auction rules through
//! this state machine. A probe `(writer, seq)` is stored once; a repeat
//! returns the index of the first. The node's real application handles
//! probes the same way (see `paddle-node`), so the history checker of the
//! cluster tests runs against real nodes.

use paddle_proto::{Command, Reply};

use crate::app::{Application, AppliedEntry};
use crate::kv::KvTxn;

/// Tree holding probes: key `writer BE ++ seq BE`, value `index BE ++ payload`.
pub const PROBE_TREE: &str = "probe";

/// Record one probe; shared by every application that accepts probes.
pub fn apply_probe(txn: &mut KvTxn<'_>, index: u64, probe: &paddle_proto::Probe) -> Reply {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&probe.writer.to_be_bytes());
    key[8..].copy_from_slice(&probe.seq.to_be_bytes());
    if let Some(existing) = txn.get(PROBE_TREE, &key) {
        let first = u64::from_be_bytes(existing[..8].try_into().expect("8 bytes"));
        return Reply::Probe { first_index: first };
    }
    let mut value = Vec::with_capacity(8 + probe.payload.len());
    value.extend_from_slice(&index.to_be_bytes());
    value.extend_from_slice(&probe.payload);
    txn.put(PROBE_TREE, &key, value);
    Reply::Probe { first_index: index }
}

/// An application that understands probes only; other commands get
/// `Reply::None` and change nothing.
#[derive(Debug, Default)]
pub struct ProbeApp;

impl Application for ProbeApp {
    fn apply(&mut self, txn: &mut KvTxn<'_>, entry: AppliedEntry<'_>) -> Reply {
        match entry.command {
            Command::Probe(p) => apply_probe(txn, entry.index, p),
            _ => Reply::None,
        }
    }
}
