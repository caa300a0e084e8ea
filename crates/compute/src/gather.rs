//! Executor commitments gathered by the scheduler whose batch they are on, so that a round's
//! commitments reach the chain in one transaction and the round is decided in one
//! consensus block.
//!
//! Workers gossip their signed commitments to the runtime's nodes; the scheduler holds
//! those on its own batch ([`Gathering`]) and submits them all in one
//! `roothash.ExecutorCommit` once every worker of the round has committed, or once its wait
//! has passed (with some vote in hand: its own alone decides nothing) or the next consensus
//! block came (a straggler does not hold the round back, nor does a chain busy with other
//! transactions: what came is submitted, what comes later follows at once; and the
//! scheduler's own commitment is on chain before a worse-ranked scheduler's turn, which it
//! would otherwise give away). Nothing here weakens discrepancy detection: the pool on
//! chain still finalizes early only with every worker's vote, and a worker whose commitment
//! the scheduler does not bring on chain submits it itself ([`Outbox`]): when the chain
//! shows the scheduler's own commitment without it and the next block lacks it too, and
//! after a wait should the scheduler submit nothing — a scheduler that drops a dissenting
//! vote delays it by a block or two and hides nothing. Each commitment is signed by its
//! worker, so the transaction's sender vouches for nothing, and the chain judges each on
//! its own: one it refuses (a vote that came too late, or one built on another parent) is
//! skipped and does not cost the others their place.
//!
//! Backups resolving a discrepancy vote the same way: the leading backup
//! ([`crate::round::lead_backup`]) gathers the backups' votes and submits them together as
//! soon as it holds a majority of agreeing votes (which decides), after its wait once
//! another came, or alone two blocks on; each of the others keeps its own vote in an
//! [`Outbox`] until the chain shows it, so that the backups' majority lands in one block.
//!
//! Both are pure: the worker feeds them commitments and the time and submits what they
//! return.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use atoll_consensus::roothash::pool::ComputeResultsHeader;
use atoll_consensus::roothash::SignedCommitment;
use atoll_types::{Hash, PublicKey};

use crate::round::turn_height;

/// The shortest time a scheduler waits for the workers' commitments after its own.
pub(crate) const MIN_GATHER_WAIT: Duration = Duration::from_millis(300);
/// The shortest time a worker waits for its commitment to reach the chain through the
/// scheduler before it submits the commitment itself.
pub(crate) const MIN_OUTBOX_WAIT: Duration = Duration::from_secs(2);
/// The longest either waits.
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(3_600);

/// How long a scheduler waits for the workers' commitments after its own, given how long
/// executing its batch took it: the others execute the same batch after receiving the
/// proposal, so about as long (three times that, for a loaded machine).
pub(crate) fn gather_wait(executed_in: Duration) -> Duration {
    executed_in.saturating_mul(3).clamp(MIN_GATHER_WAIT, MAX_WAIT)
}

/// How many of its latest gathered rounds a scheduler's [`Pace`] remembers.
const PACE_ROUNDS: usize = 8;

/// How late the workers' commitments came after the scheduler's own in its latest gathered
/// rounds. On a loaded machine the others' execution lags the scheduler's by more than its
/// own execution time suggests; the next wait covers what was seen, so that their votes
/// still make the one transaction.
#[derive(Default)]
pub(crate) struct Pace {
    recent: VecDeque<Duration>,
}

impl Pace {
    /// A gathered round whose last worker commitment came `lateness` after the
    /// scheduler's own.
    pub(crate) fn record(&mut self, lateness: Duration) {
        if self.recent.len() == PACE_ROUNDS {
            self.recent.pop_front();
        }
        self.recent.push_back(lateness);
    }

