//! The EVM ParaTime in process through the SDK dispatcher: a Solidity ERC-20 (compiled by
//! stock solc, `contracts/build.sh`) deployed and used with signed Ethereum transactions;
//! fees, receipts and logs; refusals at check time; queries and gas estimates.

use alloy_consensus::{TxEip1559, TxEnvelope, TxLegacy};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{keccak256, Address, Bytes, TxKind, U256};
use atoll_crypto::MemorySigner;
use atoll_evm::module::{
    codes, fee_collector, total_supply, Receipt, SimulateCall, SimulateResult, BALANCE,
    ESTIMATE_GAS, ETHEREUM, SCHEME, SIMULATE_CALL,
};
use atoll_evm::transaction::{address_of, sign};
use atoll_evm::{runtime, runtime_id, EvmConfig};
use atoll_mkvs::{MemoryNodeDb, Mkvs, RootKind};
use atoll_runtime_host::{ExecuteBatch, ExecuteResult, ExecutionMode, IncomingMessage, StateRoot};
use atoll_runtime_sdk::{Dispatcher, Fee, SignerInfo, Transaction, UnverifiedTransaction};
use atoll_types::{decode, ChainContext, Round, Signer};
use k256::ecdsa::SigningKey;

mod common;
use common::*;

const CHAIN: u64 = 0xa70;
const GWEI: u128 = 1_000_000_000;
const ETHER: u128 = 1_000_000_000_000_000_000;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_slice(&[seed; 32]).expect("key")
}

struct Node {
    dispatcher: Dispatcher,
    store: Mkvs<MemoryNodeDb>,
    state: StateRoot,
    round: u64,
}

impl Node {
    fn new(funded: &[&SigningKey]) -> Self {
        let config = EvmConfig {
            chain_id: CHAIN,
            genesis_balances: funded
                .iter()
                .map(|k| (address_of(k).0 .0, U256::from(1_000 * ETHER)))
                .collect(),
        };
        let mut dispatcher = Dispatcher::new(runtime(config));
        dispatcher.set_consensus_chain(&ChainContext::from_genesis_document(b"evm test chain"));
        let store = Mkvs::new(MemoryNodeDb::new());
        let root = store.commit(runtime_id(), RootKind::State, None, 0, &Vec::new()).expect("root");
        Self {
            dispatcher,
            store,
            state: StateRoot { version: 0, hash: root.hash, node: None },
            round: 0,
        }
    }

    fn batch(&mut self, txs: Vec<Vec<u8>>) -> ExecuteResult {
        self.batch_with(txs, Vec::new())
    }

    fn batch_with(&mut self, txs: Vec<Vec<u8>>, incoming: Vec<IncomingMessage>) -> ExecuteResult {
        self.round += 1;
        let batch = ExecuteBatch {
            mode: ExecutionMode::Execute,
            round: Round(self.round),
            time: 1_700_000_000 + self.round,
            randomness: atoll_types::Hash::digest(&self.round.to_be_bytes()),
            state: self.state,
            txs,
            incoming,
            message_results: Vec::new(),
            pending: None,
        };
        let result = self.dispatcher.execute(&self.store, &batch).expect("execute");
        self.state = StateRoot { version: self.round, hash: result.state_root, node: None };
        result
    }

    fn query(
        &self,
        method: &str,
        args: Vec<u8>,
    ) -> Result<Vec<u8>, atoll_runtime_sdk::RuntimeError> {
        self.dispatcher.query(&self.store, self.state.version, self.state.hash, method, &args)
    }

    fn balance(&self, address: Address) -> U256 {
        let bytes = self.query(BALANCE, atoll_types::encode(&address.0 .0)).expect("balance");
        U256::from_be_bytes(decode::<[u8; 32]>(&bytes, 32).expect("u256"))
    }

    fn call(&self, to: Address, data: Vec<u8>) -> SimulateResult {
        let call = SimulateCall { to: Some(to.0 .0), data, ..Default::default() };
        let bytes = self.query(SIMULATE_CALL, atoll_types::encode(&call)).expect("call");
        decode(&bytes, 1 << 20).expect("result")
    }

    /// Deploys the test token from `key` (nonce 0) and returns its address.
    fn deploy_token(&mut self, key: &SigningKey, supply: U256) -> Address {
        let creation = token_creation("Atoll Test", "ATT", supply);
        let deployed =
            self.batch(vec![wrap(eth_tx(key, 0, TxKind::Create, 0, creation, 2_000_000))]);
        let deploy = receipt(&deployed, 0);
        assert!(deploy.success, "{:?}", deploy.error);
        Address::from(deploy.contract_address.expect("created"))
    }

