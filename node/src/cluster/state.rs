//! Cluster facts kept in the replicated state: the next node id and the
//! hashes of the operator token and the join secret.

use paddle_consensus::{KvTxn, KvView};
use paddle_proto::{ClusterCommand, ClusterReply, Reply};

/// Tree of the replicated state holding cluster facts.
pub const CLUSTER_TREE: &str = "cluster";
const NEXT_NODE_ID: &[u8] = b"next_node_id";
const OPERATOR_HASH: &[u8] = b"operator_hash";
const JOIN_HASH: &[u8] = b"join_hash";
/// Prefix of `removed/<id BE>` keys.
const REMOVED: &[u8] = b"removed/";
/// The bootstrap node is 1; joiners count from 2.
const FIRST_JOINER_ID: u64 = 2;

/// Apply one cluster command.
pub fn apply(txn: &mut KvTxn<'_>, cmd: &ClusterCommand) -> Reply {
    match cmd {
        ClusterCommand::AllocateNodeId => {
            let id = txn
                .get(CLUSTER_TREE, NEXT_NODE_ID)
                .map(|v| u64::from_be_bytes(v[..8].try_into().expect("8 bytes")))
                .unwrap_or(FIRST_JOINER_ID);
            txn.put(CLUSTER_TREE, NEXT_NODE_ID, (id + 1).to_be_bytes().to_vec());
            Reply::Cluster(ClusterReply::NodeId(id))
        }
        ClusterCommand::SetOperatorTokenHash { hash } => {
            txn.put(CLUSTER_TREE, OPERATOR_HASH, hash.as_bytes().to_vec());
            Reply::Cluster(ClusterReply::Done)
        }
        ClusterCommand::SetJoinSecretHash { hash } => {
            txn.put(CLUSTER_TREE, JOIN_HASH, hash.as_bytes().to_vec());
            Reply::Cluster(ClusterReply::Done)
        }
        ClusterCommand::MarkRemoved { node_id } => {
            txn.put(CLUSTER_TREE, &removed_key(*node_id), Vec::new());
            Reply::Cluster(ClusterReply::Done)
        }
    }
}

fn removed_key(id: u64) -> Vec<u8> {
    let mut k = REMOVED.to_vec();
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// True when `id` was removed from the cluster (ids are never reused).
pub fn is_removed(view: &KvView, id: u64) -> bool {
    view.get(CLUSTER_TREE, &removed_key(id)).is_some()
}

fn text(view: &KvView, key: &[u8]) -> Option<String> {
    view.get(CLUSTER_TREE, key)
        .map(|v| String::from_utf8_lossy(&v).into_owned())
}

/// The replicated hash of the operator token, once set.
pub fn operator_hash(view: &KvView) -> Option<String> {
    text(view, OPERATOR_HASH)
}

/// The replicated hash of the join secret, once set.
pub fn join_hash(view: &KvView) -> Option<String> {
    text(view, JOIN_HASH)
}

/// The id the next joining node will get.
pub fn next_node_id(view: &KvView) -> u64 {
    view.get(CLUSTER_TREE, NEXT_NODE_ID)
        .map(|v| u64::from_be_bytes(v[..8].try_into().expect("8 bytes")))
        .unwrap_or(FIRST_JOINER_ID)
}