    /// How long the scheduler waits after its own commitment, given how long executing its
    /// batch took it: [`gather_wait`], or half again the latest arrival seen lately if that
    /// is longer — but not past [`MIN_OUTBOX_WAIT`], when the workers submit their own.
    pub(crate) fn wait(&self, executed_in: Duration) -> Duration {
        let seen = self.recent.iter().max().copied().unwrap_or_default();
        let lagging = seen.saturating_mul(3) / 2;
        gather_wait(executed_in).max(lagging.min(MIN_OUTBOX_WAIT))
    }
}

/// How long a worker leaves its commitment to the scheduler, given how long executing the
/// batch took it: past the scheduler's own wait (which started earlier), with a margin.
pub(crate) fn outbox_wait(executed_in: Duration) -> Duration {
    executed_in.saturating_mul(6).clamp(MIN_OUTBOX_WAIT, MAX_WAIT)
}

/// When a scheduler submits what it gathered at the latest: at a time or at a consensus
/// height, whichever comes first.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline {
    pub(crate) at: Instant,
    pub(crate) height: u64,
}

impl Deadline {
    /// For a scheduler of `rank` that committed `now` at `height` and waits `wait` for the
    /// others ([`Pace::wait`]), in a round that started at `round_start` with
    /// `propose_batch_timeout` blocks per rank: after the wait, or at the next block, or at
    /// the block before the next rank's turn if that comes first.
    pub(crate) fn new(
        now: Instant,
        wait: Duration,
        height: u64,
        (round_start, rank, propose_batch_timeout): (u64, u64, u64),
    ) -> Self {
        let next_turn = turn_height(round_start, rank.saturating_add(1), propose_batch_timeout);
        Self {
            at: now + wait.min(MAX_WAIT),
            height: height.saturating_add(1).min(next_turn.saturating_sub(1)),
        }
    }

    /// For the leading backup, that voted `now` at `height` and waits `wait` for the other
    /// backups: after the wait, or alone at the block after the next (no rank's turn to
    /// keep; the block right after a busy one may come before the others executed).
    pub(crate) fn backups(now: Instant, wait: Duration, height: u64) -> Self {
        Self { at: now + wait.min(MAX_WAIT), height: height.saturating_add(2) }
    }
}

/// The commitments on this node's own batch in the round in progress.
#[derive(Default)]
pub(crate) struct Gathering {
    /// When the first submission is due (set by the scheduler's own commitment).
    deadline: Option<Deadline>,
    /// Held, not submitted yet, by node.
    held: BTreeMap<PublicKey, SignedCommitment>,
    /// Nodes whose commitment was submitted.
    sent: BTreeSet<PublicKey>,
    /// When the scheduler's own commitment came.
    started: Option<Instant>,
    /// How long after it the latest worker commitment came.
    lateness: Option<Duration>,
    /// How many agreeing votes decide without waiting for the rest (`None`: every
    /// voter's).
    quorum: Option<usize>,
    /// What each node's commitment votes for (a results header's hash, `None` for
    /// failure), held or sent.
    votes: BTreeMap<PublicKey, Option<Hash>>,
}

impl Gathering {
    /// The scheduler's own commitment: the others are awaited until `deadline`.
    pub(crate) fn start(
        &mut self,
        (me, own): (PublicKey, SignedCommitment),
        deadline: Deadline,
        now: Instant,
    ) {
        self.deadline.get_or_insert(deadline);
        self.started.get_or_insert(now);
        self.offer(me, own, now);
    }

    /// A worker's commitment on this batch, received `now` (its signature, round and
    /// scheduler checked by the caller); returns whether it is new.
    pub(crate) fn offer(
        &mut self,
        node: PublicKey,
        signed: SignedCommitment,
        now: Instant,
    ) -> bool {
        if self.sent.contains(&node) || self.held.contains_key(&node) {
            return false;
        }
        if let Ok(body) = signed.decode_verified_elsewhere() {
            self.votes.insert(node, body.header.as_ref().map(ComputeResultsHeader::vote));
        }
        self.held.insert(node, signed);
        if let Some(started) = self.started {
            let late = now.saturating_duration_since(started);
            self.lateness = Some(self.lateness.map_or(late, |l| l.max(late)));
        }
        true
    }

