//! Rounds played through the machine without a network, runtime or chain: each test feeds
//! it blocks, gossip and the results of its own effects, and checks the effects it asks for.

use std::collections::BTreeMap;

use super::*;
use crate::fixtures::{executed, RUNTIME};
use atoll_consensus::registry::types::RuntimePenalties;
use atoll_consensus::roothash::pool::{CommitmentPool, ExecutorCommitment, PoolCommittee};
use atoll_consensus::roothash::{
    batch_hash, EpochCommittee, HeaderType, LivenessStatistics, RuntimeBlockHeader,
};
use atoll_crypto::MemorySigner;
use atoll_types::{ChainContext, Epoch, Height, Signed, Signer};

const ROUND: Round = Round(5);
/// The height at which the runtime's block 4 was made, where round 5 starts.
const START: u64 = 100;

fn signer(i: u8) -> MemorySigner {
    MemorySigner::from_seed([i; 32])
}

fn key(i: u8) -> PublicKey {
    signer(i).public_key()
}

fn chain() -> ChainContext {
    ChainContext::from_hash(Hash::digest(b"chain"))
}

/// Nodes 1..=4 are the workers (in round 5, node 4 ranks 0 and node 1 ranks 1), 5..=7 the
/// backups (5 leads them).
fn committee() -> PoolCommittee {
    PoolCommittee {
        workers: (1..=4).map(key).collect(),
        backups: (5..=7).map(key).collect(),
        allowed_stragglers: 0,
        round_timeout: 10,
    }
}

fn previous() -> RuntimeBlockHeader {
    RuntimeBlockHeader {
        runtime: RUNTIME,
        round: Round(4),
        timestamp: 0,
        header_type: HeaderType::Normal,
        previous_hash: Hash::ZERO,
        io_root: Hash::digest(b"io"),
        state_root: Hash::ZERO,
        messages_hash: Hash::ZERO,
        in_msgs_hash: Hash::ZERO,
    }
}

/// The runtime's state on chain while round 5 is open, with `pool` (a fresh one if `None`)
/// holding `commitments`.
fn runtime_state(pool: Option<CommitmentPool>, commitments: Vec<SignedCommitment>) -> RuntimeState {
    RuntimeState {
        runtime: RUNTIME,
        suspended: false,
        last_block: previous(),
        last_block_height: Height(START),
        last_normal_round: Round(4),
        last_normal_height: Height(START),
        committee: Some(EpochCommittee {
            epoch: Epoch(1),
            pool: committee(),
            max_messages: 16,
            penalties: RuntimePenalties {
                min_live_rounds_percent: 0,
                max_liveness_fails: 0,
                min_live_rounds_eval: 0,
                max_missed_proposals_percent: 0,
                slashing: BTreeMap::new(),
            },
        }),
        pool: Some(pool.unwrap_or_else(|| CommitmentPool::new(ROUND))),
        commitments,
        early_commitments: Vec::new(),
        liveness: LivenessStatistics::new(4),
        context: Default::default(),
        next_context: Default::default(),
        next_in_msg_id: 0,
    }
}

fn params() -> TxnSchedulerParameters {
    TxnSchedulerParameters {
        batch_flush_timeout_ms: 100,
        max_batch_size: 10,
        max_batch_size_bytes: 1 << 20,
        propose_batch_timeout: 2,
    }
}

fn block(height: u64, state: RuntimeState) -> Block {
    Block { height, params: Some(params()), queued: 0, state: Some(state) }
}

/// The proposal of node `by` for round 5 of `txs`.
fn proposal(by: u8, txs: &[&[u8]]) -> (Proposal, ProposalHeader) {
    let tx_hashes: Vec<Hash> = txs.iter().map(|t| Hash::digest(t)).collect();
    let header = ProposalHeader {
        runtime: RUNTIME,
        round: ROUND,
        previous_hash: previous().hash(),
        batch_hash: batch_hash(&tx_hashes),
        in_msgs_count: 0,
    };
    (Proposal { header: Signed::sign(&signer(by), &chain(), &header), tx_hashes }, header)
}

