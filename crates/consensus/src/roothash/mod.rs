//! Roothash: verification of ParaTime results by discrepancy detection, and commitment of
//! verified results to the chain.
//!
//! Per compute runtime the module keeps the latest runtime block, the epoch's committee
//! (a snapshot), the commitment pool of the round in progress, liveness counts and the
//! queue of incoming messages ([`types::RuntimeState`]).
//!
//! - `roothash.ExecutorCommit` carries signed executor commitments; each is verified
//!   (signature, round, previous block, committee role, scheduler, messages, incoming
//!   messages) and added to the [`pool`]; the pool's verdict is applied at once. An
//!   equivocating commitment is punished on the spot.
//! - At the end of every block the pools whose timeout has come are evaluated again:
//!   timeouts are counted in consensus blocks only.
//! - Finalization executes the scheduler's runtime messages (caller: the runtime's
//!   account), consumes the incoming messages the round took, counts liveness, slashes the
//!   workers whose results disagreed (paying a share to those that agreed) and emits a
//!   `Normal` block. A failed round emits a `RoundFailed` block.
//! - First thing in a new epoch (`Module::end_epoch`, before the elections) the liveness of
//!   the ended epoch is judged (suspension for `2^n` epochs, slashing at
//!   `max_liveness_fails`); then the new committee is taken from the scheduler, with the
//!   runtime's penalties in force, and an `EpochTransition` block (or a `Suspended` one)
//!   advances the round.
//! - `roothash.SubmitMsg` deposits tokens into a runtime (queued as an incoming message);
//!   `roothash.Evidence` punishes a node that signed two different commitments or proposals
//!   for one round.

mod commit;
mod epoch;
mod messages;
pub mod pool;
mod round;
mod slashing;
mod state;
pub mod types;

use atoll_mkvs::{KeyValueRead, Overlay};
use atoll_types::{Address, Amount, Epoch, PublicKey, Round, RuntimeId};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use state::{
    block, block_key, incoming_queue, incoming_queue_len, parameters, runtime_state,
    runtime_state_key, runtime_states,
};
pub use types::{
    batch_hash, EpochCommittee, ExecutorCommitmentBody, HeaderType, LivenessStatistics,
    ProposalHeader, RoothashParameters, RoundContext, RuntimeBlockHeader, RuntimeState,
    SignedCommitment, SignedProposal,
};

use crate::context::{BlockContext, Env};
use crate::error::{CallError, CoreError, ModuleError, StateError};
use crate::events::Event;
use crate::module::{decode_body, Module};
use crate::staking::SlashReason;

/// The module's name.
pub const MODULE_NAME: &str = "roothash";
/// `roothash.ExecutorCommit`
pub const EXECUTOR_COMMIT: &str = "roothash.ExecutorCommit";
/// `roothash.SubmitMsg`
pub const SUBMIT_MSG: &str = "roothash.SubmitMsg";
/// `roothash.Evidence`
pub const EVIDENCE: &str = "roothash.Evidence";

const METHODS: [&str; 3] = [EXECUTOR_COMMIT, SUBMIT_MSG, EVIDENCE];

/// The most commitments one `roothash.ExecutorCommit` carries.
pub const MAX_COMMITMENTS_PER_TX: usize = 64;

/// Body of `roothash.ExecutorCommit`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct ExecutorCommit {
    /// The runtime.
    pub runtime: RuntimeId,
    /// Signed commitments (usually one: the submitting worker's own).
    pub commitments: Vec<SignedCommitment>,
}

/// Body of `roothash.SubmitMsg`: deposit tokens from the caller into a runtime, where `to`
/// (or the caller's own address) is credited when a round takes the message.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct SubmitMsg {
    /// The runtime.
    pub runtime: RuntimeId,
    /// Tokens moved to the runtime's account.
    pub amount: Amount,
    /// The runtime account to credit; the caller's own address if none. An Ethereum
    /// account of an EVM ParaTime is `Address::from_eth` (version byte 1).
    #[serde(default)]
    pub to: Option<Address>,
}

/// Proof that a node signed two different things for one round.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub enum EquivocationEvidence {
    /// Two executor commitments for the same scheduler's batch.
    Commitments(SignedCommitment, SignedCommitment),
    /// Two proposals.
    Proposals(SignedProposal, SignedProposal),
}

