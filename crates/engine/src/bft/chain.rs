//! The chain the engine drives: state, block store and mempool, and the rules for building,
//! validating and committing blocks. Free of async and of the engine's message plumbing
//! ([`super::app`] does that), so each rule reads on its own.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use atoll_consensus::scheduler::{self, Validator};
use atoll_consensus::staking::SlashReason;
use atoll_consensus::{
    chain as chain_info, BlockContext, BlockOutcome, ConsensusState, Misbehavior,
};
use atoll_mkvs::checkpoint::{Manifest, CHUNK_KEYS};
use atoll_mkvs::{RedbNodeDb, RootKind, CONSENSUS_NAMESPACE};
use atoll_types::{decode, Address, ChainContext, Hash, Height, PublicKey};
use thiserror::Error;

use crate::block::{commit_and_evidence_hash, Block, BlockHeader, BlockLimits, MAX_BLOCK_SIZE};
use crate::certificate::CommitCertificate;
use crate::evidence::{DoubleSignEvidence, MAX_EVIDENCE_PER_BLOCK};
use crate::finality::FinalityClock;
use crate::merkle::transactions_root;
use crate::store::BlockStore;
use crate::Mempool;

/// Largest encoded block accepted from a peer.
pub const MAX_ENCODED_BLOCK: usize = MAX_BLOCK_SIZE + (1 << 20);

/// How far (seconds) a block's time may lead a validator's clock. Without a bound, one
/// byzantine proposer could move chain time (and every ParaTime round and timestamp after
/// it) to any point in the future for good, since later blocks may not go back.
pub const MAX_CLOCK_DRIFT: u64 = 30;

/// A failure of the node itself (storage), as opposed to a bad block.
#[derive(Debug, Error)]
pub enum ChainError {
    /// Block store failure.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// State failure.
    #[error("state: {0}")]
    State(String),
    /// The decided block is not known.
    #[error("decided block {0} at height {1} is not known")]
    UnknownBlock(Hash, u64),
    /// The store and the state disagree beyond repair.
    #[error("inconsistent data directory: {0}")]
    Inconsistent(String),
    /// Governance passed an upgrade this software is too old for, and its epoch has come.
    #[error(
        "the chain upgrades to version {version} (\"{name}\") at epoch {epoch}: this node runs \
         {running} and stops here; start the upgraded binary on the same data directory"
    )]
    UpgradeRequired {
        /// The upgrade's name.
        name: String,
        /// Its epoch.
        epoch: u64,
        /// The version it requires.
        version: String,
        /// The version this node runs.
        running: String,
    },
}

fn version_text(v: &atoll_consensus::registry::types::Version) -> String {
    format!("{}.{}.{}", v.major, v.minor, v.patch)
}

fn state_err(e: impl std::fmt::Display) -> ChainError {
    ChainError::State(e.to_string())
}

/// Why a proposed or synced block is refused.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("invalid block: {0}")]
pub struct InvalidBlock(pub String);

fn invalid(reason: impl Into<String>) -> InvalidBlock {
    InvalidBlock(reason.into())
}

/// How much history to keep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pruning {
    /// State versions to keep (0 keeps all; otherwise at least the evidence window,
    /// [`crate::evidence::MAX_EVIDENCE_AGE`] + 1, so old validator sets stay readable).
    pub keep_state_versions: u64,
    /// Blocks to keep (0 keeps all).
    pub keep_blocks: u64,
    /// A checkpoint of the state every this many heights, for nodes that state-sync from
    /// this one (0 makes none).
    pub checkpoint_interval: u64,
    /// Checkpoints to keep (their state versions are kept from pruning).
    pub keep_checkpoints: u64,
}

impl Pruning {
    /// Keeps everything and makes no checkpoints.
    pub const KEEP_ALL: Pruning = Pruning {
        keep_state_versions: 0,
        keep_blocks: 0,
        checkpoint_interval: 0,
        keep_checkpoints: 0,
    };
}