/// What an honest node `by` signs on `scheduler`'s batch executed to `root`.
fn commitment(by: u8, scheduler: u8, root: &[u8]) -> SignedCommitment {
    let header = executed(ROUND, Hash::digest(root), Hash::ZERO).header;
    let body = ExecutorCommitmentBody {
        runtime: RUNTIME,
        round: ROUND,
        scheduler: key(scheduler),
        header: Some(header),
        messages: Vec::new(),
    };
    Signed::sign(&signer(by), &chain(), &body)
}

/// Node `i` in `mode`, having seen round 5 open at `START` (and resumed with nothing from
/// before).
fn node(i: u8, mode: ByzantineMode, now: Instant) -> Machine {
    let mut m = Machine::new(key(i), RUNTIME, mode, EmptyRounds::default());
    m.on_block(block(START, runtime_state(None, Vec::new())), now);
    assert!(matches!(m.poll(now, 0), Some(Effect::Resume { round: ROUND, .. })));
    m.resumed(None, Vec::new());
    m
}

/// Every effect due now, unanswered.
fn drain(m: &mut Machine, now: Instant, pooled: usize) -> Vec<Effect> {
    std::iter::from_fn(|| m.poll(now, pooled)).collect()
}

/// The signers of each commitment submission among `effects`.
fn submissions(effects: &[Effect]) -> Vec<Vec<PublicKey>> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Dispatch(Dispatch::Submit { commitments, .. }) => {
                let mut signers: Vec<PublicKey> = commitments.iter().map(|c| *c.signer()).collect();
                signers.sort();
                Some(signers)
            }
            _ => None,
        })
        .collect()
}

fn sorted(mut keys: Vec<PublicKey>) -> Vec<PublicKey> {
    keys.sort();
    keys
}

/// Answers a `Commit` effect as the driver does: signs its bodies as node `by`.
fn sign(m: &mut Machine, by: u8, effect: Effect, now: Instant) {
    let Effect::Commit { scheduler, bodies, backup } = effect else {
        panic!("expected a commitment to sign, got {effect:?}")
    };
    let signed = bodies.iter().map(|b| Signed::sign(&signer(by), &chain(), b)).collect();
    m.signed(scheduler, signed, backup, false, now);
}

/// Plays node `by` executing node 4's batch (as a `backup` or a worker) and signing its
/// commitment on it; returns the effects that follow.
fn execute_and_sign(m: &mut Machine, by: u8, backup: bool, now: Instant) -> Vec<Effect> {
    let Some(Effect::Execute { batch, backup: as_backup }) = m.poll(now, 0) else {
        panic!("expected node 4's batch to execute");
    };
    assert_eq!((batch.scheduler, as_backup), (key(4), backup));
    m.executed(key(4), backup, executed(ROUND, Hash::digest(b"s"), Hash::ZERO));
    let commit = m.poll(now, 0).expect("a commitment to sign");
    sign(m, by, commit, now);
    drain(m, now, 0)
}

/// Whether `effects` are node `by`'s commitment gossiped, and nothing else.
fn gossiped_alone(effects: &[Effect], by: u8) -> bool {
    matches!(effects, [Effect::Dispatch(Dispatch::Gossip(c))] if *c.signer() == key(by))
}