    fn check(&self, raw: &[u8]) -> Option<(String, u32)> {
        let outcomes = self
            .dispatcher
            .check(&self.store, self.state.version, self.state.hash, &[raw.to_vec()])
            .expect("check");
        outcomes[0].error.as_ref().map(|e| (e.module.clone(), e.code))
    }
}

fn wrap(raw: Vec<u8>) -> Vec<u8> {
    atoll_types::encode(&UnverifiedTransaction::of_scheme(SCHEME, raw))
}

/// A plain legacy transfer of nothing, for the refusal cases.
fn legacy(
    key: &SigningKey,
    chain_id: Option<u64>,
    nonce: u64,
    gas_price: u128,
    to: TxKind,
) -> Vec<u8> {
    let tx = TxLegacy {
        chain_id,
        nonce,
        gas_price,
        gas_limit: 21_000,
        to,
        value: U256::ZERO,
        input: Bytes::new(),
    };
    TxEnvelope::from(sign(tx, key)).encoded_2718()
}

fn eth_tx(
    key: &SigningKey,
    nonce: u64,
    to: TxKind,
    value: u128,
    data: Vec<u8>,
    gas: u64,
) -> Vec<u8> {
    let tx = TxEip1559 {
        chain_id: CHAIN,
        nonce,
        gas_limit: gas,
        max_fee_per_gas: 3 * GWEI,
        max_priority_fee_per_gas: GWEI,
        to,
        value: U256::from(value),
        access_list: Default::default(),
        input: Bytes::from(data),
    };
    TxEnvelope::from(sign(tx, key)).encoded_2718()
}

fn receipt(result: &ExecuteResult, i: usize) -> Receipt {
    let outcome = &result.outcomes[i];
    assert!(outcome.error.is_none(), "transaction {i} failed: {:?}", outcome.error);
    decode(&outcome.output, 1 << 20).expect("receipt")
}

#[test]
fn an_erc20_deploys_transfers_and_emits_logs() {
    let (alice, bob) = (key(1), key(2));
    let (a, b) = (address_of(&alice), address_of(&bob));
    let mut node = Node::new(&[&alice]);
    let supply = U256::from(1_000_000u64) * U256::from(ETHER);
    let deployed = node.batch(vec![wrap(eth_tx(
        &alice,
        0,
        TxKind::Create,
        0,
        token_creation("Atoll Test", "ATT", supply),
        2_000_000,
    ))]);
    let deploy = receipt(&deployed, 0);
    assert!(deploy.success, "{:?}", deploy.error);
    let token = Address::from(deploy.contract_address.expect("created"));
    assert_eq!(token, a.create(0));
    let before = node.balance(a);
    let moved = node.batch(vec![wrap(eth_tx(
        &alice,
        1,
        TxKind::Call(token),
        0,
        transfer_data(b, U256::from(250u64)),
        100_000,
    ))]);
    let transfer = receipt(&moved, 0);
    assert!(transfer.success);
    assert_eq!(transfer.logs.len(), 1);
    let log = &transfer.logs[0];
    assert_eq!(log.address, token.0 .0);
    assert_eq!(log.topics[0], keccak256(b"Transfer(address,address,uint256)").0);
    assert_eq!(log.topics[1], address_word(a));
    assert_eq!(log.topics[2], address_word(b));
    assert_eq!(moved.outcomes[0].events.len(), 1, "the log is also a runtime event");
    // The sender paid gas used × effective price (base fee 1 gwei + tip 1 gwei).
    assert_eq!(transfer.effective_gas_price, 2 * GWEI);
    let paid = U256::from(transfer.gas_used) * U256::from(2 * GWEI);
    assert_eq!(node.balance(a), before - paid);
    let out = node.call(token, balance_of_data(b));
    assert!(out.success);
    assert_eq!(U256::from_be_slice(&out.output), U256::from(250u64));
    // Every fee went to the collector; nothing was created or burnt.
    let paid_total = U256::from(deploy.gas_used + transfer.gas_used) * U256::from(2 * GWEI);
    assert_eq!(node.balance(fee_collector()), paid_total);
    assert_eq!(node.balance(a) + node.balance(fee_collector()), U256::from(1_000 * ETHER));
}