/// State, blocks and pending transactions of one node.
pub struct Chain {
    chain: ChainContext,
    initial_height: u64,
    state: Arc<ConsensusState<RedbNodeDb>>,
    store: Arc<BlockStore>,
    mempool: Arc<Mutex<Mempool>>,
    pruning: Pruning,
    /// Heights whose state the mempool is to be re-checked against, off the commit path.
    recheck: std::sync::mpsc::Sender<Recheck>,
    /// The re-check thread, joined when the chain is dropped (it holds the state).
    rechecker: Option<std::thread::JoinHandle<()>>,
    /// Times this node's own submissions until their commit.
    finality: Arc<FinalityClock>,
}

/// Every this many heights the mempool re-check reads every pending sender's account, not
/// only those the block touched (a safety net for changes no event names, such as a new
/// minimum balance).
const FULL_RECHECK_EVERY: u64 = 64;

/// A re-check of the mempool after a committed height: of the senders the blocks touched,
/// or (`None`) of every sender.
struct Recheck {
    height: u64,
    touched: Option<BTreeSet<Address>>,
}

/// Re-checks the mempool against each newly committed state on a thread of its own, so a
/// commit never waits for it; when heights pile up they are checked as one, at the latest,
/// over the union of what they touched. Ends when the chain is dropped.
fn spawn_rechecker(
    state: Arc<ConsensusState<RedbNodeDb>>,
    mempool: Arc<Mutex<Mempool>>,
) -> (std::sync::mpsc::Sender<Recheck>, Option<std::thread::JoinHandle<()>>) {
    let (heights, pending) = std::sync::mpsc::channel::<Recheck>();
    let spawned = std::thread::Builder::new().name("mempool-recheck".into()).spawn(move || {
        while let Ok(mut next) = pending.recv() {
            while let Ok(later) = pending.try_recv() {
                next.height = next.height.max(later.height);
                next.touched = match (next.touched, later.touched) {
                    (Some(mut a), Some(b)) => {
                        a.extend(b);
                        Some(a)
                    }
                    _ => None,
                };
            }
            let Ok(tree) = state.tree_at(Height(next.height)) else { continue };
            if let Ok(mut mempool) = mempool.lock() {
                let checked = match &next.touched {
                    Some(touched) => mempool.recheck_touched(&tree, next.height, touched),
                    None => mempool.recheck(&tree, next.height),
                };
                if let Err(e) = checked {
                    tracing::warn!(error = %e, "mempool re-check failed");
                }
            }
        }
    });
    match spawned {
        Ok(thread) => (heights, Some(thread)),
        Err(e) => {
            tracing::error!(error = %e, "could not start the mempool re-check thread");
            (heights, None)
        }
    }
}

impl Drop for Chain {
    /// Closes the re-check queue and waits for the thread to end, so that the state
    /// database it holds is released when the chain is (a node reopening its directory
    /// right after must not find it still open).
    fn drop(&mut self) {
        let (closed, _) = std::sync::mpsc::channel();
        drop(std::mem::replace(&mut self.recheck, closed));
        if let Some(thread) = self.rechecker.take() {
            let _ = thread.join();
        }
    }
}

impl Chain {
    /// Binds the parts, replaying any block that was stored but whose state was not
    /// committed before a crash.
    pub fn open(
        chain: ChainContext,
        initial_height: u64,
        state: Arc<ConsensusState<RedbNodeDb>>,
        store: Arc<BlockStore>,
        mempool: Arc<Mutex<Mempool>>,
        pruning: Pruning,
    ) -> Result<Self, ChainError> {
        let (recheck, rechecker) = spawn_rechecker(Arc::clone(&state), Arc::clone(&mempool));
        let finality = Arc::new(FinalityClock::default());
        let this = Self {
            chain,
            initial_height,
            state,
            store,
            mempool,
            pruning,
            recheck,
            rechecker,
            finality,
        };
        this.replay()?;
        this.check_upgrade()?;
        Ok(this)
    }

