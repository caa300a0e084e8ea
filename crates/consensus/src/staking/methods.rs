//! Staking transactions: bodies and what they do.

use atoll_mkvs::Overlay;
use atoll_types::{Address, Amount};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use super::commission::CommissionSchedule;
use super::state::{self, account, delegation, parameters, set_account, set_delegation};
use super::types::{Delegation, Shares};
use super::StakingError;
use crate::context::Env;
use crate::error::CallError;
use crate::events::{Event, StakingEvent};

/// `staking.Transfer`
pub const TRANSFER: &str = "staking.Transfer";
/// `staking.Burn`
pub const BURN: &str = "staking.Burn";
/// `staking.Allow`
pub const ALLOW: &str = "staking.Allow";
/// `staking.Withdraw`
pub const WITHDRAW: &str = "staking.Withdraw";
/// `staking.AddEscrow`
pub const ADD_ESCROW: &str = "staking.AddEscrow";
/// `staking.ReclaimEscrow`
pub const RECLAIM_ESCROW: &str = "staking.ReclaimEscrow";
/// `staking.AmendCommissionSchedule`
pub const AMEND_COMMISSION_SCHEDULE: &str = "staking.AmendCommissionSchedule";

/// Every staking method.
pub const ALL: [&str; 7] =
    [TRANSFER, BURN, ALLOW, WITHDRAW, ADD_ESCROW, RECLAIM_ESCROW, AMEND_COMMISSION_SCHEDULE];

/// Move tokens from the caller's general balance to `to`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Transfer {
    /// Recipient.
    pub to: Address,
    /// Amount.
    pub amount: Amount,
}

/// Destroy tokens from the caller's general balance.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Burn {
    /// Amount.
    pub amount: Amount,
}

/// Raise or lower how much `beneficiary` may withdraw from the caller.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Allow {
    /// Who may withdraw.
    pub beneficiary: Address,
    /// Lower instead of raise (the allowance stops at zero).
    pub negative: bool,
    /// By how much.
    pub amount_change: Amount,
}

/// Withdraw from an account that allowed the caller.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Withdraw {
    /// The account to withdraw from.
    pub from: Address,
    /// Amount.
    pub amount: Amount,
}

/// Delegate tokens to an escrow account.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct AddEscrow {
    /// The escrow account (an entity, or the caller itself).
    pub escrow: Address,
    /// Amount.
    pub amount: Amount,
}

/// Undelegate shares: their tokens debond and are paid out after the debonding interval.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ReclaimEscrow {
    /// The escrow account.
    pub escrow: Address,
    /// Shares to undelegate.
    pub shares: Shares,
}

/// Change the caller's commission schedule.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct AmendCommissionSchedule {
    /// Steps that replace the schedule from their first start on.
    pub amendment: CommissionSchedule,
}

fn emit(events: &mut Vec<Event>, event: StakingEvent) {
    events.push(Event::Staking(event));
}

/// Moves `amount` between general balances (also used for fee payouts and messages).
pub(crate) fn move_tokens(
    state: &mut Overlay<'_>,
    from: &Address,
    to: &Address,
    amount: Amount,
) -> Result<(), CallError> {
    let mut source = account(state, from)?;
    source.general.balance = source
        .general
        .balance
        .checked_sub(amount)
        .map_err(|_| StakingError::InsufficientBalance)?;
    set_account(state, from, &source)?;
    let mut target = account(state, to)?;
    target.general.balance =
        target.general.balance.checked_add(amount).map_err(|_| StakingError::Overflow)?;
    set_account(state, to, &target)?;
    Ok(())
}

pub(crate) fn transfer(
    state: &mut Overlay<'_>,
    caller: &Address,
    body: &Transfer,
    events: &mut Vec<Event>,
) -> Result<(), CallError> {
    if body.amount < parameters(state)?.min_transfer {
        return Err(StakingError::UnderMinTransfer.into());
    }
    move_tokens(state, caller, &body.to, body.amount)?;
    emit(events, StakingEvent::Transfer { from: *caller, to: body.to, amount: body.amount });
    Ok(())
}

pub(crate) fn burn(
    state: &mut Overlay<'_>,
    caller: &Address,
    body: &Burn,
    events: &mut Vec<Event>,
) -> Result<(), CallError> {
    let mut owner = account(state, caller)?;
    owner.general.balance = owner
        .general
        .balance
        .checked_sub(body.amount)
        .map_err(|_| StakingError::InsufficientBalance)?;
    set_account(state, caller, &owner)?;
    let supply = state::total(state, &state::TOTAL_SUPPLY)?;
    let supply = supply
        .checked_sub(body.amount)
        .map_err(|_| crate::error::StateError::Overflow("total supply"))?;
    state::set_total(state, &state::TOTAL_SUPPLY, supply)?;
    emit(events, StakingEvent::Burn { owner: *caller, amount: body.amount });
    Ok(())
}