#[test]
fn a_reverting_call_is_included_charged_and_failed() {
    let alice = key(3);
    let a = address_of(&alice);
    let mut node = Node::new(&[&alice]);
    let token = node.deploy_token(&alice, U256::from(10u64));
    let before = node.balance(a);
    let result = node.batch(vec![wrap(eth_tx(
        &alice,
        1,
        TxKind::Call(token),
        0,
        transfer_data(Address::repeat_byte(9), U256::from(11u64)),
        100_000,
    ))]);
    let failed = receipt(&result, 0);
    assert!(!failed.success);
    assert!(failed.logs.is_empty());
    assert_eq!(failed.output[..4], selector("InsufficientBalance(uint256,uint256)"));
    assert!(failed.gas_used > 21_000);
    assert_eq!(node.balance(a), before - U256::from(failed.gas_used) * U256::from(2 * GWEI));
    // Its nonce was used: the next transaction is nonce 2.
    let next = eth_tx(&alice, 2, TxKind::Call(Address::repeat_byte(9)), 1, Vec::new(), 21_000);
    assert_eq!(node.check(&wrap(next)), None);
}

#[test]
fn bad_ethereum_transactions_are_refused_at_check_time_and_change_nothing() {
    let (alice, poor) = (key(4), key(5));
    let mut node = Node::new(&[&alice]);
    node.batch(Vec::new());
    let root = node.state.hash;
    let to = TxKind::Call(Address::repeat_byte(7));
    let evm = |code| Some(("evm".to_owned(), code));
    // Wrong chain id.
    let other_chain = legacy(&alice, Some(1), 0, 3 * GWEI, to);
    assert_eq!(node.check(&wrap(other_chain)), evm(codes::INVALID_TRANSACTION));
    // Replayable (no chain id).
    let replayable = legacy(&alice, None, 0, 3 * GWEI, to);
    assert_eq!(node.check(&wrap(replayable)), evm(codes::INVALID_TRANSACTION));
    // Malformed RLP.
    assert_eq!(node.check(&wrap(vec![0x02, 0xc1, 0x80])), evm(codes::INVALID_TRANSACTION));
    // A nonce already used.
    node.batch(vec![wrap(eth_tx(&alice, 0, to, 1, Vec::new(), 21_000))]);
    let root_after = node.state.hash;
    assert_ne!(root, root_after);
    assert_eq!(
        node.check(&wrap(eth_tx(&alice, 0, to, 1, Vec::new(), 21_000))),
        evm(codes::INVALID_NONCE)
    );
    // Fee cap below the base fee (1 gwei).
    let cheap = legacy(&alice, Some(CHAIN), 1, GWEI / 2, to);
    let refused = node.check(&wrap(cheap)).expect("refused");
    assert!(
        refused == ("core".to_owned(), 5) || refused == ("evm".to_owned(), codes::FEE_CAP),
        "{refused:?}"
    );
    // Gas limit above the block's, or below the intrinsic gas.
    assert_eq!(
        node.check(&wrap(eth_tx(&alice, 1, to, 1, Vec::new(), 30_000_001))),
        evm(codes::GAS_LIMIT)
    );
    assert_eq!(
        node.check(&wrap(eth_tx(&alice, 1, to, 1, Vec::new(), 20_999))),
        evm(codes::GAS_LIMIT)
    );
    // A sender that cannot pay.
    assert_eq!(
        node.check(&wrap(eth_tx(&poor, 0, to, 1, Vec::new(), 21_000))),
        evm(codes::INSUFFICIENT_BALANCE)
    );
    // A bad signature: a legacy transaction with v = 27 and a broken r.
    let mut bad = eth_tx(&alice, 1, to, 1, Vec::new(), 21_000);
    let len = bad.len();
    bad[len - 40] ^= 0xff;
    assert!(node.check(&wrap(bad)).is_some());
    // An unknown scheme.
    let unknown = atoll_types::encode(&UnverifiedTransaction::of_scheme("evm.nope", vec![1, 2]));
    assert_eq!(node.check(&unknown), Some(("core".to_owned(), 1)));
    // None of it changed the state, and included in a batch it is left out or fails.
    assert_eq!(node.state.hash, root_after);
}

