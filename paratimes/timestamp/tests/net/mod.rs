//! A ParaTime test network: nodes that are validators and compute nodes at once, in this
//! process on 127.0.0.1 (real sockets, real disks), each running the timestamping ParaTime
//! as a child process; one of them may run a byzantine mode.

#![allow(dead_code, unreachable_pub)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::Duration;

use atoll_compute::Compute;
use atoll_consensus::registry::types::Version;
use atoll_consensus::roothash::{RoothashEvent, SubmitMsg, SUBMIT_MSG};
use atoll_consensus::{Event, Fee, Genesis, Transaction};
use atoll_crypto::MemorySigner;
use atoll_engine::bft::NodeHandle;
use atoll_node::config::{ComputeSection, Role};
use atoll_node::genesis::{self, RuntimeShape};
use atoll_node::{run, NodeConfig, NodeKeys};
use atoll_runtime_sdk::modules::{accounts, consensus_accounts};
use atoll_runtime_sdk::transaction::runtime_chain_context;
use atoll_runtime_sdk::{SignerInfo, Transaction as RuntimeTransaction};
use atoll_timestamp::{runtime_id, Anchor, ANCHOR};
use atoll_types::{Address, Amount, Hash, Height, Signed, Signer};
use borsh::BorshSerialize;

/// One token in base units.
pub const TOKEN: u128 = 1_000_000_000;
/// The runtime fee of every test transaction.
pub const RUNTIME_FEE: atoll_runtime_sdk::Fee =
    atoll_runtime_sdk::Fee { amount: Amount::new(20_000), gas: 20_000 };

/// Scenarios run one at a time: each starts several nodes and ParaTime processes.
pub static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// The user who deposits, anchors and withdraws.
pub fn user() -> MemorySigner {
    MemorySigner::from_seed([42; 32])
}

pub struct Net {
    pub dir: tempfile::TempDir,
    pub homes: Vec<PathBuf>,
    pub configs: Vec<NodeConfig>,
    pub genesis: Genesis,
}

/// `n` nodes, validators and compute nodes all, serving the timestamping ParaTime with
/// `shape`; node `byzantine.0` runs mode `byzantine.1`.
pub fn network(n: usize, shape: RuntimeShape, byzantine: Option<(usize, &str)>) -> Net {
    network_with(n, shape, byzantine, |_| {})
}

/// [`network`] with the genesis changed by `configure` (after the runtime is added).
pub fn network_with(
    n: usize,
    shape: RuntimeShape,
    byzantine: Option<(usize, &str)>,
    configure: impl FnOnce(&mut Genesis),
) -> Net {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut genesis = genesis::new_genesis("atoll-paratime-test", "ATL", 9, 100_000);
    let mut homes = Vec::new();
    let mut configs = Vec::new();
    let mut owner = None;
    for i in 0..n {
        let home = dir.path().join(format!("node{i}"));
        let keys = NodeKeys::generate(&home).expect("keys");
        let port = free_port();
        let mut config = NodeConfig::new(&format!("node{i}"), Role::Validator, port);
        config.p2p.listen = format!("127.0.0.1:{port}");
        config.p2p.tx_gossip_listen = format!("127.0.0.1:{}", free_port());
        config.api.listen = format!("127.0.0.1:{}", free_port());
        config.metrics.enabled = false;
        config.timeouts.propose_ms = 800;
        config.timeouts.prevote_ms = 300;
        config.timeouts.precommit_ms = 300;
        config.timeouts.commit_ms = 150;
        let identity = keys.identity(&config.p2p.external);
        owner.get_or_insert(identity.entity_id);
        genesis::add_validator(
            &mut genesis,
            &identity,
            Amount::new(1_000 * TOKEN),
            Amount::new(1_000 * TOKEN),
            true,
        )
        .expect("validator");
        config.compute = vec![ComputeSection {
            runtime: runtime_id().to_string(),
            binary: env!("CARGO_BIN_EXE_atoll-timestamp").to_owned(),
            binary_args: Vec::new(),
            p2p_listen: format!("127.0.0.1:{}", free_port()),
            p2p_peers: Vec::new(),
            byzantine: byzantine.filter(|(b, _)| *b == i).map(|(_, m)| m.to_owned()),
        }];
        homes.push(home);
        configs.push(config);
    }
    genesis::add_balance(
        &mut genesis,
        Address::from_public_key(&user().public_key()),
        Amount::new(1_000_000 * TOKEN),
    )
    .expect("user");
    genesis::add_compute_runtime(
        &mut genesis,
        runtime_id(),
        Version { major: 0, minor: 1, patch: 0 },
        owner.expect("an entity"),
        shape,
    )
    .expect("runtime");
    configure(&mut genesis);
    let others = |all: &[String], i: usize| -> Vec<String> {
        all.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, l)| l.clone()).collect()
    };
    let listens: Vec<String> = configs.iter().map(|c| c.p2p.listen.clone()).collect();
    let gossip: Vec<String> = configs.iter().map(|c| c.p2p.tx_gossip_listen.clone()).collect();
    let runtime_p2p: Vec<String> = configs
        .iter()
        .map(|c| c.compute.first().map(|s| s.p2p_listen.clone()).unwrap_or_default())
        .collect();
    for (i, config) in configs.iter_mut().enumerate() {
        config.p2p.persistent_peers = others(&listens, i);
        config.p2p.tx_gossip_peers = others(&gossip, i);
        for compute in &mut config.compute {
            compute.p2p_peers = others(&runtime_p2p, i);
        }
        config.save(&homes[i].join(run::CONFIG_FILE)).expect("config");
    }
    genesis.validate().expect("genesis");
    for home in &homes {
        std::fs::write(home.join(run::GENESIS_FILE), genesis.to_json()).expect("genesis");
    }
    Net { dir, homes, configs, genesis }
}

