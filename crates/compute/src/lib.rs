//! The compute-node role: runs one ParaTime for its committee.
//!
//! A compute node is a full consensus node (it follows the chain through `atoll-engine`)
//! that also runs a ParaTime process through the runtime host. Per runtime round it:
//!
//! - keeps a **transaction pool** of runtime transactions checked by the runtime, gossiped
//!   to the other compute nodes ([`txpool`], [`p2p`]);
//! - if it is the round's proposer (rank 0, or rank `r` once `r × propose_batch_timeout`
//!   consensus blocks passed), **schedules** a batch (schedule mode), signs a proposal
//!   naming the transactions by hash and gossips it;
//! - as a worker, **executes** each acceptable proposal (fetching transactions it lacks
//!   from peers, checking the batch hash) and submits a signed **executor commitment** to
//!   the consensus layer as a `roothash.ExecutorCommit` transaction;
//! - as a backup worker, executes the scheduler's batch when the consensus layer reports a
//!   **discrepancy**;
//! - when a round is finalized, stores its write logs (its own, or fetched from peers and
//!   verified against the runtime block's roots) — [`storage`].
//!
//! The worker loop is in [`worker`]; [`ComputeHandle`] is what the node API uses.

mod admission;
pub mod blobs;
pub mod byzantine;
pub mod checkpoint;
mod courier;
mod executed;
pub mod executor;
#[cfg(test)]
mod fixtures;
mod gather;
mod journal;
mod machine;
pub mod p2p;
mod retention;
mod round;
mod served;
pub mod storage;
pub mod txpool;
mod worker;

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use atoll_consensus::Fee;
use atoll_engine::bft::NodeView;
use atoll_mkvs::MkvsError;
use atoll_runtime_host::host::{HostConfig, HostError};
use atoll_runtime_host::{CheckOutcome, ModuleFailure, TxOutcome};
use atoll_types::{Amount, Hash, Height, Round, RuntimeId, Signer};
use thiserror::Error;
use tokio::task::JoinHandle;

pub use byzantine::ByzantineMode;
pub use p2p::{P2p, P2pConfig};
pub use storage::{RoundWriteLogs, RuntimeStorage};
pub use txpool::{TxPool, TxPoolConfig, TxPoolError};

use executor::Executor;
use served::ServedProposals;

