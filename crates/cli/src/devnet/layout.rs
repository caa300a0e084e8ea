//! The devnet's data directory: which nodes it has, their ports, their homes and the
//! genesis that ties them together, written once by [`create`] and read back by [`load`].
//!
//! ```text
//! <dir>/devnet.json      what was created (read back when the devnet is run again)
//! <dir>/genesis.json     the shared genesis document
//! <dir>/keys/            funded test accounts (alice.key, bob.key, …)
//! <dir>/validator-<i>/   validator homes (keys/, config.toml, genesis.json, data/, node.log)
//! <dir>/compute-<i>/     compute node homes (they run the timestamping and EVM ParaTimes)
//! <dir>/fhe/             with --fhe: the FHE ParaTime's (insecure) proof setup (key sets
//!                        travel between the nodes' blob stores)
//! <dir>/tee/             with --tee: the simulation PKI's seed and root (each ParaTime
//!                        node's simulated machine and collateral are in its home's tee/)
//! <dir>/client/          the client node: follows the chain, serves the API, runs both
//!                        ParaTimes and serves the EVM ParaTime's Ethereum JSON-RPC
//! ```
//!
//! Node `k` (validators first, then compute nodes, then the client) uses the ports
//! `base + 10k` (p2p), `+1` (API), `+2` (metrics), `+3` (transaction gossip), `+4`
//! (timestamping ParaTime p2p), `+5` (EVM ParaTime p2p) and `+6` (FHE ParaTime p2p, with
//! `--fhe`); the client's Ethereum JSON-RPC
//! listens on its own port (8545 unless asked otherwise, as anvil's).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use atoll_consensus::registry::types::{roles, Version};
use atoll_crypto::FileSigner;
use atoll_node::config::{ComputeSection, ComputeTee};
use atoll_node::{genesis, run, NodeConfig, NodeKeys, Role};
use atoll_types::{Address, Amount, RuntimeId, Signer};
use serde::{Deserialize, Serialize};

/// The manifest's file name.
pub(crate) const MANIFEST: &str = "devnet.json";
/// Names of the funded test accounts (more get `account-<i>`).
const ACCOUNT_NAMES: [&str; 4] = ["alice", "bob", "carol", "dave"];
/// Tokens every test account starts with.
pub(crate) const ACCOUNT_TOKENS: u128 = 1_000_000;
/// The chain id.
const CHAIN_ID: &str = "atoll-devnet";

/// What kind of node.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    /// Votes in consensus.
    Validator,
    /// Runs the ParaTime for its committee (follows consensus without voting).
    Compute,
    /// Follows the chain and serves the API (and ParaTime queries and transactions).
    Client,
}

/// One node of the devnet.
#[derive(Clone, Debug)]
pub(crate) struct NodeSpec {
    /// Its name, also its home's directory name.
    pub name: String,
    /// Its kind.
    pub kind: Kind,
    /// Its home.
    pub home: PathBuf,
    /// Its p2p port (the others follow it).
    pub port: u16,
}

impl NodeSpec {
    /// The API address.
    pub(crate) fn api(&self) -> String {
        format!("127.0.0.1:{}", self.port + 1)
    }

    /// The metrics address.
    pub(crate) fn metrics(&self) -> String {
        format!("127.0.0.1:{}", self.port + 2)
    }

    /// The timestamping ParaTime's p2p address.
    fn runtime_p2p(&self) -> String {
        format!("127.0.0.1:{}", self.port + 4)
    }

    /// The EVM ParaTime's p2p address.
    fn evm_p2p(&self) -> String {
        format!("127.0.0.1:{}", self.port + 5)
    }

    /// The FHE ParaTime's p2p address.
    fn fhe_p2p(&self) -> String {
        format!("127.0.0.1:{}", self.port + 6)
    }

    /// Its log file.
    pub(crate) fn log(&self) -> PathBuf {
        self.home.join("node.log")
    }

