//! Running a node from its home directory: `config.toml`, `keys/`, `genesis.json`, and the
//! data directory `data/` (state, blocks, consensus WAL).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use atoll_consensus::Genesis;
use atoll_engine::bft::chain::Pruning;
use atoll_engine::bft::context::{default_timeouts, Timeouts};
use atoll_engine::bft::{self, ByzantineMode, EngineConfig, NodeHandle};
use atoll_engine::MempoolConfig;
use thiserror::Error;

use crate::config::{ComputeSection, ConsensusTimeouts, NodeConfig, Role};
use crate::keys::OperationalKeys;

/// The genesis document's file name in a node's home.
pub const GENESIS_FILE: &str = "genesis.json";
/// The configuration's file name in a node's home.
pub const CONFIG_FILE: &str = "config.toml";
/// The data directory's name in a node's home.
pub const DATA_DIR: &str = "data";

/// Why a node could not start, or stopped on its own.
#[derive(Debug, Error)]
pub enum RunError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] crate::ConfigError),
    /// The keys could not be loaded.
    #[error(transparent)]
    Keys(#[from] crate::KeysError),
    /// The genesis document is missing or invalid.
    #[error("genesis {path}: {reason}")]
    Genesis {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The engine did not start.
    #[error(transparent)]
    Start(#[from] bft::StartError),
    /// A listener or signal handler could not be set up.
    #[error("{0}")]
    Io(String),
    /// State sync failed (nothing was written).
    #[error("state sync: {0}")]
    StateSync(String),
    /// The node stopped on its own (its stores failed: a full disk, a corrupt file); it
    /// shut down cleanly and can be restarted once the cause is fixed.
    #[error("the node stopped: {0}")]
    Stopped(String),
}

/// Reads `<home>/genesis.json`.
pub fn load_genesis(home: &Path) -> Result<Genesis, RunError> {
    let path = home.join(GENESIS_FILE);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| RunError::Genesis { path: path.clone(), reason: e.to_string() })?;
    Genesis::from_json(&text).map_err(|e| RunError::Genesis { path, reason: e.to_string() })
}

/// Rebuilds the state of the node at `home` from a checkpoint of the peers at `sources`
/// (see [`crate::state_sync`]) if its data directory holds no chain yet, trusting the block
/// `trust` names (height, id) or, without one, the block the peers agree on and the genesis
/// validators signed ([`crate::state_sync::trust_from_peers`]); `None` if the directory
/// already holds a chain (the node then goes on from its own state).
pub async fn state_sync(
    home: &Path,
    sources: Vec<String>,
    trust: Option<(u64, atoll_types::Hash)>,
) -> Result<Option<crate::state_sync::SyncReport>, RunError> {
    let data = home.join(DATA_DIR);
    if data.join("state.redb").exists() {
        tracing::info!("the data directory already holds a chain: no state sync");
        return Ok(None);
    }
    std::fs::create_dir_all(&data).map_err(|e| RunError::Io(format!("{}: {e}", data.display())))?;
    let genesis = load_genesis(home)?;
    let chain = genesis.chain_context();
    let (trust_height, trust_id) = match trust {
        Some(trust) => trust,
        None => crate::state_sync::trust_from_peers(&sources, &genesis)
            .await
            .map_err(|e| RunError::StateSync(e.to_string()))?,
    };
    let plan = crate::state_sync::StateSyncPlan { sources, trust_height, trust_id };
    let report = crate::state_sync::state_sync(&data, &chain, &plan)
        .await
        .map_err(|e| RunError::StateSync(e.to_string()))?;
    tracing::info!(
        checkpoint = report.checkpoint,
        continues_from = report.trusted,
        chunks = report.chunks,
        entries = report.entries,
        bytes = report.bytes,
        refused = report.refused,
        seconds = report.seconds,
        "state synced from a checkpoint"
    );
    Ok(Some(report))
}

/// The engine configuration for the node at `home`.
pub fn engine_config(
    home: &Path,
    config: &NodeConfig,
    genesis: Genesis,
) -> Result<EngineConfig, RunError> {
    config.validate()?;
    let keys = OperationalKeys::load(home)?;
    let p2p_seed = *keys.p2p.seed();
    let mut engine = EngineConfig::new(
        &config.moniker,
        home.join(DATA_DIR),
        genesis,
        Arc::new(keys.consensus),
        p2p_seed,
        &config.p2p.listen,
    );
    engine.validator = config.role == Role::Validator;
    engine.persistent_peers = config.p2p.persistent_peers.clone();
    engine.gossip_listen =
        (!config.p2p.tx_gossip_listen.is_empty()).then(|| config.p2p.tx_gossip_listen.clone());
    engine.gossip_peers = config.p2p.tx_gossip_peers.clone();
    engine.timeouts = timeouts(&config.timeouts);
    engine.target_block_time =
        (config.timeouts.commit_ms > 0).then(|| Duration::from_millis(config.timeouts.commit_ms));
    let empty = config.timeouts.empty_block_interval_ms;
    engine.empty_block_interval = (empty > 0).then(|| Duration::from_millis(empty));
    engine.mempool = MempoolConfig {
        max_txs: config.mempool.max_txs,
        max_bytes: config.mempool.max_bytes,
        min_gas_price: u128::from(config.mempool.min_gas_price),
        ..MempoolConfig::default()
    };
    engine.pruning = Pruning {
        keep_state_versions: config.pruning.keep_state_versions,
        keep_blocks: config.pruning.keep_blocks,
        checkpoint_interval: config.checkpoints.interval,
        keep_checkpoints: config.checkpoints.keep,
    };
    engine.byzantine = config
        .byzantine
        .double_sign_from_height
        .map(|from_height| ByzantineMode::DoubleSign { from_height });
    Ok(engine)
}

/// Starts the node at `home` with `config`.
pub async fn start(home: &Path, config: &NodeConfig) -> Result<NodeHandle, RunError> {
    let genesis = load_genesis(home)?;
    let engine = engine_config(home, config, genesis)?;
    Ok(bft::start(engine).await?)
}

/// Runs the node at `home` until SIGINT or SIGTERM (or until the node stops by itself),
/// serving the API and (if configured) metrics, then shuts it down cleanly.
pub async fn run_until_signal(home: &Path, config: &NodeConfig) -> Result<(), RunError> {
    let metrics = if config.metrics.enabled {
        let (address, task) = crate::metrics_server::serve(&config.metrics.listen)
            .await
            .map_err(|e| RunError::Io(format!("metrics listen {}: {e}", config.metrics.listen)))?;
        tracing::info!(%address, "serving metrics at /metrics");
        Some(task)
    } else {
        None
    };
    let mut node = start(home, config).await?;
    tracing::info!(
        moniker = %config.moniker,
        chain = %node.chain_context(),
        listen = %config.p2p.listen,
        "node started"
    );
    let compute = config
        .compute
        .iter()
        .map(|section| start_compute(home, section, node.view()))
        .collect::<Result<Vec<_>, _>>()?;
    let registration = crate::registration::spawn(
        OperationalKeys::load(home)?,
        node.view(),
        u128::from(config.mempool.min_gas_price),
        compute.iter().map(atoll_compute::Compute::handle).collect(),
    );
    let mut eth_rpcs = Vec::new();
    for (section, role) in config.compute.iter().zip(&compute) {
        if let Some(listen) = &section.eth_rpc_listen {
            eth_rpcs.push(start_eth_rpc(home, section, listen, role.handle()).await?);
        }
    }
    let (api_address, api) = crate::api::serve(
        &config.api.listen,
        node.view(),
        compute.iter().map(atoll_compute::Compute::handle).collect(),
        eth_rpcs.iter().map(atoll_eth_rpc::EthRpc::handle).collect(),
        &config.api,
    )
    .await
    .map_err(|e| RunError::Io(format!("API listen {}: {e}", config.api.listen)))?;
    tracing::info!(address = %api_address, "serving the API (OpenAPI document at /openapi.json)");
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| RunError::Io(format!("signal handler: {e}")))?;
    let failure = tokio::select! {
        _ = tokio::signal::ctrl_c() => {
            tracing::info!("interrupted; shutting down");
            None
        }
        _ = terminate.recv() => {
            tracing::info!("terminated; shutting down");
            None
        }
        reason = node.stopped() => {
            tracing::error!(%reason, "the node stopped; shutting down");
            Some(reason)
        }
    };
    api.abort();
    registration.abort();
    for rpc in eth_rpcs {
        rpc.stop().await;
    }
    for compute in compute {
        compute.shutdown().await;
    }
    node.shutdown().await;
    if let Some(task) = metrics {
        task.abort();
    }
    failure.map_or(Ok(()), |reason| Err(RunError::Stopped(reason)))
}

