//! Staking methods and epoch processing: allowances, escrow and share math, debonding,
//! rewards and commission, fee distribution, slashing, stake claims, messages, queries.

mod common;

use std::collections::BTreeMap;

use atoll_consensus::staking::commission::{
    CommissionRateBoundStep, CommissionRateStep, CommissionSchedule,
};
use atoll_consensus::staking::methods::{
    self, AddEscrow, Allow, AmendCommissionSchedule, Burn, ReclaimEscrow, Transfer, Withdraw,
};
use atoll_consensus::staking::{
    self, query, RewardStep, Shares, Slash, SlashReason, StakingMessage, ThresholdKind,
};
use atoll_consensus::{Env, Event, Misbehavior, StakingEvent};
use atoll_mkvs::{verify_key, Overlay};
use atoll_types::{decode, Address, Amount, Epoch, Height, Signer};
use common::{assert_code, signer, TestChain};

fn amount(n: u128) -> Amount {
    Amount::new(n)
}

fn escrow(chain: &TestChain, i: usize) -> staking::EscrowAccount {
    chain.account(&chain.addr(i)).escrow
}

fn delegation_shares(chain: &TestChain, escrow: usize, delegator: usize) -> u128 {
    let tree = chain.state.tree_at(Height(chain.height)).expect("tree");
    staking::delegation(&tree, &chain.addr(escrow), &chain.addr(delegator))
        .expect("delegation")
        .shares
        .0
}

#[test]
fn burn_reduces_supply() {
    let mut chain = TestChain::new(1, 1_000);
    let (_, before) = chain.accounted_supply();
    assert_eq!(chain.run(chain.tx(0, methods::BURN, &Burn { amount: amount(300) })), None);
    let (sum, supply) = chain.accounted_supply();
    assert_eq!(supply, before - 300);
    assert_eq!(sum, supply);
    assert_code(
        chain.run(chain.tx(0, methods::BURN, &Burn { amount: amount(10_000) })),
        "staking",
        2,
    );
}

#[test]
fn allowances_and_withdrawals() {
    let mut chain = TestChain::new(3, 1_000);
    let (a, b) = (chain.addr(0), chain.addr(1));
    assert_code(
        chain.run(chain.tx(
            0,
            methods::ALLOW,
            &Allow { beneficiary: a, negative: false, amount_change: amount(5) },
        )),
        "staking",
        1,
    );
    assert_eq!(
        chain.run(chain.tx(
            0,
            methods::ALLOW,
            &Allow { beneficiary: b, negative: false, amount_change: amount(100) }
        )),
        None
    );
    assert_eq!(chain.account(&a).general.allowances.get(&b), Some(&amount(100)));
    // Withdraw within the allowance, then beyond it.
    assert_eq!(
        chain.run(chain.tx(1, methods::WITHDRAW, &Withdraw { from: a, amount: amount(60) })),
        None
    );
    assert_eq!(chain.balance(1), 1_000 - 10 + 60);
    assert_code(
        chain.run(chain.tx(1, methods::WITHDRAW, &Withdraw { from: a, amount: amount(41) })),
        "staking",
        7,
    );
    // A stranger has no allowance.
    assert_code(
        chain.run(chain.tx(2, methods::WITHDRAW, &Withdraw { from: a, amount: amount(1) })),
        "staking",
        7,
    );
    // Lowering below zero stops at zero and removes the entry.
    assert_eq!(
        chain.run(chain.tx(
            0,
            methods::ALLOW,
            &Allow { beneficiary: b, negative: true, amount_change: amount(1_000) }
        )),
        None
    );
    assert!(chain.account(&a).general.allowances.is_empty());
}

