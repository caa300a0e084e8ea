//! The dispatcher in process (no host): fees, gas, refunds, rollback, events, nonces,
//! deposits and withdrawals, the I/O tree, and determinism.

use atoll_crypto::MemorySigner;
use atoll_mkvs::{verify_key, MemoryNodeDb, Mkvs, RootKind};
use atoll_runtime_host::{
    ExecuteBatch, ExecuteResult, ExecutionMode, IncomingMessage, PendingRound, RuntimeMessage,
    StateRoot, TxOutcome,
};
use atoll_runtime_sdk::modules::{accounts, consensus_accounts};
use atoll_runtime_sdk::{io_key, Dispatcher, Fee, SignerInfo, Transaction};
use atoll_timestamp::{runtime, runtime_id, Anchor, AnchorRecord, Get, GetResult, ANCHOR, GET};
use atoll_types::{decode, Address, Amount, ChainContext, Hash, Round, Signer};
use borsh::BorshSerialize;

fn user(i: u8) -> MemorySigner {
    MemorySigner::from_seed([i; 32])
}

struct Node {
    dispatcher: Dispatcher,
    store: Mkvs<MemoryNodeDb>,
    state: StateRoot,
    round: u64,
}

impl Node {
    fn new() -> Self {
        let mut dispatcher = Dispatcher::new(runtime());
        dispatcher.set_consensus_chain(&ChainContext::from_genesis_document(b"test chain"));
        let store = Mkvs::new(MemoryNodeDb::new());
        let root =
            store.commit(runtime_id(), RootKind::State, None, 0, &Vec::new()).expect("empty state");
        Self {
            dispatcher,
            store,
            state: StateRoot { version: 0, hash: root.hash, node: None },
            round: 0,
        }
    }

    fn tx<B: BorshSerialize>(
        &self,
        signer: &MemorySigner,
        nonce: u64,
        fee: Fee,
        method: &str,
        body: &B,
    ) -> Vec<u8> {
        let tx = Transaction::new(
            method,
            body,
            vec![SignerInfo { public_key: signer.public_key(), nonce }],
            fee,
        );
        atoll_types::encode(&tx.sign(&[signer], &self.dispatcher.chain_context()))
    }

    fn batch(&mut self, txs: Vec<Vec<u8>>, incoming: Vec<IncomingMessage>) -> ExecuteResult {
        self.batch_with_results(txs, incoming, Vec::new())
    }

    fn batch_with_results(
        &mut self,
        txs: Vec<Vec<u8>>,
        incoming: Vec<IncomingMessage>,
        message_results: Vec<atoll_runtime_host::MessageResult>,
    ) -> ExecuteResult {
        self.round += 1;
        let batch = ExecuteBatch {
            mode: ExecutionMode::Execute,
            round: Round(self.round),
            time: 1_000 + self.round,
            randomness: atoll_types::Hash::ZERO,
            state: self.state,
            txs,
            incoming,
            message_results,
            pending: None,
        };
        let result = self.dispatcher.execute(&self.store, &batch).expect("execute");
        let root =
            self.store.latest_root(runtime_id(), RootKind::State).expect("root").expect("root");
        assert_eq!(root.hash, result.state_root);
        self.state = StateRoot { version: root.version, hash: root.hash, node: None };
        result
    }

    fn query<B: BorshSerialize>(&self, method: &str, args: &B) -> Vec<u8> {
        self.dispatcher
            .query(
                &self.store,
                self.state.version,
                self.state.hash,
                method,
                &atoll_types::encode(args),
            )
            .expect("query")
    }

    fn balance(&self, who: &MemorySigner) -> u128 {
        let bytes = self.query(accounts::BALANCE, &Address::from_public_key(&who.public_key()));
        decode::<Amount>(&bytes, 64).expect("amount").base_units()
    }
}

fn deposit(to: &MemorySigner, amount: u128) -> IncomingMessage {
    let address = Address::from_public_key(&to.public_key());
    IncomingMessage { id: 0, from: address, to: address, amount: Amount::new(amount) }
}

