//! The roothash module through whole blocks: commitments in transactions, discrepancy
//! detection and resolution, timeouts in blocks, runtime messages and deposits, slashing,
//! evidence, epochs, liveness and suspension.

mod common;

use atoll_consensus::registry;
use atoll_consensus::roothash::pool::ComputeResultsHeader;
use atoll_consensus::roothash::{
    self, EquivocationEvidence, Evidence, ExecutorCommit, ExecutorCommitmentBody, HeaderType,
    ProposalHeader, RoothashEvent, RuntimeBlockHeader, RuntimeState, SignedCommitment, SubmitMsg,
    EVIDENCE, EXECUTOR_COMMIT, SUBMIT_MSG,
};
use atoll_consensus::scheduler::proposer_rank;
use atoll_consensus::staking::{Slash, SlashReason, ThresholdKind};
use atoll_consensus::{BlockOutcome, Event};
use atoll_types::runtime_message::{in_messages_hash, messages_hash};
use atoll_types::{
    Address, Amount, Hash, MessageResult, PublicKey, Round, RuntimeMessage, Signed, Signer,
};
use common::*;

/// A network of eight single-node entities serving the runtime with three workers and
/// three backups (a node may hold both roles).
struct Net {
    chain: TestChain,
    nodes: Vec<TestNode>,
}

const INCORRECT_RESULTS_SLASH: u128 = 1_000;
const EQUIVOCATION_SLASH: u128 = 600;
const NODE_COMPUTE_STAKE: u128 = 1_000;

fn net(stragglers: u16) -> Net {
    net_with(stragglers, |_| {})
}

/// [`net`] with the runtime descriptor changed by `configure`.
fn net_with(stragglers: u16, configure: impl FnOnce(&mut registry::types::Runtime)) -> Net {
    net_of(8, stragglers, configure)
}

/// [`net_with`] with `entities` single-node entities (with 4 or fewer, some worker is
/// always a backup too: 6 seats).
fn net_of(
    entities: usize,
    stragglers: u16,
    configure: impl FnOnce(&mut registry::types::Runtime),
) -> Net {
    let spec = NetSpec {
        escrows: vec![10_000; entities],
        runtime: Some((3, 3, 3, None)),
        ..NetSpec::default()
    };
    let (mut genesis, nodes) = net_genesis(&spec);
    // Long epochs, so that rounds and their timeouts fit in one.
    genesis.consensus.epoch_interval = 50;
    let runtime = &mut genesis.registry.runtimes[0];
    runtime.executor.allowed_stragglers = stragglers;
    runtime.executor.round_timeout = 4;
    runtime.slashing.insert(
        SlashReason::RuntimeIncorrectResults,
        Slash { amount: Amount::new(INCORRECT_RESULTS_SLASH), freeze_interval: 1 },
    );
    runtime.slashing.insert(
        SlashReason::RuntimeEquivocation,
        Slash { amount: Amount::new(EQUIVOCATION_SLASH), freeze_interval: 1 },
    );
    // A worker stakes what it can lose.
    runtime.staking_thresholds.insert(ThresholdKind::NodeCompute, Amount::new(NODE_COMPUTE_STAKE));
    configure(runtime);
    let chain = TestChain::with_genesis(genesis, entities);
    Net { chain, nodes }
}

impl Net {
    /// A proposal of `batch` for the round in progress, signed by `proposer`.
    fn proposal(&self, proposer: &PublicKey, batch: &[u8]) -> Signed<ProposalHeader> {
        let header = ProposalHeader {
            runtime: RUNTIME,
            round: self.round(),
            previous_hash: self.state().last_block.hash(),
            batch_hash: Hash::digest(batch),
            in_msgs_count: 0,
        };
        Signed::sign(&self.key(proposer).identity, &self.chain.chain_context(), &header)
    }

    fn state(&self) -> RuntimeState {
        roothash::runtime_state(&self.chain.tree(), &RUNTIME).expect("read").expect("state")
    }

    fn round(&self) -> Round {
        Round(self.state().last_block.round.0 + 1)
    }

    fn workers(&self) -> Vec<PublicKey> {
        self.state().committee.expect("committee").pool.workers
    }

    fn backups(&self) -> Vec<PublicKey> {
        self.state().committee.expect("committee").pool.backups
    }

    /// The worker of rank `rank` in the round in progress.
    fn ranked(&self, rank: u64) -> PublicKey {
        self.ranked_in(self.round(), rank)
    }

    /// The worker of rank `rank` in `round`.
    fn ranked_in(&self, round: Round, rank: u64) -> PublicKey {
        let workers = self.workers();
        let round = round.0;
        *workers
            .iter()
            .enumerate()
            .find(|(i, _)| proposer_rank(round, *i as u64, workers.len() as u64) == rank)
            .map(|(_, w)| w)
            .expect("a worker per rank")
    }

    fn key(&self, id: &PublicKey) -> &TestNode {
        self.nodes.iter().find(|n| n.id() == *id).expect("a test node")
    }

    fn entity_escrow(&self, node: &PublicKey) -> u128 {
        let entity = self.chain.addr(self.key(node).entity);
        self.chain.account(&entity).escrow.active.balance.base_units()
    }

    /// Results for the round in progress: state root `H(tag)`.
    fn header(&self, tag: &[u8]) -> ComputeResultsHeader {
        let state = self.state();
        ComputeResultsHeader {
            round: self.round(),
            previous_hash: state.last_block.hash(),
            io_root: Hash::digest(b"io"),
            state_root: Hash::digest(tag),
            messages_hash: Hash::ZERO,
            in_msgs_hash: Hash::ZERO,
            in_msgs_count: 0,
        }
    }

    fn signed(
        &self,
        node: &PublicKey,
        scheduler: PublicKey,
        header: Option<ComputeResultsHeader>,
        messages: Vec<RuntimeMessage>,
    ) -> SignedCommitment {
        let round = header.as_ref().map_or(self.round(), |h| h.round);
        let body = ExecutorCommitmentBody { runtime: RUNTIME, round, scheduler, header, messages };
        Signed::sign(&self.key(node).identity, &self.chain.chain_context(), &body)
    }

    fn commit_tx(&self, node: &PublicKey, commitments: Vec<SignedCommitment>) -> Vec<u8> {
        let body = ExecutorCommit { runtime: RUNTIME, commitments };
        self.chain.tx_by(&self.key(node).identity, EXECUTOR_COMMIT, &body)
    }

    /// A commitment transaction: results `H(tag)` on `scheduler`'s batch, or failure.
    fn vote(&self, node: &PublicKey, scheduler: PublicKey, tag: Option<&[u8]>) -> Vec<u8> {
        let header = tag.map(|t| self.header(t));
        self.commit_tx(node, vec![self.signed(node, scheduler, header, Vec::new())])
    }

    /// Applies a block and returns its roothash events; every transaction must succeed.
    fn block(&mut self, txs: Vec<Vec<u8>>) -> Vec<RoothashEvent> {
        let outcome = self.chain.block(txs);
        for r in &outcome.results {
            assert_eq!(r.error, None, "transaction failed");
        }
        roothash_events(&outcome)
    }

    fn blocks_until(&mut self, mut done: impl FnMut(&RoothashEvent) -> bool) -> Vec<RoothashEvent> {
        for _ in 0..400 {
            let events = self.block(vec![]);
            if events.iter().any(&mut done) {
                return events;
            }
        }
        panic!("nothing happened in 400 blocks");
    }
}