#[test]
fn too_many_allowances_are_refused() {
    let mut genesis = common::base_genesis(4, 1_000);
    genesis.staking.parameters.max_allowances = 2;
    let mut chain = TestChain::with_genesis(genesis, 4);
    for beneficiary in [1, 2] {
        let allow = Allow {
            beneficiary: chain.addr(beneficiary),
            negative: false,
            amount_change: amount(1),
        };
        assert_eq!(chain.run(chain.tx(0, methods::ALLOW, &allow)), None);
    }
    let allow = Allow { beneficiary: chain.addr(3), negative: false, amount_change: amount(1) };
    assert_code(chain.run(chain.tx(0, methods::ALLOW, &allow)), "staking", 6);
}

#[test]
fn minimum_transfer_and_delegation() {
    let mut genesis = common::base_genesis(2, 1_000);
    genesis.staking.parameters.min_transfer = amount(50);
    genesis.staking.parameters.min_delegation = amount(100);
    let mut chain = TestChain::with_genesis(genesis, 2);
    let to = chain.addr(1);
    assert_code(
        chain.run(chain.tx(0, methods::TRANSFER, &Transfer { to, amount: amount(49) })),
        "staking",
        4,
    );
    assert_code(
        chain.run(chain.tx(0, methods::ADD_ESCROW, &AddEscrow { escrow: to, amount: amount(99) })),
        "staking",
        5,
    );
}

#[test]
fn delegation_share_math_and_debonding_payout() {
    let mut chain = TestChain::new(3, 10_000);
    let entity = chain.addr(0);
    // First delegation: 1:1.
    assert_eq!(
        chain.run(chain.tx(
            1,
            methods::ADD_ESCROW,
            &AddEscrow { escrow: entity, amount: amount(1_000) }
        )),
        None
    );
    assert_eq!(delegation_shares(&chain, 0, 1), 1_000);
    assert_eq!(escrow(&chain, 0).active.balance, amount(1_000));
    // Self-delegation works the same way.
    assert_eq!(
        chain.run(chain.tx(
            0,
            methods::ADD_ESCROW,
            &AddEscrow { escrow: entity, amount: amount(500) }
        )),
        None
    );
    assert_eq!(delegation_shares(&chain, 0, 0), 500);

    // Reclaiming more shares than held fails; reclaiming some starts debonding.
    assert_code(
        chain.run(chain.tx(
            1,
            methods::RECLAIM_ESCROW,
            &ReclaimEscrow { escrow: entity, shares: Shares(1_001) },
        )),
        "staking",
        8,
    );
    let outcome = chain.block(vec![chain.tx(
        1,
        methods::RECLAIM_ESCROW,
        &ReclaimEscrow { escrow: entity, shares: Shares(400) },
    )]);
    assert_eq!(outcome.results[0].error, None);
    let debond_end = outcome
        .events
        .iter()
        .find_map(|e| match &e.event {
            Event::Staking(StakingEvent::DebondingStart { debond_end, amount: a, .. }) => {
                assert_eq!(*a, amount(400));
                Some(*debond_end)
            }
            _ => None,
        })
        .expect("debonding event");
    assert_eq!(debond_end, Epoch(2), "epoch 0 + debonding interval 2");
    assert_eq!(escrow(&chain, 0).debonding.balance, amount(400));
    let balance_before = chain.balance(1);
    chain.advance_to_epoch(1);
    assert_eq!(chain.balance(1), balance_before, "not paid before the debonding interval ends");
    chain.advance_to_epoch(2);
    assert_eq!(chain.balance(1), balance_before + 400);
    assert_eq!(escrow(&chain, 0).debonding, staking::SharePool::default());
    let tree = chain.state.tree_at(Height(chain.height)).expect("tree");
    assert!(query::debonding_delegations(&tree, &chain.addr(1)).expect("query").is_empty());
    let (sum, supply) = chain.accounted_supply();
    assert_eq!(sum, supply);
}