    /// Moves the block-height part of the deadline to `height` (a round executed ahead
    /// waits, by height, only once it is the round in progress).
    pub(crate) fn rebase(&mut self, height: u64) {
        if let Some(deadline) = self.deadline.as_mut() {
            deadline.height = height;
        }
    }

    /// Submits as soon as `votes` agreeing votes are held, without waiting for every
    /// voter: the backups' majority resolves a discrepancy, and the rest follow as they
    /// come.
    pub(crate) fn set_quorum(&mut self, votes: usize) {
        self.quorum = Some(votes);
    }

    /// Whether something held here will come due without anything new arriving.
    pub(crate) fn pending(&self) -> bool {
        !self.held.is_empty()
    }

    /// How long after the scheduler's own commitment the latest of the others came (zero
    /// if all came before it); `None` if nothing was gathered after it.
    pub(crate) fn lateness(&self) -> Option<Duration> {
        self.lateness
    }

    /// What to submit now (at `height`), in transactions of at most `per_tx` commitments:
    /// nothing before the scheduler's own commitment; then everything once every one of
    /// `workers` committed (or the quorum did, if set) or the deadline came (its time only
    /// once some other commitment came too), and after that each commitment as it comes.
    pub(crate) fn due(
        &mut self,
        (now, height): (Instant, u64),
        workers: &[PublicKey],
        per_tx: usize,
    ) -> Vec<Vec<SignedCommitment>> {
        let Some(deadline) = self.deadline else { return Vec::new() };
        if self.held.is_empty() {
            return Vec::new();
        }
        let everyone = match self.quorum {
            Some(quorum) => self.most_agreeing(workers) >= quorum,
            None => workers.iter().all(|w| self.held.contains_key(w) || self.sent.contains(w)),
        };
        // Its own commitment alone decides nothing: past the wait it goes at the next block
        // (or before the next rank's turn), not earlier.
        let alone = self.held.len() == 1 && self.sent.is_empty();
        let waiting = height < deadline.height && (now < deadline.at || alone);
        if self.sent.is_empty() && !everyone && waiting {
            return Vec::new();
        }
        let taken = std::mem::take(&mut self.held);
        self.sent.extend(taken.keys().copied());
        let all: Vec<SignedCommitment> = taken.into_values().collect();
        all.chunks(per_tx.max(1)).map(<[SignedCommitment]>::to_vec).collect()
    }

    /// The most votes of `voters` for one result.
    fn most_agreeing(&self, voters: &[PublicKey]) -> usize {
        let mut counts: BTreeMap<Option<Hash>, usize> = BTreeMap::new();
        for vote in voters.iter().filter_map(|v| self.votes.get(v)) {
            *counts.entry(*vote).or_default() += 1;
        }
        counts.into_values().max().unwrap_or(0)
    }
}

/// This node's commitments on other schedulers' batches, until the chain has them.
#[derive(Default)]
pub(crate) struct Outbox {
    /// By scheduler: the commitment, when this node submits it itself at the latest, and
    /// the height at which the chain first showed the scheduler's own commitment without it.
    waiting: BTreeMap<PublicKey, (SignedCommitment, Instant, Option<u64>)>,
}

impl Outbox {
    /// A commitment on `scheduler`'s batch, gossiped `now`, left to it for `wait`.
    pub(crate) fn record(
        &mut self,
        scheduler: PublicKey,
        signed: SignedCommitment,
        now: Instant,
        wait: Duration,
    ) {
        self.wait_for(scheduler, signed, now + wait.min(MAX_WAIT), None);
    }