    /// Stops the node before the first block of an upgrade's epoch if governance passed an
    /// upgrade to a version newer than this software (checked at start-up and after every
    /// block, so a restarted old binary stops at the same place).
    fn check_upgrade(&self) -> Result<(), ChainError> {
        let last = self.last_height()?;
        let tree = self.state.tree_at(Height(last)).map_err(state_err)?;
        let epoch = chain_info::parameters(&tree).map_err(state_err)?.epoch_of(Height(last + 1));
        let running = atoll_consensus::governance::software_version();
        match atoll_consensus::governance::upgrade_due(&tree, epoch, &running).map_err(state_err)? {
            Some(upgrade) => Err(ChainError::UpgradeRequired {
                name: upgrade.name,
                epoch: upgrade.epoch.0,
                version: version_text(&upgrade.version),
                running: version_text(&running),
            }),
            None => Ok(()),
        }
    }

    fn replay(&self) -> Result<(), ChainError> {
        let stored = self.store.latest()?.map_or(0, |h| h.0);
        loop {
            let applied = self.last_height()?;
            if applied >= stored {
                return self.rederive_results(stored);
            }
            let height = applied + 1;
            let block = self.store.block(Height(height))?.ok_or_else(|| {
                ChainError::Inconsistent(format!("block {height} missing from the store"))
            })?;
            tracing::info!(height, "replaying a stored block whose state was not committed");
            self.apply(&block)?;
        }
    }

    /// Results are written after the state commits: a crash in between loses the latest
    /// block's. Applying the block again to the state before it (pure, nothing committed)
    /// gives them back.
    fn rederive_results(&self, height: u64) -> Result<(), ChainError> {
        if height < self.initial_height || self.store.results(Height(height))?.is_some() {
            return Ok(());
        }
        let block = self.store.block(Height(height))?.ok_or_else(|| {
            ChainError::Inconsistent(format!("block {height} missing from the store"))
        })?;
        tracing::info!(height, "re-deriving the results a crash lost");
        let context = self.block_context(&block)?;
        let base = self.state.tree_at(Height(height - 1)).map_err(state_err)?;
        let outcome = atoll_consensus::apply_block(&base, &context, &block.transactions)
            .map_err(state_err)?;
        self.store.put_results(Height(height), block.header.time, &outcome.results())?;
        Ok(())
    }

    /// The chain context.
    pub fn chain_context(&self) -> ChainContext {
        self.chain
    }

    /// The first height of the chain.
    pub fn initial_height(&self) -> u64 {
        self.initial_height
    }

    /// The block store.
    pub fn store(&self) -> &Arc<BlockStore> {
        &self.store
    }

    /// The consensus state.
    pub fn state(&self) -> &Arc<ConsensusState<RedbNodeDb>> {
        &self.state
    }

    /// The mempool.
    pub fn mempool(&self) -> &Arc<Mutex<Mempool>> {
        &self.mempool
    }

    /// The finality clock of this node's submissions.
    pub fn finality(&self) -> &Arc<FinalityClock> {
        &self.finality
    }

    /// The height of the latest committed state (`initial_height - 1` at genesis).
    pub fn last_height(&self) -> Result<u64, ChainError> {
        let root = self
            .state
            .latest()
            .map_err(state_err)?
            .ok_or_else(|| ChainError::Inconsistent("state has no genesis".into()))?;
        Ok(root.version)
    }

    /// The height being decided next.
    pub fn next_height(&self) -> Result<u64, ChainError> {
        Ok(self.last_height()? + 1)
    }

    /// The state root after the last block: the next block's app hash.
    pub fn app_hash(&self) -> Result<Hash, ChainError> {
        let root = self.state.latest().map_err(state_err)?;
        root.map(|r| r.hash).ok_or_else(|| ChainError::Inconsistent("state has no genesis".into()))
    }

