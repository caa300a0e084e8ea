//! The routing of commitments, and the byzantine behaviours around it, without a network:
//! each test plays the steps of a round through [`Courier`] and checks what it sends.

use super::*;
use crate::fixtures::{self, results};
use atoll_consensus::roothash::pool::{ExecutorCommitment, PoolCommittee};
use atoll_crypto::MemorySigner;
use atoll_types::{ChainContext, Hash, Height, Signed, Signer};

const ROUND: Round = Round(5);

fn signer(i: u8) -> MemorySigner {
    MemorySigner::from_seed([i; 32])
}

/// Nodes 1..=4 are the workers, 5..=7 the backups (5 leads them).
fn nodes() -> (Vec<PublicKey>, Vec<PublicKey>) {
    (
        (1..=4).map(|i| signer(i).public_key()).collect(),
        (5..=7).map(|i| signer(i).public_key()).collect(),
    )
}

fn body(scheduler: PublicKey, root: &[u8]) -> ExecutorCommitmentBody {
    fixtures::body(ROUND, scheduler, Some(results(ROUND, Hash::digest(root))))
}

/// Node `i`'s commitment on `scheduler`'s batch for the results `root` names.
fn signed(i: u8, scheduler: PublicKey, root: &[u8]) -> SignedCommitment {
    Signed::sign(
        &signer(i),
        &ChainContext::from_hash(Hash::digest(b"chain")),
        &body(scheduler, root),
    )
}

struct Round5 {
    workers: Vec<PublicKey>,
    backups: Vec<PublicKey>,
    start: Instant,
}

impl Round5 {
    fn new() -> Self {
        let (workers, backups) = nodes();
        Self { workers, backups, start: Instant::now() }
    }

    /// The context of node `me` at `height`, `secs` into the round.
    fn cx(&self, me: u8, height: u64, secs: u64) -> Context<'_> {
        Context {
            me: signer(me).public_key(),
            round: ROUND,
            height,
            now: self.start + Duration::from_secs(secs),
            workers: &self.workers,
            backups: &self.backups,
            discrepancy: None,
            gathers: true,
        }
    }
}

/// The commitments each `Submit` carries, by signer (sorted), and whether it is a fallback.
fn submitted(sends: &[Dispatch]) -> Vec<(Vec<PublicKey>, bool)> {
    sends
        .iter()
        .filter_map(|s| match s {
            Dispatch::Submit { commitments, fallback } => {
                Some((sorted(commitments.iter().map(|c| *c.signer()).collect()), *fallback))
            }
            Dispatch::Gossip(_) => None,
        })
        .collect()
}

fn sorted(mut keys: Vec<PublicKey>) -> Vec<PublicKey> {
    keys.sort();
    keys
}

fn gossiped(sends: &[Dispatch]) -> usize {
    sends.iter().filter(|s| matches!(s, Dispatch::Gossip(_))).count()
}

#[test]
fn an_honest_round_goes_on_chain_in_one_transaction() {
    let r = Round5::new();
    let scheduler = r.workers[0];
    let mut courier = Courier::default();
    let cx = r.cx(1, 10, 0);
    let deadline = Deadline::new(cx.now, Duration::from_secs(5), 10, (10, 0, 2));
    assert!(courier.own_batch(&cx, signed(1, scheduler, b"s"), deadline).is_empty(), "waits");
    for i in 2..=3 {
        let vote = signed(i, scheduler, b"s");
        assert!(courier.offered(&cx, r.workers[usize::from(i) - 1], &body(scheduler, b"s"), vote));
        assert!(courier.due(&cx).is_empty(), "not every worker yet");
    }
    let last = signed(4, scheduler, b"s");
    assert!(courier.offered(&cx, r.workers[3], &body(scheduler, b"s"), last));
    let sends = courier.due(&cx);
    assert_eq!(submitted(&sends), vec![(sorted(r.workers.clone()), false)], "all four in one");
    assert!(!courier.pending());
}

#[test]
fn a_worker_gossips_to_its_scheduler_and_stops_once_the_chain_has_its_commitment() {
    let r = Round5::new();
    let scheduler = r.workers[0];
    let mut courier = Courier::default();
    let cx = r.cx(2, 10, 0);
    let vote = signed(2, scheduler, b"s");
    let sends = courier.for_scheduler(&cx, scheduler, vote.clone(), Duration::from_millis(10));
    assert_eq!((gossiped(&sends), submitted(&sends).len()), (1, 0), "to the scheduler only");
    let landed = [(scheduler, body(scheduler, b"s")), (r.workers[1], body(scheduler, b"s"))];
    courier.on_chain(&r.cx(2, 11, 1), landed.into_iter(), None);
    assert!(!courier.pending(), "the scheduler brought it");
    assert!(courier.due(&r.cx(2, 20, 3_600)).is_empty(), "never sent twice");
}