#[test]
fn a_native_transaction_cannot_impersonate_an_ethereum_sender() {
    let alice = key(6);
    let mut node = Node::new(&[&alice]);
    let native = MemorySigner::from_seed([7; 32]);
    let forged =
        eth_tx(&alice, 0, TxKind::Call(Address::repeat_byte(1)), 5 * ETHER, Vec::new(), 21_000);
    let tx = Transaction::new(
        ETHEREUM,
        &forged,
        vec![SignerInfo { public_key: native.public_key(), nonce: 0 }],
        Fee { amount: atoll_types::Amount::ZERO, gas: 100_000 },
    );
    let raw = atoll_types::encode(&tx.sign(&[&native], &node.dispatcher.chain_context()));
    let result = node.batch(vec![raw]);
    let error = result.outcomes[0].error.as_ref().expect("refused");
    assert_eq!((error.module.as_str(), error.code), ("evm", codes::NOT_ETHEREUM));
    assert_eq!(node.balance(address_of(&alice)), U256::from(1_000 * ETHER));
}

#[test]
fn gas_estimates_are_enough_and_reverts_carry_their_data() {
    let alice = key(8);
    let a = address_of(&alice);
    let mut node = Node::new(&[&alice]);
    let token = node.deploy_token(&alice, U256::from(1_000u64));
    let call = SimulateCall {
        caller: Some(a.0 .0),
        to: Some(token.0 .0),
        data: transfer_data(Address::repeat_byte(3), U256::from(5u64)),
        ..Default::default()
    };
    let estimate: u64 =
        decode(&node.query(ESTIMATE_GAS, atoll_types::encode(&call)).expect("estimate"), 8)
            .expect("u64");
    let exact = node.batch(vec![wrap(eth_tx(
        &alice,
        1,
        TxKind::Call(token),
        0,
        call.data.clone(),
        estimate,
    ))]);
    assert!(receipt(&exact, 0).success, "the estimate suffices");
    // The same transfer to another fresh recipient costs the same.
    let short = node.batch(vec![wrap(eth_tx(
        &alice,
        2,
        TxKind::Call(token),
        0,
        transfer_data(Address::repeat_byte(4), U256::from(5u64)),
        estimate - 1,
    ))]);
    assert!(!receipt(&short, 0).success, "one gas less does not");
    let too_much = SimulateCall {
        data: transfer_data(Address::repeat_byte(3), U256::from(10_000u64)),
        ..call
    };
    let error = node.query(ESTIMATE_GAS, atoll_types::encode(&too_much)).expect_err("reverts");
    assert_eq!(error.code, codes::REVERTED);
    assert!(error.message.contains(&hex::encode(selector("InsufficientBalance(uint256,uint256)"))));
    let supply = {
        let store = &node.store;
        let tree = store
            .tree(&atoll_mkvs::Root {
                namespace: runtime_id(),
                kind: RootKind::State,
                version: node.state.version,
                hash: node.state.hash,
            })
            .expect("tree");
        let ctx = atoll_runtime_sdk::Context::new(
            &tree,
            None,
            atoll_runtime_sdk::Mode::Query,
            Round(node.round),
            0,
            runtime_id(),
        );
        total_supply(&ctx).expect("supply")
    };
    assert_eq!(supply, U256::from(1_000 * ETHER));
}

#[test]
fn a_deposit_to_an_ethereum_address_lands_in_its_ethereum_account_in_wei() {
    let (alice, fresh) = (key(9), key(10));
    let mut node = Node::new(&[&alice]);
    let depositor =
        atoll_types::Address::from_public_key(&MemorySigner::from_seed([11; 32]).public_key());
    let to = atoll_types::Address::from_eth(address_of(&fresh).0 .0);
    // 2.5 tokens (9 decimals on the consensus layer) to an Ethereum account, and 1 base
    // unit to the depositor's own native account.
    node.batch_with(
        Vec::new(),
        vec![
            IncomingMessage {
                id: 0,
                from: depositor,
                to,
                amount: atoll_types::Amount::new(2_500_000_000),
            },
            IncomingMessage {
                id: 1,
                from: depositor,
                to: depositor,
                amount: atoll_types::Amount::new(1),
            },
        ],
    );
    assert_eq!(node.balance(address_of(&fresh)), U256::from(2_500_000_000u128 * 1_000_000_000));
    let native = |who: atoll_types::Address| -> u128 {
        let bytes = node
            .query(atoll_runtime_sdk::modules::accounts::BALANCE, atoll_types::encode(&who))
            .expect("balance");
        decode::<atoll_types::Amount>(&bytes, 64).expect("amount").base_units()
    };
    assert_eq!(native(to), 0, "nothing is left in the native account of the Ethereum address");
    assert_eq!(native(depositor), 1);
    // The deposited account can pay for and send a transaction at once.
    let sent = node.batch(vec![wrap(eth_tx(
        &fresh,
        0,
        TxKind::Call(address_of(&alice)),
        ETHER,
        Vec::new(),
        21_000,
    ))]);
    assert!(receipt(&sent, 0).success);
    assert_eq!(
        node.balance(address_of(&fresh)),
        U256::from(2_500_000_000u128 * 1_000_000_000 - ETHER - 21_000 * 2 * GWEI)
    );
}

