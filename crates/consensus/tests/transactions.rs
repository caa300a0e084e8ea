//! Transaction-level rules: signatures, nonces, fees, gas, size, unknown methods. A
//! rejected transaction changes nothing; a failed one keeps only its fee and nonce.

mod common;

use atoll_consensus::staking::methods::{self, Transfer};
use atoll_consensus::{check_tx, check_txs, CheckPolicy, CoreError, Fee, ModuleError, Transaction};
use atoll_types::{encode, Amount, ChainContext, Hash, Height, Signed};
use common::{assert_code, TestChain, FEE};

fn transfer(chain: &TestChain, to: usize, amount: u128) -> Transfer {
    Transfer { to: chain.addr(to), amount: Amount::new(amount) }
}

#[test]
fn transfer_moves_tokens_and_charges_the_fee() {
    let mut chain = TestChain::new(3, 1_000);
    let tx = chain.tx(0, methods::TRANSFER, &transfer(&chain, 1, 100));
    let outcome = chain.block(vec![tx]);
    assert_eq!(outcome.results[0].error, None);
    assert_eq!(chain.balance(0), 1_000 - 100 - 10);
    assert_eq!(chain.balance(1), 1_100);
    assert_eq!(chain.nonce(0), 1);
    assert_eq!(outcome.events.iter().filter(|e| e.tx_index == Some(0)).count(), 1);
    let (sum, supply) = chain.accounted_supply();
    assert_eq!(sum, supply);
}

#[test]
fn failed_call_keeps_fee_and_nonce_only() {
    let mut chain = TestChain::new(2, 1_000);
    let tx = chain.tx(0, methods::TRANSFER, &transfer(&chain, 1, 5_000));
    assert_code(chain.run(tx), "staking", 2);
    assert_eq!(chain.balance(0), 990);
    assert_eq!(chain.balance(1), 1_000);
    assert_eq!(chain.nonce(0), 1);
}

#[test]
fn rejected_transactions_change_nothing() {
    let mut chain = TestChain::new(2, 1_000);
    let root_before = chain.state.latest().expect("root").expect("root").hash;
    let body = transfer(&chain, 1, 1);

    // Wrong nonce.
    let wrong_nonce = chain.tx_with(0, 7, FEE, methods::TRANSFER, &body);
    // Signed for another chain.
    let tx = Transaction::new(0, FEE, methods::TRANSFER, &body);
    let other_chain =
        encode(&Signed::sign(&chain.keys[0], &ChainContext::from_genesis_document(b"other"), &tx));
    // A flipped signature byte.
    let mut bad_sig = chain.tx(0, methods::TRANSFER, &body);
    let last = bad_sig.len() - 1;
    bad_sig[last] ^= 1;
    // Unknown method, malformed bytes, oversized, fee above balance.
    let unknown = chain.tx(0, "staking.Mint", &body);
    let unknown_module = chain.tx(0, "nope.Transfer", &body);
    let garbage = vec![1, 2, 3];
    let huge = chain.tx(0, methods::TRANSFER, &vec![0u8; 40_000]);
    let rich_fee = chain.tx_with(
        0,
        0,
        Fee { amount: Amount::new(5_000), gas: 100_000 },
        methods::TRANSFER,
        &body,
    );

    let outcome = chain.block(vec![
        wrong_nonce,
        other_chain,
        bad_sig,
        unknown,
        unknown_module,
        garbage,
        huge,
        rich_fee,
    ]);
    let codes: Vec<(String, u32)> = outcome
        .results
        .iter()
        .map(|r| r.error.as_ref().map(|e| (e.module.clone(), e.code)).expect("rejected"))
        .collect();
    let core = |e: CoreError| ("core".to_owned(), e.code());
    assert_eq!(
        codes,
        vec![
            core(CoreError::InvalidNonce { expected: 0, got: 7 }),
            core(CoreError::InvalidSignature),
            core(CoreError::InvalidSignature),
            core(CoreError::UnknownMethod(String::new())),
            core(CoreError::UnknownMethod(String::new())),
            core(CoreError::Malformed(String::new())),
            core(CoreError::TooLarge { size: 0, max: 0 }),
            core(CoreError::InsufficientFeeBalance),
        ]
    );
    assert!(outcome.results.iter().all(|r| r.gas_used == 0));
    assert_eq!(chain.balance(0), 1_000);
    assert_eq!(chain.nonce(0), 0);
    // Only the last-height marker and the (empty) per-block bookkeeping changed.
    let tree = chain.state.tree_at(Height(1)).expect("tree");
    assert_ne!(tree.root().hash, root_before);
}