    /// As [`Self::record`], and due too once a block past `height` still lacks it: for a
    /// backup's vote, which the leading backup submits two blocks on at the latest, and
    /// which must land before the resolution times out (counted in blocks, which a
    /// busy chain makes faster than any wait).
    pub(crate) fn record_by(
        &mut self,
        scheduler: PublicKey,
        signed: SignedCommitment,
        now: Instant,
        (wait, height): (Duration, u64),
    ) {
        self.wait_for(scheduler, signed, now + wait.min(MAX_WAIT), Some(height));
    }

    /// Keeps `signed` (the first commitment on `scheduler`'s batch only) until `at`, or a
    /// block past `passed`.
    fn wait_for(
        &mut self,
        scheduler: PublicKey,
        signed: SignedCommitment,
        at: Instant,
        passed: Option<u64>,
    ) {
        self.waiting.entry(scheduler).or_insert((signed, at, passed));
    }

    /// Whether a commitment is still waiting to reach the chain.
    pub(crate) fn pending(&self) -> bool {
        !self.waiting.is_empty()
    }

    /// The chain holds this node's commitment on `scheduler`'s batch: nothing more to do.
    pub(crate) fn landed(&mut self, scheduler: &PublicKey) {
        self.waiting.remove(scheduler);
    }

    /// Block `height` shows `scheduler`'s own commitment but not this node's: the scheduler
    /// submitted before it had this one, and sends it as soon as it comes — or never had
    /// it, or withholds it. It is due once a later block still lacks it (submitted at once,
    /// both would land, and the second transaction would make a block of nothing).
    pub(crate) fn passed_over(&mut self, scheduler: &PublicKey, height: u64) {
        if let Some((_, _, passed)) = self.waiting.get_mut(scheduler) {
            *passed = Some(passed.map_or(height, |p| p.min(height)));
        }
    }