#[test]
fn the_withdraw_precompile_sends_whole_base_units_to_the_consensus_layer_and_refunds_a_refusal() {
    use atoll_evm::precompiles::WITHDRAW;
    use atoll_runtime_host::{MessageResult, RuntimeMessage};
    let alice = key(12);
    let a = address_of(&alice);
    let mut node = Node::new(&[&alice]);
    let recipient =
        atoll_types::Address::from_public_key(&MemorySigner::from_seed([13; 32]).public_key());
    node.batch(Vec::new());
    let before = node.balance(a);
    let wei = 3 * 1_000_000_000u128;
    let sent = node.batch(vec![wrap(eth_tx(
        &alice,
        0,
        TxKind::Call(WITHDRAW),
        wei,
        recipient.as_bytes().to_vec(),
        60_000,
    ))]);
    let withdrawal = receipt(&sent, 0);
    assert!(withdrawal.success, "{:?}", withdrawal.error);
    assert_eq!(
        sent.messages,
        vec![RuntimeMessage::StakingTransfer {
            to: recipient,
            amount: atoll_types::Amount::new(3)
        }]
    );
    let fee = U256::from(withdrawal.gas_used) * U256::from(2 * GWEI);
    assert_eq!(node.balance(a), before - U256::from(wei) - fee);
    assert_eq!(node.balance(WITHDRAW), U256::ZERO, "the withdrawn wei leave the EVM");
    // Not a whole number of base units: the call fails, nothing is sent, only gas is paid.
    let odd = node.batch(vec![wrap(eth_tx(
        &alice,
        1,
        TxKind::Call(WITHDRAW),
        wei + 1,
        recipient.as_bytes().to_vec(),
        60_000,
    ))]);
    assert!(!receipt(&odd, 0).success);
    assert!(odd.messages.is_empty());
    // The consensus layer refuses the first transfer: the wei come back.
    let after_odd = node.balance(a);
    node.round += 1;
    let batch = ExecuteBatch {
        mode: ExecutionMode::Execute,
        round: Round(node.round),
        time: 1_700_000_000 + node.round,
        randomness: atoll_types::Hash::ZERO,
        state: node.state,
        txs: Vec::new(),
        incoming: Vec::new(),
        message_results: vec![MessageResult {
            round: Round(2),
            index: 0,
            error: Some(("staking".into(), 1)),
        }],
        pending: None,
    };
    let result = node.dispatcher.execute(&node.store, &batch).expect("execute");
    node.state = StateRoot { version: node.round, hash: result.state_root, node: None };
    assert_eq!(node.balance(a), after_odd + U256::from(wei));
}

#[test]
fn random_bytes_are_deterministic_per_call_and_personalized() {
    use atoll_evm::precompiles::RANDOM_BYTES;
    let alice = key(14);
    let mut node = Node::new(&[&alice]);
    node.batch(Vec::new());
    let ask = |personal: &[u8]| {
        let mut data = U256::from(40u64).to_be_bytes::<32>().to_vec();
        data.extend_from_slice(personal);
        node.call(RANDOM_BYTES, data)
    };
    let (one, again, other) = (ask(b"a"), ask(b"a"), ask(b"b"));
    assert!(one.success, "{:?}", one.error);
    assert_eq!(one.output.len(), 40);
    assert_eq!(one.output, again.output, "every node computes the same bytes");
    assert_ne!(one.output, other.output, "the personalization changes them");
    let too_many = node.call(RANDOM_BYTES, U256::from(5_000u64).to_be_bytes::<32>().to_vec());
    assert!(!too_many.success);
}