    /// Every port it listens on.
    pub(crate) fn ports(&self) -> Vec<u16> {
        let last = if self.kind == Kind::Validator { 3 } else { 6 };
        (0..=last).map(|offset| self.port + offset).collect()
    }
}

/// What a devnet was created with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Manifest {
    /// The chain id.
    pub chain_id: String,
    /// Validators.
    pub validators: usize,
    /// Compute nodes.
    pub compute: usize,
    /// Funded test account names (key files in `keys/`).
    pub accounts: Vec<String>,
    /// The first port.
    pub base_port: u16,
    /// Blocks per epoch.
    pub epoch_interval: u64,
    /// The ParaTime's runtime id.
    pub runtime: RuntimeId,
    /// The EVM ParaTime (devnets created before it existed have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evm: Option<EvmNet>,
    /// Whether the timestamping ParaTime runs in a simulated TEE (`--tee`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tee: bool,
    /// The FHE ParaTime (`--fhe`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fhe: Option<FheNet>,
}

/// The devnet's FHE ParaTime.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FheNet {
    /// Its runtime id.
    pub runtime: RuntimeId,
    /// The id of its proof setup (derived from [`FHE_SETUP_SEED`]: insecure).
    pub setup: atoll_types::Hash,
}

/// The public seed of the devnet's FHE proof setup: anyone can forge input proofs on a
/// devnet.
pub(crate) const FHE_SETUP_SEED: &str = "atoll devnet";

/// The FHE ParaTime's proof setup file.
pub(crate) fn fhe_setup_file(dir: &Path) -> PathBuf {
    dir.join("fhe").join("setup.crs")
}

/// The arguments that make the `atoll` binary serve the FHE ParaTime of the devnet in `dir`.
/// Key sets come from the nodes' blob stores: `atoll fhe register` uploads one to the node
/// it talks to, and the other compute nodes fetch it from their peers.
pub(crate) fn fhe_args(dir: &Path) -> Vec<String> {
    let mut args: Vec<String> =
        ["paratime", "serve", "fhe", "--setup-insecure", "--setup"].map(str::to_owned).to_vec();
    args.push(fhe_setup_file(dir).display().to_string());
    args
}

/// The FHE ParaTime's round timeout, in consensus blocks: a round may hold 30 s of
/// reference FHE work, computed by every worker (and the client node) on the same cores.
const FHE_ROUND_TIMEOUT: u64 = 150;
/// Blocks per epoch of a devnet with the FHE ParaTime (unless asked otherwise): an epoch
/// transition ends the round in progress, and an FHE round runs for a minute or more, so
/// an epoch is four round timeouts long.
pub(crate) const FHE_EPOCH_INTERVAL: u64 = 4 * FHE_ROUND_TIMEOUT;
/// The shortest epoch a devnet with the FHE ParaTime accepts: two round timeouts.
pub(crate) const FHE_MIN_EPOCH_INTERVAL: u64 = 2 * FHE_ROUND_TIMEOUT;
/// How long an FHE batch may take before the runtime is taken for hung (seconds).
const FHE_CALL_TIMEOUT_SECS: u64 = 300;
/// How long the FHE runtime may take to start: its known-answer test takes about 15 s on
/// its own, longer while the other nodes run theirs.
const FHE_START_TIMEOUT_SECS: u64 = 180;

/// The devnet's EVM ParaTime.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct EvmNet {
    /// Its runtime id.
    pub runtime: RuntimeId,
    /// Its Ethereum chain id.
    pub chain_id: u64,
    /// The client node's Ethereum JSON-RPC port.
    pub rpc_port: u16,
}

/// The arguments that make the `atoll` binary serve the EVM ParaTime.
pub(crate) fn evm_args() -> Vec<String> {
    ["paratime", "serve", "evm"].map(str::to_owned).to_vec()
}

