//! The commitment pool of one runtime round: discrepancy detection as a pure state machine.
//!
//! Inputs are executor commitments and consensus heights; the output is a verdict. Time is
//! counted in consensus blocks only, so every validator reaches the same verdict.
//!
//! - Commitments name the scheduler (the proposer whose batch they executed); the pool keeps
//!   one bucket per scheduler and decides on the best-ranked scheduler that has committed.
//!   A scheduler never commits failure on its own batch (it would fail the round at will).
//!   The round timeout is armed when a scheduler commits its own batch, and re-armed when a
//!   better-ranked scheduler does; commitments of other workers arm nothing.
//! - **Primary phase** (workers only): two different votes, or more failure votes than
//!   `allowed_stragglers`, declare a discrepancy at once if the scheduler has rank 0 (for
//!   higher ranks only at the timeout). Once every worker agrees with the scheduler, the
//!   round is finalized. Stragglers are forgiven only at the timeout: then
//!   `|W| − allowed_stragglers` agreeing workers finalize (so colluders cannot finalize before
//!   honest dissent arrives), and fewer declare a discrepancy.
//! - **Resolution phase** (backup workers only, timeout re-armed at 1.5×): `|B|/2 + 1`
//!   matching votes decide; if they match the scheduler's commitment the round is finalized,
//!   otherwise, or if no majority is possible or the timeout passes, the round fails.

use std::collections::BTreeMap;

use atoll_types::{Hash, Height, PublicKey, Round};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The results a worker commits to: what the round's block header will say.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ComputeResultsHeader {
    /// The round.
    pub round: Round,
    /// The previous runtime block's hash.
    pub previous_hash: Hash,
    /// The round's I/O root.
    pub io_root: Hash,
    /// The new state root.
    pub state_root: Hash,
    /// Hash of the runtime messages the round emits
    /// ([`atoll_types::runtime_message::messages_hash`]).
    pub messages_hash: Hash,
    /// Hash of the incoming messages the round consumed, from the front of the queue
    /// ([`atoll_types::runtime_message::in_messages_hash`]).
    pub in_msgs_hash: Hash,
    /// How many incoming messages the round consumed.
    pub in_msgs_count: u32,
}

impl ComputeResultsHeader {
    /// The vote this header stands for.
    pub fn vote(&self) -> Hash {
        Hash::of_encoded(self)
    }
}

/// One executor's commitment (its signature is checked by the caller).
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ExecutorCommitment {
    /// The committing node.
    pub node: PublicKey,
    /// The scheduler whose batch it executed.
    pub scheduler: PublicKey,
    /// The results, or `None` for a failure-indicating commitment.
    pub header: Option<ComputeResultsHeader>,
}

/// The committee of the round.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct PoolCommittee {
    /// Primary workers, in election order.
    pub workers: Vec<PublicKey>,
    /// Backup workers.
    pub backups: Vec<PublicKey>,
    /// Primary workers allowed to be missing or failing.
    pub allowed_stragglers: u16,
    /// Round timeout in consensus blocks.
    pub round_timeout: u64,
}

impl PoolCommittee {
    /// The proposer rank of `node` in `round`, if it is a worker.
    pub fn rank(&self, node: &PublicKey, round: Round) -> Option<u64> {
        let index = self.workers.iter().position(|w| w == node)? as u64;
        Some(crate::scheduler::proposer_rank(round.0, index, self.workers.len() as u64))
    }
}

/// Why a commitment was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PoolError {
    /// The commitment is for another round.
    #[error("commitment for round {got}, the pool is at round {expected}")]
    WrongRound {
        /// The pool's round.
        expected: u64,
        /// The commitment's round.
        got: u64,
    },
    /// The scheduler is not a worker of the round.
    #[error("scheduler is not a worker")]
    UnknownScheduler,
    /// The node may not vote now (not a worker in the primary phase, not a backup in the
    /// resolution phase).
    #[error("node may not vote in this phase")]
    NotInCommittee,
    /// The node already committed the same thing.
    #[error("duplicate commitment")]
    Duplicate,
    /// The node committed something else before: evidence of equivocation.
    #[error("conflicting commitments by one node (equivocation)")]
    Equivocation,
    /// The round is already decided.
    #[error("the round is already decided")]
    Decided,
    /// The scheduler indicated failure on its own batch.
    #[error("a scheduler may not commit failure on its own batch")]
    SchedulerFailure,
}

/// A vote: the hash of a header, or `None` for failure.
type Vote = Option<Hash>;