#[test]
fn the_scheduler_proposes_commits_and_submits_its_workers_commitments_in_one_transaction() {
    let t0 = Instant::now();
    let mut m = node(4, ByzantineMode::Honest, t0);
    assert!(drain(&mut m, t0, 0).is_empty(), "nothing pooled: nothing to propose");
    // Past the flush timeout with three pooled transactions: a batch of its own.
    let t1 = t0 + Duration::from_millis(150);
    let Some(Effect::Propose { rank: 0, candidates: 20, in_msgs: 0, .. }) = m.poll(t1, 3) else {
        panic!("expected a proposal");
    };
    assert!(drain(&mut m, t1, 3).is_empty(), "proposed once");
    let (p, h) = proposal(4, &[b"a", b"b"]);
    m.proposed(0, p, h, executed(ROUND, Hash::digest(b"s"), Hash::ZERO));
    let commit = m.poll(t1, 0).expect("its own commitment to sign");
    sign(&mut m, 4, commit, t1);
    assert!(drain(&mut m, t1, 0).is_empty(), "held for the workers' commitments");
    assert!(!m.idle(0), "a commitment on its way keeps the node awake");
    for w in 1..=3 {
        let c = commitment(w, 4, b"s");
        let body = c.open(&chain()).expect("signed");
        assert_eq!(m.commitment(key(w), &body, c, t1), Verdict::Accept);
    }
    let effects = drain(&mut m, t1, 0);
    assert_eq!(submissions(&effects), vec![sorted((1..=4).map(key).collect())]);
}

#[test]
fn a_worker_executes_a_proposal_once_and_gossips_its_commitment() {
    let t0 = Instant::now();
    let mut m = node(1, ByzantineMode::Honest, t0);
    let (p, h) = proposal(4, &[b"a"]);
    assert_eq!(m.proposal(p, h, key(4)), Admission::Kept { new: true });
    assert!(gossiped_alone(&execute_and_sign(&mut m, 1, false, t0), 1));
    m.on_block(block(START + 1, runtime_state(None, Vec::new())), t0);
    assert!(drain(&mut m, t0, 0).is_empty(), "executed and committed once");
}

#[test]
fn a_batch_that_could_not_run_is_tried_again_at_the_next_block_not_before() {
    let t0 = Instant::now();
    let mut m = node(1, ByzantineMode::Honest, t0);
    let (p, h) = proposal(4, &[b"a"]);
    m.proposal(p, h, key(4));
    assert!(matches!(m.poll(t0, 0), Some(Effect::Execute { .. })));
    // The driver could not run it (the runtime's state still syncing): no result.
    assert!(drain(&mut m, t0, 0).is_empty(), "not again at the same height");
    m.on_block(block(START + 1, runtime_state(None, Vec::new())), t0);
    assert!(matches!(m.poll(t0, 0), Some(Effect::Execute { .. })), "again a block later");
}

#[test]
fn a_proposal_whose_transactions_cannot_be_found_is_given_up_on_after_three_blocks() {
    let t0 = Instant::now();
    let mut m = node(1, ByzantineMode::Honest, t0);
    let (p, h) = proposal(4, &[b"nobody has this"]);
    m.proposal(p, h, key(4));
    for height in START..START + 3 {
        m.on_block(block(height, runtime_state(None, Vec::new())), t0);
        assert!(matches!(m.poll(t0, 0), Some(Effect::Execute { .. })), "try at {height}");
        m.fetch_failed(key(4));
    }
    m.on_block(block(START + 3, runtime_state(None, Vec::new())), t0);
    assert!(drain(&mut m, t0, 0).is_empty(), "given up on");
}

/// The round's pool after the scheduler (node 4) and node 1 disagreed.
fn pool_in_discrepancy() -> (CommitmentPool, Vec<SignedCommitment>) {
    let committee = committee();
    let mut pool = CommitmentPool::new(ROUND);
    let signed = vec![commitment(4, 4, b"s"), commitment(1, 4, b"wrong")];
    for c in &signed {
        let body = c.open(&chain()).expect("signed");
        let entry =
            ExecutorCommitment { node: *c.signer(), scheduler: key(4), header: body.header };
        pool.add(&committee, entry, Height(START + 1)).expect("added");
    }
    let verdict = pool.check(&committee, Height(START + 1));
    assert_eq!(verdict, atoll_consensus::roothash::pool::Verdict::DiscrepancyDetected);
    (pool, signed)
}

