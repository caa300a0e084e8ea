//! The timestamping ParaTime on a test network ([`atoll_testnet`]): its user, deposits,
//! anchors, withdrawals and a steady load of anchors.

#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use atoll_consensus::roothash::{RoothashEvent, SubmitMsg, SUBMIT_MSG};
use atoll_consensus::Genesis;
use atoll_crypto::MemorySigner;
use atoll_engine::bft::NodeHandle;
use atoll_node::genesis::RuntimeShape;
use atoll_runtime_sdk::modules::{accounts, consensus_accounts};
use atoll_runtime_sdk::transaction::runtime_chain_context;
use atoll_runtime_sdk::{SignerInfo, Transaction as RuntimeTransaction};
use atoll_timestamp::{runtime_id, Anchor, ANCHOR};
use atoll_types::{Address, Amount, Hash, Signer};
use borsh::BorshSerialize;

pub use atoll_testnet::*;

/// The runtime fee of every test transaction.
pub const RUNTIME_FEE: atoll_runtime_sdk::Fee =
    atoll_runtime_sdk::Fee { amount: Amount::new(20_000), gas: 20_000 };

/// The user who deposits, anchors and withdraws.
pub fn user() -> MemorySigner {
    MemorySigner::from_seed([42; 32])
}

/// The timestamping ParaTime, as the network runs it.
pub fn paratime() -> ParaTime {
    ParaTime {
        id: runtime_id(),
        binary: env!("CARGO_BIN_EXE_atoll-timestamp").to_owned(),
        args: Vec::new(),
    }
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
    let funded = [Address::from_public_key(&user().public_key())];
    atoll_testnet::network(&paratime(), n, shape, byzantine, &funded, configure)
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

/// The ParaTime's last normal round, as the first running node's consensus state says.
pub fn last_normal_round(nodes: &[Option<Running>]) -> u64 {
    let n0 = first(nodes);
    let tree =
        n0.node.state().tree_at(atoll_types::Height(n0.node.status().height)).expect("state");
    atoll_consensus::roothash::runtime_state(&tree, &runtime_id())
        .expect("read")
        .expect("runtime")
        .last_normal_round
        .0
}

/// Waits until the ParaTime's last normal round reaches `round`; fails with a stall report
/// after `limit`.
pub async fn wait_for_normal_round(nodes: &[Option<Running>], round: u64, limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    while last_normal_round(nodes) < round {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no normal round {round} (last {})\n{}",
            last_normal_round(nodes),
            stall_report(&first(nodes).node)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The user's next nonce inside the ParaTime, as `compute`'s latest stored round says.
pub async fn runtime_nonce(compute: &atoll_compute::ComputeHandle) -> u64 {
    let args = atoll_types::encode(&Address::from_public_key(&user().public_key()));
    match compute.query(accounts::NONCE.to_owned(), args).await {
        Ok(bytes) => atoll_types::decode::<u64>(&bytes, 64).unwrap_or(0),
        Err(_) => 0,
    }
}

/// Waits for the first blocks, then deposits 1,000 tokens for the user into the ParaTime
/// and waits until the first running node's ParaTime state shows them.
pub async fn fund_user(nodes: &[Option<Running>], limit: Duration) {
    let n0 = first(nodes);
    eventually("first blocks", limit, || async { n0.node.status().height >= 2 }).await;
    deposit(&n0.node, 1_000 * TOKEN);
    eventually("the deposit", limit, || async { runtime_balance(n0).await > 0 }).await;
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
                match compute.submit(raw).await {
                    Ok(_) => nonce += 1,
                    // Out of step (a restart emptied the pool, or the stored state lags):
                    // continue after the pool's run, or from the stored account nonce.
                    Err(_) => {
                        let address = Address::from_public_key(&key.public_key());
                        let pooled = compute.pool_next_nonce(&address).unwrap_or(0);
                        nonce = pooled.max(runtime_nonce(&compute).await);
                    }
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
    let deadline = tokio::time::Instant::now() + limit;
    while runtime_balance(n0).await == 0 {
        if tokio::time::Instant::now() >= deadline {
            let args = atoll_types::encode(&Address::from_public_key(&user().public_key()));
            let query = n0.compute.handle().query(accounts::BALANCE.to_owned(), args).await;
            let on_chain = consensus_balance(&n0.node, &Address::from_runtime_id(&runtime_id()));
            panic!(
                "the deposit never reached the ParaTime: the runtime's consensus account holds {on_chain}, the balance query says {query:?}\n{}",
                stall_report(&n0.node)
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let load = Load::start(&n0.node, n0.compute.handle(), 0);
    eventually("the scenario's outcome", limit, || async { done(&roothash_events(&n0.node, 1)) })
        .await;
    drop(load);
    let events = roothash_events(&n0.node, 1);
    (events, nodes)
}

/// The runtime's committee in force on `node`.
pub fn pool_committee(node: &NodeHandle) -> atoll_consensus::roothash::pool::PoolCommittee {
    atoll_testnet::pool_committee(node, &runtime_id())
}

/// What a stalled timestamping ParaTime looks like from `node`.
pub fn stall_report(node: &NodeHandle) -> String {
    atoll_testnet::stall_report(node, &runtime_id())
}

/// The identity (commitment signer) of node `i`.
pub fn node_id(net: &Net, i: usize) -> atoll_types::PublicKey {
    net.node_id(i)
}