const FEE: Fee = Fee { amount: Amount::new(20_000), gas: 20_000 };

fn failure(outcome: &TxOutcome) -> Option<(String, u32)> {
    outcome.error.as_ref().map(|e| (e.module.clone(), e.code))
}

#[test]
fn fees_gas_refunds_and_rollback() {
    let mut node = Node::new();
    let (alice, bob) = (user(1), user(2));
    node.batch(vec![], vec![deposit(&alice, 1_000_000)]);
    assert_eq!(node.balance(&alice), 1_000_000);

    let to_bob = accounts::Transfer {
        to: Address::from_public_key(&bob.public_key()),
        amount: Amount::new(500),
    };
    let ok = node.tx(&alice, 0, FEE, accounts::TRANSFER, &to_bob);
    let too_much = accounts::Transfer { amount: Amount::new(5_000_000), ..to_bob.clone() };
    let fails = node.tx(&alice, 1, FEE, accounts::TRANSFER, &too_much);
    let result = node.batch(vec![ok.clone(), fails], vec![]);
    // Gas: 100 base + bytes + 1,000 for the transfer; price 1: the rest is refunded.
    let used = result.outcomes[0].gas_used;
    assert_eq!(used, 100 + ok.len() as u64 + accounts::TRANSFER_GAS);
    assert_eq!(failure(&result.outcomes[0]), None);
    assert_eq!(result.outcomes[0].events.len(), 1);
    assert_eq!(
        failure(&result.outcomes[1]),
        Some(("accounts".into(), accounts::codes::INSUFFICIENT_BALANCE))
    );
    assert!(result.outcomes[1].events.is_empty(), "events of a failed call are dropped");
    let used_failed = result.outcomes[1].gas_used;
    assert_eq!(node.balance(&bob), 500);
    assert_eq!(node.balance(&alice), 1_000_000 - 500 - u128::from(used) - u128::from(used_failed));

    // Replays, bad signatures, unknown methods and out-of-gas calls.
    let mut forged = node.tx(&alice, 2, FEE, accounts::TRANSFER, &to_bob);
    let last = forged.len() - 1;
    forged[last] ^= 1;
    let unknown = node.tx(&alice, 2, FEE, "accounts.Mint", &to_bob);
    let starved =
        node.tx(&alice, 3, Fee { amount: Amount::new(200), gas: 200 }, accounts::TRANSFER, &to_bob);
    let result = node.batch(vec![ok, forged, unknown, starved], vec![]);
    let codes: Vec<_> = result.outcomes.iter().map(failure).collect();
    assert_eq!(
        codes,
        vec![
            Some(("accounts".into(), accounts::codes::INVALID_NONCE)),
            Some(("core".into(), 2)),
            Some(("core".into(), 4)),
            Some(("core".into(), 3)),
        ]
    );
    assert_eq!(node.balance(&bob), 500);
}

#[test]
fn withdrawals_become_consensus_messages() {
    let mut node = Node::new();
    let alice = user(1);
    node.batch(vec![], vec![deposit(&alice, 100_000)]);
    let to = Address::reserved("consensus recipient");
    let withdraw = consensus_accounts::Withdraw { to, amount: Amount::new(40_000) };
    let result =
        node.batch(vec![node.tx(&alice, 0, FEE, consensus_accounts::WITHDRAW, &withdraw)], vec![]);
    assert_eq!(failure(&result.outcomes[0]), None);
    assert_eq!(
        result.messages,
        vec![RuntimeMessage::StakingTransfer { to, amount: Amount::new(40_000) }]
    );
    assert!(node.balance(&alice) < 60_000);
    let result =
        node.batch(vec![node.tx(&alice, 1, FEE, consensus_accounts::WITHDRAW, &withdraw)], vec![]);
    assert_eq!(
        failure(&result.outcomes[0]),
        Some(("accounts".into(), accounts::codes::INSUFFICIENT_BALANCE))
    );
    assert!(result.messages.is_empty(), "a failed call sends no message");
}

