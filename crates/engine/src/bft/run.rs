//! Starting a node: open the data directory, initialise genesis, start the engine (network,
//! WAL, sync, consensus) and the application loop.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use atoll_consensus::{transaction_hash, CheckedTx, ConsensusState, Genesis, StateError};
use atoll_mkvs::{Mkvs, RedbNodeDb};
use atoll_types::{ChainContext, Hash, Signer};
use bytes::Bytes;
use bytesize::ByteSize;
use malachitebft_app_channel::app::config::{
    ConsensusConfig, NodeConfig as MalachiteNodeConfig, P2pConfig, ValueSyncConfig,
};
use malachitebft_app_channel::app::net::Multiaddr;
use malachitebft_app_channel::app::types::codec::Codec;
use malachitebft_app_channel::app::types::core::LinearTimeouts;
use malachitebft_app_channel::app::types::Keypair;
use malachitebft_app_channel::{
    ByzantineContext, ConsensusContext, EngineBuilder, NetworkContext, NetworkIdentity,
    NetworkRequest, RequestContext, Signer as _, SyncContext, WalContext,
};
use malachitebft_engine_byzantine::{ByzantineConfig, Trigger};
use thiserror::Error;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::app::{App, ChainStatus, Pacing};
use super::chain::{Chain, ChainError, Pruning, MAX_ENCODED_BLOCK};
use super::codec::WireCodec;
use super::context::{default_timeouts, AtollContext, ValidatorAddress};
use super::metrics::EngineMetrics;
use super::signing::ConsensusSigner;
use crate::finality::{FinalityClock, FinalitySummary};
use crate::gossip::{TxGossip, Verdict};
use crate::mempool::{Mempool, MempoolConfig, MempoolError};
use crate::store::BlockStore;

/// The largest value-sync response: one whole block, its commit certificate and framing.
/// Responses hold as many decided blocks as fit, and always at least one.
pub const MAX_SYNC_RESPONSE: usize = MAX_ENCODED_BLOCK + (2 << 20);

/// Everything a node needs to start.
pub struct EngineConfig {
    /// Name in logs and metrics.
    pub moniker: String,
    /// Data directory (state, blocks, WAL).
    pub data_dir: PathBuf,
    /// The genesis document.
    pub genesis: Genesis,
    /// The consensus key. A validator votes with it; a full node only names itself by it.
    pub consensus_key: Arc<dyn Signer + Send + Sync>,
    /// Whether this node votes (when its key is in the validator set).
    pub validator: bool,
    /// Seed of the libp2p identity key.
    pub p2p_seed: [u8; 32],
    /// Where to listen for peers (`host:port`).
    pub listen: String,
    /// Peers to stay connected to (`host:port`).
    pub persistent_peers: Vec<String>,
    /// Where to listen for transaction gossip (`host:port`); `None` turns gossip off.
    pub gossip_listen: Option<String>,
    /// Other nodes' transaction gossip addresses (`host:port`).
    pub gossip_peers: Vec<String>,
    /// Consensus timeouts.
    pub timeouts: LinearTimeouts,
    /// The shortest time from the start of a height to its finalization (late precommits
    /// are collected meanwhile); `None` moves on as soon as a block is decided.
    pub target_block_time: Option<Duration>,
    /// With nothing to include, a proposer waits up to this long after the previous block
    /// (and never past three quarters of its propose timeout) for a transaction before it
    /// proposes an empty block; `None` proposes at once.
    pub empty_block_interval: Option<Duration>,
    /// The mempool.
    pub mempool: MempoolConfig,
    /// History to keep.
    pub pruning: Pruning,
    /// How often sync status is exchanged with peers.
    pub sync_status_interval: Duration,
    /// Test-only misbehaviour.
    pub byzantine: Option<ByzantineMode>,
}

/// Faults a node can be told to commit, to test that the network survives and punishes
/// them. Never set on a real validator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByzantineMode {
    /// Sign a second, conflicting vote for every vote from this height on.
    DoubleSign {
        /// The first height at which to equivocate.
        from_height: u64,
    },
}