/// Why the compute role failed.
#[derive(Debug, Error)]
pub enum ComputeError {
    /// The runtime process failed.
    #[error(transparent)]
    Runtime(HostError),
    /// The runtime answered something unexpected.
    #[error("unexpected runtime response: {0}")]
    Unexpected(String),
    /// Runtime storage failed.
    #[error(transparent)]
    Storage(#[from] MkvsError),
    /// A runtime checkpoint could not be used.
    #[error("runtime checkpoint: {0}")]
    Checkpoint(#[from] atoll_mkvs::checkpoint::CheckpointError),
    /// The p2p network failed.
    #[error(transparent)]
    P2p(#[from] p2p::P2pError),
    /// The node no longer keeps the state of this round (it keeps a window of recent ones).
    #[error(
        "the state of round {round} is no longer kept (the earliest kept is round {earliest})"
    )]
    Pruned {
        /// The round asked for.
        round: u64,
        /// The earliest round whose state the node keeps.
        earliest: u64,
    },
    /// The consensus state could not be read.
    #[error("consensus state: {0}")]
    State(String),
    /// The runtime's TEE could not attest.
    #[error("TEE: {0}")]
    Tee(String),
    /// Something internal broke.
    #[error("internal: {0}")]
    Internal(String),
}

/// Why a runtime transaction was not accepted.
#[derive(Debug, Error)]
pub enum SubmitError {
    /// The runtime refused it.
    #[error("{} error {}: {}", .0.module, .0.code, .0.message)]
    Rejected(ModuleFailure),
    /// The pool refused it.
    #[error(transparent)]
    Pool(#[from] TxPoolError),
    /// The node could not check it.
    #[error(transparent)]
    Unavailable(#[from] ComputeError),
}

/// How to run the compute role.
#[derive(Clone, Debug)]
pub struct ComputeConfig {
    /// The runtime.
    pub runtime: RuntimeId,
    /// The ParaTime binary.
    pub binary: PathBuf,
    /// Arguments for the binary before `--socket <path>`.
    pub binary_args: Vec<String>,
    /// Where the runtime's state is stored (a file).
    pub storage_path: PathBuf,
    /// The runtime p2p network.
    pub p2p: P2pConfig,
    /// Transaction pool limits.
    pub txpool: TxPoolConfig,
    /// A runtime call with no sign of life for this long is a hang.
    pub call_timeout: Duration,
    /// How long the runtime process may take to start and connect.
    pub start_timeout: Duration,
    /// The fee of each commitment transaction.
    pub commit_fee: Fee,
    /// Test-only misbehaviour.
    pub byzantine: ByzantineMode,
    /// When the round's scheduler proposes an empty batch.
    pub empty_rounds: EmptyRounds,
    /// Keep the state and I/O of the last this many finalized rounds (`None`: all of them,
    /// an archive).
    pub retain_rounds: Option<u64>,
    /// More than this many rounds behind, restore the latest round's state from a peer's
    /// checkpoint instead of replaying every round (0: only when the rounds cannot be
    /// replayed any more — an archive keeps every round it can get).
    pub state_sync_behind: u64,
    /// For a runtime in a simulated TEE: its machine and collateral files.
    pub tee: Option<TeeFiles>,
}

/// Empty rounds: with nothing to do for `interval`, the round's first scheduler proposes an
/// empty batch (or, if it is down, the next one after its proposer timeouts, as for any
/// batch), so that the ParaTime's rounds (an EVM ParaTime's blocks) keep coming — a
/// client waiting for the block after its transaction's sees one — at most `limit` in a row
/// after the last round with transactions. The default: rounds happen only for
/// transactions and messages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EmptyRounds {
    /// Idle time before an empty round (`None`: never).
    pub interval: Option<Duration>,
    /// Most empty rounds in a row (`None`: no limit, an idle ParaTime's rounds go on).
    pub limit: Option<u32>,
}

impl EmptyRounds {
    /// Whether an empty round may still come after `streak` empty rounds in a row.
    pub(crate) fn may_come(&self, streak: u32) -> bool {
        self.interval.is_some() && self.limit.is_none_or(|limit| streak < limit)
    }
}

/// The files of a runtime's simulated TEE.
#[derive(Clone, Debug)]
pub struct TeeFiles {
    /// The simulated machine (its keys): read by the runtime process only; the node passes
    /// its path on (`ATOLL_TEE_SIMULATED_MACHINE`).
    pub machine: PathBuf,
    /// The collateral (the JSON a PCCS serves), which the node adds to each attestation;
    /// read again for every attestation, so renewed collateral is picked up.
    pub collateral: PathBuf,
}

impl ComputeConfig {
    /// Defaults for everything but the runtime, binary, storage and network.
    pub fn new(runtime: RuntimeId, binary: PathBuf, storage_path: PathBuf, p2p: P2pConfig) -> Self {
        Self {
            runtime,
            binary,
            binary_args: Vec::new(),
            storage_path,
            p2p,
            txpool: TxPoolConfig::default(),
            call_timeout: Duration::from_secs(30),
            start_timeout: Duration::from_secs(10),
            commit_fee: Fee { amount: Amount::new(100_000), gas: 100_000 },
            byzantine: ByzantineMode::Honest,
            empty_rounds: EmptyRounds::default(),
            retain_rounds: None,
            state_sync_behind: DEFAULT_STATE_SYNC_BEHIND,
            tee: None,
        }
    }
}

/// How far behind a compute node restores from a checkpoint rather than replaying, unless
/// configured otherwise.
pub const DEFAULT_STATE_SYNC_BEHIND: u64 = 1_000;

/// Recently finalized transactions, by hash (bounded).
#[derive(Default)]
struct RecentIndex {
    rounds: BTreeMap<Hash, Round>,
    order: VecDeque<Hash>,
}

const RECENT_INDEX: usize = 100_000;
/// Proposals (and other non-transaction gossip) waiting for the worker.
const WORKER_GOSSIP: usize = 256;
/// Rounds of write logs kept for peers.
const WRITE_LOG_CACHE: usize = 8;

impl RecentIndex {
    fn insert(&mut self, hash: Hash, round: Round) {
        if self.rounds.insert(hash, round).is_none() {
            self.order.push_back(hash);
        }
        while self.order.len() > RECENT_INDEX {
            if let Some(old) = self.order.pop_front() {
                self.rounds.remove(&old);
            }
        }
    }
}

/// What the worker, the p2p provider and the API share.
struct Shared {
    runtime: RuntimeId,
    node: NodeView,
    executor: Executor,
    pool: Mutex<TxPool>,
    index: Mutex<RecentIndex>,
    /// Proposals seen for the latest rounds (served to workers that missed them).
    proposals: Mutex<ServedProposals>,
    /// The write logs of the last rounds peers asked for.
    write_log_cache: Mutex<VecDeque<(Round, RoundWriteLogs)>>,
    mode: ByzantineMode,
    empty_rounds: EmptyRounds,
    /// Every transaction as it enters the pool (from the API or by gossip).
    pooled: tokio::sync::broadcast::Sender<Arc<Vec<u8>>>,
    /// Woken when a transaction enters the pool (an idle worker waits on it).
    pool_filled: tokio::sync::Notify,
    /// Results executed for rounds not stored yet, on disk.
    executed: executed::ExecutedResults,
    /// Which stored rounds are kept.
    retention: retention::Retention,
    /// The checkpoint last cut for peers.
    checkpoints: checkpoint::Served,
    /// See [`ComputeConfig::state_sync_behind`].
    state_sync_behind: u64,
    /// The runtime's simulated TEE, if it runs in one.
    tee: Option<TeeFiles>,
}

impl Shared {
    fn storage(&self) -> &Arc<RuntimeStorage> {
        self.executor.storage()
    }