#[test]
fn a_withholding_scheduler_keeps_no_vote_off_chain() {
    let r = Round5::new();
    let scheduler = r.workers[0];
    // The scheduler withholds: it gathers nothing that is gossiped to it.
    let mut withholding = Courier::default();
    let cx = Context { gathers: false, ..r.cx(1, 10, 0) };
    assert!(!withholding.offered(
        &cx,
        r.workers[1],
        &body(scheduler, b"s"),
        signed(2, scheduler, b"s")
    ));
    // The worker sees the scheduler's own commitment on chain at height 11 without its own.
    let mut worker = Courier::default();
    worker.for_scheduler(&r.cx(2, 10, 0), scheduler, signed(2, scheduler, b"s"), Duration::ZERO);
    let only_its_own = [(scheduler, body(scheduler, b"s"))];
    worker.on_chain(&r.cx(2, 11, 0), only_its_own.clone().into_iter(), None);
    assert!(worker.due(&r.cx(2, 11, 0)).is_empty(), "a late vote may still come through it");
    worker.on_chain(&r.cx(2, 12, 0), only_its_own.into_iter(), None);
    let sends = worker.due(&r.cx(2, 12, 0));
    assert_eq!(submitted(&sends), vec![(vec![r.workers[1]], true)], "the next block lacks it too");
}

#[test]
fn a_worker_whose_scheduler_never_commits_submits_after_its_wait() {
    let r = Round5::new();
    let scheduler = r.workers[0];
    let mut worker = Courier::default();
    worker.for_scheduler(&r.cx(2, 10, 0), scheduler, signed(2, scheduler, b"s"), Duration::ZERO);
    assert!(worker.due(&r.cx(2, 10, 1)).is_empty());
    assert_eq!(submitted(&worker.due(&r.cx(2, 10, 2))).len(), 1, "2 s on, by itself");
}

/// A round in discrepancy on worker 1's batch, from backup `me`'s side.
fn resolving(r: &Round5, me: u8, height: u64, secs: u64) -> Context<'_> {
    Context { discrepancy: Some(r.workers[0]), ..r.cx(me, height, secs) }
}

#[test]
fn the_leading_backup_submits_the_majoritys_votes_together() {
    let r = Round5::new();
    let scheduler = r.workers[0];
    let mut lead = Courier::default();
    let cx = resolving(&r, 5, 20, 0);
    assert!(lead
        .backup_vote(&cx, scheduler, signed(5, scheduler, b"s"), Duration::ZERO)
        .is_empty());
    assert!(lead.offered(&cx, r.backups[1], &body(scheduler, b"s"), signed(6, scheduler, b"s")));
    let sends = lead.due(&cx);
    let two = sorted(vec![r.backups[0], r.backups[1]]);
    assert_eq!(submitted(&sends), vec![(two, false)], "two of three agree");
    assert!(lead.offered(&cx, r.backups[2], &body(scheduler, b"s"), signed(7, scheduler, b"s")));
    assert_eq!(submitted(&lead.due(&cx)).len(), 1, "the third follows at once");
}

#[test]
fn only_the_leading_backup_gathers_and_only_in_the_discrepancy() {
    let r = Round5::new();
    let scheduler = r.workers[0];
    let vote = || signed(7, scheduler, b"s");
    let mut other = Courier::default();
    assert!(!other.offered(&resolving(&r, 6, 20, 0), r.backups[2], &body(scheduler, b"s"), vote()));
    let mut lead = Courier::default();
    assert!(
        !lead.offered(&r.cx(5, 20, 0), r.backups[2], &body(scheduler, b"s"), vote()),
        "none yet"
    );
    let elsewhere = body(r.workers[1], b"s");
    let on_another = signed(7, r.workers[1], b"s");
    assert!(!lead.offered(&resolving(&r, 5, 20, 0), r.backups[2], &elsewhere, on_another));
    assert!(lead.offered(&resolving(&r, 5, 20, 0), r.backups[2], &body(scheduler, b"s"), vote()));
}

