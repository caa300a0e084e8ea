//! The supply adds up across both layers: random sequences of deposits (to native and to
//! Ethereum accounts), Ethereum transfers, contract calls, fees and withdrawals (which the
//! consensus layer executes or refuses at random) keep, after every round,
//! `native supply × 10⁹ + Ethereum supply + withdrawals in flight = escrow × 10⁹`, where the
//! escrow is what a model of the consensus layer holds for the ParaTime.

use alloy_consensus::{TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Bytes, TxKind, U256};
use atoll_evm::module::{total_supply, SCHEME, WEI_PER_BASE_UNIT};
use atoll_evm::precompiles::WITHDRAW;
use atoll_evm::transaction::{address_of, sign};
use atoll_evm::{runtime, runtime_id, EvmConfig};
use atoll_mkvs::{MemoryNodeDb, Mkvs, Root, RootKind};
use atoll_runtime_host::{
    ExecuteBatch, ExecutionMode, IncomingMessage, MessageResult, RuntimeMessage, StateRoot,
};
use atoll_runtime_sdk::modules::accounts;
use atoll_runtime_sdk::{Context, Dispatcher, Mode, UnverifiedTransaction};
use atoll_types::{Amount, ChainContext, Round};
use k256::ecdsa::SigningKey;
use proptest::prelude::*;

mod common;
use common::*;

const CHAIN: u64 = 0xa70;
const GWEI: u128 = 1_000_000_000;