/// A running node and its compute role.
pub struct Running {
    pub node: NodeHandle,
    pub compute: Compute,
}

impl Net {
    pub async fn start(&self, i: usize) -> Running {
        let node = run::start(&self.homes[i], &self.configs[i]).await.expect("node starts");
        let section = self.configs[i].compute.first().expect("compute section");
        let compute =
            run::start_compute(&self.homes[i], section, node.view()).expect("compute starts");
        Running { node, compute }
    }

    pub async fn start_all(&self) -> Vec<Option<Running>> {
        let mut out = Vec::new();
        for i in 0..self.homes.len() {
            out.push(Some(self.start(i).await));
        }
        out
    }
}

pub async fn stop(running: Running) {
    running.compute.shutdown().await;
    running.node.shutdown().await;
}

pub async fn stop_all(nodes: Vec<Option<Running>>) {
    for running in nodes.into_iter().flatten() {
        stop(running).await;
    }
}

/// The first running node.
pub fn first(nodes: &[Option<Running>]) -> &Running {
    nodes.iter().flatten().next().expect("a running node")
}

/// Submits a consensus transaction signed by `key` (with its next nonce) to `node`.
pub fn consensus_tx<B: BorshSerialize>(
    node: &NodeHandle,
    key: &MemorySigner,
    method: &str,
    body: &B,
) {
    let address = Address::from_public_key(&key.public_key());
    let tree = node.state().tree_at(Height(node.status().height)).expect("state");
    let nonce = atoll_consensus::staking::account(&tree, &address).expect("account").general.nonce;
    drop(tree);
    let tx =
        Transaction::new(nonce, Fee { amount: Amount::new(100_000), gas: 100_000 }, method, body);
    let raw = atoll_types::encode(&Signed::sign(key, &node.chain_context(), &tx));
    node.submit(raw).expect("consensus transaction admitted");
}

/// Deposits `amount` base units from the user into the ParaTime.
pub fn deposit(node: &NodeHandle, amount: u128) {
    consensus_tx(
        node,
        &user(),
        SUBMIT_MSG,
        &SubmitMsg { runtime: runtime_id(), amount: Amount::new(amount), to: None },
    );
}

/// A runtime transaction from the user.
pub fn runtime_tx<B: BorshSerialize>(
    node: &NodeHandle,
    nonce: u64,
    method: &str,
    body: &B,
) -> Vec<u8> {
    let key = user();
    let tx = RuntimeTransaction::new(
        method,
        body,
        vec![SignerInfo { public_key: key.public_key(), nonce }],
        RUNTIME_FEE,
    );
    let chain = runtime_chain_context(&node.chain_context(), &runtime_id());
    atoll_types::encode(&tx.sign(&[&key], &chain))
}

pub fn anchor_tx(node: &NodeHandle, nonce: u64, document: Hash) -> Vec<u8> {
    runtime_tx(node, nonce, ANCHOR, &Anchor { document, metadata: None })
}

pub fn withdraw_tx(node: &NodeHandle, nonce: u64, amount: u128) -> Vec<u8> {
    let body = consensus_accounts::Withdraw {
        to: Address::from_public_key(&user().public_key()),
        amount: Amount::new(amount),
    };
    runtime_tx(node, nonce, consensus_accounts::WITHDRAW, &body)
}

/// The user's balance inside the ParaTime, as `running`'s latest stored round says.
pub async fn runtime_balance(running: &Running) -> u128 {
    let args = atoll_types::encode(&Address::from_public_key(&user().public_key()));
    match running.compute.handle().query(accounts::BALANCE.to_owned(), args).await {
        Ok(bytes) => atoll_types::decode::<Amount>(&bytes, 64).map_or(0, |a| a.base_units()),
        Err(_) => 0,
    }
}

/// A consensus account's general balance at `node`'s latest height.
pub fn consensus_balance(node: &NodeHandle, address: &Address) -> u128 {
    let tree = node.state().tree_at(Height(node.status().height)).expect("state");
    atoll_consensus::staking::account(&tree, address).expect("account").general.balance.base_units()
}