impl Manifest {
    /// Every node, validators first, then compute nodes, then the client.
    pub(crate) fn nodes(&self, dir: &Path) -> Vec<NodeSpec> {
        let validators = (0..self.validators).map(|i| (Kind::Validator, format!("validator-{i}")));
        let compute = (0..self.compute).map(|i| (Kind::Compute, format!("compute-{i}")));
        validators
            .chain(compute)
            .chain([(Kind::Client, "client".to_owned())])
            .enumerate()
            .map(|(k, (kind, name))| NodeSpec {
                home: dir.join(&name),
                name,
                kind,
                port: self.base_port + 10 * k as u16,
            })
            .collect()
    }

    /// The key file of a test account.
    pub(crate) fn key_file(dir: &Path, name: &str) -> PathBuf {
        dir.join("keys").join(format!("{name}.key"))
    }
}

/// Sizes asked for on the command line.
pub(crate) struct Shape {
    /// Validators.
    pub validators: usize,
    /// Compute nodes.
    pub compute: usize,
    /// Test accounts.
    pub accounts: usize,
    /// First port.
    pub base_port: u16,
    /// Blocks per epoch.
    pub epoch_interval: u64,
    /// The Ethereum JSON-RPC port.
    pub eth_rpc_port: u16,
    /// Run the timestamping ParaTime in a simulated TEE.
    pub tee: bool,
    /// Run the FHE ParaTime.
    pub fhe: bool,
    /// Created to watch a byzantine compute node: every compute node is a primary worker
    /// of the timestamping ParaTime, so the byzantine one works (and misbehaves) in every
    /// round from the first.
    pub byzantine: bool,
}

/// Reads the manifest of an existing devnet, if `dir` holds one.
pub(crate) fn load(dir: &Path) -> Result<Option<Manifest>> {
    let path = dir.join(MANIFEST);
    if !path.exists() {
        return Ok(None);
    }
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let manifest =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    Ok(Some(manifest))
}