    /// The validators of `height` (elected by the state after `height - 1`).
    pub fn validators(&self, height: u64) -> Result<Vec<Validator>, ChainError> {
        let tree = self.state.tree_at(Height(height.saturating_sub(1))).map_err(state_err)?;
        scheduler::validators(&tree).map_err(state_err)
    }

    /// Builds this node's proposal for the next height.
    pub fn build_block(
        &self,
        proposer: PublicKey,
        pending_evidence: &[DoubleSignEvidence],
        time: u64,
    ) -> Result<Block, ChainError> {
        let height = self.next_height()?;
        let tree = self.state.tree_at(Height(height - 1)).map_err(state_err)?;
        let params = chain_info::parameters(&tree).map_err(state_err)?;
        let previous = self.store.block(Height(height - 1))?;
        let last_commit = self.store.certificate(Height(height - 1))?;
        let transactions = self
            .mempool
            .lock()
            .map_err(|_| state_err("mempool lock poisoned"))?
            .select(&BlockLimits::with_gas(params.max_block_gas));
        let mut evidence = Vec::new();
        for e in pending_evidence {
            if evidence.len() >= MAX_EVIDENCE_PER_BLOCK {
                break;
            }
            // One proof per offender is enough: it is slashed and frozen once per block.
            let offender_listed =
                evidence.iter().any(|x: &DoubleSignEvidence| x.validator() == e.validator());
            if !offender_listed && self.check_evidence(e, height, &evidence).is_ok() {
                evidence.push(e.clone());
            }
        }
        let header = BlockHeader {
            chain_context: self.chain,
            height: Height(height),
            time: previous.as_ref().map_or(time, |p| time.max(p.header.time)),
            previous_block_id: previous.as_ref().map_or(Hash::ZERO, Block::id),
            app_hash: self.app_hash()?,
            transactions_root: transactions_root(&transactions),
            proposer,
            epoch: params.epoch_of(Height(height)),
            commit_and_evidence_hash: commit_and_evidence_hash(&last_commit, &evidence),
        };
        let block = Block { header, transactions, last_commit, evidence };
        // The proposer holds its own block to the rules its peers apply: a block they
        // would refuse only wastes the round, so it proposes an empty one instead.
        match self.validate(&block, Some(time))? {
            Ok(()) => Ok(block),
            Err(reason) => {
                tracing::error!(%reason, height, "own proposal is invalid; proposing an empty block");
                let Block { mut header, last_commit, .. } = block;
                header.transactions_root = transactions_root(&[]);
                header.commit_and_evidence_hash = commit_and_evidence_hash(&last_commit, &[]);
                Ok(Block { header, transactions: Vec::new(), last_commit, evidence: Vec::new() })
            }
        }
    }

    /// Decodes a block from a peer (bounded).
    pub fn decode_block(bytes: &[u8]) -> Result<Block, InvalidBlock> {
        decode(bytes, MAX_ENCODED_BLOCK).map_err(|e| invalid(format!("undecodable: {e}")))
    }

