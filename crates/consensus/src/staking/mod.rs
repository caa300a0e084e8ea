//! The staking module: the native token. Accounts with general balances, nonces and
//! allowances; escrow with share-based delegation, debonding, commission, rewards from the
//! common pool, fee distribution, stake claims and slashing.

mod claims;
pub mod commission;
mod epoch;
mod error;
pub mod methods;
mod params;
pub mod query;
mod state;
mod types;

use atoll_mkvs::Overlay;
use atoll_types::Address;
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

pub use claims::{add_stake_claim, remove_stake_claim, slash, take_escrow, SlashOutcome};
pub use error::StakingError;
pub use params::{
    RewardStep, Slash, SlashReason, StakingParameters, DEFAULT_METHOD_GAS, REWARD_RATE_DENOMINATOR,
};
pub use state::{
    account, account_key, debonding_key, delegation, delegation_key, parameters, EpochSigning,
};
pub use types::{
    Account, DebondingDelegation, Delegation, EscrowAccount, GeneralAccount, SharePool, Shares,
    ThresholdKind,
};

use crate::context::{BlockContext, Env};
use crate::error::{CallError, CoreError, StateError};
use crate::events::{Event, StakingEvent};
use crate::module::{decode_body, Module};

/// The module's name, the prefix of its methods.
pub const MODULE_NAME: &str = "staking";

/// The common pool: rewards are paid from it, slashed and unclaimed tokens go to it.
pub fn common_pool_address() -> Address {
    Address::reserved("common-pool")
}

/// A request from another module (e.g. a ParaTime's runtime message), executed with
/// `caller` as the account that acts.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub enum StakingMessage {
    /// Transfer from the caller.
    Transfer(methods::Transfer),
    /// Withdraw from an account that allowed the caller.
    Withdraw(methods::Withdraw),
    /// Delegate from the caller.
    AddEscrow(methods::AddEscrow),
    /// Undelegate the caller's shares.
    ReclaimEscrow(methods::ReclaimEscrow),
}

/// Executes a message from another module on behalf of `caller`. On error the caller must
/// roll back (messages run inside the caller's checkpoint).
pub fn handle_message(
    state: &mut Overlay<'_>,
    env: &Env,
    caller: &Address,
    message: &StakingMessage,
    events: &mut Vec<Event>,
) -> Result<(), CallError> {
    match message {
        StakingMessage::Transfer(body) => methods::transfer(state, caller, body, events),
        StakingMessage::Withdraw(body) => methods::withdraw(state, caller, body, events),
        StakingMessage::AddEscrow(body) => methods::add_escrow(state, caller, body, events),
        StakingMessage::ReclaimEscrow(body) => {
            methods::reclaim_escrow(state, env, caller, body, events)
        }
    }
}

/// The staking module.
pub struct Staking;