/// Starts the Ethereum JSON-RPC of the EVM ParaTime a compute role runs; its index lives
/// in the node's data directory.
pub async fn start_eth_rpc(
    home: &Path,
    section: &ComputeSection,
    listen: &str,
    compute: atoll_compute::ComputeHandle,
) -> Result<atoll_eth_rpc::EthRpc, RunError> {
    let listen = listen
        .parse()
        .map_err(|e| RunError::Io(format!("compute.eth_rpc_listen {listen}: {e}")))?;
    let config = atoll_eth_rpc::EthRpcConfig {
        listen,
        index_path: home.join(DATA_DIR).join(format!("eth-index-{}.redb", section.runtime)),
        limits: atoll_eth_rpc::RpcLimits::default(),
    };
    let rpc = atoll_eth_rpc::start(config, compute)
        .await
        .map_err(|e| RunError::Io(format!("Ethereum JSON-RPC: {e}")))?;
    tracing::info!(address = %rpc.local_addr(), chain_id = rpc.chain_id(), "serving the Ethereum JSON-RPC");
    Ok(rpc)
}

/// The compute role's configuration for the node at `home`.
pub fn compute_config(
    home: &Path,
    section: &ComputeSection,
) -> Result<atoll_compute::ComputeConfig, RunError> {
    let keys = OperationalKeys::load(home)?;
    let runtime: atoll_types::RuntimeId =
        section.runtime.parse().map_err(|e| RunError::Io(format!("compute.runtime: {e}")))?;
    let binary = home.join(&section.binary);
    let multiaddr = |a: &str| {
        bft::run::to_multiaddr(a).map_err(|e| RunError::Io(format!("compute p2p address {a}: {e}")))
    };
    let p2p = atoll_compute::P2pConfig {
        seed: *keys.p2p.seed(),
        listen: multiaddr(&section.p2p_listen)?,
        peers: section.p2p_peers.iter().map(|p| multiaddr(p)).collect::<Result<_, _>>()?,
    };
    let storage = home.join(DATA_DIR).join(format!("runtime-{runtime}.redb"));
    let mut config = atoll_compute::ComputeConfig::new(runtime, binary, storage, p2p);
    config.binary_args = section.binary_args.clone();
    config.empty_rounds = atoll_compute::EmptyRounds {
        interval: section.empty_round_interval_ms.map(Duration::from_millis),
        limit: section.empty_round_limit,
    };
    config.retain_rounds = section.retain_rounds;
    if let Some(secs) = section.call_timeout_secs {
        config.call_timeout = Duration::from_secs(secs.max(1));
    }
    if let Some(secs) = section.start_timeout_secs {
        config.start_timeout = Duration::from_secs(secs.max(1));
    }
    if let Some(behind) = section.state_sync_behind {
        config.state_sync_behind = behind;
    }
    if let Some(mode) = &section.byzantine {
        config.byzantine = mode.parse().map_err(RunError::Io)?;
    }
    config.tee = section.tee.as_ref().map(|tee| atoll_compute::TeeFiles {
        machine: home.join(&tee.simulated_machine),
        collateral: home.join(&tee.collateral),
    });
    Ok(config)
}

