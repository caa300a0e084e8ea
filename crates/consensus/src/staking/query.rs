//! Staking queries over a committed tree, with optional MKVS proofs.

use atoll_mkvs::{KeyValueRead, Proof, RangeProof, Tree};
use atoll_types::{Address, Amount};

use super::state::{self, address_at};
use super::types::Account as StakingAccount;
use super::types::{DebondingDelegation, Delegation};
use super::StakingParameters;
use crate::error::StateError;
use crate::state::{key, scan};

/// Most entries one list query returns.
pub const MAX_LIST: usize = 1_000;

/// The account at `address` (empty if never used).
pub fn account(state: &dyn KeyValueRead, address: &Address) -> Result<StakingAccount, StateError> {
    state::account(state, address)
}

/// The account with a proof of its state key against the tree's root.
pub fn account_with_proof(
    tree: &Tree<'_>,
    address: &Address,
) -> Result<(StakingAccount, Proof), StateError> {
    let proof = tree.prove(&state::account_key(address))?;
    Ok((state::account(tree, address)?, proof))
}

/// Delegations to `escrow`, as (delegator, delegation), at most [`MAX_LIST`].
pub fn delegations_to(
    state: &dyn KeyValueRead,
    escrow: &Address,
) -> Result<Vec<(Address, Delegation)>, StateError> {
    delegations_to_after(state, escrow, None)
}

/// The page of [`delegations_to`] after delegator `after` (in address order).
pub fn delegations_to_after(
    state: &dyn KeyValueRead,
    escrow: &Address,
    after: Option<&Address>,
) -> Result<Vec<(Address, Delegation)>, StateError> {
    let prefix = key(&[&state::DELEGATIONS, escrow.as_bytes()]);
    let after = after.map(|a| a.as_bytes().as_slice());
    crate::state::scan_page::<Delegation>(state, &prefix, after, MAX_LIST)?
        .into_iter()
        .map(|(k, d)| Ok((address_at(&k[prefix.len()..]).ok_or_else(|| corrupt(&k))?, d)))
        .collect()
}

/// Delegations to `escrow` with a prefix proof.
pub fn delegations_to_with_proof(
    tree: &Tree<'_>,
    escrow: &Address,
) -> Result<(Vec<(Address, Delegation)>, RangeProof), StateError> {
    let prefix = key(&[&state::DELEGATIONS, escrow.as_bytes()]);
    Ok((delegations_to(tree, escrow)?, tree.prove_prefix(&prefix, MAX_LIST)?))
}

/// Delegations from `delegator`, as (escrow, delegation), at most [`MAX_LIST`].
pub fn delegations_from(
    state: &dyn KeyValueRead,
    delegator: &Address,
) -> Result<Vec<(Address, Delegation)>, StateError> {
    delegations_from_after(state, delegator, None)
}

/// The page of [`delegations_from`] after escrow `after` (in address order).
pub fn delegations_from_after(
    state: &dyn KeyValueRead,
    delegator: &Address,
    after: Option<&Address>,
) -> Result<Vec<(Address, Delegation)>, StateError> {
    let prefix = key(&[&state::DELEGATIONS_FROM, delegator.as_bytes()]);
    let after = after.map(|a| a.as_bytes().as_slice());
    let page = crate::state::scan_page::<()>(state, &prefix, after, MAX_LIST)?;
    let mut out = Vec::new();
    for (k, ()) in page {
        let escrow = address_at(&k[prefix.len()..]).ok_or_else(|| corrupt(&k))?;
        out.push((escrow, state::delegation(state, &escrow, delegator)?));
    }
    Ok(out)
}

/// Debonding delegations of `delegator`, as (escrow, debonding delegation), at most
/// [`MAX_LIST`].
pub fn debonding_delegations(
    state: &dyn KeyValueRead,
    delegator: &Address,
) -> Result<Vec<(Address, DebondingDelegation)>, StateError> {
    debonding_delegations_after(state, delegator, None)
}

/// The page of [`debonding_delegations`] after the entry for escrow `after.0` ending at
/// epoch `after.1` (entries are ordered by escrow, then end epoch).
pub fn debonding_delegations_after(
    state: &dyn KeyValueRead,
    delegator: &Address,
    after: Option<(&Address, atoll_types::Epoch)>,
) -> Result<Vec<(Address, DebondingDelegation)>, StateError> {
    let prefix = key(&[&state::DEBONDING, delegator.as_bytes()]);
    let after = after.map(|(escrow, end)| key(&[escrow.as_bytes(), &end.0.to_be_bytes()]));
    crate::state::scan_page::<DebondingDelegation>(state, &prefix, after.as_deref(), MAX_LIST)?
        .into_iter()
        .map(|(k, d)| {
            let escrow = k
                .get(prefix.len()..prefix.len() + Address::LEN)
                .and_then(address_at)
                .ok_or_else(|| corrupt(&k))?;
            Ok((escrow, d))
        })
        .collect()
}

/// The common pool's balance.
pub fn common_pool(state: &dyn KeyValueRead) -> Result<Amount, StateError> {
    state::total(state, &state::COMMON_POOL)
}

/// The total supply.
pub fn total_supply(state: &dyn KeyValueRead) -> Result<Amount, StateError> {
    state::total(state, &state::TOTAL_SUPPLY)
}

/// Everything held, in base units: Σ general balances + Σ escrow (active and debonding) +
/// the common pool + the fee accumulator. The supply invariant is that this equals
/// [`total_supply`] after every block (not bounded: for invariant checks).
pub fn accounted_supply(state: &dyn KeyValueRead) -> Result<u128, StateError> {
    let mut sum = common_pool(state)?.base_units() + fee_accumulator(state)?.base_units();
    for (_, a) in all_accounts(state)? {
        sum += a.general.balance.base_units()
            + a.escrow.active.balance.base_units()
            + a.escrow.debonding.balance.base_units();
    }
    Ok(sum)
}

/// Fees collected in the last block, not yet distributed.
pub fn fee_accumulator(state: &dyn KeyValueRead) -> Result<Amount, StateError> {
    state::total(state, &state::FEE_ACCUMULATOR)
}

/// The staking parameters.
pub fn parameters(state: &dyn KeyValueRead) -> Result<StakingParameters, StateError> {
    state::parameters(state)
}

/// Every account, in address order (for invariant checks and exports; not bounded).
pub fn all_accounts(
    state: &dyn KeyValueRead,
) -> Result<Vec<(Address, StakingAccount)>, StateError> {
    scan::<StakingAccount>(state, &state::ACCOUNTS)?
        .into_iter()
        .map(|(k, a)| Ok((address_at(&k[2..]).ok_or_else(|| corrupt(&k))?, a)))
        .collect()
}

fn corrupt(key: &[u8]) -> StateError {
    StateError::Corrupt { key: crate::state::hex(key), reason: "malformed staking key".into() }
}

/// Parses 21 address bytes (for other modules' keys).
pub fn address_from(bytes: &[u8]) -> Option<Address> {
    address_at(bytes)
}
