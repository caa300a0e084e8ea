//! The round in progress as a pure state machine: what a compute node knows of one runtime
//! round and what it should do next.
//!
//! Inputs come in as plain values — the consensus state after a block (round, committee,
//! commitments on chain, a discrepancy being resolved), signed proposals, the height, the
//! pool's size, the time — and the answers are decisions: keep or refuse a proposal (or
//! report its proposer's equivocation), which batches to execute now, whether to propose,
//! what a backup must do, which executed result a finalized block stores. The node's round
//! machine ([`crate::machine`]) puts them in order and its driver does the I/O (fetching,
//! executing, signing, submitting), so everything here is tested without sockets, runtimes
//! or a clock.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use atoll_consensus::registry::types::TxnSchedulerParameters;
use atoll_consensus::roothash::pool::{CommitmentPool, ComputeResultsHeader, PoolCommittee};
use atoll_consensus::roothash::{
    batch_hash, ExecutorCommitmentBody, HeaderType, ProposalHeader, RuntimeBlockHeader,
    RuntimeState, SignedProposal,
};
use atoll_runtime_host::ExecuteResult;
use atoll_types::{Hash, PublicKey, Round, RuntimeId};

use crate::courier::Courier;
use crate::p2p::Proposal;
use crate::EmptyRounds;

/// A batch this node executed in the round in progress.
pub(crate) struct Executed {
    pub(crate) result: ExecuteResult,
    pub(crate) header: ComputeResultsHeader,
    /// How long executing it took.
    pub(crate) took: Duration,
}

/// What the worker knows about the round in progress.
pub(crate) struct RoundState {
    pub(crate) round: Round,
    pub(crate) previous: RuntimeBlockHeader,
    pub(crate) start_height: u64,
    pub(crate) started: Instant,
    /// Valid proposals by proposer rank.
    pub(crate) proposals: BTreeMap<u64, (Proposal, ProposalHeader, PublicKey)>,
    /// Proposals given up on (missing transactions, invalid), by proposer.
    pub(crate) rejected: BTreeSet<PublicKey>,
    pub(crate) fetch_attempts: BTreeMap<PublicKey, u32>,
    /// Batches executed, by scheduler.
    pub(crate) executed: BTreeMap<PublicKey, Executed>,
    /// Schedulers whose batch this node committed to.
    pub(crate) committed: BTreeSet<PublicKey>,
    pub(crate) proposed: bool,
    /// The scheduler whose batch the backups must execute, once a discrepancy is declared.
    pub(crate) discrepancy: Option<PublicKey>,
    pub(crate) backup_done: bool,
    /// Batches whose execution this node last tried, by scheduler: the consensus height it
    /// tried at (one that failed is tried again at the next block).
    pub(crate) tried: BTreeMap<PublicKey, u64>,
    /// The consensus height at which this node last tried its backup's duty.
    pub(crate) backup_tried: Option<u64>,
    /// The consensus height at which this node last looked for missing proposals.
    pub(crate) fetched_at: Option<u64>,
    /// No proposal before this (a batch that could not be built yet).
    pub(crate) propose_after: Option<Instant>,
    /// The consensus height from which this node had something to propose in the round.
    pub(crate) work_since: Option<u64>,
    /// This node's commitments on their way to the chain.
    pub(crate) courier: Courier,
}

/// What became of a proposal offered for the round in progress.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Kept for the round (`new`: first seen now).
    Kept { new: bool },
    /// Its proposer already proposed a different batch for the round: this signed header
    /// (the one kept) and the offered one are equivocation evidence.
    Equivocation(Box<SignedProposal>),
    /// Not for this round (another runtime, round or parent block) or not by a worker.
    Refused,
}

/// A proposal this node may execute now.
#[derive(Debug)]
pub(crate) struct Executable {
    pub(crate) proposal: Proposal,
    pub(crate) header: ProposalHeader,
    pub(crate) scheduler: PublicKey,
}

/// What a backup worker must do for a round being resolved.
pub(crate) struct BackupDuty {
    pub(crate) scheduler: PublicKey,
    pub(crate) proposal: Proposal,
    pub(crate) header: ProposalHeader,
    /// This node executed the batch as a worker already: its result, to vote with again.
    pub(crate) executed: Option<(ComputeResultsHeader, Vec<atoll_types::RuntimeMessage>)>,
}