#[test]
fn delegating_into_a_slashed_pool_buys_more_shares_and_reclaiming_everything_empties_it() {
    let mut genesis = common::base_genesis(3, 10_000);
    genesis.staking.parameters.slashing.insert(
        SlashReason::ConsensusEquivocation,
        Slash { amount: amount(500), freeze_interval: 3 },
    );
    let mut chain = TestChain::with_genesis(genesis, 3);
    let entity = chain.addr(0);
    assert_eq!(
        chain.run(chain.tx(
            1,
            methods::ADD_ESCROW,
            &AddEscrow { escrow: entity, amount: amount(1_000) }
        )),
        None
    );

    // The engine proves double signing: half the pool is slashed to the common pool.
    chain.ctx.evidence =
        vec![Misbehavior { entity, node: None, reason: SlashReason::ConsensusEquivocation }];
    let outcome = chain.block(vec![]);
    chain.ctx.evidence.clear();
    assert!(outcome
        .events
        .iter()
        .any(|e| matches!(e.event, Event::Staking(StakingEvent::TakeEscrow { .. }))));
    // The slash is named, with what it took, at the start of the block.
    let slashed = outcome.events.iter().find_map(|e| match &e.event {
        Event::Staking(StakingEvent::Slashed { owner, reason, amount, .. }) => {
            Some((e.tx_index, *owner, *reason, *amount))
        }
        _ => None,
    });
    assert_eq!(
        slashed,
        Some((None, entity, SlashReason::ConsensusEquivocation, amount(500))),
        "{:?}",
        outcome.events
    );
    let pool = escrow(&chain, 0).active;
    assert_eq!((pool.balance, pool.total_shares), (amount(500), Shares(1_000)));

    // Shares are now cheaper: 500 tokens buy 1,000 shares.
    assert_eq!(
        chain.run(chain.tx(
            2,
            methods::ADD_ESCROW,
            &AddEscrow { escrow: entity, amount: amount(500) }
        )),
        None
    );
    assert_eq!(delegation_shares(&chain, 0, 2), 1_000);
    // Both reclaim everything: 1,000 of 2,000 shares over 1,000 tokens each, rounded down,
    // and the last one out takes the dust.
    assert_eq!(
        chain.run(chain.tx(
            1,
            methods::RECLAIM_ESCROW,
            &ReclaimEscrow { escrow: entity, shares: Shares(1_000) }
        )),
        None
    );
    assert_eq!(escrow(&chain, 0).debonding.balance, amount(500));
    assert_eq!(
        chain.run(chain.tx(
            2,
            methods::RECLAIM_ESCROW,
            &ReclaimEscrow { escrow: entity, shares: Shares(1_000) }
        )),
        None
    );
    assert_eq!(escrow(&chain, 0).active, staking::SharePool::default());
    assert_eq!(escrow(&chain, 0).debonding.balance, amount(1_000));
    assert_eq!(delegation_shares(&chain, 0, 1), 0);
    let (sum, supply) = chain.accounted_supply();
    assert_eq!(sum, supply);
}

#[test]
fn rounding_is_always_against_the_withdrawer() {
    let mut genesis = common::base_genesis(3, 10_000);
    genesis
        .staking
        .parameters
        .slashing
        .insert(SlashReason::RuntimeLiveness, Slash { amount: amount(3), freeze_interval: 0 });
    let mut chain = TestChain::with_genesis(genesis, 3);
    let entity = chain.addr(0);
    assert_eq!(
        chain.run(chain.tx(
            1,
            methods::ADD_ESCROW,
            &AddEscrow { escrow: entity, amount: amount(10) }
        )),
        None
    );
    // Slash 3: 10 shares now hold 7 tokens, 0.7 each.
    chain.ctx.evidence =
        vec![Misbehavior { entity, node: None, reason: SlashReason::RuntimeLiveness }];
    chain.block(vec![]);
    chain.ctx.evidence.clear();
    // Redeeming one share at a time pays floor(0.7 × …): never more than the share is worth.
    let mut paid = Vec::new();
    for _ in 0..9 {
        let before = escrow(&chain, 0).debonding.balance.base_units();
        assert_eq!(
            chain.run(chain.tx(
                1,
                methods::RECLAIM_ESCROW,
                &ReclaimEscrow { escrow: entity, shares: Shares(1) }
            )),
            None
        );
        paid.push(escrow(&chain, 0).debonding.balance.base_units() - before);
    }
    // floor(7/10), floor(7/9), floor(7/8) are 0: the pool keeps the fractions, and the
    // remaining shares are worth more for it.
    assert_eq!(paid, vec![0, 0, 0, 1, 1, 1, 1, 1, 1]);
    let left = escrow(&chain, 0).active;
    assert_eq!((left.balance, left.total_shares), (amount(1), Shares(1)));
    // 2 tokens buy floor(2 × 1 / 1) = 2 shares; a share is never sold below its value.
    assert_eq!(
        chain.run(chain.tx(
            2,
            methods::ADD_ESCROW,
            &AddEscrow { escrow: entity, amount: amount(2) }
        )),
        None
    );
    assert_eq!(delegation_shares(&chain, 0, 2), 2);
    let (sum, supply) = chain.accounted_supply();
    assert_eq!(sum, supply);
}