#[test]
fn a_backup_executes_the_disputed_batch_once_and_sends_its_vote_to_the_leading_backup() {
    let t0 = Instant::now();
    let mut m = node(6, ByzantineMode::Honest, t0);
    let (p, h) = proposal(4, &[b"a"]);
    assert_eq!(m.proposal(p, h, key(4)), Admission::Kept { new: true });
    assert!(drain(&mut m, t0, 0).is_empty(), "a backup does nothing before a discrepancy");
    let (pool, signed) = pool_in_discrepancy();
    m.on_block(block(START + 1, runtime_state(Some(pool.clone()), signed.clone())), t0);
    assert!(gossiped_alone(&execute_and_sign(&mut m, 6, true, t0), 6));
    m.on_block(block(START + 2, runtime_state(Some(pool), signed)), t0);
    assert!(drain(&mut m, t0, 0).is_empty(), "voted once");
}

#[test]
fn a_backup_that_executed_the_batch_as_a_worker_votes_with_that_result() {
    // Node 1 is a worker here and a backup too.
    let t0 = Instant::now();
    let mut committee_state = runtime_state(None, Vec::new());
    if let Some(c) = committee_state.committee.as_mut() {
        c.pool.backups.insert(0, key(1));
    }
    let mut m = Machine::new(key(1), RUNTIME, ByzantineMode::Honest, EmptyRounds::default());
    m.on_block(block(START, committee_state.clone()), t0);
    drain(&mut m, t0, 0);
    m.resumed(None, Vec::new());
    let (p, h) = proposal(4, &[b"a"]);
    m.proposal(p, h, key(4));
    assert!(matches!(m.poll(t0, 0), Some(Effect::Execute { backup: false, .. })));
    m.executed(key(4), false, executed(ROUND, Hash::digest(b"s"), Hash::ZERO));
    let commit = m.poll(t0, 0).expect("a commitment to sign");
    sign(&mut m, 1, commit, t0);
    drain(&mut m, t0, 0);
    let (pool, signed) = pool_in_discrepancy();
    committee_state.pool = Some(pool);
    committee_state.commitments = signed;
    m.on_block(block(START + 1, committee_state), t0);
    let effects = drain(&mut m, t0, 0);
    assert!(
        matches!(&effects[..], [Effect::Commit { backup: true, .. }]),
        "the same result, re-sent (not executed again): {effects:?}"
    );
}

#[test]
fn after_a_restart_what_was_signed_is_sent_again_and_nothing_is_signed_anew() {
    let t0 = Instant::now();
    let mut m = Machine::new(key(4), RUNTIME, ByzantineMode::Honest, EmptyRounds::default());
    m.on_block(block(START, runtime_state(None, Vec::new())), t0);
    let Some(Effect::Resume { round, previous_hash }) = m.poll(t0, 0) else {
        panic!("a new round looks up the journal first");
    };
    assert_eq!((round, previous_hash), (ROUND, previous().hash()));
    let (p, h) = proposal(4, &[b"a"]);
    m.resumed(Some((p, Some(h))), vec![(key(4), commitment(4, 4, b"s"))]);
    let effects = drain(&mut m, t0 + Duration::from_secs(1), 5);
    assert!(matches!(effects[0], Effect::Publish(_)), "{effects:?}");
    assert_eq!(submissions(&effects), vec![vec![key(4)]]);
    assert_eq!(effects.len(), 2, "no new proposal, nothing executed again: {effects:?}");
}

#[test]
fn a_second_proposal_by_one_proposer_is_reported_as_equivocation() {
    let t0 = Instant::now();
    let mut m = node(1, ByzantineMode::Honest, t0);
    let (p, h) = proposal(4, &[b"a"]);
    m.proposal(p, h, key(4));
    let (q, g) = proposal(4, &[b"b"]);
    assert!(matches!(m.proposal(q, g, key(4)), Admission::Equivocation(_)));
    assert!(matches!(m.poll(t0, 0), Some(Effect::Evidence(EquivocationEvidence::Proposals(..)))));
}