fn roothash_events(outcome: &BlockOutcome) -> Vec<RoothashEvent> {
    outcome
        .events
        .iter()
        .filter_map(|e| match &e.event {
            Event::Roothash(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

fn finalized(events: &[RoothashEvent]) -> Option<(bool, Vec<PublicKey>, Vec<PublicKey>)> {
    events.iter().find_map(|e| match e {
        RoothashEvent::Finalized { discrepancy, good, bad, .. } => {
            Some((*discrepancy, good.clone(), bad.clone()))
        }
        _ => None,
    })
}

fn discrepancy(events: &[RoothashEvent]) -> Option<bool> {
    events.iter().find_map(|e| match e {
        RoothashEvent::ExecutionDiscrepancyDetected { timeout, .. } => Some(*timeout),
        _ => None,
    })
}

#[test]
fn genesis_gives_each_runtime_a_block_a_committee_and_a_pool() {
    let n = net(0);
    let state = n.state();
    assert_eq!(state.last_block.round, Round(0));
    assert_eq!(state.last_block.header_type, HeaderType::Normal);
    assert!(!state.suspended);
    assert_eq!(state.pool.as_ref().map(|p| p.round()), Some(Round(1)));
    assert_eq!((n.workers().len(), n.backups().len()), (3, 3));
    let tree = n.chain.tree();
    assert_eq!(roothash::block(&tree, &RUNTIME, Round(0)).expect("read"), Some(state.last_block));
}

#[test]
fn honest_workers_finalize_the_round_in_the_block_of_the_last_commitment() {
    let mut n = net(0);
    let s = n.ranked(0);
    let [a, b, c] = <[PublicKey; 3]>::try_from(n.workers()).expect("three");
    let first = n.block(vec![n.vote(&a, s, Some(b"good")), n.vote(&b, s, Some(b"good"))]);
    assert_eq!(finalized(&first), None);
    let header = n.header(b"good");
    let events = n.block(vec![n.vote(&c, s, Some(b"good"))]);
    let (discrepancy, good, bad) = finalized(&events).expect("finalized");
    assert!(!discrepancy && bad.is_empty() && good.len() == 3);
    let state = n.state();
    assert_eq!(state.last_block.round, Round(1));
    assert_eq!(state.last_block.header_type, HeaderType::Normal);
    assert_eq!(state.last_block.state_root, header.state_root);
    assert_eq!(state.last_block.previous_hash, header.previous_hash);
    assert_eq!(state.last_normal_round, Round(1));
    assert_eq!(state.pool.as_ref().map(|p| p.round()), Some(Round(2)));
    assert!(state.commitments.is_empty());
    assert_eq!(state.liveness.total_rounds, 1);
    assert!(state.liveness.live_rounds.iter().all(|r| *r == 1));
    assert!(events
        .iter()
        .any(|e| matches!(e, RoothashEvent::Block { header } if header.round == Round(1))));
    // The next round builds on the new block.
    assert_eq!(n.header(b"next").previous_hash, state.last_block.hash());
}

/// A scheduler brings its workers' commitments on chain in one transaction (signed by
/// each worker, sent by the scheduler): the round is decided in that block. One the pool
/// already holds (the worker submitted it itself meanwhile) is skipped, not fatal; a
/// transaction of nothing but those fails as a duplicate and changes nothing.
#[test]
fn one_transaction_carries_a_rounds_commitments_and_skips_those_already_held() {
    let mut n = net(0);
    let s = n.ranked(0);
    let [a, b, c] = <[PublicKey; 3]>::try_from(n.workers()).expect("three");
    let good = |n: &Net, node: &PublicKey| n.signed(node, s, Some(n.header(b"good")), Vec::new());
    let first = n.block(vec![n.vote(&a, s, Some(b"good"))]);
    assert_eq!(finalized(&first), None);
    let again = n.commit_tx(&s, vec![good(&n, &a)]);
    let before = n.state();
    let outcome = n.chain.block(vec![again]);
    assert!(outcome.results[0].error.is_some(), "only a duplicate: refused");
    assert_eq!(n.state(), before, "and nothing changed");
    let together = n.commit_tx(&s, vec![good(&n, &a), good(&n, &b), good(&n, &c)]);
    let (discrepancy, good_voters, bad) = finalized(&n.block(vec![together])).expect("decided");
    assert!(!discrepancy && bad.is_empty() && good_voters.len() == 3);
    assert_eq!(n.state().last_block.round, Round(1));
}

/// Each commitment of a transaction is judged alone: one the chain refuses (here one built
/// on another parent, and a primary's vote that comes after the discrepancy was declared)
/// is skipped and the others count; a transaction of nothing but refused ones fails with
/// the first refusal's error and changes nothing.
#[test]
fn a_refused_commitment_is_skipped_without_failing_the_others() {
    // The dissenter votes late, after the discrepancy: as a primary only, so refused. The
    // election depends on the genesis, whose nodes' VRF possession proofs are randomized,
    // and one net in five elects every worker but the scheduler as a backup too: nets are
    // drawn until one leaves a worker that is no backup.
    let dissenter_in = |n: &Net| {
        let (s, backups) = (n.ranked(0), n.backups());
        n.workers().into_iter().find(|w| *w != s && !backups.contains(w))
    };
    let (mut n, dissenter) = std::iter::repeat_with(|| net(0))
        .take(64)
        .find_map(|n| dissenter_in(&n).map(|d| (n, d)))
        .expect("some net leaves a worker that is no backup");
    let (s, backups) = (n.ranked(0), n.backups());
    let other = n.workers().into_iter().find(|w| *w != s && *w != dissenter).expect("third");
    let good = |n: &Net, node: &PublicKey| n.signed(node, s, Some(n.header(b"good")), Vec::new());
    let mut forked = n.header(b"good");
    forked.previous_hash = Hash::digest(b"elsewhere");
    let stray = n.signed(&dissenter, s, Some(forked), Vec::new());
    let before = n.state();
    let e = n.chain.run(n.commit_tx(&s, vec![stray.clone()])).expect("nothing added: refused");
    assert_eq!((e.module.as_str(), e.code), ("roothash", 6), "the refusal's own error: {e}");
    assert_eq!(n.state(), before, "and nothing changed");
    let events = n.block(vec![n.commit_tx(&s, vec![good(&n, &s), stray, good(&n, &other)])]);
    let committed: Vec<PublicKey> = events
        .iter()
        .filter_map(|e| match e {
            RoothashEvent::ExecutorCommitted { node, .. } => Some(*node),
            _ => None,
        })
        .collect();
    assert_eq!(committed, vec![s, other], "the two valid ones count");
    assert_eq!(finalized(&events), None, "the third vote is still awaited");
    let events = n.block(vec![n.vote(&dissenter, s, Some(b"bad"))]);
    assert_eq!(discrepancy(&events), Some(false), "a dissenting vote: discrepancy at once");
    let mut late_and_backups = vec![good(&n, &dissenter)];
    late_and_backups.extend(backups.iter().map(|k| good(&n, k)));
    let events = n.block(vec![n.commit_tx(&s, late_and_backups)]);
    let (discrepancy, _, bad) = finalized(&events).expect("the backups decide");
    assert!(discrepancy);
    assert_eq!(bad, vec![dissenter], "its late change of mind was not counted");
}

#[test]
fn a_dishonest_worker_is_outvoted_by_the_backups_and_slashed() {
    let mut n = net(0);
    let s = n.ranked(0);
    let honest = n.ranked(1);
    let dishonest = n.ranked(2);
    let supply_before = n.chain.accounted_supply();
    let escrow_before = n.entity_escrow(&dishonest);
    let honest_balance =
        n.chain.account(&n.chain.addr(n.key(&honest).entity)).general.balance.base_units();
    let honest_escrow = n.entity_escrow(&honest);
    let events = n.block(vec![
        n.vote(&s, s, Some(b"good")),
        n.vote(&honest, s, Some(b"good")),
        n.vote(&dishonest, s, Some(b"evil")),
    ]);
    assert_eq!(discrepancy(&events), Some(false), "rank 0 disagreement is detected at once");
    assert_eq!(finalized(&events), None);
    let backups = n.backups();
    let votes = backups.iter().take(2).map(|b| n.vote(b, s, Some(b"good"))).collect();
    let events = n.block(votes);
    let (discrepancy, good, bad) = finalized(&events).expect("resolved");
    assert!(discrepancy);
    assert_eq!(bad, vec![dishonest]);
    assert!(good.contains(&s) && good.contains(&honest));
    assert_eq!(n.state().last_block.header_type, HeaderType::Normal, "no round failure");
    assert_eq!(n.state().last_block.state_root, Hash::digest(b"good"));
    assert_eq!(n.entity_escrow(&dishonest), escrow_before - INCORRECT_RESULTS_SLASH);
    assert!(events.iter().any(|e| matches!(e,
        RoothashEvent::NodeSlashed { node, reason: SlashReason::RuntimeIncorrectResults, .. }
            if *node == dishonest)));
    let status = registry::node_status(&n.chain.tree(), &dishonest).expect("status");
    assert_eq!(status.frozen_until, None, "incorrect results slash, they do not freeze");
    // Half the slash went into the agreeing entities' escrow in equal parts, the rest to
    // the common pool; the books balance.
    let share = INCORRECT_RESULTS_SLASH / 2 / good.len() as u128;
    let entity = n.chain.addr(n.key(&honest).entity);
    assert_eq!(n.chain.account(&entity).general.balance.base_units(), honest_balance);
    assert_eq!(n.entity_escrow(&honest), honest_escrow + share);
    let (sum, total) = n.chain.accounted_supply();
    assert_eq!(sum, total);
    assert_eq!(total, supply_before.1);
}

#[test]
fn a_straggler_times_out_into_a_discrepancy_that_backups_resolve() {
    let mut n = net(0);
    let s = n.ranked(0);
    let other = n.ranked(1);
    let events = n.block(vec![n.vote(&s, s, Some(b"good")), n.vote(&other, s, Some(b"good"))]);
    assert_eq!(discrepancy(&events), None);
    let events =
        n.blocks_until(|e| matches!(e, RoothashEvent::ExecutionDiscrepancyDetected { .. }));
    assert_eq!(discrepancy(&events), Some(true), "declared by the timeout");
    let votes = n.backups().iter().take(2).map(|b| n.vote(b, s, Some(b"good"))).collect();
    let (discrepancy, _, bad) = finalized(&n.block(votes)).expect("resolved");
    assert!(discrepancy && bad.is_empty(), "a straggler is not slashed for results");
}

#[test]
fn one_allowed_straggler_needs_no_discrepancy() {
    let mut n = net(1);
    let s = n.ranked(0);
    let other = n.ranked(1);
    let events = n.block(vec![n.vote(&s, s, Some(b"good")), n.vote(&other, s, Some(b"good"))]);
    assert_eq!(finalized(&events), None, "the straggler is forgiven only at the timeout");
    let events = n.blocks_until(|e| matches!(e, RoothashEvent::Finalized { .. }));
    let (discrepancy, good, _) = finalized(&events).expect("finalized at the timeout");
    assert!(!discrepancy);
    assert_eq!(good.len(), 2);
}

#[test]
fn a_scheduler_refuses_to_fail_its_own_round_and_a_backup_proposers_batch_wins() {
    let mut n = net(0);
    let s = n.ranked(0);
    // Rank 0 tries to fail the round with a failure commitment on its own batch: refused,
    // nothing recorded, no discrepancy.
    assert_code(n.chain.run(n.vote(&s, s, None)), "roothash", 16);
    let state = n.state();
    assert!(state.commitments.is_empty());
    assert_eq!(state.pool.as_ref().and_then(|p| p.timeout()), None);
    // Rank 1 proposes after the propose timeout and every worker executes its batch.
    let r1 = n.ranked(1);
    let votes = n.workers().iter().map(|w| n.vote(w, r1, Some(b"r1"))).collect();
    let (discrepancy, good, bad) = finalized(&n.block(votes)).expect("finalized");
    assert!(!discrepancy && bad.is_empty());
    assert_eq!(good.len(), 3);
    let state = n.state();
    assert_eq!(state.last_block.header_type, HeaderType::Normal);
    assert_eq!(state.last_block.state_root, Hash::digest(b"r1"));
}

#[test]
fn a_failure_indicating_worker_causes_a_discrepancy_but_no_failure() {
    let mut n = net(0);
    let s = n.ranked(0);
    let events = n.block(vec![
        n.vote(&s, s, Some(b"good")),
        n.vote(&n.ranked(1), s, Some(b"good")),
        n.vote(&n.ranked(2), s, None),
    ]);
    assert_eq!(discrepancy(&events), Some(false));
    let votes = n.backups().iter().take(2).map(|b| n.vote(b, s, Some(b"good"))).collect();
    let (discrepancy, _, bad) = finalized(&n.block(votes)).expect("resolved");
    assert!(discrepancy && bad.is_empty(), "failure is not an incorrect result");
    assert_eq!(n.state().last_block.header_type, HeaderType::Normal);
}

#[test]
fn a_bogus_batch_fails_the_round_and_the_chain_continues() {
    let mut n = net(0);
    let s = n.ranked(0);
    let failed_on = n.state().last_block.hash();
    n.block(vec![n.vote(&s, s, Some(b"bogus"))]);
    // Nobody else can execute it: timeout → discrepancy → no backup majority → failure.
    let events = n.blocks_until(|e| matches!(e, RoothashEvent::RoundFailed { .. }));
    assert!(events
        .iter()
        .any(|e| matches!(e, RoothashEvent::RoundFailed { round, .. } if *round == Round(1))));
    let state = n.state();
    assert_eq!(state.last_block.header_type, HeaderType::RoundFailed);
    assert_eq!(state.last_block.round, Round(1));
    assert_eq!(state.last_block.previous_hash, failed_on);
    assert_eq!(state.last_block.state_root, Hash::ZERO, "the state did not change");
    assert_eq!(state.last_normal_round, Round(0));
    // Round 2 builds on the failed block and finalizes normally.
    let s = n.ranked(0);
    let votes = n.workers().iter().map(|w| n.vote(w, s, Some(b"good"))).collect();
    assert!(finalized(&n.block(votes)).is_some());
    assert_eq!(n.state().last_block.round, Round(2));
}

/// Finalizes the round in progress with every worker's vote for `H(tag)` and returns the
/// runtime block it made.
fn finalize_round(n: &mut Net, tag: &[u8]) -> RuntimeBlockHeader {
    let s = n.ranked(0);
    let votes = n.workers().iter().map(|w| n.vote(w, s, Some(tag))).collect();
    assert!(finalized(&n.block(votes)).is_some());
    n.state().last_block
}

/// Fails the round in progress (a bogus batch nobody else executes) and returns the
/// runtime block it made.
fn fail_round(n: &mut Net) -> RuntimeBlockHeader {
    let s = n.ranked(0);
    n.block(vec![n.vote(&s, s, Some(b"bogus"))]);
    n.blocks_until(|e| matches!(e, RoothashEvent::RoundFailed { .. }));
    n.state().last_block
}

#[test]
fn a_round_executes_with_the_block_that_made_the_runtime_block_before_the_previous() {
    let mut n = net(0);
    n.chain.ctx.time = 1_000;
    let genesis_context = n.state().context;
    assert_eq!(genesis_context, n.state().next_context, "rounds 1 and 2 share genesis");
    let first = finalize_round(&mut n, b"one");
    let made_first = n.chain.height;
    assert_eq!(first.timestamp, genesis_context.time, "round 1 ran with the genesis block");

    // Round 2's block can be predicted while round 1 is the latest: every field is known
    // before the block that finalizes it, whose time differs.
    n.chain.ctx.time = 2_000;
    let state = n.state();
    assert_eq!(state.context, genesis_context);
    assert_eq!((state.next_context.height.0, state.next_context.time), (made_first, 1_000));
    let predicted = predicted_block(&n, &n.header(b"two"));
    n.block(vec![]);
    n.chain.ctx.time = 3_000;
    let second = finalize_round(&mut n, b"two");
    assert_eq!(second.hash(), predicted.hash());
    // Round 3 takes the block that made round 1's; round 4 the one that made round 2's.
    let state = n.state();
    assert_eq!((state.context.height.0, state.context.time), (made_first, 1_000));
    assert_eq!((state.next_context.height.0, state.next_context.time), (n.chain.height, 3_000));
    assert_eq!(finalize_round(&mut n, b"three").timestamp, 1_000);
    let beacon = atoll_consensus::beacon::beacon(&n.chain.tree()).expect("beacon");
    assert_eq!(n.state().context.entropy, beacon.entropy);
    assert_ne!(
        n.state().context.randomness(&RUNTIME, Round(4)),
        n.state().context.randomness(&RUNTIME, Round(5)),
        "each round draws its own randomness"
    );
}

/// The block the round in progress makes if `header` is finalized: what a worker that
/// executed it knows before the chain does.
fn predicted_block(n: &Net, header: &ComputeResultsHeader) -> RuntimeBlockHeader {
    RuntimeBlockHeader::normal(RUNTIME, header, n.state().context.time)
}

/// Every worker's commitments for the round after the one in progress, on results `H(tag)`
/// built on `previous` (the block the round in progress is expected to make), one
/// transaction each.
fn next_round_votes(n: &Net, previous: &RuntimeBlockHeader, tag: &[u8]) -> Vec<Vec<u8>> {
    let round = Round(previous.round.0 + 1);
    let header = ComputeResultsHeader { round, previous_hash: previous.hash(), ..n.header(tag) };
    let scheduler = n.ranked_in(round, 0);
    n.workers()
        .iter()
        .map(|w| n.commit_tx(w, vec![n.signed(w, scheduler, Some(header.clone()), vec![])]))
        .collect()
}

fn finalized_rounds(events: &[RoothashEvent]) -> Vec<u64> {
    events
        .iter()
        .filter_map(|e| match e {
            RoothashEvent::Finalized { round, .. } => Some(round.0),
            _ => None,
        })
        .collect()
}

#[test]
fn the_next_rounds_commitments_are_held_until_this_one_is_decided() {
    let mut n = net(0);
    let predicted = predicted_block(&n, &n.header(b"one"));
    let early = next_round_votes(&n, &predicted, b"two");
    // Round 2's commitments reach the chain before round 1's: held, not counted.
    let events = n.block(early.clone());
    assert!(!events.iter().any(|e| matches!(e, RoothashEvent::ExecutorCommitted { .. })));
    assert_eq!(n.state().early_commitments.len(), n.workers().len());
    assert_eq!(n.round(), Round(1));
    // Sent again: a duplicate, refused.
    let again = next_round_votes(&n, &predicted, b"two").swap_remove(0);
    assert_code(n.chain.run(again), "roothash", 11);
    // Round 1's commitments decide it, and the held ones decide round 2 in the same block.
    let s = n.ranked(0);
    let votes = n.workers().iter().map(|w| n.vote(w, s, Some(b"one"))).collect();
    assert_eq!(finalized_rounds(&n.block(votes)), vec![1, 2]);
    let state = n.state();
    assert_eq!(state.last_block.round, Round(2));
    assert!(state.early_commitments.is_empty());

    // Each worker's transaction carries its commitments for rounds 3 and 4: the first
    // transactions' round-4 commitments are held, and the last decides round 3, then
    // round 4 with them and its own.
    let third = n.header(b"three");
    let fourth = ComputeResultsHeader {
        round: Round(4),
        previous_hash: predicted_block(&n, &third).hash(),
        ..n.header(b"four")
    };
    let (s3, s4) = (n.ranked(0), n.ranked_in(Round(4), 0));
    let txs = n
        .workers()
        .iter()
        .map(|w| {
            let both = vec![
                n.signed(w, s3, Some(third.clone()), vec![]),
                n.signed(w, s4, Some(fourth.clone()), vec![]),
            ];
            n.commit_tx(w, both)
        })
        .collect();
    assert_eq!(finalized_rounds(&n.block(txs)), vec![3, 4]);
}

#[test]
fn held_commitments_on_a_block_that_did_not_come_are_dropped() {
    let mut n = net(0);
    let expected = n.header(b"one");
    n.block(next_round_votes(&n, &predicted_block(&n, &expected), b"two"));
    // Round 1 is finalized with other results: round 2 was executed on the wrong state.
    finalize_round(&mut n, b"other");
    let state = n.state();
    assert!(state.early_commitments.is_empty(), "dropped");
    assert!(state.commitments.is_empty(), "none reached round 2's pool");
    assert_eq!(state.last_block.round, Round(1));
}

#[test]
fn only_workers_may_commit_early_and_only_one_round_ahead() {
    let mut n = net(0);
    let predicted = predicted_block(&n, &n.header(b"one"));
    let workers = n.workers();
    let header = ComputeResultsHeader {
        round: Round(2),
        previous_hash: predicted.hash(),
        ..n.header(b"two")
    };
    let scheduler = n.ranked_in(Round(2), 0);
    if let Some(backup) = n.backups().into_iter().find(|b| !workers.contains(b)) {
        let tx =
            n.commit_tx(&backup, vec![n.signed(&backup, scheduler, Some(header.clone()), vec![])]);
        assert_code(n.chain.run(tx), "roothash", 5);
    }
    let w = workers[0];
    let far = ComputeResultsHeader { round: Round(3), ..header };
    let tx = n.commit_tx(&w, vec![n.signed(&w, n.ranked_in(Round(3), 0), Some(far), vec![])]);
    assert_code(n.chain.run(tx), "roothash", 5);
    assert!(n.state().early_commitments.is_empty());
}

#[test]
fn message_results_wait_for_the_round_after_next_and_survive_a_failed_round() {
    let mut n = net(0);
    let recipient = n.chain.addr(1);
    let runtime_account = Address::from_runtime_id(&RUNTIME);
    let tx = n.chain.tx(
        0,
        SUBMIT_MSG,
        &SubmitMsg { runtime: RUNTIME, amount: Amount::new(10), to: None },
    );
    n.block(vec![tx]);
    assert!(n.chain.account(&runtime_account).general.balance >= Amount::new(10));
    let queue = roothash::incoming_queue(&n.chain.tree(), &RUNTIME, 10).expect("queue");
    let messages = vec![RuntimeMessage::StakingTransfer { to: recipient, amount: Amount::new(1) }];
    let mut header = n.header(b"one");
    header.messages_hash = messages_hash(&messages);
    header.in_msgs_count = queue.len() as u32;
    header.in_msgs_hash = in_messages_hash(&queue);
    let s = n.ranked(0);
    let mut txs = vec![n.commit_tx(&s, vec![n.signed(&s, s, Some(header.clone()), messages)])];
    for w in n.workers().into_iter().filter(|w| *w != s) {
        txs.push(n.commit_tx(&w, vec![n.signed(&w, s, Some(header.clone()), vec![])]));
    }
    assert!(finalized(&n.block(txs)).is_some());
    let result = MessageResult { round: Round(1), index: 0, error: None };
    assert!(n.state().context.message_results.is_empty(), "round 2 reads nothing");
    finalize_round(&mut n, b"two");
    assert_eq!(n.state().context.message_results, vec![result.clone()], "round 3 reads it");
    fail_round(&mut n);
    assert_eq!(
        n.state().context.message_results,
        vec![result],
        "round 3 failed: round 4 reads what it did not"
    );
    finalize_round(&mut n, b"four");
    assert!(n.state().context.message_results.is_empty(), "read once");
}

#[test]
fn a_backup_proposer_takes_over_from_a_runaway_one() {
    let mut n = net(0);
    let runaway = n.ranked(0);
    let backup_proposer = n.ranked(1);
    // Rank 0 proposed and the others executed its batch, but it never commits.
    n.block(vec![
        n.vote(&n.ranked(1), runaway, Some(b"r0")),
        n.vote(&n.ranked(2), runaway, Some(b"r0")),
    ]);
    // Rank 1 proposes after the propose timeout; every worker but the runaway commits.
    let votes = [backup_proposer, n.ranked(2)]
        .iter()
        .map(|w| n.vote(w, backup_proposer, Some(b"r1")))
        .collect();
    let events = n.block(votes);
    assert_eq!(finalized(&events), None, "rank 1 waits for the timeout on a missing vote");
    let events =
        n.blocks_until(|e| matches!(e, RoothashEvent::ExecutionDiscrepancyDetected { .. }));
    assert!(events.iter().any(|e| matches!(e,
        RoothashEvent::ExecutionDiscrepancyDetected { scheduler, rank: 1, timeout: true, .. }
            if *scheduler == backup_proposer)));
    let votes =
        n.backups().iter().take(2).map(|b| n.vote(b, backup_proposer, Some(b"r1"))).collect();
    let events = n.block(votes);
    let (_, good, _) = finalized(&events).expect("finalized");
    assert!(good.contains(&backup_proposer));
    assert_eq!(n.state().last_block.state_root, Hash::digest(b"r1"));
    assert_eq!(n.state().last_block.header_type, HeaderType::Normal, "no round failure");
}

#[test]
fn an_equivocating_commitment_is_slashed_once_and_not_counted() {
    let mut n = net(0);
    let s = n.ranked(0);
    let cheat = n.ranked(1);
    let escrow_before = n.entity_escrow(&cheat);
    n.block(vec![n.vote(&cheat, s, Some(b"one"))]);
    let events = n.block(vec![n.vote(&cheat, s, Some(b"two"))]);
    assert!(events.iter().any(|e| matches!(e,
        RoothashEvent::NodeSlashed { node, reason: SlashReason::RuntimeEquivocation, .. } if *node == cheat)));
    assert_eq!(n.entity_escrow(&cheat), escrow_before - EQUIVOCATION_SLASH);
    assert_eq!(n.state().commitments.len(), 1, "the second commitment is not in the pool");
    // A third conflicting one is not punished again.
    let events = n.block(vec![n.vote(&cheat, s, Some(b"three"))]);
    assert!(!events.iter().any(|e| matches!(e, RoothashEvent::NodeSlashed { .. })));
}

#[test]
fn evidence_of_two_proposals_slashes_the_proposer_and_rewards_the_reporter() {
    let mut n = net(0);
    let proposer = n.ranked(0);
    let proposal = |batch: &[u8]| n.proposal(&proposer, batch);
    let (a, b) = (proposal(b"a"), proposal(b"b"));
    // A reporter from another entity than the proposer's (reporting oneself earns nothing).
    let other = usize::from(n.key(&proposer).entity == 0);
    let reporter = n.chain.addr(other);
    let reporter_key = common::signer(other);
    let reporter_key = &reporter_key;
    let evidence = |x: &Signed<ProposalHeader>, y: &Signed<ProposalHeader>| Evidence {
        runtime: RUNTIME,
        evidence: EquivocationEvidence::Proposals(x.clone(), y.clone()),
    };
    // The same proposal twice proves nothing.
    let tx = n.chain.tx_by(reporter_key, EVIDENCE, &evidence(&a, &a));
    assert_code(n.chain.run(tx), "roothash", 15);
    let balance_before = n.chain.account(&reporter).general.balance.base_units();
    let escrow_before = n.entity_escrow(&proposer);
    let tx = n.chain.tx_by(reporter_key, EVIDENCE, &evidence(&a, &b));
    assert_eq!(n.chain.run(tx), None);
    assert_eq!(n.entity_escrow(&proposer), escrow_before - EQUIVOCATION_SLASH);
    let fee = FEE.amount.base_units();
    assert_eq!(
        n.chain.account(&reporter).general.balance.base_units(),
        balance_before - fee + EQUIVOCATION_SLASH / 2
    );
    // The same offence again is refused.
    let tx = n.chain.tx_by(reporter_key, EVIDENCE, &evidence(&b, &a));
    assert_code(n.chain.run(tx), "roothash", 15);
    // Two commitments by different nodes are not evidence.
    let s = n.ranked(0);
    let one = n.signed(&n.ranked(1), s, Some(n.header(b"x")), vec![]);
    let two = n.signed(&n.ranked(2), s, Some(n.header(b"y")), vec![]);
    let body = Evidence { runtime: RUNTIME, evidence: EquivocationEvidence::Commitments(one, two) };
    let tx = n.chain.tx_by(reporter_key, EVIDENCE, &body);
    assert_code(n.chain.run(tx), "roothash", 15);
}

#[test]
fn what_a_node_signed_on_two_different_blocks_is_no_equivocation() {
    // A worker that executed round 2 ahead, on the block it expected round 1 to make, signs
    // again when round 1 makes another: only one of the two can ever count.
    let mut n = net(0);
    let expected = predicted_block(&n, &n.header(b"one"));
    let w = n.workers()[0];
    let scheduler = n.ranked_in(Round(2), 0);
    let ahead = ComputeResultsHeader {
        round: Round(2),
        previous_hash: expected.hash(),
        ..n.header(b"two")
    };
    let ahead = n.signed(&w, scheduler, Some(ahead), vec![]);
    let proposed_ahead = {
        let header = ProposalHeader {
            runtime: RUNTIME,
            round: Round(2),
            previous_hash: expected.hash(),
            batch_hash: Hash::digest(b"two"),
            in_msgs_count: 0,
        };
        Signed::sign(&n.key(&scheduler).identity, &n.chain.chain_context(), &header)
    };
    finalize_round(&mut n, b"other");
    let again = n.signed(&w, scheduler, Some(n.header(b"two on the real block")), vec![]);
    let proposed_again = n.proposal(&scheduler, b"two on the real block");
    let reporter = usize::from(n.key(&w).entity == 0 || n.key(&scheduler).entity == 0);
    let reporter = common::signer(if reporter == 1 { 2 } else { 0 });
    for evidence in [
        EquivocationEvidence::Commitments(ahead, again),
        EquivocationEvidence::Proposals(proposed_ahead, proposed_again),
    ] {
        let body = Evidence { runtime: RUNTIME, evidence };
        let tx = n.chain.tx_by(&reporter, EVIDENCE, &body);
        assert_code(n.chain.run(tx), "roothash", 15);
    }
}

/// [S] finding 18: an equivocating node reporting its own proposals was paid part of its
/// own slash.
#[test]
fn self_reported_equivocation_refuses_a_reward() {
    let mut n = net(0);
    let proposer = n.ranked(0);
    let proposal = |batch: &[u8]| n.proposal(&proposer, batch);
    let body = Evidence {
        runtime: RUNTIME,
        evidence: EquivocationEvidence::Proposals(proposal(b"a"), proposal(b"b")),
    };
    let own = Address::from_public_key(&proposer);
    let balance_before = n.chain.account(&own).general.balance.base_units();
    let escrow_before = n.entity_escrow(&proposer);
    let tx = n.chain.tx_by(&n.key(&proposer).identity, EVIDENCE, &body);
    assert_eq!(n.chain.run(tx), None);
    assert_eq!(n.entity_escrow(&proposer), escrow_before - EQUIVOCATION_SLASH, "slashed");
    assert_eq!(
        n.chain.account(&own).general.balance.base_units(),
        balance_before - FEE.amount.base_units(),
        "no reward for reporting oneself"
    );
}

#[test]
fn deposits_and_runtime_messages_move_tokens_between_the_layers() {
    let mut n = net(0);
    let depositor = n.chain.addr(0);
    let runtime_account = Address::from_runtime_id(&RUNTIME);
    let supply = n.chain.accounted_supply().1;
    let tx = n.chain.tx(
        0,
        SUBMIT_MSG,
        &SubmitMsg { runtime: RUNTIME, amount: Amount::new(5_000), to: None },
    );
    let events = n.block(vec![tx]);
    assert!(events.iter().any(
        |e| matches!(e, RoothashEvent::IncomingMessageQueued { message, .. }
        if message.from == depositor && message.to == depositor
            && message.amount == Amount::new(5_000) && message.id == 0)
    ));
    assert_eq!(n.chain.account(&runtime_account).general.balance, Amount::new(5_000));
    // A deposit may name the runtime account to credit (here an Ethereum account).
    let eth = Address::from_eth([0xab; 20]);
    let tx = n.chain.tx(
        0,
        SUBMIT_MSG,
        &SubmitMsg { runtime: RUNTIME, amount: Amount::new(1_000), to: Some(eth) },
    );
    let events = n.block(vec![tx]);
    assert!(events
        .iter()
        .any(|e| matches!(e, RoothashEvent::IncomingMessageQueued { message, .. }
        if message.from == depositor && message.to == eth && message.id == 1)));
    assert_eq!(n.chain.account(&runtime_account).general.balance, Amount::new(6_000));
    let queue = roothash::incoming_queue(&n.chain.tree(), &RUNTIME, 10).expect("queue");
    assert_eq!(queue.len(), 2);
    // A deposit below the minimum and one to an unknown runtime are refused.
    let tx =
        n.chain.tx(0, SUBMIT_MSG, &SubmitMsg { runtime: RUNTIME, amount: Amount::ZERO, to: None });
    assert_code(n.chain.run(tx), "roothash", 14);
    let unknown = atoll_types::RuntimeId::from_bytes([9; 32]);
    let tx = n.chain.tx(
        0,
        SUBMIT_MSG,
        &SubmitMsg { runtime: unknown, amount: Amount::new(1), to: None },
    );
    assert_code(n.chain.run(tx), "roothash", 2);

    // A round takes the deposits and withdraws 2,000 to account 1; a second message asks
    // for more than the runtime holds and fails alone.
    let recipient = n.chain.addr(1);
    let recipient_before = n.chain.balance(1);
    let messages = vec![
        RuntimeMessage::StakingTransfer { to: recipient, amount: Amount::new(2_000) },
        RuntimeMessage::StakingTransfer { to: recipient, amount: Amount::new(1_000_000_000) },
    ];
    let mut header = n.header(b"with messages");
    header.messages_hash = messages_hash(&messages);
    header.in_msgs_count = 2;
    header.in_msgs_hash = in_messages_hash(&queue);
    let s = n.ranked(0);
    let mut txs =
        vec![n.commit_tx(&s, vec![n.signed(&s, s, Some(header.clone()), messages.clone())])];
    for w in [n.ranked(1), n.ranked(2)] {
        txs.push(n.commit_tx(&w, vec![n.signed(&w, s, Some(header.clone()), vec![])]));
    }
    let events = n.block(txs);
    assert!(finalized(&events).is_some());
    assert_eq!(n.chain.balance(1), recipient_before + 2_000);
    assert_eq!(n.chain.account(&runtime_account).general.balance, Amount::new(4_000));
    // The results are read by round 3, whose context is the block that finalized round 1.
    let state = n.state();
    let results = &state.next_context.message_results;
    assert_eq!(results.len(), 2);
    assert_eq!(results[0], MessageResult { round: Round(1), index: 0, error: None });
    assert_eq!(results[1].error.as_ref().map(|e| e.0.as_str()), Some("staking"));
    assert!(state.context.message_results.is_empty(), "round 2 reads none");
    assert!(roothash::incoming_queue(&n.chain.tree(), &RUNTIME, 10).expect("queue").is_empty());
    assert_eq!(state.last_block.in_msgs_hash, header.in_msgs_hash);
    let (sum, total) = n.chain.accounted_supply();
    assert_eq!((sum, total), (supply, supply));
}

#[test]
fn invalid_commitments_are_refused_and_change_nothing() {
    let mut n = net(0);
    let s = n.ranked(0);
    let w = n.ranked(1);
    let before = n.state();
    let outsider = n
        .nodes
        .iter()
        .map(TestNode::id)
        .find(|id| !n.workers().contains(id) && !n.backups().contains(id))
        .expect("a node outside the committee");
    let mut cases: Vec<(&str, PublicKey, Vec<SignedCommitment>, u32)> = Vec::new();
    let mut wrong_round = n.header(b"good");
    wrong_round.round = Round(5);
    cases.push(("header round", w, vec![n.signed(&w, s, Some(wrong_round), vec![])], 5));
    let mut wrong_previous = n.header(b"good");
    wrong_previous.previous_hash = Hash::digest(b"elsewhere");
    cases.push(("previous hash", w, vec![n.signed(&w, s, Some(wrong_previous), vec![])], 6));
    let message = RuntimeMessage::StakingTransfer { to: n.chain.addr(1), amount: Amount::new(1) };
    let good = Some(n.header(b"good"));
    cases.push((
        "messages from a non-scheduler",
        w,
        vec![n.signed(&w, s, good.clone(), vec![message.clone()])],
        9,
    ));
    cases.push((
        "messages not matching the hash",
        s,
        vec![n.signed(&s, s, good.clone(), vec![message])],
        9,
    ));
    let mut in_msgs = n.header(b"good");
    in_msgs.in_msgs_count = 1;
    cases.push((
        "incoming messages not queued",
        s,
        vec![n.signed(&s, s, Some(in_msgs), vec![])],
        10,
    ));
    cases.push((
        "not in the committee",
        outsider,
        vec![n.signed(&outsider, s, good.clone(), vec![])],
        7,
    ));
    cases.push((
        "scheduler not a worker",
        w,
        vec![n.signed(&w, outsider, good.clone(), vec![])],
        8,
    ));
    let forged = {
        let body = ExecutorCommitmentBody {
            runtime: RUNTIME,
            round: n.round(),
            scheduler: s,
            header: good.clone(),
            messages: vec![],
        };
        // Signed for another chain: the signature does not verify here.
        let other = atoll_types::ChainContext::from_genesis_document(b"another chain");
        Signed::sign(&n.key(&w).identity, &other, &body)
    };
    cases.push(("bad signature", w, vec![forged], 4));
    cases.push(("no commitments", w, vec![], 1));
    for (what, sender, commitments, code) in cases {
        let tx = n.commit_tx(&sender, commitments);
        let e = n.chain.run(tx).unwrap_or_else(|| panic!("{what}: accepted"));
        assert_eq!((e.module.as_str(), e.code), ("roothash", code), "{what}: {e}");
    }
    let after = n.state();
    assert_eq!(after.pool, before.pool, "the pool is unchanged");
    assert!(after.commitments.is_empty());
    // A duplicate is refused after the first is accepted.
    assert_eq!(n.chain.run(n.vote(&w, s, Some(b"good"))), None);
    assert_code(n.chain.run(n.vote(&w, s, Some(b"good"))), "roothash", 11);
    // Backups may not vote before a discrepancy (unless they are also workers).
    if let Some(b) = n.backups().into_iter().find(|b| !n.workers().contains(b)) {
        assert_code(n.chain.run(n.vote(&b, s, Some(b"good"))), "roothash", 7);
    }
}

#[test]
fn epochs_bring_transition_blocks_liveness_faults_and_suspension() {
    let mut n = net(0);
    let straggler = straggle_two_rounds(&mut n);
    let s = n.ranked(0);
    let round_before = n.state().last_block.round;

    let events = n.blocks_until(|e| matches!(e, RoothashEvent::Block { header } if header.header_type == HeaderType::EpochTransition));
    let state = n.state();
    assert_eq!(state.last_block.header_type, HeaderType::EpochTransition);
    assert_eq!(state.last_block.round, Round(round_before.0 + 1));
    assert_eq!(state.liveness.total_rounds, 0, "statistics restart");
    assert!(events.iter().any(|e| matches!(e, RoothashEvent::LivenessFault { node, failures: 1, .. } if *node == straggler)));
    let status = registry::node_status(&n.chain.tree(), &straggler).expect("status");
    let epoch = n.chain.genesis.consensus.epoch_of(atoll_types::Height(n.chain.height));
    assert!(status.suspended_from(&RUNTIME, epoch), "suspended for 2 epochs");
    assert!(status.suspended_from(&RUNTIME, atoll_types::Epoch(epoch.0 + 1)));
    // Judged before the election: already absent from the new epoch's committee.
    assert!(!n.workers().contains(&straggler) && !n.backups().contains(&straggler));

    // Nodes expire after a few epochs without re-registering: no committee, one Suspended
    // block, then nothing more.
    let events = n.blocks_until(|e| matches!(e, RoothashEvent::Block { header } if header.header_type == HeaderType::Suspended));
    assert!(!events.is_empty());
    let state = n.state();
    assert!(state.suspended && state.committee.is_none() && state.pool.is_none());
    let round = state.last_block.round;
    for _ in 0..25 {
        n.block(vec![]);
    }
    assert_eq!(n.state().last_block.round, round, "no block per epoch while suspended");
    // Commitments to a suspended runtime are refused.
    let tx = n.vote(&s, s, Some(b"late"));
    assert_code(n.chain.run(tx), "roothash", 3);
}

/// Finalizes two rounds in which the first worker never commits (rank 2 in round 1 and
/// rank 1 in round 2, never the scheduler); its liveness is 0 of 2 rounds. Returns it.
fn straggle_two_rounds(n: &mut Net) -> PublicKey {
    // Finalize two rounds with two of three workers (the third straggles), so the third
    // worker's liveness is 0 of 2 rounds, below the 50% needed.
    let straggler = n.workers()[0];
    for _ in 0..2 {
        let s = n.ranked(0);
        let others: Vec<PublicKey> =
            n.workers().into_iter().filter(|w| *w != straggler && *w != s).collect();
        let mut votes = vec![n.vote(&s, s, Some(b"good"))];
        votes.extend(others.iter().map(|w| n.vote(w, s, Some(b"good"))));
        n.block(votes);
        n.blocks_until(|e| matches!(e, RoothashEvent::ExecutionDiscrepancyDetected { .. }));
        // The backups that resolve it: not the straggler, should it be a backup too.
        let votes = n
            .backups()
            .iter()
            .filter(|b| **b != straggler)
            .take(2)
            .map(|b| n.vote(b, s, Some(b"good")))
            .collect();
        assert!(finalized(&n.block(votes)).is_some());
    }
    straggler
}

/// Blocks until the next epoch transition block; returns that block's events.
fn next_epoch(n: &mut Net) -> Vec<RoothashEvent> {
    n.blocks_until(|e| matches!(e, RoothashEvent::Block { header } if header.header_type == HeaderType::EpochTransition))
}

fn liveness_faults(events: &[RoothashEvent]) -> Vec<(PublicKey, u8)> {
    events
        .iter()
        .filter_map(|e| match e {
            RoothashEvent::LivenessFault { node, failures, .. } => Some((*node, *failures)),
            _ => None,
        })
        .collect()
}

fn slashed_for(events: &[RoothashEvent], reason: SlashReason) -> Vec<(PublicKey, Amount)> {
    events
        .iter()
        .filter_map(|e| match e {
            RoothashEvent::NodeSlashed { node, reason: r, amount, .. } if *r == reason => {
                Some((*node, *amount))
            }
            _ => None,
        })
        .collect()
}

const LIVENESS_SLASH: u128 = 400;

fn liveness_rule(max_fails: u8) -> impl FnOnce(&mut registry::types::Runtime) {
    move |runtime| {
        runtime.executor.max_liveness_fails = max_fails;
        runtime.slashing.insert(
            SlashReason::RuntimeLiveness,
            Slash { amount: Amount::new(LIVENESS_SLASH), freeze_interval: 2 },
        );
    }
}

#[test]
fn reaching_max_liveness_fails_slashes_and_freezes_without_forgetting_the_failures() {
    let mut n = net_with(0, liveness_rule(1));
    let straggler = straggle_two_rounds(&mut n);
    let escrow = n.entity_escrow(&straggler);
    let events = next_epoch(&mut n);
    assert_eq!(liveness_faults(&events), vec![(straggler, 1)]);
    // One failure reaches a maximum of one (the rule is `>=`).
    assert_eq!(
        slashed_for(&events, SlashReason::RuntimeLiveness),
        vec![(straggler, Amount::new(LIVENESS_SLASH))]
    );
    assert_eq!(n.entity_escrow(&straggler), escrow - LIVENESS_SLASH);
    let status = registry::node_status(&n.chain.tree(), &straggler).expect("status");
    assert!(status.frozen_until.is_some(), "a liveness slash freezes");
    assert_eq!(status.faults.get(&RUNTIME).map(|f| f.failures), Some(1), "not reset");
}

#[test]
fn max_liveness_fails_zero_never_slashes() {
    let mut n = net_with(0, liveness_rule(0));
    let straggler = straggle_two_rounds(&mut n);
    let events = next_epoch(&mut n);
    assert_eq!(liveness_faults(&events), vec![(straggler, 1)], "still suspended");
    assert!(slashed_for(&events, SlashReason::RuntimeLiveness).is_empty());
    let status = registry::node_status(&n.chain.tree(), &straggler).expect("status");
    assert_eq!(status.frozen_until, None);
}

#[test]
fn too_few_finalized_rounds_refuse_a_liveness_evaluation() {
    let mut n = net_with(0, |r| {
        liveness_rule(1)(r);
        r.executor.min_live_rounds_eval = 3;
    });
    straggle_two_rounds(&mut n);
    let events = next_epoch(&mut n);
    assert!(liveness_faults(&events).is_empty(), "2 rounds are below the 3 needed");
}

#[test]
fn a_failed_round_refuses_to_count_against_the_workers_and_blames_its_scheduler() {
    let mut n = net_with(0, |r| r.executor.max_missed_proposals_percent = 50);
    // Two rounds fail on bogus batches of their schedulers.
    let mut blamed = Vec::new();
    for _ in 0..2 {
        let s = n.ranked(0);
        blamed.push(s);
        n.block(vec![n.vote(&s, s, Some(b"bogus"))]);
        n.blocks_until(|e| matches!(e, RoothashEvent::RoundFailed { .. }));
    }
    // One round is finalized by everyone.
    let s = n.ranked(0);
    let votes = n.workers().iter().map(|w| n.vote(w, s, Some(b"good"))).collect();
    assert!(finalized(&n.block(votes)).is_some());
    let state = n.state();
    assert_eq!(state.liveness.total_rounds, 1, "failed rounds are not counted");
    let workers = n.workers();
    for (i, w) in workers.iter().enumerate() {
        let missed = blamed.iter().filter(|b| *b == w).count() as u64;
        assert_eq!(state.liveness.missed_proposals[i], missed);
        assert_eq!(state.liveness.live_rounds[i], 1);
    }
    // Only the schedulers of the failed rounds are faulty (they missed more than 50% of
    // their proposals); every worker's good rounds are 1 of 1.
    let events = next_epoch(&mut n);
    let mut faulty: Vec<PublicKey> = liveness_faults(&events).into_iter().map(|f| f.0).collect();
    faulty.sort();
    blamed.sort();
    blamed.dedup();
    assert_eq!(faulty, blamed);
}

#[test]
fn runtime_penalties_refuse_to_exceed_the_stake_or_to_change_without_notice() {
    let mut n = net(0);
    let owner_update = |n: &Net, change: &dyn Fn(&mut registry::types::Runtime)| {
        let mut runtime = registry::runtime(&n.chain.tree(), &RUNTIME).expect("read").expect("rt");
        change(&mut runtime);
        n.chain.tx(0, registry::REGISTER_RUNTIME, &registry::RegisterRuntime { runtime })
    };
    // A slash above what a worker stakes for the runtime is refused.
    let too_much = owner_update(&n, &|r| {
        r.slashing.get_mut(&SlashReason::RuntimeIncorrectResults).expect("rule").amount =
            Amount::new(NODE_COMPUTE_STAKE + 1);
    });
    assert_code(n.chain.run(too_much), "registry", 1);
    // A larger (but bounded) slash is accepted and waits out the notice period: the
    // committees of the next epochs still carry the old amount.
    let raise = owner_update(&n, &|r| {
        r.slashing.get_mut(&SlashReason::RuntimeIncorrectResults).expect("rule").amount =
            Amount::new(NODE_COMPUTE_STAKE);
    });
    assert_eq!(n.chain.run(raise), None);
    let amount = |n: &Net| {
        n.state().committee.expect("committee").penalties.slashing
            [&SlashReason::RuntimeIncorrectResults]
            .amount
            .base_units()
    };
    let start = n.chain.genesis.consensus.epoch_of(atoll_types::Height(n.chain.height)).0;
    assert_eq!(amount(&n), INCORRECT_RESULTS_SLASH);
    let mut seen = Vec::new();
    while seen.len() < registry::types::PENALTY_NOTICE_EPOCHS as usize + 1 {
        next_epoch(&mut n);
        let epoch = n.chain.genesis.consensus.epoch_of(atoll_types::Height(n.chain.height)).0;
        seen.push((epoch - start, amount(&n)));
    }
    let notice = registry::types::PENALTY_NOTICE_EPOCHS;
    for (after, amount) in seen {
        let expected = if after >= notice { NODE_COMPUTE_STAKE } else { INCORRECT_RESULTS_SLASH };
        assert_eq!(amount, expected, "{after} epochs after the update");
    }
}

/// [T] finding 7: a scheduler that is also a backup re-committed its own batch without its
/// runtime messages, and the two commitments were accepted as equivocation evidence.
#[test]
fn an_honest_re_commitment_without_its_messages_refuses_to_prove_equivocation() {
    let mut n = net(0);
    let s = n.ranked(0);
    let messages =
        vec![RuntimeMessage::StakingTransfer { to: n.chain.addr(1), amount: Amount::new(1) }];
    let mut header = n.header(b"good");
    header.messages_hash = messages_hash(&messages);
    let primary = n.signed(&s, s, Some(header.clone()), messages);
    let resent = n.signed(&s, s, Some(header), Vec::new());
    let other = usize::from(n.key(&s).entity == 0);
    let reporter = common::signer(other);
    let escrow = n.entity_escrow(&s);
    let body =
        Evidence { runtime: RUNTIME, evidence: EquivocationEvidence::Commitments(primary, resent) };
    assert_code(n.chain.run(n.chain.tx_by(&reporter, EVIDENCE, &body)), "roothash", 15);
    assert_eq!(n.entity_escrow(&s), escrow, "nothing slashed");
    // Two well-formed, different commitments do prove it.
    let one = n.signed(&s, s, Some(n.header(b"one")), Vec::new());
    let two = n.signed(&s, s, Some(n.header(b"two")), Vec::new());
    let body = Evidence { runtime: RUNTIME, evidence: EquivocationEvidence::Commitments(one, two) };
    assert_eq!(n.chain.run(n.chain.tx_by(&reporter, EVIDENCE, &body)), None);
    assert_eq!(n.entity_escrow(&s), escrow - EQUIVOCATION_SLASH);
}

/// [T] finding 20: runtime messages, executed by the consensus layer when their round is
/// finalized, cost the commitment that carries them nothing.
#[test]
fn runtime_messages_refuse_to_ride_for_free() {
    let mut n = net(0);
    let s = n.ranked(0);
    let messages: Vec<RuntimeMessage> = (0..3)
        .map(|i| RuntimeMessage::StakingTransfer {
            to: n.chain.addr(1),
            amount: Amount::new(i + 1),
        })
        .collect();
    let mut header = n.header(b"good");
    header.messages_hash = messages_hash(&messages);
    let commit = ExecutorCommit {
        runtime: RUNTIME,
        commitments: vec![n.signed(&s, s, Some(header), messages)],
    };
    let key = n.key(&s).identity.clone();
    let key = &key;
    let tx_with_gas = |n: &Net, gas: u64| {
        let nonce = n.chain.account(&Address::from_public_key(&key.public_key())).general.nonce;
        let fee = atoll_consensus::Fee { amount: Amount::new(u128::from(gas)), gas };
        let tx = atoll_consensus::Transaction::new(nonce, fee, EXECUTOR_COMMIT, &commit);
        atoll_types::encode(&Signed::sign(key, &n.chain.chain_context(), &tx))
    };
    // What the transaction costs without its messages, and with them.
    let bare = tx_with_gas(&n, 0);
    let params = roothash::parameters(&n.chain.tree()).expect("params");
    let byte_gas = n.chain.genesis.consensus.tx_byte_gas * bare.len() as u64;
    let without = params.gas_cost + byte_gas;
    let with = without + 3 * params.message_gas_cost;
    let short = tx_with_gas(&n, without);
    assert_code(n.chain.run(short), "core", 6);
    assert!(n.state().commitments.is_empty(), "nothing recorded");
    let paid = tx_with_gas(&n, with);
    assert_eq!(n.chain.run(paid), None);
}

/// [T] finding 7, on chain: a scheduler that is also a backup votes in the discrepancy with
/// the very commitment it made as a worker (messages and all); the round is finalized with
/// its messages, and the two prove nothing.
#[test]
fn a_scheduler_that_is_also_a_backup_re_sends_its_commitment_with_its_messages() {
    let mut n = net_of(4, 0, |_| {});
    let workers = n.workers();
    let backups = n.backups();
    let Some(s) = workers.iter().copied().find(|w| backups.contains(w)) else {
        panic!("the test network needs a worker that is also a backup");
    };
    let messages =
        vec![RuntimeMessage::StakingTransfer { to: n.chain.addr(1), amount: Amount::new(1) }];
    let mut header = n.header(b"good");
    header.messages_hash = messages_hash(&messages);
    let primary = n.signed(&s, s, Some(header.clone()), messages);
    let dissenter = workers.iter().copied().find(|w| *w != s).expect("another worker");
    let mut wrong = header.clone();
    wrong.state_root = Hash::digest(b"wrong");
    let txs = vec![
        n.commit_tx(&s, vec![primary.clone()]),
        n.commit_tx(&dissenter, vec![n.signed(&dissenter, s, Some(wrong), Vec::new())]),
    ];
    n.block(txs);
    if n.state().pool.as_ref().is_some_and(|p| !p.in_resolution()) {
        n.blocks_until(|e| matches!(e, RoothashEvent::ExecutionDiscrepancyDetected { .. }));
    }
    // Backup votes: the scheduler's is its primary commitment again, byte for byte.
    let other = backups.iter().copied().find(|b| *b != s && *b != dissenter).expect("a backup");
    let votes = vec![
        n.commit_tx(&s, vec![primary.clone()]),
        n.commit_tx(&other, vec![n.signed(&other, s, Some(header), Vec::new())]),
    ];
    let (discrepancy, good, bad) = finalized(&n.block(votes)).expect("resolved");
    assert!(discrepancy && good.contains(&s) && bad == vec![dissenter]);
    let executed = n.state().next_context.message_results.len();
    assert_eq!(executed, 1, "the scheduler's message was executed");
    let other_entity = usize::from(n.key(&s).entity == 0);
    let body = Evidence {
        runtime: RUNTIME,
        evidence: EquivocationEvidence::Commitments(primary.clone(), primary),
    };
    let tx = n.chain.tx_by(&common::signer(other_entity), EVIDENCE, &body);
    assert_code(n.chain.run(tx), "roothash", 15);
}