/// What a scheduler considers before proposing a batch.
pub(crate) struct ProposeInputs<'a> {
    /// This node's rank among the round's schedulers.
    pub(crate) rank: u64,
    /// The consensus height this node has seen.
    pub(crate) height: u64,
    pub(crate) now: Instant,
    /// Transactions waiting in the ParaTime's pool.
    pub(crate) pooled: usize,
    /// Incoming messages queued for the runtime on chain.
    pub(crate) queued: usize,
    /// Results of runtime messages wait for a round to read them (in the next round's
    /// context or the one after).
    pub(crate) unread_results: bool,
    pub(crate) params: &'a TxnSchedulerParameters,
    pub(crate) empty_rounds: EmptyRounds,
    /// Finalized rounds in a row without transactions.
    pub(crate) empty_streak: u32,
    /// A better-ranked scheduler committed to its own batch on chain.
    pub(crate) better_committed: bool,
}

impl ProposeInputs<'_> {
    /// Whether something waits for a round: transactions, incoming messages or message
    /// results.
    fn waiting(&self) -> bool {
        self.pooled + self.queued > 0 || self.unread_results
    }
}

impl RoundState {
    /// The round after the runtime's latest block, started `now`.
    pub(crate) fn new(state: &RuntimeState, now: Instant) -> Option<Self> {
        Self::after(state.last_block.clone(), state.last_block_height.0, now)
    }

    /// The round after block `previous`, made at consensus height `start_height`.
    pub(crate) fn after(
        previous: RuntimeBlockHeader,
        start_height: u64,
        now: Instant,
    ) -> Option<Self> {
        Some(Self {
            round: previous.round.checked_next()?,
            previous,
            start_height,
            started: now,
            proposals: BTreeMap::new(),
            rejected: BTreeSet::new(),
            fetch_attempts: BTreeMap::new(),
            executed: BTreeMap::new(),
            committed: BTreeSet::new(),
            proposed: false,
            discrepancy: None,
            backup_done: false,
            tried: BTreeMap::new(),
            backup_tried: None,
            fetched_at: None,
            propose_after: None,
            work_since: None,
            courier: Courier::default(),
        })
    }

    /// Whether a proposal of `rank` may be acted on at `height`: rank 0 at once, rank `r`
    /// after `r × propose_batch_timeout` consensus blocks of the round.
    pub(crate) fn rank_allowed(&self, rank: u64, height: u64, propose_batch_timeout: u64) -> bool {
        rank == 0 || height >= turn_height(self.start_height, rank, propose_batch_timeout)
    }

    /// Offers a proposal whose signature was checked (`header` is what it signs, `proposer`
    /// who signed it) to the round: kept if it is by one of the round's workers (`rank`,
    /// from the committee) and builds on the latest runtime block.
    pub(crate) fn admit(
        &mut self,
        runtime: &RuntimeId,
        rank: Option<u64>,
        proposal: Proposal,
        header: ProposalHeader,
        proposer: PublicKey,
    ) -> Admission {
        if header.runtime != *runtime
            || header.round != self.round
            || header.previous_hash != self.previous.hash()
        {
            return Admission::Refused;
        }
        let Some(rank) = rank else { return Admission::Refused };
        match self.proposals.get(&rank) {
            Some((existing, _, _)) if existing.header != proposal.header => {
                Admission::Equivocation(Box::new(existing.header.clone()))
            }
            Some(_) => Admission::Kept { new: false },
            None => {
                self.proposals.insert(rank, (proposal, header, proposer));
                Admission::Kept { new: true }
            }
        }
    }

    /// Whether a scheduler committed on chain (`bodies`: the commitments the pool holds)
    /// to a batch whose proposal this node does not have.
    pub(crate) fn proposal_missing(
        &self,
        mut bodies: impl Iterator<Item = ExecutorCommitmentBody>,
    ) -> bool {
        let known: BTreeSet<PublicKey> = self.proposals.values().map(|(_, _, p)| *p).collect();
        bodies.any(|body| body.round == self.round && !known.contains(&body.scheduler))
    }

