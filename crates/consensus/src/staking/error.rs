//! Staking errors and their stable codes.

use thiserror::Error;

use crate::error::ModuleError;

/// Why a staking operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StakingError {
    /// A malformed or meaningless argument.
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
    /// The general balance is too low.
    #[error("insufficient balance")]
    InsufficientBalance,
    /// The escrow no longer covers the account's stake claims.
    #[error("insufficient stake for the account's stake claims")]
    InsufficientStake,
    /// The amount is below the minimum transfer.
    #[error("amount below the minimum transfer")]
    UnderMinTransfer,
    /// The amount is below the minimum delegation.
    #[error("amount below the minimum delegation")]
    UnderMinDelegation,
    /// The account already has the maximum number of allowances.
    #[error("too many allowances")]
    TooManyAllowances,
    /// The withdrawal exceeds the allowance.
    #[error("allowance exceeded")]
    AllowanceExceeded,
    /// Not that many shares in the delegation or pool.
    #[error("insufficient shares")]
    InsufficientShares,
    /// The commission schedule amendment is invalid.
    #[error("invalid commission schedule: {0}")]
    InvalidCommissionSchedule(&'static str),
    /// A quantity overflowed.
    #[error("arithmetic overflow")]
    Overflow,
}

impl ModuleError for StakingError {
    fn module(&self) -> &'static str {
        super::MODULE_NAME
    }

    fn code(&self) -> u32 {
        match self {
            StakingError::InvalidArgument(_) => 1,
            StakingError::InsufficientBalance => 2,
            StakingError::InsufficientStake => 3,
            StakingError::UnderMinTransfer => 4,
            StakingError::UnderMinDelegation => 5,
            StakingError::TooManyAllowances => 6,
            StakingError::AllowanceExceeded => 7,
            StakingError::InsufficientShares => 8,
            StakingError::InvalidCommissionSchedule(_) => 9,
            StakingError::Overflow => 10,
        }
    }
}