#[test]
fn a_withdrawal_the_consensus_layer_refused_is_refunded_next_round() {
    use atoll_runtime_host::MessageResult;
    let mut node = Node::new();
    let alice = user(1);
    node.batch(vec![], vec![deposit(&alice, 100_000)]);
    let to = Address::reserved("consensus recipient");
    let withdraw = consensus_accounts::Withdraw { to, amount: Amount::new(30_000) };
    let first = node.round + 1;
    node.batch(vec![node.tx(&alice, 0, FEE, consensus_accounts::WITHDRAW, &withdraw)], vec![]);
    let second = node.round + 1;
    node.batch(vec![node.tx(&alice, 1, FEE, consensus_accounts::WITHDRAW, &withdraw)], vec![]);
    let after_both = node.balance(&alice);
    // The first transfer succeeded, the second was refused by the consensus layer.
    let results = vec![
        MessageResult { round: Round(first), index: 0, error: None },
        MessageResult { round: Round(second), index: 0, error: Some(("staking".into(), 3)) },
    ];
    node.batch_with_results(vec![], vec![], results.clone());
    assert_eq!(node.balance(&alice), after_both + 30_000, "only the refused one is refunded");
    // A result reported twice refunds nothing more.
    node.batch_with_results(vec![], vec![], results);
    assert_eq!(node.balance(&alice), after_both + 30_000);
}

#[test]
fn anchors_are_recorded_once_and_proven() {
    let mut node = Node::new();
    let alice = user(1);
    node.batch(vec![], vec![deposit(&alice, 100_000)]);
    let document = Hash::digest(b"the contract, signed");
    let anchor = Anchor { document, metadata: Some("contract.pdf".into()) };
    let first = node.tx(&alice, 0, FEE, ANCHOR, &anchor);
    let again = node.tx(&alice, 1, FEE, ANCHOR, &anchor);
    let long = Anchor { document: Hash::digest(b"x"), metadata: Some("m".repeat(300)) };
    let too_long = node.tx(&alice, 2, FEE, ANCHOR, &long);
    let result = node.batch(vec![first.clone(), again, too_long], vec![]);
    assert_eq!(failure(&result.outcomes[0]), None);
    assert_eq!(failure(&result.outcomes[1]), Some(("timestamp".into(), 1)));
    assert_eq!(failure(&result.outcomes[2]), Some(("timestamp".into(), 2)));
    assert_eq!(decode::<Round>(&result.outcomes[0].output, 16).expect("round"), Round(2));

    // The I/O tree holds each transaction's input and output under its hash.
    let io = node.store.root_at(runtime_id(), RootKind::Io, 2).expect("io root");
    assert_eq!(io.hash, result.io_root);
    let tree = node.store.tree(&io).expect("io tree");
    let hash = Hash::digest(&first);
    assert_eq!(tree.get(&io_key(&hash, 0)).expect("input"), Some(first));

    // The query answers with a proof against the state root.
    let answer: GetResult = decode(&node.query(GET, &Get { document }), 1 << 20).expect("answer");
    let record = answer.record.clone().expect("anchored");
    assert_eq!(
        (record.round, record.time, record.metadata.as_deref()),
        (Round(2), 1_002, Some("contract.pdf"))
    );
    let proven =
        verify_key(&node.state.hash, &answer.key, &answer.proof).expect("verify").expect("present");
    assert_eq!(decode::<AnchorRecord>(&proven, 1 << 20).expect("record"), record);
    let missing: GetResult =
        decode(&node.query(GET, &Get { document: Hash::digest(b"never") }), 1 << 20)
            .expect("answer");
    assert_eq!(missing.record, None);
    assert_eq!(verify_key(&node.state.hash, &missing.key, &missing.proof), Ok(None));
}

#[test]
fn the_same_batch_gives_the_same_roots() {
    let run = || {
        let mut node = Node::new();
        let alice = user(1);
        node.batch(vec![], vec![deposit(&alice, 100_000)]);
        let txs = (0..10u64)
            .map(|i| {
                node.tx(
                    &alice,
                    i,
                    FEE,
                    ANCHOR,
                    &Anchor { document: Hash::digest(&i.to_le_bytes()), metadata: None },
                )
            })
            .collect();
        let result = node.batch(txs, vec![]);
        (result.state_root, result.io_root)
    };
    assert_eq!(run(), run());
}

