//! The worker loop: follows consensus blocks and runtime gossip, and per round proposes,
//! executes, commits, resolves discrepancies and stores finalized results.
//!
//! Everything it decides is driven by the consensus state after each block (the round in
//! progress, the committee, the incoming-message queue, discrepancy events) and by signed
//! proposals from the p2p network; wall-clock time only paces the proposer's batching. The
//! decisions themselves are the round machine's ([`crate::round`]): this loop feeds it and
//! does the I/O it asks for (fetching, executing, signing, submitting, storing).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use atoll_consensus::registry::types::Runtime;
use atoll_consensus::roothash::pool::ComputeResultsHeader;
use atoll_consensus::roothash::{
    self, EquivocationEvidence, Evidence, ExecutorCommit, ExecutorCommitmentBody, HeaderType,
    ProposalHeader, RuntimeBlockHeader, RuntimeState, SignedCommitment,
};
use atoll_consensus::{registry, Fee, Transaction};
use atoll_runtime_host::{ExecuteBatch, ExecuteResult, ExecutionMode, IncomingMessage};
use atoll_types::runtime_message::{in_messages_hash, messages_hash};
use atoll_types::{Address, Hash, PublicKey, Round, Signed, Signer};
use tokio::sync::mpsc;

use atoll_engine::gossip::Verdict;

use crate::courier::{Context as CourierContext, Dispatch};
use crate::gather::{Deadline, Pace};
use crate::journal::Journal;
use crate::p2p::{FetchRequest, FetchResponse, GossipMessage, P2p, Proposal, Received};
use crate::round::{
    better_scheduler_committed, next_empty_streak, resolving_scheduler, Admission, BackupDuty,
    Executed, ProposeInputs, RoundState,
};
use crate::storage::{io_transactions, RoundWriteLogs};
use crate::{state_at, ByzantineMode, ComputeError, Shared};

/// Most incoming messages one batch takes.
const MAX_IN_MSGS_PER_ROUND: usize = 64;
/// Attempts to fetch a proposal's missing transactions before giving up on it.
const FETCH_ATTEMPTS: u32 = 3;
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