#[test]
fn a_new_runtime_block_starts_a_new_round_and_drops_what_the_last_one_left() {
    let t0 = Instant::now();
    let mut m = node(1, ByzantineMode::Honest, t0);
    let (p, h) = proposal(4, &[b"a"]);
    m.proposal(p, h, key(4));
    let mut next = runtime_state(None, Vec::new());
    next.last_block = RuntimeBlockHeader { round: ROUND, ..previous() };
    next.pool = Some(CommitmentPool::new(Round(6)));
    m.on_block(block(START + 1, next), t0);
    assert!(matches!(m.poll(t0, 0), Some(Effect::Resume { round: Round(6), .. })));
    m.resumed(None, Vec::new());
    assert!(drain(&mut m, t0, 0).is_empty(), "round 5's proposal is not executed in round 6");
}

#[test]
fn byzantine_modes_change_only_what_they_claim() {
    let t0 = Instant::now();
    let t1 = t0 + Duration::from_millis(150);
    // A straggler neither proposes nor commits.
    let mut m = node(4, ByzantineMode::Straggler, t0);
    assert!(drain(&mut m, t1, 3).is_empty());
    let mut m = node(1, ByzantineMode::Straggler, t0);
    let (p, h) = proposal(4, &[b"a"]);
    m.proposal(p, h, key(4));
    assert!(matches!(m.poll(t0, 0), Some(Effect::Execute { .. })), "it still executes");
    m.executed(key(4), false, executed(ROUND, Hash::digest(b"s"), Hash::ZERO));
    assert!(drain(&mut m, t0, 0).is_empty(), "and commits nothing");
    // An equivocating worker signs two bodies, both submitted straight, one by one.
    let mut m = node(1, ByzantineMode::Equivocation, t0);
    let (p, h) = proposal(4, &[b"a"]);
    m.proposal(p, h, key(4));
    m.poll(t0, 0);
    m.executed(key(4), false, executed(ROUND, Hash::digest(b"s"), Hash::ZERO));
    let Some(Effect::Commit { bodies, .. }) = m.poll(t0, 0) else { panic!("expected a commit") };
    assert_eq!(bodies.len(), 2);
    sign(&mut m, 1, Effect::Commit { scheduler: key(4), bodies, backup: false }, t0);
    assert_eq!(submissions(&drain(&mut m, t0, 0)), vec![vec![key(1)], vec![key(1)]]);
    // A withholding scheduler submits its own commitment alone, whatever the workers sent.
    let mut m = node(4, ByzantineMode::WithholdingScheduler, t0);
    assert!(matches!(m.poll(t1, 3), Some(Effect::Propose { .. })));
    let (p, h) = proposal(4, &[b"a"]);
    m.proposed(0, p, h, executed(ROUND, Hash::digest(b"s"), Hash::ZERO));
    let commit = m.poll(t1, 0).expect("its own commitment");
    sign(&mut m, 4, commit, t1);
    for w in 1..=3 {
        let c = commitment(w, 4, b"s");
        let body = c.open(&chain()).expect("signed");
        m.commitment(key(w), &body, c, t1);
    }
    m.on_block(block(START + 1, runtime_state(None, Vec::new())), t1);
    assert_eq!(submissions(&drain(&mut m, t1, 0)), vec![vec![key(4)]]);
}

/// The worker ranked first in `round`.
fn first_in(round: Round) -> u8 {
    (1..=4).find(|i| committee().rank(&key(*i), round) == Some(0)).expect("a first rank")
}

/// The worker ranked first in round 6.
fn first_in_round_6() -> u8 {
    first_in(Round(6))
}

/// Node `by`'s proposal for round 6 on top of `previous` (the block round 5 makes).
fn proposal_ahead(by: u8, previous: &RuntimeBlockHeader) -> (Proposal, ProposalHeader) {
    proposal_in(Round(6), by, previous)
}

/// Node `by`'s proposal for `round` on top of `previous`.
fn proposal_in(round: Round, by: u8, previous: &RuntimeBlockHeader) -> (Proposal, ProposalHeader) {
    let tx_hashes = vec![Hash::digest(b"next")];
    let header = ProposalHeader {
        runtime: RUNTIME,
        round,
        previous_hash: previous.hash(),
        batch_hash: batch_hash(&tx_hashes),
        in_msgs_count: 0,
    };
    (Proposal { header: Signed::sign(&signer(by), &chain(), &header), tx_hashes }, header)
}

