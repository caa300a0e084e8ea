//! The round machine's decisions, input by input.

use super::*;
use crate::fixtures::{executed, results};
use atoll_consensus::roothash::pool::ExecutorCommitment;
use atoll_crypto::MemorySigner;
use atoll_types::{ChainContext, Height, Signed, Signer};
use proptest::prelude::*;

const RUNTIME: RuntimeId = RuntimeId::from_bytes([7; 32]);

fn chain() -> ChainContext {
    ChainContext::from_hash(Hash::digest(b"chain"))
}

fn signer(i: u8) -> MemorySigner {
    MemorySigner::from_seed([i; 32])
}

fn block(round: u64, header_type: HeaderType, io: &[u8]) -> RuntimeBlockHeader {
    RuntimeBlockHeader {
        runtime: RUNTIME,
        round: Round(round),
        timestamp: 0,
        header_type,
        previous_hash: Hash::ZERO,
        io_root: if io.is_empty() { Hash::ZERO } else { Hash::digest(io) },
        state_root: Hash::ZERO,
        messages_hash: Hash::ZERO,
        in_msgs_hash: Hash::ZERO,
    }
}

/// Round 5, after block 4 made at height 100, started at `at`.
fn round_state(at: Instant) -> RoundState {
    RoundState::after(block(4, HeaderType::Normal, b"io"), 100, at).expect("round 5")
}

/// A proposal by `by` for `round` on top of `previous`, of `txs`.
fn proposal(
    by: &MemorySigner,
    round: Round,
    previous: Hash,
    txs: &[&[u8]],
) -> (Proposal, ProposalHeader) {
    let tx_hashes: Vec<Hash> = txs.iter().map(|t| Hash::digest(t)).collect();
    let header = ProposalHeader {
        runtime: RUNTIME,
        round,
        previous_hash: previous,
        batch_hash: batch_hash(&tx_hashes),
        in_msgs_count: 0,
    };
    (Proposal { header: Signed::sign(by, &chain(), &header), tx_hashes }, header)
}

fn offer(state: &mut RoundState, by: &MemorySigner, rank: Option<u64>, txs: &[&[u8]]) -> Admission {
    let (p, h) = proposal(by, state.round, state.previous.hash(), txs);
    state.admit(&RUNTIME, rank, p, h, by.public_key())
}

/// A rank-0 scheduler at height 100 (the round's start), `now`, with nothing to do.
fn inputs(params: &TxnSchedulerParameters, now: Instant) -> ProposeInputs<'_> {
    ProposeInputs {
        rank: 0,
        height: 100,
        now,
        pooled: 0,
        queued: 0,
        unread_results: false,
        params,
        empty_rounds: EmptyRounds::default(),
        empty_streak: 0,
        better_committed: false,
    }
}

fn params() -> TxnSchedulerParameters {
    TxnSchedulerParameters {
        batch_flush_timeout_ms: 1_000,
        max_batch_size: 100,
        max_batch_size_bytes: 1 << 20,
        propose_batch_timeout: 2,
    }
}

#[test]
fn a_proposal_is_kept_once_and_a_second_batch_by_its_proposer_is_equivocation() {
    let mut state = round_state(Instant::now());
    let a = signer(1);
    assert_eq!(offer(&mut state, &a, Some(0), &[b"x"]), Admission::Kept { new: true });
    assert_eq!(offer(&mut state, &a, Some(0), &[b"x"]), Admission::Kept { new: false });
    let (second, header) = proposal(&a, Round(5), state.previous.hash(), &[b"y"]);
    let offered = second.header.clone();
    match state.admit(&RUNTIME, Some(0), second, header, a.public_key()) {
        Admission::Equivocation(kept) => {
            assert_ne!(*kept, offered, "the first signed header is the evidence's other half");
            assert_eq!(kept.signer(), offered.signer());
        }
        other => panic!("expected equivocation, got {other:?}"),
    }
    assert_eq!(state.proposals.len(), 1, "the first batch stays the one kept");
}

