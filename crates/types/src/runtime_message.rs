//! The messages that move between a ParaTime and the consensus layer.
//!
//! Both sides hash and execute them, so they live here, below both: a runtime emits
//! [`RuntimeMessage`]s in a round and its executor commitment carries their hash; the
//! consensus layer executes them when the round is finalized, with the runtime's consensus
//! account as the caller, and hands their [`MessageResult`]s to the next round. Deposits go
//! the other way as [`IncomingMessage`]s, queued on the consensus layer until a round takes
//! them.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::{Address, Amount, Hash, Round};

/// A request from a runtime to the consensus layer's staking service. The caller is always
/// the runtime's own account (`Address::from_runtime_id`).
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuntimeMessage {
    /// Transfer from the runtime's account.
    StakingTransfer {
        /// Recipient.
        to: Address,
        /// Amount.
        amount: Amount,
    },
    /// Withdraw from an account that allowed the runtime to.
    StakingWithdraw {
        /// The account withdrawn from.
        from: Address,
        /// Amount.
        amount: Amount,
    },
    /// Delegate from the runtime's account.
    StakingAddEscrow {
        /// The escrow account.
        escrow: Address,
        /// Amount.
        amount: Amount,
    },
    /// Undelegate shares the runtime's account holds.
    StakingReclaimEscrow {
        /// The escrow account.
        escrow: Address,
        /// Shares to undelegate.
        shares: u128,
    },
}

/// Tokens deposited from the consensus layer into a runtime.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IncomingMessage {
    /// Sequence number, unique per runtime and increasing.
    pub id: u64,
    /// The consensus account that deposited.
    pub from: Address,
    /// The runtime account to credit (the depositor's own address unless it named another,
    /// e.g. an Ethereum account of an EVM ParaTime).
    pub to: Address,
    /// The amount (already moved to the runtime's consensus account).
    pub amount: Amount,
}

/// What became of one runtime message.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageResult {
    /// The round that emitted the message.
    pub round: Round,
    /// Its index among that round's messages.
    pub index: u32,
    /// `None` if it succeeded; otherwise the failing module and its code.
    pub error: Option<(String, u32)>,
}

/// The hash a commitment carries for a round's messages (zero when there are none).
pub fn messages_hash(messages: &[RuntimeMessage]) -> Hash {
    if messages.is_empty() {
        return Hash::ZERO;
    }
    Hash::of_encoded(messages)
}

/// The hash a commitment carries for the incoming messages a round consumed (zero when
/// there are none).
pub fn in_messages_hash(messages: &[IncomingMessage]) -> Hash {
    if messages.is_empty() {
        return Hash::ZERO;
    }
    Hash::of_encoded(messages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_lists_hash_to_zero_and_others_do_not() {
        assert_eq!(messages_hash(&[]), Hash::ZERO);
        assert_eq!(in_messages_hash(&[]), Hash::ZERO);
        let to = Address::reserved("x");
        let one = [RuntimeMessage::StakingTransfer { to, amount: Amount::new(1) }];
        let two = [RuntimeMessage::StakingTransfer { to, amount: Amount::new(2) }];
        assert_ne!(messages_hash(&one), Hash::ZERO);
        assert_ne!(messages_hash(&one), messages_hash(&two));
        let deposit = [IncomingMessage { id: 0, from: to, to, amount: Amount::new(1) }];
        assert_ne!(in_messages_hash(&deposit), Hash::ZERO);
    }
}