    /// Tells the pool's subscribers that `raw` entered it (nobody listening is fine).
    fn announce_pooled(&self, raw: &[u8]) {
        self.pool_filled.notify_one();
        if self.pooled.receiver_count() > 0 {
            let _ = self.pooled.send(Arc::new(raw.to_vec()));
        }
    }

    /// Keeps `proposal` among those served to peers for `round`.
    fn remember_proposal(&self, round: Round, proposal: &p2p::Proposal) {
        if let Ok(mut known) = self.proposals.lock() {
            known.remember(round, proposal);
        }
    }

    /// Checks one runtime transaction against the latest stored state.
    async fn check(self: &Arc<Self>, raw: Vec<u8>) -> Result<CheckOutcome, ComputeError> {
        self.check_all(vec![raw])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| ComputeError::Unexpected("no check outcome".into()))
    }

    /// Checks transactions against the latest stored state, on a blocking thread (the
    /// checking runtime process), one outcome each.
    async fn check_all(
        self: &Arc<Self>,
        txs: Vec<Vec<u8>>,
    ) -> Result<Vec<CheckOutcome>, ComputeError> {
        let shared = self.clone();
        tokio::task::spawn_blocking(move || {
            let state = shared.storage().latest()?;
            shared.executor.check(state, txs)
        })
        .await
        .map_err(|e| ComputeError::Internal(e.to_string()))?
    }
}

impl p2p::Provider for Shared {
    fn transactions(&self, hashes: &[Hash]) -> Vec<Vec<u8>> {
        let Ok(pool) = self.pool.lock() else { return Vec::new() };
        hashes.iter().filter_map(|h| pool.get(h).map(<[u8]>::to_vec)).collect()
    }