#[test]
fn proposals_for_another_round_parent_runtime_or_by_a_non_worker_are_refused() {
    let mut state = round_state(Instant::now());
    let a = signer(1);
    let previous = state.previous.hash();
    let (p, h) = proposal(&a, Round(6), previous, &[]);
    assert_eq!(state.admit(&RUNTIME, Some(0), p, h, a.public_key()), Admission::Refused);
    let (p, h) = proposal(&a, Round(5), Hash::digest(b"a fork"), &[]);
    assert_eq!(state.admit(&RUNTIME, Some(0), p, h, a.public_key()), Admission::Refused);
    let (p, h) = proposal(&a, Round(5), previous, &[]);
    let other = RuntimeId::from_bytes([8; 32]);
    assert_eq!(
        state.admit(&other, Some(0), p.clone(), h.clone(), a.public_key()),
        Admission::Refused
    );
    assert_eq!(state.admit(&RUNTIME, None, p, h, a.public_key()), Admission::Refused);
    assert!(state.proposals.is_empty());
}

#[test]
fn a_rank_acts_after_its_proposer_timeouts() {
    let state = round_state(Instant::now());
    assert!(state.rank_allowed(0, 0, 2), "rank 0 at once");
    assert!(!state.rank_allowed(2, 103, 2));
    assert!(state.rank_allowed(2, 104, 2), "2 × 2 blocks after the round's start");
    assert!(state.rank_allowed(u64::MAX, u64::MAX, u64::MAX), "no overflow");
}

#[test]
fn workers_execute_each_batch_once_in_rank_order_of_time() {
    let mut state = round_state(Instant::now());
    let (a, b, c, d) = (signer(1), signer(2), signer(3), signer(4));
    for (s, rank) in [(&a, 0), (&b, 1), (&c, 2), (&d, 3)] {
        offer(&mut state, s, Some(rank), &[b"tx"]);
    }
    state.committed.insert(c.public_key());
    state.rejected.insert(d.public_key());
    let now: Vec<PublicKey> = state.executable(101, 2).into_iter().map(|e| e.scheduler).collect();
    assert_eq!(now, vec![a.public_key()], "rank 1 waits for its timeout");
    state.executed.insert(a.public_key(), executed(Round(5), Hash::ZERO, Hash::ZERO));
    let later: Vec<PublicKey> = state.executable(102, 2).into_iter().map(|e| e.scheduler).collect();
    assert_eq!(later, vec![b.public_key()], "executed, committed and rejected ones are done");
}

#[test]
fn a_batch_whose_transactions_do_not_match_its_hash_is_given_up_on() {
    let mut state = round_state(Instant::now());
    let a = signer(1);
    let (mut p, h) = proposal(&a, Round(5), state.previous.hash(), &[b"one", b"two"]);
    p.tx_hashes.pop();
    state.admit(&RUNTIME, Some(0), p, h, a.public_key());
    assert!(state.executable(100, 2).is_empty());
    assert!(state.rejected.contains(&a.public_key()));
}

#[test]
fn a_proposal_whose_transactions_cannot_be_fetched_is_given_up_on_after_the_limit() {
    let mut state = round_state(Instant::now());
    let a = signer(1).public_key();
    state.fetch_failed(a, 3);
    state.fetch_failed(a, 3);
    assert!(!state.rejected.contains(&a));
    state.fetch_failed(a, 3);
    assert!(state.rejected.contains(&a));
}

#[test]
fn a_commitment_on_chain_without_its_proposal_here_is_missing() {
    let mut state = round_state(Instant::now());
    let (a, b) = (signer(1), signer(2));
    offer(&mut state, &a, Some(0), &[]);
    let body = |scheduler: &MemorySigner, round| ExecutorCommitmentBody {
        runtime: RUNTIME,
        round: Round(round),
        scheduler: scheduler.public_key(),
        header: None,
        messages: Vec::new(),
    };
    assert!(!state.proposal_missing([body(&a, 5)].into_iter()));
    assert!(!state.proposal_missing([body(&b, 4)].into_iter()), "another round");
    assert!(state.proposal_missing([body(&a, 5), body(&b, 5)].into_iter()));
}

