//! Modules unit-tested with the mock state and context, without a node or a dispatcher.

use atoll_runtime_host::IncomingMessage;
use atoll_runtime_sdk::modules::{accounts, consensus_accounts};
use atoll_runtime_sdk::testing::MockState;
use atoll_runtime_sdk::{BlockHandler, InvariantHandler, MethodHandler};
use atoll_timestamp::{Anchor, Timestamp, ANCHOR, ANCHOR_GAS};
use atoll_types::{Address, Amount, Hash};

fn addr(name: &str) -> Address {
    Address::reserved(name)
}

fn funded(who: &Address, amount: u128) -> MockState {
    let mut state = MockState::new();
    let mut ctx = state.context();
    accounts::mint(&mut ctx, who, Amount::new(amount)).expect("mint");
    let log = ctx.into_write_log();
    state.apply(log);
    state
}

#[test]
fn accounts_transfer_success_error_gas_and_event() {
    let (alice, bob) = (addr("alice"), addr("bob"));
    let state = funded(&alice, 1_000);
    let module = accounts::Accounts(vec![]);
    let body = atoll_types::encode(&accounts::Transfer { to: bob, amount: Amount::new(300) });
    let mut ctx = state.call_context(alice, 10_000);
    assert_eq!(module.call(&mut ctx, accounts::TRANSFER, &body), Some(Ok(vec![])));
    assert_eq!(ctx.gas_used(), accounts::TRANSFER_GAS);
    assert_eq!(accounts::balance(&ctx, &bob), Ok(Amount::new(300)));
    assert!(module.check_invariants(&mut ctx).is_ok());

    let too_much = atoll_types::encode(&accounts::Transfer { to: bob, amount: Amount::new(5_000) });
    let err = module
        .call(&mut ctx, accounts::TRANSFER, &too_much)
        .expect("handled")
        .expect_err("insufficient");
    assert_eq!(
        (err.module.as_str(), err.code),
        ("accounts", accounts::codes::INSUFFICIENT_BALANCE)
    );

    let mut starved = state.call_context(alice, 10);
    let err = module
        .call(&mut starved, accounts::TRANSFER, &body)
        .expect("handled")
        .expect_err("out of gas");
    assert_eq!((err.module.as_str(), err.code), ("core", 3));
    assert_eq!(module.call(&mut ctx, "accounts.Nope", &body), None, "not this module's method");
    let err = module
        .call(&mut ctx, accounts::TRANSFER, &[1, 2])
        .expect("handled")
        .expect_err("malformed");
    assert_eq!(err.code, 6);
}

#[test]
fn deposits_and_withdrawals_keep_the_supply_consistent() {
    let alice = addr("alice");
    let state = MockState::new();
    let module = consensus_accounts::ConsensusAccounts;
    let mut ctx = state.call_context(alice, 100_000);
    module
        .incoming(
            &mut ctx,
            &IncomingMessage { id: 1, from: alice, to: alice, amount: Amount::new(700) },
        )
        .expect("deposit");
    assert_eq!(accounts::total_supply(&ctx), Ok(Amount::new(700)));
    let to = addr("consensus");
    let body = atoll_types::encode(&consensus_accounts::Withdraw { to, amount: Amount::new(200) });
    assert_eq!(module.call(&mut ctx, consensus_accounts::WITHDRAW, &body), Some(Ok(vec![])));
    assert_eq!(accounts::total_supply(&ctx), Ok(Amount::new(500)));
    assert!(accounts::Accounts(vec![]).check_invariants(&mut ctx).is_ok());
    let log = ctx.into_write_log();
    assert!(!log.is_empty());
    let mut ctx = state.call_context(alice, 100_000);
    module
        .incoming(
            &mut ctx,
            &IncomingMessage { id: 1, from: alice, to: alice, amount: Amount::new(100) },
        )
        .expect("deposit");
    let err = module
        .call(&mut ctx, consensus_accounts::WITHDRAW, &body)
        .expect("handled")
        .expect_err("only 100");
    assert_eq!(err.code, accounts::codes::INSUFFICIENT_BALANCE);
}

#[test]
fn timestamp_module_records_once() {
    let alice = addr("alice");
    let state = MockState::new();
    let mut ctx = state.call_context(alice, 100_000);
    let body = atoll_types::encode(&Anchor { document: Hash::digest(b"doc"), metadata: None });
    assert!(Timestamp.call(&mut ctx, ANCHOR, &body).expect("handled").is_ok());
    assert_eq!(ctx.gas_used(), ANCHOR_GAS);
    let err = Timestamp.call(&mut ctx, ANCHOR, &body).expect("handled").expect_err("twice");
    assert_eq!((err.module.as_str(), err.code), ("timestamp", 1));
    // The mock has no committed tree, so queries needing proofs say so.
    let args = atoll_types::encode(&atoll_timestamp::Get { document: Hash::digest(b"doc") });
    assert!(Timestamp.query(&mut ctx, atoll_timestamp::GET, &args).expect("handled").is_err());
}
