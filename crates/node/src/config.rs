//! The node's configuration file (`config.toml` in the node's home directory).

use std::path::Path;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// What the node does.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Votes in consensus (when elected).
    Validator,
    /// Follows the chain and serves clients.
    Full,
}

/// Peer-to-peer networking.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct P2pConfig {
    /// Address to listen on for peers (`host:port`).
    pub listen: String,
    /// Address other nodes reach this node at (`host:port`), registered on chain.
    pub external: String,
    /// Peers to keep connected to (`host:port`).
    pub persistent_peers: Vec<String>,
    /// Where to listen for transaction gossip (`host:port`); empty turns it off.
    #[serde(default)]
    pub tx_gossip_listen: String,
    /// Other nodes' transaction gossip addresses (`host:port`).
    #[serde(default)]
    pub tx_gossip_peers: Vec<String>,
}

/// The client API.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// REST/WebSocket listen address (`host:port`).
    pub listen: String,
    /// Largest request body, in bytes.
    pub max_body_bytes: usize,
    /// Requests per second each client IP may make on average (0: no limit).
    #[serde(default = "default_rate_limit")]
    pub rate_limit_per_second: u32,
    /// Requests a client IP may make in a burst.
    #[serde(default = "default_rate_burst")]
    pub rate_limit_burst: u32,
    /// WebSocket streams open at once; more get 503.
    #[serde(default = "default_max_streams")]
    pub max_streams: usize,
}

fn default_max_streams() -> usize {
    256
}

fn default_rate_limit() -> u32 {
    1_000
}

fn default_rate_burst() -> u32 {
    2_000
}

/// Prometheus metrics.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Serve metrics.
    pub enabled: bool,
    /// Listen address (`host:port`).
    pub listen: String,
}

/// The mempool.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MempoolSection {
    /// Most transactions held.
    pub max_txs: usize,
    /// Most bytes held.
    pub max_bytes: usize,
    /// Lowest gas price admitted (base units per gas).
    pub min_gas_price: u64,
}

/// What to keep on disk.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PruningConfig {
    /// State versions to keep (0 keeps all; at least the 1,001 of the evidence window).
    pub keep_state_versions: u64,
    /// Blocks to keep (0 keeps all).
    pub keep_blocks: u64,
}

/// State checkpoints this node makes for others to state-sync from.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointConfig {
    /// A checkpoint every this many heights (0 makes none).
    pub interval: u64,
    /// How many to keep (their state versions are kept from pruning).
    pub keep: u64,
}

impl Default for CheckpointConfig {
    fn default() -> Self {
        Self { interval: 1_000, keep: 2 }
    }
}

/// Consensus timeouts, in milliseconds.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsensusTimeouts {
    /// Waiting for a proposal.
    pub propose_ms: u64,
    /// Waiting for prevotes.
    pub prevote_ms: u64,
    /// Waiting for precommits.
    pub precommit_ms: u64,
    /// Shortest time from the start of a height to moving on (late precommits are still
    /// collected meanwhile); 0 moves on as soon as a block is decided.
    pub commit_ms: u64,
    /// With nothing to include, how long a proposer waits after the previous block for a
    /// transaction before proposing an empty block (below `propose_ms`, which bounds the
    /// wait at three quarters of it); 0 proposes at once.
    #[serde(default)]
    pub empty_block_interval_ms: u64,
}

/// Deliberate misbehaviour, for fault-injection tests only.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ByzantineSection {
    /// Sign a second, conflicting vote for every vote from this height on. Gets the
    /// validator slashed and frozen.
    pub double_sign_from_height: Option<u64>,
}

/// The fewest rounds a compute node may keep: peers that fall a little behind fetch recent
/// rounds' write logs from it, and each needs the state of the round before.
pub const MIN_RETAIN_ROUNDS: u64 = 16;