impl EngineConfig {
    /// A configuration with default timeouts, mempool and pruning.
    pub fn new(
        moniker: &str,
        data_dir: PathBuf,
        genesis: Genesis,
        consensus_key: Arc<dyn Signer + Send + Sync>,
        p2p_seed: [u8; 32],
        listen: &str,
    ) -> Self {
        Self {
            moniker: moniker.to_owned(),
            data_dir,
            genesis,
            consensus_key,
            validator: true,
            p2p_seed,
            listen: listen.to_owned(),
            persistent_peers: Vec::new(),
            gossip_listen: None,
            gossip_peers: Vec::new(),
            timeouts: default_timeouts(),
            target_block_time: None,
            empty_block_interval: None,
            mempool: MempoolConfig::default(),
            pruning: Pruning::KEEP_ALL,
            sync_status_interval: Duration::from_secs(2),
            byzantine: None,
        }
    }
}

/// Why a node could not start.
#[derive(Debug, Error)]
pub enum StartError {
    /// The data directory could not be prepared.
    #[error("data directory {0}: {1}")]
    DataDir(PathBuf, String),
    /// The genesis document is invalid or does not match the stored chain.
    #[error("genesis: {0}")]
    Genesis(String),
    /// A listen or peer address is not `host:port`.
    #[error("address {0:?}: {1}")]
    Address(String, String),
    /// The engine failed to start.
    #[error("engine: {0}")]
    Engine(String),
    /// The chain's data could not be opened.
    #[error(transparent)]
    Chain(#[from] super::chain::ChainError),
}

/// The engine's configuration, in the form its builder reads.
struct MalachiteConfig {
    moniker: String,
    consensus: ConsensusConfig,
    value_sync: ValueSyncConfig,
}

impl MalachiteNodeConfig for MalachiteConfig {
    fn moniker(&self) -> &str {
        &self.moniker
    }

    fn consensus(&self) -> &ConsensusConfig {
        &self.consensus
    }

    fn consensus_mut(&mut self) -> &mut ConsensusConfig {
        &mut self.consensus
    }

    fn value_sync(&self) -> &ValueSyncConfig {
        &self.value_sync
    }

