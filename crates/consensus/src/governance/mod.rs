//! The governance module: proposals (parameter changes, upgrades, cancelling upgrades)
//! decided by stake-weighted votes of validator entities and their delegators.
//!
//! A proposal carries a deposit and closes `voting_period` epochs after submission. At
//! close, each validator entity's active escrow is counted: a delegator that voted counts
//! its own share of that escrow with its own vote; the rest counts with the entity's vote.
//! A proposal passes when `yes` reaches `stake_threshold_percent` of all the validators'
//! escrow (as in the reference: abstaining or not voting counts against). A passed proposal
//! is executed and its deposit returned; a rejected one's deposit goes to the common pool.
//! A parameter change that no longer applies when it passes fails: nothing changes and the
//! deposit is returned.

mod parameters;

pub use parameters::{ParameterChange, ParametersModule};

use atoll_mkvs::{KeyValueRead, Overlay};
use atoll_types::{Address, Amount, Epoch, PublicKey};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::context::{BlockContext, Env};
use crate::error::{CallError, CoreError, ModuleError, StateError};
use crate::events::Event;
use crate::module::{decode_body, Module};
use crate::registry::types::Version;
use crate::scheduler;
use crate::staking::{self, methods::Transfer};
use crate::state::{self, key, prefix};

/// The module's name.
pub const MODULE_NAME: &str = "governance";
/// `governance.SubmitProposal`
pub const SUBMIT_PROPOSAL: &str = "governance.SubmitProposal";
/// `governance.CastVote`
pub const CAST_VOTE: &str = "governance.CastVote";

pub(crate) const PARAMETERS: [u8; 2] = [prefix::GOVERNANCE, 0x01];
const NEXT_ID: [u8; 2] = [prefix::GOVERNANCE, 0x02];
const PROPOSALS: [u8; 2] = [prefix::GOVERNANCE, 0x03];
const VOTES: [u8; 2] = [prefix::GOVERNANCE, 0x04];
const UPGRADES: [u8; 2] = [prefix::GOVERNANCE, 0x05];
/// Active proposals by the epoch they close at: `closes_at (BE) || id (BE)` -> `()`, so
/// closing reads only the proposals due, never every proposal ever made.
const CLOSING: [u8; 2] = [prefix::GOVERNANCE, 0x06];

fn closing_key(closes_at: Epoch, id: u64) -> Vec<u8> {
    key(&[&CLOSING, &closes_at.0.to_be_bytes(), &id.to_be_bytes()])
}

/// The account holding proposal deposits.
pub fn deposits_address() -> Address {
    Address::reserved("governance-deposits")
}

/// Governance parameters.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GovernanceParameters {
    /// Deposit a proposal must carry.
    pub min_proposal_deposit: Amount,
    /// Epochs a proposal is open for voting.
    pub voting_period: u64,
    /// Yes must reach this percentage of all validators' escrow.
    pub stake_threshold_percent: u8,
    /// An upgrade must be at least this many epochs after the proposal closes.
    pub upgrade_min_epoch_diff: u64,
    /// Gas cost of each method.
    pub gas_cost: u64,
}

impl GovernanceParameters {
    /// Checks the parameters are usable: percentages in range and non-zero where zero
    /// would let anything pass or cost nothing.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=100).contains(&self.stake_threshold_percent) {
            return Err("stake_threshold_percent must be in 1..=100".into());
        }
        if self.voting_period == 0 || self.gas_cost == 0 || self.min_proposal_deposit.is_zero() {
            return Err("voting_period, gas_cost and min_proposal_deposit must be positive".into());
        }
        Ok(())
    }
}

impl Default for GovernanceParameters {
    fn default() -> Self {
        Self {
            min_proposal_deposit: Amount::new(100),
            voting_period: 2,
            stake_threshold_percent: 68,
            upgrade_min_epoch_diff: 2,
            gas_cost: 1_000,
        }
    }
}

/// A pending network upgrade: nodes halt at `epoch` unless they run `version`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Upgrade {
    /// A name for operators.
    pub name: String,
    /// The epoch at which the upgrade happens.
    pub epoch: Epoch,
    /// The node version required from then on.
    pub version: Version,
}

/// What a proposal does if it passes.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProposalContent {
    /// Change a module's parameters.
    ChangeParameters(ParameterChange),
    /// Schedule an upgrade.
    Upgrade(Upgrade),
    /// Cancel the upgrade scheduled by proposal `id`.
    CancelUpgrade {
        /// The upgrade proposal.
        proposal_id: u64,
    },
}