/// The compute role: run a ParaTime for its committee.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComputeSection {
    /// The runtime id (64 hex digits).
    pub runtime: String,
    /// The ParaTime binary (absolute, or relative to the node's home).
    pub binary: String,
    /// Arguments given to the binary before `--socket <path>`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub binary_args: Vec<String>,
    /// Where the runtime p2p network listens (`host:port`).
    pub p2p_listen: String,
    /// Other compute nodes' runtime p2p addresses (`host:port`).
    #[serde(default)]
    pub p2p_peers: Vec<String>,
    /// For an EVM ParaTime: where its Ethereum JSON-RPC listens (`host:port`, HTTP and
    /// WebSocket on one port), if this node serves it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eth_rpc_listen: Option<String>,
    /// With nothing to do for this many milliseconds, propose an empty round (when this
    /// node is the round's first scheduler), so the ParaTime's rounds keep coming while idle
    /// (an EVM ParaTime's blocks: Ethereum clients wait for new blocks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty_round_interval_ms: Option<u64>,
    /// At most this many empty rounds in a row after the last round with transactions
    /// (unset: no limit, an idle ParaTime's rounds go on every `empty_round_interval_ms`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty_round_limit: Option<u32>,
    /// Keep the state of the last this many finalized rounds and forget older ones (unset:
    /// keep every round, an archive). An EVM ParaTime answers state queries (`eth_call`,
    /// `eth_getBalance`, ...) at blocks inside this window; its blocks, transactions,
    /// receipts and logs stay in the JSON-RPC's index either way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retain_rounds: Option<u64>,
    /// More than this many rounds behind (after downtime, or joining late), restore the
    /// latest round's state from a peer's checkpoint, verified against the runtime block,
    /// instead of replaying every round; `0`: only when the rounds can no longer be
    /// replayed (an archive that wants every round). Unset: 1,000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_sync_behind: Option<u64>,
    /// The longest a runtime call (a batch, a check, a query) may take, in seconds, before
    /// the runtime is taken for hung and restarted. Unset: 30. A ParaTime whose batches are
    /// heavy (the FHE ParaTime's hold up to 30 s of reference work) needs more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_timeout_secs: Option<u64>,
    /// How long the runtime process may take to start and connect, in seconds. Unset: 10.
    /// The FHE ParaTime runs its known-answer test first (about 15 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_timeout_secs: Option<u64>,
    /// TEST ONLY: a byzantine mode (`dishonest`, `straggler`, `runaway-proposer`,
    /// `bogus-batch`, `invalid-batch-hash`, `failure-indicating`, `equivocation`,
    /// `withholding-scheduler`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub byzantine: Option<String>,
    /// The runtime runs in a simulated TEE (`[compute.tee]`): the runtime's descriptor
    /// requires `simulated` hardware, and the chain's genesis must allow it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tee: Option<ComputeTee>,
}

/// A runtime's simulated TEE: devnets only — the "enclave" is an ordinary process.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComputeTee {
    /// The simulated machine's file (its keys; absolute, or relative to the node's home).
    /// Only the runtime process reads it.
    pub simulated_machine: String,
    /// The collateral file (the JSON a PCCS serves, from the same simulation PKI), added
    /// to every attestation; replace it to renew the collateral.
    pub collateral: String,
}

/// The whole configuration.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// A name for logs and metrics.
    pub moniker: String,
    /// Validator or full node.
    pub role: Role,
    /// Peer-to-peer networking.
    pub p2p: P2pConfig,
    /// The client API.
    pub api: ApiConfig,
    /// Metrics.
    pub metrics: MetricsConfig,
    /// The mempool.
    pub mempool: MempoolSection,
    /// Pruning.
    pub pruning: PruningConfig,
    /// State checkpoints (absent in files written before they existed: the defaults).
    #[serde(default)]
    pub checkpoints: CheckpointConfig,
    /// Consensus timeouts.
    pub timeouts: ConsensusTimeouts,
    /// Test-only misbehaviour (absent from normal configuration files).
    #[serde(default, skip_serializing_if = "is_default")]
    pub byzantine: ByzantineSection,
    /// The compute role: one `[[compute]]` section per ParaTime this node runs (a single
    /// `[compute]` table is read as one).
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "one_or_many")]
    pub compute: Vec<ComputeSection>,
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<ComputeSection>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(Box<ComputeSection>),
        Many(Vec<ComputeSection>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(section) => vec![*section],
        OneOrMany::Many(sections) => sections,
    })
}