#[test]
fn slashing_takes_proportionally_from_active_and_debonding() {
    let mut genesis = common::base_genesis(2, 10_000);
    genesis.staking.parameters.slashing.insert(
        SlashReason::RuntimeIncorrectResults,
        Slash { amount: amount(300), freeze_interval: 1 },
    );
    let mut chain = TestChain::with_genesis(genesis, 2);
    let entity = chain.addr(0);
    assert_eq!(
        chain.run(chain.tx(
            1,
            methods::ADD_ESCROW,
            &AddEscrow { escrow: entity, amount: amount(3_000) }
        )),
        None
    );
    assert_eq!(
        chain.run(chain.tx(
            1,
            methods::RECLAIM_ESCROW,
            &ReclaimEscrow { escrow: entity, shares: Shares(1_000) }
        )),
        None
    );
    // Active 2,000, debonding 1,000: a 300 slash takes 200 and 100.
    let latest = chain.state.latest().expect("root").expect("root");
    let tree = chain.state.store().tree(&latest).expect("tree");
    let mut overlay = Overlay::new(&tree);
    let mut events = Vec::new();
    staking::slash(&mut overlay, &entity, SlashReason::RuntimeIncorrectResults, &mut events)
        .expect("slash");
    let slashed = staking::account(&overlay, &entity).expect("account").escrow;
    assert_eq!(slashed.active.balance, amount(1_800));
    assert_eq!(slashed.debonding.balance, amount(900));
    assert!(matches!(events[0], Event::Staking(StakingEvent::TakeEscrow { .. })));
    // A reason without parameters slashes nothing.
    let none = staking::slash(&mut overlay, &entity, SlashReason::RuntimeLiveness, &mut events)
        .expect("slash");
    assert_eq!(none.amount, Amount::ZERO);
}

