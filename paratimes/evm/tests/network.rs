//! The EVM ParaTime over real nodes: four validators that are compute nodes (real sockets,
//! disks and `atoll-evm` processes), one of them dishonest. Tokens are deposited from the
//! consensus layer to an Ethereum account; a Solidity ERC-20 is deployed and used with
//! signed Ethereum transactions; every round is verified by discrepancy detection, which
//! catches and slashes the dishonest node.

use std::time::Duration;

use alloy_primitives::{keccak256, Address, TxKind, U256};
use atoll_consensus::roothash::{SubmitMsg, SUBMIT_MSG};
use atoll_crypto::MemorySigner;
use atoll_evm::module::{
    Receipt, SimulateCall, SimulateResult, BALANCE, CODE, SCHEME, SIMULATE_CALL,
};
use atoll_evm::precompiles::WITHDRAW;
use atoll_evm::runtime_id;
use atoll_evm::transaction::address_of;
use atoll_node::genesis::RuntimeShape;
use atoll_runtime_sdk::UnverifiedTransaction;
use atoll_testnet::*;
use atoll_types::{Amount, Signer};
use k256::ecdsa::SigningKey;

mod common;
use common::*;

const LIMIT: Duration = Duration::from_secs(120);
const GWEI: u128 = 1_000_000_000;

fn depositor() -> MemorySigner {
    MemorySigner::from_seed([21; 32])
}

fn eth_tx(key: &SigningKey, nonce: u64, to: TxKind, input: Vec<u8>, gas: u64) -> Vec<u8> {
    signed(key, nonce, to, input, gas, U256::ZERO)
}

fn signed(
    key: &SigningKey,
    nonce: u64,
    to: TxKind,
    input: Vec<u8>,
    gas: u64,
    value: U256,
) -> Vec<u8> {
    let raw = eip1559(key, nonce, to, input, gas, value);
    atoll_types::encode(&UnverifiedTransaction::of_scheme(SCHEME, raw))
}

async fn query(running: &Running, method: &str, args: Vec<u8>) -> Option<Vec<u8>> {
    running.compute.handle().query(method.to_owned(), args).await.ok()
}

async fn eth_balance(running: &Running, who: Address) -> U256 {
    match query(running, BALANCE, atoll_types::encode(&who.0 .0)).await {
        Some(bytes) => {
            atoll_types::decode::<[u8; 32]>(&bytes, 32).map_or(U256::ZERO, U256::from_be_bytes)
        }
        None => U256::ZERO,
    }
}