#[derive(Clone, PartialEq, Eq, Debug, Default, BorshSerialize, BorshDeserialize)]
struct Bucket {
    scheduler_header: Option<Option<ComputeResultsHeader>>,
    primary: BTreeMap<PublicKey, Option<ComputeResultsHeader>>,
    backup: BTreeMap<PublicKey, Option<ComputeResultsHeader>>,
}

/// The round's final result.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Finalization {
    /// The scheduler whose commitment is accepted.
    pub scheduler: PublicKey,
    /// Its proposer rank.
    pub rank: u64,
    /// The accepted results.
    pub header: ComputeResultsHeader,
    /// Nodes whose vote matched.
    pub good: Vec<PublicKey>,
    /// Nodes whose (non-failure) vote differed: slashed for incorrect results.
    pub bad: Vec<PublicKey>,
    /// Whether a discrepancy had to be resolved by the backups.
    pub discrepancy: bool,
}

/// What the pool says after a commitment or a new height.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Verdict {
    /// Nothing decided yet.
    Pending,
    /// The primary workers disagree: backup workers must execute the batch.
    DiscrepancyDetected,
    /// The round is finalized.
    Finalized(Box<Finalization>),
    /// The round failed: an empty failed block advances the round.
    Failed,
}

/// The pool of one round.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct CommitmentPool {
    round: Round,
    buckets: BTreeMap<u64, (PublicKey, Bucket)>,
    timeout: Option<Height>,
    discrepancy: bool,
    decided: bool,
}

fn vote_of(header: &Option<ComputeResultsHeader>) -> Vote {
    header.as_ref().map(ComputeResultsHeader::vote)
}

impl CommitmentPool {
    /// An empty pool for `round`.
    pub fn new(round: Round) -> Self {
        Self { round, buckets: BTreeMap::new(), timeout: None, discrepancy: false, decided: false }
    }

    /// Whether a discrepancy was declared.
    pub fn in_resolution(&self) -> bool {
        self.discrepancy
    }

    /// The height at which the current phase times out, once armed.
    pub fn timeout(&self) -> Option<Height> {
        self.timeout
    }

    /// The round the pool collects commitments for.
    pub fn round(&self) -> Round {
        self.round
    }

    /// The best-ranked scheduler that has committed, with its rank: the batch backup
    /// workers execute in a discrepancy.
    pub fn best_scheduler(&self) -> Option<(u64, PublicKey)> {
        self.best().map(|(rank, scheduler, _)| (rank, scheduler))
    }

    /// Whether `node` voted as a backup worker on `scheduler`'s batch (in the resolution
    /// phase).
    pub fn backup_voted(&self, scheduler: &PublicKey, node: &PublicKey) -> bool {
        self.buckets.values().any(|(s, bucket)| s == scheduler && bucket.backup.contains_key(node))
    }

    /// Adds a commitment seen at `height`.
    pub fn add(
        &mut self,
        committee: &PoolCommittee,
        commitment: ExecutorCommitment,
        height: Height,
    ) -> Result<(), PoolError> {
        if self.decided {
            return Err(PoolError::Decided);
        }
        if let Some(header) = &commitment.header {
            if header.round != self.round {
                return Err(PoolError::WrongRound { expected: self.round.0, got: header.round.0 });
            }
        }
        let rank =
            committee.rank(&commitment.scheduler, self.round).ok_or(PoolError::UnknownScheduler)?;
        let is_scheduler = commitment.node == commitment.scheduler;
        if is_scheduler && commitment.header.is_none() {
            return Err(PoolError::SchedulerFailure);
        }
        let backup_phase = self.discrepancy;
        let allowed = if backup_phase {
            committee.backups.contains(&commitment.node)
        } else {
            committee.workers.contains(&commitment.node)
        };
        if !allowed {
            return Err(PoolError::NotInCommittee);
        }
        let best_before = self.best().map(|(rank, _, _)| rank);
        let (_, bucket) =
            self.buckets.entry(rank).or_insert_with(|| (commitment.scheduler, Bucket::default()));
        let votes = if backup_phase { &mut bucket.backup } else { &mut bucket.primary };
        if let Some(existing) = votes.get(&commitment.node) {
            return Err(if *existing == commitment.header {
                PoolError::Duplicate
            } else {
                PoolError::Equivocation
            });
        }
        votes.insert(commitment.node, commitment.header.clone());
        if is_scheduler && !backup_phase {
            bucket.scheduler_header = Some(commitment.header);
            // The first scheduler to commit arms the timer; a better-ranked one re-arms it.
            if best_before.is_none_or(|best| rank < best) {
                self.timeout = Some(Height(height.0.saturating_add(committee.round_timeout)));
            }
        }
        Ok(())
    }