#[test]
fn out_of_gas_fails_after_charging_the_fee() {
    let mut chain = TestChain::new(2, 1_000);
    let low_gas = Fee { amount: Amount::new(10), gas: 50 };
    let tx = chain.tx_with(0, 0, low_gas, methods::TRANSFER, &transfer(&chain, 1, 100));
    let outcome = chain.block(vec![tx]);
    assert_code(outcome.results[0].error.clone(), "core", 6);
    assert_eq!(outcome.results[0].gas_used, 50);
    assert_eq!(chain.balance(0), 990);
    assert_eq!(chain.balance(1), 1_000);
    assert_eq!(chain.nonce(0), 1);
}

#[test]
fn malformed_body_fails_with_fee_charged() {
    let mut chain = TestChain::new(2, 1_000);
    let tx = chain.tx(0, methods::TRANSFER, &(1u8, 2u8));
    assert_code(chain.run(tx), "core", 10);
    assert_eq!(chain.balance(0), 990);
}

#[test]
fn nonces_sequence_within_a_block_and_replays_fail() {
    let mut chain = TestChain::new(2, 1_000);
    let body = transfer(&chain, 1, 1);
    let first = chain.tx_with(0, 0, FEE, methods::TRANSFER, &body);
    let second = chain.tx_with(0, 1, FEE, methods::TRANSFER, &body);
    let outcome = chain.block(vec![first.clone(), second]);
    assert!(outcome.results.iter().all(|r| r.error.is_none()));
    assert_code(chain.run(first), "core", 4);
    assert_eq!(chain.nonce(0), 2);
}

#[test]
fn block_gas_limit_rejects_what_does_not_fit() {
    let mut genesis = common::base_genesis(2, 1_000);
    genesis.consensus.max_block_gas = 150_000;
    let mut chain = TestChain::with_genesis(genesis, 2);
    let body = transfer(&chain, 1, 1);
    let a = chain.tx_with(0, 0, FEE, methods::TRANSFER, &body);
    let b = chain.tx_with(0, 1, FEE, methods::TRANSFER, &body);
    let outcome = chain.block(vec![a, b]);
    assert_eq!(outcome.results[0].error, None);
    assert_code(outcome.results[1].error.clone(), "core", 9);
    assert_eq!(outcome.gas_used, 100_000);
}