#[test]
fn rewards_go_to_entities_that_signed_enough_with_commission_as_self_shares() {
    let mut genesis = common::base_genesis(4, 100_000);
    genesis.staking.parameters.reward_schedule =
        vec![RewardStep { until: Epoch(100), rate: 10_000_000 }]; // 1% per epoch
    let mut chain = TestChain::with_genesis(genesis, 4);
    let (entity, lazy) = (chain.addr(0), chain.addr(1));
    // Entity 0 sets a 20% commission (bounds first, then rates, at allowed epochs).
    let rules = chain.genesis.staking.parameters.commission_schedule_rules;
    let bounds = CommissionSchedule {
        rates: vec![],
        bounds: vec![CommissionRateBoundStep {
            start: Epoch(rules.rate_bound_lead),
            rate_min: 0,
            rate_max: 50_000,
        }],
    };
    assert_eq!(
        chain.run(chain.tx(
            0,
            methods::AMEND_COMMISSION_SCHEDULE,
            &AmendCommissionSchedule { amendment: bounds }
        )),
        None
    );
    let rates = CommissionSchedule {
        rates: vec![CommissionRateStep { start: Epoch(rules.rate_bound_lead), rate: 20_000 }],
        bounds: vec![],
    };
    assert_eq!(
        chain.run(chain.tx(
            0,
            methods::AMEND_COMMISSION_SCHEDULE,
            &AmendCommissionSchedule { amendment: rates }
        )),
        None
    );
    // Delegations: 10,000 from account 2 to entity 0, 10,000 from account 3 to entity 1.
    assert_eq!(
        chain.run(chain.tx(
            2,
            methods::ADD_ESCROW,
            &AddEscrow { escrow: entity, amount: amount(10_000) }
        )),
        None
    );
    assert_eq!(
        chain.run(chain.tx(
            3,
            methods::ADD_ESCROW,
            &AddEscrow { escrow: lazy, amount: amount(10_000) }
        )),
        None
    );

    chain.advance_to_epoch(rules.rate_bound_lead);
    // Through the epoch, entity 0 signs every block and entity 1 only one in ten.
    let mut n = 0;
    while chain.genesis.consensus.epoch_of(Height(chain.height + 1)).0 == rules.rate_bound_lead {
        chain.ctx.signers =
            if n % 10 == 0 { vec![(entity, 10), (lazy, 10)] } else { vec![(entity, 10)] };
        chain.block(vec![]);
        n += 1;
    }
    chain.ctx.signers.clear();
    let active_before = escrow(&chain, 0).active;
    let lazy_before = escrow(&chain, 1).active;
    let outcome = chain.block(vec![]);
    let reward = outcome
        .events
        .iter()
        .find_map(|e| match &e.event {
            Event::Staking(StakingEvent::Reward { escrow, amount, commission }) => {
                Some((*escrow, *amount, *commission))
            }
            _ => None,
        })
        .expect("a reward");
    assert_eq!(reward, (entity, amount(100), amount(20)), "1% of 10,000, 20% commission");
    let active_after = escrow(&chain, 0).active;
    assert_eq!(active_after.balance, active_before.balance.checked_add(amount(100)).expect("sum"));
    // 80 raised the share price; 20 bought the entity floor(20 × 10,000 / 10,080) shares.
    assert_eq!(active_after.total_shares.0, 10_000 + 19);
    assert_eq!(delegation_shares(&chain, 0, 0), 19);
    assert_eq!(escrow(&chain, 1).active, lazy_before, "below the signing threshold: no reward");
    let (sum, supply) = chain.accounted_supply();
    assert_eq!(sum, supply);
}

#[test]
fn fees_are_split_between_proposer_voters_and_next_proposer() {
    let mut chain = TestChain::new(5, 10_000);
    let to = chain.addr(4);
    let fee = atoll_consensus::Fee { amount: amount(400), gas: 100_000 };
    let tx = chain.tx_with(0, 0, fee, methods::TRANSFER, &Transfer { to, amount: amount(1) });
    chain.block(vec![tx]);
    let before: Vec<u128> = (0..4).map(|i| chain.balance(i)).collect();
    // Next block: proposer of the fee block was 1, voters 2 and 3 (power 1:3), now proposing 0.
    chain.ctx.previous_proposer = Some(chain.addr(1));
    chain.ctx.proposer = Some(chain.addr(0));
    chain.ctx.signers = vec![(chain.addr(2), 1), (chain.addr(3), 3)];
    chain.block(vec![]);
    assert_eq!(chain.balance(1) - before[1], 200, "proposer: 2/4");
    assert_eq!(chain.balance(2) - before[2], 25, "voters: 1/4 by power");
    assert_eq!(chain.balance(3) - before[3], 75);
    assert_eq!(chain.balance(0) - before[0], 100, "next proposer: 1/4");
    let tree = chain.state.tree_at(Height(chain.height)).expect("tree");
    assert_eq!(query::fee_accumulator(&tree).expect("fees"), Amount::ZERO);
}