impl Module for Staking {
    fn name(&self) -> &'static str {
        MODULE_NAME
    }

    fn begin_block(
        &self,
        state: &mut Overlay<'_>,
        env: &Env,
        ctx: &BlockContext,
        epoch_changed: Option<atoll_types::Epoch>,
        events: &mut Vec<Event>,
    ) -> Result<(), StateError> {
        // A node is slashed once per freeze (as in the reference): evidence against a node
        // that is already frozen, or a second piece in the same block, takes nothing more.
        let mut slashed = std::collections::BTreeSet::new();
        for misbehavior in &ctx.evidence {
            if let Some(node) = misbehavior.node {
                let frozen = crate::registry::node_status(state, &node)?.frozen_until.is_some();
                if frozen || !slashed.insert(node) {
                    continue;
                }
            }
            let outcome = claims::slash(state, &misbehavior.entity, misbehavior.reason, events)?;
            events.push(Event::Staking(StakingEvent::Slashed {
                owner: misbehavior.entity,
                node: misbehavior.node,
                reason: misbehavior.reason,
                amount: outcome.amount,
            }));
        }
        if let Some(ended) = epoch_changed {
            epoch::reward_epoch(state, ended, events)?;
            epoch::process_debonding(state, env.epoch, events)?;
        }
        epoch::distribute_fees(state, ctx, events)?;
        epoch::record_signers(state, ctx)
    }

    fn gas_cost(
        &self,
        state: &dyn atoll_mkvs::KeyValueRead,
        method: &str,
    ) -> Result<Option<u64>, StateError> {
        Ok(parameters(state)?.gas_cost(method))
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
            methods::TRANSFER => methods::transfer(state, caller, &decode_body(bytes)?, events),
            methods::BURN => methods::burn(state, caller, &decode_body(bytes)?, events),
            methods::ALLOW => methods::allow(state, caller, &decode_body(bytes)?, events),
            methods::WITHDRAW => methods::withdraw(state, caller, &decode_body(bytes)?, events),
            methods::ADD_ESCROW => methods::add_escrow(state, caller, &decode_body(bytes)?, events),
            methods::RECLAIM_ESCROW => {
                methods::reclaim_escrow(state, env, caller, &decode_body(bytes)?, events)
            }
            methods::AMEND_COMMISSION_SCHEDULE => {
                methods::amend_commission_schedule(state, env, caller, &decode_body(bytes)?, events)
            }
            other => Err(CoreError::UnknownMethod(other.to_owned()).into()),
        }
    }
}

/// Moves a transaction's fee from `sender` into the fee accumulator and advances the
/// sender's nonce. The caller has checked that the sender can pay.
pub(crate) fn charge_fee(
    state: &mut Overlay<'_>,
    sender: &Address,
    amount: atoll_types::Amount,
) -> Result<(), StateError> {
    let mut payer = account(state, sender)?;
    payer.general.balance =
        payer.general.balance.checked_sub(amount).map_err(|_| StateError::Overflow("fee"))?;
    payer.general.nonce =
        payer.general.nonce.checked_add(1).ok_or(StateError::Overflow("nonce"))?;
    state::set_account(state, sender, &payer)?;
    let fees = state::total(state, &state::FEE_ACCUMULATOR)?
        .checked_add(amount)
        .map_err(|_| StateError::Overflow("fees"))?;
    state::set_total(state, &state::FEE_ACCUMULATOR, fees)
}

/// Writes the staking part of genesis.
pub(crate) fn init_genesis(
    state: &mut Overlay<'_>,
    genesis: &crate::genesis::StakingGenesis,
) -> Result<(), StateError> {
    crate::state::put(state, &state::PARAMETERS, &genesis.parameters)?;
    state::set_total(state, &state::TOTAL_SUPPLY, genesis.total_supply)?;
    state::set_total(state, &state::COMMON_POOL, genesis.common_pool)?;
    state::set_total(state, &state::FEE_ACCUMULATOR, atoll_types::Amount::ZERO)?;
    for (address, account) in &genesis.accounts {
        state::set_account(state, address, account)?;
    }
    for (escrow, delegators) in &genesis.delegations {
        for (delegator, delegation) in delegators {
            state::set_delegation(state, escrow, delegator, delegation)?;
        }
    }
    for (escrow, delegators) in &genesis.debonding_delegations {
        for (delegator, list) in delegators {
            for debonding in list {
                let mut merged = state::debonding(state, delegator, escrow, debonding.debond_end)?;
                merged.shares.0 = merged
                    .shares
                    .0
                    .checked_add(debonding.shares.0)
                    .ok_or(StateError::Overflow("genesis"))?;
                state::set_debonding(state, delegator, escrow, &merged)?;
            }
        }
    }
    Ok(())
}

