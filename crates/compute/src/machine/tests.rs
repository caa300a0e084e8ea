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
