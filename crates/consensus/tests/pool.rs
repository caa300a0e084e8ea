//! The commitment pool: every transition in a table, and properties of the verdict.

use atoll_consensus::roothash::pool::{
    CommitmentPool, ComputeResultsHeader, ExecutorCommitment, PoolCommittee, PoolError, Verdict,
};
use atoll_types::{Hash, Height, PublicKey, Round};
use proptest::prelude::*;

fn node(i: u8) -> PublicKey {
    PublicKey::from_bytes([i; 32])
}

fn header(tag: &[u8]) -> ComputeResultsHeader {
    ComputeResultsHeader {
        round: Round(1),
        previous_hash: Hash::digest(b"previous"),
        io_root: Hash::digest(b"io"),
        state_root: Hash::digest(tag),
        messages_hash: Hash::ZERO,
        in_msgs_hash: Hash::ZERO,
        in_msgs_count: 0,
    }
}

/// Workers 1..=3 (ranks rotate with the round), backups 11..=13.
fn committee(stragglers: u16) -> PoolCommittee {
    PoolCommittee {
        workers: vec![node(1), node(2), node(3)],
        backups: vec![node(11), node(12), node(13)],
        allowed_stragglers: stragglers,
        round_timeout: 4,
    }
}

/// The worker with rank `rank` in round 1.
fn ranked(c: &PoolCommittee, rank: u64) -> PublicKey {
    *c.workers.iter().find(|w| c.rank(w, Round(1)) == Some(rank)).expect("a worker per rank")
}

fn commit(
    node: PublicKey,
    scheduler: PublicKey,
    header: Option<ComputeResultsHeader>,
) -> ExecutorCommitment {
    ExecutorCommitment { node, scheduler, header }
}

/// Feeds `(height, node, result)` steps (results: Some(tag) or None for failure) and then
/// checks at `end`; returns the verdicts seen.
fn run(
    c: &PoolCommittee,
    scheduler: PublicKey,
    steps: &[(u64, PublicKey, Option<&[u8]>)],
    end: u64,
) -> Vec<Verdict> {
    let mut pool = CommitmentPool::new(Round(1));
    let mut verdicts = Vec::new();
    for (height, who, result) in steps {
        if let Err(e) = pool.add(c, commit(*who, scheduler, result.map(header)), Height(*height)) {
            panic!("step by {who:?} at height {height}: {e}");
        }
        let v = pool.check(c, Height(*height));
        if v != Verdict::Pending {
            verdicts.push(v);
        }
    }
    for h in steps.last().map_or(0, |s| s.0)..=end {
        let v = pool.check(c, Height(h));
        if v != Verdict::Pending {
            verdicts.push(v);
        }
    }
    verdicts
}

fn finalized(v: &Verdict) -> Option<(&[u8], usize, usize, bool)> {
    match v {
        Verdict::Finalized(f) => {
            let tag: &[u8] =
                if f.header.state_root == Hash::digest(b"good") { b"good" } else { b"other" };
            Some((tag, f.good.len(), f.bad.len(), f.discrepancy))
        }
        _ => None,
    }
}

