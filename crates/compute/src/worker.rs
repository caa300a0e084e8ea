//! The driver of a compute node's part in its runtime's rounds: follows consensus blocks
//! and runtime gossip, feeds them to the round machine ([`crate::machine`]) and carries out
//! the effects it returns — fetching, executing, signing, submitting — then stores the
//! rounds the chain finalizes.
//!
//! Everything decided is driven by the consensus state after each block (the round in
//! progress, the committee, the incoming-message queue, discrepancy events) and by signed
//! proposals and commitments from the p2p network; wall-clock time only paces the
//! proposer's batching and the commitments' gathering.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use atoll_consensus::roothash::pool::ComputeResultsHeader;
use atoll_consensus::roothash::{
    self, Evidence, ExecutorCommit, ExecutorCommitmentBody, HeaderType, ProposalHeader,
    RuntimeBlockHeader, RuntimeState, SignedCommitment,
};
use atoll_consensus::{registry, Fee, Transaction};
use atoll_runtime_host::{
    ExecuteBatch, ExecuteResult, ExecutionMode, IncomingMessage, PendingRound,
};
use atoll_types::runtime_message::{in_messages_hash, messages_hash};
use atoll_types::{Address, Hash, PublicKey, Round, Signed, Signer};
use tokio::sync::mpsc;

use atoll_engine::gossip::Verdict;

use crate::courier::Dispatch;
use crate::journal::Journal;
use crate::machine::{Block, Effect, Machine};
use crate::p2p::{FetchRequest, FetchResponse, GossipMessage, P2p, Proposal, Received};
use crate::round::{Admission, Executable, Executed};
use crate::storage::{io_transactions, RoundWriteLogs};
use crate::{state_at, ComputeError, Shared};

/// Most pooled transactions re-checked after a round.
const RECHECK_LIMIT: usize = 1_000;
/// Tries without write logs for a round older than the latest before it counts as lost.
const MISSING_LOGS_LIMIT: u32 = 3;
/// Wait after a restore from a checkpoint that failed.
const RESTORE_RETRY: Duration = Duration::from_secs(2);
/// How often the proposer reconsiders its batch, and a scheduler or worker its
/// commitments on their way to the chain.
const TICK: Duration = Duration::from_millis(50);
/// How often an idle worker looks (nothing pooled or queued, no empty round to come, no
/// commitment on its way): a transaction entering the pool wakes it at once, so this only
/// bounds what the idle check cannot see.
const IDLE_TICK: Duration = Duration::from_millis(500);
/// Most proposals taken from one peer's answer to a fetch.
const FETCHED_PROPOSALS: usize = 64;

/// The compute worker of one node.
pub(crate) struct Worker {
    shared: Arc<Shared>,
    p2p: P2p,
    identity: Arc<dyn Signer + Send + Sync>,
    fee: Fee,
    /// The latest runtime round this node has processed (stored if it was `Normal`).
    synced: Round,
    /// What this node signed in the round in progress, on disk.
    journal: Journal,
    /// The round logic this worker drives.
    machine: Machine,
    /// What this node knows of replaying the rounds it lacks (or restoring instead).
    catch_up: CatchUp,
}

/// Whether a lagging node replays rounds or restores from a checkpoint.
#[derive(Default)]
struct CatchUp {
    /// A round this node lacks cannot be replayed: its block left the consensus state, or
    /// no peer had its write logs for [`MISSING_LOGS_LIMIT`] tries.
    unreplayable: bool,
    /// Tries in a row that found no write logs for a round before the latest.
    missing_logs: u32,
    /// No restore before this (after one that failed).
    next_restore: Option<Instant>,
}

/// Whether a node `behind` rounds restores the latest round's state from a checkpoint:
/// when the rounds it lacks cannot be replayed, or it is more than `limit` behind (`0`: no
/// limit).
fn restore_instead(behind: u64, unreplayable: bool, limit: u64) -> bool {
    behind > 0 && (unreplayable || (limit > 0 && behind > limit))
}

fn state_err(e: impl std::fmt::Display) -> ComputeError {
    ComputeError::State(e.to_string())
}