    /// Checks a block proposed (or synced) for the next height. A proposal's time may lead
    /// `now` (this node's clock, unix seconds) by at most [`MAX_CLOCK_DRIFT`]; a synced
    /// block (`now` is `None`) was decided by validators that checked its time already.
    pub fn validate(
        &self,
        block: &Block,
        now: Option<u64>,
    ) -> Result<Result<(), InvalidBlock>, ChainError> {
        let height = self.next_height()?;
        let header = &block.header;
        if let Err(e) = block.validate_basic(&self.chain) {
            return Ok(Err(invalid(e.to_string())));
        }
        if let Some(now) = now.filter(|now| header.time > now.saturating_add(MAX_CLOCK_DRIFT)) {
            return Ok(Err(invalid(format!(
                "time {} is more than {MAX_CLOCK_DRIFT} s ahead of this node's clock ({now})",
                header.time
            ))));
        }
        if header.height.0 != height {
            return Ok(Err(invalid(format!(
                "height {} is not the next height {height}",
                header.height
            ))));
        }
        let tree = self.state.tree_at(Height(height - 1)).map_err(state_err)?;
        let params = chain_info::parameters(&tree).map_err(state_err)?;
        if header.epoch != params.epoch_of(header.height) {
            return Ok(Err(invalid("wrong epoch")));
        }
        let validators = scheduler::validators(&tree).map_err(state_err)?;
        if !validators.iter().any(|v| v.consensus_key == header.proposer) {
            return Ok(Err(invalid("proposer is not a validator")));
        }
        let app_hash = self.app_hash()?;
        if height == self.initial_height {
            if header.previous_block_id != Hash::ZERO || block.last_commit.is_some() {
                return Ok(Err(invalid("the first block has no predecessor")));
            }
            if header.app_hash != app_hash {
                return Ok(Err(invalid("app hash is not the genesis state root")));
            }
        } else {
            let previous = self
                .store
                .block(Height(height - 1))?
                .ok_or_else(|| ChainError::Inconsistent(format!("block {} missing", height - 1)))?;
            if let Err(e) = block.validate_follows(&previous, &app_hash) {
                return Ok(Err(invalid(e.to_string())));
            }
            if header.time < previous.header.time {
                return Ok(Err(invalid("time goes backwards")));
            }
            let previous_validators = self.validators(height - 1)?;
            if let Some(commit) = &block.last_commit {
                if let Err(e) = commit.verify(&self.chain, &previous_validators) {
                    return Ok(Err(invalid(format!("last commit: {e}"))));
                }
            }
        }
        if block.evidence.len() > MAX_EVIDENCE_PER_BLOCK {
            return Ok(Err(invalid("too much evidence")));
        }
        for (i, e) in block.evidence.iter().enumerate() {
            if let Err(reason) = self.check_evidence(e, height, &block.evidence[..i]) {
                return Ok(Err(reason));
            }
        }
        Ok(Ok(()))
    }

    fn check_evidence(
        &self,
        evidence: &DoubleSignEvidence,
        height: u64,
        earlier: &[DoubleSignEvidence],
    ) -> Result<(), InvalidBlock> {
        evidence
            .verify(&self.chain, Height(height))
            .map_err(|e| invalid(format!("evidence: {e}")))?;
        // Only while the offender's stake may still be debonding: an entity that reclaimed
        // its escrow right after the offence still has it in its debonding pool for the
        // debonding period, so any evidence accepted finds the stake to slash.
        let window = match self.debonding_blocks(height) {
            Ok(window) => window,
            Err(e) => return Err(invalid(format!("evidence window: {e}"))),
        };
        if height.saturating_sub(evidence.height().0) > window {
            return Err(invalid("evidence older than the debonding period"));
        }
        let key = evidence.key();
        if earlier.iter().any(|e| e.key() == key) {
            return Err(invalid("duplicate evidence"));
        }
        match self.store.evidence_included(&key) {
            Ok(None) => {}
            Ok(Some(_)) => return Err(invalid("evidence already slashed")),
            Err(e) => return Err(invalid(format!("evidence lookup: {e}"))),
        }
        // Judged against the set that voted at the offence's height: a validator that
        // left at an epoch boundary since is still answerable for it.
        let offender = match self.offender(evidence) {
            Ok(found) => found,
            Err(e) => return Err(invalid(format!("evidence lookup: {e}"))),
        };
        if offender.is_none() {
            return Err(invalid("evidence against a key that was not a validator at its height"));
        }
        Ok(())
    }

    /// The debonding period in blocks, under the parameters of the state before `height`.
    fn debonding_blocks(&self, height: u64) -> Result<u64, ChainError> {
        let tree = self.state.tree_at(Height(height.saturating_sub(1))).map_err(state_err)?;
        let epoch_interval = chain_info::parameters(&tree).map_err(state_err)?.epoch_interval;
        let debonding =
            atoll_consensus::staking::parameters(&tree).map_err(state_err)?.debonding_interval;
        Ok(debonding.saturating_mul(epoch_interval))
    }

