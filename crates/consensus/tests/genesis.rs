//! Genesis documents: JSON round trip, chain context, and a clear error for every
//! inconsistency.

mod common;

use atoll_consensus::staking::{Delegation, Shares};
use atoll_consensus::{Genesis, GenesisError};
use atoll_types::{Address, Amount};
use common::base_genesis;

fn invalid(genesis: &Genesis) -> String {
    match genesis.validate() {
        Err(GenesisError::Invalid(reason)) => reason,
        other => panic!("expected an invalid genesis, got {other:?}"),
    }
}

#[test]
fn json_round_trip_keeps_the_chain_context() {
    let genesis = base_genesis(3, 1_000);
    let json = genesis.to_json();
    let parsed = Genesis::from_json(&json).expect("parse");
    assert_eq!(parsed, genesis);
    assert_eq!(parsed.chain_context(), genesis.chain_context());
    // Any change to the document changes the chain context.
    let mut other = genesis.clone();
    other.chain_id = "atoll-other".into();
    assert_ne!(other.chain_context(), genesis.chain_context());
    // Amounts are strings of base units, addresses bech32.
    assert!(json.contains("\"total_supply\": \"1000003000\""), "{json}");
    assert!(json.contains("\"atoll1"));
}

#[test]
fn malformed_json_and_unknown_fields_are_refused() {
    assert!(matches!(Genesis::from_json("{"), Err(GenesisError::Json(_))));
    let mut value: serde_json::Value =
        serde_json::from_str(&base_genesis(1, 1).to_json()).expect("json");
    value["surprise"] = serde_json::json!(1);
    assert!(matches!(Genesis::from_json(&value.to_string()), Err(GenesisError::Json(_))));
    let mut value: serde_json::Value =
        serde_json::from_str(&base_genesis(1, 1).to_json()).expect("json");
    value["staking"]["total_supply"] = serde_json::json!(5);
    assert!(
        matches!(Genesis::from_json(&value.to_string()), Err(GenesisError::Json(_))),
        "amounts are strings"
    );
}

/// A change that makes a genesis document invalid.
type Mutation = Box<dyn Fn(&mut Genesis)>;

#[test]
fn every_inconsistency_has_a_clear_error() {
    let good = base_genesis(2, 1_000);
    let first = *good.staking.accounts.keys().next().expect("account");
    let cases: Vec<(&str, Mutation)> = vec![
        ("total_supply", Box::new(|g| g.staking.total_supply = Amount::new(1))),
        ("chain_id", Box::new(|g| g.chain_id = String::new())),
        ("initial_height", Box::new(|g| g.initial_height = 0)),
        ("token symbol", Box::new(|g| g.token.symbol = "atl".into())),
        ("exponent", Box::new(|g| g.token.exponent = 39)),
        ("epoch_interval", Box::new(|g| g.consensus.epoch_interval = 0)),
        ("max_tx_size", Box::new(|g| g.consensus.max_tx_size = 10)),
        ("max_block_gas", Box::new(|g| g.consensus.max_block_gas = 0)),
        (
            "no shares",
            Box::new(move |g| {
                let account = g.staking.accounts.get_mut(&first).expect("account");
                account.escrow.active.balance = Amount::new(5);
                account.general.balance = Amount::new(995);
            }),
        ),
        (
            "unknown account",
            Box::new(|g| {
                let delegators =
                    [(Address::reserved("x"), Delegation { shares: Shares(1) })].into();
                g.staking.delegations.insert(Address::reserved("nobody"), delegators);
            }),
        ),
        (
            "shares",
            Box::new(move |g| {
                let account = g.staking.accounts.get_mut(&first).expect("account");
                account.escrow.active = atoll_consensus::staking::SharePool {
                    balance: Amount::new(100),
                    total_shares: Shares(100),
                };
                account.general.balance = Amount::new(900);
                let delegators = [(first, Delegation { shares: Shares(99) })].into();
                g.staking.delegations.insert(first, delegators);
            }),
        ),
        (
            "allows itself",
            Box::new(move |g| {
                g.staking
                    .accounts
                    .get_mut(&first)
                    .expect("account")
                    .general
                    .allowances
                    .insert(first, Amount::new(1));
            }),
        ),
        (
            "gas cost",
            Box::new(|g| {
                g.staking.parameters.gas_costs.insert("staking.Nope".into(), 1);
            }),
        ),
        ("threshold", Box::new(|g| g.staking.parameters.signing_reward_threshold_percent = 101)),
    ];
    for (expected, mutate) in cases {
        let mut genesis = good.clone();
        mutate(&mut genesis);
        let reason = invalid(&genesis);
        assert!(reason.contains(expected), "expected {expected:?} in {reason:?}");
    }
    assert_eq!(good.validate(), Ok(()));
}

#[test]
fn consistent_delegations_in_genesis_are_accepted_and_loaded() {
    let mut genesis = base_genesis(2, 1_000);
    let first = *genesis.staking.accounts.keys().next().expect("account");
    let account = genesis.staking.accounts.get_mut(&first).expect("account");
    account.general.balance = Amount::new(900);
    account.escrow.active = atoll_consensus::staking::SharePool {
        balance: Amount::new(100),
        total_shares: Shares(100),
    };
    genesis.staking.delegations.insert(first, [(first, Delegation { shares: Shares(100) })].into());
    let chain = common::TestChain::with_genesis(genesis, 2);
    let tree = chain.state.tree_at(atoll_types::Height(0)).expect("tree");
    let delegations =
        atoll_consensus::staking::query::delegations_to(&tree, &first).expect("query");
    assert_eq!(delegations, vec![(first, Delegation { shares: Shares(100) })]);
    let (sum, supply) = chain.accounted_supply();
    assert_eq!(sum, supply);
}