/// Refuses a runtime configured with a simulated TEE on a chain whose genesis does not
/// trust simulated TEEs (`debug_allow_simulated_tee`).
fn check_simulated_tee(section: &ComputeSection, node: &bft::NodeView) -> Result<(), RunError> {
    if section.tee.is_none() {
        return Ok(());
    }
    let state = node.state();
    let latest = state.latest().map_err(|e| RunError::Io(format!("consensus state: {e}")))?;
    let height = latest.map_or(0, |root| root.version);
    let tree = state
        .tree_at(atoll_types::Height(height))
        .map_err(|e| RunError::Io(format!("consensus state: {e}")))?;
    let roots = atoll_consensus::registry::parameters(&tree)
        .map_err(|e| RunError::Io(format!("registry parameters: {e}")))?
        .tee;
    roots.simulated().map_err(|_| {
        RunError::Io(format!(
            "runtime {} is configured with a simulated TEE, but this chain's genesis does not \
             trust simulated TEEs (registry.parameters.tee.debug_allow_simulated_tee): \
             refusing to start",
            section.runtime
        ))
    })?;
    tracing::warn!(runtime = %section.runtime, "this runtime runs in a SIMULATED TEE: no hardware isolation");
    Ok(())
}

/// Starts the compute role beside a running node.
pub fn start_compute(
    home: &Path,
    section: &ComputeSection,
    node: bft::NodeView,
) -> Result<atoll_compute::Compute, RunError> {
    check_simulated_tee(section, &node)?;
    let config = compute_config(home, section)?;
    let identity = OperationalKeys::load(home)?.identity;
    atoll_compute::start(config, node, Arc::new(identity))
        .map_err(|e| RunError::Io(format!("compute role: {e}")))
}

/// The configured millisecond timeouts as the engine's per-step timeouts; each grows by
/// half its base per round.
fn timeouts(t: &ConsensusTimeouts) -> Timeouts {
    let ms = Duration::from_millis;
    let mut out = default_timeouts();
    out.propose = ms(t.propose_ms);
    out.propose_delta = ms(t.propose_ms / 2);
    out.prevote = ms(t.prevote_ms);
    out.prevote_delta = ms(t.prevote_ms / 2);
    out.precommit = ms(t.precommit_ms);
    out.precommit_delta = ms(t.precommit_ms / 2);
    out.rebroadcast = ms(t.propose_ms + t.prevote_ms + t.precommit_ms);
    out
}
