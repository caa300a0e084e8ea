//! A compute node's part in its runtime's rounds, as one pure state machine: inputs in,
//! effects out.
//!
//! Inputs are plain values: the consensus state after a block ([`Machine::on_block`]), a
//! signed proposal or commitment from the runtime's gossip, the result of an effect (a
//! batch executed, a batch of this node's own proposed, a commitment signed, what the
//! journal held from before a restart), and the time with the pool's size. Out come
//! [`Effect`]s, one at a time ([`Machine::poll`]): fetch the round's proposals, execute a
//! batch, propose one, sign a commitment, gossip or submit commitments, report
//! equivocation. The worker ([`crate::worker`]) is the driver: it carries each effect out
//! (pool, runtime, journal, keys, p2p, chain) and feeds the result back.
//!
//! The decisions themselves are [`crate::round`]'s (which proposal to keep, when to
//! propose, what a backup owes), [`crate::courier`]'s (where a commitment goes) and
//! [`ByzantineMode`]'s; this machine puts them in order, so that a whole round — and what
//! each byzantine mode does to it — plays here without sockets, runtimes or a chain.

use std::collections::{BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use atoll_consensus::registry::types::TxnSchedulerParameters;
use atoll_consensus::roothash::pool::ComputeResultsHeader;
use atoll_consensus::roothash::{
    EquivocationEvidence, ExecutorCommitmentBody, ProposalHeader, RoundContext, RuntimeBlockHeader,
    RuntimeState, SignedCommitment,
};
use atoll_engine::gossip::Verdict;
use atoll_types::{Hash, PublicKey, Round, RuntimeId, RuntimeMessage};

use crate::courier::{Context as CourierContext, Dispatch};
use crate::gather::{Deadline, Pace};
use crate::p2p::Proposal;
use crate::round::{
    better_scheduler_committed, next_empty_streak, resolving_scheduler, Admission, BackupDuty,
    Executable, Executed, ProposeInputs, RoundState,
};
use crate::{ByzantineMode, EmptyRounds};

/// Most incoming messages one batch takes.
const MAX_IN_MSGS_PER_ROUND: usize = 64;
/// Attempts to fetch a proposal's missing transactions before giving up on it.
const FETCH_ATTEMPTS: u32 = 3;
/// Proposals for the round after the one in progress kept before this node can execute
/// them (it has not executed the round in progress yet).
const MAX_FUTURE_PROPOSALS: usize = 8;
/// Wait before proposing again after a batch could not be built (this node's runtime or
/// consensus state still catching up).
const PROPOSE_RETRY: Duration = Duration::from_millis(50);

/// What the machine asks its driver to do.
#[derive(Debug)]
pub(crate) enum Effect {
    /// A round began: look up what this node signed for it before a restart (its
    /// proposal, its commitments) and report it with [`Machine::resumed`].
    Resume { round: Round, previous_hash: Hash },
    /// A scheduler committed on chain to a batch whose proposal this node lacks: ask the
    /// peers for the round's proposals and offer each with [`Machine::proposal`].
    FetchProposals(Round),
    /// Execute `batch` (as a primary worker, or as a `backup` resolving a discrepancy) and
    /// report it with [`Machine::executed`], or [`Machine::fetch_failed`] if its
    /// transactions could not be found (tried again at the next block either way).
    Execute { batch: Executable, backup: bool },
    /// Build a batch of this node's own as `round`'s scheduler of `rank` — up to
    /// `candidates` pooled transactions of at most `max_bytes` in all, and `in_msgs`
    /// incoming messages — execute and sign it, and report it with [`Machine::proposed`]
    /// (or [`Machine::not_proposed`] if it could not be built yet).
    Propose { round: Round, rank: u64, candidates: usize, max_bytes: usize, in_msgs: u32 },
    /// Sign `bodies` (the first is the one to journal; a second is an equivocating mode's)
    /// for the batch of `scheduler` — or re-send the commitment the journal holds for it —
    /// and report them with [`Machine::signed`].
    Commit { scheduler: PublicKey, bodies: Vec<ExecutorCommitmentBody>, backup: bool },
    /// Publish this node's proposal (signed before a restart) again.
    Publish(Proposal),
    /// Report a proposer's two proposals for one round.
    Evidence(EquivocationEvidence),
    /// Gossip or submit commitments ([`crate::courier`]).
    Dispatch(Dispatch),
}

/// The consensus state after a block, as the machine reads it.
pub(crate) struct Block {
    pub(crate) height: u64,
    /// The runtime's scheduling parameters (its descriptor), if it is registered.
    pub(crate) params: Option<TxnSchedulerParameters>,
    /// Incoming messages queued for the runtime.
    pub(crate) queued: usize,
    /// The runtime's roothash state, if it has one.
    pub(crate) state: Option<RuntimeState>,
}

/// What a batch of one round executes on, as the driver builds it.
pub(crate) struct Base<'a> {
    /// The block the round builds on (its hash is the previous hash).
    pub(crate) previous: &'a RuntimeBlockHeader,
    /// The state root this node's storage must hold (the latest finalized round's).
    pub(crate) stored_root: Hash,
    /// The round's context (time, randomness, message results).
    pub(crate) context: &'a RoundContext,
    /// The round in progress, executed and not finalized yet, which this round builds on
    /// (the batch carries its changes).
    pub(crate) pending: Option<&'a Executed>,
    /// Incoming messages the pending round consumes (the batch's come after them).
    pub(crate) in_msgs_skip: u32,
}

