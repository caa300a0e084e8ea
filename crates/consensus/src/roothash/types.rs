//! Roothash values: runtime blocks, signed executor commitments and proposals, the
//! per-runtime state, liveness statistics and the module's parameters.

use atoll_types::{
    Amount, Hash, Height, PublicKey, Round, RuntimeId, RuntimeMessage, Signable, SignatureContext,
    Signed,
};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::registry::types::RuntimePenalties;

use super::pool::{CommitmentPool, ComputeResultsHeader, PoolCommittee};
use atoll_types::MessageResult;

/// What kind of round a runtime block closes. Every kind advances the round.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum HeaderType {
    /// A round whose results the committee verified.
    Normal,
    /// A round that failed: the state is unchanged and its transactions go back to the pool.
    RoundFailed,
    /// A new epoch (and committee) started; the state is unchanged.
    EpochTransition,
    /// The runtime was suspended (no committee); the state is unchanged.
    Suspended,
}

/// A runtime block header: what the consensus layer commits to for each round.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuntimeBlockHeader {
    /// The runtime.
    pub runtime: RuntimeId,
    /// The round.
    pub round: Round,
    /// The consensus time the round executed with (informational): for a `Normal` block,
    /// that of its round's context block ([`RoundContext`]), the `time` its batch saw; for
    /// the blocks the chain makes without results, that of the block that made them.
    pub timestamp: u64,
    /// Its kind.
    pub header_type: HeaderType,
    /// Hash of the previous runtime block (zero for the genesis block).
    pub previous_hash: Hash,
    /// The round's I/O root (zero unless `Normal`).
    pub io_root: Hash,
    /// The runtime's state root after the round.
    pub state_root: Hash,
    /// Hash of the runtime messages the round emitted.
    pub messages_hash: Hash,
    /// Hash of the incoming messages the round consumed.
    pub in_msgs_hash: Hash,
}

impl RuntimeBlockHeader {
    /// The block's hash: what the next round's commitments name as previous.
    pub fn hash(&self) -> Hash {
        Hash::of_encoded(self)
    }

    /// The genesis block of a runtime: round 0, empty state.
    pub fn genesis(runtime: RuntimeId, timestamp: u64) -> Self {
        Self {
            runtime,
            round: Round(0),
            timestamp,
            header_type: HeaderType::Normal,
            previous_hash: Hash::ZERO,
            io_root: Hash::ZERO,
            state_root: Hash::ZERO,
            messages_hash: Hash::ZERO,
            in_msgs_hash: Hash::ZERO,
        }
    }

    /// The `Normal` block that finalizes `results` for `runtime`; `timestamp` is its
    /// round's context time. A worker that executed the round knows it before the chain.
    pub fn normal(runtime: RuntimeId, results: &ComputeResultsHeader, timestamp: u64) -> Self {
        Self {
            runtime,
            round: results.round,
            timestamp,
            header_type: HeaderType::Normal,
            previous_hash: results.previous_hash,
            io_root: results.io_root,
            state_root: results.state_root,
            messages_hash: results.messages_hash,
            in_msgs_hash: results.in_msgs_hash,
        }
    }

    /// The block that follows this one without results (failed round, epoch transition,
    /// suspension): the state root stays.
    pub fn successor(&self, header_type: HeaderType, timestamp: u64) -> Option<Self> {
        Some(Self {
            runtime: self.runtime,
            round: self.round.checked_next()?,
            timestamp,
            header_type,
            previous_hash: self.hash(),
            io_root: Hash::ZERO,
            state_root: self.state_root,
            messages_hash: Hash::ZERO,
            in_msgs_hash: Hash::ZERO,
        })
    }
}

/// What an executor signs: its results for one round of one runtime, computed on the batch
/// of `scheduler`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ExecutorCommitmentBody {
    /// The runtime.
    pub runtime: RuntimeId,
    /// The round.
    pub round: Round,
    /// The proposer whose batch was executed.
    pub scheduler: PublicKey,
    /// The results, or `None` for a failure-indicating commitment.
    pub header: Option<ComputeResultsHeader>,
    /// The runtime messages of the round: only the scheduler's commitment carries them.
    pub messages: Vec<RuntimeMessage>,
}

