//! A local test network: validators (and full nodes) in this process, on 127.0.0.1, each
//! with its own home directory, keys, config and data on disk, talking over real sockets.

#![allow(dead_code, unreachable_pub)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use atoll_consensus::Genesis;
use atoll_engine::bft::NodeHandle;
use atoll_node::config::{ApiConfig, Role};
use atoll_node::{genesis, run, NodeConfig, NodeKeys};
use atoll_types::{Amount, Hash, Height};

/// One token in base units (9 decimals).
pub const TOKEN: u128 = 1_000_000_000;

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// A node's home and configuration.
pub struct NodeSetup {
    pub home: PathBuf,
    pub config: NodeConfig,
}

/// A network under test.
pub struct Testnet {
    pub dir: tempfile::TempDir,
    pub setups: Vec<NodeSetup>,
    pub genesis: Genesis,
}

/// Per-validator escrow, in tokens.
pub fn testnet(
    validators: usize,
    full_nodes: usize,
    escrow: &[u128],
    epoch_interval: u64,
) -> Testnet {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut genesis = genesis::new_genesis("atoll-testnet", "ATL", 9, epoch_interval);
    let mut setups = Vec::new();
    for i in 0..validators + full_nodes {
        let home = dir.path().join(format!("node{i}"));
        let port = free_port();
        let keys = NodeKeys::generate(&home).expect("keys");
        let role = if i < validators { Role::Validator } else { Role::Full };
        let mut config = NodeConfig::new(&format!("node{i}"), role, port);
        config.p2p.listen = format!("127.0.0.1:{port}");
        config.p2p.tx_gossip_listen = format!("127.0.0.1:{}", free_port());
        config.timeouts.propose_ms = 800;
        config.timeouts.prevote_ms = 300;
        config.timeouts.precommit_ms = 300;
        config.timeouts.commit_ms = 0;
        if i < validators {
            let identity = keys.identity(&config.p2p.external);
            let stake = escrow.get(i).copied().unwrap_or(1_000);
            genesis::add_validator(
                &mut genesis,
                &identity,
                Amount::new(stake * TOKEN),
                Amount::new(1_000 * TOKEN),
                false,
            )
            .expect("add validator");
        }
        setups.push(NodeSetup { home, config });
    }
    let listens: Vec<String> = setups.iter().map(|s| s.config.p2p.listen.clone()).collect();
    let gossip: Vec<String> =
        setups.iter().map(|s| s.config.p2p.tx_gossip_listen.clone()).collect();
    let others = |all: &[String], i: usize| -> Vec<String> {
        all.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, l)| l.clone()).collect()
    };
    for (i, setup) in setups.iter_mut().enumerate() {
        setup.config.p2p.persistent_peers = others(&listens, i);
        setup.config.p2p.tx_gossip_peers = others(&gossip, i);
        setup.config.save(&setup.home.join(run::CONFIG_FILE)).expect("config");
    }
    genesis.validate().expect("genesis valid");
    for setup in &setups {
        std::fs::write(setup.home.join(run::GENESIS_FILE), genesis.to_json()).expect("genesis");
    }
    Testnet { dir, setups, genesis }
}

impl Testnet {
    /// Starts node `i`.
    pub async fn start(&self, i: usize) -> NodeHandle {
        let setup = &self.setups[i];
        run::start(&setup.home, &setup.config).await.expect("node starts")
    }

    /// Serves the API of `node` (node `i`, no ParaTimes) on a free port, with node `i`'s
    /// API configuration changed by `configure`.
    pub async fn serve_api(
        &self,
        i: usize,
        node: &NodeHandle,
        configure: impl FnOnce(&mut ApiConfig),
    ) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
        let mut config = self.setups[i].config.api.clone();
        config.listen = "127.0.0.1:0".into();
        configure(&mut config);
        atoll_node::api::serve(&config.listen, node.view(), Vec::new(), Vec::new(), &config)
            .await
            .expect("api")
    }

    /// Starts every node.
    pub async fn start_all(&self) -> Vec<NodeHandle> {
        let mut nodes = Vec::new();
        for i in 0..self.setups.len() {
            nodes.push(self.start(i).await);
        }
        nodes
    }

    pub fn home(&self, i: usize) -> &Path {
        &self.setups[i].home
    }
}

/// Waits until every node has committed `height`, or panics after `limit` (a liveness
/// failure, not a timing assertion).
pub async fn wait_for_height(nodes: &[&NodeHandle], height: u64, limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if nodes.iter().all(|n| n.status().height >= height) {
            return;
        }
        let heights: Vec<u64> = nodes.iter().map(|n| n.status().height).collect();
        assert!(
            tokio::time::Instant::now() < deadline,
            "nodes did not reach height {height}: {heights:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The (block id, app hash) of each height `1..=up_to` at `node`.
pub fn chain_of(node: &NodeHandle, up_to: u64) -> Vec<(Hash, Hash)> {
    (1..=up_to)
        .map(|h| {
            let block = node.blocks().block(Height(h)).expect("store").expect("block");
            (block.id(), block.header.app_hash)
        })
        .collect()
}

/// Installs a log subscriber once (set `RUST_LOG` to see node logs).
pub fn logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
}
