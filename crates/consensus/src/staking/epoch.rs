//! Per-block and per-epoch bookkeeping: fee distribution, signing statistics, rewards
//! and debonding payouts.

use atoll_mkvs::Overlay;
use atoll_types::{Address, Amount, Epoch};

use super::commission::COMMISSION_RATE_DENOMINATOR;
use super::params::REWARD_RATE_DENOMINATOR;
use super::state::{self, account, parameters, set_account, EpochSigning};
use super::types::Delegation;
use crate::context::BlockContext;
use crate::error::StateError;
use crate::events::{Event, StakingEvent};
use crate::sharemath::mul_div_floor;

fn overflow(what: &'static str) -> impl Fn() -> StateError {
    move || StateError::Overflow(what)
}

fn credit(state: &mut Overlay<'_>, to: &Address, amount: Amount) -> Result<(), StateError> {
    let mut target = account(state, to)?;
    target.general.balance =
        target.general.balance.checked_add(amount).map_err(|_| StateError::Overflow("balance"))?;
    set_account(state, to, &target)
}

/// Pays out the fees collected in the previous block: proposer, voters (by voting power)
/// and next proposer by the configured weights; shares nobody can take go to the common
/// pool, as does rounding dust.
pub(crate) fn distribute_fees(
    state: &mut Overlay<'_>,
    ctx: &BlockContext,
    events: &mut Vec<Event>,
) -> Result<(), StateError> {
    let fees = state::total(state, &state::FEE_ACCUMULATOR)?;
    if fees.is_zero() {
        return Ok(());
    }
    let params = parameters(state)?;
    let weights = [
        params.fee_split_weight_propose,
        params.fee_split_weight_vote,
        params.fee_split_weight_next_propose,
    ];
    let total_weight: u128 = weights.iter().map(|w| u128::from(*w)).sum();
    let share = |weight: u64| -> Result<Amount, StateError> {
        mul_div_floor(fees.base_units(), u128::from(weight), total_weight)
            .map(Amount::new)
            .ok_or_else(overflow("fees"))
    };
    let accumulator = Address::reserved("fee-accumulator");
    let mut paid = Amount::ZERO;
    let mut pay = |state: &mut Overlay<'_>,
                   to: &Address,
                   amount: Amount,
                   events: &mut Vec<Event>|
     -> Result<(), StateError> {
        if amount.is_zero() {
            return Ok(());
        }
        credit(state, to, amount)?;
        paid = paid.checked_add(amount).map_err(|_| StateError::Overflow("fees"))?;
        events.push(Event::Staking(StakingEvent::Transfer { from: accumulator, to: *to, amount }));
        Ok(())
    };
    if let Some(proposer) = ctx.previous_proposer {
        pay(state, &proposer, share(weights[0])?, events)?;
    }
    let total_power: u128 = ctx.signers.iter().map(|(_, p)| u128::from(*p)).sum();
    if total_power > 0 {
        let voters = share(weights[1])?;
        for (voter, power) in &ctx.signers {
            let amount = mul_div_floor(voters.base_units(), u128::from(*power), total_power)
                .ok_or_else(overflow("fees"))?;
            pay(state, voter, Amount::new(amount), events)?;
        }
    }
    if let Some(next) = ctx.proposer {
        pay(state, &next, share(weights[2])?, events)?;
    }
    let rest = fees.checked_sub(paid).map_err(|_| StateError::Overflow("fees"))?;
    let pool = state::total(state, &state::COMMON_POOL)?
        .checked_add(rest)
        .map_err(|_| StateError::Overflow("common pool"))?;
    state::set_total(state, &state::COMMON_POOL, pool)?;
    state::set_total(state, &state::FEE_ACCUMULATOR, Amount::ZERO)
}

/// Counts one block towards each signing entity's epoch statistics: once per entity,
/// however many of its nodes signed (otherwise an entity with several validators would
/// reach the reward threshold with a fraction of the blocks).
pub(crate) fn record_signers(
    state: &mut Overlay<'_>,
    ctx: &BlockContext,
) -> Result<(), StateError> {
    let mut signing = state::epoch_signing(state)?;
    signing.total += 1;
    let entities: std::collections::BTreeSet<&Address> =
        ctx.signers.iter().map(|(entity, _)| entity).collect();
    for entity in entities {
        *signing.signed.entry(*entity).or_default() += 1;
    }
    crate::state::put(state, &state::EPOCH_SIGNING, &signing)
}