    fn write_logs(&self, round: Round) -> Option<RoundWriteLogs> {
        // A round that fell out of the kept window is gone, whatever a cache still holds.
        if self.storage().earliest_round().is_ok_and(|earliest| round.0 < earliest) {
            return None;
        }
        // Lagging peers ask for the same recent rounds: keep the last few at hand.
        if let Ok(cache) = self.write_log_cache.lock() {
            if let Some((_, logs)) = cache.iter().find(|(r, _)| *r == round) {
                return Some(logs.clone());
            }
        }
        let Some(logs) = self.storage().write_logs(round).ok().flatten() else {
            // Not stored here: a result this node executed may be the finalized one (the
            // asking peer checks it against the block).
            return self.executed.of_round(round).into_iter().next();
        };
        if let Ok(mut cache) = self.write_log_cache.lock() {
            if cache.len() >= WRITE_LOG_CACHE {
                cache.pop_front();
            }
            cache.push_back((round, logs.clone()));
        }
        Some(logs)
    }

    fn blob(&self, id: &Hash, offset: u64) -> Option<atoll_runtime_host::BlobChunk> {
        self.executor.blobs().store().chunk(id, offset, blobs::PEER_CHUNK)
    }

    fn admits(&self, peer: &libp2p::PeerId) -> bool {
        let height = self.node.status().height;
        let Ok(tree) = state_at(&self.node, height) else { return false };
        let Ok(nodes) = atoll_consensus::registry::nodes(&tree) else { return false };
        nodes.iter().any(|node| {
            node.runtimes.iter().any(|r| r.id == self.runtime)
                && p2p::peer_id_of(&node.p2p_key).is_some_and(|id| id == *peer)
        })
    }

    fn checkpoint(&self, round: Round) -> Option<atoll_mkvs::checkpoint::Manifest> {
        self.checkpoints.manifest(self.storage(), round)
    }

    fn checkpoint_chunk(
        &self,
        round: Round,
        start: &[u8],
        end: Option<&[u8]>,
    ) -> Option<atoll_mkvs::RangeProof> {
        checkpoint::chunk(self.storage(), round, start, end)
    }

    fn proposals(&self, round: Round) -> Vec<p2p::Proposal> {
        self.proposals.lock().map(|known| known.of(round)).unwrap_or_default()
    }
}

/// The compute role of a running node, for the API.
#[derive(Clone)]
pub struct ComputeHandle {
    shared: Arc<Shared>,
    p2p: P2p,
}

/// Where a finalized runtime transaction ended up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxResult {
    /// The round.
    pub round: Round,
    /// Its outcome.
    pub outcome: TxOutcome,
}

/// How far back a transaction lookup searches stored rounds.
const LOOKUP_ROUNDS: usize = 1_000;

impl ComputeHandle {
    /// The runtime this node serves.
    pub fn runtime(&self) -> RuntimeId {
        self.shared.runtime
    }

    /// Whether the runtime runs in a (simulated) TEE.
    pub fn has_tee(&self) -> bool {
        self.shared.tee.is_some()
    }

    /// The answer of the runtime's known-answer test on this machine, for a runtime whose
    /// results are bit-exact only on some hardware (the node registers it).
    pub fn known_answer(&self) -> Option<Hash> {
        self.shared.executor.known_answer()
    }

