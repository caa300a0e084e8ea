//! ERC-20 transfers, side by side in one run: bare revm over its in-memory database, the
//! signature recovery alone, and the EVM ParaTime's own execution path (decode and recover,
//! dispatch, authentication, revm over MKVS state, receipts, I/O and state commit).
//!
//! The three are timed batch by batch in turn (recovery, bare revm, the path on the same
//! 400 transfers, then the next 400), so a change in the machine's speed during the run —
//! this shared machine varies by a quarter from minute to minute — weighs on all three
//! alike instead of on whichever ran during it.
//!
//! `cargo test --release -p atoll-evm --test bench -- --ignored --nocapture`
//! (`ATOLL_BENCH_TXS` sets the number of transfers, 10,000 by default).

use std::time::{Duration, Instant};

use alloy_consensus::{TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{keccak256, Address, Bytes, TxKind, U256};
use atoll_evm::execute::SPEC;
use atoll_evm::module::{Receipt, SCHEME};
use atoll_evm::transaction::{address_of, decode, sign};
use atoll_evm::{runtime, runtime_id, EvmConfig};
use atoll_mkvs::{MemoryNodeDb, Mkvs, RootKind};
use atoll_runtime_host::{ExecuteBatch, ExecutionMode, StateRoot};
use atoll_runtime_sdk::{Dispatcher, UnverifiedTransaction};
use atoll_types::{ChainContext, Round};
use k256::ecdsa::SigningKey;
use revm::context::TxEnv;
use revm::database::InMemoryDB;
use revm::state::AccountInfo;
use revm::{ExecuteCommitEvm, MainBuilder, MainContext};

mod common;
use common::*;

const CHAIN: u64 = 0xa70;
const GWEI: u128 = 1_000_000_000;
const GAS: u64 = 60_000;
const BATCH: usize = 400;
const RECIPIENTS: usize = 1_000;

fn signed(key: &SigningKey, nonce: u64, to: TxKind, input: Vec<u8>, gas: u64) -> Vec<u8> {
    let tx = TxEip1559 {
        chain_id: CHAIN,
        nonce,
        gas_limit: gas,
        max_fee_per_gas: 2 * GWEI,
        max_priority_fee_per_gas: 0,
        to,
        value: U256::ZERO,
        access_list: Default::default(),
        input: Bytes::from(input),
    };
    TxEnvelope::from(sign(tx, key)).encoded_2718()
}

fn per_second(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

#[test]
#[ignore = "benchmark: run in release with --ignored --nocapture"]
fn bench_erc20_transfers() {
    let n: usize =
        std::env::var("ATOLL_BENCH_TXS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let key = SigningKey::from_slice(&[7; 32]).expect("key");
    let sender = address_of(&key);
    let token = sender.create(0);
    let recipients: Vec<Address> =
        (0..RECIPIENTS).map(|i| Address::from_slice(&keccak256(i.to_be_bytes())[12..])).collect();
    let deploy = signed(
        &key,
        0,
        TxKind::Create,
        token_creation("Bench", "BEN", U256::from(u64::MAX) * U256::from(u64::MAX)),
        2_000_000,
    );
    let raws: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            signed(
                &key,
                i as u64 + 1,
                TxKind::Call(token),
                transfer_data(recipients[i % RECIPIENTS], U256::from(1u64)),
                GAS,
            )
        })
        .collect();

    // Bare revm over its in-memory database, with the token deployed.
    let mut db = InMemoryDB::default();
    db.insert_account_info(sender, AccountInfo::from_balance(U256::from(u128::MAX)));
    let mut evm = revm::Context::mainnet()
        .with_db(db)
        .with_cfg(atoll_evm::execute::cfg(CHAIN, SPEC))
        .with_block(revm::context::BlockEnv {
            gas_limit: u64::MAX,
            basefee: GWEI as u64,
            prevrandao: Some(Default::default()),
            ..Default::default()
        })
        .build_mainnet();
    let created =
        evm.transact_commit(decode(&deploy, CHAIN).expect("deploy").tx_env()).expect("deploys");
    assert!(created.is_success());

    // The ParaTime's execution path, in batches as a compute node runs them.
    let config =
        EvmConfig { chain_id: CHAIN, genesis_balances: vec![(sender.0 .0, U256::from(u128::MAX))] };
    let mut dispatcher = Dispatcher::new(runtime(config));
    dispatcher.set_consensus_chain(&ChainContext::from_genesis_document(b"bench"));
    let store = Mkvs::new(MemoryNodeDb::new());
    let root = store.commit(runtime_id(), RootKind::State, None, 0, &Vec::new()).expect("root");
    let mut state = StateRoot { version: 0, hash: root.hash, node: None };
    let wrap =
        |raw: &Vec<u8>| atoll_types::encode(&UnverifiedTransaction::of_scheme(SCHEME, raw.clone()));
    let mut round = 0u64;
    let mut run = |txs: Vec<Vec<u8>>, state: &mut StateRoot| {
        round += 1;
        let batch = ExecuteBatch {
            mode: ExecutionMode::Execute,
            round: Round(round),
            time: round,
            randomness: atoll_types::Hash::ZERO,
            state: *state,
            txs,
            incoming: Vec::new(),
            message_results: Vec::new(),
            pending: None,
        };
        let result = dispatcher.execute(&store, &batch).expect("execute");
        *state = StateRoot { version: round, hash: result.state_root, node: None };
        result
    };
    let deployed = run(vec![wrap(&deploy)], &mut state);
    assert!(deployed.outcomes[0].error.is_none());

    // Batch by batch: 1. signature recovery (and decoding) alone, 2. bare revm, 3. the path.
    let (mut recovery, mut bare, mut path) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let (mut bare_gas, mut path_gas) = (0u64, 0u64);
    for chunk in raws.chunks(BATCH) {
        let started = Instant::now();
        let decoded: Vec<_> = chunk.iter().map(|r| decode(r, CHAIN).expect("valid")).collect();
        recovery += started.elapsed();

        let envs: Vec<TxEnv> = decoded.iter().map(|t| t.tx_env()).collect();
        let started = Instant::now();
        for env in envs {
            let result = evm.transact_commit(env).expect("valid");
            assert!(result.is_success());
            bare_gas += result.tx_gas_used();
        }
        bare += started.elapsed();

        let batch: Vec<Vec<u8>> = chunk.iter().map(wrap).collect();
        let started = Instant::now();
        let result = run(batch, &mut state);
        path += started.elapsed();
        for outcome in &result.outcomes {
            assert!(outcome.error.is_none(), "{:?}", outcome.error);
            let receipt: Receipt = atoll_types::decode(&outcome.output, 1 << 20).expect("receipt");
            assert!(receipt.success);
            path_gas += receipt.gas_used;
        }
    }
    assert_eq!(path_gas, bare_gas, "the same transfers cost the same gas");

    let bound = recovery + bare;
    println!("ERC-20 transfers: {n} (batches of {BATCH}, {RECIPIENTS} recipients, one core)");
    println!(
        "  recovery alone:  {:>9.0} tx/s ({:.1} µs/tx)",
        per_second(n, recovery),
        recovery.as_secs_f64() * 1e6 / n as f64
    );
    println!(
        "  bare revm:       {:>9.0} tx/s, {:.1} Mgas/s ({:.1} µs/tx)",
        per_second(n, bare),
        bare_gas as f64 / bare.as_secs_f64() / 1e6,
        bare.as_secs_f64() * 1e6 / n as f64
    );
    println!(
        "  ParaTime path:   {:>9.0} tx/s, {:.1} Mgas/s ({:.1} µs/tx)",
        per_second(n, path),
        path_gas as f64 / path.as_secs_f64() / 1e6,
        path.as_secs_f64() * 1e6 / n as f64
    );
    println!(
        "  bound (recovery + bare revm): {:.0} tx/s; the path reaches {:.0}% of it; the rest \
         (dispatch, authentication, MKVS state, receipts, commit) is {:.1} µs/tx",
        per_second(n, bound),
        100.0 * bound.as_secs_f64() / path.as_secs_f64(),
        (path.as_secs_f64() - bound.as_secs_f64()) * 1e6 / n as f64
    );
}