/// A vote.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Vote {
    /// For.
    Yes,
    /// Against.
    No,
    /// Counted for quorum only.
    Abstain,
}

/// Where a proposal stands.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProposalState {
    /// Open for votes.
    Active,
    /// Passed and executed.
    Passed,
    /// Rejected (too little stake voted yes).
    Rejected,
    /// Passed, but its parameter change no longer applied (nothing changed).
    Failed,
}

/// Stake behind each vote.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Default,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Tally {
    /// Yes.
    pub yes: Amount,
    /// No.
    pub no: Amount,
    /// Abstain.
    pub abstain: Amount,
    /// All validators' active escrow.
    pub eligible: Amount,
}

/// A proposal.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Proposal {
    /// Its id.
    pub id: u64,
    /// Who submitted it.
    pub submitter: Address,
    /// The deposit held.
    pub deposit: Amount,
    /// What it does.
    pub content: ProposalContent,
    /// Submitted in this epoch.
    pub created_at: Epoch,
    /// Tallied at the start of this epoch.
    pub closes_at: Epoch,
    /// Where it stands.
    pub state: ProposalState,
    /// The result, once closed.
    pub tally: Option<Tally>,
}

/// Body of `governance.SubmitProposal`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubmitProposal {
    /// What the proposal does.
    pub content: ProposalContent,
    /// The deposit (at least the minimum).
    pub deposit: Amount,
}

/// Body of `governance.CastVote`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CastVote {
    /// The proposal.
    pub proposal_id: u64,
    /// The vote.
    pub vote: Vote,
}

/// Why a governance transaction was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GovernanceError {
    /// The proposal content is invalid.
    #[error("invalid proposal: {0}")]
    InvalidProposal(String),
    /// The deposit is below the minimum or cannot be paid.
    #[error("insufficient deposit")]
    InsufficientDeposit,
    /// No such proposal.
    #[error("no such proposal")]
    NoSuchProposal,
    /// The proposal is closed.
    #[error("proposal is closed")]
    Closed,
    /// The caller is neither a validator entity nor a delegator to one.
    #[error("not eligible to vote")]
    NotEligible,
}

impl ModuleError for GovernanceError {
    fn module(&self) -> &'static str {
        MODULE_NAME
    }

    fn code(&self) -> u32 {
        match self {
            GovernanceError::InvalidProposal(_) => 1,
            GovernanceError::InsufficientDeposit => 2,
            GovernanceError::NoSuchProposal => 3,
            GovernanceError::Closed => 4,
            GovernanceError::NotEligible => 5,
        }
    }
}

/// Governance events.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum GovernanceEvent {
    /// A proposal was submitted.
    ProposalSubmitted {
        /// Its id.
        id: u64,
    },
    /// A vote was cast.
    VoteCast {
        /// The proposal.
        id: u64,
        /// The voter.
        voter: Address,
        /// The vote.
        vote: Vote,
    },
    /// A proposal closed.
    ProposalClosed {
        /// Its id.
        id: u64,
        /// Passed or rejected.
        state: ProposalState,
    },
}

/// The governance parameters.
pub fn parameters(state: &dyn KeyValueRead) -> Result<GovernanceParameters, StateError> {
    state::require(state, &PARAMETERS, "governance parameters")
}

/// The state key of a proposal (for proofs).
pub fn proposal_key(id: u64) -> Vec<u8> {
    key(&[&PROPOSALS, &id.to_be_bytes()])
}

/// A proposal.
pub fn proposal(state: &dyn KeyValueRead, id: u64) -> Result<Option<Proposal>, StateError> {
    state::get(state, &key(&[&PROPOSALS, &id.to_be_bytes()]))
}

/// The first [`crate::staking::query::MAX_LIST`] proposals, by id (what the API lists: its
/// cost does not grow with the number of proposals ever made).
pub fn proposals(state: &dyn KeyValueRead) -> Result<Vec<Proposal>, StateError> {
    proposals_after(state, None)
}

/// The page of [`proposals`] after proposal id `after`.
pub fn proposals_after(
    state: &dyn KeyValueRead,
    after: Option<u64>,
) -> Result<Vec<Proposal>, StateError> {
    let limit = crate::staking::query::MAX_LIST;
    let after = after.map(u64::to_be_bytes);
    Ok(state::scan_page::<Proposal>(
        state,
        &PROPOSALS,
        after.as_ref().map(|a| a.as_slice()),
        limit,
    )?
    .into_iter()
    .map(|(_, p)| p)
    .collect())
}