#[test]
fn the_create2_deployer_and_multicall3_are_at_their_canonical_addresses() {
    use atoll_evm::predeploys::{CREATE2_DEPLOYER, MULTICALL3};
    let alice = key(15);
    let mut node = Node::new(&[&alice]);
    // Foundry's deterministic deployments: salt ‖ init code to the CREATE2 deployer.
    let salt = [7u8; 32];
    let init = token_creation("Salted", "SLT", U256::from(1u64));
    let mut data = salt.to_vec();
    data.extend(&init);
    let deployed = node.batch(vec![wrap(eth_tx(
        &alice,
        0,
        TxKind::Call(CREATE2_DEPLOYER),
        0,
        data,
        2_000_000,
    ))]);
    let result = receipt(&deployed, 0);
    assert!(result.success, "{:?}", result.error);
    let expected = CREATE2_DEPLOYER.create2(salt, keccak256(&init));
    assert_eq!(result.output, expected.as_slice(), "the deployer returns the address");
    let code =
        node.query(atoll_evm::module::CODE, atoll_types::encode(&expected.0 .0)).expect("code");
    assert!(!decode::<Vec<u8>>(&code, 1 << 16).expect("code").is_empty());
    // Multicall3 answers getBlockNumber() with the round.
    let out = node.call(MULTICALL3, selector("getBlockNumber()").to_vec());
    assert!(out.success, "{:?}", out.error);
    assert_eq!(U256::from_be_slice(&out.output), U256::from(node.round));
}

#[test]
fn prevrandao_is_the_rounds_randomness_from_the_beacon() {
    let alice = key(16);
    let mut node = Node::new(&[&alice]);
    // Runtime code `sstore(0, prevrandao)`, deployed by a minimal constructor.
    let mut creation = vec![0x60, 0x05, 0x60, 0x0c, 0x60, 0x00, 0x39, 0x60, 0x05, 0x60, 0x00, 0xf3];
    creation.extend([0x44, 0x60, 0x00, 0x55, 0x00]);
    let deployed = node.batch(vec![wrap(eth_tx(&alice, 0, TxKind::Create, 0, creation, 100_000))]);
    let contract = Address::from(receipt(&deployed, 0).contract_address.expect("created"));
    let called =
        node.batch(vec![wrap(eth_tx(&alice, 1, TxKind::Call(contract), 0, Vec::new(), 100_000))]);
    assert!(receipt(&called, 0).success);
    let query = atoll_evm::module::StorageQuery { address: contract.0 .0, slot: [0; 32] };
    let stored = node.query(atoll_evm::module::STORAGE, atoll_types::encode(&query)).expect("slot");
    let expected = atoll_types::Hash::digest(&node.round.to_be_bytes());
    assert_eq!(decode::<[u8; 32]>(&stored, 32).expect("word"), expected.into_bytes());
}

#[test]
fn block_hashes_commit_to_the_blocks_transactions() {
    // Runtime code `sstore(0, blockhash(number - 1))`.
    let mut creation = vec![0x60, 0x09, 0x60, 0x0c, 0x60, 0x00, 0x39, 0x60, 0x09, 0x60, 0x00, 0xf3];
    creation.extend([0x60, 0x01, 0x43, 0x03, 0x40, 0x60, 0x00, 0x55, 0x00]);
    let alice = key(17);
    let previous_hash = |value: u128| {
        let mut node = Node::new(&[&alice]);
        let deployed =
            node.batch(vec![wrap(eth_tx(&alice, 0, TxKind::Create, 0, creation.clone(), 100_000))]);
        let contract = Address::from(receipt(&deployed, 0).contract_address.expect("created"));
        node.batch(vec![wrap(eth_tx(
            &alice,
            1,
            TxKind::Call(Address::repeat_byte(5)),
            value,
            Vec::new(),
            21_000,
        ))]);
        node.batch(vec![wrap(eth_tx(&alice, 2, TxKind::Call(contract), 0, Vec::new(), 100_000))]);
        let query = atoll_evm::module::StorageQuery { address: contract.0 .0, slot: [0; 32] };
        let stored =
            node.query(atoll_evm::module::STORAGE, atoll_types::encode(&query)).expect("slot");
        decode::<[u8; 32]>(&stored, 32).expect("word")
    };
    let one = previous_hash(1);
    assert_ne!(one, [0; 32]);
    assert_eq!(one, previous_hash(1), "the same blocks have the same hash");
    assert_ne!(one, previous_hash(2), "a different transaction makes a different block");
}
