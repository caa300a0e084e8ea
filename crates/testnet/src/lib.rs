//! A ParaTime test network: nodes that are validators and compute nodes at once, in the
//! test's process on 127.0.0.1 (real sockets, real disks), each running the ParaTime under
//! test as a child process; one of them may run a byzantine mode. Used by the ParaTimes'
//! end-to-end scenarios; never by a production path.

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::Duration;

use atoll_compute::Compute;
use atoll_consensus::registry::types::Version;
use atoll_consensus::roothash::RoothashEvent;
use atoll_consensus::{Event, Fee, Genesis, Transaction};
use atoll_crypto::MemorySigner;
use atoll_engine::bft::NodeHandle;
use atoll_node::config::{ComputeSection, Role};
use atoll_node::genesis::{self, RuntimeShape};
use atoll_node::{run, NodeConfig, NodeKeys};
use atoll_types::{Address, Amount, Height, RuntimeId, Signed, Signer};
use borsh::BorshSerialize;

/// One token in base units.
pub const TOKEN: u128 = 1_000_000_000;

/// Scenarios run one at a time: each starts several nodes and ParaTime processes.
pub static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A free port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// The ParaTime the network runs.
#[derive(Clone, Debug)]
pub struct ParaTime {
    /// Its runtime id.
    pub id: RuntimeId,
    /// Its binary.
    pub binary: String,
    /// Arguments before `--socket`.
    pub args: Vec<String>,
}

/// A network's homes, configurations and genesis (in a temporary directory).
pub struct Net {
    /// Removed when the network is dropped.
    pub dir: tempfile::TempDir,
    /// Each node's home.
    pub homes: Vec<PathBuf>,
    /// Each node's configuration.
    pub configs: Vec<NodeConfig>,
    /// The genesis document.
    pub genesis: Genesis,
    /// The ParaTime's runtime id.
    pub runtime: RuntimeId,
}

/// `n` nodes, validators and compute nodes all, serving `paratime` with `shape`; node
/// `byzantine.0` runs mode `byzantine.1`; `funded` get a million tokens each; `configure`
/// changes the genesis last.
pub fn network(
    paratime: &ParaTime,
    n: usize,
    shape: RuntimeShape,
    byzantine: Option<(usize, &str)>,
    funded: &[Address],
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
            runtime: paratime.id.to_string(),
            binary: paratime.binary.clone(),
            binary_args: paratime.args.clone(),
            p2p_listen: format!("127.0.0.1:{}", free_port()),
            p2p_peers: Vec::new(),
            eth_rpc_listen: None,
            empty_round_interval_ms: None,
            empty_round_limit: None,
            retain_rounds: None,
            state_sync_behind: None,
            call_timeout_secs: None,
            start_timeout_secs: None,
            byzantine: byzantine.filter(|(b, _)| *b == i).map(|(_, m)| m.to_owned()),
            tee: None,
        }];
        homes.push(home);
        configs.push(config);
    }
    for address in funded {
        genesis::add_balance(&mut genesis, *address, Amount::new(1_000_000 * TOKEN))
            .expect("funded account");
    }
    genesis::add_compute_runtime(
        &mut genesis,
        paratime.id,
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
    Net { dir, homes, configs, genesis, runtime: paratime.id }
}

/// A running node and its compute role.
pub struct Running {
    /// The node.
    pub node: NodeHandle,
    /// Its compute role.
    pub compute: Compute,
}

impl Net {
    /// Starts node `i` and its compute role.
    pub async fn start(&self, i: usize) -> Running {
        let node = run::start(&self.homes[i], &self.configs[i]).await.expect("node starts");
        let section = self.configs[i].compute.first().expect("compute section");
        let compute =
            run::start_compute(&self.homes[i], section, node.view()).expect("compute starts");
        Running { node, compute }
    }

    /// Starts every node.
    pub async fn start_all(&self) -> Vec<Option<Running>> {
        let mut out = Vec::new();
        for i in 0..self.homes.len() {
            out.push(Some(self.start(i).await));
        }
        out
    }

    /// The identity (commitment signer) of node `i`.
    pub fn node_id(&self, i: usize) -> atoll_types::PublicKey {
        NodeKeys::load(&self.homes[i]).expect("keys").identity.public_key()
    }
}

/// Stops a node and its compute role.
pub async fn stop(running: Running) {
    running.compute.shutdown().await;
    running.node.shutdown().await;
}

/// Stops every node still running.
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

/// Rounds decided (finalized or failed) in `events`.
pub fn decided(events: &[(u64, RoothashEvent)]) -> usize {
    events
        .iter()
        .filter(|(_, e)| {
            matches!(e, RoothashEvent::Finalized { .. } | RoothashEvent::RoundFailed { .. })
        })
        .count()
}

/// Submits a runtime transaction to `running` and waits up to `limit` for its result in a
/// finalized round.
pub async fn submit_and_wait(
    running: &Running,
    raw: Vec<u8>,
    limit: Duration,
) -> atoll_compute::TxResult {
    let handle = running.compute.handle();
    let hash = handle.submit(raw).await.expect("transaction admitted");
    let mut result = None;
    eventually("the transaction finalizes", limit, || {
        let found = handle.result(&hash).ok().flatten();
        let done = found.is_some();
        if found.is_some() {
            result = found;
        }
        async move { done }
    })
    .await;
    result.expect("finalized")
}

/// Asserts what discrepancy detection promises for a dishonest worker `cheat` of
/// `runtime`, from `node`'s blocks: a discrepancy resolved against it by the backups, its
/// slashing for incorrect results, and no failed round.
pub fn assert_dishonest_caught(
    node: &NodeHandle,
    runtime: &RuntimeId,
    cheat: &atoll_types::PublicKey,
) {
    let events = roothash_events(node, 1);
    assert!(
        events.iter().any(|(_, e)| matches!(e, RoothashEvent::Finalized { discrepancy: true, bad, .. } if bad.contains(cheat))),
        "a discrepancy resolved against the dishonest node\n{}",
        stall_report(node, runtime)
    );
    assert!(events.iter().any(|(_, e)| matches!(e, RoothashEvent::NodeSlashed { node, reason: atoll_consensus::staking::SlashReason::RuntimeIncorrectResults, .. } if node == cheat)));
    assert!(
        !events.iter().any(|(_, e)| matches!(e, RoothashEvent::RoundFailed { .. })),
        "no round fails"
    );
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
pub fn stall_report(node: &NodeHandle, runtime: &RuntimeId) -> String {
    let height = node.status().height;
    let state =
        node.state().tree_at(Height(height)).ok().and_then(|tree| {
            atoll_consensus::roothash::runtime_state(&tree, runtime).ok().flatten()
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

/// The runtime's committee in force on `node`.
pub fn pool_committee(
    node: &NodeHandle,
    runtime: &RuntimeId,
) -> atoll_consensus::roothash::pool::PoolCommittee {
    let tree = node.state().tree_at(Height(node.status().height)).expect("state");
    atoll_consensus::roothash::runtime_state(&tree, runtime)
        .expect("read")
        .and_then(|s| s.committee)
        .expect("a committee")
        .pool
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