    /// Stores `bytes` in the node's blob store (where the runtime and peers get them);
    /// returns their id, their SHA-256.
    pub async fn put_blob(
        &self,
        bytes: impl AsRef<[u8]> + Send + 'static,
    ) -> Result<Hash, blobs::BlobError> {
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || shared.executor.blobs().store().put(bytes.as_ref()))
            .await
            .map_err(|e| blobs::BlobError::Io(std::io::Error::other(e.to_string())))?
    }

    /// Whether blob `id` is in the node's blob store.
    pub fn has_blob(&self, id: &Hash) -> bool {
        self.shared.executor.blobs().store().contains(id)
    }

    /// An attestation of the runtime's enclave for `node` at consensus `height`: the
    /// enclave's public keys, evidence and signature, with the collateral from the
    /// configured file. Nothing secret passes through the node.
    pub async fn attest(
        &self,
        node: atoll_types::PublicKey,
        height: u64,
    ) -> Result<atoll_tee::Attestation, ComputeError> {
        let Some(files) = self.shared.tee.clone() else {
            return Err(ComputeError::Tee("the runtime is not configured with a TEE".into()));
        };
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || {
            let collateral = std::fs::read(&files.collateral).map_err(|e| {
                ComputeError::Tee(format!("collateral {}: {e}", files.collateral.display()))
            })?;
            atoll_tee::Collateral::dcap_json(&collateral)
                .map_err(|e| ComputeError::Tee(format!("{}: {e}", files.collateral.display())))?;
            let mut attestation = shared.executor.attest(node, height)?;
            attestation.collateral = collateral;
            Ok(attestation)
        })
        .await
        .map_err(|e| ComputeError::Internal(e.to_string()))?
    }

    /// Checks a runtime transaction through the runtime, adds it to the pool and gossips it.
    pub async fn submit(&self, raw: Vec<u8>) -> Result<Hash, SubmitError> {
        let outcome = self.shared.check(raw.clone()).await?;
        if let Some(failure) = outcome.error {
            return Err(SubmitError::Rejected(failure));
        }
        let hash = {
            let mut pool =
                self.shared.pool.lock().map_err(|_| ComputeError::Internal("pool lock".into()))?;
            let hash = pool.insert(raw.clone(), outcome.gas_price, pool_sender(&outcome))?;
            pool.set_local(&hash);
            hash
        };
        self.shared.announce_pooled(&raw);
        self.p2p.publish_transaction(raw);
        Ok(hash)
    }

    /// Transactions as they enter this node's pool, from its API or by gossip (a receiver
    /// that falls more than 4,096 behind misses some).
    pub fn pooled_transactions(&self) -> tokio::sync::broadcast::Receiver<Arc<Vec<u8>>> {
        self.shared.pooled.subscribe()
    }

    /// Whether a transaction waits in the pool.
    pub fn pending(&self, hash: &Hash) -> bool {
        self.shared.pool.lock().is_ok_and(|p| p.contains(hash))
    }

    /// Transactions in the pool.
    pub fn pool_len(&self) -> usize {
        self.shared.pool.lock().map_or(0, |p| p.len())
    }

    /// The round and outcome of a finalized transaction, if this node stores it.
    pub fn result(&self, hash: &Hash) -> Result<Option<TxResult>, ComputeError> {
        let known = self.shared.index.lock().ok().and_then(|i| i.rounds.get(hash).copied());
        let storage = self.shared.storage();
        // A round's I/O tree is stored just before its state: a result counts only once the
        // state it produced is there too (a query right after sees the transaction's effect).
        let stored = storage.latest()?.version;
        if let Some(round) = known.filter(|r| r.0 <= stored) {
            if let Some(outcome) = storage.outcome(round, hash)? {
                return Ok(Some(TxResult { round, outcome }));
            }
        }
        for round in
            storage.rounds()?.into_iter().rev().filter(|r| *r <= stored).take(LOOKUP_ROUNDS)
        {
            if let Some(outcome) = storage.outcome(Round(round), hash)? {
                return Ok(Some(TxResult { round: Round(round), outcome }));
            }
        }
        Ok(None)
    }

    /// Every transaction outcome of a finalized round this node stores.
    pub fn outcomes(&self, round: Round) -> Result<Vec<TxOutcome>, ComputeError> {
        Ok(self.shared.storage().outcomes(round)?)
    }

    /// The latest finalized round stored on this node.
    pub fn latest_round(&self) -> Result<Round, ComputeError> {
        Ok(Round(self.shared.storage().latest()?.version))
    }

    /// Finalized rounds from `from` on whose state and I/O this node stores, oldest first.
    pub fn stored_rounds(&self, from: u64) -> Result<Vec<u64>, ComputeError> {
        let storage = self.shared.storage();
        let stored = storage.latest()?.version;
        Ok(storage.rounds_between(from, stored)?)
    }

    /// The earliest round whose state this node keeps (0 on an archive node).
    pub fn earliest_round(&self) -> Result<u64, ComputeError> {
        Ok(self.shared.storage().earliest_round()?)
    }

    /// How many recent rounds this node keeps, if it does not keep them all.
    pub fn retain_rounds(&self) -> Option<u64> {
        self.shared.retention.rounds()
    }

    /// For a reader of the stored rounds (the Ethereum index): while the hold lives, the
    /// node prunes no round from the one it names on. One reader holds at a time.
    pub fn hold_rounds(&self) -> RoundsHold {
        RoundsHold { shared: self.shared.clone() }
    }

    /// The value of `key` in the runtime state of finalized round `round`, if stored.
    pub fn state_value(&self, round: u64, key: &[u8]) -> Result<Option<Vec<u8>>, ComputeError> {
        Ok(self.shared.storage().state_value(round, key)?)
    }

    /// Every transaction (its bytes) of finalized round `round` with its outcome, in hash
    /// order.
    pub fn round_transactions(
        &self,
        round: u64,
    ) -> Result<Vec<(Vec<u8>, TxOutcome)>, ComputeError> {
        Ok(self.shared.storage().transactions(Round(round))?)
    }

    /// The nonce `address`'s next transaction should carry given what waits in the pool,
    /// if the pool knows the sender.
    pub fn pool_next_nonce(&self, address: &atoll_types::Address) -> Option<u64> {
        self.shared.pool.lock().ok().and_then(|p| p.next_nonce(address))
    }

    /// Runs a runtime query against the state after finalized round `round` (the latest
    /// stored version at or before it), or the latest state if none.
    pub async fn query_at(
        &self,
        round: Option<u64>,
        method: String,
        args: Vec<u8>,
    ) -> Result<Vec<u8>, ComputeError> {
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || {
            let storage = shared.storage();
            let state = match round {
                Some(round) => {
                    let earliest = storage.earliest_round()?;
                    if round < earliest {
                        return Err(ComputeError::Pruned { round, earliest });
                    }
                    storage.state_at(round)?
                }
                None => storage.latest()?,
            };
            shared.executor.query(state, method, args)
        })
        .await
        .map_err(|e| ComputeError::Internal(e.to_string()))?
    }

    /// Runs a runtime query against the latest finalized state this node stores.
    pub async fn query(&self, method: String, args: Vec<u8>) -> Result<Vec<u8>, ComputeError> {
        self.query_at(None, method, args).await
    }
}