/// The round after the one in progress, executed ahead (pipelining): this node executed
/// and committed to the round in progress and knows the block its finalization makes, so
/// the next round builds on that block before the chain has it. Promoted to the round in
/// progress when the block comes, dropped when another does.
struct Ahead {
    /// The block the round in progress makes if the batch of `on` is finalized.
    predicted: RuntimeBlockHeader,
    /// The scheduler of the round in progress whose batch this node executed.
    on: PublicKey,
    round: RoundState,
}

/// One node's view of its runtime's rounds.
pub(crate) struct Machine {
    me: PublicKey,
    runtime: RuntimeId,
    mode: ByzantineMode,
    empty_rounds: EmptyRounds,
    height: u64,
    params: Option<TxnSchedulerParameters>,
    queued: usize,
    state: Option<RuntimeState>,
    round: Option<RoundState>,
    /// The next round, executed ahead.
    ahead: Option<Ahead>,
    /// Proposals for the next round that came before it could be executed ahead.
    future: Vec<(Proposal, ProposalHeader, PublicKey)>,
    /// Finalized rounds in a row without transactions, up to the latest stored.
    empty_streak: u32,
    /// How late the workers' commitments on this node's batches came lately.
    pace: Pace,
    /// Effects decided and not handed out yet.
    queue: VecDeque<Effect>,
}

impl Machine {
    pub(crate) fn new(
        me: PublicKey,
        runtime: RuntimeId,
        mode: ByzantineMode,
        empty_rounds: EmptyRounds,
    ) -> Self {
        Self {
            me,
            runtime,
            mode,
            empty_rounds,
            height: 0,
            params: None,
            queued: 0,
            state: None,
            round: None,
            ahead: None,
            future: Vec::new(),
            empty_streak: 0,
            pace: Pace::default(),
            queue: VecDeque::new(),
        }
    }

    // ---- what the driver reads ----

    pub(crate) fn mode(&self) -> ByzantineMode {
        self.mode
    }

    /// The consensus height last seen.
    pub(crate) fn height(&self) -> u64 {
        self.height
    }

    /// The round in progress and the runtime's state on chain it follows.
    pub(crate) fn round(&self) -> Option<(&RoundState, &RuntimeState)> {
        Some((self.round.as_ref()?, self.state.as_ref()?))
    }

