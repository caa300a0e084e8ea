//! Where staking keeps its state in the tree, and typed access to it.
//!
//! | key | value |
//! |---|---|
//! | `01 01 ‖ address` | [`Account`] |
//! | `01 02 ‖ escrow ‖ delegator` | [`Delegation`] |
//! | `01 03 ‖ delegator ‖ escrow` | `()` (index: delegations from an account) |
//! | `01 04 ‖ delegator ‖ escrow ‖ end epoch` | [`DebondingDelegation`] |
//! | `01 05 ‖ end epoch ‖ delegator ‖ escrow` | `()` (debonding queue) |
//! | `01 06` / `01 07` / `01 08` | total supply / common pool / fee accumulator |
//! | `01 09` | [`StakingParameters`] |
//! | `01 0a` | [`EpochSigning`] |
//!
//! Epochs in keys are big-endian so that keys sort by epoch.

use std::collections::BTreeMap;

use atoll_mkvs::{KeyValueRead, Overlay};
use atoll_types::{Address, Amount, Epoch};
use borsh::{BorshDeserialize, BorshSerialize};

use super::params::StakingParameters;
use super::types::{Account, DebondingDelegation, Delegation};
use crate::error::StateError;
use crate::state::{self, key, prefix};

pub(crate) const ACCOUNTS: [u8; 2] = [prefix::STAKING, 0x01];
pub(crate) const DELEGATIONS: [u8; 2] = [prefix::STAKING, 0x02];
pub(crate) const DELEGATIONS_FROM: [u8; 2] = [prefix::STAKING, 0x03];
pub(crate) const DEBONDING: [u8; 2] = [prefix::STAKING, 0x04];
pub(crate) const DEBONDING_QUEUE: [u8; 2] = [prefix::STAKING, 0x05];
pub(crate) const TOTAL_SUPPLY: [u8; 2] = [prefix::STAKING, 0x06];
pub(crate) const COMMON_POOL: [u8; 2] = [prefix::STAKING, 0x07];
pub(crate) const FEE_ACCUMULATOR: [u8; 2] = [prefix::STAKING, 0x08];
pub(crate) const PARAMETERS: [u8; 2] = [prefix::STAKING, 0x09];
pub(crate) const EPOCH_SIGNING: [u8; 2] = [prefix::STAKING, 0x0a];

/// Blocks signed in the current epoch, per entity.
#[derive(Clone, PartialEq, Eq, Debug, Default, BorshSerialize, BorshDeserialize)]
pub struct EpochSigning {
    /// Blocks counted this epoch.
    pub total: u64,
    /// Blocks each entity's validators signed.
    pub signed: BTreeMap<Address, u64>,
}

/// The state key of an account.
pub fn account_key(address: &Address) -> Vec<u8> {
    key(&[&ACCOUNTS, address.as_bytes()])
}

/// The state key of a delegation.
pub fn delegation_key(escrow: &Address, delegator: &Address) -> Vec<u8> {
    key(&[&DELEGATIONS, escrow.as_bytes(), delegator.as_bytes()])
}

/// The state key of a debonding delegation.
pub fn debonding_key(delegator: &Address, escrow: &Address, end: Epoch) -> Vec<u8> {
    key(&[&DEBONDING, delegator.as_bytes(), escrow.as_bytes(), &end.0.to_be_bytes()])
}

fn queue_key(end: Epoch, delegator: &Address, escrow: &Address) -> Vec<u8> {
    key(&[&DEBONDING_QUEUE, &end.0.to_be_bytes(), delegator.as_bytes(), escrow.as_bytes()])
}

/// An account (the empty account if it was never written).
pub fn account(state: &dyn KeyValueRead, address: &Address) -> Result<Account, StateError> {
    Ok(state::get(state, &account_key(address))?.unwrap_or_default())
}

pub(crate) fn set_account(
    state: &mut Overlay<'_>,
    address: &Address,
    account: &Account,
) -> Result<(), StateError> {
    if *account == Account::default() {
        return state::delete(state, &account_key(address));
    }
    state::put(state, &account_key(address), account)
}