    /// The validator who signed the evidence's votes, as the set of the evidence's height
    /// lists it.
    fn offender(&self, evidence: &DoubleSignEvidence) -> Result<Option<Validator>, ChainError> {
        let key = evidence.validator();
        let at_offence = self.validators(evidence.height().0)?;
        Ok(at_offence.into_iter().find(|v| v.consensus_key == key))
    }

    /// Stores a decided block with its certificate, then applies it to the state. The
    /// block is durable first: after a crash in between, [`Chain::open`] replays it.
    pub fn commit(
        &self,
        block: &Block,
        certificate: &CommitCertificate,
    ) -> Result<BlockOutcome, ChainError> {
        if certificate.block_id != block.id() || certificate.height != block.header.height {
            return Err(ChainError::Inconsistent("certificate is for another block".into()));
        }
        self.store.put(block, certificate)?;
        let outcome = self.apply(block)?;
        // Off the commit path: the next height need not wait for it.
        let height = block.header.height.0;
        let touched = (!height.is_multiple_of(FULL_RECHECK_EVERY))
            .then(|| crate::mempool::touched_accounts(&block.transactions, &outcome.events));
        let _ = self.recheck.send(Recheck { height, touched });
        self.prune(block.header.height.0)?;
        self.checkpoint(block.header.height.0);
        self.check_upgrade()?;
        Ok(outcome)
    }

    /// Keeps `certificate` for the latest block instead of the one it was committed with if
    /// it verifies and holds more signatures (precommits that arrived after the decision):
    /// the next block's last commit, and so signing credit, then counts them too. Returns
    /// whether it replaced the stored one.
    pub fn record_fuller_certificate(
        &self,
        certificate: &CommitCertificate,
    ) -> Result<bool, ChainError> {
        let height = certificate.height;
        if height.0 != self.last_height()? {
            return Ok(false);
        }
        let Some(stored) = self.store.certificate(height)? else { return Ok(false) };
        if stored.block_id != certificate.block_id
            || certificate.signatures.len() <= stored.signatures.len()
            || certificate.verify(&self.chain, &self.validators(height.0)?).is_err()
        {
            return Ok(false);
        }
        self.store.replace_certificate(height, certificate)?;
        Ok(true)
    }

    fn apply(&self, block: &Block) -> Result<BlockOutcome, ChainError> {
        let context = self.block_context(block)?;
        // Verify once per node: what this node's mempool admitted had its signature
        // verified then (the hash covers the signature), so block application skips it.
        // Hashed before the pool is locked: admissions wait only for the lookups.
        let hashes: Vec<Hash> = block.transactions.iter().map(|tx| Hash::digest(tx)).collect();
        let admitted: std::collections::HashSet<Hash> = {
            let mempool = self.mempool.lock().map_err(|_| state_err("mempool lock poisoned"))?;
            hashes.into_iter().filter(|h| mempool.contains(h)).collect()
        };
        let (_, outcome) = self
            .state
            .apply_verified(&context, &block.transactions, &|hash| admitted.contains(hash))
            .map_err(state_err)?;
        self.store.put_results(block.header.height, block.header.time, &outcome.results())?;
        Ok(outcome)
    }