#[test]
fn schedule_mode_leaves_out_what_cannot_run() {
    let mut node = Node::new();
    let alice = user(1);
    node.batch(vec![], vec![deposit(&alice, 100_000)]);
    let good =
        node.tx(&alice, 0, FEE, ANCHOR, &Anchor { document: Hash::digest(b"a"), metadata: None });
    let bad_nonce =
        node.tx(&alice, 9, FEE, ANCHOR, &Anchor { document: Hash::digest(b"b"), metadata: None });
    node.round += 1;
    let batch = ExecuteBatch {
        mode: ExecutionMode::Schedule,
        round: Round(node.round),
        time: 0,
        randomness: atoll_types::Hash::ZERO,
        state: node.state,
        txs: vec![vec![1, 2, 3], good.clone(), bad_nonce],
        incoming: vec![],
        message_results: vec![],
        pending: None,
    };
    let result = node.dispatcher.execute(&node.store, &batch).expect("schedule");
    assert_eq!(result.txs, vec![good]);
    assert_eq!(result.outcomes.len(), 1);
}

#[test]
fn a_batch_executes_on_a_previous_round_that_is_not_finalized() {
    // Node `a` stores round 1 before executing round 2; node `b` only has the state before
    // round 1 and gets round 1's changes with the batch, as a pipelined worker does.
    let mut a = Node::new();
    let alice = user(1);
    let first = a.batch(vec![], vec![deposit(&alice, 100_000)]);
    let anchor = Anchor { document: Hash::digest(b"pipelined"), metadata: None };
    let tx = a.tx(&alice, 0, FEE, ANCHOR, &anchor);
    let second = a.batch(vec![tx.clone()], vec![]);
    assert!(second.outcomes[0].error.is_none(), "{:?}", second.outcomes[0].error);

    let b = Node::new();
    let pending = PendingRound {
        round: Round(1),
        state_write_log: first.state_write_log.clone(),
        state_root: first.state_root,
    };
    let batch = |pending: PendingRound| ExecuteBatch {
        mode: ExecutionMode::Execute,
        round: Round(2),
        time: 1_002,
        randomness: Hash::ZERO,
        state: b.state,
        txs: vec![tx.clone()],
        incoming: vec![],
        message_results: vec![],
        pending: Some(pending),
    };
    let pipelined = b.dispatcher.execute(&b.store, &batch(pending.clone())).expect("execute");
    assert_eq!(pipelined, second, "the same results as on the stored round");

    // Changes that do not make the pending root, or a pending round out of order, are
    // refused and store nothing.
    let c = Node::new();
    let wrong = PendingRound { state_root: Hash::digest(b"wrong"), ..pending.clone() };
    let out_of_order = PendingRound { round: Round(2), ..pending };
    for bad in [wrong, out_of_order] {
        let refused =
            c.dispatcher.execute(&c.store, &ExecuteBatch { state: c.state, ..batch(bad) });
        assert!(refused.is_err());
        let latest = c.store.latest_root(runtime_id(), RootKind::State).expect("root");
        assert_eq!(latest.map(|r| r.version), Some(0), "nothing stored");
    }
}

mod garbage {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// Arbitrary bytes as transactions are refused; the state root does not move.
        #[test]
        fn arbitrary_transactions_change_no_state(txs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 1..6)) {
            let mut node = Node::new();
            node.batch(vec![], vec![deposit(&user(1), 1_000)]);
            let before = node.state.hash;
            let result = node.batch(txs, vec![]);
            prop_assert!(result.outcomes.iter().all(|o| o.error.is_some()));
            prop_assert_eq!(result.state_root, before);
        }
    }
}