    /// Counts one failed try to fetch `proposer`'s transactions; after `limit` tries its
    /// proposal is given up on.
    pub(crate) fn fetch_failed(&mut self, proposer: PublicKey, limit: u32) {
        let attempts = self.fetch_attempts.entry(proposer).or_default();
        *attempts += 1;
        if *attempts >= limit {
            tracing::info!(%proposer, "proposal's transactions unavailable; giving up on it");
            self.rejected.insert(proposer);
        }
    }

    /// The proposals a worker executes now: those not executed, committed to, given up on
    /// or tried at `height` already, whose proposer's turn has come at `height`. One whose
    /// transaction list does not match its signed batch hash is given up on instead.
    pub(crate) fn executable(
        &mut self,
        height: u64,
        propose_batch_timeout: u64,
    ) -> Vec<Executable> {
        let mut ready = Vec::new();
        let mut invalid = Vec::new();
        for (rank, (proposal, header, scheduler)) in &self.proposals {
            if self.executed.contains_key(scheduler)
                || self.rejected.contains(scheduler)
                || self.committed.contains(scheduler)
                || self.tried.get(scheduler) == Some(&height)
                || !self.rank_allowed(*rank, height, propose_batch_timeout)
            {
                continue;
            }
            if batch_hash(&proposal.tx_hashes) != header.batch_hash {
                tracing::info!(proposer = %scheduler, "proposal's batch hash does not match its transactions; rejected");
                invalid.push(*scheduler);
                continue;
            }
            ready.push(Executable {
                proposal: proposal.clone(),
                header: header.clone(),
                scheduler: *scheduler,
            });
        }
        self.rejected.extend(invalid);
        ready
    }

    /// What a backup worker must do now: execute (or vote again on) the batch of the
    /// scheduler a discrepancy was declared on, once, if this node has its proposal.
    pub(crate) fn backup_duty(&self) -> Option<BackupDuty> {
        let scheduler = self.discrepancy?;
        if self.backup_done {
            return None;
        }
        let (_, (proposal, header, _)) =
            self.proposals.iter().find(|(_, (_, _, p))| *p == scheduler)?;
        let executed =
            self.executed.get(&scheduler).map(|e| (e.header.clone(), e.result.messages.clone()));
        Some(BackupDuty { scheduler, proposal: proposal.clone(), header: header.clone(), executed })
    }

    /// Notes that this node has something to propose at `height` ([`Self::has_work`]).
    pub(crate) fn note_work(&mut self, height: u64) {
        self.work_since.get_or_insert(height);
    }

    /// The height the ranks' turns to propose count from, at `height`: the round's start or
    /// when this node first had work in it ([`Self::note_work`]), whichever is later.
    pub(crate) fn turns_from(&self, height: u64) -> u64 {
        self.start_height.max(self.work_since.unwrap_or(height))
    }

    /// Whether there is something to propose: transactions, incoming messages or message
    /// results waiting, or an empty round due.
    pub(crate) fn has_work(&self, inputs: &ProposeInputs<'_>) -> bool {
        inputs.waiting() || self.empty_round_due(inputs)
    }

    /// Idle for the configured interval: the scheduler whose turn it is proposes an empty
    /// batch — the first, or rank r once r proposer timeouts passed without a better-ranked
    /// commitment (the first may be down: the rounds must still come) — unless the
    /// configured number of empty rounds already followed the last batch with transactions.
    fn empty_round_due(&self, inputs: &ProposeInputs<'_>) -> bool {
        let waited = inputs.now.saturating_duration_since(self.started);
        inputs.empty_rounds.interval.is_some_and(|i| waited >= i)
            && inputs.empty_rounds.may_come(inputs.empty_streak)
    }

