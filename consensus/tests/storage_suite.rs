//! openraft's storage conformance suite against the sled stores.

use openraft::testing::{StoreBuilder, Suite};
use paddle_consensus::probe::ProbeApp;
use paddle_consensus::storage::{self, LogStore, StateMachineStore};
use paddle_consensus::types::typ::StorageError;
use paddle_consensus::types::TypeConfig;

struct SledBuilder;

impl StoreBuilder<TypeConfig, LogStore, StateMachineStore, tempfile::TempDir> for SledBuilder {
    async fn build(
        &self,
    ) -> Result<(tempfile::TempDir, LogStore, StateMachineStore), StorageError> {
        let dir = tempfile::tempdir().expect("temp dir");
        let (log, sm) = storage::open(dir.path(), Box::new(ProbeApp))?;
        Ok((dir, log, sm))
    }
}

#[test]
fn sled_stores_pass_the_openraft_suite() -> Result<(), StorageError> {
    Suite::test_all(SledBuilder)
}