#[derive(Clone, Debug)]
enum Op {
    Deposit { to: u8, eth: bool, amount: u64 },
    Pay { from: u8, to: u8, wei: u64 },
    Token { from: u8, to: u8 },
    Withdraw { from: u8, base_units: u64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..3, any::<bool>(), 1u64..5_000_000_000).prop_map(|(to, eth, amount)| Op::Deposit {
            to,
            eth,
            amount
        }),
        (0u8..3, 0u8..3, 0u64..10_000_000_000).prop_map(|(from, to, wei)| Op::Pay {
            from,
            to,
            wei
        }),
        (0u8..3, 0u8..3).prop_map(|(from, to)| Op::Token { from, to }),
        (0u8..3, 1u64..3_000_000_000)
            .prop_map(|(from, base_units)| Op::Withdraw { from, base_units }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn the_supply_adds_up_across_both_layers(
        ops in proptest::collection::vec(op(), 1..25),
        refusals in proptest::collection::vec(any::<bool>(), 25),
    ) {
        let keys: Vec<SigningKey> = (1..=3u8).map(|i| SigningKey::from_slice(&[i; 32]).expect("key")).collect();
        let eth: Vec<Address> = keys.iter().map(address_of).collect();
        let native: Vec<atoll_types::Address> =
            (1..=3u8).map(|i| atoll_types::Address::reserved(&format!("depositor {i}"))).collect();
        let mut dispatcher = Dispatcher::new(runtime(EvmConfig { chain_id: CHAIN, genesis_balances: Vec::new() }));
        dispatcher.set_consensus_chain(&ChainContext::from_genesis_document(b"supply"));
        let store = Mkvs::new(MemoryNodeDb::new());
        let root = store.commit(runtime_id(), RootKind::State, None, 0, &Vec::new()).expect("root");
        let mut state = StateRoot { version: 0, hash: root.hash, node: None };
        let mut nonces = [0u64; 3];
        let mut escrow: u128 = 0;
        let mut in_flight: Vec<(Round, u32, u128)> = Vec::new();
        let mut refusal = refusals.iter().cycle();
        // Deploy the token from account 0 once it has funds: deposit first.
        let mut ops = ops;
        ops.insert(0, Op::Deposit { to: 0, eth: true, amount: 100_000_000_000 });
        let mut token: Option<Address> = None;
        for (i, op) in ops.iter().enumerate() {
            let round = Round(i as u64 + 1);
            // The consensus layer's verdict on the last round's withdrawals.
            let message_results: Vec<MessageResult> = in_flight
                .drain(..)
                .map(|(r, index, amount)| {
                    let refused = *refusal.next().expect("cycle");
                    if !refused {
                        escrow -= amount;
                    }
                    MessageResult { round: r, index, error: refused.then(|| ("staking".to_owned(), 1)) }
                })
                .collect();
            let mut incoming = Vec::new();
            let mut txs = Vec::new();
            let tx = |from: usize, to: TxKind, value: U256, input: Vec<u8>, gas: u64| {
                let raw = TxEnvelope::from(sign(
                    TxEip1559 {
                        chain_id: CHAIN,
                        nonce: nonces[from],
                        gas_limit: gas,
                        max_fee_per_gas: 3 * GWEI,
                        max_priority_fee_per_gas: GWEI,
                        to,
                        value,
                        access_list: Default::default(),
                        input: Bytes::from(input),
                    },
                    &keys[from],
                ))
                .encoded_2718();
                atoll_types::encode(&UnverifiedTransaction::of_scheme(SCHEME, raw))
            };
            match *op {
                Op::Deposit { to, eth: true, amount } => {
                    escrow += u128::from(amount);
                    incoming.push(IncomingMessage {
                        id: i as u64,
                        from: native[0],
                        to: atoll_types::Address::from_eth(eth_of(&eth, to)),
                        amount: Amount::new(u128::from(amount)),
                    });
                }
                Op::Deposit { to, eth: false, amount } => {
                    escrow += u128::from(amount);
                    let to = native[to as usize];
                    incoming.push(IncomingMessage { id: i as u64, from: to, to, amount: Amount::new(u128::from(amount)) });
                }
                Op::Pay { from, to, wei } => {
                    txs.push(tx(from as usize, TxKind::Call(eth[to as usize]), U256::from(wei), Vec::new(), 21_000));
                }
                Op::Token { from, to } => match token {
                    None => {
                        txs.push(tx(0, TxKind::Create, U256::ZERO, token_creation("S", "S", U256::from(1_000_000u64)), 2_000_000));
                        token = Some(eth[0].create(nonces[0]));
                    }
                    Some(token) => {
                        txs.push(tx(from as usize, TxKind::Call(token), U256::ZERO, transfer_data(eth[to as usize], U256::from(1u64)), 100_000));
                    }
                },
                Op::Withdraw { from, base_units } => {
                    let value = U256::from(base_units) * U256::from(WEI_PER_BASE_UNIT);
                    txs.push(tx(from as usize, TxKind::Call(WITHDRAW), value, native[1].as_bytes().to_vec(), 60_000));
                }
            }
            let batch = ExecuteBatch {
                mode: ExecutionMode::Execute,
                round,
                time: round.0,
                randomness: atoll_types::Hash::ZERO,
                state,
                txs: txs.clone(),
                incoming,
                message_results,
                pending: None,
            };
            let result = dispatcher.execute(&store, &batch).expect("execute");
            state = StateRoot { version: round.0, hash: result.state_root, node: None };
            // A transaction that was included used its sender's nonce.
            for (raw, outcome) in txs.iter().zip(&result.outcomes) {
                if outcome.error.is_none() {
                    let unverified: UnverifiedTransaction = atoll_types::decode(raw, 1 << 20).expect("tx");
                    let tx = atoll_evm::transaction::decode(&unverified.body, CHAIN).expect("eth");
                    let from = eth.iter().position(|a| *a == tx.sender).expect("sender");
                    nonces[from] += 1;
                }
            }
            for (index, message) in result.messages.iter().enumerate() {
                let RuntimeMessage::StakingTransfer { amount, .. } = message else { continue };
                in_flight.push((round, index as u32, amount.base_units()));
            }
            let tree = store
                .tree(&Root { namespace: runtime_id(), kind: RootKind::State, version: state.version, hash: state.hash })
                .expect("tree");
            let ctx = Context::new(&tree, None, Mode::Query, round, 0, runtime_id());
            let native_supply = accounts::total_supply(&ctx).expect("native").base_units();
            let evm_supply = total_supply(&ctx).expect("evm");
            let pending: u128 = in_flight.iter().map(|(_, _, a)| *a).sum();
            let gwei = U256::from(WEI_PER_BASE_UNIT);
            prop_assert_eq!(
                U256::from(native_supply) * gwei + evm_supply + U256::from(pending) * gwei,
                U256::from(escrow) * gwei,
                "after {:?}", op
            );
        }
    }
}

fn eth_of(eth: &[Address], i: u8) -> [u8; 20] {
    eth[i as usize].0 .0
}