    /// Whether this node is to propose a batch now. A later rank's turn counts from the
    /// start of the round or from when this node first had something to propose
    /// ([`Self::note_work`]), whichever is later: after an idle spell every rank's turn has
    /// long come, and every scheduler would propose a batch at once.
    pub(crate) fn should_propose(&self, inputs: &ProposeInputs<'_>) -> bool {
        let since = self.turns_from(inputs.height);
        let turn = inputs.rank == 0
            || inputs.height
                >= turn_height(since, inputs.rank, inputs.params.propose_batch_timeout);
        if self.proposed || !turn {
            return false;
        }
        // A better-ranked scheduler that committed on chain makes this proposal unnecessary
        // (one that only published a proposal may be a runaway).
        if inputs.rank > 0 && inputs.better_committed {
            return false;
        }
        let waited = inputs.now.saturating_duration_since(self.started);
        let full = inputs.pooled >= inputs.params.max_batch_size as usize;
        let flushed = waited >= Duration::from_millis(inputs.params.batch_flush_timeout_ms);
        let idle = self.empty_round_due(inputs);
        let work = inputs.waiting();
        (work || idle) && (full || flushed || inputs.rank > 0 || idle)
    }

    /// Marks `scheduler`'s batch as committed to; returns whether this node still has a
    /// commitment to send for it (the first time, or again as a backup's vote).
    pub(crate) fn start_commit(&mut self, scheduler: PublicKey, backup: bool) -> bool {
        self.committed.insert(scheduler) || backup
    }

    /// This node's own result for a finalized `block` of this round, if it executed the
    /// batch the block took (taken: the round is over).
    pub(crate) fn take_result_of(&mut self, block: &RuntimeBlockHeader) -> Option<Executed> {
        let scheduler = self
            .executed
            .iter()
            .find(|(_, e)| {
                e.header.round == block.round
                    && e.result.state_root == block.state_root
                    && e.result.io_root == block.io_root
            })
            .map(|(s, _)| *s)?;
        self.executed.remove(&scheduler)
    }
}

/// The consensus height from which a proposer of `rank` may act, counting from `since`:
/// `propose_batch_timeout` blocks per better rank.
pub(crate) fn turn_height(since: u64, rank: u64, propose_batch_timeout: u64) -> u64 {
    since.saturating_add(rank.saturating_mul(propose_batch_timeout))
}

/// Whether a scheduler ranked better than `rank` (not `me`) committed to its own batch in
/// `round`, among the commitments the pool holds (`(node, body)`).
pub(crate) fn better_scheduler_committed(
    mut bodies: impl Iterator<Item = (PublicKey, ExecutorCommitmentBody)>,
    committee: &PoolCommittee,
    round: Round,
    rank: u64,
    me: &PublicKey,
) -> bool {
    bodies.any(|(node, body)| {
        node != *me
            && body.round == round
            && body.scheduler == node
            && committee.rank(&body.scheduler, round).is_some_and(|r| r < rank)
    })
}

/// The backup that gathers the backups' votes in a discrepancy and submits them in one
/// transaction, so that the round is resolved in one consensus block: the first of the
/// committee's backups. The others gossip their votes to it and submit their own should
/// it not bring them ([`crate::gather::Outbox`]), so a leading backup that is down or
/// withholds delays the resolution and hides nothing.
pub(crate) fn lead_backup(backups: &[PublicKey]) -> Option<PublicKey> {
    backups.first().copied()
}

/// The scheduler whose batch backups must execute in `round`, if its pool is resolving a
/// discrepancy: read from the pool in the state, not from one block's events (the worker
/// may skip heights while busy, and the event is in one height only).
pub(crate) fn resolving_scheduler(
    pool: Option<&CommitmentPool>,
    round: Round,
) -> Option<PublicKey> {
    let pool = pool.filter(|p| p.round() == round && p.in_resolution())?;
    pool.best_scheduler().map(|(_, scheduler)| scheduler)
}

/// The count of finalized rounds in a row without transactions, after `last`: a `Normal`
/// round with an empty I/O tree adds one, one with transactions starts again from zero,
/// any other (an epoch transition, a failed round) leaves it as it was.
pub(crate) fn next_empty_streak(streak: u32, last: &RuntimeBlockHeader) -> u32 {
    match (last.header_type, last.io_root == Hash::ZERO) {
        (HeaderType::Normal, true) => streak.saturating_add(1),
        (HeaderType::Normal, false) => 0,
        _ => streak,
    }
}

#[cfg(test)]
mod tests;