/// The first [`crate::staking::query::MAX_LIST`] votes on a proposal, by voter (the API's
/// list; tallies read them all through [`votes`]).
pub fn listed_votes(state: &dyn KeyValueRead, id: u64) -> Result<Vec<(Address, Vote)>, StateError> {
    votes_page(state, id, None, crate::staking::query::MAX_LIST)
}

/// The page of [`listed_votes`] after voter `after`.
pub fn listed_votes_after(
    state: &dyn KeyValueRead,
    id: u64,
    after: Option<&Address>,
) -> Result<Vec<(Address, Vote)>, StateError> {
    votes_page(state, id, after, crate::staking::query::MAX_LIST)
}

/// The votes on a proposal, by voter.
pub fn votes(state: &dyn KeyValueRead, id: u64) -> Result<Vec<(Address, Vote)>, StateError> {
    votes_page(state, id, None, usize::MAX)
}

fn votes_page(
    state: &dyn KeyValueRead,
    id: u64,
    after: Option<&Address>,
    limit: usize,
) -> Result<Vec<(Address, Vote)>, StateError> {
    let prefix = key(&[&VOTES, &id.to_be_bytes()]);
    let after = after.map(|a| a.as_bytes().as_slice());
    state::scan_page::<Vote>(state, &prefix, after, limit)?
        .into_iter()
        .map(|(k, v)| {
            let address =
                crate::staking::query::address_from(&k[prefix.len()..]).ok_or_else(|| {
                    StateError::Corrupt { key: state::hex(&k), reason: "vote key".into() }
                })?;
            Ok((address, v))
        })
        .collect()
}

/// Upgrades scheduled by passed proposals, by proposal id.
pub fn pending_upgrades(state: &dyn KeyValueRead) -> Result<Vec<(u64, Upgrade)>, StateError> {
    state::scan::<Upgrade>(state, &UPGRADES)?
        .into_iter()
        .map(|(k, u)| {
            let mut id = [0u8; 8];
            id.copy_from_slice(k.get(2..10).ok_or_else(|| StateError::Corrupt {
                key: state::hex(&k),
                reason: "upgrade key".into(),
            })?);
            Ok((u64::from_be_bytes(id), u))
        })
        .collect()
}

/// The version of this software, as upgrades name it.
pub fn software_version() -> Version {
    let part = |s: &str| s.parse().unwrap_or(0);
    Version {
        major: part(env!("CARGO_PKG_VERSION_MAJOR")),
        minor: part(env!("CARGO_PKG_VERSION_MINOR")),
        patch: part(env!("CARGO_PKG_VERSION_PATCH")),
    }
}

/// The passed upgrade a node running `running` must stop for before a block of `epoch`:
/// one whose epoch has come and whose version is newer than `running`.
pub fn upgrade_due(
    state: &dyn KeyValueRead,
    epoch: Epoch,
    running: &Version,
) -> Result<Option<Upgrade>, StateError> {
    Ok(pending_upgrades(state)?
        .into_iter()
        .map(|(_, upgrade)| upgrade)
        .filter(|u| u.epoch <= epoch && u.version > *running)
        .min_by_key(|u| u.epoch))
}

fn validate_content(
    state: &dyn KeyValueRead,
    env: &Env,
    content: &ProposalContent,
    closes_at: Epoch,
) -> Result<(), GovernanceError> {
    let invalid = |s: String| GovernanceError::InvalidProposal(s);
    match content {
        ProposalContent::ChangeParameters(change) => {
            match parameters::check(state, change).map_err(|e| invalid(e.to_string()))? {
                Ok(_) => Ok(()),
                Err(why) => Err(invalid(why)),
            }
        }
        ProposalContent::Upgrade(upgrade) => {
            let diff =
                parameters(state).map_err(|e| invalid(e.to_string()))?.upgrade_min_epoch_diff;
            if upgrade.epoch.0 < closes_at.0.saturating_add(diff)
                || upgrade.name.is_empty()
                || upgrade.name.len() > 64
            {
                return Err(invalid(format!(
                    "upgrade must be named and at least {diff} epochs after the vote closes"
                )));
            }
            Ok(())
        }
        ProposalContent::CancelUpgrade { proposal_id } => {
            let pending = pending_upgrades(state).map_err(|e| invalid(e.to_string()))?;
            match pending.iter().find(|(id, _)| id == proposal_id) {
                Some((_, upgrade)) if upgrade.epoch > closes_at && upgrade.epoch > env.epoch => {
                    Ok(())
                }
                Some(_) => Err(invalid("the upgrade happens before the vote would close".into())),
                None => Err(invalid("no such pending upgrade".into())),
            }
        }
    }
}