/// Keeps the node from pruning rounds a reader has not read yet; released when dropped.
pub struct RoundsHold {
    shared: Arc<Shared>,
}

impl RoundsHold {
    /// The reader still needs every round from `round` on.
    pub fn keep_from(&self, round: u64) {
        self.shared.retention.hold_from(round);
    }
}

impl Drop for RoundsHold {
    fn drop(&mut self) {
        self.shared.retention.release();
    }
}

/// A running compute role.
pub struct Compute {
    handle: ComputeHandle,
    tasks: Vec<JoinHandle<()>>,
}

impl Compute {
    /// The handle for the API.
    pub fn handle(&self) -> ComputeHandle {
        self.handle.clone()
    }

    /// Stops the worker and the p2p network and waits for them; the runtime process and
    /// the storage close with the last handle.
    pub async fn shutdown(self) {
        let Compute { handle, tasks } = self;
        drop(handle);
        for task in &tasks {
            task.abort();
        }
        for task in tasks {
            let _ = task.await;
        }
    }
}

/// Starts the compute role for `node`, signing commitments with `identity` (the node's
/// identity key, whose account pays the commitment fees).
pub fn start(
    config: ComputeConfig,
    node: NodeView,
    identity: Arc<dyn Signer + Send + Sync>,
) -> Result<Compute, ComputeError> {
    if config.byzantine != ByzantineMode::Honest {
        tracing::warn!(mode = %config.byzantine, "compute node runs in a BYZANTINE test mode");
    }
    let storage = Arc::new(RuntimeStorage::open(&config.storage_path, config.runtime)?);
    let host = HostConfig {
        binary: config.binary.clone(),
        args: config.binary_args.clone(),
        runtime_id: config.runtime,
        chain_context: node.chain_context(),
        call_timeout: config.call_timeout,
        start_timeout: config.start_timeout,
        max_restarts: 10,
        restart_window: Duration::from_secs(60),
        env: config
            .tee
            .iter()
            .map(|tee| {
                let machine = tee.machine.display().to_string();
                (atoll_tee::simulated::MACHINE_ENV.to_owned(), machine)
            })
            .collect(),
        socket_dir: config.storage_path.parent().map(|dir| dir.join("runtime-sockets")),
    };
    let blob_store = blobs::BlobStore::open(
        &config.storage_path.with_extension("blobs"),
        blobs::DEFAULT_CAPACITY,
    )
    .map_err(|e| ComputeError::Internal(e.to_string()))?;
    let blobs = Arc::new(blobs::Blobs::new(blob_store));
    let executor = Executor::start(host, storage, blobs.clone()).map_err(ComputeError::Runtime)?;
    let shared = Arc::new(Shared {
        runtime: config.runtime,
        node,
        executor,
        pool: Mutex::new(TxPool::new(config.txpool)),
        index: Mutex::new(RecentIndex::default()),
        proposals: Mutex::new(ServedProposals::default()),
        write_log_cache: Mutex::new(VecDeque::new()),
        mode: config.byzantine,
        empty_rounds: config.empty_rounds,
        pooled: tokio::sync::broadcast::channel(POOLED_ANNOUNCEMENTS).0,
        pool_filled: tokio::sync::Notify::new(),
        executed: executed::ExecutedResults::open(config.storage_path.with_extension("executed"))?,
        retention: retention::Retention::new(config.retain_rounds),
        checkpoints: checkpoint::Served::default(),
        state_sync_behind: config.state_sync_behind,
        tee: config.tee.clone(),
    });
    let (p2p, gossip, p2p_task) = p2p::start(config.runtime, config.p2p.clone(), shared.clone())?;
    blobs.connect(p2p.clone(), tokio::runtime::Handle::current());
    let journal = journal::Journal::open(config.storage_path.with_extension("journal"))?;
    let worker =
        worker::Worker::new(shared.clone(), p2p.clone(), identity, config.commit_fee, journal)?;
    // Transactions are admitted on their own task; proposals go on to the worker.
    let (to_worker, worker_gossip) = tokio::sync::mpsc::channel(WORKER_GOSSIP);
    let admission_task =
        tokio::spawn(admission::run(shared.clone(), p2p.clone(), gossip, to_worker));
    let worker_task = tokio::spawn(worker.run(worker_gossip));
    let regossip_task = tokio::spawn(regossip(shared.clone(), p2p.clone()));
    Ok(Compute {
        handle: ComputeHandle { shared, p2p },
        tasks: vec![p2p_task, admission_task, worker_task, regossip_task],
    })
}