#[test]
fn unclaimed_fee_shares_go_to_the_common_pool() {
    let mut chain = TestChain::new(2, 10_000);
    let tree = chain.state.tree_at(Height(0)).expect("tree");
    let pool_before = query::common_pool(&tree).expect("pool");
    drop(tree);
    let tx = chain.tx(0, methods::TRANSFER, &Transfer { to: chain.addr(1), amount: amount(1) });
    chain.block(vec![tx]);
    chain.block(vec![]);
    let tree = chain.state.tree_at(Height(chain.height)).expect("tree");
    assert_eq!(
        query::common_pool(&tree).expect("pool"),
        pool_before.checked_add(amount(10)).expect("sum")
    );
}

#[test]
fn stake_claims_bound_registrations_but_never_reclaims() {
    let mut genesis = common::base_genesis(2, 10_000);
    genesis.staking.parameters.thresholds = BTreeMap::from([
        (ThresholdKind::Entity, amount(600)),
        (ThresholdKind::NodeValidator, amount(300)),
    ]);
    let mut chain = TestChain::with_genesis(genesis, 2);
    let entity = chain.addr(0);
    assert_eq!(
        chain.run(chain.tx(
            0,
            methods::ADD_ESCROW,
            &AddEscrow { escrow: entity, amount: amount(1_000) }
        )),
        None
    );

    let tree = chain.state.tree_at(Height(chain.height)).expect("tree");
    let mut overlay = Overlay::new(&tree);
    staking::add_stake_claim(&mut overlay, &entity, "registry.entity", &[ThresholdKind::Entity])
        .expect("600 ≤ 1000");
    let err = staking::add_stake_claim(
        &mut overlay,
        &entity,
        "registry.node.x",
        &[ThresholdKind::NodeValidator, ThresholdKind::NodeValidator],
    )
    .expect_err("600 + 600 > 1000");
    assert!(err.to_string().contains("insufficient stake"), "{err}");
    staking::add_stake_claim(
        &mut overlay,
        &entity,
        "registry.node.x",
        &[ThresholdKind::NodeValidator],
    )
    .expect("900 ≤ 1000");
    // Undelegating is never refused for claims (as in the reference: after a slash every
    // delegator must still be able to leave): 200 leaves 800 < 900.
    let env = Env { height: Height(chain.height + 1), epoch: Epoch(0), time: 0 };
    let mut events = Vec::new();
    let message =
        StakingMessage::ReclaimEscrow(ReclaimEscrow { escrow: entity, shares: Shares(200) });
    staking::handle_message(&mut overlay, &env, &entity, &message, &mut events)
        .expect("reclaims refuse to be blocked by claims");
    assert!(!atoll_consensus::registry::stake_covers_claims(&overlay, &signer(0).public_key())
        .expect("check"));
    // New claims are still refused while the escrow falls short.
    let err = staking::add_stake_claim(
        &mut overlay,
        &entity,
        "registry.entity",
        &[ThresholdKind::Entity],
    )
    .expect_err("800 < 900");
    assert!(err.to_string().contains("insufficient stake"), "{err}");
}

#[test]
fn messages_from_other_modules_move_tokens_for_the_caller() {
    let chain = TestChain::new(2, 1_000);
    let tree = chain.state.tree_at(Height(0)).expect("tree");
    let mut overlay = Overlay::new(&tree);
    let env = Env { height: Height(1), epoch: Epoch(0), time: 0 };
    let mut events = Vec::new();
    let (a, b) = (chain.addr(0), chain.addr(1));
    let message = StakingMessage::Transfer(Transfer { to: b, amount: amount(250) });
    staking::handle_message(&mut overlay, &env, &a, &message, &mut events).expect("transfer");
    assert_eq!(staking::account(&overlay, &b).expect("b").general.balance, amount(1_250));
    let too_much = StakingMessage::Transfer(Transfer { to: b, amount: amount(10_000) });
    let err = staking::handle_message(&mut overlay, &env, &a, &too_much, &mut events)
        .expect_err("insufficient");
    assert!(
        matches!(err, atoll_consensus::CallError::Tx(ref e) if e.module == "staking" && e.code == 2),
        "{err}"
    );
}