#[test]
fn transitions_table() {
    let c = committee(0);
    let s = ranked(&c, 0);
    let others: Vec<PublicKey> = c.workers.iter().copied().filter(|w| *w != s).collect();
    let (w1, w2) = (others[0], others[1]);
    let (b1, b2, b3) = (node(11), node(12), node(13));
    let good: Option<&[u8]> = Some(b"good");
    let bad: Option<&[u8]> = Some(b"bad");

    // Honest: all agree → finalized without discrepancy.
    let v = run(&c, s, &[(10, s, good), (10, w1, good), (11, w2, good)], 11);
    assert_eq!(v.len(), 1);
    assert_eq!(finalized(&v[0]), Some((&b"good"[..], 3, 0, false)));

    // Dishonest worker: discrepancy at once (rank 0), backups resolve for the scheduler,
    // the dishonest worker is marked bad.
    let v = run(&c, s, &[(10, s, good), (10, w1, bad), (11, b1, good), (11, b2, good)], 12);
    assert_eq!(v[0], Verdict::DiscrepancyDetected);
    assert_eq!(finalized(&v[1]), Some((&b"good"[..], 3, 1, true)));

    // Straggler: pending until the timeout (10 + 4), then discrepancy, then resolved.
    let v = run(&c, s, &[(10, s, good), (10, w1, good)], 14);
    assert_eq!(v, vec![Verdict::DiscrepancyDetected]);
    // ... and with one allowed straggler no discrepancy is needed, but the straggler is
    // forgiven only at the timeout.
    let lenient = committee(1);
    let v =
        run(&lenient, ranked(&lenient, 0), &[(10, ranked(&lenient, 0), good), (10, w1, good)], 13);
    assert!(v.is_empty(), "stragglers wait for the timeout: {v:?}");
    let v =
        run(&lenient, ranked(&lenient, 0), &[(10, ranked(&lenient, 0), good), (10, w1, good)], 14);
    assert_eq!(finalized(&v[0]), Some((&b"good"[..], 2, 0, false)));

    // Failure-indicating worker: discrepancy, then the backups finalize: no round failure.
    let v = run(&c, s, &[(10, s, good), (10, w1, None), (11, b1, good), (11, b2, good)], 12);
    assert_eq!(v[0], Verdict::DiscrepancyDetected);
    assert_eq!(finalized(&v[1]).map(|f| f.0), Some(&b"good"[..]));

    // Dishonest scheduler: backups agree on other results → the round fails.
    let v = run(&c, s, &[(10, s, bad), (10, w1, good), (11, b1, good), (11, b2, good)], 12);
    assert_eq!(v, vec![Verdict::DiscrepancyDetected, Verdict::Failed]);

    // Bogus batch: nobody else can execute it; backups report failure → round fails.
    let v = run(&c, s, &[(10, s, good), (10, w1, None), (11, b1, None), (11, b2, None)], 12);
    assert_eq!(v, vec![Verdict::DiscrepancyDetected, Verdict::Failed]);

    // Resolution that never reaches a majority times out (10 + 6 after the re-arm).
    let v = run(&c, s, &[(10, s, good), (10, w1, bad), (11, b1, good)], 20);
    assert_eq!(v, vec![Verdict::DiscrepancyDetected, Verdict::Failed]);

    // A split among backups that makes a majority impossible fails at once.
    let v = run(
        &c,
        s,
        &[(10, s, good), (10, w1, bad), (11, b1, good), (11, b2, bad), (11, b3, None)],
        11,
    );
    assert_eq!(v, vec![Verdict::DiscrepancyDetected, Verdict::Failed]);

    // Workers commit but the scheduler never does: nothing arms the timer, nothing is
    // decided (a better-ranked scheduler's commitment would arm it).
    let v = run(&c, s, &[(10, w1, good), (10, w2, good)], 40);
    assert!(v.is_empty(), "{v:?}");
}

#[test]
fn colluders_refuse_to_finalize_before_honest_dissent_arrives() {
    // Three workers, one allowed straggler: the scheduler and one colluder agree on bad
    // results at once; the honest worker's dissent comes two blocks later, before the
    // timeout. The round must not have been finalized in between.
    let c = committee(1);
    let s = ranked(&c, 0);
    let colluder = ranked(&c, 1);
    let honest = ranked(&c, 2);
    let bad: Option<&[u8]> = Some(b"bad");
    let v = run(&c, s, &[(10, s, bad), (10, colluder, bad), (12, honest, Some(b"good"))], 12);
    assert_eq!(v, vec![Verdict::DiscrepancyDetected], "{v:?}");
}

#[test]
fn the_round_timer_restarts_when_a_better_ranked_scheduler_commits() {
    let c = committee(0);
    let (first, second) = (ranked(&c, 0), ranked(&c, 1));
    let mut pool = CommitmentPool::new(Round(1));
    // Rank 1 commits first: the timer is armed at 10 + 4.
    pool.add(&c, commit(second, second, Some(header(b"good"))), Height(10)).expect("rank 1");
    assert_eq!(pool.timeout(), Some(Height(14)));
    // A worker's commitment on rank 0's batch arms nothing; rank 0's own one re-arms.
    pool.add(&c, commit(ranked(&c, 2), first, Some(header(b"good"))), Height(11)).expect("w");
    assert_eq!(pool.timeout(), Some(Height(14)));
    pool.add(&c, commit(first, first, Some(header(b"good"))), Height(12)).expect("rank 0");
    assert_eq!(pool.timeout(), Some(Height(16)));
    assert_eq!(pool.check(&c, Height(14)), Verdict::Pending, "the old timer no longer fires");
    // A worse-ranked scheduler committing later does not re-arm.
    let mut pool = CommitmentPool::new(Round(1));
    pool.add(&c, commit(first, first, Some(header(b"good"))), Height(10)).expect("rank 0");
    pool.add(&c, commit(second, second, Some(header(b"good"))), Height(12)).expect("rank 1");
    assert_eq!(pool.timeout(), Some(Height(14)));
}