impl Worker {
    pub(crate) fn new(
        shared: Arc<Shared>,
        p2p: P2p,
        identity: Arc<dyn Signer + Send + Sync>,
        fee: Fee,
        journal: Journal,
    ) -> Result<Self, ComputeError> {
        let synced = Round(shared.storage().latest()?.version);
        let machine =
            Machine::new(identity.public_key(), shared.runtime, shared.mode, shared.empty_rounds);
        Ok(Self {
            shared,
            p2p,
            identity,
            fee,
            synced,
            journal,
            machine,
            catch_up: CatchUp::default(),
        })
    }

    pub(crate) async fn run(mut self, mut gossip: mpsc::Receiver<Received>) {
        let mut status = self.shared.node.subscribe();
        let shared = Arc::clone(&self.shared);
        let mut next_tick = tokio::time::Instant::now();
        loop {
            let idle = self.idle();
            tokio::select! {
                changed = status.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    let height = status.borrow_and_update().height;
                    if let Err(e) = self.on_height(height).await {
                        tracing::warn!(error = %e, height, "compute worker");
                    }
                }
                received = gossip.recv() => {
                    let Some(Received { message, ticket }) = received else { break };
                    let verdict = self.on_gossip(message);
                    self.p2p.report(ticket, verdict);
                }
                () = shared.pool_filled.notified(), if idle => {
                    // A transaction to propose: look now.
                    next_tick = tokio::time::Instant::now();
                    continue;
                }
                () = tokio::time::sleep_until(next_tick) => {
                    let every = if self.idle() { IDLE_TICK } else { TICK };
                    next_tick = tokio::time::Instant::now() + every;
                }
            }
            self.drive().await;
            if !self.idle() {
                next_tick = next_tick.min(tokio::time::Instant::now() + TICK);
            }
        }
    }

    fn pooled(&self) -> usize {
        self.shared.pool.lock().map_or(0, |p| p.len())
    }

    /// Whether nothing can come due here before a transaction enters the pool.
    fn idle(&self) -> bool {
        self.machine.idle(self.pooled())
    }

    /// Carries out the machine's effects until it has none left for now.
    async fn drive(&mut self) {
        loop {
            let pooled = self.pooled();
            let Some(effect) = self.machine.poll(Instant::now(), pooled) else { return };
            if let Err(e) = self.perform(effect).await {
                tracing::warn!(error = %e, "compute worker");
            }
        }
    }

    /// Carries out one effect and feeds its result back to the machine.
    async fn perform(&mut self, effect: Effect) -> Result<(), ComputeError> {
        match effect {
            Effect::Resume { round, previous_hash } => {
                let Some(signed) = self.journal.round(round, previous_hash).cloned() else {
                    return Ok(());
                };
                let chain = self.shared.node.chain_context();
                let proposal = signed.proposal.map(|p| {
                    let header = p.header.open(&chain).ok();
                    (p, header)
                });
                self.machine.resumed(proposal, signed.commitments);
            }
            Effect::FetchProposals(round) => {
                for answer in self.p2p.fetch(FetchRequest::Proposals(round)).await {
                    if let FetchResponse::Proposals(proposals) = answer {
                        for proposal in proposals.into_iter().take(FETCHED_PROPOSALS) {
                            self.offer_proposal(proposal);
                        }
                    }
                }
            }
            Effect::Execute { batch, backup } => self.execute(batch, backup).await?,
            Effect::Propose { round, rank, candidates, max_bytes, in_msgs } => {
                self.propose(round, rank, (candidates, max_bytes), in_msgs).await?
            }
            Effect::Commit { scheduler, bodies, backup } => self.sign(scheduler, bodies, backup)?,
            Effect::Publish(proposal) => {
                if let Some((round, _)) = self.machine.round() {
                    self.shared.remember_proposal(round.round, &proposal);
                }
                self.p2p.publish(GossipMessage::Proposal(proposal));
            }
            Effect::Evidence(evidence) => {
                let evidence = Evidence { runtime: self.shared.runtime, evidence };
                self.submit_consensus(roothash::EVIDENCE, &evidence, 0)?;
            }
            Effect::Dispatch(Dispatch::Gossip(signed)) => {
                self.p2p.publish(GossipMessage::Commitment(signed))
            }
            Effect::Dispatch(Dispatch::Submit { commitments, fallback }) => {
                if fallback {
                    tracing::info!(
                        round = self.machine.round().map_or(0, |(r, _)| r.round.0),
                        "the commitment did not reach the chain through the node that gathers it; submitting it"
                    );
                }
                self.submit_commitments(commitments)?;
            }
        }
        Ok(())
    }

    // ---- following the chain ----

    async fn on_height(&mut self, height: u64) -> Result<(), ComputeError> {
        if height <= self.machine.height() {
            return Ok(());
        }
        let runtime = self.shared.runtime;
        let (params, queued, state) = {
            let tree = state_at(&self.shared.node, height)?;
            let descriptor = registry::runtime(&tree, &runtime).map_err(state_err)?;
            let queued = roothash::incoming_queue_len(&tree, &runtime).map_err(state_err)?;
            let state = roothash::runtime_state(&tree, &runtime).map_err(state_err)?;
            (descriptor.map(|d| d.txn_scheduler), queued, state)
        };
        if let Some(state) = &state {
            self.sync_blocks(state, height).await?;
        }
        self.machine.on_block(Block { height, params, queued, state }, Instant::now());
        Ok(())
    }

    /// Stores every `Normal` round finalized since the last one processed: this node's own
    /// results if they match, otherwise write logs from peers, verified against the block.
    async fn sync_blocks(&mut self, state: &RuntimeState, height: u64) -> Result<(), ComputeError> {
        let last = state.last_block.round;
        if self.synced < last && self.restore_wanted(last)? {
            return self.restore_checkpoint(&state.last_block).await;
        }
        while self.synced < last {
            let next = Round(self.synced.0 + 1);
            let block = if next == last {
                Some(state.last_block.clone())
            } else {
                let tree = state_at(&self.shared.node, height)?;
                roothash::block(&tree, &self.shared.runtime, next).map_err(state_err)?
            };
            let stored = self.shared.storage().latest()?.version;
            let Some(block) = block else {
                // Pruned from the consensus state: what this node already stores needs
                // nothing more; a round it lacks cannot be replayed any more.
                if stored < next.0 {
                    tracing::info!(round = next.0, "the round left the consensus state");
                    self.catch_up.unreplayable = true;
                    return Ok(());
                }
                self.synced = next;
                continue;
            };
            if block.header_type == HeaderType::Normal
                && stored < block.round.0
                && !self.store_round(&block).await?
            {
                tracing::debug!(round = block.round.0, "write logs not available yet");
                if next < last {
                    self.catch_up.missing_logs += 1;
                    self.catch_up.unreplayable |= self.catch_up.missing_logs >= MISSING_LOGS_LIMIT;
                }
                return Ok(());
            }
            self.catch_up.missing_logs = 0;
            self.synced = next;
            self.machine.stored(&block);
        }
        Ok(())
    }

    /// Whether to restore the state of round `last` from a checkpoint rather than replay:
    /// the rounds this node lacks cannot be replayed, or it is further behind than
    /// configured.
    fn restore_wanted(&self, last: Round) -> Result<bool, ComputeError> {
        if self.catch_up.next_restore.is_some_and(|at| Instant::now() < at) {
            return Ok(false);
        }
        let behind = last.0.saturating_sub(self.shared.storage().latest()?.version);
        Ok(restore_instead(behind, self.catch_up.unreplayable, self.shared.state_sync_behind))
    }

    /// Restores the state after `block` from peers' checkpoints and goes on from there.
    async fn restore_checkpoint(&mut self, block: &RuntimeBlockHeader) -> Result<(), ComputeError> {
        tracing::info!(
            round = block.round.0,
            stored = self.shared.storage().latest()?.version,
            "restoring the runtime state from a checkpoint instead of replaying"
        );
        let restored = match crate::checkpoint::restore(&self.shared, &self.p2p, block).await {
            Ok(restored) => restored,
            Err(error) => {
                tracing::warn!(round = block.round.0, %error, "restoring from a checkpoint");
                false
            }
        };
        if !restored {
            self.catch_up.next_restore = Some(Instant::now() + RESTORE_RETRY);
            return Ok(());
        }
        self.catch_up = CatchUp::default();
        self.synced = block.round;
        self.machine.restored();
        self.shared.executed.prune(block.round);
        self.recheck_pool();
        Ok(())
    }

    /// Writes an executed result to disk before this node commits to it (`executed`).
    fn keep_executed(
        &self,
        header: &ComputeResultsHeader,
        result: &ExecuteResult,
    ) -> Result<(), ComputeError> {
        self.shared.executed.save(
            header.round,
            (&result.state_write_log, result.state_root),
            (&result.io_write_log, result.io_root),
        )
    }

    async fn store_round(&mut self, block: &RuntimeBlockHeader) -> Result<bool, ComputeError> {
        // This node's own results for the round, if they are the finalized ones (taken: the
        // round is over).
        let own = self.machine.take_result_of(block);
        let mut candidates = Vec::new();
        if let Some(own) = own {
            candidates.push(RoundWriteLogs {
                round: block.round,
                state: own.result.state_write_log,
                io: own.result.io_write_log,
            });
        } else if let Some(kept) =
            self.shared.executed.find(block.round, &block.state_root, &block.io_root)
        {
            tracing::info!(
                round = block.round.0,
                "storing the round from this node's result kept on disk"
            );
            candidates.push(kept);
        } else {
            for answer in self.p2p.fetch(FetchRequest::WriteLogs(block.round)).await {
                if let FetchResponse::WriteLogs(Some(logs)) = answer {
                    if logs.round == block.round {
                        candidates.push(logs);
                    }
                }
            }
        }
        for logs in candidates {
            let hashes = io_transactions(&logs.io);
            let (round, state_root, io_root) = (block.round, block.state_root, block.io_root);
            let shared = self.shared.clone();
            let stored = tokio::task::spawn_blocking(move || {
                let storage = shared.storage();
                storage.commit_round(round, &logs, state_root, io_root)?;
                // What falls out of the retained window goes with the round that pushed it.
                match shared.retention.prune(storage, round.0) {
                    Ok(removed) if removed.versions > 0 => {
                        tracing::debug!(round = round.0, ?removed, "old rounds pruned")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, round = round.0, "pruning old rounds"),
                }
                Ok::<_, atoll_mkvs::MkvsError>(())
            })
            .await
            .map_err(|e| ComputeError::Internal(e.to_string()))?;
            match stored {
                Ok(()) => {
                    self.shared.executed.prune(block.round);
                    self.finalized_transactions(block.round, hashes);
                    self.recheck_pool();
                    return Ok(true);
                }
                Err(e) => tracing::warn!(error = %e, round = block.round.0, "write logs refused"),
            }
        }
        Ok(false)
    }

    /// A finalized round's transactions leave the pool and enter the lookup index.
    fn finalized_transactions(&self, round: Round, hashes: Vec<Hash>) {
        if let Ok(mut pool) = self.shared.pool.lock() {
            for hash in &hashes {
                pool.remove_finalized(hash);
            }
        }
        if let Ok(mut index) = self.shared.index.lock() {
            for hash in hashes {
                index.insert(hash, round);
            }
        }
    }

    /// After a round, drops pooled transactions the new state makes invalid (e.g. a nonce
    /// another transaction used), checking at most [`RECHECK_LIMIT`] of them in the
    /// background (the worker loop does not wait for it).
    fn recheck_pool(&self) {
        let shared = self.shared.clone();
        tokio::spawn(async move {
            let pending: Vec<(Hash, Vec<u8>)> = match shared.pool.lock() {
                Ok(pool) => pool.all().into_iter().take(RECHECK_LIMIT).collect(),
                Err(_) => return,
            };
            if pending.is_empty() {
                return;
            }
            let txs: Vec<Vec<u8>> = pending.iter().map(|(_, raw)| raw.clone()).collect();
            let Ok(outcomes) = shared.check_all(txs).await else { return };
            if let Ok(mut pool) = shared.pool.lock() {
                for ((hash, _), outcome) in pending.iter().zip(outcomes) {
                    if outcome.error.is_some() {
                        pool.remove(hash);
                    } else if let Some((address, _)) = outcome.sender {
                        pool.observe_account(
                            &address,
                            outcome.account_nonce,
                            outcome.balance.base_units(),
                        );
                    }
                }
            }
        });
    }

    // ---- gossip ----

    /// Handles a gossiped proposal or commitment (transactions are admitted elsewhere,
    /// [`crate::admission`]) and says whether gossip may forward it: one this node kept; a
    /// forged one is invalid.
    fn on_gossip(&mut self, message: GossipMessage) -> Verdict {
        match message {
            GossipMessage::Transactions(_) => Verdict::Ignore,
            GossipMessage::Proposal(proposal) => self.offer_proposal(proposal),
            GossipMessage::Commitment(signed) => {
                let Ok(body) = signed.open(&self.shared.node.chain_context()) else {
                    return Verdict::Reject;
                };
                let node = *signed.signer();
                self.machine.commitment(node, &body, signed, Instant::now())
            }
        }
    }

    /// Offers a proposal to the round in progress (its signature checked once, here) and
    /// says whether gossip may forward it: one this node keeps for the round (new or
    /// known); a forged one is invalid.
    fn offer_proposal(&mut self, proposal: Proposal) -> Verdict {
        let Ok(header) = proposal.header.open(&self.shared.node.chain_context()) else {
            return Verdict::Reject;
        };
        let proposer = *proposal.header.signer();
        let round = header.round;
        match self.machine.proposal(proposal.clone(), header, proposer) {
            Admission::Kept { new } => {
                if new {
                    self.shared.remember_proposal(round, &proposal);
                }
                Verdict::Accept
            }
            Admission::Equivocation(_) | Admission::Refused => Verdict::Ignore,
        }
    }

    // ---- executing ----

    /// Resolves a proposal's transactions from the pool, fetching the missing ones.
    async fn resolve_txs(&self, hashes: &[Hash]) -> Option<Vec<Vec<u8>>> {
        let mut found: BTreeMap<Hash, Vec<u8>> = BTreeMap::new();
        if let Ok(pool) = self.shared.pool.lock() {
            for h in hashes {
                if let Some(raw) = pool.get(h) {
                    found.insert(*h, raw.to_vec());
                }
            }
        }
        let missing: Vec<Hash> =
            hashes.iter().filter(|h| !found.contains_key(h)).copied().collect();
        if !missing.is_empty() {
            for answer in self.p2p.fetch(FetchRequest::Transactions(missing)).await {
                if let FetchResponse::Transactions(txs) = answer {
                    for raw in txs {
                        let h = Hash::digest(&raw);
                        if hashes.contains(&h) {
                            found.insert(h, raw);
                        }
                    }
                }
            }
        }
        hashes.iter().map(|h| found.get(h).cloned()).collect()
    }

    /// Executes `batch` (as a worker, or as a `backup` resolving a discrepancy) and hands
    /// the result to the machine. One not ready (this node's runtime or consensus state
    /// still catching up) is tried again at the next block.
    async fn execute(&mut self, batch: Executable, backup: bool) -> Result<(), ComputeError> {
        let Executable { proposal, header, scheduler } = batch;
        let Some(txs) = self.resolve_txs(&proposal.tx_hashes).await else {
            self.machine.fetch_failed(scheduler);
            return Ok(());
        };
        let Some((batch, incoming)) =
            self.batch(ExecutionMode::Execute, txs, header.round, header.in_msgs_count)?
        else {
            return Ok(());
        };
        let (result, took) = self.run_batch(batch).await?;
        let results = self.results_header(header.round, &result, &incoming);
        self.keep_executed(&results, &result)?;
        self.machine.executed(scheduler, backup, Executed { result, header: results, took });
        Ok(())
    }

    /// The batch request for `round` (the one in progress, or the next one executed ahead on
    /// top of it), with `in_msgs_count` queued deposits (`None` if the queue holds fewer,
    /// or the round is not open).
    fn batch(
        &self,
        mode: ExecutionMode,
        txs: Vec<Vec<u8>>,
        round: Round,
        in_msgs_count: u32,
    ) -> Result<Option<(ExecuteBatch, Vec<IncomingMessage>)>, ComputeError> {
        let Some(base) = self.machine.base(round) else { return Ok(None) };
        let storage = self.shared.storage().latest()?;
        if storage.hash != base.stored_root {
            tracing::debug!(round = round.0, "runtime state not synced yet");
            return Ok(None);
        }
        let tree = state_at(&self.shared.node, self.machine.height())?;
        let (skip, count) = (base.in_msgs_skip as usize, in_msgs_count as usize);
        let mut incoming =
            roothash::incoming_queue(&tree, &self.shared.runtime, skip.saturating_add(count))
                .map_err(state_err)?;
        if incoming.len() != skip.saturating_add(count) {
            return Ok(None);
        }
        let incoming = incoming.split_off(skip);
        let pending = base.pending.map(|executed| PendingRound {
            round: executed.header.round,
            state_write_log: executed.result.state_write_log.clone(),
            state_root: executed.result.state_root,
        });
        Ok(Some((
            ExecuteBatch {
                mode,
                round,
                time: base.context.time,
                randomness: base.context.randomness(&self.shared.runtime, round),
                state: storage,
                txs,
                incoming: incoming.clone(),
                message_results: base.context.message_results.clone(),
                pending,
            },
            incoming,
        )))
    }

    /// Executes a batch off the loop; returns the result and how long it took.
    async fn run_batch(
        &self,
        batch: ExecuteBatch,
    ) -> Result<(ExecuteResult, Duration), ComputeError> {
        let shared = self.shared.clone();
        let started = Instant::now();
        let result = tokio::task::spawn_blocking(move || shared.executor.execute(batch))
            .await
            .map_err(|e| ComputeError::Internal(e.to_string()))??;
        Ok((result, started.elapsed()))
    }

    fn results_header(
        &self,
        round: Round,
        result: &ExecuteResult,
        incoming: &[IncomingMessage],
    ) -> ComputeResultsHeader {
        let previous_hash = self.machine.base(round).map_or(Hash::ZERO, |b| b.previous.hash());
        ComputeResultsHeader {
            round,
            previous_hash,
            io_root: result.io_root,
            state_root: result.state_root,
            messages_hash: messages_hash(&result.messages),
            in_msgs_hash: in_messages_hash(incoming),
            in_msgs_count: incoming.len() as u32,
        }
    }

    // ---- proposing ----

    /// Builds a batch from the pool (`candidates` transactions of at most `max_bytes`) and
    /// `in_msgs` incoming messages, executes it, and signs, records and publishes the
    /// proposal of it as the scheduler of `rank`.
    async fn propose(
        &mut self,
        round: Round,
        rank: u64,
        (candidates, max_bytes): (usize, usize),
        in_msgs: u32,
    ) -> Result<(), ComputeError> {
        // Ahead of the round in progress, its batch's transactions are still pooled: they
        // are left out (picked on top of the candidates).
        let taken: HashSet<Hash> = self
            .machine
            .base(round)
            .and_then(|b| b.pending)
            .map(|e| e.result.txs.iter().map(|t| Hash::digest(t)).collect())
            .unwrap_or_default();
        let txs = self.shared.pool.lock().map_or_else(
            |_| Vec::new(),
            |p| p.batch(candidates.saturating_add(taken.len()), max_bytes),
        );
        let txs = txs.into_iter().filter(|t| !taken.contains(&Hash::digest(t))).collect();
        let Some((batch, incoming)) = self.batch(ExecutionMode::Schedule, txs, round, in_msgs)?
        else {
            self.machine.not_proposed(round, Instant::now());
            return Ok(());
        };
        let (result, took) = self.run_batch(batch).await?;
        let honest: Vec<Hash> = result.txs.iter().map(|t| Hash::digest(t)).collect();
        let (tx_hashes, claimed) =
            self.machine.mode().proposed_batch(honest, self.machine.height());
        let Some(base) = self.machine.base(round) else { return Ok(()) };
        let ahead = base.pending.is_some();
        let header = ProposalHeader {
            runtime: self.shared.runtime,
            round,
            previous_hash: base.previous.hash(),
            batch_hash: claimed,
            in_msgs_count: incoming.len() as u32,
        };
        let signed =
            Signed::sign(self.identity.as_ref(), &self.shared.node.chain_context(), &header);
        let proposal = Proposal { header: signed, tx_hashes };
        // On disk before anyone sees it: after a restart this proposal is re-sent, never
        // replaced by another.
        self.journal.record_proposal(header.round, header.previous_hash, &proposal)?;
        tracing::info!(
            round = header.round.0,
            rank,
            txs = result.txs.len(),
            ahead,
            "proposing a batch"
        );
        self.p2p.publish(GossipMessage::Proposal(proposal.clone()));
        let results = self.results_header(round, &result, &incoming);
        self.keep_executed(&results, &result)?;
        self.shared.remember_proposal(header.round, &proposal);
        self.machine.proposed(rank, proposal, header, Executed { result, header: results, took });
        Ok(())
    }

    // ---- commitments ----

    /// Signs this node's commitment on `scheduler`'s batch (`bodies`: what its mode signs;
    /// the first is journaled) and hands it to the machine. A commitment is signed once per
    /// round and batch: a second time (a backup vote on a batch this node executed as a
    /// worker, or after a restart) the identical one is re-sent from the journal, never a
    /// different one.
    fn sign(
        &mut self,
        scheduler: PublicKey,
        bodies: Vec<ExecutorCommitmentBody>,
        backup: bool,
    ) -> Result<(), ComputeError> {
        let Some(round_number) = bodies.first().map(|b| b.round) else { return Ok(()) };
        let Some(base) = self.machine.base(round_number) else { return Ok(()) };
        let previous_hash = base.previous.hash();
        let now = Instant::now();
        if let Some(signed) = self.journal.commitment(round_number, previous_hash, &scheduler) {
            let signed = signed.clone();
            tracing::debug!(round = round_number.0, %scheduler, backup, "commitment re-sent");
            self.machine.signed(scheduler, vec![signed], backup, true, now);
            return Ok(());
        }
        let chain = self.shared.node.chain_context();
        let signed: Vec<SignedCommitment> =
            bodies.iter().map(|body| Signed::sign(self.identity.as_ref(), &chain, body)).collect();
        let Some(first) = signed.first() else { return Ok(()) };
        self.journal.record_commitment(round_number, previous_hash, scheduler, first)?;
        tracing::debug!(round = round_number.0, %scheduler, backup, "commitment signed");
        self.machine.signed(scheduler, signed, backup, false, now);
        Ok(())
    }

    /// Submits signed commitments in one transaction, paying the gas their runtime messages
    /// cost.
    fn submit_commitments(&mut self, signed: Vec<SignedCommitment>) -> Result<(), ComputeError> {
        let messages: u64 = signed
            .iter()
            .map(|c| c.decode_verified_elsewhere().map_or(0, |b| b.messages.len() as u64))
            .sum();
        let per_message = {
            let tree = state_at(&self.shared.node, self.machine.height())?;
            roothash::parameters(&tree).map_err(state_err)?.message_gas_cost
        };
        let commit = ExecutorCommit { runtime: self.shared.runtime, commitments: signed };
        self.submit_consensus(
            roothash::EXECUTOR_COMMIT,
            &commit,
            messages.saturating_mul(per_message),
        )
    }

    /// Signs a consensus transaction with the node's identity key and submits it to the
    /// local mempool (which gossips it).
    fn submit_consensus<B: borsh::BorshSerialize>(
        &mut self,
        method: &str,
        body: &B,
        extra_gas: u64,
    ) -> Result<(), ComputeError> {
        let tree = state_at(&self.shared.node, self.machine.height())?;
        // The configured gas price (for the configured gas plus `extra_gas`), raised to
        // the chain's minimum gas price if that is higher.
        let min_price = atoll_consensus::chain::parameters(&tree).map_err(state_err)?.min_gas_price;
        drop(tree);
        let gas = self.fee.gas.saturating_add(extra_gas);
        let configured = self.fee.amount.base_units().saturating_mul(u128::from(gas))
            / u128::from(self.fee.gas.max(1));
        let minimum = u128::from(gas).saturating_mul(min_price);
        let fee = Fee { amount: atoll_types::Amount::new(configured.max(minimum)), gas };
        // Numbered by the node, after anything pending under the same key (this and other
        // runtimes' commitments, the node's re-registration) and after the latest state.
        let node = &self.shared.node;
        let (_, admitted) =
            node.submit_own(&Address::from_public_key(&self.identity.public_key()), |nonce| {
                let tx = Transaction::new(nonce, fee, method, body);
                atoll_types::encode(&Signed::sign(
                    self.identity.as_ref(),
                    &node.chain_context(),
                    &tx,
                ))
            });
        admitted.map(drop).map_err(|e| ComputeError::State(format!("submitting {method}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lagging_node_restores_when_it_cannot_replay_or_is_too_far_behind() {
        assert!(!restore_instead(0, true, 10), "not behind: nothing to restore");
        assert!(restore_instead(1, true, 0), "cannot replay, whatever the limit");
        assert!(!restore_instead(10, false, 10), "within the limit: replays");
        assert!(restore_instead(11, false, 10));
        assert!(!restore_instead(1_000_000, false, 0), "no limit (an archive): replays");
    }
}