    fn value_sync_mut(&mut self) -> &mut ValueSyncConfig {
        &mut self.value_sync
    }
}

/// `host:port` as a TCP multiaddress (IPv4, IPv6 or DNS name).
pub fn to_multiaddr(address: &str) -> Result<Multiaddr, StartError> {
    let bad = |why: &str| StartError::Address(address.to_owned(), why.to_owned());
    let (host, port) = address.rsplit_once(':').ok_or_else(|| bad("expected host:port"))?;
    let port: u16 = port.parse().map_err(|_| bad("bad port"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let text = match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => format!("/ip4/{ip}/tcp/{port}"),
        Ok(std::net::IpAddr::V6(ip)) => format!("/ip6/{ip}/tcp/{port}"),
        Err(_) if !host.is_empty() => format!("/dns/{host}/tcp/{port}"),
        Err(_) => return Err(bad("empty host")),
    };
    text.parse().map_err(|_| bad("not a valid address"))
}

fn engine_err(e: impl std::fmt::Display) -> StartError {
    StartError::Engine(format!("{e:#}"))
}

fn unavailable(reason: impl std::fmt::Display) -> MempoolError {
    MempoolError::State(StateError::Corrupt { key: String::new(), reason: reason.to_string() })
}

/// What the rest of the node (the API, tools) may use of a running node; cheap to clone.
#[derive(Clone)]
pub struct NodeView {
    chain_context: ChainContext,
    status: watch::Receiver<ChainStatus>,
    state: Arc<ConsensusState<RedbNodeDb>>,
    store: Arc<BlockStore>,
    mempool: Arc<Mutex<Mempool>>,
    finality: Arc<FinalityClock>,
    gossip: Option<TxGossip>,
    net_requests: mpsc::Sender<NetworkRequest>,
    /// Held while the node numbers and admits a transaction of its own key (see
    /// [`NodeView::submit_own`]).
    own_nonces: Arc<Mutex<()>>,
}

/// A running node.
pub struct NodeHandle {
    view: NodeView,
    gossip_tasks: Vec<JoinHandle<()>>,
    engine: malachitebft_app_channel::EngineHandle,
    /// The application loop, until [`NodeHandle::stopped`] has seen it end.
    app: Option<JoinHandle<Result<(), ChainError>>>,
}

/// The fewest transactions of a batch worth a thread of their own.
const MIN_CHECKS_PER_THREAD: usize = 16;

/// Admits a batch (of one or more) against one version of the latest state: the checks
/// (signatures included) run before the mempool lock is taken, split over the machine's
/// cores, then one lock for every insertion, in the batch's order (so a sender's
/// consecutive nonces follow each other).
fn admit_batch(
    state: &ConsensusState<RedbNodeDb>,
    mempool: &Mutex<Mempool>,
    raws: Vec<Vec<u8>>,
) -> Vec<Result<Hash, MempoolError>> {
    let prepared = (|| {
        let root = state.latest().map_err(unavailable)?.ok_or_else(|| unavailable("no state"))?;
        let pool = mempool.lock().map_err(|_| unavailable("mempool lock poisoned"))?;
        let held: Vec<bool> =
            raws.iter().map(|raw| pool.contains(&transaction_hash(raw))).collect();
        Ok::<_, MempoolError>((root, pool.config(), held))
    })();
    let (root, config, held) = match prepared {
        Ok(prepared) => prepared,
        Err(e) => {
            let message = e.to_string();
            return raws.iter().map(|_| Err(unavailable(&message))).collect();
        }
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(raws.len() / MIN_CHECKS_PER_THREAD)
        .max(1);
    let checks: Vec<Result<CheckedTx, MempoolError>> = if threads == 1 {
        check_batch(state, &root, &config, &raws, &held)
    } else {
        let chunk = raws.len().div_ceil(threads);
        let (root, config) = (&root, &config);
        std::thread::scope(|scope| {
            let workers: Vec<_> = raws
                .chunks(chunk)
                .zip(held.chunks(chunk))
                .map(|(part, held)| {
                    let worker = scope.spawn(move || check_batch(state, root, config, part, held));
                    (part.len(), worker)
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|(len, worker)| {
                    worker.join().unwrap_or_else(|_| {
                        (0..len).map(|_| Err(unavailable("a check thread failed"))).collect()
                    })
                })
                .collect()
        })
    };
    let tree = match state.store().tree(&root) {
        Ok(tree) => tree,
        Err(e) => return raws.iter().map(|_| Err(unavailable(&e))).collect(),
    };
    let Ok(mut pool) = mempool.lock() else {
        return raws.iter().map(|_| Err(unavailable("mempool lock poisoned"))).collect();
    };
    raws.into_iter()
        .zip(checks)
        .map(|(raw, checked)| pool.insert_checked(&tree, raw, checked?))
        .collect()
}

/// Checks `raws` against `root`, their signatures in one batch (already held ones are
/// duplicates, not verified again); each thread reads through a tree of its own.
fn check_batch(
    state: &ConsensusState<RedbNodeDb>,
    root: &atoll_mkvs::Root,
    config: &MempoolConfig,
    raws: &[Vec<u8>],
    held: &[bool],
) -> Vec<Result<CheckedTx, MempoolError>> {
    let tree = match state.store().tree(root) {
        Ok(tree) => tree,
        Err(e) => return raws.iter().map(|_| Err(unavailable(&e))).collect(),
    };
    let fresh: Vec<Vec<u8>> =
        raws.iter().zip(held).filter(|(_, held)| !**held).map(|(raw, _)| raw.clone()).collect();
    let mut checked = Mempool::check_many(config, &tree, &fresh).into_iter();
    held.iter()
        .map(|held| match (held, checked.next()) {
            (true, _) => Err(MempoolError::Duplicate),
            (false, Some(result)) => result,
            (false, None) => Err(unavailable("a check went missing")),
        })
        .collect()
}

/// Blocks a client's transaction waits before this node gossips it again.
const REGOSSIP_AFTER_BLOCKS: u64 = 10;
/// Transactions gossiped again per second at most.
const REGOSSIP_MAX: usize = 500;

/// Gossips again, every second, the clients' transactions still waiting
/// [`REGOSSIP_AFTER_BLOCKS`] after they were last gossiped (`Mempool::due_for_gossip`).
async fn regossip(mempool: Arc<Mutex<Mempool>>, gossip: TxGossip) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let due = match mempool.lock() {
            Ok(mut mempool) => mempool.due_for_gossip(REGOSSIP_AFTER_BLOCKS, REGOSSIP_MAX),
            Err(_) => return,
        };
        for raw in due {
            gossip.publish(raw);
        }
    }
}

/// Whether a transaction admission refused is invalid in itself (the sending peer is at
/// fault) or only not wanted here now.
fn gossip_verdict(error: &MempoolError) -> Verdict {
    match error {
        MempoolError::Rejected(e) if e.module == "core" && matches!(e.code, 1..=3) => {
            Verdict::Reject
        }
        _ => Verdict::Ignore,
    }
}

impl NodeView {
    /// The chain this node follows.
    pub fn chain_context(&self) -> ChainContext {
        self.chain_context
    }

    /// The latest status.
    pub fn status(&self) -> ChainStatus {
        self.status.borrow().clone()
    }

    /// A receiver that sees every status change.
    pub fn subscribe(&self) -> watch::Receiver<ChainStatus> {
        self.status.clone()
    }

    /// The consensus state (read-only use).
    pub fn state(&self) -> &Arc<ConsensusState<RedbNodeDb>> {
        &self.state
    }

    /// The block store.
    pub fn blocks(&self) -> &Arc<BlockStore> {
        &self.store
    }

    /// Admits a transaction to the mempool after checking it against the latest state, and
    /// gossips it to the other nodes.
    pub fn submit(&self, raw: Vec<u8>) -> Result<Hash, MempoolError> {
        self.submit_batch(vec![raw]).pop().unwrap_or_else(|| Err(unavailable("no answer")))
    }

    /// Submits a batch of signed transactions (checked on every core, then admitted in
    /// order under one mempool lock): each one's hash, or why it was refused.
    pub fn submit_batch(&self, raws: Vec<Vec<u8>>) -> Vec<Result<Hash, MempoolError>> {
        let copies = self.gossip.as_ref().map(|_| raws.clone());
        let results = admit_batch(&self.state, &self.mempool, raws);
        let now = std::time::Instant::now();
        for hash in results.iter().flatten() {
            self.finality.submitted(*hash, now);
        }
        if let (Some(gossip), Some(copies)) = (&self.gossip, copies) {
            if let Ok(mut mempool) = self.mempool.lock() {
                for hash in results.iter().flatten() {
                    mempool.set_local(hash);
                }
            }
            for (raw, result) in copies.into_iter().zip(&results) {
                if result.is_ok() {
                    gossip.publish(raw);
                }
            }
        }
        results
    }

    /// The latency from admission to commit of the latest transactions submitted here.
    pub fn finality(&self) -> Option<FinalitySummary> {
        self.finality.summary()
    }

    /// Transactions waiting.
    pub fn mempool_len(&self) -> usize {
        self.mempool.lock().map_or(0, |m| m.len())
    }

    /// Numbers, signs (through `build`) and admits a transaction of a key this node holds
    /// (`sender`): its nonce is the next after the sender's pending transactions here, or
    /// the account's next nonce in the latest state if that is later. Submitters sharing one
    /// key (a compute node's commitments for every runtime and its re-registration) go
    /// through here one at a time, so two never take the same nonce and none builds on a
    /// stale state. Returns the nonce used and the admission's outcome.
    pub fn submit_own(
        &self,
        sender: &atoll_types::Address,
        build: impl FnOnce(u64) -> Vec<u8>,
    ) -> (u64, Result<Hash, MempoolError>) {
        let _turn = self.own_nonces.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let nonce = match self.own_next_nonce(sender) {
            Ok(nonce) => nonce,
            Err(e) => return (0, Err(e)),
        };
        (nonce, self.submit(build(nonce)))
    }

    fn own_next_nonce(&self, sender: &atoll_types::Address) -> Result<u64, MempoolError> {
        let root =
            self.state.latest().map_err(unavailable)?.ok_or_else(|| unavailable("no state"))?;
        let tree = self.state.store().tree(&root).map_err(unavailable)?;
        let on_chain =
            atoll_consensus::staking::account(&tree, sender).map_err(unavailable)?.general.nonce;
        let pending = self.mempool.lock().ok().and_then(|m| m.next_nonce(sender));
        Ok(pending.map_or(on_chain, |p| p.max(on_chain)))
    }

    /// Whether a transaction is waiting in the mempool.
    pub fn in_mempool(&self, hash: &Hash) -> bool {
        self.mempool.lock().is_ok_and(|m| m.contains(hash))
    }

    /// Consensus peers currently connected (`None` if the network layer did not answer).
    pub async fn peers(&self) -> Option<usize> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.net_requests.send(NetworkRequest::DumpState(reply)).await.ok()?;
        let dump = tokio::time::timeout(Duration::from_secs(2), answer).await.ok()?.ok()??;
        Some(dump.peers.len())
    }
}

impl std::ops::Deref for NodeHandle {
    type Target = NodeView;