#[test]
fn a_backup_proposer_takes_over_from_a_runaway_one() {
    let c = committee(0);
    let backup_proposer = ranked(&c, 1);
    let good: Option<&[u8]> = Some(b"good");
    // Rank 0 proposed but never commits; everyone executes rank 1's batch instead.
    let steps: Vec<(u64, PublicKey, Option<&[u8]>)> =
        c.workers.iter().map(|w| (10, *w, good)).collect();
    let v = run(&c, backup_proposer, &steps, 11);
    assert_eq!(finalized(&v[0]), Some((&b"good"[..], 3, 0, false)));
    // With a higher-ranked scheduler a disagreement waits for the timeout.
    let v = run(
        &c,
        backup_proposer,
        &[(10, backup_proposer, good), (10, ranked(&c, 0), Some(b"bad"))],
        13,
    );
    assert!(v.is_empty(), "no discrepancy before the timeout for rank > 0");
}

#[test]
fn refused_commitments() {
    let c = committee(0);
    let s = ranked(&c, 0);
    let mut pool = CommitmentPool::new(Round(1));
    let good = header(b"good");
    assert_eq!(
        pool.add(&c, commit(node(99), s, Some(good.clone())), Height(1)),
        Err(PoolError::NotInCommittee)
    );
    assert_eq!(
        pool.add(&c, commit(s, node(99), Some(good.clone())), Height(1)),
        Err(PoolError::UnknownScheduler)
    );
    let mut other_round = good.clone();
    other_round.round = Round(2);
    assert!(matches!(
        pool.add(&c, commit(s, s, Some(other_round)), Height(1)),
        Err(PoolError::WrongRound { .. })
    ));
    assert_eq!(pool.add(&c, commit(s, s, Some(good.clone())), Height(1)), Ok(()));
    assert_eq!(
        pool.add(&c, commit(s, s, Some(good.clone())), Height(1)),
        Err(PoolError::Duplicate)
    );
    assert_eq!(
        pool.add(&c, commit(s, s, Some(header(b"evil"))), Height(1)),
        Err(PoolError::Equivocation)
    );
    // Backups may not vote before a discrepancy.
    assert_eq!(
        pool.add(&c, commit(node(11), s, Some(good)), Height(1)),
        Err(PoolError::NotInCommittee)
    );
    // A scheduler may not indicate failure on its own batch (it could fail any round).
    let other = ranked(&c, 1);
    assert_eq!(
        pool.add(&c, commit(other, other, None), Height(1)),
        Err(PoolError::SchedulerFailure)
    );
}