/// Pool entries announced to subscribers that have not read them yet, at most.
const POOLED_ANNOUNCEMENTS: usize = 4096;

/// How long a pooled transaction waits before this node gossips it again.
const REGOSSIP_AFTER: Duration = Duration::from_secs(5);
/// Transactions gossiped again per second at most.
const REGOSSIP_MAX: usize = 500;

/// Gossips transactions clients submitted to this node again while they stay pending in its
/// pool: gossip is best effort (a
/// congested peer's send queue drops messages), and a transaction lost on the way leaves a
/// gap in its sender's nonces on the nodes that missed it.
async fn regossip(shared: Arc<Shared>, p2p: P2p) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let due = match shared.pool.lock() {
            Ok(mut pool) => {
                let now = std::time::Instant::now();
                pool.expire(now);
                pool.due_for_gossip(now, REGOSSIP_AFTER, REGOSSIP_MAX)
            }
            Err(_) => return,
        };
        for raw in due {
            p2p.publish_transaction(raw);
        }
    }
}

/// The pool's view of a checked transaction's sender.
fn pool_sender(outcome: &CheckOutcome) -> Option<txpool::Sender> {
    outcome.sender.map(|(address, nonce)| txpool::Sender {
        address,
        nonce,
        account_nonce: outcome.account_nonce,
        fee: outcome.fee.base_units(),
        balance: outcome.balance.base_units(),
    })
}

/// The consensus state after `height`.
fn state_at(node: &NodeView, height: u64) -> Result<atoll_mkvs::Tree<'_>, ComputeError> {
    node.state().tree_at(Height(height)).map_err(|e| ComputeError::State(e.to_string()))
}