    fn deref(&self) -> &NodeView {
        &self.view
    }
}

impl NodeHandle {
    /// A cloneable view of the node for the API and tools.
    pub fn view(&self) -> NodeView {
        self.view.clone()
    }

    /// Stops the engine and the application loop.
    pub async fn shutdown(self) {
        if let Err(e) = self.engine.actor.stop_and_wait(None, Some(Duration::from_secs(10))).await {
            tracing::warn!(error = %e, "engine did not stop cleanly");
        }
        self.engine.handle.abort();
        let _ = self.engine.handle.await;
        for task in self.gossip_tasks {
            task.abort();
            let _ = task.await;
        }
        if let Some(app) = self.app {
            app.abort();
            let _ = app.await;
        }
        // Work handed to blocking threads may still hold the databases for a moment: wait
        // until only this handle does (or 10 s, if the caller keeps views of its own), so
        // that a node started again on the same directory finds its files closed.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while (Arc::strong_count(&self.view.state) > 1 || Arc::strong_count(&self.view.store) > 1)
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Resolves when the application loop ends (the engine stopped or failed), with why:
    /// the error that stopped it (a full disk, a corrupt store, …). Cancel-safe; once it
    /// has resolved, it never resolves again.
    pub async fn stopped(&mut self) -> String {
        let Some(app) = self.app.as_mut() else { return std::future::pending().await };
        let outcome = app.await;
        self.app = None;
        match outcome {
            Ok(Ok(())) => "the consensus engine closed the application loop".to_owned(),
            Ok(Err(e)) => e.to_string(),
            Err(e) => format!("the application loop ended abnormally: {e}"),
        }
    }
}

/// Opens the data directory and starts the node.
pub async fn start(config: EngineConfig) -> Result<NodeHandle, StartError> {
    let EngineConfig {
        moniker,
        data_dir,
        genesis,
        consensus_key,
        validator,
        p2p_seed,
        listen,
        persistent_peers,
        gossip_listen,
        gossip_peers,
        timeouts,
        target_block_time,
        empty_block_interval,
        mempool,
        pruning,
        sync_status_interval,
        byzantine,
    } = config;
    genesis.validate().map_err(|e| StartError::Genesis(e.to_string()))?;
    let chain_context = genesis.chain_context();
    let dir_err = |e: &dyn std::fmt::Display| StartError::DataDir(data_dir.clone(), e.to_string());
    std::fs::create_dir_all(&data_dir).map_err(|e| dir_err(&e))?;

    let db = RedbNodeDb::open(&data_dir.join("state.redb")).map_err(|e| dir_err(&e))?;
    let state = Arc::new(ConsensusState::new(Mkvs::new(db)));
    let root = match state.latest().map_err(|e| dir_err(&e))? {
        Some(root) => root,
        None => {
            let root =
                state.init_genesis(&genesis).map_err(|e| StartError::Genesis(e.to_string()))?;
            tracing::info!(chain = %chain_context, "initialised state from genesis");
            root
        }
    };
    let stored_chain = {
        let tree = state.store().tree(&root).map_err(|e| dir_err(&e))?;
        atoll_consensus::chain::chain_info(&tree).map_err(|e| dir_err(&e))?.chain_context
    };
    if stored_chain != chain_context {
        return Err(StartError::Genesis("the data directory holds another chain".into()));
    }
    let store = Arc::new(BlockStore::open(&data_dir.join("blocks.redb")).map_err(|e| dir_err(&e))?);
    let mempool = Arc::new(Mutex::new(Mempool::new(mempool)));
    let chain = Chain::open(
        chain_context,
        genesis.initial_height,
        Arc::clone(&state),
        Arc::clone(&store),
        Arc::clone(&mempool),
        pruning,
    )?;

    let address = ValidatorAddress(consensus_key.public_key());
    let signer = ConsensusSigner::new(Arc::clone(&consensus_key), chain_context);
    let keypair =
        Keypair::ed25519_from_bytes(p2p_seed).map_err(|e| StartError::Engine(e.to_string()))?;
    let peer_id_bytes = keypair.public().to_peer_id().to_bytes();
    let own_peer_id = peer_id_bytes.clone();
    let identity = if validator {
        let proof = signer
            .sign_validator_proof(consensus_key.public_key().as_bytes().to_vec(), peer_id_bytes)
            .await
            .map_err(|e| StartError::Engine(e.to_string()))?;
        let proof_bytes: Bytes =
            WireCodec.encode(&proof).map_err(|e| StartError::Engine(e.to_string()))?;
        NetworkIdentity::new_validator(moniker.clone(), keypair, address.to_string(), proof_bytes)
    } else {
        NetworkIdentity::new(moniker.clone(), keypair, None)
    };

    let mut p2p = P2pConfig {
        listen_addr: to_multiaddr(&listen)?,
        persistent_peers: persistent_peers
            .iter()
            .map(|p| to_multiaddr(p))
            .collect::<Result<_, _>>()?,
        ..P2pConfig::default()
    };
    p2p.discovery.max_connections_per_ip = 256;
    // Malachite's 10 MiB defaults are below a maximum-size block: a node behind one could
    // never fetch it. A response carries at least one whole block and its certificate.
    p2p.rpc_max_size = ByteSize::b(MAX_SYNC_RESPONSE as u64);
    let malachite_config = MalachiteConfig {
        moniker: moniker.clone(),
        consensus: ConsensusConfig { p2p, ..ConsensusConfig::default() },
        value_sync: ValueSyncConfig {
            status_update_interval: sync_status_interval,
            max_response_size: ByteSize::b(MAX_SYNC_RESPONSE as u64),
            ..ValueSyncConfig::default()
        },
    };

    let consensus_context = if validator {
        ConsensusContext::new_validator(address, Box::new(signer.clone()), Box::new(signer.clone()))
    } else {
        ConsensusContext::new_full_node(address, Box::new(ConsensusSigner::verifier(chain_context)))
    };
    let builder = EngineBuilder::new(AtollContext, malachite_config)
        .with_default_wal(WalContext::new(data_dir.join("wal"), WireCodec));
    let (channels, engine) = match byzantine {
        None => builder
            .with_default_network(NetworkContext::new(identity, WireCodec))
            .with_default_sync(SyncContext::new(WireCodec))
            .with_default_consensus(consensus_context)
            .with_default_request(RequestContext::new(128))
            .build()
            .await
            .map_err(engine_err)?,
        Some(ByzantineMode::DoubleSign { from_height }) => {
            let byzantine_config = ByzantineConfig::default()
                .with_equivocate_votes(Trigger::HeightRange { from: from_height, to: u64::MAX });
            builder
                .with_byzantine_network(ByzantineContext {
                    identity,
                    codec: WireCodec,
                    config: byzantine_config,
                    signer: Box::new(signer.clone()),
                    address,
                    conflicting_value_fn: None,
                    conflicting_vote_value_fn: None,
                })
                .await
                .map_err(engine_err)?
                .with_default_sync(SyncContext::new(WireCodec))
                .with_default_consensus(consensus_context)
                .with_default_request(RequestContext::new(128))
                .build()
                .await
                .map_err(engine_err)?
        }
    };

    let gossip = match gossip_listen {
        Some(listen) => {
            let peers =
                gossip_peers.iter().map(|p| to_multiaddr(p)).collect::<Result<Vec<_>, _>>()?;
            let (state, mempool) = (Arc::clone(&state), Arc::clone(&mempool));
            let admit_received = move |raws: Vec<Vec<u8>>| {
                let admitted = admit_batch(&state, &mempool, raws);
                admitted
                    .iter()
                    .map(|result| match result {
                        Ok(_) => Verdict::Accept,
                        Err(e) => {
                            tracing::debug!(error = %e, "gossiped transaction not admitted");
                            gossip_verdict(e)
                        }
                    })
                    .collect()
            };
            Some(
                crate::gossip::start(p2p_seed, to_multiaddr(&listen)?, peers, admit_received)
                    .map_err(engine_err)?,
            )
        }
        None => None,
    };
    let (status_tx, status_rx) = watch::channel(ChainStatus::default());
    let metrics = EngineMetrics::register(&moniker);
    let pacing = Pacing { target_block_time, empty_block_interval };
    let finality = Arc::clone(chain.finality());
    let app = App::new(chain, signer, own_peer_id, timeouts, pacing, status_tx, metrics);
    let net_requests = channels.net_requests.clone();
    let app = tokio::spawn(async move {
        let outcome = app.run(channels).await;
        if let Err(e) = &outcome {
            tracing::error!(error = %e, "application loop failed; the node stops");
        }
        outcome
    });
    let (gossip, gossip_tasks) = match gossip {
        Some((gossip, task)) => {
            let regossip = tokio::spawn(regossip(Arc::clone(&mempool), gossip.clone()));
            (Some(gossip), vec![task, regossip])
        }
        None => (None, Vec::new()),
    };
    let view = NodeView {
        chain_context,
        status: status_rx,
        state,
        store,
        mempool,
        finality,
        gossip,
        net_requests,
        own_nonces: Arc::new(Mutex::new(())),
    };
    Ok(NodeHandle { view, gossip_tasks, engine, app: Some(app) })
}