    /// Evaluates the pool at `height`.
    pub fn check(&mut self, committee: &PoolCommittee, height: Height) -> Verdict {
        if self.decided {
            return Verdict::Pending;
        }
        let timed_out = self.timeout.is_some_and(|t| height >= t);
        let verdict = if self.discrepancy {
            self.resolve(committee, timed_out)
        } else {
            self.detect(committee, height, timed_out)
        };
        if matches!(verdict, Verdict::Finalized(_) | Verdict::Failed) {
            self.decided = true;
        }
        verdict
    }

    /// The best-ranked bucket whose scheduler committed.
    fn best(&self) -> Option<(u64, PublicKey, &Bucket)> {
        self.buckets
            .iter()
            .find(|(_, (_, b))| b.scheduler_header.is_some())
            .map(|(rank, (scheduler, b))| (*rank, *scheduler, b))
    }

    fn detect(&mut self, committee: &PoolCommittee, height: Height, timed_out: bool) -> Verdict {
        // The timer is armed only by a scheduler's commitment, so there is one by then.
        let Some((rank, scheduler, bucket)) = self.best() else { return Verdict::Pending };
        let Some(Some(scheduler_header)) = bucket.scheduler_header.clone() else {
            // Refused by `add`; failing safe should a stored pool hold one.
            return self.declare_discrepancy(committee, height);
        };
        let accepted = scheduler_header.vote();
        let mut agree = Vec::new();
        let mut conflicting = false;
        let mut failures = 0usize;
        for (node, header) in &bucket.primary {
            match vote_of(header) {
                Some(v) if v == accepted => agree.push(*node),
                Some(_) => conflicting = true,
                None => failures += 1,
            }
        }
        let stragglers = usize::from(committee.allowed_stragglers);
        let hopeless = conflicting || failures > stragglers;
        if hopeless {
            return if rank == 0 || timed_out {
                self.declare_discrepancy(committee, height)
            } else {
                Verdict::Pending
            };
        }
        let everyone = bucket.primary.len() >= committee.workers.len();
        let enough = agree.len() >= committee.workers.len().saturating_sub(stragglers);
        if everyone || (timed_out && enough) {
            return Verdict::Finalized(Box::new(Finalization {
                scheduler,
                rank,
                header: scheduler_header,
                good: agree,
                bad: Vec::new(),
                discrepancy: false,
            }));
        }
        if timed_out {
            return self.declare_discrepancy(committee, height);
        }
        Verdict::Pending
    }

    fn declare_discrepancy(&mut self, committee: &PoolCommittee, height: Height) -> Verdict {
        self.discrepancy = true;
        let rearm = committee.round_timeout.saturating_mul(3).div_ceil(2);
        self.timeout = Some(Height(height.0.saturating_add(rearm)));
        Verdict::DiscrepancyDetected
    }

    fn resolve(&mut self, committee: &PoolCommittee, timed_out: bool) -> Verdict {
        let Some((rank, scheduler, bucket)) = self.best() else { return Verdict::Failed };
        let needed = committee.backups.len() / 2 + 1;
        let mut counts: BTreeMap<Vote, usize> = BTreeMap::new();
        for header in bucket.backup.values() {
            *counts.entry(vote_of(header)).or_default() += 1;
        }
        let majority = counts.iter().find(|(_, c)| **c >= needed).map(|(v, _)| *v);
        match majority {
            Some(Some(vote)) => {
                let scheduler_vote = bucket.scheduler_header.as_ref().and_then(vote_of);
                if scheduler_vote != Some(vote) {
                    return Verdict::Failed;
                }
                let Some(Some(header)) = bucket.scheduler_header.clone() else {
                    return Verdict::Failed;
                };
                let mut good = Vec::new();
                let mut bad = Vec::new();
                for (node, h) in bucket.primary.iter().chain(bucket.backup.iter()) {
                    match vote_of(h) {
                        Some(v) if v == vote => good.push(*node),
                        Some(_) => bad.push(*node),
                        None => {}
                    }
                }
                bad.sort();
                bad.dedup();
                // A node that voted wrongly as a worker and rightly as a backup is bad.
                good.retain(|n| !bad.contains(n));
                good.sort();
                good.dedup();
                Verdict::Finalized(Box::new(Finalization {
                    scheduler,
                    rank,
                    header,
                    good,
                    bad,
                    discrepancy: true,
                }))
            }
            // A majority of backups reporting failure cannot finalize anything.
            Some(None) => Verdict::Failed,
            None => {
                let missing = committee.backups.len() - bucket.backup.len();
                let best =
                    counts.iter().filter(|(v, _)| v.is_some()).map(|(_, c)| *c).max().unwrap_or(0);
                if timed_out || best + missing < needed {
                    Verdict::Failed
                } else {
                    Verdict::Pending
                }
            }
        }
    }
}