fn submit(
    state: &mut Overlay<'_>,
    env: &Env,
    caller: &Address,
    body: &SubmitProposal,
    events: &mut Vec<Event>,
) -> Result<(), CallError> {
    let params = parameters(state)?;
    if body.deposit < params.min_proposal_deposit {
        return Err(GovernanceError::InsufficientDeposit.into());
    }
    let closes_at = Epoch(env.epoch.0.saturating_add(params.voting_period));
    validate_content(state, env, &body.content, closes_at)?;
    staking::methods::move_tokens(state, caller, &deposits_address(), body.deposit)
        .map_err(|_| GovernanceError::InsufficientDeposit)?;
    let id: u64 = state::get(state, &NEXT_ID)?.unwrap_or(0);
    state::put(state, &NEXT_ID, &(id + 1))?;
    let proposal = Proposal {
        id,
        submitter: *caller,
        deposit: body.deposit,
        content: body.content.clone(),
        created_at: env.epoch,
        closes_at,
        state: ProposalState::Active,
        tally: None,
    };
    state::put(state, &key(&[&PROPOSALS, &id.to_be_bytes()]), &proposal)?;
    state::put(state, &closing_key(closes_at, id), &())?;
    events.push(Event::Governance(GovernanceEvent::ProposalSubmitted { id }));
    Ok(())
}

/// Validator entities (unique, in id order).
fn validator_entities(state: &dyn KeyValueRead) -> Result<Vec<PublicKey>, StateError> {
    let mut entities: Vec<PublicKey> =
        scheduler::validators(state)?.into_iter().map(|v| v.entity).collect();
    entities.sort();
    entities.dedup();
    Ok(entities)
}

fn cast_vote(
    state: &mut Overlay<'_>,
    caller: &Address,
    body: &CastVote,
    events: &mut Vec<Event>,
) -> Result<(), CallError> {
    let proposal = proposal(state, body.proposal_id)?.ok_or(GovernanceError::NoSuchProposal)?;
    if proposal.state != ProposalState::Active {
        return Err(GovernanceError::Closed.into());
    }
    let mut eligible = false;
    for entity in validator_entities(state)? {
        let escrow = Address::from_public_key(&entity);
        if escrow == *caller || staking::delegation(state, &escrow, caller)?.shares.0 > 0 {
            eligible = true;
            break;
        }
    }
    if !eligible {
        return Err(GovernanceError::NotEligible.into());
    }
    state::put(
        state,
        &key(&[&VOTES, &body.proposal_id.to_be_bytes(), caller.as_bytes()]),
        &body.vote,
    )?;
    events.push(Event::Governance(GovernanceEvent::VoteCast {
        id: body.proposal_id,
        voter: *caller,
        vote: body.vote,
    }));
    Ok(())
}

/// Counts the votes on a proposal by stake.
pub fn tally(state: &dyn KeyValueRead, id: u64) -> Result<Tally, StateError> {
    let overflow = || StateError::Overflow("tally");
    let votes: std::collections::BTreeMap<Address, Vote> = votes(state, id)?.into_iter().collect();
    let mut tally = Tally::default();
    let add = |tally: &mut Tally, vote: Vote, amount: Amount| -> Result<(), StateError> {
        let slot = match vote {
            Vote::Yes => &mut tally.yes,
            Vote::No => &mut tally.no,
            Vote::Abstain => &mut tally.abstain,
        };
        *slot = slot.checked_add(amount).map_err(|_| overflow())?;
        Ok(())
    };
    // Every delegator who voted, against every validator entity: work grows with the votes
    // cast, and no delegation is left out however many an entity has.
    for entity in validator_entities(state)? {
        let escrow_address = Address::from_public_key(&entity);
        let pool = staking::account(state, &escrow_address)?.escrow.active;
        tally.eligible = tally.eligible.checked_add(pool.balance).map_err(|_| overflow())?;
        let mut overridden = Amount::ZERO;
        for (voter, vote) in &votes {
            if *voter == escrow_address {
                continue;
            }
            let delegation = staking::delegation(state, &escrow_address, voter)?;
            if delegation.shares.0 == 0 {
                continue;
            }
            let stake = pool.amount_for(delegation.shares).map_err(|_| overflow())?;
            add(&mut tally, *vote, stake)?;
            overridden = overridden.checked_add(stake).map_err(|_| overflow())?;
        }
        if let Some(vote) = votes.get(&escrow_address) {
            add(&mut tally, *vote, pool.balance.checked_sub(overridden).map_err(|_| overflow())?)?;
        }
    }
    Ok(tally)
}

