//! Property test: random transaction sequences over many accounts and epochs keep the
//! books balanced, never overflow, and replay to identical state roots.

mod common;

use atoll_consensus::staking::methods::{
    self, AddEscrow, Allow, Burn, ReclaimEscrow, Transfer, Withdraw,
};
use atoll_consensus::staking::{RewardStep, Shares, Slash, SlashReason};
use atoll_consensus::{BlockContext, Event, Misbehavior, StakingEvent};
use atoll_types::{Amount, Epoch, Hash, Height};
use common::{base_genesis, TestChain};
use proptest::prelude::*;

const ACCOUNTS: usize = 6;

#[derive(Debug, Clone)]
enum Op {
    Transfer { from: usize, to: usize, amount: u128 },
    Burn { from: usize, amount: u128 },
    Delegate { from: usize, escrow: usize, amount: u128 },
    Undelegate { from: usize, escrow: usize, shares: u128 },
    Allow { from: usize, to: usize, amount: u128 },
    Withdraw { by: usize, from: usize, amount: u128 },
}

fn op() -> impl Strategy<Value = Op> {
    let who = 0..ACCOUNTS;
    let amount = prop_oneof![0u128..50, 0u128..5_000, Just(u128::MAX)];
    prop_oneof![
        4 => (who.clone(), who.clone(), amount.clone()).prop_map(|(from, to, amount)| Op::Transfer { from, to, amount }),
        1 => (who.clone(), amount.clone()).prop_map(|(from, amount)| Op::Burn { from, amount }),
        3 => (who.clone(), who.clone(), amount.clone()).prop_map(|(from, escrow, amount)| Op::Delegate { from, escrow, amount }),
        3 => (who.clone(), who.clone(), prop_oneof![1u128..100, 1u128..10_000]).prop_map(|(from, escrow, shares)| Op::Undelegate { from, escrow, shares }),
        1 => (who.clone(), who.clone(), amount.clone()).prop_map(|(from, to, amount)| Op::Allow { from, to, amount }),
        1 => (who.clone(), who, amount).prop_map(|(by, from, amount)| Op::Withdraw { by, from, amount }),
    ]
}

#[derive(Debug, Clone)]
struct Block {
    ops: Vec<Op>,
    proposer: Option<usize>,
    signers: Vec<usize>,
    slash: Option<usize>,
}

fn block() -> impl Strategy<Value = Block> {
    (
        proptest::collection::vec(op(), 0..8),
        proptest::option::of(0..ACCOUNTS),
        proptest::collection::vec(0..ACCOUNTS, 0..4),
        proptest::option::weighted(0.1, 0..ACCOUNTS),
    )
        .prop_map(|(ops, proposer, signers, slash)| Block { ops, proposer, signers, slash })
}

fn new_chain() -> TestChain {
    let mut genesis = base_genesis(ACCOUNTS, 100_000);
    genesis.consensus.epoch_interval = 3;
    genesis.staking.parameters.debonding_interval = 1;
    genesis.staking.parameters.reward_schedule =
        vec![RewardStep { until: Epoch(1_000), rate: 5_000_000 }];
    genesis.staking.parameters.signing_reward_threshold_percent = 50;
    genesis.staking.parameters.slashing.insert(
        SlashReason::ConsensusEquivocation,
        Slash { amount: Amount::new(777), freeze_interval: 1 },
    );
    TestChain::with_genesis(genesis, ACCOUNTS)
}

/// Runs `blocks`, checking the books after each; returns every root and the total burned.
fn run(blocks: &[Block]) -> (Vec<Hash>, u128) {
    let mut chain = new_chain();
    let (_, initial_supply) = chain.accounted_supply();
    let mut roots = Vec::new();
    let mut burned = 0u128;
    for b in blocks {
        let mut nonces: Vec<u64> = (0..ACCOUNTS).map(|i| chain.nonce(i)).collect();
        let mut txs = Vec::new();
        for op in &b.ops {
            let (sender, tx) = match op {
                Op::Transfer { from, to, amount } => (
                    *from,
                    (
                        methods::TRANSFER,
                        borsh::to_vec(&Transfer {
                            to: chain.addr(*to),
                            amount: Amount::new(*amount),
                        }),
                    ),
                ),
                Op::Burn { from, amount } => {
                    (*from, (methods::BURN, borsh::to_vec(&Burn { amount: Amount::new(*amount) })))
                }
                Op::Delegate { from, escrow, amount } => (
                    *from,
                    (
                        methods::ADD_ESCROW,
                        borsh::to_vec(&AddEscrow {
                            escrow: chain.addr(*escrow),
                            amount: Amount::new(*amount),
                        }),
                    ),
                ),
                Op::Undelegate { from, escrow, shares } => (
                    *from,
                    (
                        methods::RECLAIM_ESCROW,
                        borsh::to_vec(&ReclaimEscrow {
                            escrow: chain.addr(*escrow),
                            shares: Shares(*shares),
                        }),
                    ),
                ),
                Op::Allow { from, to, amount } => (
                    *from,
                    (
                        methods::ALLOW,
                        borsh::to_vec(&Allow {
                            beneficiary: chain.addr(*to),
                            negative: amount % 2 == 1,
                            amount_change: Amount::new(*amount),
                        }),
                    ),
                ),
                Op::Withdraw { by, from, amount } => (
                    *by,
                    (
                        methods::WITHDRAW,
                        borsh::to_vec(&Withdraw {
                            from: chain.addr(*from),
                            amount: Amount::new(*amount),
                        }),
                    ),
                ),
            };
            let (method, body) = tx;
            let body = body.expect("encode");
            let raw = chain.tx_with(sender, nonces[sender], common::FEE, method, &RawBody(body));
            nonces[sender] += 1;
            txs.push(raw);
        }
        chain.ctx = BlockContext {
            proposer: b.proposer.map(|i| chain.addr(i)),
            previous_proposer: chain.ctx.proposer,
            signers: b.signers.iter().map(|i| (chain.addr(*i), 1 + *i as u64)).collect(),
            evidence: b
                .slash
                .map(|i| Misbehavior {
                    entity: chain.addr(i),
                    node: None,
                    reason: SlashReason::ConsensusEquivocation,
                })
                .into_iter()
                .collect(),
            ..BlockContext::default()
        };
        let outcome = chain.block(txs);
        for record in &outcome.events {
            if let Event::Staking(StakingEvent::Burn { amount, .. }) = record.event {
                burned += amount.base_units();
            }
        }
        let (sum, supply) = chain.accounted_supply();
        assert_eq!(sum, supply, "books out of balance at height {}", chain.height);
        assert_eq!(supply + burned, initial_supply, "supply changed other than by burns");
        roots.push(chain.state.tree_at(Height(chain.height)).expect("tree").root().hash);
    }
    (roots, burned)
}

/// Borsh bytes passed through as a body.
struct RawBody(Vec<u8>);

impl borsh::BorshSerialize for RawBody {
    fn serialize<W: std::io::Write>(&self, writer: &mut W) -> std::io::Result<()> {
        writer.write_all(&self.0)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn books_balance_and_replays_agree(blocks in proptest::collection::vec(block(), 1..16)) {
        let (roots, _) = run(&blocks);
        let (again, _) = run(&blocks);
        prop_assert_eq!(roots, again);
    }
}