    /// The commitments this node submits itself `now`, at `height` (each once).
    pub(crate) fn due(&mut self, now: Instant, height: u64) -> Vec<SignedCommitment> {
        let late: Vec<PublicKey> = self
            .waiting
            .iter()
            .filter(|(_, (_, at, passed))| now >= *at || passed.is_some_and(|p| height > p))
            .map(|(s, _)| *s)
            .collect();
        late.iter().filter_map(|s| self.waiting.remove(s)).map(|(signed, ..)| signed).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{self, results};
    use atoll_crypto::MemorySigner;
    use atoll_types::{ChainContext, Round, Signed, Signer};

    fn signer(i: u8) -> MemorySigner {
        MemorySigner::from_seed([i; 32])
    }

    /// `n` workers: their keys and their ids.
    fn committee(n: u8) -> (Vec<MemorySigner>, Vec<PublicKey>) {
        let nodes: Vec<MemorySigner> = (1..=n).map(signer).collect();
        let ids = nodes.iter().map(|n| n.public_key()).collect();
        (nodes, ids)
    }

    fn commitment(by: &MemorySigner, scheduler: PublicKey) -> SignedCommitment {
        voting(by, scheduler, None)
    }

    /// A commitment for the results whose state root is `root`'s hash (`None`: failure).
    fn voting(by: &MemorySigner, scheduler: PublicKey, root: Option<&[u8]>) -> SignedCommitment {
        let header = root.map(|root| results(Round(3), Hash::digest(root)));
        let body = fixtures::body(Round(3), scheduler, header);
        Signed::sign(by, &ChainContext::from_hash(Hash::digest(b"chain")), &body)
    }

    /// A deadline `wait` after `at`, or at height 10.
    fn deadline(at: Instant, wait: Duration) -> Deadline {
        Deadline { at: at + wait, height: 10 }
    }

    #[test]
    fn the_round_goes_on_chain_in_one_transaction_once_every_worker_committed() {
        let (nodes, workers) = committee(4);
        let me = workers[0];
        let start = Instant::now();
        let now = (start, 9);
        let mut gathering = Gathering::default();
        assert!(
            gathering.offer(workers[1], commitment(&nodes[1], me), start),
            "early ones are held"
        );
        assert!(gathering.due(now, &workers, 64).is_empty(), "not before its own");
        let five = deadline(start, Duration::from_secs(5));
        gathering.start((me, commitment(&nodes[0], me)), five, start);
        assert!(gathering.due(now, &workers, 64).is_empty(), "two of four");
        assert!(!gathering.offer(workers[1], commitment(&nodes[1], me), start), "once");
        gathering.offer(workers[2], commitment(&nodes[2], me), start);
        gathering.offer(workers[3], commitment(&nodes[3], me), start);
        let txs = gathering.due(now, &workers, 64);
        assert_eq!(txs.len(), 1);
        assert_eq!(txs[0].len(), 4);
        assert!(gathering.due(now, &workers, 64).is_empty(), "submitted once");
        assert!(!gathering.offer(workers[2], commitment(&nodes[2], me), start), "sent already");
    }

    #[test]
    fn a_straggler_does_not_hold_the_others_back_and_follows_on_its_own() {
        let (nodes, workers) = committee(3);
        let me = workers[0];
        let start = Instant::now();
        let wait = Duration::from_millis(300);
        let mut gathering = Gathering::default();
        gathering.start((me, commitment(&nodes[0], me)), deadline(start, wait), start);
        gathering.offer(workers[1], commitment(&nodes[1], me), start);
        assert!(gathering.due((start + wait / 2, 9), &workers, 64).is_empty());
        let txs = gathering.due((start + wait, 9), &workers, 64);
        assert_eq!(txs.iter().map(Vec::len).sum::<usize>(), 2, "what came, at the deadline");
        gathering.offer(workers[2], commitment(&nodes[2], me), start + wait * 2);
        let late = gathering.due((start + wait * 2, 9), &workers, 64);
        assert_eq!(late.iter().map(Vec::len).sum::<usize>(), 1, "the straggler at once");
        assert_eq!(gathering.lateness(), Some(wait * 2), "the latest arrival is remembered");
    }

    #[test]
    fn the_next_block_ends_the_wait() {
        let (nodes, workers) = committee(3);
        let start = Instant::now();
        let mut gathering = Gathering::default();
        let own = commitment(&nodes[0], workers[0]);
        gathering.start((workers[0], own), deadline(start, Duration::from_secs(60)), start);
        assert!(gathering.due((start, 9), &workers, 64).is_empty());
        assert_eq!(gathering.due((start, 10), &workers, 64).len(), 1, "its own, alone");
    }

    #[test]
    fn its_own_commitment_alone_waits_past_the_time_for_the_next_block() {
        let (nodes, workers) = committee(3);
        let start = Instant::now();
        let wait = Duration::from_millis(300);
        let mut gathering = Gathering::default();
        let own = commitment(&nodes[0], workers[0]);
        gathering.start((workers[0], own), deadline(start, wait), start);
        assert!(gathering.due((start + wait * 10, 9), &workers, 64).is_empty(), "nothing to add");
        gathering.offer(workers[1], commitment(&nodes[1], workers[0]), start + wait * 10);
        let txs = gathering.due((start + wait * 10, 9), &workers, 64);
        assert_eq!(txs.iter().map(Vec::len).sum::<usize>(), 2, "a vote came: both go");
    }

    #[test]
    fn the_deadline_comes_at_the_next_block_or_before_the_next_ranks_turn() {
        let now = Instant::now();
        let took = Duration::from_secs(1);
        let d = Deadline::new(now, took, 100, (100, 0, 2));
        assert_eq!((d.at, d.height), (now + took, 101), "the next block");
        // Rank 2 may act from height 104: rank 1's commitment must be in that block.
        let late = Deadline::new(now, took, 102, (100, 1, 2));
        assert_eq!(late.height, 103);
        let last_moment = Deadline::new(now, took, 103, (100, 1, 2));
        assert_eq!(last_moment.height, 103, "due at once");
        let overdue = Deadline::new(now, took, 110, (100, 0, 2));
        assert_eq!(overdue.height, 101, "already past: due at once");
        assert_eq!(
            Deadline::new(now, took, u64::MAX, (u64::MAX, u64::MAX, 2)).height,
            u64::MAX - 1
        );
    }

    #[test]
    fn the_backups_majority_goes_in_one_transaction_or_its_own_vote_two_blocks_on() {
        let (nodes, backups) = committee(5);
        let lead = backups[0];
        let scheduler = signer(9).public_key();
        let start = Instant::now();
        let wait = Duration::from_millis(300);
        let own = || (lead, commitment(&nodes[0], scheduler));
        let mut votes = Gathering::default();
        votes.set_quorum(3);
        votes.start(own(), Deadline::backups(start, wait, 20), start);
        assert!(votes.due((start, 21), &backups, 64).is_empty(), "its own vote alone waits");
        assert!(votes.due((start + wait, 21), &backups, 64).is_empty(), "past the time too");
        votes.offer(backups[1], commitment(&nodes[1], scheduler), start);
        assert!(votes.due((start, 21), &backups, 64).is_empty(), "two of five, in time");
        votes.offer(backups[2], commitment(&nodes[2], scheduler), start);
        let txs = votes.due((start, 20), &backups, 64);
        assert_eq!(txs.iter().map(Vec::len).collect::<Vec<_>>(), vec![3], "a majority: at once");
        votes.offer(backups[3], commitment(&nodes[3], scheduler), start);
        assert_eq!(votes.due((start, 20), &backups, 64).len(), 1, "the rest as they come");

        let mut alone = Gathering::default();
        alone.set_quorum(3);
        alone.start(own(), Deadline::backups(start, wait, 20), start);
        assert_eq!(alone.due((start, 22), &backups, 64).len(), 1, "the block after the next");
    }

    #[test]
    fn a_majority_counts_only_agreeing_votes() {
        let (nodes, backups) = committee(3);
        let scheduler = signer(9).public_key();
        let start = Instant::now();
        let mut votes = Gathering::default();
        votes.set_quorum(2);
        let deadline = Deadline::backups(start, Duration::from_secs(60), 20);
        votes.start((backups[0], voting(&nodes[0], scheduler, Some(b"wrong"))), deadline, start);
        votes.offer(backups[1], voting(&nodes[1], scheduler, Some(b"right")), start);
        assert!(votes.due((start, 20), &backups, 64).is_empty(), "two votes, no majority");
        votes.offer(backups[2], voting(&nodes[2], scheduler, Some(b"right")), start);
        let txs = votes.due((start, 20), &backups, 64);
        assert_eq!(txs.iter().map(Vec::len).sum::<usize>(), 3, "two of three agree");
    }

    #[test]
    fn a_backups_vote_is_due_once_a_block_past_its_height_lacks_it_whatever_the_wait() {
        let (me, scheduler) = (signer(1), signer(2).public_key());
        let start = Instant::now();
        let mut outbox = Outbox::default();
        let wait = Duration::from_secs(60);
        outbox.record_by(scheduler, commitment(&me, scheduler), start, (wait, 12));
        assert!(outbox.due(start, 11).is_empty());
        assert!(outbox.due(start, 12).is_empty(), "the leading backup's submission may land");
        assert_eq!(outbox.due(start, 13).len(), 1, "a block past it still lacks the vote");
        assert!(!outbox.pending(), "submitted once");
    }

    #[test]
    fn transactions_hold_at_most_the_chains_limit() {
        let (nodes, workers) = committee(5);
        let mut gathering = Gathering::default();
        let now = Instant::now();
        let own = (workers[0], commitment(&nodes[0], workers[0]));
        gathering.start(own, deadline(now, Duration::ZERO), now);
        for (node, key) in nodes.iter().zip(&workers).skip(1) {
            gathering.offer(*key, commitment(node, workers[0]), now);
        }
        let sizes: Vec<usize> = gathering.due((now, 0), &workers, 2).iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![2, 2, 1]);
    }