#[test]
fn the_scheduler_proposes_when_its_batch_is_full_flushed_or_idle_long_enough() {
    let start = Instant::now();
    let state = round_state(start);
    let params = params();
    let base = inputs(&params, start);
    let at = |ms: u64| start + Duration::from_millis(ms);
    assert!(!state.should_propose(&base), "nothing to do");
    assert!(!state.should_propose(&ProposeInputs { now: at(60_000), ..base }), "no empty rounds");
    assert!(!state.should_propose(&ProposeInputs { pooled: 99, ..base }), "not full, not due");
    assert!(state.should_propose(&ProposeInputs { pooled: 100, ..base }), "full");
    assert!(state.should_propose(&ProposeInputs { pooled: 1, now: at(1_000), ..base }), "flushed");
    assert!(state.should_propose(&ProposeInputs { queued: 1, now: at(1_000), ..base }), "messages");
    let results = ProposeInputs { unread_results: true, now: at(1_000), ..base };
    assert!(state.should_propose(&results), "message results wait, even with no empty rounds");
    assert!(state.should_propose(&ProposeInputs { empty_streak: 2, ..results }), "over the limit");
    let empty = EmptyRounds { interval: Some(Duration::from_secs(2)), limit: Some(2) };
    let idle = ProposeInputs { empty_rounds: empty, now: at(2_000), ..base };
    assert!(state.should_propose(&idle), "an empty round");
    assert!(!state.should_propose(&ProposeInputs { now: at(1_999), ..idle }));
    assert!(!state.should_propose(&ProposeInputs { empty_streak: 2, ..idle }), "limit reached");
    let proposed = RoundState { proposed: true, ..round_state(start) };
    assert!(!proposed.should_propose(&ProposeInputs { pooled: 100, ..base }), "once a round");
}

#[test]
fn a_later_scheduler_proposes_on_its_turn_unless_a_better_one_committed() {
    let start = Instant::now();
    let state = round_state(start);
    let params = params();
    let turn = ProposeInputs { rank: 1, height: 102, pooled: 1, ..inputs(&params, start) };
    let mut state = state;
    state.note_work(100);
    assert!(state.should_propose(&turn), "its turn: no flush wait");
    assert!(!state.should_propose(&ProposeInputs { height: 101, ..turn }), "before its turn");
    assert!(!state.should_propose(&ProposeInputs { better_committed: true, ..turn }));
    assert!(!state.should_propose(&ProposeInputs { pooled: 0, ..turn }), "nothing to do");
}

/// After an idle spell every rank's turn had long come by the round's start alone: the
/// turns count from when there was something to propose, so the first scheduler proposes
/// alone and a later one only if the first does not.
#[test]
fn after_an_idle_spell_the_turns_count_from_the_first_work() {
    let start = Instant::now();
    let params = params();
    let mut state = round_state(start);
    let later = ProposeInputs {
        rank: 1,
        height: 150,
        pooled: 1,
        ..inputs(&params, start + Duration::from_secs(60))
    };
    assert!(state.has_work(&later));
    assert!(!state.should_propose(&later), "no turn of its own yet");
    assert_eq!(state.turns_from(150), 150, "no work noted: from now");
    state.note_work(150);
    state.note_work(151);
    assert_eq!(state.turns_from(151), 150, "from the first work, for the gathering too");
    assert!(!state.should_propose(&ProposeInputs { height: 151, ..later }));
    assert!(state.should_propose(&ProposeInputs { height: 152, ..later }), "rank 1: 2 blocks");
    assert!(state.should_propose(&ProposeInputs { rank: 0, ..later }), "rank 0 at once");
    // An empty round due is work too, so the rounds come even if the first scheduler is down.
    let empty = EmptyRounds { interval: Some(Duration::from_secs(2)), limit: None };
    let idle = ProposeInputs { pooled: 0, empty_rounds: empty, ..later };
    assert!(round_state(start).has_work(&idle));
    assert!(!round_state(start)
        .has_work(&ProposeInputs { empty_rounds: EmptyRounds::default(), ..idle }));
}