fn is_default(section: &ByzantineSection) -> bool {
    *section == ByzantineSection::default()
}

/// Why the configuration is unusable.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read or written.
    #[error("config file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What happened.
        source: std::io::Error,
    },
    /// The file is not valid TOML for a node configuration.
    #[error("config file {path}: {reason}")]
    Parse {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A value is out of range.
    #[error("config: {0}")]
    Invalid(String),
}

fn check_address(what: &str, address: &str) -> Result<(), ConfigError> {
    let (host, port) = address
        .rsplit_once(':')
        .ok_or_else(|| ConfigError::Invalid(format!("{what} {address:?} is not host:port")))?;
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(ConfigError::Invalid(format!("{what} {address:?} is not host:port")));
    }
    Ok(())
}

impl NodeConfig {
    /// Defaults for a node called `moniker`, listening on `p2p_port` and the two ports after
    /// it for the API and metrics.
    pub fn new(moniker: &str, role: Role, p2p_port: u16) -> Self {
        Self {
            moniker: moniker.to_owned(),
            role,
            p2p: P2pConfig {
                listen: format!("0.0.0.0:{p2p_port}"),
                external: format!("127.0.0.1:{p2p_port}"),
                persistent_peers: Vec::new(),
                tx_gossip_listen: format!("0.0.0.0:{}", p2p_port.saturating_add(3)),
                tx_gossip_peers: Vec::new(),
            },
            api: ApiConfig {
                listen: format!("127.0.0.1:{}", p2p_port.saturating_add(1)),
                max_body_bytes: 1 << 20,
                rate_limit_per_second: default_rate_limit(),
                rate_limit_burst: default_rate_burst(),
                max_streams: default_max_streams(),
            },
            metrics: MetricsConfig {
                enabled: true,
                listen: format!("127.0.0.1:{}", p2p_port.saturating_add(2)),
            },
            mempool: MempoolSection { max_txs: 50_000, max_bytes: 64 << 20, min_gas_price: 0 },
            pruning: PruningConfig { keep_state_versions: 0, keep_blocks: 0 },
            checkpoints: CheckpointConfig::default(),
            timeouts: ConsensusTimeouts {
                propose_ms: 1_000,
                prevote_ms: 500,
                precommit_ms: 500,
                commit_ms: 100,
                empty_block_interval_ms: 0,
            },
            byzantine: ByzantineSection::default(),
            compute: Vec::new(),
        }
    }