impl Signable for ExecutorCommitmentBody {
    const CONTEXT: SignatureContext = SignatureContext::new("atoll/roothash: executor commitment");
    const MAX_SIZE: usize = 256 * 1024;
}

/// A signed executor commitment; the signer is the worker's node id.
pub type SignedCommitment = Signed<ExecutorCommitmentBody>;

/// What a proposer signs: the batch it proposes for a round (its transactions travel over
/// the ParaTime's p2p network; this header binds them).
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ProposalHeader {
    /// The runtime.
    pub runtime: RuntimeId,
    /// The round.
    pub round: Round,
    /// Hash of the runtime block the batch builds on.
    pub previous_hash: Hash,
    /// Hash of the batch: of the list of its transactions' hashes.
    pub batch_hash: Hash,
    /// How many queued incoming messages the batch consumes.
    pub in_msgs_count: u32,
}

impl Signable for ProposalHeader {
    const CONTEXT: SignatureContext = SignatureContext::new("atoll/roothash: proposal");
    const MAX_SIZE: usize = 1024;
}

/// A signed proposal; the signer is the proposer's node id.
pub type SignedProposal = Signed<ProposalHeader>;

/// The batch hash of a list of transactions, given their hashes (SHA-256 of each
/// transaction's bytes) in order: the hash of that list.
pub fn batch_hash(tx_hashes: &[Hash]) -> Hash {
    Hash::of_encoded(tx_hashes)
}

/// Per-epoch liveness counts of a runtime's primary workers.
#[derive(
    Clone, PartialEq, Eq, Debug, Default, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub struct LivenessStatistics {
    /// Rounds finalized this epoch (failed rounds do not count against the workers).
    pub total_rounds: u64,
    /// Per primary worker (by index in the committee): rounds in which its vote was good.
    pub live_rounds: Vec<u64>,
    /// Per primary worker: finalized rounds it scheduled.
    pub finalized_proposals: Vec<u64>,
    /// Per primary worker: rounds it should have scheduled and did not get finalized (the
    /// round failed on its batch, or a worse-ranked proposer's batch was finalized).
    pub missed_proposals: Vec<u64>,
}

impl LivenessStatistics {
    /// Empty statistics for `workers` primary workers.
    pub fn new(workers: usize) -> Self {
        Self {
            total_rounds: 0,
            live_rounds: vec![0; workers],
            finalized_proposals: vec![0; workers],
            missed_proposals: vec![0; workers],
        }
    }
}

/// The committee the roothash uses this epoch: a snapshot taken at the epoch transition,
/// so mid-epoch changes to the runtime's descriptor cannot change a running round.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct EpochCommittee {
    /// The epoch.
    pub epoch: atoll_types::Epoch,
    /// Workers, backups, stragglers and timeout.
    pub pool: PoolCommittee,
    /// Most runtime messages per round.
    pub max_messages: u32,
    /// The liveness rule and slash amounts in force for the epoch.
    pub penalties: RuntimePenalties,
}

/// The consensus block a round executes with: its time, randomness and the results of the
/// runtime messages it executed.
///
/// Round `n` takes the block that made runtime block `n - 2`, not the one that made
/// `n - 1`. So everything a round's batch reads is fixed before the round before it is
/// finalized, and the next round can be executed while the previous one's commitments are
/// still on their way to the chain. Results of a round that failed are carried to the next.
#[derive(
    Clone, PartialEq, Eq, Debug, Default, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub struct RoundContext {
    /// The block's height.
    pub height: Height,
    /// The block's time: the batch's `time`.
    pub time: u64,
    /// The beacon's entropy in that block: the seed of the round's randomness.
    pub entropy: Hash,
    /// Results of the runtime messages executed in that block (and of the contexts of
    /// failed rounds before it), in order.
    pub message_results: Vec<MessageResult>,
}