#[test]
fn check_tx_applies_mempool_policy_without_changing_state() {
    let chain = TestChain::new(2, 1_000);
    let tree = chain.state.tree_at(Height(0)).expect("tree");
    let body = transfer(&chain, 1, 1);
    let ok = chain.tx(0, methods::TRANSFER, &body);
    let checked = check_tx(&tree, &ok, &CheckPolicy::default()).expect("valid");
    assert_eq!(checked.sender, chain.addr(0));
    assert_eq!(checked.hash, Hash::digest(&ok));
    let cheap = CheckPolicy { min_gas_price: 1, ..CheckPolicy::default() };
    let err = check_tx(&tree, &ok, &cheap).expect_err("price too low");
    assert!(err.to_string().contains("gas price too low"), "{err}");
    let future = chain.tx_with(0, 3, FEE, methods::TRANSFER, &body);
    assert!(check_tx(&tree, &future, &CheckPolicy::default()).is_err());
    let lenient = CheckPolicy { allow_future_nonce: true, ..CheckPolicy::default() };
    assert!(check_tx(&tree, &future, &lenient).is_ok());
    assert_eq!(chain.nonce(0), 0);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Checking many transactions at once (one batch of signatures) gives each the answer
    /// checking it alone gives: valid, forged, malformed, wrong nonce, unknown method.
    #[test]
    fn batch_checks_agree_with_single_checks(
        picks in proptest::collection::vec((0usize..8, 0usize..3, 0u64..4), 0..40),
        lenient in proptest::bool::ANY,
    ) {
        let chain = TestChain::new(3, 1_000);
        let tree = chain.tree();
        let raws: Vec<Vec<u8>> = picks
            .iter()
            .map(|&(kind, who, nonce)| {
                let body = transfer(&chain, (who + 1) % 3, 1);
                let good = chain.tx_with(who, nonce, FEE, methods::TRANSFER, &body);
                match kind {
                    0 => {
                        let mut forged = good;
                        let last = forged.len() - 1;
                        forged[last] ^= 1;
                        forged
                    }
                    1 => good[..good.len() / 2].to_vec(),
                    2 => chain.tx_with(who, nonce, FEE, "staking.Nope", &body),
                    3 => vec![nonce as u8; 3],
                    _ => good,
                }
            })
            .collect();
        let policy = CheckPolicy { allow_future_nonce: lenient, ..CheckPolicy::default() };
        let answer = |r: Result<atoll_consensus::CheckedTx, atoll_consensus::CallError>| {
            r.map(|c| (c.hash, c.sender, c.gas_needed)).map_err(|e| e.to_string())
        };
        let together: Vec<_> =
            check_txs(&tree, &raws, &policy).expect("state").into_iter().map(answer).collect();
        let alone: Vec<_> = raws.iter().map(|raw| answer(check_tx(&tree, raw, &policy))).collect();
        proptest::prop_assert_eq!(together, alone);
    }
}

#[test]
fn wrong_height_is_refused() {
    let chain = TestChain::new(1, 1_000);
    let ctx = atoll_consensus::BlockContext { height: Height(5), ..Default::default() };
    assert!(chain.state.apply(&ctx, &[]).is_err());
}

#[test]
fn min_transact_balance_is_kept_after_fees() {
    let mut genesis = common::base_genesis(2, 1_000);
    genesis.staking.parameters.min_transact_balance = Amount::new(995);
    let mut chain = TestChain::with_genesis(genesis, 2);
    let tx = chain.tx(0, methods::TRANSFER, &transfer(&chain, 1, 1));
    assert_code(chain.run(tx), "core", 5);
}

/// [S] finding 10: transactions paying nothing were valid, so a fresh key with no balance
/// could fill blocks and create accounts for free. The chain's minimum gas price is a
/// consensus rule: a block carrying such a transaction refuses it and changes nothing.
#[test]
fn free_transactions_are_refused_by_consensus() {
    let mut genesis = common::base_genesis(2, 1_000_000);
    genesis.consensus.min_gas_price = 1;
    let mut chain = TestChain::with_genesis(genesis, 2);
    let stranger = atoll_crypto::MemorySigner::from_seed([77; 32]);
    let newcomer =
        atoll_types::Address::from_public_key(&atoll_types::Signer::public_key(&stranger));
    let free = Transaction::new(
        0,
        Fee { amount: Amount::ZERO, gas: 10_000 },
        methods::TRANSFER,
        &transfer(&chain, 1, 0),
    );
    let raw = encode(&Signed::sign(&stranger, &chain.chain_context(), &free));
    let tree = chain.tree();
    let refused = check_tx(&tree, &raw, &CheckPolicy::default()).expect_err("refused");
    drop(tree);
    assert!(refused.to_string().ends_with(&CoreError::GasPriceTooLow { minimum: 1 }.to_string()));
    assert_code(chain.run(raw), "core", 8);
    assert_eq!(chain.account(&newcomer), Default::default(), "no account was created");
    // A funded account paying less than the minimum is refused too; paying it, accepted.
    let cheap = chain.tx_with(
        0,
        0,
        Fee { amount: Amount::new(9_999), gas: 10_000 },
        methods::TRANSFER,
        &transfer(&chain, 1, 5),
    );
    assert_code(chain.run(cheap), "core", 8);
    assert_eq!(chain.nonce(0), 0);
    let paid = chain.tx_with(
        0,
        0,
        Fee { amount: Amount::new(10_000), gas: 10_000 },
        methods::TRANSFER,
        &transfer(&chain, 1, 5),
    );
    assert_eq!(chain.run(paid), None);
}