/// The pool of round 5 after the workers disagreed on worker 1's batch at height 20, with
/// the backup votes `voted` (by backup index).
fn pool_in_discrepancy(r: &Round5, voted: &[usize]) -> CommitmentPool {
    let committee = PoolCommittee {
        workers: r.workers.clone(),
        backups: r.backups.clone(),
        allowed_stragglers: 0,
        round_timeout: 6,
    };
    let scheduler =
        *r.workers.iter().find(|w| committee.rank(w, ROUND) == Some(0)).expect("rank 0");
    let mut pool = CommitmentPool::new(ROUND);
    let header = |root: &[u8]| body(scheduler, root).header;
    let add = |pool: &mut CommitmentPool, node, root: &[u8], h| {
        let commitment = ExecutorCommitment { node, scheduler, header: header(root) };
        pool.add(&committee, commitment, Height(h)).expect("added");
    };
    add(&mut pool, scheduler, b"s", 20);
    let other = *r.workers.iter().find(|w| **w != scheduler).expect("another worker");
    add(&mut pool, other, b"wrong", 20);
    assert!(matches!(
        pool.check(&committee, Height(20)),
        atoll_consensus::roothash::pool::Verdict::DiscrepancyDetected
    ));
    for i in voted {
        add(&mut pool, r.backups[*i], b"s", 21);
    }
    pool
}

#[test]
fn a_leading_backup_that_is_down_does_not_keep_the_votes_off_chain() {
    let r = Round5::new();
    let pool = pool_in_discrepancy(&r, &[]);
    let scheduler = pool.best_scheduler().expect("committed").1;
    let cx = |height| Context { discrepancy: Some(scheduler), ..r.cx(6, height, 0) };
    let mut backup = Courier::default();
    let sends = backup.backup_vote(&cx(21), scheduler, signed(6, scheduler, b"s"), Duration::ZERO);
    assert_eq!(gossiped(&sends), 1, "to the leading backup");
    for height in 21..=24 {
        backup.on_chain(&cx(height), std::iter::empty(), Some(&pool));
        assert!(backup.due(&cx(height)).is_empty(), "the leader may still bring it ({height})");
    }
    backup.on_chain(&cx(25), std::iter::empty(), Some(&pool));
    let sends = backup.due(&cx(25));
    assert_eq!(submitted(&sends), vec![(vec![r.backups[1]], true)], "in blocks, not seconds");
}

#[test]
fn a_backup_vote_on_chain_needs_no_more_and_one_passed_over_goes_at_the_next_block() {
    let r = Round5::new();
    let landed = pool_in_discrepancy(&r, &[0, 1]);
    let scheduler = landed.best_scheduler().expect("committed").1;
    let cx = |me, height| Context { discrepancy: Some(scheduler), ..r.cx(me, height, 0) };
    let mut backup = Courier::default();
    backup.backup_vote(&cx(6, 21), scheduler, signed(6, scheduler, b"s"), Duration::ZERO);
    backup.on_chain(&cx(6, 22), std::iter::empty(), Some(&landed));
    assert!(!backup.pending(), "the leader brought it");

    let passed_over = pool_in_discrepancy(&r, &[0]);
    let mut late = Courier::default();
    late.backup_vote(&cx(7, 21), scheduler, signed(7, scheduler, b"s"), Duration::ZERO);
    late.on_chain(&cx(7, 22), std::iter::empty(), Some(&passed_over));
    assert!(late.due(&cx(7, 22)).is_empty(), "the leader forwards a late vote at once");
    late.on_chain(&cx(7, 23), std::iter::empty(), Some(&passed_over));
    assert_eq!(submitted(&late.due(&cx(7, 23))), vec![(vec![r.backups[2]], true)]);
}

#[test]
fn without_backups_a_vote_goes_straight_on_chain() {
    let r = Round5::new();
    let cx = Context { backups: &[], ..resolving(&r, 6, 20, 0) };
    let sends = Courier::default().backup_vote(
        &cx,
        r.workers[0],
        signed(6, r.workers[0], b"s"),
        Duration::ZERO,
    );
    assert_eq!(submitted(&sends), vec![(vec![r.backups[1]], false)]);
}

#[test]
fn a_backup_vote_that_comes_before_the_leader_knows_of_the_discrepancy_still_counts() {
    let r = Round5::new();
    let scheduler = r.workers[0];
    let mut lead = Courier::default();
    // Backup 6 saw the discrepancy's block first and voted at once; on another batch too.
    assert!(!lead.offered(
        &r.cx(5, 20, 0),
        r.backups[1],
        &body(scheduler, b"s"),
        signed(6, scheduler, b"s")
    ));
    let elsewhere = r.workers[1];
    assert!(!lead.offered(
        &r.cx(5, 20, 0),
        r.backups[1],
        &body(elsewhere, b"s"),
        signed(6, elsewhere, b"s")
    ));
    assert!(lead.due(&r.cx(5, 20, 0)).is_empty(), "nothing to submit before a discrepancy");
    let cx = resolving(&r, 5, 21, 0);
    let sends = lead.backup_vote(&cx, scheduler, signed(5, scheduler, b"s"), Duration::ZERO);
    let two = sorted(vec![r.backups[0], r.backups[1]]);
    assert_eq!(submitted(&sends), vec![(two, false)], "the early vote on this batch counts");
}