#[test]
fn module_schemes_are_decoded_only_by_their_module() {
    let mut node = Node::new();
    let alice = user(1);
    node.batch(vec![], vec![deposit(&alice, 1_000_000)]);
    // No module of this runtime claims the scheme.
    let foreign = atoll_types::encode(&atoll_runtime_sdk::UnverifiedTransaction::of_scheme(
        "evm.ethereum.v0",
        vec![0x02, 0xc0],
    ));
    // A signed transaction that claims a module authenticated it is malformed.
    let mut tx = Transaction::new(
        accounts::TRANSFER,
        &accounts::Transfer {
            to: Address::from_public_key(&user(2).public_key()),
            amount: Amount::new(1),
        },
        vec![SignerInfo { public_key: alice.public_key(), nonce: 0 }],
        FEE,
    );
    tx.auth.module = Some(atoll_runtime_sdk::ModuleAuth {
        module: "accounts".into(),
        sender: Address::from_eth([9; 20]),
        nonce: 0,
    });
    let claiming = atoll_types::encode(&tx.sign(&[&alice], &node.dispatcher.chain_context()));
    let result = node.batch(vec![foreign, claiming], vec![]);
    let codes: Vec<_> = result.outcomes.iter().map(failure).collect();
    assert_eq!(codes, vec![Some(("core".into(), 1)), Some(("core".into(), 1))]);
    assert_eq!(node.balance(&alice), 1_000_000);
}

#[test]
fn native_transfers_to_an_ethereum_address_are_refused() {
    let mut node = Node::new();
    let alice = user(1);
    node.batch(vec![], vec![deposit(&alice, 1_000_000)]);
    let to_eth = accounts::Transfer { to: Address::from_eth([7; 20]), amount: Amount::new(5) };
    let tx = node.tx(&alice, 0, FEE, accounts::TRANSFER, &to_eth);
    let result = node.batch(vec![tx], vec![]);
    assert_eq!(
        failure(&result.outcomes[0]),
        Some(("accounts".into(), accounts::codes::INVALID_ARGUMENT))
    );
}

#[test]
fn signatures_are_verified_together_a_bad_one_fails_alone_and_verdicts_are_kept_by_hash() {
    let mut node = Node::new();
    let users: Vec<MemorySigner> = (1..=3).map(user).collect();
    for u in &users {
        node.batch(vec![], vec![deposit(u, 100_000)]);
    }
    let anchor = |n: u8| Anchor { document: Hash::digest(&[n]), metadata: None };
    let mut txs: Vec<Vec<u8>> =
        users.iter().zip(1u8..).map(|(u, n)| node.tx(u, 0, FEE, ANCHOR, &anchor(n))).collect();
    // The middle one's signature (the encoding's last bytes) no longer verifies.
    let forged = {
        let mut raw = txs[1].clone();
        *raw.last_mut().expect("bytes") ^= 1;
        raw
    };
    let genuine = std::mem::replace(&mut txs[1], forged.clone());
    let check = |node: &Node, txs: &[Vec<u8>]| -> Vec<Option<u32>> {
        let outcomes = node.dispatcher.check(&node.store, node.state.version, node.state.hash, txs);
        outcomes.expect("check").iter().map(|o| o.error.as_ref().map(|e| e.code)).collect()
    };
    let bad = Some(atoll_runtime_sdk::error::core_codes::INVALID_SIGNATURE);
    assert_eq!(check(&node, &txs), vec![None, bad, None]);
    // Checked again (the verdicts kept): the same answers; the genuine bytes verify.
    assert_eq!(check(&node, &txs), vec![None, bad, None]);
    assert_eq!(check(&node, &[forged.clone(), genuine.clone()]), vec![bad, None]);

    let result = node.batch(txs.clone(), vec![]);
    let codes: Vec<Option<u32>> =
        result.outcomes.iter().map(|o| o.error.as_ref().map(|e| e.code)).collect();
    assert_eq!(codes, vec![None, bad, None]);
    assert_eq!(result.outcomes[1].gas_used, 0);
    // A fresh dispatcher, with nothing kept, makes the same state of the same batch.
    let mut fresh = Node::new();
    for u in &users {
        fresh.batch(vec![], vec![deposit(u, 100_000)]);
    }
    assert_eq!(fresh.batch(txs, vec![]).state_root, result.state_root);
}