/// The chain after round 5 was finalized as `block` at `START + 1`.
fn after_round_5(block: RuntimeBlockHeader) -> Block {
    let mut state = runtime_state(Some(CommitmentPool::new(Round(6))), Vec::new());
    state.last_block = block;
    state.last_block_height = Height(START + 1);
    self::block(START + 1, state)
}

/// A worker that is neither round 5's scheduler (node 4) nor round 6's first.
fn pipelining_worker() -> u8 {
    let first = first_in_round_6();
    (1..=3).find(|i| *i != first).expect("a worker")
}

#[test]
fn a_worker_executes_the_next_round_ahead_and_goes_on_with_it_when_its_block_comes() {
    let t0 = Instant::now();
    let (w, next) = (pipelining_worker(), first_in_round_6());
    let mut m = node(w, ByzantineMode::Honest, t0);
    let (p, h) = proposal(4, &[b"a"]);
    m.proposal(p, h, key(4));
    assert!(gossiped_alone(&execute_and_sign(&mut m, w, false, t0), w));
    // Round 5's block as this node expects it, from its own result: round 6 builds on it.
    let mine = executed(ROUND, Hash::digest(b"s"), Hash::ZERO).header;
    let predicted = RuntimeBlockHeader::normal(RUNTIME, &mine, 0);
    let (p, h) = proposal_ahead(next, &predicted);
    assert_eq!(m.proposal(p, h, key(next)), Admission::Kept { new: true });
    let Some(Effect::Execute { batch, backup: false }) = m.poll(t0, 0) else {
        panic!("expected round 6's batch to execute ahead");
    };
    assert_eq!((batch.header.round, batch.scheduler), (Round(6), key(next)));
    let base = m.base(Round(6)).expect("round 6 is open");
    assert_eq!(base.previous, &predicted);
    assert_eq!(base.pending.map(|e| e.header.round), Some(ROUND), "on round 5's changes");
    m.executed(key(next), false, executed(Round(6), Hash::digest(b"six"), Hash::ZERO));
    let commit = m.poll(t0, 0).expect("round 6's commitment to sign");
    sign(&mut m, w, commit, t0);
    assert!(gossiped_alone(&drain(&mut m, t0, 0), w), "to round 6's scheduler");

    // The block comes as predicted: round 6 is in progress, done already.
    m.on_block(after_round_5(predicted.clone()), t0);
    let (round, _) = m.round().expect("a round");
    assert_eq!((round.round, round.previous.clone()), (Round(6), predicted));
    assert!(m.base(Round(6)).expect("open").pending.is_none(), "round 5 is stored now");
    assert!(drain(&mut m, t0, 0).is_empty(), "nothing resumed, executed or signed again");
    // Its commitment on round 6 signed, round 7 opens ahead at once, on round 6's block.
    let six = executed(Round(6), Hash::digest(b"six"), Hash::ZERO).header;
    let base = m.base(Round(7)).expect("round 7 is open ahead");
    assert_eq!(base.previous, &RuntimeBlockHeader::normal(RUNTIME, &six, 0));
    assert_eq!(base.pending.map(|e| e.header.round), Some(Round(6)));
}