    /// What the state machine is told about a block: who proposed it, who signed the
    /// previous one, whom its evidence convicts.
    fn block_context(&self, block: &Block) -> Result<BlockContext, ChainError> {
        let height = block.header.height.0;
        let current = self.validators(height)?;
        let previous_set =
            if height > self.initial_height { self.validators(height - 1)? } else { Vec::new() };
        let entity_of = |set: &[Validator], key: &PublicKey| {
            set.iter()
                .find(|v| v.consensus_key == *key)
                .map(|v| Address::from_public_key(&v.entity))
        };
        let previous_proposer = if height > self.initial_height {
            self.store
                .block(Height(height - 1))?
                .and_then(|p| entity_of(&previous_set, &p.header.proposer))
        } else {
            None
        };
        let signers = block
            .last_commit
            .iter()
            .flat_map(|c| c.signatures.iter())
            .filter_map(|s| {
                previous_set
                    .iter()
                    .find(|v| v.consensus_key == s.validator)
                    .map(|v| (Address::from_public_key(&v.entity), v.power))
            })
            .collect();
        // However many offences a block proves against one validator, it is slashed once.
        let mut offenders: Vec<Validator> = Vec::new();
        for e in &block.evidence {
            if let Some(v) = self.offender(e)? {
                if !offenders.iter().any(|o| o.consensus_key == v.consensus_key) {
                    offenders.push(v);
                }
            }
        }
        let evidence = offenders
            .into_iter()
            .map(|v| Misbehavior {
                entity: Address::from_public_key(&v.entity),
                node: Some(v.node_id),
                reason: SlashReason::ConsensusEquivocation,
            })
            .collect();
        Ok(BlockContext {
            height: block.header.height,
            time: block.header.time,
            proposer: entity_of(&current, &block.header.proposer),
            previous_proposer,
            signers,
            evidence,
            previous_block_id: block.header.previous_block_id,
        })
    }

    fn prune(&self, height: u64) -> Result<(), ChainError> {
        let Pruning { keep_state_versions, keep_blocks, .. } = self.pruning;
        if keep_blocks > 0 && height > keep_blocks {
            self.store.prune_below(Height(height - keep_blocks + 1))?;
        }
        // Evidence is judged against the validator set of its own height, which the state
        // just before that height holds: keep every state evidence may still refer to.
        let floor = crate::evidence::MAX_EVIDENCE_AGE + 1;
        let keep = if keep_state_versions == 0 { 0 } else { keep_state_versions.max(floor) };
        if keep > 0 && height > keep && height.is_multiple_of(16) {
            // The states of the checkpoints served to syncing nodes stay too.
            let oldest_checkpoint = self.store.checkpoint_heights()?.first().map(|h| h.0);
            let keep_from = (height - keep + 1).min(oldest_checkpoint.unwrap_or(u64::MAX));
            self.state
                .store()
                .prune(CONSENSUS_NAMESPACE, RootKind::State, keep_from)
                .map_err(state_err)?;
        }
        Ok(())
    }

    /// Makes the checkpoint of the state after `height` if one is due, on a thread of its
    /// own (reading a committed version while consensus goes on), and forgets the oldest
    /// beyond the number to keep.
    fn checkpoint(&self, height: u64) {
        let Pruning { checkpoint_interval, keep_checkpoints, .. } = self.pruning;
        if checkpoint_interval == 0 || !height.is_multiple_of(checkpoint_interval) {
            return;
        }
        let (state, store) = (Arc::clone(&self.state), Arc::clone(&self.store));
        let keep = usize::try_from(keep_checkpoints.max(1)).unwrap_or(usize::MAX);
        let spawned = std::thread::Builder::new().name("checkpoint".into()).spawn(move || {
            let made = (|| -> Result<usize, String> {
                let tree = state.tree_at(Height(height)).map_err(|e| e.to_string())?;
                let manifest = Manifest::of(&tree, CHUNK_KEYS).map_err(|e| e.to_string())?;
                store.put_checkpoint(Height(height), &manifest).map_err(|e| e.to_string())?;
                store.prune_checkpoints(keep).map_err(|e| e.to_string())?;
                Ok(manifest.chunks())
            })();
            match made {
                Ok(chunks) => tracing::info!(height, chunks, "made a state checkpoint"),
                Err(error) => tracing::warn!(height, %error, "could not make a state checkpoint"),
            }
        });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "could not start the checkpoint thread");
        }
    }
}