/// Body of `roothash.Evidence`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct Evidence {
    /// The runtime.
    pub runtime: RuntimeId,
    /// The evidence.
    pub evidence: EquivocationEvidence,
}

/// Why a roothash transaction was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RoothashError {
    /// A field is invalid.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The runtime is not a registered compute runtime.
    #[error("no such runtime")]
    NoSuchRuntime,
    /// The runtime has no committee this epoch.
    #[error("runtime is suspended")]
    RuntimeSuspended,
    /// A commitment's signature does not verify.
    #[error("invalid commitment signature")]
    InvalidSignature,
    /// The commitment is not for the round in progress.
    #[error("commitment for round {got}, the runtime is at round {expected}")]
    WrongRound {
        /// The round in progress.
        expected: u64,
        /// The commitment's round.
        got: u64,
    },
    /// The commitment does not build on the latest runtime block.
    #[error("commitment does not build on the latest runtime block")]
    WrongPreviousHash,
    /// The node may not commit now.
    #[error("node is not in the committee for this phase")]
    NotInCommittee,
    /// The scheduler is not a worker of the round.
    #[error("scheduler is not a worker")]
    UnknownScheduler,
    /// The commitment's runtime messages are invalid.
    #[error("invalid runtime messages: {0}")]
    InvalidMessages(&'static str),
    /// The commitment's incoming messages do not match the queue.
    #[error("incoming messages do not match the queue")]
    InvalidIncomingMessages,
    /// The node already committed this.
    #[error("duplicate commitment")]
    Duplicate,
    /// The round is already decided.
    #[error("the round is already decided")]
    RoundDecided,
    /// The runtime's incoming queue is full.
    #[error("incoming message queue is full")]
    QueueFull,
    /// The deposit is below the minimum.
    #[error("deposit below the minimum")]
    DepositTooSmall,
    /// The evidence does not prove anything punishable.
    #[error("invalid evidence: {0}")]
    InvalidEvidence(&'static str),
    /// A scheduler committed failure on its own batch.
    #[error("a scheduler may not commit failure on its own batch")]
    SchedulerFailure,
}

impl ModuleError for RoothashError {
    fn module(&self) -> &'static str {
        MODULE_NAME
    }

    fn code(&self) -> u32 {
        match self {
            RoothashError::InvalidArgument(_) => 1,
            RoothashError::NoSuchRuntime => 2,
            RoothashError::RuntimeSuspended => 3,
            RoothashError::InvalidSignature => 4,
            RoothashError::WrongRound { .. } => 5,
            RoothashError::WrongPreviousHash => 6,
            RoothashError::NotInCommittee => 7,
            RoothashError::UnknownScheduler => 8,
            RoothashError::InvalidMessages(_) => 9,
            RoothashError::InvalidIncomingMessages => 10,
            RoothashError::Duplicate => 11,
            RoothashError::RoundDecided => 12,
            RoothashError::QueueFull => 13,
            RoothashError::DepositTooSmall => 14,
            RoothashError::InvalidEvidence(_) => 15,
            RoothashError::SchedulerFailure => 16,
        }
    }
}