/// Every roothash event in blocks `from..=node's height`.
pub fn roothash_events(node: &NodeHandle, from: u64) -> Vec<(u64, RoothashEvent)> {
    let mut out = Vec::new();
    for h in from..=node.status().height {
        if let Ok(Some(results)) = node.blocks().results(Height(h)) {
            for record in results.events {
                if let Event::Roothash(e) = record.event {
                    out.push((h, e));
                }
            }
        }
    }
    out
}

/// Polls `check` every 200 ms until it holds, or panics after `limit` with `what` (a
/// liveness failure, not a timing assertion).
pub async fn eventually<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if check().await {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "gave up waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// What a stalled ParaTime looks like from `node`: the consensus height, the runtime's
/// state (round, pool, commitments) and its last roothash events. Printed when a liveness
/// wait gives up, so a rare stall can be explained from the test's output alone.
pub fn stall_report(node: &NodeHandle) -> String {
    let height = node.status().height;
    let state = node.state().tree_at(Height(height)).ok().and_then(|tree| {
        atoll_consensus::roothash::runtime_state(&tree, &runtime_id()).ok().flatten()
    });
    let events = roothash_events(node, height.saturating_sub(60));
    let tail: Vec<String> =
        events.iter().rev().take(12).rev().map(|(h, e)| format!("  {h}: {e:?}")).collect();
    match state {
        Some(s) => format!(
            "height {height}; round {} (block at {}), last normal {}; pool {:?}; commitments from {:?}\nlast events:\n{}",
            s.last_block.round.0,
            s.last_block_height.0,
            s.last_normal_round.0,
            s.pool,
            s.commitments.iter().map(|c| c.signer().to_string()).collect::<Vec<_>>(),
            tail.join("\n"),
        ),
        None => format!("height {height}; no runtime state"),
    }
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

/// The identity (commitment signer) of node `i`.
pub fn node_id(net: &Net, i: usize) -> atoll_types::PublicKey {
    NodeKeys::load(&net.homes[i]).expect("keys").identity.public_key()
}

/// Submits an anchor from the user every 250 ms through `compute` until dropped, so rounds
/// keep coming.
pub struct Load {
    task: tokio::task::JoinHandle<()>,
}

impl Load {
    pub fn start(
        node: &NodeHandle,
        compute: atoll_compute::ComputeHandle,
        first_nonce: u64,
    ) -> Self {
        let view = node.view();
        let task = tokio::spawn(async move {
            let mut nonce = first_nonce;
            loop {
                let key = user();
                let tx = RuntimeTransaction::new(
                    ANCHOR,
                    &Anchor { document: Hash::digest(&nonce.to_le_bytes()), metadata: None },
                    vec![SignerInfo { public_key: key.public_key(), nonce }],
                    RUNTIME_FEE,
                );
                let chain = runtime_chain_context(&view.chain_context(), &runtime_id());
                let raw = atoll_types::encode(&tx.sign(&[&key], &chain));
                if compute.submit(raw).await.is_ok() {
                    nonce += 1;
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        });
        Self { task }
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Rounds decided (finalized or failed) in `events`.
pub fn decided(events: &[(u64, RoothashEvent)]) -> usize {
    events
        .iter()
        .filter(|(_, e)| {
            matches!(e, RoothashEvent::Finalized { .. } | RoothashEvent::RoundFailed { .. })
        })
        .count()
}

/// Starts `net`, funds the user in the ParaTime and keeps anchors coming until `done` holds
/// for the roothash events seen (or the limit passes); returns the events and the nodes.
pub async fn run_until(
    net: &Net,
    limit: Duration,
    done: impl Fn(&[(u64, RoothashEvent)]) -> bool,
) -> (Vec<(u64, RoothashEvent)>, Vec<Option<Running>>) {
    let nodes = net.start_all().await;
    let n0 = first(&nodes);
    eventually("first blocks", limit, || async { n0.node.status().height >= 2 }).await;
    deposit(&n0.node, 1_000 * TOKEN);
    eventually("the deposit reaches the ParaTime", limit, || async {
        runtime_balance(n0).await > 0
    })
    .await;
    let load = Load::start(&n0.node, n0.compute.handle(), 0);
    eventually("the scenario's outcome", limit, || async { done(&roothash_events(&n0.node, 1)) })
        .await;
    drop(load);
    let events = roothash_events(&n0.node, 1);
    (events, nodes)
}

/// The runtime's committee in force on `node`.
pub fn pool_committee(node: &NodeHandle) -> atoll_consensus::roothash::pool::PoolCommittee {
    let tree = node.state().tree_at(Height(node.status().height)).expect("state");
    atoll_consensus::roothash::runtime_state(&tree, &runtime_id())
        .expect("read")
        .and_then(|s| s.committee)
        .expect("a committee")
        .pool
}