    /// What a batch of `round` executes on: the round in progress, or the one after it
    /// while it is executed ahead.
    pub(crate) fn base(&self, round: Round) -> Option<Base<'_>> {
        let (current, state) = self.round()?;
        if round == current.round {
            return Some(Base {
                previous: &current.previous,
                stored_root: current.previous.state_root,
                context: &state.context,
                pending: None,
                in_msgs_skip: 0,
            });
        }
        let ahead = self.ahead.as_ref().filter(|a| a.round.round == round)?;
        let pending = current.executed.get(&ahead.on)?;
        Some(Base {
            previous: &ahead.predicted,
            stored_root: current.previous.state_root,
            context: &state.next_context,
            pending: Some(pending),
            in_msgs_skip: pending.header.in_msgs_count,
        })
    }

    /// Whether nothing can come due before a transaction enters the pool (`pooled`: its
    /// size now): nothing pooled or queued, no message results unread, no empty round to
    /// come, no commitment on its way to the chain.
    pub(crate) fn idle(&self, pooled: usize) -> bool {
        let Some(round) = self.round.as_ref() else { return true };
        if round.courier.pending() || self.ahead.as_ref().is_some_and(|a| a.round.courier.pending())
        {
            return false;
        }
        pooled + self.queued == 0
            && !self.unread_results()
            && !self.empty_rounds.may_come(self.empty_streak)
    }

    /// Whether results of runtime messages wait for a round to read them: the next round
    /// or the one after it must come, with or without transactions.
    fn unread_results(&self) -> bool {
        self.state.as_ref().is_some_and(|s| {
            !s.context.message_results.is_empty() || !s.next_context.message_results.is_empty()
        })
    }

    // ---- the chain ----

    /// This node's own result for a finalized `block`, if it executed the batch the block
    /// took (taken: the round is over).
    pub(crate) fn take_result_of(&mut self, block: &RuntimeBlockHeader) -> Option<Executed> {
        self.round.as_mut()?.take_result_of(block)
    }

    /// A finalized runtime block was stored (or passed over as not `Normal`).
    pub(crate) fn stored(&mut self, block: &RuntimeBlockHeader) {
        self.empty_streak = next_empty_streak(self.empty_streak, block);
    }

    /// The runtime's state was restored from a checkpoint.
    pub(crate) fn restored(&mut self) {
        self.empty_streak = 0;
    }

    /// The consensus state after a block (once the driver stored the rounds it finalized):
    /// a new round begins if the runtime has a new block; the pool says whether the round
    /// is being resolved; the courier learns what the chain holds.
    pub(crate) fn on_block(&mut self, block: Block, now: Instant) {
        self.height = block.height;
        self.params = block.params;
        self.queued = block.queued;
        let Some(state) = block.state else { return };
        let new_round = self.round.as_ref().is_none_or(|r| r.previous != state.last_block);
        if new_round {
            if let Some(late) = self.round.as_ref().and_then(|r| r.courier.lateness()) {
                self.pace.record(late);
            }
            self.queue.clear();
            match self.ahead.take() {
                // The block this node predicted: the round executed ahead is in progress,
                // with what it did so far (nothing to resume).
                Some(ahead) if ahead.predicted == state.last_block => {
                    tracing::debug!(
                        round = ahead.round.round.0,
                        executed = ahead.round.executed.len(),
                        "the round executed ahead is in progress"
                    );
                    let mut round = ahead.round;
                    round.start_height = state.last_block_height.0;
                    round.courier.round_started(self.height);
                    self.round = Some(round);
                }
                dropped => {
                    if let Some(ahead) = dropped {
                        tracing::debug!(
                            round = ahead.round.round.0,
                            latest = state.last_block.round.0,
                            kind = ?state.last_block.header_type,
                            same_state = ahead.predicted.state_root == state.last_block.state_root,
                            "a block not predicted"
                        );
                    }
                    self.round = RoundState::new(&state, now);
                    if let Some(round) = &self.round {
                        let (round, previous_hash) = (round.round, round.previous.hash());
                        self.queue.push_back(Effect::Resume { round, previous_hash });
                    }
                }
            }
            self.offer_future(&state);
        }
        // The pool itself says whether the round is being resolved (a height skipped while
        // busy cannot hide the event that declared it).
        if let Some(round) = self.round.as_mut() {
            if let Some(scheduler) = resolving_scheduler(state.pool.as_ref(), round.round) {
                round.discrepancy = Some(scheduler);
            }
        }
        self.state = Some(state);
        self.note_landed(now);
        // A round executed ahead comes in progress with this node's commitment signed: the
        // round after it opens ahead now, not at the next commitment this node signs.
        self.open_ahead(now);
    }

    /// What this node signed for the round before a restart (from the journal): its
    /// proposal (`header`: what it signs, if it opens) and its commitments by scheduler. The
    /// proposal is published again, the commitments the chain lacks submitted again, and
    /// nothing is signed anew in their place.
    pub(crate) fn resumed(
        &mut self,
        proposal: Option<(Proposal, Option<ProposalHeader>)>,
        commitments: Vec<(PublicKey, SignedCommitment)>,
    ) {
        let rank = self.my_rank();
        let me = self.me;
        let (Some(round), Some(state)) = (self.round.as_mut(), self.state.as_ref()) else {
            return;
        };
        if let Some((proposal, header)) = proposal {
            round.proposed = true;
            if let (Some(rank), Some(header)) = (rank, header) {
                round.proposals.insert(rank, (proposal.clone(), header, me));
            }
            self.queue.push_back(Effect::Publish(proposal));
        }
        let on_chain: BTreeSet<PublicKey> = state
            .commitment_bodies()
            .filter(|(node, _)| *node == me)
            .map(|(_, body)| body.scheduler)
            .collect();
        for (scheduler, commitment) in commitments {
            round.committed.insert(scheduler);
            if !on_chain.contains(&scheduler) {
                tracing::info!(%scheduler, "re-sending a commitment signed before a restart");
                let send = Dispatch::Submit { commitments: vec![commitment], fallback: false };
                self.queue.push_back(Effect::Dispatch(send));
            }
        }
    }

    // ---- gossip ----

    /// A proposal whose signature was checked (`header`: what it signs, `proposer`: who
    /// signed it): kept for the round if a worker made it on the latest runtime block; a
    /// second, different one by the same proposer is reported as equivocation.
    pub(crate) fn proposal(
        &mut self,
        proposal: Proposal,
        header: ProposalHeader,
        proposer: PublicKey,
    ) -> Admission {
        let (Some(state), Some(current), Some(open)) =
            (self.state.as_ref(), self.round.as_ref(), self.latest_open())
        else {
            return Admission::Refused;
        };
        let Some(committee) = state.committee.as_ref() else { return Admission::Refused };
        let after_next = current.round.checked_next().and_then(Round::checked_next);
        if header.runtime == self.runtime
            && header.round > open
            && after_next.is_some_and(|last| header.round <= last)
        {
            // Kept until this node can execute it ahead (or the round comes): a peer that saw
            // a block first may propose up to two rounds past this node's round in progress.
            let known = self.future.iter().any(|(p, _, _)| p.header == proposal.header);
            let worker = committee.pool.rank(&proposer, header.round).is_some();
            if !worker || known || self.future.len() >= MAX_FUTURE_PROPOSALS {
                return Admission::Refused;
            }
            self.future.push((proposal, header, proposer));
            return Admission::Kept { new: true };
        }
        let Some(round) = round_of(&mut self.round, &mut self.ahead, header.round) else {
            return Admission::Refused;
        };
        let rank = committee.pool.rank(&proposer, round.round);
        let offered = proposal.header.clone();
        let admission = round.admit(&self.runtime, rank, proposal, header, proposer);
        if let Admission::Equivocation(kept) = &admission {
            let evidence = EquivocationEvidence::Proposals((**kept).clone(), offered);
            self.queue.push_back(Effect::Evidence(evidence));
        }
        admission
    }

    /// A commitment gossiped by `node` (its signature checked): handed to the courier,
    /// which gathers it if this node submits it. Forwarded if it is a worker's or a
    /// backup's for the round in progress.
    pub(crate) fn commitment(
        &mut self,
        node: PublicKey,
        body: &ExecutorCommitmentBody,
        signed: SignedCommitment,
        now: Instant,
    ) -> Verdict {
        let me = (self.me, self.height, self.mode.gathers());
        let Some(state) = self.state.as_ref() else { return Verdict::Ignore };
        let Some(round) = round_of(&mut self.round, &mut self.ahead, body.round) else {
            return Verdict::Ignore;
        };
        let Some(committee) = state.committee.as_ref().map(|c| &c.pool) else {
            return Verdict::Ignore;
        };
        let member = committee.workers.contains(&node) || committee.backups.contains(&node);
        if body.runtime != self.runtime || !member {
            return Verdict::Ignore;
        }
        let cx = courier_context(state, round, me, now);
        round.courier.offered(&cx, node, body, signed);
        Verdict::Accept
    }

    // ---- effects' results ----

    /// This node executed `scheduler`'s batch (as a `backup` or a worker): it commits to it.
    pub(crate) fn executed(&mut self, scheduler: PublicKey, backup: bool, executed: Executed) {
        let Some(round) = round_of(&mut self.round, &mut self.ahead, executed.header.round) else {
            return;
        };
        let header = executed.header.clone();
        let messages =
            if scheduler == self.me { executed.result.messages.clone() } else { Vec::new() };
        round.executed.insert(scheduler, executed);
        if backup {
            round.backup_done = true;
        }
        let round = header.round;
        self.commit(round, scheduler, Some(header), messages, backup);
    }

    /// `scheduler`'s transactions could not be found (in the pool nor from peers): one try
    /// of [`FETCH_ATTEMPTS`] counted.
    pub(crate) fn fetch_failed(&mut self, scheduler: PublicKey) {
        if let Some(round) = self.round.as_mut() {
            round.fetch_failed(scheduler, FETCH_ATTEMPTS);
        }
    }

    /// This node proposed `proposal` (`header`: what it signs) as the scheduler of `rank`
    /// and executed it: it commits to it.
    pub(crate) fn proposed(
        &mut self,
        rank: u64,
        proposal: Proposal,
        header: ProposalHeader,
        executed: Executed,
    ) {
        let me = self.me;
        let Some(round) = round_of(&mut self.round, &mut self.ahead, header.round) else { return };
        round.proposals.insert(rank, (proposal, header, me));
        self.executed(me, false, executed);
    }

    /// A batch of this node's own could not be built yet (its runtime or consensus state is
    /// catching up): proposing is tried again shortly.
    pub(crate) fn not_proposed(&mut self, round: Round, now: Instant) {
        if let Some(round) = round_of(&mut self.round, &mut self.ahead, round) {
            round.proposed = false;
            round.propose_after = Some(now + PROPOSE_RETRY);
        }
    }

    /// This node's commitments on `scheduler`'s batch, signed (`resent`: the one the journal
    /// held, signed before): on their way, as the courier routes them — or straight on chain
    /// one by one for an equivocating node, so that the chain sees both.
    pub(crate) fn signed(
        &mut self,
        scheduler: PublicKey,
        signed: Vec<SignedCommitment>,
        backup: bool,
        resent: bool,
        now: Instant,
    ) {
        let straight = (resent && !backup) || (!resent && self.mode == ByzantineMode::Equivocation);
        if straight {
            for commitment in signed {
                let send = Dispatch::Submit { commitments: vec![commitment], fallback: false };
                self.queue.push_back(Effect::Dispatch(send));
            }
            return;
        }
        let Some(first) = signed.into_iter().next() else { return };
        let Ok(number) = first.decode_verified_elsewhere().map(|b| b.round) else { return };
        let ahead = self.round.as_ref().is_some_and(|r| r.round != number);
        let rank = self.my_rank_in(number).unwrap_or(0);
        let timeout = self.propose_batch_timeout();
        let Some(state) = self.state.as_ref() else { return };
        let Some(round) = round_of(&mut self.round, &mut self.ahead, number) else { return };
        let took = round.executed.get(&scheduler).map_or(Duration::ZERO, |e| e.took);
        let cx = courier_context(state, round, (self.me, self.height, self.mode.gathers()), now);
        let sends = if backup {
            round.courier.backup_vote(&cx, scheduler, first, took)
        } else if scheduler == self.me {
            // After an idle spell the next rank's turn counts from the first work, as the
            // proposals' turns do (from the round's start it would long have come).
            let turn = (round.turns_from(self.height), rank, timeout);
            let mut deadline = Deadline::new(now, self.pace.wait(took), self.height, turn);
            if ahead {
                // No block counts until the round is in progress (`round_started`).
                deadline.height = u64::MAX;
            }
            round.courier.own_batch(&cx, first, deadline)
        } else {
            round.courier.for_scheduler(&cx, scheduler, first, took)
        };
        self.queue.extend(sends.into_iter().map(Effect::Dispatch));
        // The node that gathers it may have submitted without it already.
        self.note_landed(now);
        self.open_ahead(now);
    }

    // ---- what is next ----

    /// The next effect, given the time and how many transactions the pool holds; `None`
    /// once nothing more is to be done now.
    pub(crate) fn poll(&mut self, now: Instant, pooled: usize) -> Option<Effect> {
        if self.queue.is_empty() {
            self.decide(now, pooled);
        }
        self.queue.pop_front()
    }

    /// Queues the next thing to do: fetch missing proposals, execute a batch, do a backup's
    /// duty, propose, or send what the courier says is due.
    fn decide(&mut self, now: Instant, pooled: usize) {
        self.fetch();
        if self.queue.is_empty() {
            self.execute();
        }
        if self.queue.is_empty() {
            self.backup();
        }
        if self.queue.is_empty() {
            self.propose(now, pooled);
        }
        if !self.queue.is_empty() {
            return;
        }
        let me = (self.me, self.height, self.mode.gathers());
        if let (Some(state), Some(round)) = (self.state.as_ref(), self.round.as_mut()) {
            let cx = courier_context(state, round, me, now);
            self.queue.extend(round.courier.due(&cx).into_iter().map(Effect::Dispatch));
        }
        if self.queue.is_empty() {
            self.decide_ahead(now, pooled);
        }
    }

    // ---- the next round, ahead ----

    /// Opens the next round ahead once this node (an honest primary worker) executed and
    /// committed to a batch of the round in progress and no discrepancy is declared: it
    /// builds on the block that batch's finalization makes. The best-ranked such batch is
    /// the one the chain finalizes first.
    fn open_ahead(&mut self, now: Instant) {
        if self.mode != ByzantineMode::Honest || self.my_rank().is_none() {
            return;
        }
        let (Some(state), Some(round)) = (self.state.as_ref(), self.round.as_ref()) else {
            return;
        };
        let Some(committee) = state.committee.as_ref() else { return };
        if round.discrepancy.is_some() {
            return;
        }
        let best = round
            .executed
            .iter()
            .filter(|(scheduler, _)| round.committed.contains(*scheduler))
            .filter_map(|(s, e)| Some((committee.pool.rank(s, round.round)?, *s, e)))
            .min_by_key(|(rank, _, _)| *rank);
        let Some((_, on, executed)) = best else { return };
        let predicted =
            RuntimeBlockHeader::normal(self.runtime, &executed.header, state.context.time);
        if self.ahead.as_ref().is_some_and(|a| a.predicted == predicted) {
            return;
        }
        let Some(next) = RoundState::after(predicted.clone(), self.height, now) else { return };
        tracing::debug!(round = next.round.0, "executing the next round ahead");
        self.ahead = Some(Ahead { predicted, on, round: next });
        if let Some(state) = self.state.take() {
            self.offer_future(&state);
            self.state = Some(state);
        }
    }

    /// The latest round open here: the one ahead, or else the one in progress.
    fn latest_open(&self) -> Option<Round> {
        self.ahead.as_ref().map(|a| a.round.round).or(self.round.as_ref().map(|r| r.round))
    }

    /// Offers the proposals kept for a later round to the rounds now open; keeps those
    /// still for a later one.
    fn offer_future(&mut self, state: &RuntimeState) {
        let Some(committee) = state.committee.as_ref() else {
            self.future.clear();
            return;
        };
        let open = self.latest_open();
        for (proposal, header, proposer) in std::mem::take(&mut self.future) {
            if open.is_none_or(|open| header.round > open) {
                self.future.push((proposal, header, proposer));
                continue;
            }
            // One for a round past is dropped.
            let Some(round) = round_of(&mut self.round, &mut self.ahead, header.round) else {
                continue;
            };
            let rank = committee.pool.rank(&proposer, round.round);
            // Equivocation is reported once the proposals reach the round in progress.
            let _ = round.admit(&self.runtime, rank, proposal, header, proposer);
        }
    }

    /// The next round's work while it is ahead: execute its first-ranked proposal, propose
    /// it as its first-ranked scheduler, and send what its courier says is due.
    fn decide_ahead(&mut self, now: Instant, pooled: usize) {
        let height = self.height;
        let me = (self.me, height, self.mode.gathers());
        let rank = self.ahead.as_ref().and_then(|a| self.my_rank_in(a.round.round));
        let params = self.params;
        let queued = self.queued;
        let (Some(state), Some(ahead)) = (self.state.as_ref(), self.ahead.as_mut()) else {
            return;
        };
        let round = &mut ahead.round;
        if let Some(batch) = round.executable(height, 1).into_iter().find(|b| {
            state.committee.as_ref().and_then(|c| c.pool.rank(&b.scheduler, round.round)) == Some(0)
        }) {
            round.tried.insert(batch.scheduler, height);
            self.queue.push_back(Effect::Execute { batch, backup: false });
            return;
        }
        if let (Some(0), Some(params), true) = (rank, params, self.mode.proposes()) {
            let Some(current) = self.round.as_ref() else { return };
            // What the pending round takes is not this round's work: its incoming messages,
            // and its transactions (still pooled until its block comes).
            let consumed =
                current.executed.get(&ahead.on).map_or(0, |e| e.header.in_msgs_count as usize);
            let queued = queued.saturating_sub(consumed);
            let pending_txs = current
                .proposals
                .values()
                .find(|(_, _, proposer)| *proposer == ahead.on)
                .map_or(0, |(proposal, _, _)| proposal.tx_hashes.len());
            let pooled = pooled.saturating_sub(pending_txs);
            // Transactions for this batch have gathered since the pending round's batch was
            // cut, which was after that round started: its flush timeout counts from there.
            let waited = now.saturating_duration_since(current.started);
            let full = pooled >= params.max_batch_size as usize;
            let flushed = waited >= Duration::from_millis(params.batch_flush_timeout_ms);
            let retry = round.propose_after.is_some_and(|at| now < at);
            if !round.proposed && !retry && pooled + queued > 0 && (full || flushed) {
                round.proposed = true;
                self.queue.push_back(Effect::Propose {
                    round: round.round,
                    rank: 0,
                    candidates: (params.max_batch_size as usize).saturating_mul(2),
                    max_bytes: params.max_batch_size_bytes as usize,
                    in_msgs: queued.min(MAX_IN_MSGS_PER_ROUND) as u32,
                });
                return;
            }
        }
        let cx = courier_context(state, round, me, now);
        self.queue.extend(round.courier.due(&cx).into_iter().map(Effect::Dispatch));
    }

    /// Once per block: the round's proposals, if a scheduler committed on chain to a batch
    /// whose proposal this node (a worker, or a backup in a discrepancy) lacks.
    fn fetch(&mut self) {
        let involved = self.my_rank().is_some()
            || (self.is_backup() && self.round.as_ref().is_some_and(|r| r.discrepancy.is_some()));
        let (Some(state), Some(round)) = (self.state.as_ref(), self.round.as_mut()) else {
            return;
        };
        if !involved || round.fetched_at == Some(self.height) {
            return;
        }
        round.fetched_at = Some(self.height);
        if round.proposal_missing(state.commitment_bodies().map(|(_, body)| body)) {
            self.queue.push_back(Effect::FetchProposals(round.round));
        }
    }

    /// A worker executes every acceptable proposal once (tried once per block).
    fn execute(&mut self) {
        if self.my_rank().is_none() {
            return;
        }
        let (height, timeout) = (self.height, self.propose_batch_timeout());
        let Some(round) = self.round.as_mut() else { return };
        if let Some(batch) = round.executable(height, timeout).into_iter().next() {
            round.tried.insert(batch.scheduler, height);
            self.queue.push_back(Effect::Execute { batch, backup: false });
        }
    }

    /// A backup executes the scheduler's batch once a discrepancy is declared (tried once
    /// per block), or votes again with the result it has as a worker.
    fn backup(&mut self) {
        if !self.is_backup() {
            return;
        }
        let height = self.height;
        let Some(round) = self.round.as_mut() else { return };
        if round.backup_tried == Some(height) {
            return;
        }
        let Some(BackupDuty { scheduler, proposal, header, executed }) = round.backup_duty() else {
            return;
        };
        round.backup_tried = Some(height);
        match executed {
            // A node that is both worker and backup executed (and signed) this batch
            // already: the commitment the journal holds is sent again.
            Some((results, messages)) => {
                round.backup_done = true;
                let round = round.round;
                self.commit(round, scheduler, Some(results), messages, true);
            }
            None => {
                let batch = Executable { proposal, header, scheduler };
                self.queue.push_back(Effect::Execute { batch, backup: true });
            }
        }
    }

    /// The round's scheduler of this node's rank proposes when its turn and its batch have
    /// come.
    fn propose(&mut self, now: Instant, pooled: usize) {
        if !self.mode.proposes() {
            return;
        }
        let (Some(rank), Some(params)) = (self.my_rank(), self.params) else { return };
        let inputs = ProposeInputs {
            rank,
            height: self.height,
            now,
            pooled,
            queued: self.queued,
            unread_results: self.unread_results(),
            params: &params,
            empty_rounds: self.empty_rounds,
            empty_streak: self.empty_streak,
            better_committed: rank > 0 && self.better_scheduler_committed(rank),
        };
        let Some(round) = self.round.as_mut() else { return };
        if round.has_work(&inputs) {
            round.note_work(self.height);
        }
        if round.propose_after.is_some_and(|at| now < at) || !round.should_propose(&inputs) {
            return;
        }
        round.proposed = true;
        self.queue.push_back(Effect::Propose {
            round: round.round,
            rank,
            // Twice the batch size in candidates: the runtime leaves out what fails to
            // authenticate and keeps filling from the rest, up to the batch limits.
            candidates: (params.max_batch_size as usize).saturating_mul(2),
            max_bytes: params.max_batch_size_bytes as usize,
            in_msgs: self.queued.min(MAX_IN_MSGS_PER_ROUND) as u32,
        });
    }

    /// Queues the signing of this node's commitment on `scheduler`'s batch (the bodies its
    /// byzantine mode signs), once per round and batch — again only as a backup's vote,
    /// which the driver re-sends from the journal, never signed anew.
    fn commit(
        &mut self,
        round: Round,
        scheduler: PublicKey,
        header: Option<ComputeResultsHeader>,
        messages: Vec<RuntimeMessage>,
        backup: bool,
    ) {
        if !self.mode.commits() {
            return;
        }
        let Some(round) = round_of(&mut self.round, &mut self.ahead, round) else { return };
        if !round.start_commit(scheduler, backup) {
            return;
        }
        let own_batch = scheduler == self.me;
        let honest = ExecutorCommitmentBody {
            runtime: self.runtime,
            round: round.round,
            scheduler,
            header,
            messages: if own_batch { messages } else { Vec::new() },
        };
        let bodies = self.mode.commitment_bodies(honest, own_batch);
        self.queue.push_back(Effect::Commit { scheduler, bodies, backup });
    }

    /// Tells the courier what the chain holds of the round.
    fn note_landed(&mut self, now: Instant) {
        let (Some(state), Some(round)) = (self.state.as_ref(), self.round.as_mut()) else {
            return;
        };
        let me = (self.me, self.height, self.mode.gathers());
        let cx = courier_context(state, round, me, now);
        round.courier.on_chain(&cx, state.commitment_bodies(), state.pool.as_ref());
        if let Some(ahead) = self.ahead.as_mut() {
            // The chain holds the next round's commitments until this one is decided.
            let held = state
                .early_commitments
                .iter()
                .filter_map(|c| Some((*c.signer(), c.decode_verified_elsewhere().ok()?)));
            let cx = courier_context(state, &ahead.round, me, now);
            ahead.round.courier.on_chain(&cx, held, None);
        }
    }

    // ---- the committee ----

    fn my_rank(&self) -> Option<u64> {
        self.my_rank_in(self.round.as_ref()?.round)
    }

    fn my_rank_in(&self, round: Round) -> Option<u64> {
        self.state.as_ref()?.committee.as_ref()?.pool.rank(&self.me, round)
    }

    fn is_backup(&self) -> bool {
        self.state
            .as_ref()
            .and_then(|s| s.committee.as_ref())
            .is_some_and(|c| c.pool.backups.contains(&self.me))
    }

    /// Consensus blocks each rank waits for the better-ranked proposers.
    fn propose_batch_timeout(&self) -> u64 {
        self.params.as_ref().map_or(1, |p| p.propose_batch_timeout)
    }

    /// Whether a scheduler ranked better than `rank` committed to its own batch on chain.
    fn better_scheduler_committed(&self, rank: u64) -> bool {
        let (Some(state), Some(round)) = (self.state.as_ref(), self.round.as_ref()) else {
            return false;
        };
        let Some(committee) = state.committee.as_ref() else { return false };
        better_scheduler_committed(
            state.commitment_bodies(),
            &committee.pool,
            round.round,
            rank,
            &self.me,
        )
    }
}

/// The round numbered `number`: the one in progress or the one ahead of it.
fn round_of<'a>(
    current: &'a mut Option<RoundState>,
    ahead: &'a mut Option<Ahead>,
    number: Round,
) -> Option<&'a mut RoundState> {
    match current {
        Some(round) if round.round == number => Some(round),
        _ => ahead.as_mut().map(|a| &mut a.round).filter(|r| r.round == number),
    }
}

/// What the courier needs to know of the round in progress, from the consensus state after
/// the latest block; `(me, height, gathers)` are this node's.
fn courier_context<'a>(
    state: &'a RuntimeState,
    round: &RoundState,
    (me, height, gathers): (PublicKey, u64, bool),
    now: Instant,
) -> CourierContext<'a> {
    let committee = state.committee.as_ref().map(|c| &c.pool);
    CourierContext {
        me,
        round: round.round,
        height,
        now,
        workers: committee.map_or(&[], |c| &c.workers[..]),
        backups: committee.map_or(&[], |c| &c.backups[..]),
        discrepancy: round.discrepancy,
        gathers,
    }
}

#[cfg(test)]
mod tests;
