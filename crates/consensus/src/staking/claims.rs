//! Stake claims and slashing: what other modules ask of an escrow account.
//!
//! Registrations (entities, nodes per role, runtimes) each claim thresholds against an
//! escrow account; the active escrow must cover the sum of all claims. Slashing takes
//! escrow from the active and debonding pools in proportion to their balances and moves it
//! to the common pool.

use atoll_mkvs::Overlay;
use atoll_types::{Address, Amount};

use super::params::{SlashReason, StakingParameters};
use super::state::{self, account, parameters, set_account};
use super::types::{Account, ThresholdKind};
use super::StakingError;
use crate::error::{CallError, StateError};
use crate::events::{Event, StakingEvent};
use crate::sharemath::mul_div_floor;

/// Whether the account's active escrow covers all of its claims.
pub(crate) fn check(account: &Account, params: &StakingParameters) -> Result<(), StakingError> {
    let mut required = Amount::ZERO;
    for kinds in account.escrow.stake_accumulator.values() {
        required = required
            .checked_add(params.threshold_sum(kinds)?)
            .map_err(|_| StakingError::Overflow)?;
    }
    if account.escrow.active.balance < required {
        return Err(StakingError::InsufficientStake);
    }
    Ok(())
}

/// Adds (or replaces) claim `claim` on `escrow`; refused if the escrow would not cover all
/// claims.
pub fn add_stake_claim(
    state: &mut Overlay<'_>,
    escrow: &Address,
    claim: &str,
    thresholds: &[ThresholdKind],
) -> Result<(), CallError> {
    let params = parameters(state)?;
    let mut owner = account(state, escrow)?;
    owner.escrow.stake_accumulator.insert(claim.to_owned(), thresholds.to_vec());
    check(&owner, &params)?;
    set_account(state, escrow, &owner)?;
    Ok(())
}

/// Removes claim `claim` from `escrow` (no-op if absent).
pub fn remove_stake_claim(
    state: &mut Overlay<'_>,
    escrow: &Address,
    claim: &str,
) -> Result<(), StateError> {
    let mut owner = account(state, escrow)?;
    if owner.escrow.stake_accumulator.remove(claim).is_some() {
        set_account(state, escrow, &owner)?;
    }
    Ok(())
}

/// What a slash did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SlashOutcome {
    /// Tokens taken (active + debonding).
    pub amount: Amount,
    /// Epochs the offending node is to be frozen for.
    pub freeze_interval: u64,
}

/// Slashes `escrow` for `reason` by the amount the parameters set (or less, if the escrow
/// holds less), moving the tokens to the common pool.
pub fn slash(
    state: &mut Overlay<'_>,
    escrow: &Address,
    reason: SlashReason,
    events: &mut Vec<Event>,
) -> Result<SlashOutcome, StateError> {
    let params = parameters(state)?;
    let Some(rule) = params.slashing.get(&reason).copied() else {
        return Ok(SlashOutcome { amount: Amount::ZERO, freeze_interval: 0 });
    };
    let amount = take_escrow(state, escrow, rule.amount, events)?;
    Ok(SlashOutcome { amount, freeze_interval: rule.freeze_interval })
}

/// Takes up to `amount` from `escrow`'s active and debonding pools, proportionally to their
/// balances, into the common pool. Returns what was taken.
pub fn take_escrow(
    state: &mut Overlay<'_>,
    escrow: &Address,
    amount: Amount,
    events: &mut Vec<Event>,
) -> Result<Amount, StateError> {
    let overflow = || StateError::Overflow("slashing");
    let mut owner = account(state, escrow)?;
    let active = owner.escrow.active.balance;
    let debonding = owner.escrow.debonding.balance;
    let total = active.checked_add(debonding).map_err(|_| overflow())?;
    let take = amount.min(total);
    if take.is_zero() {
        return Ok(Amount::ZERO);
    }
    let from_active = Amount::new(
        mul_div_floor(take.base_units(), active.base_units(), total.base_units())
            .ok_or_else(overflow)?,
    );
    let from_debonding = take.checked_sub(from_active).map_err(|_| overflow())?;
    owner.escrow.active.balance = active.checked_sub(from_active).map_err(|_| overflow())?;
    owner.escrow.debonding.balance =
        debonding.checked_sub(from_debonding).map_err(|_| overflow())?;
    set_account(state, escrow, &owner)?;
    let pool =
        state::total(state, &state::COMMON_POOL)?.checked_add(take).map_err(|_| overflow())?;
    state::set_total(state, &state::COMMON_POOL, pool)?;
    events.push(Event::Staking(StakingEvent::TakeEscrow {
        owner: *escrow,
        active: from_active,
        debonding: from_debonding,
    }));
    Ok(take)
}