/// Creates a new devnet in `dir` (which must not hold one): keys, configs, genesis.
/// `paratime` is the command compute nodes run (binary and arguments before `--socket`).
pub(crate) fn create(
    dir: &Path,
    shape: &Shape,
    paratime: &(PathBuf, Vec<String>),
) -> Result<Manifest> {
    if shape.validators == 0 || shape.compute == 0 {
        bail!("a devnet needs at least one validator and one compute node");
    }
    let nodes = shape.validators + shape.compute + 1;
    if usize::from(shape.base_port) + 10 * nodes > usize::from(u16::MAX) {
        bail!("--base-port {} leaves no room for {nodes} nodes", shape.base_port);
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let accounts: Vec<String> = (0..shape.accounts)
        .map(|i| ACCOUNT_NAMES.get(i).map_or_else(|| format!("account-{i}"), |n| (*n).to_owned()))
        .collect();
    let manifest = Manifest {
        chain_id: CHAIN_ID.to_owned(),
        validators: shape.validators,
        compute: shape.compute,
        accounts,
        base_port: shape.base_port,
        epoch_interval: shape.epoch_interval,
        runtime: atoll_timestamp::runtime_id(),
        evm: Some(EvmNet {
            runtime: atoll_evm::runtime_id(),
            chain_id: atoll_evm::DEFAULT_CHAIN_ID,
            rpc_port: shape.eth_rpc_port,
        }),
        tee: shape.tee,
        fhe: None,
    };
    let mut manifest = manifest;
    if shape.fhe {
        let setup = atoll_fhe::setup::ProofSetup::insecure_from_seed(FHE_SETUP_SEED.as_bytes())?;
        std::fs::create_dir_all(dir.join("fhe"))?;
        std::fs::write(fhe_setup_file(dir), setup.to_bytes()?)?;
        manifest.fhe = Some(FheNet { runtime: atoll_fhe::runtime_id(), setup: setup.id });
    }
    let specs = manifest.nodes(dir);
    let mut genesis = genesis::new_genesis(CHAIN_ID, "ATL", 9, shape.epoch_interval);
    let token = |n: u128| Amount::new(n * 1_000_000_000);
    let mut owner = None;
    for spec in &specs {
        let keys = NodeKeys::generate(&spec.home)?;
        let identity = keys.identity(&format!("127.0.0.1:{}", spec.port));
        identity.save(&spec.home)?;
        match spec.kind {
            Kind::Validator => genesis::add_validator(
                &mut genesis,
                &identity,
                token(100_000),
                token(1_000),
                false,
            )?,
            Kind::Compute => genesis::add_node(
                &mut genesis,
                &identity,
                token(10_000),
                token(1_000),
                roles::COMPUTE,
            )?,
            Kind::Client => {}
        }
        owner.get_or_insert(identity.entity_id);
    }
    let owner = owner.context("a devnet needs a node")?;
    let committee = shape.compute.min(3) as u16;
    let committee_shape = genesis::RuntimeShape {
        group_size: committee,
        backup_size: committee,
        ..genesis::RuntimeShape::default()
    };
    let version = Version { major: 0, minor: 1, patch: 0 };
    let timestamp_shape = if shape.byzantine {
        genesis::RuntimeShape { group_size: shape.compute as u16, ..committee_shape }
    } else {
        committee_shape
    };
    genesis::add_compute_runtime(&mut genesis, manifest.runtime, version, owner, timestamp_shape)?;
    if let Some(evm) = &manifest.evm {
        genesis::add_compute_runtime(&mut genesis, evm.runtime, version, owner, committee_shape)?;
    }
    if let Some(fhe) = &manifest.fhe {
        let fhe_shape =
            genesis::RuntimeShape { round_timeout: FHE_ROUND_TIMEOUT, ..committee_shape };
        genesis::add_compute_runtime(&mut genesis, fhe.runtime, version, owner, fhe_shape)?;
        genesis::require_determinism(&mut genesis, fhe.runtime, fhe_determinism()?)?;
    }
    if manifest.tee {
        super::tee::setup(dir, &mut genesis, &specs, manifest.runtime, &paratime.0)?;
    }
    std::fs::create_dir_all(dir.join("keys"))?;
    for name in &manifest.accounts {
        let key = FileSigner::generate(&Manifest::key_file(dir, name))?;
        genesis::add_balance(
            &mut genesis,
            Address::from_public_key(&key.public_key()),
            token(ACCOUNT_TOKENS),
        )?;
    }
    genesis.validate().context("the devnet genesis is invalid")?;
    std::fs::write(dir.join(run::GENESIS_FILE), genesis.to_json())?;
    for spec in &specs {
        std::fs::write(spec.home.join(run::GENESIS_FILE), genesis.to_json())?;
        config(spec, &specs, &manifest, paratime, dir)?.save(&spec.home.join(run::CONFIG_FILE))?;
    }
    std::fs::write(dir.join(MANIFEST), serde_json::to_string_pretty(&manifest)?)?;
    Ok(manifest)
}

/// The devnet's propose timeout: above its empty-block interval.
const DEVNET_PROPOSE_MS: u64 = 3_000;
/// How long an idle devnet waits between blocks.
const DEVNET_EMPTY_BLOCK_INTERVAL_MS: u64 = 2_000;

/// The configuration of `spec`: every other node a persistent peer, every ParaTime node a
/// ParaTime peer, no API rate limit (a local network). The byzantine mode is set on each run
/// (`refresh_configs`).
fn config(
    spec: &NodeSpec,
    all: &[NodeSpec],
    manifest: &Manifest,
    paratime: &(PathBuf, Vec<String>),
    dir: &Path,
) -> Result<NodeConfig> {
    let role = if spec.kind == Kind::Validator { Role::Validator } else { Role::Full };
    let mut config = NodeConfig::new(&spec.name, role, spec.port);
    config.p2p.listen = format!("127.0.0.1:{}", spec.port);
    config.p2p.tx_gossip_listen = format!("127.0.0.1:{}", spec.port + 3);
    let others = all.iter().filter(|o| o.name != spec.name);
    config.p2p.persistent_peers = others.clone().map(|o| format!("127.0.0.1:{}", o.port)).collect();
    config.p2p.tx_gossip_peers =
        others.clone().map(|o| format!("127.0.0.1:{}", o.port + 3)).collect();
    config.api.rate_limit_per_second = 0;
    config.api.max_body_bytes = 16 << 20;
    // Idle, a block every two seconds rather than every 100 ms; a transaction is still
    // proposed at once.
    config.timeouts.propose_ms = DEVNET_PROPOSE_MS;
    config.timeouts.empty_block_interval_ms = DEVNET_EMPTY_BLOCK_INTERVAL_MS;
    if spec.kind != Kind::Validator {
        let peers: Vec<&NodeSpec> = others.filter(|o| o.kind != Kind::Validator).collect();
        config.compute = vec![ComputeSection {
            runtime: manifest.runtime.to_string(),
            binary: paratime.0.display().to_string(),
            binary_args: paratime.1.clone(),
            p2p_listen: spec.runtime_p2p(),
            p2p_peers: peers.iter().map(|o| o.runtime_p2p()).collect(),
            eth_rpc_listen: None,
            empty_round_interval_ms: None,
            empty_round_limit: None,
            retain_rounds: None,
            state_sync_behind: None,
            call_timeout_secs: None,
            start_timeout_secs: None,
            byzantine: None,
            tee: manifest.tee.then(|| ComputeTee {
                simulated_machine: super::tee::MACHINE_FILE.to_owned(),
                collateral: super::tee::COLLATERAL_FILE.to_owned(),
            }),
        }];
        if let Some(evm) = &manifest.evm {
            config.compute.push(ComputeSection {
                runtime: evm.runtime.to_string(),
                binary: paratime.0.display().to_string(),
                binary_args: evm_args(),
                p2p_listen: spec.evm_p2p(),
                p2p_peers: peers.iter().map(|o| o.evm_p2p()).collect(),
                eth_rpc_listen: (spec.kind == Kind::Client)
                    .then(|| format!("127.0.0.1:{}", evm.rpc_port)),
                // Ethereum clients wait for the block after their transaction's: two
                // empty rounds, 2 s apart, follow a round with transactions (an idle
                // ParaTime makes no rounds, as an idle Ethereum devnet mines no blocks).
                empty_round_interval_ms: Some(2_000),
                empty_round_limit: Some(2),
                retain_rounds: None,
                state_sync_behind: None,
                call_timeout_secs: None,
                start_timeout_secs: None,
                byzantine: None,
                tee: None,
            });
        }
        if manifest.fhe.is_some() {
            config.compute.push(ComputeSection {
                runtime: atoll_fhe::runtime_id().to_string(),
                binary: paratime.0.display().to_string(),
                binary_args: fhe_args(dir),
                p2p_listen: spec.fhe_p2p(),
                p2p_peers: peers.iter().map(|o| o.fhe_p2p()).collect(),
                eth_rpc_listen: None,
                empty_round_interval_ms: None,
                empty_round_limit: None,
                retain_rounds: None,
                state_sync_behind: None,
                call_timeout_secs: Some(FHE_CALL_TIMEOUT_SECS),
                start_timeout_secs: Some(FHE_START_TIMEOUT_SECS),
                byzantine: None,
                tee: None,
            });
        }
    }
    config.validate()?;
    Ok(config)
}

/// What the FHE ParaTime asks of the machines that serve it: the CPU its arithmetic is
/// bit-exact on, and the answer of its known-answer test there.
pub(crate) fn fhe_determinism() -> Result<atoll_consensus::registry::types::Determinism> {
    Ok(atoll_consensus::registry::types::Determinism {
        arch: atoll_fhe::kat::CPU_ARCH.into(),
        cpu_features: atoll_fhe::kat::CPU_FEATURES.iter().map(|f| (*f).to_owned()).collect(),
        known_answer: atoll_fhe::kat::KNOWN_ANSWER
            .parse()
            .context("the FHE ParaTime's known answer")?,
    })
}
