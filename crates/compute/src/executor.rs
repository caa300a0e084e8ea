//! Calls into the ParaTime: two processes of it, each behind its own lock, answering their
//! state reads from the node's runtime storage. One executes batches and nothing else; the
//! other checks transactions and answers queries, so a flood of gossiped transactions
//! never makes a round's execution wait. Calls block, so async callers go through
//! `spawn_blocking`. While it serves a call, the runtime may ask for blobs (see
//! [`crate::blobs`]).

use std::sync::{Arc, Mutex};

use atoll_runtime_host::host::{HostConfig, HostError, NodeSource, RuntimeHost};
use atoll_runtime_host::{
    BlobChunk, CheckOutcome, ExecuteBatch, ExecuteResult, HostRequest, HostResponse, StateRoot,
};

use crate::blobs::Blobs;
use crate::storage::RuntimeStorage;
use crate::ComputeError;

/// What the runtime reads while it serves a request: state-tree nodes from storage,
/// blobs from the blob store (and peers).
struct Sources<'a, D> {
    db: &'a D,
    blobs: &'a Blobs,
}

impl<D: atoll_mkvs::NodeDb> NodeSource for Sources<'_, D> {
    fn node(&self, id: atoll_mkvs::node::NodeId) -> Option<Vec<u8>> {
        NodeSource::node(self.db, id)
    }

    fn blob(&self, id: &atoll_types::Hash, offset: u64) -> Option<BlobChunk> {
        self.blobs.for_runtime(id, offset)
    }
}

/// The runtime process and the state it reads.
pub struct Executor {
    /// Executes batches only.
    execution: Mutex<RuntimeHost>,
    /// Checks transactions and answers queries.
    checks: Mutex<RuntimeHost>,
    storage: Arc<RuntimeStorage>,
    /// The blobs the runtime may ask for.
    blobs: Arc<Blobs>,
    /// The known answer the executing process reported at start (the same binary on the
    /// same machine gives the same answer after a restart).
    known_answer: Option<atoll_types::Hash>,
}

impl Executor {
    /// Starts the runtime binary twice: one process for execution, one for checks.
    pub fn start(
        config: HostConfig,
        storage: Arc<RuntimeStorage>,
        blobs: Arc<Blobs>,
    ) -> Result<Self, HostError> {
        let execution = RuntimeHost::start(config.clone())?;
        let known_answer = execution.info().and_then(|info| info.known_answer);
        Ok(Self {
            execution: Mutex::new(execution),
            checks: Mutex::new(RuntimeHost::start(config)?),
            storage,
            blobs,
            known_answer,
        })
    }

    /// The process ids of the execution and the checking runtime.
    pub fn pids(&self) -> (Option<u32>, Option<u32>) {
        let pid = |host: &Mutex<RuntimeHost>| host.lock().ok().and_then(|h| h.pid());
        (pid(&self.execution), pid(&self.checks))
    }

    /// The answer of the runtime's known-answer test, as its executing process reported it
    /// in the handshake (`None` for a runtime without one).
    pub fn known_answer(&self) -> Option<atoll_types::Hash> {
        self.known_answer
    }

    /// The runtime's state on this node.
    pub fn storage(&self) -> &Arc<RuntimeStorage> {
        &self.storage
    }

    fn call(
        &self,
        host: &Mutex<RuntimeHost>,
        request: HostRequest,
    ) -> Result<HostResponse, ComputeError> {
        let mut host = host.lock().map_err(|_| ComputeError::Internal("host lock".into()))?;
        let sources = Sources { db: self.storage.store().db(), blobs: &self.blobs };
        host.call(request, &sources).map_err(ComputeError::Runtime)
    }

    /// The blobs the runtime may ask for.
    pub fn blobs(&self) -> &Arc<Blobs> {
        &self.blobs
    }

    /// Executes (or schedules) a batch.
    pub fn execute(&self, batch: ExecuteBatch) -> Result<ExecuteResult, ComputeError> {
        match self.call(&self.execution, HostRequest::ExecuteBatch(batch))? {
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
        match self.call(&self.checks, HostRequest::CheckTx { state, txs })? {
            HostResponse::CheckTx(outcomes) => Ok(outcomes),
            other => Err(ComputeError::Unexpected(format!("{other:?}"))),
        }
    }

    /// The enclave's attestation for `node` at consensus `height` (from the checking
    /// process: both derive the same keys, and execution is not held up).
    pub fn attest(
        &self,
        node: atoll_types::PublicKey,
        height: u64,
    ) -> Result<atoll_tee::Attestation, ComputeError> {
        match self.call(&self.checks, HostRequest::Attest { node, height })? {
            HostResponse::Attestation(attestation) => Ok(*attestation),
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
        match self.call(&self.checks, HostRequest::Query { state, method, args })? {
            HostResponse::Query(bytes) => Ok(bytes),
            other => Err(ComputeError::Unexpected(format!("{other:?}"))),
        }
    }
}