/// Submits `raw` to `running` and waits for its receipt in a finalized round.
async fn finalized(running: &Running, raw: Vec<u8>) -> Receipt {
    let outcome = submit_and_wait(running, raw, LIMIT).await.outcome;
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    atoll_types::decode(&outcome.output, 1 << 20).expect("receipt")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_erc20_runs_on_real_nodes_and_a_dishonest_node_is_caught() {
    let _serial = SERIAL.lock().await;
    logs();
    // Every node is a primary worker, so the dishonest one is in every round.
    let shape = RuntimeShape {
        group_size: 4,
        backup_size: 3,
        allowed_stragglers: 0,
        round_timeout: 6,
        propose_batch_timeout: 2,
    };
    let funded = [atoll_types::Address::from_public_key(&depositor().public_key())];
    let net = network(&paratime(), 4, shape, Some((3, "dishonest")), &funded, |_| {});
    let cheat = net.node_id(3);
    let nodes = net.start_all().await;
    let n0 = first(&nodes);
    eventually("first blocks", LIMIT, || async { n0.node.status().height >= 2 }).await;

    // 50 tokens from the consensus layer to Alice's Ethereum account.
    let alice = SigningKey::from_slice(&[31; 32]).expect("key");
    let bob = Address::repeat_byte(0xb0);
    let a = address_of(&alice);
    let deposit = SubmitMsg {
        runtime: runtime_id(),
        amount: Amount::new(50 * TOKEN),
        to: Some(atoll_types::Address::from_eth(a.0 .0)),
    };
    consensus_tx(&n0.node, &depositor(), SUBMIT_MSG, &deposit);
    let wei = U256::from(50 * TOKEN) * U256::from(GWEI);
    eventually("the deposit reaches the Ethereum account", LIMIT, || async {
        eth_balance(n0, a).await == wei
    })
    .await;

    // Deploy the ERC-20 and transfer from it.
    let deployed = finalized(
        n0,
        eth_tx(
            &alice,
            0,
            TxKind::Create,
            token_creation("Net", "NET", U256::from(1_000_000u64)),
            2_000_000,
        ),
    )
    .await;
    assert!(deployed.success, "{:?}", deployed.error);
    let token = Address::from(deployed.contract_address.expect("created"));
    assert_eq!(token, a.create(0));
    let code = query(n0, CODE, atoll_types::encode(&token.0 .0)).await.expect("code");
    assert!(atoll_types::decode::<Vec<u8>>(&code, 1 << 16).expect("code").len() > 100);
    // The transfer enters the other nodes' pools by gossip, and each pool announces it
    // (what the JSON-RPC's pending filters and `newPendingTransactions` follow).
    let mut gossiped =
        nodes[1].as_ref().expect("node 1 runs").compute.handle().pooled_transactions();
    let transfer =
        eth_tx(&alice, 1, TxKind::Call(token), transfer_data(bob, U256::from(250u64)), 100_000);
    let moved = finalized(n0, transfer.clone()).await;
    assert!(moved.success);
    let announced = tokio::time::timeout(LIMIT, async {
        while let Ok(raw) = gossiped.recv().await {
            if *raw == transfer {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(announced, Ok(true), "node 1 announced the gossiped transfer");
    assert_eq!(moved.logs.len(), 1);
    assert_eq!(moved.logs[0].topics[0], keccak256(b"Transfer(address,address,uint256)").0);
    // Every node that stores the round answers the same.
    for running in nodes.iter().flatten() {
        let call =
            SimulateCall { to: Some(token.0 .0), data: balance_of_data(bob), ..Default::default() };
        eventually("every node stores the round", LIMIT, || async {
            let Some(bytes) = query(running, SIMULATE_CALL, atoll_types::encode(&call)).await
            else {
                return false;
            };
            let result: SimulateResult = atoll_types::decode(&bytes, 1 << 16).expect("result");
            result.success && U256::from_be_slice(&result.output) == U256::from(250)
        })
        .await;
    }
    // Fees went to the collector; Alice paid exactly for the gas used.
    let paid =
        U256::from(deployed.gas_used + moved.gas_used) * U256::from(deployed.effective_gas_price);
    assert_eq!(eth_balance(n0, a).await, wei - paid);

    // 5 tokens back to the depositor's consensus account through the withdraw precompile.
    let back = atoll_types::Address::from_public_key(&depositor().public_key());
    let before = consensus_balance(&n0.node, &back);
    let value = U256::from(5 * TOKEN) * U256::from(GWEI);
    let withdraw =
        signed(&alice, 2, TxKind::Call(WITHDRAW), back.as_bytes().to_vec(), 60_000, value);
    let withdrawn = finalized(n0, withdraw).await;
    assert!(withdrawn.success, "{:?}", withdrawn.error);
    eventually("the withdrawal reaches the consensus account", LIMIT, || async {
        consensus_balance(&n0.node, &back) == before + 5 * TOKEN
    })
    .await;

    // The dishonest node's wrong results were detected and outvoted by the backups.
    assert_dishonest_caught(&n0.node, &runtime_id(), &cheat);
    stop_all(nodes).await;
}

/// ERC-20 transfers through the network: four honest nodes, one sender, `ATOLL_BENCH_TXS`
/// transfers (2,000 by default) submitted to one node at once; finalized transfers per
/// second and gas per second, rounds and consensus blocks.
///
/// `cargo test --release -p atoll-evm --test network -- --ignored --nocapture bench`
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "benchmark: run in release with --ignored --nocapture"]
async fn bench_erc20_transfers_through_the_network() {
    use std::time::Instant;
    let _serial = SERIAL.lock().await;
    logs();
    let total: u64 =
        std::env::var("ATOLL_BENCH_TXS").ok().and_then(|v| v.parse().ok()).unwrap_or(2_000);
    let shape = RuntimeShape {
        group_size: 3,
        backup_size: 3,
        allowed_stragglers: 0,
        round_timeout: 6,
        propose_batch_timeout: 2,
    };
    let funded = [atoll_types::Address::from_public_key(&depositor().public_key())];
    let net = network(&paratime(), 4, shape, None, &funded, |_| {});
    let nodes = net.start_all().await;
    let n0 = first(&nodes);
    eventually("first blocks", LIMIT, || async { n0.node.status().height >= 2 }).await;
    let alice = SigningKey::from_slice(&[32; 32]).expect("key");
    let a = address_of(&alice);
    let deposit = SubmitMsg {
        runtime: runtime_id(),
        amount: Amount::new(1_000 * TOKEN),
        to: Some(atoll_types::Address::from_eth(a.0 .0)),
    };
    consensus_tx(&n0.node, &depositor(), SUBMIT_MSG, &deposit);
    eventually("the deposit", LIMIT, || async { eth_balance(n0, a).await > U256::ZERO }).await;
    let supply = U256::from(u64::MAX);
    let deployed = finalized(
        n0,
        eth_tx(&alice, 0, TxKind::Create, token_creation("B", "B", supply), 2_000_000),
    )
    .await;
    let token = Address::from(deployed.contract_address.expect("created"));
    let txs: Vec<Vec<u8>> = (1..=total)
        .map(|nonce| {
            let to = Address::from_slice(&keccak256(nonce.to_be_bytes())[12..]);
            eth_tx(&alice, nonce, TxKind::Call(token), transfer_data(to, U256::from(1u64)), 60_000)
        })
        .collect();
    let handle = n0.compute.handle();
    let (start_height, start_round) =
        (n0.node.status().height, handle.latest_round().expect("round").0);
    let started = Instant::now();
    let mut last = None;
    for raw in txs {
        last = Some(handle.submit(raw).await.expect("accepted"));
    }
    let last = last.expect("some");
    eventually("every transfer finalized", Duration::from_secs(900), || {
        let h = handle.clone();
        async move { h.result(&last).ok().flatten().is_some() }
    })
    .await;
    let elapsed = started.elapsed().as_secs_f64();
    let (end_height, end_round) =
        (n0.node.status().height, handle.latest_round().expect("round").0);
    let mut gas = 0u64;
    for round in start_round + 1..=end_round {
        for outcome in handle.outcomes(atoll_types::Round(round)).expect("outcomes") {
            if let Ok(receipt) = atoll_types::decode::<Receipt>(&outcome.output, 1 << 20) {
                gas += receipt.gas_used;
            }
        }
    }
    println!(
        "ERC-20 transfers through 4 nodes: {total} in {elapsed:.2} s = {:.0} tx/s, {:.1} Mgas/s; \
         {} rounds over {} consensus blocks",
        total as f64 / elapsed,
        gas as f64 / elapsed / 1e6,
        end_round - start_round,
        end_height - start_height
    );
    stop_all(nodes).await;
}