/// Whether yes reaches `stake_threshold_percent` of all validators' escrow.
fn passes(tally: &Tally, params: &GovernanceParameters) -> bool {
    let yes = tally.yes.base_units();
    yes > 0
        && yes.saturating_mul(100)
            >= tally
                .eligible
                .base_units()
                .saturating_mul(u128::from(params.stake_threshold_percent))
}

/// Executes a passed proposal; `false` if its parameter change no longer applies.
fn execute(state: &mut Overlay<'_>, proposal: &Proposal) -> Result<bool, StateError> {
    match &proposal.content {
        ProposalContent::ChangeParameters(change) => Ok(parameters::apply(state, change)?.is_ok()),
        ProposalContent::Upgrade(upgrade) => {
            state::put(state, &key(&[&UPGRADES, &proposal.id.to_be_bytes()]), upgrade)?;
            Ok(true)
        }
        ProposalContent::CancelUpgrade { proposal_id } => {
            state::delete(state, &key(&[&UPGRADES, &proposal_id.to_be_bytes()]))?;
            Ok(true)
        }
    }
}

/// Closes proposals whose voting period has ended.
fn close_proposals(
    state: &mut Overlay<'_>,
    env: &Env,
    events: &mut Vec<Event>,
) -> Result<(), StateError> {
    let params = parameters(state)?;
    let mut due = Vec::new();
    for entry in state.prefix(&CLOSING) {
        let (k, _) = entry?;
        let field = |range: std::ops::Range<usize>| -> Result<u64, StateError> {
            let bytes: [u8; 8] = k.get(range).and_then(|b| b.try_into().ok()).ok_or_else(|| {
                StateError::Corrupt { key: state::hex(&k), reason: "closing key".into() }
            })?;
            Ok(u64::from_be_bytes(bytes))
        };
        if field(2..10)? > env.epoch.0 {
            break;
        }
        due.push((k.clone(), field(10..18)?));
    }
    for (closing, id) in due {
        state::delete(state, &closing)?;
        let Some(mut proposal) = proposal(state, id)? else { continue };
        if proposal.state != ProposalState::Active {
            continue;
        }
        let tally = tally(state, proposal.id)?;
        let passed = passes(&tally, &params);
        let refund_to =
            if passed { proposal.submitter } else { crate::staking::common_pool_address() };
        let mut applied = true;
        if passed {
            applied = execute(state, &proposal)?;
            let message = staking::StakingMessage::Transfer(Transfer {
                to: refund_to,
                amount: proposal.deposit,
            });
            staking::handle_message(state, env, &deposits_address(), &message, &mut Vec::new())
                .map_err(|e| match e {
                    CallError::Fatal(f) => f,
                    CallError::Tx(t) => StateError::Corrupt {
                        key: "governance deposits".into(),
                        reason: t.to_string(),
                    },
                })?;
        } else {
            staking::burn_into_common_pool(state, &deposits_address(), proposal.deposit)?;
        }
        proposal.state = match (passed, applied) {
            (true, true) => ProposalState::Passed,
            (true, false) => ProposalState::Failed,
            (false, _) => ProposalState::Rejected,
        };
        proposal.tally = Some(tally);
        state::put(state, &key(&[&PROPOSALS, &proposal.id.to_be_bytes()]), &proposal)?;
        events.push(Event::Governance(GovernanceEvent::ProposalClosed {
            id: proposal.id,
            state: proposal.state,
        }));
    }
    Ok(())
}

pub(crate) fn init_genesis(
    state: &mut Overlay<'_>,
    params: &GovernanceParameters,
) -> Result<(), StateError> {
    state::put(state, &PARAMETERS, params)
}

/// The governance module.
pub struct Governance;

impl Module for Governance {
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
            close_proposals(state, env, events)?;
        }
        Ok(())
    }

    fn gas_cost(&self, state: &dyn KeyValueRead, method: &str) -> Result<Option<u64>, StateError> {
        Ok([SUBMIT_PROPOSAL, CAST_VOTE].contains(&method).then_some(parameters(state)?.gas_cost))
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
            SUBMIT_PROPOSAL => submit(state, env, caller, &decode_body(bytes)?, events),
            CAST_VOTE => cast_vote(state, caller, &decode_body(bytes)?, events),
            other => Err(CoreError::UnknownMethod(other.to_owned()).into()),
        }
    }
}