/// A delegation (zero shares if none).
pub fn delegation(
    state: &dyn KeyValueRead,
    escrow: &Address,
    delegator: &Address,
) -> Result<Delegation, StateError> {
    Ok(state::get(state, &delegation_key(escrow, delegator))?.unwrap_or_default())
}

pub(crate) fn set_delegation(
    state: &mut Overlay<'_>,
    escrow: &Address,
    delegator: &Address,
    delegation: &Delegation,
) -> Result<(), StateError> {
    let index = key(&[&DELEGATIONS_FROM, delegator.as_bytes(), escrow.as_bytes()]);
    if delegation.shares.0 == 0 {
        state::delete(state, &delegation_key(escrow, delegator))?;
        return state::delete(state, &index);
    }
    state::put(state, &delegation_key(escrow, delegator), delegation)?;
    state::put(state, &index, &())
}

/// A debonding delegation ending at `end` (zero shares if none).
pub(crate) fn debonding(
    state: &dyn KeyValueRead,
    delegator: &Address,
    escrow: &Address,
    end: Epoch,
) -> Result<DebondingDelegation, StateError> {
    Ok(state::get(state, &debonding_key(delegator, escrow, end))?
        .unwrap_or(DebondingDelegation { shares: Default::default(), debond_end: end }))
}

pub(crate) fn set_debonding(
    state: &mut Overlay<'_>,
    delegator: &Address,
    escrow: &Address,
    debonding: &DebondingDelegation,
) -> Result<(), StateError> {
    let end = debonding.debond_end;
    if debonding.shares.0 == 0 {
        state::delete(state, &debonding_key(delegator, escrow, end))?;
        return state::delete(state, &queue_key(end, delegator, escrow));
    }
    state::put(state, &debonding_key(delegator, escrow, end), debonding)?;
    state::put(state, &queue_key(end, delegator, escrow), &())
}

/// Debonding delegations due at or before `epoch`, as (delegator, escrow, end).
pub(crate) fn due_debondings(
    state: &dyn KeyValueRead,
    epoch: Epoch,
) -> Result<Vec<(Address, Address, Epoch)>, StateError> {
    let end_key = key(&[&DEBONDING_QUEUE, &epoch.0.saturating_add(1).to_be_bytes()]);
    let mut due = Vec::new();
    for entry in state.range(&DEBONDING_QUEUE, Some(&end_key)) {
        let (k, _) = entry?;
        let rest = &k[2..];
        let corrupt =
            || StateError::Corrupt { key: state::hex(&k), reason: "debonding queue key".into() };
        if rest.len() != 8 + 2 * Address::LEN {
            return Err(corrupt());
        }
        let mut end = [0u8; 8];
        end.copy_from_slice(&rest[..8]);
        let delegator = address_at(&rest[8..8 + Address::LEN]).ok_or_else(corrupt)?;
        let escrow = address_at(&rest[8 + Address::LEN..]).ok_or_else(corrupt)?;
        due.push((delegator, escrow, Epoch(u64::from_be_bytes(end))));
    }
    Ok(due)
}

pub(crate) fn address_at(bytes: &[u8]) -> Option<Address> {
    <[u8; Address::LEN]>::try_from(bytes).ok().map(Address::from_bytes)
}

/// A protocol total (total supply, common pool, fee accumulator).
pub(crate) fn total(state: &dyn KeyValueRead, which: &[u8; 2]) -> Result<Amount, StateError> {
    Ok(state::get(state, which)?.unwrap_or(Amount::ZERO))
}

pub(crate) fn set_total(
    state: &mut Overlay<'_>,
    which: &[u8; 2],
    amount: Amount,
) -> Result<(), StateError> {
    state::put(state, which, &amount)
}

/// The staking parameters.
pub fn parameters(state: &dyn KeyValueRead) -> Result<StakingParameters, StateError> {
    state::require(state, &PARAMETERS, "staking parameters")
}

pub(crate) fn epoch_signing(state: &dyn KeyValueRead) -> Result<EpochSigning, StateError> {
    Ok(state::get(state, &EPOCH_SIGNING)?.unwrap_or_default())
}