/// Roothash events.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RoothashEvent {
    /// A runtime block was made (any kind).
    Block {
        /// Its header.
        header: RuntimeBlockHeader,
    },
    /// A commitment entered the pool.
    ExecutorCommitted {
        /// The runtime.
        runtime: RuntimeId,
        /// The round.
        round: Round,
        /// The committing node.
        node: PublicKey,
        /// The scheduler whose batch it executed.
        scheduler: PublicKey,
        /// Whether it indicates failure.
        failure: bool,
    },
    /// The primary workers disagree (or some timed out): backup workers must execute the
    /// scheduler's batch.
    ExecutionDiscrepancyDetected {
        /// The runtime.
        runtime: RuntimeId,
        /// The round.
        round: Round,
        /// Whose batch the backups execute.
        scheduler: PublicKey,
        /// That scheduler's rank.
        rank: u64,
        /// Whether the timeout declared it.
        timeout: bool,
    },
    /// A round was finalized.
    Finalized {
        /// The runtime.
        runtime: RuntimeId,
        /// The round.
        round: Round,
        /// Whether backups had to resolve a discrepancy.
        discrepancy: bool,
        /// Nodes whose results were accepted.
        good: Vec<PublicKey>,
        /// Nodes whose results disagreed.
        bad: Vec<PublicKey>,
    },
    /// A round failed.
    RoundFailed {
        /// The runtime.
        runtime: RuntimeId,
        /// The round that failed.
        round: Round,
    },
    /// A runtime message was executed.
    Message {
        /// The runtime.
        runtime: RuntimeId,
        /// Its result.
        result: atoll_types::MessageResult,
    },
    /// A deposit was queued for a runtime.
    IncomingMessageQueued {
        /// The runtime.
        runtime: RuntimeId,
        /// The message.
        message: atoll_types::IncomingMessage,
    },
    /// A node was slashed for misbehaviour in a runtime.
    NodeSlashed {
        /// The runtime.
        runtime: RuntimeId,
        /// The node.
        node: PublicKey,
        /// Why.
        reason: SlashReason,
        /// Tokens taken from its entity's escrow.
        amount: Amount,
    },
    /// A worker missed its liveness threshold in an epoch.
    LivenessFault {
        /// The runtime.
        runtime: RuntimeId,
        /// The node.
        node: PublicKey,
        /// Its failures so far.
        failures: u8,
        /// It is not elected before this epoch.
        suspended_until: Epoch,
    },
}

/// The roothash part of genesis: its parameters (runtimes come from the registry).
pub(crate) fn init_genesis(
    state: &mut Overlay<'_>,
    env: &Env,
    params: &RoothashParameters,
) -> Result<(), StateError> {
    crate::state::put(state, &state::PARAMETERS, params)?;
    epoch::init_runtimes(state, env)
}

/// The roothash module.
pub struct Roothash;

impl Module for Roothash {
    fn name(&self) -> &'static str {
        MODULE_NAME
    }

    fn begin_block(
        &self,
        state: &mut Overlay<'_>,
        env: &Env,
        _ctx: &BlockContext,
        epoch_changed: Option<Epoch>,
        events: &mut Vec<Event>,
    ) -> Result<(), StateError> {
        if epoch_changed.is_some() {
            epoch::transition(state, env, events)?;
        }
        Ok(())
    }

    fn end_epoch(
        &self,
        state: &mut Overlay<'_>,
        env: &Env,
        events: &mut Vec<Event>,
    ) -> Result<(), StateError> {
        epoch::close_epoch(state, env, events)
    }

    fn end_block(
        &self,
        state: &mut Overlay<'_>,
        env: &Env,
        events: &mut Vec<Event>,
    ) -> Result<(), StateError> {
        round::process_timeouts(state, env, events)
    }

    fn gas_cost(&self, state: &dyn KeyValueRead, method: &str) -> Result<Option<u64>, StateError> {
        Ok(METHODS.contains(&method).then_some(parameters(state)?.gas_cost))
    }

    /// A commitment transaction pays `message_gas_cost` per runtime message its commitments
    /// carry: the consensus layer executes them when the round is finalized.
    fn body_gas(
        &self,
        state: &dyn KeyValueRead,
        method: &str,
        body: &[u8],
    ) -> Result<u64, StateError> {
        if method != EXECUTOR_COMMIT {
            return Ok(0);
        }
        // A body that does not decode fails in delivery anyway.
        let Ok(commit) = atoll_types::decode::<ExecutorCommit>(body, body.len()) else {
            return Ok(0);
        };
        let messages: u64 = commit
            .commitments
            .iter()
            .filter_map(|c| c.decode_verified_elsewhere().ok())
            .map(|b| b.messages.len() as u64)
            .sum();
        Ok(messages.saturating_mul(parameters(state)?.message_gas_cost))
    }

    fn deliver(
        &self,
        state: &mut Overlay<'_>,
        env: &Env,
        caller: &Address,
        method: &str,
        bytes: &[u8],
        events: &mut Vec<Event>,
    ) -> Result<(), CallError> {
        match method {
            EXECUTOR_COMMIT => commit::executor_commit(state, env, &decode_body(bytes)?, events),
            SUBMIT_MSG => messages::submit_msg(state, caller, &decode_body(bytes)?, events),
            EVIDENCE => slashing::evidence(state, env, caller, &decode_body(bytes)?, events),
            other => Err(CoreError::UnknownMethod(other.to_owned()).into()),
        }
    }
}