impl RoundContext {
    /// The round's randomness: the context's entropy bound to the runtime and the round, so
    /// every worker and backup of the round gets the same value and no proposer chooses it.
    pub fn randomness(&self, runtime: &RuntimeId, round: Round) -> Hash {
        Hash::digest_parts(&[
            b"atoll/runtime: round randomness",
            self.entropy.as_bytes(),
            runtime.as_bytes(),
            &round.0.to_be_bytes(),
        ])
    }
}

/// Everything the roothash keeps about one runtime.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct RuntimeState {
    /// The runtime.
    pub runtime: RuntimeId,
    /// Whether it is suspended (no committee).
    pub suspended: bool,
    /// The latest runtime block.
    pub last_block: RuntimeBlockHeader,
    /// The consensus height it was made at.
    pub last_block_height: Height,
    /// The latest `Normal` round.
    pub last_normal_round: Round,
    /// The consensus height of that round.
    pub last_normal_height: Height,
    /// The committee of the epoch, if the runtime is served.
    pub committee: Option<EpochCommittee>,
    /// The pool of the round in progress.
    pub pool: Option<CommitmentPool>,
    /// The signed commitments the pool holds (the scheduler's carries the messages; any of
    /// them may become equivocation evidence).
    pub commitments: Vec<SignedCommitment>,
    /// Primary workers' signed commitments for the round after the one in progress, held
    /// until it is decided (their signatures and shape checked; their previous block and
    /// incoming messages are checked when they are added to that round's pool).
    pub early_commitments: Vec<SignedCommitment>,
    /// Liveness counts of the epoch.
    pub liveness: LivenessStatistics,
    /// What the next round (`last_block.round + 1`) executes with: the block that made the
    /// runtime block before the latest one.
    pub context: RoundContext,
    /// What the round after it executes with: the block that made the latest runtime block.
    pub next_context: RoundContext,
    /// The id the next incoming message gets.
    pub next_in_msg_id: u64,
}

impl RuntimeState {
    /// The commitments the pool holds, decoded: `(node, body)`. Their signatures were
    /// verified when they were added, so they are not verified again here.
    pub fn commitment_bodies(
        &self,
    ) -> impl Iterator<Item = (PublicKey, ExecutorCommitmentBody)> + '_ {
        self.commitments
            .iter()
            .filter_map(|c| Some((*c.signer(), c.decode_verified_elsewhere().ok()?)))
    }
}

/// The roothash module's parameters.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoothashParameters {
    /// Gas of each roothash method.
    pub gas_cost: u64,
    /// Most incoming messages queued per runtime.
    pub max_in_messages: u32,
    /// The smallest deposit (`roothash.SubmitMsg`).
    pub min_deposit: Amount,
    /// Percentage of an incorrect-results slash paid to the entities whose workers voted
    /// for the accepted results (the rest goes to the common pool).
    pub slash_reward_percent: u8,
    /// Percentage of an equivocation slash paid to the reporter.
    pub evidence_reward_percent: u8,
    /// Past runtime blocks kept per runtime.
    pub max_past_blocks: u64,
    /// Gas a commitment transaction pays per runtime message it carries.
    #[serde(default = "default_message_gas_cost")]
    pub message_gas_cost: u64,
}

fn default_message_gas_cost() -> u64 {
    1_000
}

impl RoothashParameters {
    /// Checks the parameters are usable (at genesis and for a governance change).
    pub fn validate(&self) -> Result<(), String> {
        if self.slash_reward_percent > 100 || self.evidence_reward_percent > 100 {
            return Err("reward percentages must be at most 100".into());
        }
        if self.gas_cost == 0 || self.max_past_blocks == 0 || self.max_in_messages == 0 {
            return Err("gas_cost, max_past_blocks and max_in_messages must be positive".into());
        }
        Ok(())
    }
}

impl Default for RoothashParameters {
    fn default() -> Self {
        Self {
            gas_cost: 1_000,
            max_in_messages: 256,
            min_deposit: Amount::new(1),
            slash_reward_percent: 50,
            evidence_reward_percent: 50,
            max_past_blocks: 1_000,
            message_gas_cost: default_message_gas_cost(),
        }
    }
}
