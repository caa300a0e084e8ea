//! The staking module's state: accounts, share pools, delegations.

use std::collections::BTreeMap;

use atoll_types::{Address, Amount, Epoch};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use super::commission::CommissionSchedule;
use super::StakingError;
use crate::sharemath::mul_div_floor;

/// A number of shares in a pool. JSON carries it as a decimal string (it is a `u128`).
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Debug,
    Default,
    BorshSerialize,
    BorshDeserialize,
)]
pub struct Shares(pub u128);

impl Serialize for Shares {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Shares {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^[0-9]+$"))
            .description(Some("a number of shares, a decimal string"))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Shares {}

impl<'de> Deserialize<'de> for Shares {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <String as Deserialize>::deserialize(deserializer)?;
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(serde::de::Error::custom("shares must be a decimal string"));
        }
        s.parse().map(Shares).map_err(serde::de::Error::custom)
    }
}

/// A pool of tokens owned in shares: `balance` tokens split into `total_shares` shares.
///
/// Rewards raise `balance` without minting shares (each share is worth more); slashing
/// lowers it (each share is worth less). All conversions round down.
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
pub struct SharePool {
    /// Tokens in the pool.
    pub balance: Amount,
    /// Shares issued.
    pub total_shares: Shares,
}

impl SharePool {
    /// Shares that `amount` tokens buy: 1:1 in an empty pool; refused when shares exist but
    /// the balance is zero (the shares would be worth infinitely little).
    pub fn shares_for(&self, amount: Amount) -> Result<Shares, StakingError> {
        if self.total_shares.0 == 0 {
            return Ok(Shares(amount.base_units()));
        }
        if self.balance.is_zero() {
            return Err(StakingError::InvalidArgument("pool has shares but no balance"));
        }
        mul_div_floor(amount.base_units(), self.total_shares.0, self.balance.base_units())
            .map(Shares)
            .ok_or(StakingError::Overflow)
    }

    /// Tokens that `shares` are worth.
    pub fn amount_for(&self, shares: Shares) -> Result<Amount, StakingError> {
        if self.total_shares.0 == 0 {
            return Ok(Amount::ZERO);
        }
        mul_div_floor(shares.0, self.balance.base_units(), self.total_shares.0)
            .map(Amount::new)
            .ok_or(StakingError::Overflow)
    }

    /// Puts `amount` tokens in, returning the shares minted.
    pub fn deposit(&mut self, amount: Amount) -> Result<Shares, StakingError> {
        let shares = self.shares_for(amount)?;
        self.balance = self.balance.checked_add(amount).map_err(|_| StakingError::Overflow)?;
        self.total_shares.0 =
            self.total_shares.0.checked_add(shares.0).ok_or(StakingError::Overflow)?;
        Ok(shares)
    }

    /// Redeems `shares`, returning the tokens taken out. Redeeming every share takes the
    /// whole balance (`⌊s × b / s⌋ = b`), so a pool never keeps tokens without shares.
    pub fn withdraw(&mut self, shares: Shares) -> Result<Amount, StakingError> {
        if shares > self.total_shares {
            return Err(StakingError::InsufficientShares);
        }
        let amount = self.amount_for(shares)?;
        self.balance = self.balance.checked_sub(amount).map_err(|_| StakingError::Overflow)?;
        self.total_shares.0 -= shares.0;
        Ok(amount)
    }
}

/// The kinds of stake claim thresholds.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Debug,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ThresholdKind {
    /// Registering an entity.
    Entity,
    /// A node with the validator role.
    NodeValidator,
    /// A node with the compute role.
    NodeCompute,
    /// A node with the key-manager role.
    NodeKeyManager,
    /// A node with the observer role.
    NodeObserver,
    /// Registering a compute runtime.
    RuntimeCompute,
    /// Registering a key-manager runtime.
    RuntimeKeyManager,
}

/// The general (liquid) part of an account.
#[derive(
    Clone, PartialEq, Eq, Debug, Default, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GeneralAccount {
    /// Liquid tokens.
    pub balance: Amount,
    /// The next transaction nonce.
    pub nonce: u64,
    /// Who may withdraw how much.
    #[serde(default)]
    pub allowances: BTreeMap<Address, Amount>,
}

/// The escrow (staked) part of an account.
#[derive(
    Clone, PartialEq, Eq, Debug, Default, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EscrowAccount {
    /// Delegated tokens.
    pub active: SharePool,
    /// Tokens waiting out the debonding interval.
    pub debonding: SharePool,
    /// The commission the account takes from rewards.
    #[serde(default)]
    pub commission_schedule: CommissionSchedule,
    /// Stake claims: claim name → thresholds it requires.
    #[serde(default)]
    pub stake_accumulator: BTreeMap<String, Vec<ThresholdKind>>,
}

/// An account: liquid part and escrow part.
#[derive(
    Clone, PartialEq, Eq, Debug, Default, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Account {
    /// Liquid part.
    pub general: GeneralAccount,
    /// Escrow part.
    #[serde(default)]
    pub escrow: EscrowAccount,
}

/// A delegator's shares in an escrow account's active pool.
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
pub struct Delegation {
    /// Shares held.
    pub shares: Shares,
}

/// A delegator's shares in an escrow account's debonding pool, paid out at `debond_end`.
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
pub struct DebondingDelegation {
    /// Shares held in the debonding pool.
    pub shares: Shares,
    /// The epoch at which the tokens are paid out.
    pub debond_end: Epoch,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(balance: u128, shares: u128) -> SharePool {
        SharePool { balance: Amount::new(balance), total_shares: Shares(shares) }
    }

    #[test]
    fn first_deposit_is_one_to_one_and_rounding_favours_the_pool() {
        let mut p = SharePool::default();
        assert_eq!(p.deposit(Amount::new(100)), Ok(Shares(100)));
        // A reward: each share is now worth 1.5 tokens.
        p.balance = Amount::new(150);
        // 10 tokens buy floor(10 × 100 / 150) = 6 shares.
        assert_eq!(p.deposit(Amount::new(10)), Ok(Shares(6)));
        assert_eq!(p, pool(160, 106));
        // 6 shares are worth floor(6 × 160 / 106) = 9 tokens: less than the 10 paid.
        assert_eq!(p.amount_for(Shares(6)), Ok(Amount::new(9)));
    }

    #[test]
    fn empty_balance_with_shares_refuses_deposits() {
        let mut p = pool(0, 10);
        assert!(p.deposit(Amount::new(5)).is_err());
    }

    #[test]
    fn redeeming_everything_empties_the_pool() {
        let mut p = pool(1000, 3);
        assert_eq!(p.withdraw(Shares(1)), Ok(Amount::new(333)));
        assert_eq!(p.withdraw(Shares(2)), Ok(Amount::new(667)));
        assert_eq!(p, pool(0, 0));
        assert_eq!(p.withdraw(Shares(1)), Err(StakingError::InsufficientShares));
    }
}
