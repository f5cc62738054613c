//! The node's replicated state machine: routes each committed command to
//! the part of the node that owns it.

use paddle_consensus::probe::apply_probe;
use paddle_consensus::{Application, AppliedEntry, KvTxn};
use paddle_proto::{Command, Reply};

use crate::cluster::state as cluster_state;

/// Everything a node applies: auction commands, cluster facts, probes.
#[derive(Default)]
pub struct NodeMachine {}

impl NodeMachine {
    pub fn new() -> Self {
        NodeMachine {}
    }
}

impl Application for NodeMachine {
    fn apply(&mut self, txn: &mut KvTxn<'_>, entry: AppliedEntry<'_>) -> Reply {
        match entry.command {
            Command::Probe(p) => apply_probe(txn, entry.index, p),
            Command::Cluster(c) => cluster_state::apply(txn, c),
            Command::Auction(a) => match *a {},
        }
    }
}
