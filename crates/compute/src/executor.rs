//! Calls into the ParaTime process: the runtime host behind a lock, answering its state
//! reads from the node's runtime storage. Calls block, so async callers go through
//! `spawn_blocking`.

use std::sync::{Arc, Mutex};

use atoll_runtime_host::host::{HostConfig, HostError, RuntimeHost};
use atoll_runtime_host::{
    CheckOutcome, ExecuteBatch, ExecuteResult, HostRequest, HostResponse, StateRoot,
};

use crate::storage::RuntimeStorage;
use crate::ComputeError;

/// The runtime process and the state it reads.
pub struct Executor {
    host: Mutex<RuntimeHost>,
    storage: Arc<RuntimeStorage>,
}

impl Executor {
    /// Starts the runtime binary.
    pub fn start(config: HostConfig, storage: Arc<RuntimeStorage>) -> Result<Self, HostError> {
        Ok(Self { host: Mutex::new(RuntimeHost::start(config)?), storage })
    }

    /// The runtime's state on this node.
    pub fn storage(&self) -> &Arc<RuntimeStorage> {
        &self.storage
    }

    fn call(&self, request: HostRequest) -> Result<HostResponse, ComputeError> {
        let mut host = self.host.lock().map_err(|_| ComputeError::Internal("host lock".into()))?;
        host.call(request, self.storage.store().db()).map_err(ComputeError::Runtime)
    }

    /// Executes (or schedules) a batch.
    pub fn execute(&self, batch: ExecuteBatch) -> Result<ExecuteResult, ComputeError> {
        match self.call(HostRequest::ExecuteBatch(batch))? {
            HostResponse::ExecuteBatch(result) => Ok(result),
            other => Err(ComputeError::Unexpected(format!("{other:?}"))),
        }
    }

    /// Checks transactions against `state`.
    pub fn check(
        &self,
        state: StateRoot,
        txs: Vec<Vec<u8>>,
    ) -> Result<Vec<CheckOutcome>, ComputeError> {
        match self.call(HostRequest::CheckTx { state, txs })? {
            HostResponse::CheckTx(outcomes) => Ok(outcomes),
            other => Err(ComputeError::Unexpected(format!("{other:?}"))),
        }
    }

    /// Runs a query against `state`.
    pub fn query(
        &self,
        state: StateRoot,
        method: String,
        args: Vec<u8>,
    ) -> Result<Vec<u8>, ComputeError> {
        match self.call(HostRequest::Query { state, method, args })? {
            HostResponse::Query(bytes) => Ok(bytes),
            other => Err(ComputeError::Unexpected(format!("{other:?}"))),
        }
    }
}