#[test]
fn a_proposal_before_its_time_waits_and_a_block_not_predicted_drops_the_round_ahead() {
    let t0 = Instant::now();
    let (w, next) = (pipelining_worker(), first_in_round_6());
    let mut m = node(w, ByzantineMode::Honest, t0);
    let mine = executed(ROUND, Hash::digest(b"s"), Hash::ZERO).header;
    let predicted = RuntimeBlockHeader::normal(RUNTIME, &mine, 0);
    // Round 6's proposal comes before this node executed round 5: kept for later.
    let (p6, h6) = proposal_ahead(next, &predicted);
    assert_eq!(m.proposal(p6, h6, key(next)), Admission::Kept { new: true });
    let (p, h) = proposal(4, &[b"a"]);
    m.proposal(p, h, key(4));
    let effects = execute_and_sign(&mut m, w, false, t0);
    let ahead = effects
        .iter()
        .any(|e| matches!(e, Effect::Execute { batch, .. } if batch.header.round == Round(6)));
    assert!(ahead, "the kept proposal executes ahead: {effects:?}");

    // Round 5 is finalized with other results: round 6 starts over on the real block.
    let other = RuntimeBlockHeader { state_root: Hash::digest(b"other"), ..predicted };
    m.on_block(after_round_5(other.clone()), t0);
    assert_eq!(m.round().map(|(r, _)| r.previous.clone()), Some(other));
    assert!(matches!(m.poll(t0, 0), Some(Effect::Resume { round: Round(6), .. })));
}

/// A peer that saw round 5's block first and executed round 6 proposes round 7 while this
/// node still has round 5 in progress (and round 6 ahead): the proposal waits for its round
/// and is executed when round 7 opens ahead, not lost (nothing would bring it again).
#[test]
fn a_proposal_two_rounds_past_the_round_in_progress_waits_for_its_round() {
    let t0 = Instant::now();
    let (six, seven) = (first_in(Round(6)), first_in(Round(7)));
    let w = (1..=3).find(|i| *i != six && *i != seven).expect("a worker");
    let mut m = node(w, ByzantineMode::Honest, t0);
    let (p, h) = proposal(4, &[b"a"]);
    m.proposal(p, h, key(4));
    assert!(gossiped_alone(&execute_and_sign(&mut m, w, false, t0), w));
    let five = RuntimeBlockHeader::normal(
        RUNTIME,
        &executed(ROUND, Hash::digest(b"s"), Hash::ZERO).header,
        0,
    );
    let six_done = executed(Round(6), Hash::digest(b"six"), Hash::ZERO);
    let six_block = RuntimeBlockHeader::normal(RUNTIME, &six_done.header, 0);
    let (p7, h7) = proposal_in(Round(7), seven, &six_block);
    assert_eq!(m.proposal(p7, h7, key(seven)), Admission::Kept { new: true });
    // Round 6 executes ahead.
    let (p6, h6) = proposal_ahead(six, &five);
    assert_eq!(m.proposal(p6, h6, key(six)), Admission::Kept { new: true });
    let Some(Effect::Execute { batch, .. }) = m.poll(t0, 0) else {
        panic!("expected round 6's batch to execute ahead");
    };
    assert_eq!(batch.header.round, Round(6));
    m.executed(key(six), false, six_done);
    let commit = m.poll(t0, 0).expect("round 6's commitment to sign");
    sign(&mut m, w, commit, t0);
    drain(&mut m, t0, 0);

    // Round 5's block: round 6 is in progress, round 7 opens ahead with the kept proposal.
    m.on_block(after_round_5(five), t0);
    let effects = drain(&mut m, t0, 0);
    let seventh = effects.iter().any(|e| {
        matches!(e, Effect::Execute { batch, backup: false }
            if batch.header.round == Round(7) && batch.scheduler == key(seven))
    });
    assert!(seventh, "round 7's proposal executes ahead: {effects:?}");
}

#[test]
fn byzantine_nodes_do_not_execute_ahead() {
    let t0 = Instant::now();
    let (w, next) = (pipelining_worker(), first_in_round_6());
    let mut m = node(w, ByzantineMode::Straggler, t0);
    let (p, h) = proposal(4, &[b"a"]);
    m.proposal(p, h, key(4));
    drain(&mut m, t0, 0);
    let mine = executed(ROUND, Hash::digest(b"s"), Hash::ZERO).header;
    let (p, h) = proposal_ahead(next, &RuntimeBlockHeader::normal(RUNTIME, &mine, 0));
    m.proposal(p, h, key(next));
    assert!(m.base(Round(6)).is_none(), "no round ahead");
}

