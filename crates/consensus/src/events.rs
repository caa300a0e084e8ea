//! Typed events, tagged by module.

use atoll_types::{Address, Amount, Epoch, PublicKey};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::staking::Shares;

/// An event of the consensus layer.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "module", content = "event", rename_all = "snake_case")]
pub enum Event {
    /// A beacon event.
    Beacon(crate::beacon::BeaconEvent),
    /// A staking event.
    Staking(StakingEvent),
    /// A registry event.
    Registry(crate::registry::RegistryEvent),
    /// A scheduler event.
    Scheduler(crate::scheduler::SchedulerEvent),
    /// A governance event.
    Governance(crate::governance::GovernanceEvent),
    /// A roothash event.
    Roothash(crate::roothash::RoothashEvent),
}

/// Events of the staking module.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StakingEvent {
    /// Tokens moved between general balances (including fee payouts and withdrawals).
    Transfer {
        /// Source.
        from: Address,
        /// Destination.
        to: Address,
        /// Amount.
        amount: Amount,
    },
    /// Tokens destroyed.
    Burn {
        /// Whose.
        owner: Address,
        /// Amount.
        amount: Amount,
    },
    /// An allowance changed.
    AllowanceChange {
        /// The account that allows.
        owner: Address,
        /// Who may withdraw.
        beneficiary: Address,
        /// The new allowance.
        allowance: Amount,
    },
    /// Tokens delegated.
    AddEscrow {
        /// The delegator.
        owner: Address,
        /// The escrow account.
        escrow: Address,
        /// Tokens delegated.
        amount: Amount,
        /// Shares received.
        new_shares: Shares,
    },
    /// Shares undelegated: tokens start debonding.
    DebondingStart {
        /// The delegator.
        owner: Address,
        /// The escrow account.
        escrow: Address,
        /// Tokens moved to the debonding pool.
        amount: Amount,
        /// Active shares given up.
        active_shares: Shares,
        /// Debonding shares received.
        debonding_shares: Shares,
        /// The epoch at which the tokens are paid out.
        debond_end: Epoch,
    },
    /// Debonded tokens paid out to the delegator.
    ReclaimEscrow {
        /// The delegator.
        owner: Address,
        /// The escrow account.
        escrow: Address,
        /// Tokens paid out.
        amount: Amount,
        /// Debonding shares redeemed.
        shares: Shares,
    },
    /// Escrowed tokens slashed to the common pool.
    TakeEscrow {
        /// The slashed escrow account.
        owner: Address,
        /// Taken from the active pool.
        active: Amount,
        /// Taken from the debonding pool.
        debonding: Amount,
    },
    /// An epoch reward paid from the common pool.
    Reward {
        /// The rewarded escrow account.
        escrow: Address,
        /// Total reward (commission included).
        amount: Amount,
        /// The part minted as the entity's own shares.
        commission: Amount,
    },
    /// A commission schedule was amended.
    CommissionScheduleAmended {
        /// Whose.
        owner: Address,
    },
    /// An entity was slashed for misbehaviour the consensus engine proved (double signing),
    /// at the start of the block that carried the proof; its [`StakingEvent::TakeEscrow`]
    /// precedes it.
    Slashed {
        /// The slashed entity's escrow account.
        owner: Address,
        /// The offending node.
        node: Option<PublicKey>,
        /// What it did.
        reason: crate::staking::SlashReason,
        /// Tokens taken.
        amount: Amount,
    },
}

/// An event with where it happened in the block.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventRecord {
    /// The transaction's index in the block, or `None` for begin/end-block events.
    pub tx_index: Option<u32>,
    /// The event.
    pub event: Event,
}