    /// Checks every value.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.moniker.is_empty() || self.moniker.len() > 64 {
            return Err(ConfigError::Invalid("moniker must be 1-64 characters".into()));
        }
        check_address("p2p.listen", &self.p2p.listen)?;
        check_address("p2p.external", &self.p2p.external)?;
        for peer in &self.p2p.persistent_peers {
            check_address("p2p.persistent_peers", peer)?;
        }
        if !self.p2p.tx_gossip_listen.is_empty() {
            check_address("p2p.tx_gossip_listen", &self.p2p.tx_gossip_listen)?;
        }
        for peer in &self.p2p.tx_gossip_peers {
            check_address("p2p.tx_gossip_peers", peer)?;
        }
        check_address("api.listen", &self.api.listen)?;
        check_address("metrics.listen", &self.metrics.listen)?;
        if self.api.max_body_bytes == 0 || self.mempool.max_txs == 0 || self.mempool.max_bytes == 0
        {
            return Err(ConfigError::Invalid(
                "api.max_body_bytes, mempool.max_txs and mempool.max_bytes must be positive".into(),
            ));
        }
        let t = &self.timeouts;
        if [t.propose_ms, t.prevote_ms, t.precommit_ms].contains(&0) {
            return Err(ConfigError::Invalid("consensus timeouts must be positive".into()));
        }
        if t.empty_block_interval_ms >= t.propose_ms && t.empty_block_interval_ms > 0 {
            return Err(ConfigError::Invalid(
                "timeouts.empty_block_interval_ms must be below propose_ms: the others wait \
                 propose_ms for the proposal"
                    .into(),
            ));
        }
        let mut runtimes = std::collections::BTreeSet::new();
        let mut listens = std::collections::BTreeSet::new();
        for compute in &self.compute {
            if !runtimes.insert(&compute.runtime) || !listens.insert(&compute.p2p_listen) {
                return Err(ConfigError::Invalid(
                    "each [[compute]] section needs its own runtime and p2p_listen".into(),
                ));
            }
            if compute.runtime.parse::<atoll_types::RuntimeId>().is_err() {
                return Err(ConfigError::Invalid("compute.runtime is not a runtime id".into()));
            }
            if compute.binary.is_empty() {
                return Err(ConfigError::Invalid("compute.binary is empty".into()));
            }
            check_address("compute.p2p_listen", &compute.p2p_listen)?;
            for peer in &compute.p2p_peers {
                check_address("compute.p2p_peers", peer)?;
            }
            if compute.retain_rounds.is_some_and(|rounds| rounds < MIN_RETAIN_ROUNDS) {
                return Err(ConfigError::Invalid(format!(
                    "compute.retain_rounds must be at least {MIN_RETAIN_ROUNDS}"
                )));
            }
            if let Some(mode) = &compute.byzantine {
                mode.parse::<atoll_compute::ByzantineMode>().map_err(ConfigError::Invalid)?;
            }
            if compute
                .tee
                .as_ref()
                .is_some_and(|t| t.simulated_machine.is_empty() || t.collateral.is_empty())
            {
                return Err(ConfigError::Invalid(
                    "compute.tee needs simulated_machine and collateral".into(),
                ));
            }
        }
        Ok(())
    }

    /// The configuration as TOML, with a comment above each setting.
    pub fn to_documented_toml(&self) -> String {
        let value = |v: &str| toml::Value::String(v.to_owned()).to_string();
        let peers =
            self.p2p.persistent_peers.iter().map(|p| value(p)).collect::<Vec<_>>().join(", ");
        let gossip_peers =
            self.p2p.tx_gossip_peers.iter().map(|p| value(p)).collect::<Vec<_>>().join(", ");
        format!(
            "# Atoll node configuration. Every setting is shown with its value; edit and restart.\n\n\
             # A name for logs and metrics.\nmoniker = {}\n\
             # \"validator\" votes in consensus when elected; \"full\" only follows the chain.\nrole = {}\n\n\
             [p2p]\n# Where to listen for peers (host:port).\nlisten = {}\n\
             # The address other nodes use to reach this one (registered on chain).\nexternal = {}\n\
             # Peers to stay connected to, e.g. [\"10.0.0.2:26656\"].\npersistent_peers = [{peers}]\n\
             # Transaction gossip between mempools (host:port; \"\" turns it off) and the peers' gossip addresses.\ntx_gossip_listen = {}\ntx_gossip_peers = [{gossip_peers}]\n\n\
             [api]\n# REST and WebSocket API (host:port). Keep it on 127.0.0.1 unless a proxy fronts it.\nlisten = {}\n\
             # Largest request body in bytes; larger requests get 413.\nmax_body_bytes = {}\n\
             # Requests per second per client IP, and the burst allowed (0 = no limit); over it, 429.\nrate_limit_per_second = {}\nrate_limit_burst = {}\n\
             # WebSocket streams open at once (each follows every block); more get 503.\nmax_streams = {}\n\n\
             [metrics]\n# Serve Prometheus metrics at http://<listen>/metrics.\nenabled = {}\nlisten = {}\n\n\
             [mempool]\n# Bounds on pending transactions; when full, better-paying transactions evict worse ones.\nmax_txs = {}\nmax_bytes = {}\n\
             # Lowest gas price this node admits (a local policy on top of the chain's consensus minimum).\nmin_gas_price = {}\n\n\
             [pruning]\n# State versions and blocks to keep; 0 keeps everything. At least 1,001 state versions\n# are kept (the evidence window: double signing is judged against its height's validators).\nkeep_state_versions = {}\nkeep_blocks = {}\n\n\
             [checkpoints]\n# A checkpoint of the state every `interval` heights (0: none), for new nodes to\n# state-sync from; the latest `keep` are served, and their states kept from pruning.\ninterval = {}\nkeep = {}\n\n\
             [timeouts]\n# Consensus round timeouts in milliseconds.\npropose_ms = {}\nprevote_ms = {}\nprecommit_ms = {}\n\
             # Shortest time per height (late precommits are collected meanwhile); 0 = none.\ncommit_ms = {}\n\
             # With nothing to include, wait this long after a block for a transaction before\n\
             # proposing an empty one (below propose_ms); 0 = propose at once.\nempty_block_interval_ms = {}\n{}{}",
            value(&self.moniker),
            value(match self.role {
                Role::Validator => "validator",
                Role::Full => "full",
            }),
            value(&self.p2p.listen),
            value(&self.p2p.external),
            value(&self.p2p.tx_gossip_listen),
            value(&self.api.listen),
            self.api.max_body_bytes,
            self.api.rate_limit_per_second,
            self.api.rate_limit_burst,
            self.api.max_streams,
            self.metrics.enabled,
            value(&self.metrics.listen),
            self.mempool.max_txs,
            self.mempool.max_bytes,
            self.mempool.min_gas_price,
            self.pruning.keep_state_versions,
            self.pruning.keep_blocks,
            self.checkpoints.interval,
            self.checkpoints.keep,
            self.timeouts.propose_ms,
            self.timeouts.prevote_ms,
            self.timeouts.precommit_ms,
            self.timeouts.commit_ms,
            self.timeouts.empty_block_interval_ms,
            match self.byzantine.double_sign_from_height {
                Some(h) => format!(
                    "\n[byzantine]\n# TEST ONLY: double-sign from this height (the validator gets slashed).\n\
                     double_sign_from_height = {h}\n"
                ),
                None => String::new(),
            },
            self.compute
                .iter()
                .map(|c| format!(
                    "\n[[compute]]\n# Run this ParaTime for its committee (runtime id, binary path).\n\
                     runtime = {}\nbinary = {}\n{}\
                     # The ParaTime p2p network (host:port) and the other compute nodes' addresses.\n\
                     p2p_listen = {}\np2p_peers = [{}]\n{}{}{}{}{}{}{}{}{}",
                    value(&c.runtime),
                    value(&c.binary),
                    if c.binary_args.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "# Arguments before --socket.\nbinary_args = [{}]\n",
                            c.binary_args.iter().map(|a| value(a)).collect::<Vec<_>>().join(", ")
                        )
                    },
                    value(&c.p2p_listen),
                    c.p2p_peers.iter().map(|p| value(p)).collect::<Vec<_>>().join(", "),
                    match &c.eth_rpc_listen {
                        Some(listen) => format!(
                            "# An EVM ParaTime's Ethereum JSON-RPC (HTTP and WebSocket, host:port).\n\
                             eth_rpc_listen = {}\n",
                            value(listen)
                        ),
                        None => String::new(),
                    },
                    match &c.empty_round_interval_ms {
                        Some(ms) => format!(
                            "# Propose an empty round after this many idle milliseconds.\n\
                             empty_round_interval_ms = {ms}\n"
                        ),
                        None => String::new(),
                    },
                    match &c.empty_round_limit {
                        Some(limit) => format!(
                            "# At most this many empty rounds in a row after one with transactions.\n\
                             empty_round_limit = {limit}\n"
                        ),
                        None => String::new(),
                    },
                    match &c.retain_rounds {
                        Some(rounds) => format!(
                            "# Keep the state of the last this many rounds (unset: all of them).\n\
                             retain_rounds = {rounds}\n"
                        ),
                        None => String::new(),
                    },
                    match &c.state_sync_behind {
                        Some(rounds) => format!(
                            "# Further behind than this many rounds, restore from a checkpoint \
                             (0: only when replay is impossible).\nstate_sync_behind = {rounds}\n"
                        ),
                        None => String::new(),
                    },
                    match &c.call_timeout_secs {
                        Some(secs) => format!(
                            "# A runtime call taking longer than this many seconds is a hang.\n\
                             call_timeout_secs = {secs}\n"
                        ),
                        None => String::new(),
                    },
                    match &c.start_timeout_secs {
                        Some(secs) => format!(
                            "# The runtime process must connect within this many seconds.\n\
                             start_timeout_secs = {secs}\n"
                        ),
                        None => String::new(),
                    },
                    match &c.byzantine {
                        Some(mode) => format!(
                            "# TEST ONLY: misbehave on purpose.\nbyzantine = {}\n",
                            value(mode)
                        ),
                        None => String::new(),
                    },
                    match &c.tee {
                        Some(tee) => format!(
                            "[compute.tee]\n# A SIMULATED TEE (devnets only: no hardware isolation): the \
                             machine file\n# (read by the runtime process only) and the collateral.\n\
                             simulated_machine = {}\ncollateral = {}\n",
                            value(&tee.simulated_machine),
                            value(&tee.collateral)
                        ),
                        None => String::new(),
                    }
                ))
                .collect::<String>(),
        )
    }

    /// Writes the documented configuration to `path`.
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        std::fs::write(path, self.to_documented_toml())
            .map_err(|source| ConfigError::Io { path: path.display().to_string(), source })
    }

    /// Reads and validates the configuration at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let display = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Io { path: display.clone(), source })?;
        let config: NodeConfig = toml::from_str(&text)
            .map_err(|e| ConfigError::Parse { path: display, reason: e.to_string() })?;
        config.validate()?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_toml_round_trips_and_bad_values_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.toml");
        let mut config = NodeConfig::new("node-0", Role::Validator, 26656);
        config.p2p.persistent_peers = vec!["10.0.0.2:26656".into()];
        config.save(&path).expect("save");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.contains("# Where to listen for peers"));
        assert_eq!(NodeConfig::load(&path).expect("load"), config);

        std::fs::write(&path, text.replace("listen = \"0.0.0.0:26656\"", "listen = \"nowhere\""))
            .expect("write");
        assert!(matches!(NodeConfig::load(&path), Err(ConfigError::Invalid(_))));
        std::fs::write(&path, "moniker = \"x\"\nsurprise = 1\n").expect("write");
        assert!(matches!(NodeConfig::load(&path), Err(ConfigError::Parse { .. })));
        assert!(matches!(
            NodeConfig::load(&dir.path().join("missing.toml")),
            Err(ConfigError::Io { .. })
        ));
    }

    #[test]
    fn a_node_runs_several_paratimes_and_an_old_single_section_still_reads() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.toml");
        let section = |runtime: u8, port: u16| ComputeSection {
            runtime: hex::encode([runtime; 32]),
            binary: "paratime".into(),
            binary_args: Vec::new(),
            p2p_listen: format!("127.0.0.1:{port}"),
            p2p_peers: vec!["127.0.0.1:9000".into()],
            eth_rpc_listen: (runtime == 2).then(|| format!("127.0.0.1:{}", port + 1)),
            empty_round_interval_ms: (runtime == 2).then_some(2_000),
            empty_round_limit: (runtime == 2).then_some(2),
            retain_rounds: (runtime == 2).then_some(1_000),
            state_sync_behind: (runtime == 2).then_some(0),
            tee: (runtime == 2).then(|| ComputeTee {
                simulated_machine: "tee/machine.json".into(),
                collateral: "tee/collateral.json".into(),
            }),
            call_timeout_secs: (runtime == 2).then_some(300),
            start_timeout_secs: (runtime == 2).then_some(180),
            byzantine: None,
        };
        let mut config = NodeConfig::new("node-0", Role::Full, 26656);
        config.compute = vec![section(1, 7000), section(2, 7001)];
        config.save(&path).expect("save");
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(text.matches("[[compute]]").count(), 2);
        assert_eq!(NodeConfig::load(&path).expect("load"), config);
        // The single-table form of earlier configuration files is one section.
        std::fs::write(
            &path,
            text.replacen("[[compute]]", "[compute]", 1)
                .split("\n[[compute]]")
                .next()
                .expect("first"),
        )
        .expect("write");
        assert_eq!(NodeConfig::load(&path).expect("load").compute, vec![section(1, 7000)]);
        // Two sections for one runtime, or on one port, are refused.
        config.compute = vec![section(1, 7000), section(1, 7001)];
        assert!(matches!(config.validate(), Err(ConfigError::Invalid(_))));
        config.compute = vec![section(1, 7000), section(2, 7000)];
        assert!(matches!(config.validate(), Err(ConfigError::Invalid(_))));
    }
}