#[test]
fn a_backup_acts_once_on_the_batch_in_discrepancy() {
    let mut state = round_state(Instant::now());
    let (a, b) = (signer(1), signer(2));
    assert!(state.backup_duty().is_none(), "no discrepancy");
    state.discrepancy = Some(a.public_key());
    assert!(state.backup_duty().is_none(), "its proposal is not here yet");
    offer(&mut state, &b, Some(1), &[]);
    offer(&mut state, &a, Some(0), &[]);
    let duty = state.backup_duty().expect("duty");
    assert_eq!(duty.scheduler, a.public_key());
    assert!(duty.executed.is_none(), "to execute");
    let root = Hash::digest(b"state");
    state.executed.insert(a.public_key(), executed(Round(5), root, Hash::ZERO));
    let duty = state.backup_duty().expect("duty");
    assert_eq!(duty.executed.map(|(h, _)| h.state_root), Some(root), "votes with its result");
    state.backup_done = true;
    assert!(state.backup_duty().is_none());
}

#[test]
fn a_batch_is_committed_to_once_except_as_a_backup_vote() {
    let mut state = round_state(Instant::now());
    let a = signer(1).public_key();
    assert!(state.start_commit(a, false));
    assert!(!state.start_commit(a, false));
    assert!(state.start_commit(a, true));
}

#[test]
fn a_finalized_block_takes_this_nodes_matching_result() {
    let mut state = round_state(Instant::now());
    let (a, b) = (signer(1).public_key(), signer(2).public_key());
    let (root_a, root_b) = (Hash::digest(b"a"), Hash::digest(b"b"));
    state.executed.insert(a, executed(Round(5), root_a, Hash::ZERO));
    state.executed.insert(b, executed(Round(5), root_b, Hash::ZERO));
    let mut finalized = block(5, HeaderType::Normal, b"");
    finalized.state_root = Hash::digest(b"neither");
    assert!(state.take_result_of(&finalized).is_none());
    finalized.state_root = root_b;
    assert_eq!(state.take_result_of(&finalized).map(|e| e.result.state_root), Some(root_b));
    assert!(!state.executed.contains_key(&b), "taken");
    assert!(state.executed.contains_key(&a));
}

#[test]
fn only_a_better_ranked_scheduler_committing_to_its_own_batch_counts() {
    let workers: Vec<MemorySigner> = (1..=3).map(signer).collect();
    let committee = PoolCommittee {
        workers: workers.iter().map(|w| w.public_key()).collect(),
        backups: Vec::new(),
        allowed_stragglers: 0,
        round_timeout: 4,
    };
    let round = Round(5);
    let ranked = |rank| {
        workers.iter().find(|w| committee.rank(&w.public_key(), round) == Some(rank)).expect("rank")
    };
    let (first, second, third) =
        (ranked(0).public_key(), ranked(1).public_key(), ranked(2).public_key());
    let body = |scheduler, round| ExecutorCommitmentBody {
        runtime: RUNTIME,
        round,
        scheduler,
        header: None,
        messages: Vec::new(),
    };
    let check = |bodies: Vec<(PublicKey, ExecutorCommitmentBody)>, rank, me: &PublicKey| {
        better_scheduler_committed(bodies.into_iter(), &committee, round, rank, me)
    };
    assert!(check(vec![(first, body(first, round))], 2, &third));
    assert!(!check(vec![(first, body(first, Round(4)))], 2, &third), "another round");
    assert!(!check(vec![(second, body(first, round))], 2, &third), "a vote on another's batch");
    assert!(!check(vec![(third, body(third, round))], 1, &second), "ranked worse");
    assert!(!check(vec![(first, body(first, round))], 0, &first), "itself");
}