proptest! {
    /// With honest scheduler and an honest majority of backups, whatever the primary
    /// workers and the dishonest backups do, the pool never finalizes anything but the
    /// honest results, and replaying the same inputs gives the same verdicts.
    #[test]
    fn honest_majority_is_never_overruled(
        primaries in proptest::collection::vec(0u8..3, 2),
        dishonest_backup in 0usize..3,
        backup_choice in 0u8..3,
        delays in proptest::collection::vec(0u64..6, 5),
    ) {
        let c = committee(0);
        let s = ranked(&c, 0);
        let others: Vec<PublicKey> = c.workers.iter().copied().filter(|w| *w != s).collect();
        let result = |choice: u8| -> Option<&'static [u8]> { match choice { 0 => Some(b"good"), 1 => Some(b"bad"), _ => None } };
        let mut steps: Vec<(u64, PublicKey, Option<&[u8]>)> = vec![(10, s, Some(b"good"))];
        for (i, w) in others.iter().enumerate() {
            steps.push((10 + delays[i], *w, result(primaries[i])));
        }
        steps.sort_by_key(|s| s.0);
        let mut pool = CommitmentPool::new(Round(1));
        let mut verdicts = Vec::new();
        let mut backups_sent = false;
        for h in 10..40u64 {
            for (height, who, res) in steps.iter().filter(|s| s.0 == h) {
                let _ = pool.add(&c, commit(*who, s, res.map(header)), Height(*height));
            }
            if pool.in_resolution() && !backups_sent {
                backups_sent = true;
                for (i, b) in c.backups.iter().enumerate() {
                    let res = if i == dishonest_backup { result(backup_choice.max(1)) } else { Some(&b"good"[..]) };
                    pool.add(&c, commit(*b, s, res.map(header)), Height(h)).expect("backup vote");
                }
            }
            let v = pool.check(&c, Height(h));
            if v != Verdict::Pending {
                verdicts.push(v);
            }
        }
        for v in &verdicts {
            if let Verdict::Finalized(f) = v {
                prop_assert_eq!(f.header.state_root, Hash::digest(b"good"));
            }
        }
        prop_assert!(verdicts.iter().any(|v| matches!(v, Verdict::Finalized(_))), "{:?}", verdicts);
    }

    /// The verdict is a function of the commitments and heights only: two pools fed the
    /// same sequence agree at every step, also when one of them is stored and reloaded
    /// (as the roothash does between blocks) before every step.
    #[test]
    fn verdicts_depend_only_on_commitments_and_heights(
        steps in proptest::collection::vec((0usize..6, 0u8..3, 0u64..3), 0..24),
    ) {
        let c = committee(0);
        let s = ranked(&c, 0);
        let members: Vec<PublicKey> = c.workers.iter().chain(c.backups.iter()).copied().collect();
        let result = |choice: u8| -> Option<&'static [u8]> { match choice { 0 => Some(b"good"), 1 => Some(b"bad"), _ => None } };
        let mut live = CommitmentPool::new(Round(1));
        let mut stored = atoll_types::encode(&CommitmentPool::new(Round(1)));
        let mut height = 10u64;
        for (who, choice, advance) in steps {
            height += advance;
            let mut reloaded: CommitmentPool = atoll_types::decode(&stored, 1 << 20).expect("decode");
            let entry = commit(members[who], s, result(choice).map(header));
            let a = live.add(&c, entry.clone(), Height(height));
            let b = reloaded.add(&c, entry, Height(height));
            prop_assert_eq!(a, b);
            let va = live.check(&c, Height(height));
            let vb = reloaded.check(&c, Height(height));
            prop_assert_eq!(va, vb);
            prop_assert_eq!(&live, &reloaded);
            stored = atoll_types::encode(&reloaded);
        }
    }

    /// A dishonest scheduler is never finalized when at least one primary worker does not
    /// side with it and the backups are honest by majority: the round fails instead. (If
    /// every primary worker colludes, no discrepancy can be seen: that is the protocol's
    /// assumption, not a bug.)
    #[test]
    fn a_dishonest_scheduler_is_never_finalized(
        primaries in proptest::collection::vec(0u8..3, 2),
        dishonest_backup in 0usize..3,
    ) {
        prop_assume!(primaries.iter().any(|p| *p != 1));
        let c = committee(0);
        let s = ranked(&c, 0);
        let others: Vec<PublicKey> = c.workers.iter().copied().filter(|w| *w != s).collect();
        let result = |choice: u8| -> Option<&'static [u8]> { match choice { 0 => Some(b"good"), 1 => Some(b"bad"), _ => None } };
        let mut pool = CommitmentPool::new(Round(1));
        pool.add(&c, commit(s, s, Some(header(b"bad"))), Height(10)).expect("scheduler");
        for (i, w) in others.iter().enumerate() {
            pool.add(&c, commit(*w, s, result(primaries[i]).map(header)), Height(10)).expect("worker");
        }
        let mut verdicts = vec![pool.check(&c, Height(10))];
        for h in 11..40u64 {
            if pool.in_resolution() {
                for (i, b) in c.backups.iter().enumerate() {
                    let res: &[u8] = if i == dishonest_backup { b"bad" } else { b"good" };
                    let _ = pool.add(&c, commit(*b, s, Some(header(res))), Height(h));
                }
            }
            verdicts.push(pool.check(&c, Height(h)));
        }
        prop_assert!(!verdicts.iter().any(|v| matches!(v, Verdict::Finalized(_))), "{:?}", verdicts);
        prop_assert!(verdicts.contains(&Verdict::Failed));
    }
}

#[test]
fn backup_votes_are_told_apart_from_primary_ones() {
    let c = committee(0);
    let s = ranked(&c, 0);
    let w1 = *c.workers.iter().find(|w| **w != s).expect("another worker");
    let good = Some(header(b"good"));
    let mut pool = CommitmentPool::new(Round(1));
    pool.add(&c, commit(s, s, good.clone()), Height(10)).expect("scheduler");
    pool.add(&c, commit(w1, s, Some(header(b"bad"))), Height(10)).expect("worker");
    assert_eq!(pool.check(&c, Height(10)), Verdict::DiscrepancyDetected);
    assert!(!pool.backup_voted(&s, &w1), "a primary vote is not a backup's");
    pool.add(&c, commit(node(11), s, good), Height(11)).expect("backup");
    assert!(pool.backup_voted(&s, &node(11)));
    assert!(!pool.backup_voted(&s, &node(12)), "not voted yet");
    assert!(!pool.backup_voted(&w1, &node(11)), "on another scheduler's batch");
}