    #[test]
    fn a_worker_submits_its_commitment_itself_if_the_chain_lacks_it_in_time() {
        let (me, scheduler, other) = (signer(1), signer(2).public_key(), signer(3).public_key());
        let start = Instant::now();
        let wait = Duration::from_secs(2);
        let mut outbox = Outbox::default();
        outbox.record(scheduler, commitment(&me, scheduler), start, wait);
        outbox.record(other, commitment(&me, other), start, wait);
        assert!(outbox.due(start + wait / 2, 9).is_empty(), "the scheduler's to bring");
        outbox.landed(&other);
        let due = outbox.due(start + wait, 9);
        assert_eq!(due.len(), 1, "only the one the chain lacks");
        assert_eq!(due[0].decode_verified_elsewhere().expect("body").scheduler, scheduler);
        assert!(outbox.due(start + wait * 2, 9).is_empty(), "once");
    }

    #[test]
    fn a_worker_passed_over_by_its_scheduler_submits_if_the_next_block_lacks_it_too() {
        let (me, scheduler) = (signer(1), signer(2).public_key());
        let start = Instant::now();
        let mut outbox = Outbox::default();
        outbox.record(scheduler, commitment(&me, scheduler), start, Duration::from_secs(60));
        outbox.passed_over(&signer(3).public_key(), 10);
        assert!(outbox.due(start, 11).is_empty(), "another scheduler's commitment says nothing");
        outbox.passed_over(&scheduler, 10);
        assert!(outbox.due(start, 10).is_empty(), "the scheduler may still bring it");
        outbox.passed_over(&scheduler, 11);
        assert_eq!(outbox.due(start, 11).len(), 1, "the next block lacks it too");
    }