/// Moves `amount` from `from`'s general balance to the common pool (registration fees).
pub fn pay_to_common_pool(
    state: &mut Overlay<'_>,
    from: &Address,
    amount: atoll_types::Amount,
) -> Result<(), CallError> {
    let mut payer = account(state, from)?;
    payer.general.balance =
        payer.general.balance.checked_sub(amount).map_err(|_| StakingError::InsufficientBalance)?;
    state::set_account(state, from, &payer)?;
    let pool = state::total(state, &state::COMMON_POOL)?
        .checked_add(amount)
        .map_err(|_| StateError::Overflow("common pool"))?;
    state::set_total(state, &state::COMMON_POOL, pool)?;
    Ok(())
}

/// Moves `amount` from `from`'s general balance into the common pool, for protocol-held
/// accounts (e.g. forfeited governance deposits); fails only if the state is inconsistent.
pub fn burn_into_common_pool(
    state: &mut Overlay<'_>,
    from: &Address,
    amount: atoll_types::Amount,
) -> Result<(), StateError> {
    pay_to_common_pool(state, from, amount).map_err(|e| match e {
        CallError::Fatal(f) => f,
        CallError::Tx(t) => StateError::Corrupt { key: from.to_string(), reason: t.to_string() },
    })
}

/// What the common pool can pay of `amount`.
fn payable(
    state: &Overlay<'_>,
    amount: atoll_types::Amount,
) -> Result<atoll_types::Amount, StateError> {
    Ok(amount.min(state::total(state, &state::COMMON_POOL)?))
}

/// Takes `paid` (at most what [`payable`] said) out of the common pool.
fn take_from_common_pool(
    state: &mut Overlay<'_>,
    paid: atoll_types::Amount,
) -> Result<(), StateError> {
    let rest = state::total(state, &state::COMMON_POOL)?
        .checked_sub(paid)
        .map_err(|_| StateError::Overflow("common pool"))?;
    state::set_total(state, &state::COMMON_POOL, rest)
}

/// Pays up to `amount` from the common pool to `to`'s general balance (e.g. a share of a
/// slash to the reporter of evidence); returns what was paid (less if the pool holds less).
pub fn pay_from_common_pool(
    state: &mut Overlay<'_>,
    to: &Address,
    amount: atoll_types::Amount,
    events: &mut Vec<Event>,
) -> Result<atoll_types::Amount, StateError> {
    let paid = payable(state, amount)?;
    if paid.is_zero() {
        return Ok(paid);
    }
    take_from_common_pool(state, paid)?;
    let mut payee = account(state, to)?;
    payee.general.balance =
        payee.general.balance.checked_add(paid).map_err(|_| StateError::Overflow("balance"))?;
    state::set_account(state, to, &payee)?;
    events.push(Event::Staking(StakingEvent::Transfer {
        from: common_pool_address(),
        to: *to,
        amount: paid,
    }));
    Ok(paid)
}

/// Pays up to `amount` from the common pool into `entity`'s escrow as its own delegation
/// (new shares at the current price), as the reference pays the nodes that outvoted a
/// dishonest one; returns what was paid. An escrow whose shares are worth nothing gets
/// nothing (shares could not be priced).
pub fn reward_escrow_from_common_pool(
    state: &mut Overlay<'_>,
    entity: &Address,
    amount: atoll_types::Amount,
    events: &mut Vec<Event>,
) -> Result<atoll_types::Amount, StateError> {
    let paid = payable(state, amount)?;
    let mut owner = state::account(state, entity)?;
    let minted = match owner.escrow.active.deposit(paid) {
        Ok(minted) if !paid.is_zero() => minted,
        _ => return Ok(atoll_types::Amount::ZERO),
    };
    take_from_common_pool(state, paid)?;
    state::set_account(state, entity, &owner)?;
    let mut own = state::delegation(state, entity, entity)?;
    own.shares.0 = own.shares.0.checked_add(minted.0).ok_or(StateError::Overflow("shares"))?;
    state::set_delegation(state, entity, entity, &own)?;
    // All of it buys the entity new shares, as a commission does.
    events.push(Event::Staking(StakingEvent::Reward {
        escrow: *entity,
        amount: paid,
        commission: paid,
    }));
    Ok(paid)
}