/// Pays the rewards of the epoch that just ended to entities that signed enough of its
/// blocks, then resets the statistics.
pub(crate) fn reward_epoch(
    state: &mut Overlay<'_>,
    ended: Epoch,
    events: &mut Vec<Event>,
) -> Result<(), StateError> {
    let signing = state::epoch_signing(state)?;
    crate::state::put(state, &state::EPOCH_SIGNING, &EpochSigning::default())?;
    let params = parameters(state)?;
    let rate = params.reward_rate(ended);
    if rate == 0 || signing.total == 0 {
        return Ok(());
    }
    let threshold = u128::from(params.signing_reward_threshold_percent);
    for (entity, signed) in &signing.signed {
        if u128::from(*signed) * 100 < u128::from(signing.total) * threshold {
            continue;
        }
        let mut owner = account(state, entity)?;
        let reward = mul_div_floor(
            owner.escrow.active.balance.base_units(),
            u128::from(rate),
            REWARD_RATE_DENOMINATOR,
        )
        .ok_or_else(overflow("reward"))?;
        let pool = state::total(state, &state::COMMON_POOL)?;
        let reward = Amount::new(reward).min(pool);
        if reward.is_zero() || owner.escrow.active.total_shares.0 == 0 {
            continue;
        }
        let commission_rate = owner.escrow.commission_schedule.rate_at(ended);
        let commission = Amount::new(
            mul_div_floor(
                reward.base_units(),
                u128::from(commission_rate),
                u128::from(COMMISSION_RATE_DENOMINATOR),
            )
            .ok_or_else(overflow("commission"))?,
        );
        let to_pool = reward.checked_sub(commission).map_err(|_| StateError::Overflow("reward"))?;
        // The non-commission part raises the share price for every delegator …
        owner.escrow.active.balance = owner
            .escrow
            .active
            .balance
            .checked_add(to_pool)
            .map_err(|_| StateError::Overflow("reward"))?;
        // … and the commission buys the entity new shares at the new price.
        let minted = owner
            .escrow
            .active
            .deposit(commission)
            .map_err(|_| StateError::Overflow("commission"))?;
        set_account(state, entity, &owner)?;
        if minted.0 > 0 {
            let mut own = state::delegation(state, entity, entity)?;
            own.shares.0 =
                own.shares.0.checked_add(minted.0).ok_or_else(overflow("commission shares"))?;
            state::set_delegation(state, entity, entity, &Delegation { shares: own.shares })?;
        }
        let pool = pool.checked_sub(reward).map_err(|_| StateError::Overflow("common pool"))?;
        state::set_total(state, &state::COMMON_POOL, pool)?;
        events.push(Event::Staking(StakingEvent::Reward {
            escrow: *entity,
            amount: reward,
            commission,
        }));
    }
    Ok(())
}

/// Pays out every debonding delegation due at or before `epoch`.
pub(crate) fn process_debonding(
    state: &mut Overlay<'_>,
    epoch: Epoch,
    events: &mut Vec<Event>,
) -> Result<(), StateError> {
    for (delegator, escrow, end) in state::due_debondings(state, epoch)? {
        let mut debonding = state::debonding(state, &delegator, &escrow, end)?;
        let mut owner = account(state, &escrow)?;
        let amount = owner
            .escrow
            .debonding
            .withdraw(debonding.shares)
            .map_err(|_| StateError::Overflow("debonding pool"))?;
        set_account(state, &escrow, &owner)?;
        credit(state, &delegator, amount)?;
        let shares = debonding.shares;
        debonding.shares.0 = 0;
        state::set_debonding(state, &delegator, &escrow, &debonding)?;
        events.push(Event::Staking(StakingEvent::ReclaimEscrow {
            owner: delegator,
            escrow,
            amount,
            shares,
        }));
    }
    Ok(())
}