/// The compute worker of one node.
pub(crate) struct Worker {
    shared: Arc<Shared>,
    p2p: P2p,
    identity: Arc<dyn Signer + Send + Sync>,
    id: PublicKey,
    fee: Fee,
    height: u64,
    /// The latest runtime round this node has processed (stored if it was `Normal`).
    synced: Round,
    round: Option<RoundState>,
    state: Option<RuntimeState>,
    descriptor: Option<Runtime>,
    /// What this node signed in the round in progress, on disk.
    journal: Journal,
    /// Incoming messages queued for the runtime at `height`.
    queued: usize,
    /// Finalized rounds in a row without transactions, up to `synced`.
    empty_streak: u32,
    /// How late the workers' commitments on this node's batches came lately.
    pace: Pace,
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
        let id = identity.public_key();
        Ok(Self {
            shared,
            p2p,
            identity,
            id,
            fee,
            height: 0,
            synced,
            round: None,
            state: None,
            descriptor: None,
            journal,
            queued: 0,
            empty_streak: 0,
            pace: Pace::default(),
            catch_up: CatchUp::default(),
        })
    }

    fn mode(&self) -> ByzantineMode {
        self.shared.mode
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
                    let verdict = match self.on_gossip(message).await {
                        Ok(verdict) => verdict,
                        Err(e) => {
                            tracing::warn!(error = %e, "compute worker (gossip)");
                            Verdict::Ignore
                        }
                    };
                    self.p2p.report(ticket, verdict);
                }
                () = shared.pool_filled.notified(), if idle => {
                    // A transaction to propose: look now.
                    next_tick = tokio::time::Instant::now();
                }
                () = tokio::time::sleep_until(next_tick) => {
                    if let Err(e) = self.maybe_propose().await {
                        tracing::warn!(error = %e, "compute worker (proposer)");
                    }
                    if let Err(e) = self.send_due_commitments() {
                        tracing::warn!(error = %e, "compute worker (commitments)");
                    }
                    let every = if self.idle() { IDLE_TICK } else { TICK };
                    next_tick = tokio::time::Instant::now() + every;
                }
            }
            if !self.idle() {
                next_tick = next_tick.min(tokio::time::Instant::now() + TICK);
            }
        }
    }

    /// Whether nothing can come due here before a transaction enters the pool: nothing
    /// pooled or queued, no empty round to come, no commitment on its way to the chain.
    fn idle(&self) -> bool {
        let Some(round) = self.round.as_ref() else { return true };
        if round.courier.pending() {
            return false;
        }
        let pooled = self.shared.pool.lock().map_or(0, |p| p.len());
        pooled + self.queued == 0 && !self.shared.empty_rounds.may_come(self.empty_streak)
    }

    // ---- following the chain ----

    async fn on_height(&mut self, height: u64) -> Result<(), ComputeError> {
        if height <= self.height {
            return Ok(());
        }
        self.height = height;
        let runtime = self.shared.runtime;
        self.queued = 0;
        let state = {
            let tree = state_at(&self.shared.node, height)?;
            self.descriptor = registry::runtime(&tree, &runtime).map_err(state_err)?;
            self.queued = roothash::incoming_queue_len(&tree, &runtime).map_err(state_err)?;
            roothash::runtime_state(&tree, &runtime).map_err(state_err)?
        };
        let Some(state) = state else { return Ok(()) };
        self.sync_blocks(&state).await?;
        let new_round = self.round.as_ref().is_none_or(|r| r.previous != state.last_block);
        if new_round {
            if let Some(late) = self.round.as_ref().and_then(|r| r.courier.lateness()) {
                self.pace.record(late);
            }
            self.round = RoundState::new(&state, Instant::now());
        }
        // The pool itself says whether the round is being resolved (a height skipped while
        // busy cannot hide the event that declared it).
        if let Some(round) = self.round.as_mut() {
            if let Some(scheduler) = resolving_scheduler(state.pool.as_ref(), round.round) {
                round.discrepancy = Some(scheduler);
            }
        }
        self.state = Some(state);
        if new_round {
            self.resend_signed()?;
        }
        self.note_landed_commitments();
        self.fetch_missing_proposals().await?;
        self.execute_proposals().await?;
        self.resolve_discrepancy().await?;
        self.maybe_propose().await?;
        self.send_due_commitments()
    }

    /// Stores every `Normal` round finalized since the last one processed: this node's own
    /// results if they match, otherwise write logs from peers, verified against the block.
    async fn sync_blocks(&mut self, state: &RuntimeState) -> Result<(), ComputeError> {
        let last = state.last_block.round;
        if self.synced < last && self.restore_wanted(last)? {
            return self.restore_checkpoint(&state.last_block).await;
        }
        while self.synced < last {
            let next = Round(self.synced.0 + 1);
            let block = if next == last {
                Some(state.last_block.clone())
            } else {
                let tree = state_at(&self.shared.node, self.height)?;
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
            self.empty_streak = next_empty_streak(self.empty_streak, &block);
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
        self.empty_streak = 0;
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
        let own = self.round.as_mut().and_then(|r| r.take_result_of(block));
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

    // ---- committee ----

    fn my_rank(&self) -> Option<u64> {
        let state = self.state.as_ref()?;
        let round = self.round.as_ref()?;
        state.committee.as_ref()?.pool.rank(&self.id, round.round)
    }

    fn is_backup(&self) -> bool {
        self.state
            .as_ref()
            .and_then(|s| s.committee.as_ref())
            .is_some_and(|c| c.pool.backups.contains(&self.id))
    }

    /// Consensus blocks each rank waits for the better-ranked proposers.
    fn propose_batch_timeout(&self) -> u64 {
        self.descriptor.as_ref().map_or(1, |d| d.txn_scheduler.propose_batch_timeout)
    }

    // ---- gossip ----

    /// Handles a gossiped proposal (transactions are admitted elsewhere,
    /// [`crate::admission`]) and says whether gossip may forward it: one this node kept; a
    /// forged one is invalid.
    async fn on_gossip(&mut self, message: GossipMessage) -> Result<Verdict, ComputeError> {
        match message {
            GossipMessage::Transaction(_) => Ok(Verdict::Ignore),
            GossipMessage::Proposal(proposal) => {
                if proposal.header.open(&self.shared.node.chain_context()).is_err() {
                    return Ok(Verdict::Reject);
                }
                let kept = self.accept_proposal(proposal)?;
                self.execute_proposals().await?;
                self.resolve_discrepancy().await?;
                Ok(if kept { Verdict::Accept } else { Verdict::Ignore })
            }
            GossipMessage::Commitment(signed) => self.on_commitment(signed),
        }
    }

    /// Keeps a proposal for the round in progress if it is signed by a worker and builds on
    /// the latest runtime block; a second, different proposal by the same proposer is
    /// reported as equivocation evidence.
    /// Returns whether the proposal is one this node keeps for the round (new or known).
    fn accept_proposal(&mut self, proposal: Proposal) -> Result<bool, ComputeError> {
        let chain = self.shared.node.chain_context();
        let Ok(header) = proposal.header.open(&chain) else { return Ok(false) };
        let proposer = *proposal.header.signer();
        let Some(state) = self.state.as_ref() else { return Ok(false) };
        let Some(committee) = state.committee.as_ref() else { return Ok(false) };
        let Some(round) = self.round.as_mut() else { return Ok(false) };
        let rank = committee.pool.rank(&proposer, round.round);
        let round_number = round.round;
        match round.admit(&self.shared.runtime, rank, proposal.clone(), header, proposer) {
            Admission::Kept { new } => {
                if new {
                    self.shared.remember_proposal(round_number, &proposal);
                }
                Ok(true)
            }
            Admission::Equivocation(kept) => {
                let evidence = Evidence {
                    runtime: self.shared.runtime,
                    evidence: EquivocationEvidence::Proposals(*kept, proposal.header),
                };
                self.submit_consensus(roothash::EVIDENCE, &evidence, 0)?;
                Ok(false)
            }
            Admission::Refused => Ok(false),
        }
    }

    /// A scheduler committed on chain, but its proposal never reached this node: ask the
    /// peers for the round's proposals.
    async fn fetch_missing_proposals(&mut self) -> Result<(), ComputeError> {
        let involved = self.my_rank().is_some()
            || (self.is_backup() && self.round.as_ref().is_some_and(|r| r.discrepancy.is_some()));
        let (Some(state), Some(round)) = (self.state.as_ref(), self.round.as_ref()) else {
            return Ok(());
        };
        if !involved {
            return Ok(());
        }
        if !round.proposal_missing(state.commitment_bodies().map(|(_, body)| body)) {
            return Ok(());
        }
        let round_number = round.round;
        for answer in self.p2p.fetch(FetchRequest::Proposals(round_number)).await {
            if let FetchResponse::Proposals(proposals) = answer {
                for proposal in proposals.into_iter().take(64) {
                    self.accept_proposal(proposal)?;
                }
            }
        }
        Ok(())
    }

    /// Resolves a proposal's transactions from the pool, fetching the missing ones.
    async fn resolve_txs(&mut self, proposer: PublicKey, hashes: &[Hash]) -> Option<Vec<Vec<u8>>> {
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
        let complete: Option<Vec<Vec<u8>>> = hashes.iter().map(|h| found.get(h).cloned()).collect();
        if complete.is_none() {
            self.round.as_mut()?.fetch_failed(proposer, FETCH_ATTEMPTS);
        }
        complete
    }

    /// Workers execute every acceptable proposal once and commit to it.
    async fn execute_proposals(&mut self) -> Result<(), ComputeError> {
        if self.my_rank().is_none() {
            return Ok(());
        }
        let (height, timeout) = (self.height, self.propose_batch_timeout());
        let Some(round) = self.round.as_mut() else { return Ok(()) };
        for batch in round.executable(height, timeout) {
            self.execute_and_commit(batch.scheduler, &batch.proposal, &batch.header, false).await?;
        }
        Ok(())
    }

    /// Backup workers execute the scheduler's batch once a discrepancy is declared (they do
    /// not judge the proposal's header: the scheduler's commitment is what they check).
    async fn resolve_discrepancy(&mut self) -> Result<(), ComputeError> {
        if !self.is_backup() {
            return Ok(());
        }
        let Some(BackupDuty { scheduler, proposal, header, executed }) =
            self.round.as_ref().and_then(RoundState::backup_duty)
        else {
            return Ok(());
        };
        // A node that is both worker and backup already executed (and signed) this batch:
        // `commit` re-sends that very commitment.
        let done = match executed {
            Some((commitment, messages)) => {
                self.commit(scheduler, Some(commitment), messages, true)?
            }
            None => self.execute_and_commit(scheduler, &proposal, &header, true).await?,
        };
        // Done only once submitted: a batch not ready yet is tried again at the next block.
        if let Some(round) = self.round.as_mut() {
            round.backup_done = done;
        }
        Ok(())
    }

    /// Executes `scheduler`'s batch and commits to it (as a worker, or as a `backup`
    /// resolving a discrepancy); returns whether a commitment was submitted.
    async fn execute_and_commit(
        &mut self,
        scheduler: PublicKey,
        proposal: &Proposal,
        header: &ProposalHeader,
        backup: bool,
    ) -> Result<bool, ComputeError> {
        let Some(txs) = self.resolve_txs(scheduler, &proposal.tx_hashes).await else {
            return Ok(false);
        };
        // Not ready (this node's runtime or consensus state is still catching up): tried
        // again at the next block.
        let Some((batch, incoming)) =
            self.batch(ExecutionMode::Execute, txs, header.in_msgs_count)?
        else {
            return Ok(false);
        };
        let (result, took) = self.run_batch(batch).await?;
        let results = self.results_header(&result, &incoming);
        let messages = if scheduler == self.id { result.messages.clone() } else { Vec::new() };
        self.keep_executed(&results, &result)?;
        if let Some(round) = self.round.as_mut() {
            round.executed.insert(scheduler, Executed { result, header: results.clone(), took });
        }
        self.commit(scheduler, Some(results), messages, backup)
    }

    /// The batch request for the round in progress, with `in_msgs_count` queued deposits
    /// (`None` if the queue holds fewer).
    fn batch(
        &self,
        mode: ExecutionMode,
        txs: Vec<Vec<u8>>,
        in_msgs_count: u32,
    ) -> Result<Option<(ExecuteBatch, Vec<IncomingMessage>)>, ComputeError> {
        let (Some(round), Some(state)) = (self.round.as_ref(), self.state.as_ref()) else {
            return Ok(None);
        };
        let storage = self.shared.storage().latest()?;
        if storage.hash != round.previous.state_root {
            tracing::debug!(round = round.round.0, "runtime state not synced yet");
            return Ok(None);
        }
        let tree = state_at(&self.shared.node, self.height)?;
        let incoming =
            roothash::incoming_queue(&tree, &self.shared.runtime, in_msgs_count as usize)
                .map_err(state_err)?;
        if incoming.len() != in_msgs_count as usize {
            return Ok(None);
        }
        Ok(Some((
            ExecuteBatch {
                mode,
                round: round.round,
                time: round.previous.timestamp,
                randomness: round_randomness(
                    &self.shared.node,
                    state.last_block_height.0,
                    &self.shared.runtime,
                    round.round,
                )?,
                state: storage,
                txs,
                incoming: incoming.clone(),
                message_results: state.message_results.clone(),
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
        result: &ExecuteResult,
        incoming: &[IncomingMessage],
    ) -> ComputeResultsHeader {
        let round = self.round.as_ref().map_or(Round(0), |r| r.round);
        let previous_hash = self.round.as_ref().map_or(Hash::ZERO, |r| r.previous.hash());
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

    async fn maybe_propose(&mut self) -> Result<(), ComputeError> {
        if !self.mode().proposes() {
            return Ok(());
        }
        let Some(rank) = self.my_rank() else { return Ok(()) };
        let Some(descriptor) = self.descriptor.clone() else { return Ok(()) };
        let params = descriptor.txn_scheduler;
        let inputs = ProposeInputs {
            rank,
            height: self.height,
            now: Instant::now(),
            pooled: self.shared.pool.lock().map_or(0, |p| p.len()),
            queued: self.queued,
            params: &params,
            empty_rounds: self.shared.empty_rounds,
            empty_streak: self.empty_streak,
            better_committed: rank > 0 && self.better_scheduler_committed(rank),
        };
        let Some(round) = self.round.as_mut() else { return Ok(()) };
        if round.has_work(&inputs) {
            round.note_work(self.height);
        }
        if !round.should_propose(&inputs) {
            return Ok(());
        }
        let queued = self.queued;
        // Twice the batch size in candidates: the runtime leaves out what fails to
        // authenticate and keeps filling from the rest, up to the batch limits.
        let candidates = (params.max_batch_size as usize).saturating_mul(2);
        let txs = self.shared.pool.lock().map_or_else(
            |_| Vec::new(),
            |p| p.batch(candidates, params.max_batch_size_bytes as usize),
        );
        let in_msgs = queued.min(MAX_IN_MSGS_PER_ROUND) as u32;
        let Some((batch, incoming)) = self.batch(ExecutionMode::Schedule, txs, in_msgs)? else {
            return Ok(());
        };
        if let Some(round) = self.round.as_mut() {
            round.proposed = true;
        }
        let (result, took) = self.run_batch(batch).await?;
        let honest: Vec<Hash> = result.txs.iter().map(|t| Hash::digest(t)).collect();
        let (tx_hashes, claimed) = self.mode().proposed_batch(honest, self.height);
        let Some(round) = self.round.as_ref() else { return Ok(()) };
        let header = ProposalHeader {
            runtime: self.shared.runtime,
            round: round.round,
            previous_hash: round.previous.hash(),
            batch_hash: claimed,
            in_msgs_count: incoming.len() as u32,
        };
        let signed =
            Signed::sign(self.identity.as_ref(), &self.shared.node.chain_context(), &header);
        let proposal = Proposal { header: signed, tx_hashes };
        // On disk before anyone sees it: after a restart this proposal is re-sent, never
        // replaced by another.
        self.journal.record_proposal(header.round, header.previous_hash, &proposal)?;
        tracing::info!(round = round.round.0, rank, txs = result.txs.len(), "proposing a batch");
        self.p2p.publish(GossipMessage::Proposal(proposal.clone()));
        let results = self.results_header(&result, &incoming);
        let messages = result.messages.clone();
        self.keep_executed(&results, &result)?;
        self.shared.remember_proposal(header.round, &proposal);
        if let Some(round) = self.round.as_mut() {
            round.proposals.insert(rank, (proposal, header, self.id));
            round.executed.insert(self.id, Executed { result, header: results.clone(), took });
        }
        self.commit(self.id, Some(results), messages, false)?;
        Ok(())
    }

    /// After a restart (or whenever a round starts), re-sends what this node already signed
    /// for it: its proposal and the commitments the chain does not have yet.
    fn resend_signed(&mut self) -> Result<(), ComputeError> {
        let (Some(round), Some(state)) = (self.round.as_ref(), self.state.as_ref()) else {
            return Ok(());
        };
        let Some(signed) = self.journal.round(round.round, round.previous.hash()).cloned() else {
            return Ok(());
        };
        let rank = self.my_rank();
        let on_chain: BTreeSet<PublicKey> = state
            .commitment_bodies()
            .filter(|(node, _)| *node == self.id)
            .map(|(_, body)| body.scheduler)
            .collect();
        if let (Some(proposal), Some(round)) = (signed.proposal, self.round.as_mut()) {
            round.proposed = true;
            if let (Some(rank), Ok(header)) =
                (rank, proposal.header.open(&self.shared.node.chain_context()))
            {
                round.proposals.insert(rank, (proposal.clone(), header, self.id));
            }
            self.shared.remember_proposal(round.round, &proposal);
            self.p2p.publish(GossipMessage::Proposal(proposal));
        }
        for (scheduler, commitment) in signed.commitments {
            if let Some(round) = self.round.as_mut() {
                round.committed.insert(scheduler);
            }
            if !on_chain.contains(&scheduler) {
                tracing::info!(%scheduler, "re-sending a commitment signed before a restart");
                self.submit_commitments(vec![commitment])?;
            }
        }
        Ok(())
    }

    /// Whether a scheduler ranked better than `rank` has committed to its own batch in the
    /// round in progress.
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
            &self.id,
        )
    }

    // ---- commitments ----

    /// Signs and submits this node's commitment on `scheduler`'s batch (applying the
    /// byzantine mode, if any); returns whether the round needs nothing more from it. A
    /// commitment is signed once per round and batch: a second call (a backup vote on a
    /// batch this node executed as a worker, or after a restart) re-sends the identical
    /// one from the journal, never a different one.
    fn commit(
        &mut self,
        scheduler: PublicKey,
        header: Option<ComputeResultsHeader>,
        messages: Vec<atoll_types::RuntimeMessage>,
        backup: bool,
    ) -> Result<bool, ComputeError> {
        let mode = self.mode();
        if !mode.commits() {
            return Ok(true);
        }
        let Some(round) = self.round.as_mut() else { return Ok(false) };
        if !round.start_commit(scheduler, backup) {
            return Ok(true);
        }
        let round_number = round.round;
        let previous_hash = round.previous.hash();
        if let Some(signed) = self.journal.commitment(round_number, previous_hash, &scheduler) {
            let signed = signed.clone();
            if backup {
                self.send_commitment(scheduler, signed, true)?;
            } else {
                self.submit_commitments(vec![signed])?;
            }
            tracing::debug!(round = round_number.0, %scheduler, backup, "commitment re-sent");
            return Ok(true);
        }
        let own_batch = scheduler == self.id;
        let honest = ExecutorCommitmentBody {
            runtime: self.shared.runtime,
            round: round_number,
            scheduler,
            header,
            messages: if own_batch { messages } else { Vec::new() },
        };
        let chain = self.shared.node.chain_context();
        let signed: Vec<SignedCommitment> = mode
            .commitment_bodies(honest, own_batch)
            .iter()
            .map(|body| Signed::sign(self.identity.as_ref(), &chain, body))
            .collect();
        let mut signed = signed.into_iter();
        let Some(first) = signed.next() else { return Ok(true) };
        self.journal.record_commitment(round_number, previous_hash, scheduler, &first)?;
        if mode == ByzantineMode::Equivocation {
            // Both of its commitments go straight on chain, the honest one first, so the
            // pool sees the second as equivocation (gathered, the honest one could land
            // after a discrepancy the second caused, and be refused with the whole batch).
            for commitment in std::iter::once(first).chain(signed) {
                self.submit_commitments(vec![commitment])?;
            }
        } else {
            self.send_commitment(scheduler, first, backup)?;
        }
        tracing::debug!(round = round_number.0, %scheduler, backup, "commitment submitted");
        Ok(true)
    }

    /// Sends a commitment this node just signed on its way to the chain, as the courier
    /// routes it ([`crate::courier`]): one on this node's own batch held for the workers',
    /// one on another scheduler's batch gossiped to it, a backup's vote to the leading
    /// backup.
    fn send_commitment(
        &mut self,
        scheduler: PublicKey,
        signed: SignedCommitment,
        backup: bool,
    ) -> Result<(), ComputeError> {
        let rank = self.my_rank().unwrap_or(0);
        let timeout = self.propose_batch_timeout();
        let gathers = self.mode().gathers();
        let (Some(state), Some(round)) = (self.state.as_ref(), self.round.as_mut()) else {
            return Ok(());
        };
        let took = round.executed.get(&scheduler).map_or(Duration::ZERO, |e| e.took);
        let cx = courier_context(state, round, (self.id, self.height, gathers));
        let sends = if backup {
            round.courier.backup_vote(&cx, scheduler, signed, took)
        } else if scheduler == self.id {
            // After an idle spell the next rank's turn counts from the first work, as the
            // proposals' turns do (from the round's start it would long have come).
            let turn = (round.turns_from(self.height), rank, timeout);
            let deadline = Deadline::new(cx.now, self.pace.wait(took), self.height, turn);
            round.courier.own_batch(&cx, signed, deadline)
        } else {
            round.courier.for_scheduler(&cx, scheduler, signed, took)
        };
        self.carry(sends)?;
        // The node that gathers it may have submitted without it already.
        self.note_landed_commitments();
        self.send_due_commitments()
    }

    /// Submits what the courier says is due now.
    fn send_due_commitments(&mut self) -> Result<(), ComputeError> {
        let gathers = self.mode().gathers();
        let (Some(state), Some(round)) = (self.state.as_ref(), self.round.as_mut()) else {
            return Ok(());
        };
        let cx = courier_context(state, round, (self.id, self.height, gathers));
        let sends = round.courier.due(&cx);
        self.carry(sends)
    }

    /// Tells the courier what the chain holds of the round after a block.
    fn note_landed_commitments(&mut self) {
        let gathers = self.mode().gathers();
        let (Some(state), Some(round)) = (self.state.as_ref(), self.round.as_mut()) else {
            return;
        };
        let cx = courier_context(state, round, (self.id, self.height, gathers));
        round.courier.on_chain(&cx, state.commitment_bodies(), state.pool.as_ref());
    }

    /// Carries out what the courier asks: gossip, or submit on chain.
    fn carry(&mut self, sends: Vec<Dispatch>) -> Result<(), ComputeError> {
        for send in sends {
            match send {
                Dispatch::Gossip(signed) => self.p2p.publish(GossipMessage::Commitment(signed)),
                Dispatch::Submit { commitments, fallback } => {
                    if fallback {
                        tracing::info!(
                            round = self.round.as_ref().map_or(0, |r| r.round.0),
                            "the commitment did not reach the chain through the node that gathers it; submitting it"
                        );
                    }
                    self.submit_commitments(commitments)?;
                }
            }
        }
        Ok(())
    }

    /// A commitment gossiped for the node that submits it, handed to the courier (which
    /// gathers it if this node is that node); forwarded if it is any worker's or backup's,
    /// signed, for the round in progress; a forged one is invalid.
    fn on_commitment(&mut self, signed: SignedCommitment) -> Result<Verdict, ComputeError> {
        let Ok(body) = signed.open(&self.shared.node.chain_context()) else {
            return Ok(Verdict::Reject);
        };
        let node = *signed.signer();
        let gathers = self.mode().gathers();
        let (Some(state), Some(round)) = (self.state.as_ref(), self.round.as_mut()) else {
            return Ok(Verdict::Ignore);
        };
        let Some(committee) = state.committee.as_ref().map(|c| &c.pool) else {
            return Ok(Verdict::Ignore);
        };
        let member = committee.workers.contains(&node) || committee.backups.contains(&node);
        if body.runtime != self.shared.runtime || body.round != round.round || !member {
            return Ok(Verdict::Ignore);
        }
        let cx = courier_context(state, round, (self.id, self.height, gathers));
        if round.courier.offered(&cx, node, &body, signed) {
            self.send_due_commitments()?;
        }
        Ok(Verdict::Accept)
    }

    /// Submits signed commitments in one transaction, paying the gas their runtime messages
    /// cost.
    fn submit_commitments(&mut self, signed: Vec<SignedCommitment>) -> Result<(), ComputeError> {
        let messages: u64 = signed
            .iter()
            .map(|c| c.decode_verified_elsewhere().map_or(0, |b| b.messages.len() as u64))
            .sum();
        let per_message = {
            let tree = state_at(&self.shared.node, self.height)?;
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
        let tree = state_at(&self.shared.node, self.height)?;
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
        let (_, admitted) = node.submit_own(&Address::from_public_key(&self.id), |nonce| {
            let tx = Transaction::new(nonce, fee, method, body);
            atoll_types::encode(&Signed::sign(self.identity.as_ref(), &node.chain_context(), &tx))
        });
        admitted.map(drop).map_err(|e| ComputeError::State(format!("submitting {method}: {e}")))
    }
}

/// What the courier needs to know of the round in progress now, from the consensus state
/// after the latest block; `(me, height, gathers)` are this node's.
fn courier_context<'a>(
    state: &'a RuntimeState,
    round: &RoundState,
    (me, height, gathers): (PublicKey, u64, bool),
) -> CourierContext<'a> {
    let committee = state.committee.as_ref().map(|c| &c.pool);
    CourierContext {
        me,
        round: round.round,
        height,
        now: Instant::now(),
        workers: committee.map_or(&[], |c| &c.workers[..]),
        backups: committee.map_or(&[], |c| &c.backups[..]),
        discrepancy: round.discrepancy,
        gathers,
    }
}

/// The randomness of `round`: the consensus beacon's entropy as of the height at which the
/// previous runtime block was finalized (the same for every worker and backup of the round,
/// whenever they execute), bound to the runtime and the round.
fn round_randomness(
    node: &atoll_engine::bft::NodeView,
    height: u64,
    runtime: &atoll_types::RuntimeId,
    round: Round,
) -> Result<Hash, ComputeError> {
    let tree = state_at(node, height)?;
    let beacon = atoll_consensus::beacon::beacon(&tree).map_err(state_err)?;
    Ok(Hash::digest_parts(&[
        b"atoll/runtime: round randomness",
        beacon.entropy.as_bytes(),
        runtime.as_bytes(),
        &round.0.to_be_bytes(),
    ]))
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