    #[test]
    fn a_worker_passed_over_keeps_its_commitment_if_the_scheduler_brings_it() {
        let (me, scheduler) = (signer(1), signer(2).public_key());
        let start = Instant::now();
        let mut outbox = Outbox::default();
        outbox.record(scheduler, commitment(&me, scheduler), start, Duration::from_secs(60));
        outbox.passed_over(&scheduler, 10);
        outbox.landed(&scheduler);
        assert!(outbox.due(start, 11).is_empty());
        assert!(!outbox.pending());
    }

    #[test]
    fn waits_follow_the_execution_time_with_a_floor() {
        assert_eq!(gather_wait(Duration::ZERO), MIN_GATHER_WAIT);
        assert_eq!(gather_wait(Duration::from_secs(1)), Duration::from_secs(3));
        assert_eq!(outbox_wait(Duration::from_millis(1)), MIN_OUTBOX_WAIT);
        assert!(outbox_wait(Duration::from_secs(10)) > gather_wait(Duration::from_secs(10)));
        assert_eq!(gather_wait(Duration::MAX), MAX_WAIT, "saturates");
    }

    #[test]
    fn the_wait_covers_how_late_the_workers_came_lately_up_to_the_outbox_wait() {
        let quick = Duration::from_millis(50);
        let mut pace = Pace::default();
        assert_eq!(pace.wait(quick), gather_wait(quick), "nothing seen yet");
        pace.record(Duration::from_millis(800));
        pace.record(Duration::from_millis(100));
        assert_eq!(pace.wait(quick), Duration::from_millis(1_200), "half again the latest");
        let slow = Duration::from_secs(10);
        assert_eq!(pace.wait(slow), gather_wait(slow), "execution time dominates");
        pace.record(Duration::from_secs(30));
        assert_eq!(pace.wait(quick), MIN_OUTBOX_WAIT, "never past the workers' own wait");
        for _ in 0..PACE_ROUNDS {
            pace.record(Duration::ZERO);
        }
        assert_eq!(pace.wait(quick), gather_wait(quick), "old rounds are forgotten");
    }
}