#[test]
fn a_scheduler_ahead_gathers_its_workers_commitments_past_the_block_that_starts_its_round() {
    let t0 = Instant::now();
    let next = first_in_round_6();
    let mut m = node(next, ByzantineMode::Honest, t0);
    let (p, h) = proposal(4, &[b"a"]);
    m.proposal(p, h, key(4));
    execute_and_sign(&mut m, next, false, t0);
    // Round 6 ahead: past the flush timeout with transactions pooled, it proposes.
    let t1 = t0 + Duration::from_millis(150);
    let Some(Effect::Propose { round: Round(6), rank: 0, .. }) = m.poll(t1, 3) else {
        panic!("expected a proposal for round 6, ahead");
    };
    let mine = executed(ROUND, Hash::digest(b"s"), Hash::ZERO).header;
    let predicted = RuntimeBlockHeader::normal(RUNTIME, &mine, 0);
    let (p, h) = proposal_ahead(next, &predicted);
    m.proposed(0, p, h, executed(Round(6), Hash::digest(b"six"), Hash::ZERO));
    let commit = m.poll(t1, 0).expect("its own commitment to sign");
    sign(&mut m, next, commit, t1);
    assert!(submissions(&drain(&mut m, t1, 0)).is_empty(), "held for the workers'");
    // The block that finalizes round 5 starts round 6: its own commitment still waits.
    m.on_block(after_round_5(predicted), t1);
    assert!(submissions(&drain(&mut m, t1, 0)).is_empty(), "not alone at the round's start");
    let six = |by: u8| {
        let body = ExecutorCommitmentBody {
            runtime: RUNTIME,
            round: Round(6),
            scheduler: key(next),
            header: Some(executed(Round(6), Hash::digest(b"six"), Hash::ZERO).header),
            messages: Vec::new(),
        };
        Signed::sign(&signer(by), &chain(), &body)
    };
    for w in (1..=4).filter(|w| *w != next) {
        let c = six(w);
        let body = c.open(&chain()).expect("signed");
        m.commitment(key(w), &body, c, t1);
    }
    let effects = drain(&mut m, t1, 0);
    assert_eq!(submissions(&effects), vec![sorted((1..=4).map(key).collect())], "in one");
}

/// Round 6's first scheduler, having executed and signed round 5's batch (node 4's, of one
/// transaction) at `at`: round 6 is open ahead.
fn scheduler_ahead(t0: Instant, at: Instant) -> Machine {
    let next = first_in_round_6();
    let mut m = node(next, ByzantineMode::Honest, t0);
    let (p, h) = proposal(4, &[b"a"]);
    m.proposal(p, h, key(4));
    let Some(Effect::Execute { .. }) = m.poll(at, 0) else { panic!("expected round 5's batch") };
    m.executed(key(4), false, executed(ROUND, Hash::digest(b"s"), Hash::ZERO));
    let commit = m.poll(at, 0).expect("a commitment to sign");
    sign(&mut m, next, commit, at);
    m
}

fn proposes(effects: &[Effect]) -> bool {
    effects.iter().any(|e| matches!(e, Effect::Propose { round: Round(6), rank: 0, .. }))
}

#[test]
fn a_scheduler_ahead_proposes_no_empty_batch_for_the_pending_rounds_transactions() {
    let t0 = Instant::now();
    let mut m = scheduler_ahead(t0, t0);
    // The one pooled transaction is round 5's: nothing new, long past the flush timeout.
    let later = t0 + Duration::from_millis(500);
    assert!(!proposes(&drain(&mut m, later, 1)));
    assert!(proposes(&drain(&mut m, later, 2)), "a second one is new");
}

#[test]
fn a_scheduler_ahead_counts_its_flush_timeout_from_the_pending_rounds_start() {
    // Round 5 executed 150 ms into the round, past the 100 ms flush timeout: round 6's batch
    // has gathered since, and goes at once.
    let t0 = Instant::now();
    let t1 = t0 + Duration::from_millis(150);
    let mut m = scheduler_ahead(t0, t1);
    assert!(proposes(&drain(&mut m, t1, 2)));
}