pub(crate) fn allow(
    state: &mut Overlay<'_>,
    caller: &Address,
    body: &Allow,
    events: &mut Vec<Event>,
) -> Result<(), CallError> {
    if body.beneficiary == *caller {
        return Err(StakingError::InvalidArgument("cannot allow yourself").into());
    }
    let params = parameters(state)?;
    let mut owner = account(state, caller)?;
    let current = owner.general.allowances.get(&body.beneficiary).copied();
    if current.is_none()
        && !body.negative
        && owner.general.allowances.len() >= params.max_allowances as usize
    {
        return Err(StakingError::TooManyAllowances.into());
    }
    let current = current.unwrap_or(Amount::ZERO);
    let allowance = if body.negative {
        current.checked_sub(body.amount_change).unwrap_or(Amount::ZERO)
    } else {
        current.checked_add(body.amount_change).map_err(|_| StakingError::Overflow)?
    };
    if allowance.is_zero() {
        owner.general.allowances.remove(&body.beneficiary);
    } else {
        owner.general.allowances.insert(body.beneficiary, allowance);
    }
    set_account(state, caller, &owner)?;
    emit(
        events,
        StakingEvent::AllowanceChange { owner: *caller, beneficiary: body.beneficiary, allowance },
    );
    Ok(())
}

pub(crate) fn withdraw(
    state: &mut Overlay<'_>,
    caller: &Address,
    body: &Withdraw,
    events: &mut Vec<Event>,
) -> Result<(), CallError> {
    if body.from == *caller {
        return Err(StakingError::InvalidArgument("cannot withdraw from yourself").into());
    }
    if body.amount < parameters(state)?.min_transfer {
        return Err(StakingError::UnderMinTransfer.into());
    }
    let mut owner = account(state, &body.from)?;
    let allowance = owner.general.allowances.get(caller).copied().unwrap_or(Amount::ZERO);
    let remaining =
        allowance.checked_sub(body.amount).map_err(|_| StakingError::AllowanceExceeded)?;
    if remaining.is_zero() {
        owner.general.allowances.remove(caller);
    } else {
        owner.general.allowances.insert(*caller, remaining);
    }
    set_account(state, &body.from, &owner)?;
    move_tokens(state, &body.from, caller, body.amount)?;
    emit(
        events,
        StakingEvent::AllowanceChange {
            owner: body.from,
            beneficiary: *caller,
            allowance: remaining,
        },
    );
    emit(events, StakingEvent::Transfer { from: body.from, to: *caller, amount: body.amount });
    Ok(())
}

pub(crate) fn add_escrow(
    state: &mut Overlay<'_>,
    caller: &Address,
    body: &AddEscrow,
    events: &mut Vec<Event>,
) -> Result<(), CallError> {
    if body.amount < parameters(state)?.min_delegation {
        return Err(StakingError::UnderMinDelegation.into());
    }
    let mut delegator = account(state, caller)?;
    delegator.general.balance = delegator
        .general
        .balance
        .checked_sub(body.amount)
        .map_err(|_| StakingError::InsufficientBalance)?;
    set_account(state, caller, &delegator)?;
    let mut escrow = account(state, &body.escrow)?;
    let new_shares = escrow.escrow.active.deposit(body.amount)?;
    if new_shares.0 == 0 {
        return Err(StakingError::InvalidArgument("amount buys no shares").into());
    }
    set_account(state, &body.escrow, &escrow)?;
    let mut held = delegation(state, &body.escrow, caller)?;
    held.shares.0 = held.shares.0.checked_add(new_shares.0).ok_or(StakingError::Overflow)?;
    set_delegation(state, &body.escrow, caller, &held)?;
    emit(
        events,
        StakingEvent::AddEscrow {
            owner: *caller,
            escrow: body.escrow,
            amount: body.amount,
            new_shares,
        },
    );
    Ok(())
}

pub(crate) fn reclaim_escrow(
    state: &mut Overlay<'_>,
    env: &Env,
    caller: &Address,
    body: &ReclaimEscrow,
    events: &mut Vec<Event>,
) -> Result<(), CallError> {
    if body.shares.0 == 0 {
        return Err(StakingError::InvalidArgument("zero shares").into());
    }
    let params = parameters(state)?;
    let mut held = delegation(state, &body.escrow, caller)?;
    if held.shares < body.shares {
        return Err(StakingError::InsufficientShares.into());
    }
    let mut escrow = account(state, &body.escrow)?;
    let amount = escrow.escrow.active.withdraw(body.shares)?;
    let debonding_shares = escrow.escrow.debonding.deposit(amount)?;
    // Never refused for stake claims (as in the reference): after a slash, delegators must
    // still be able to leave; an under-staked entity is just not elected.
    set_account(state, &body.escrow, &escrow)?;
    held.shares.0 -= body.shares.0;
    set_delegation(state, &body.escrow, caller, &Delegation { shares: held.shares })?;
    let debond_end = atoll_types::Epoch(env.epoch.0.saturating_add(params.debonding_interval));
    let mut debonding = state::debonding(state, caller, &body.escrow, debond_end)?;
    debonding.shares.0 =
        debonding.shares.0.checked_add(debonding_shares.0).ok_or(StakingError::Overflow)?;
    state::set_debonding(state, caller, &body.escrow, &debonding)?;
    emit(
        events,
        StakingEvent::DebondingStart {
            owner: *caller,
            escrow: body.escrow,
            amount,
            active_shares: body.shares,
            debonding_shares,
            debond_end,
        },
    );
    Ok(())
}

pub(crate) fn amend_commission_schedule(
    state: &mut Overlay<'_>,
    env: &Env,
    caller: &Address,
    body: &AmendCommissionSchedule,
    events: &mut Vec<Event>,
) -> Result<(), CallError> {
    let rules = parameters(state)?.commission_schedule_rules;
    let mut owner = account(state, caller)?;
    owner.escrow.commission_schedule.amend(&body.amendment, env.epoch, &rules)?;
    set_account(state, caller, &owner)?;
    emit(events, StakingEvent::CommissionScheduleAmended { owner: *caller });
    Ok(())
}
