//! `paddle restore`: seed a new one-node cluster from a backup file.
//!
//! The new cluster gets a new CA, new tokens and a node id the old cluster
//! never used; its state is the backup's, and its log continues after the
//! backup's last index. Other machines then join it with the new token.

use std::path::Path;

use anyhow::{bail, Context};
use paddle_consensus::storage::seed;
use paddle_consensus::tls::{issue_identity, CaBundle};
use paddle_consensus::types::NodeAddr;
use paddle_proto::ClusterCommand;

use super::datadir::{DataDir, NodeInfo, Origin};
use super::registry;
use super::secrets::{self, JoinToken};

/// What a restore produced, for the operator.
pub struct Restored {
    pub node_id: u64,
    pub applied_index: u64,
    pub keys: u64,
    pub operator_token: String,
    pub join_token: String,
}

/// Seed `data_dir` from the backup at `from`.
pub fn restore(from: &Path, data_dir: &Path) -> anyhow::Result<Restored> {
    let bytes = std::fs::read(from).with_context(|| format!("cannot read {}", from.display()))?;
    let (_, old) = seed::read_backup(&bytes)
        .with_context(|| format!("{} is not a usable backup", from.display()))?;
    let dd = DataDir::new(data_dir);
    if !dd.is_empty() {
        bail!(
            "{} is not empty; restore only into a new, empty data dir",
            data_dir.display()
        );
    }
    let node_id = registry::next_node_id(&old);
    let cluster_id = secrets::random_secret()[..12].to_string();
    let ca = CaBundle::generate(&cluster_id)?;
    let identity = issue_identity(&ca, node_id)?;
    let operator_token = secrets::new_operator_token();
    let join = JoinToken::new(&ca.fingerprint()?);
    // The address is corrected on the first start, when the node knows
    // where it listens.
    let placeholder = NodeAddr {
        raft: "127.0.0.1:7080".into(),
        http: "127.0.0.1:8080".into(),
    };
    let header = seed::seed_from_snapshot(&dd.raft_dir(), &bytes, node_id, placeholder, |txn| {
        registry::apply(txn, &ClusterCommand::AllocateNodeId);
        registry::apply(
            txn,
            &ClusterCommand::SetOperatorTokenHash {
                hash: secrets::hash_token(&operator_token),
            },
        );
        registry::apply(
            txn,
            &ClusterCommand::SetJoinSecretHash {
                hash: join.secret_hash(),
            },
        );
    })?;
    dd.write_ca(&ca)?;
    dd.write_identity(&identity)?;
    dd.write_operator_token(&operator_token)?;
    dd.write_join_token(&join.to_string())?;
    dd.write_node_info(&NodeInfo {
        node_id,
        cluster_id,
        origin: Origin::Restore,
        setup_complete: true,
        removed: false,
        format: crate::cluster::datadir::NODE_FILE_FORMAT,
    })?;
    Ok(Restored {
        node_id,
        applied_index: header.last_applied.map(|l| l.index).unwrap_or(0),
        keys: header.keys,
        operator_token,
        join_token: join.to_string(),
    })
}
