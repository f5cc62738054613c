//! Cluster facts kept in the replicated state: the next node id, the
//! hashes of the operator token and the join secret, and clerk tokens.

use paddle_consensus::{KvTxn, KvView};
use paddle_proto::{ClusterCommand, ClusterReply, Reply};

/// Tree of the replicated state holding cluster facts.
pub const CLUSTER_TREE: &str = "cluster";
const NEXT_NODE_ID: &[u8] = b"next_node_id";
const OPERATOR_HASH: &[u8] = b"operator_hash";
const JOIN_HASH: &[u8] = b"join_hash";
/// Prefix of `removed/<id BE>` keys.
const REMOVED: &[u8] = b"removed/";
/// Prefix of `clerk/<token hash hex>` keys (value: the clerk's label).
const CLERK: &[u8] = b"clerk/";
/// Hex digits of a token hash that name a clerk token (its public id).
pub const CLERK_ID_LEN: usize = 12;
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
        ClusterCommand::AddClerkToken { hash, label } => {
            txn.put(CLUSTER_TREE, &clerk_key(hash), label.as_bytes().to_vec());
            Reply::Cluster(ClusterReply::Done)
        }
        ClusterCommand::RevokeClerkToken { id } => {
            // An id shorter than CLERK_ID_LEN could match several tokens;
            // the API only sends whole ids, and a short one revokes nothing.
            if id.len() == CLERK_ID_LEN {
                let doomed: Vec<Vec<u8>> = txn
                    .scan(CLUSTER_TREE, &clerk_key(id))
                    .map(|(k, _)| k.to_vec())
                    .collect();
                for k in doomed {
                    txn.delete(CLUSTER_TREE, &k);
                }
            }
            Reply::Cluster(ClusterReply::Done)
        }
    }
}

fn clerk_key(hash_or_id: &str) -> Vec<u8> {
    let mut k = CLERK.to_vec();
    k.extend_from_slice(hash_or_id.as_bytes());
    k
}

/// The label of the clerk token with this SHA-256 hex hash, if accepted.
pub fn clerk_by_hash(view: &KvView, hash: &str) -> Option<String> {
    view.get(CLUSTER_TREE, &clerk_key(hash))
        .map(|v| String::from_utf8_lossy(&v).into_owned())
}

/// Every accepted clerk token as `(id, label)`, by id.
pub fn clerks(view: &KvView) -> Vec<(String, String)> {
    view.scan(CLUSTER_TREE, CLERK)
        .map(|(k, v)| {
            let hash = String::from_utf8_lossy(&k[CLERK.len()..]);
            (
                hash.chars().take(CLERK_ID_LEN).collect(),
                String::from_utf8_lossy(v).into_owned(),
            )
        })
        .collect()
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