/// [T] finding 9: backups learnt of a discrepancy only from the event in the block they
/// looked at; a height skipped while busy hid it for good.
#[test]
fn a_discrepancy_is_read_from_the_pool_whatever_heights_were_seen() {
    let node = |i: u8| PublicKey::from_bytes([i; 32]);
    let committee = PoolCommittee {
        workers: vec![node(1), node(2)],
        backups: vec![node(3)],
        allowed_stragglers: 0,
        round_timeout: 4,
    };
    let scheduler =
        *committee.workers.iter().find(|w| committee.rank(w, Round(1)) == Some(0)).expect("rank 0");
    let other = *committee.workers.iter().find(|w| **w != scheduler).expect("other");
    let header = |tag: &[u8]| results(Round(1), Hash::digest(tag));
    let mut pool = CommitmentPool::new(Round(1));
    assert_eq!(resolving_scheduler(Some(&pool), Round(1)), None);
    let commit =
        |node, tag: &[u8]| ExecutorCommitment { node, scheduler, header: Some(header(tag)) };
    pool.add(&committee, commit(scheduler, b"a"), Height(10)).expect("scheduler");
    pool.add(&committee, commit(other, b"b"), Height(10)).expect("worker");
    pool.check(&committee, Height(10));
    assert!(pool.in_resolution());
    // Blocks later, with no event in sight, the pool still says who to execute.
    assert_eq!(resolving_scheduler(Some(&pool), Round(1)), Some(scheduler));
    assert_eq!(resolving_scheduler(Some(&pool), Round(2)), None, "another round");
    assert_eq!(resolving_scheduler(None, Round(1)), None);
}

#[test]
fn empty_rounds_are_counted_from_the_last_round_with_transactions() {
    let empty = block(1, HeaderType::Normal, b"");
    let busy = block(1, HeaderType::Normal, b"transactions");
    let streak = [&empty, &empty, &busy, &empty].into_iter().fold(0, next_empty_streak);
    assert_eq!(streak, 1, "counted again after the round with transactions");
    assert_eq!(next_empty_streak(3, &block(1, HeaderType::EpochTransition, b"")), 3);
    assert_eq!(next_empty_streak(u32::MAX, &empty), u32::MAX);
}

proptest! {
    /// Against a plain oracle: whatever proposals, duties done and height, a worker executes
    /// exactly the valid batches not done yet whose rank's turn has come, and never one
    /// twice.
    #[test]
    fn execution_follows_the_oracle(
        entries in proptest::collection::vec((0u64..6, any::<bool>(), 0u8..4), 0..6),
        height in 95u64..115,
        timeout in 0u64..4,
    ) {
        let mut state = round_state(Instant::now());
        let mut expected = BTreeSet::new();
        for (i, (rank, valid, done)) in entries.iter().enumerate() {
            let by = signer(i as u8 + 1);
            let (mut p, h) = proposal(&by, state.round, state.previous.hash(), &[b"a", b"b"]);
            if !valid {
                p.tx_hashes.reverse();
            }
            if state.admit(&RUNTIME, Some(*rank), p, h, by.public_key()) != (Admission::Kept { new: true }) {
                continue; // a rank already taken
            }
            let id = by.public_key();
            match done {
                1 => { state.executed.insert(id, executed(Round(5), Hash::ZERO, Hash::ZERO)); }
                2 => { state.committed.insert(id); }
                3 => { state.rejected.insert(id); }
                _ => {}
            }
            let due = *rank == 0 || height >= 100 + rank * timeout;
            if *valid && *done == 0 && due {
                expected.insert(id);
            }
        }
        let chosen: BTreeSet<PublicKey> =
            state.executable(height, timeout).into_iter().map(|e| e.scheduler).collect();
        prop_assert_eq!(&chosen, &expected);
        for id in &chosen {
            state.committed.insert(*id);
        }
        prop_assert!(state.executable(height, timeout).is_empty(), "nothing twice");
    }
}

#[test]
fn the_first_backup_leads_the_votes() {
    let (a, b) = (signer(1).public_key(), signer(2).public_key());
    assert_eq!(lead_backup(&[a, b]), Some(a));
    assert_eq!(lead_backup(&[]), None, "no backups: each submits its own");
}