#[test]
fn account_queries_come_with_proofs_against_the_app_hash() {
    let mut chain = TestChain::new(3, 1_000);
    let escrow_addr = chain.addr(0);
    chain.run(chain.tx(
        1,
        methods::ADD_ESCROW,
        &AddEscrow { escrow: escrow_addr, amount: amount(100) },
    ));
    chain.run(chain.tx(
        2,
        methods::ADD_ESCROW,
        &AddEscrow { escrow: escrow_addr, amount: amount(200) },
    ));
    let tree = chain.state.tree_at(Height(chain.height)).expect("tree");
    let app_hash = tree.root().hash;
    let (account, proof) = query::account_with_proof(&tree, &chain.addr(1)).expect("query");
    let proven = verify_key(&app_hash, &staking::account_key(&chain.addr(1)), &proof)
        .expect("verify")
        .expect("present");
    assert_eq!(decode::<staking::Account>(&proven, 1 << 20).expect("decode"), account);
    // An unused address is proven absent.
    let nobody = Address::reserved("nobody");
    let (empty, proof) = query::account_with_proof(&tree, &nobody).expect("query");
    assert_eq!(empty, staking::Account::default());
    assert_eq!(verify_key(&app_hash, &staking::account_key(&nobody), &proof), Ok(None));
    // Delegations to an account, with a complete prefix proof.
    let (list, range) = query::delegations_to_with_proof(&tree, &escrow_addr).expect("query");
    assert_eq!(list.iter().map(|(d, s)| (*d, s.shares.0)).collect::<Vec<_>>(), {
        let mut want = vec![(chain.addr(1), 100), (chain.addr(2), 200)];
        want.sort();
        want
    });
    let prefix = [&[0x01, 0x02][..], escrow_addr.as_bytes()].concat();
    let proven = atoll_mkvs::verify_prefix(&app_hash, &prefix, &range).expect("verify");
    assert_eq!(proven.len(), 2);
    assert_eq!(query::delegations_from(&tree, &chain.addr(1)).expect("from").len(), 1);
    // Old heights stay queryable.
    let old = chain.state.tree_at(Height(0)).expect("genesis state");
    assert!(query::delegations_to(&old, &escrow_addr).expect("query").is_empty());
}

/// [S] finding 15: an entity with several validator nodes earned one signing credit per node
/// per block, so signing half the blocks with two nodes counted as signing all of them.
#[test]
fn signing_credit_refuses_to_count_an_entity_twice_per_block() {
    let mut genesis = common::base_genesis(4, 100_000);
    genesis.staking.parameters.reward_schedule =
        vec![RewardStep { until: Epoch(100), rate: 10_000_000 }];
    let mut chain = TestChain::with_genesis(genesis, 4);
    let (steady, two_nodes) = (chain.addr(0), chain.addr(1));
    for (from, escrow) in [(2, steady), (3, two_nodes)] {
        let body = AddEscrow { escrow, amount: amount(10_000) };
        assert_eq!(chain.run(chain.tx(from, methods::ADD_ESCROW, &body)), None);
    }
    chain.advance_to_epoch(1);
    let mut n = 0;
    while chain.genesis.consensus.epoch_of(Height(chain.height + 1)).0 == 1 {
        // The two-node entity signs every other block, with both nodes.
        chain.ctx.signers = if n % 2 == 0 {
            vec![(steady, 10), (two_nodes, 5), (two_nodes, 5)]
        } else {
            vec![(steady, 10)]
        };
        chain.block(vec![]);
        n += 1;
    }
    chain.ctx.signers.clear();
    let outcome = chain.block(vec![]);
    let rewarded: Vec<Address> = outcome
        .events
        .iter()
        .filter_map(|e| match &e.event {
            Event::Staking(StakingEvent::Reward { escrow, .. }) => Some(*escrow),
            _ => None,
        })
        .collect();
    assert_eq!(rewarded, vec![steady], "half the blocks is below the 75% threshold");
}
