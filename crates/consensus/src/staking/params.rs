//! Staking parameters (set in genesis, changed by governance).

use std::collections::BTreeMap;

use atoll_types::{Amount, Epoch};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use super::commission::CommissionScheduleRules;
use super::types::ThresholdKind;
use super::{methods, StakingError};

/// Reward rates are in units of 1/1,000,000,000 of the escrow per epoch.
pub const REWARD_RATE_DENOMINATOR: u128 = 1_000_000_000;

/// A reward rate in force for epochs before `until`.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RewardStep {
    /// The first epoch this step no longer covers.
    pub until: Epoch,
    /// Reward per epoch, in 1/1,000,000,000 of the active escrow.
    pub rate: u64,
}

/// Why escrow is slashed.
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
pub enum SlashReason {
    /// A validator signed two blocks at one height and round.
    ConsensusEquivocation,
    /// A light-client attack.
    ConsensusLightClientAttack,
    /// A compute node committed results that disagreed with the accepted ones.
    RuntimeIncorrectResults,
    /// A compute node signed two commitments for one round.
    RuntimeEquivocation,
    /// A compute node kept failing to do its work.
    RuntimeLiveness,
}

/// How much a slash takes and how long the node stays frozen.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Slash {
    /// Tokens taken from the escrow.
    pub amount: Amount,
    /// Epochs the node is frozen for (not elected).
    pub freeze_interval: u64,
}

/// The staking module's parameters.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StakingParameters {
    /// Epochs between undelegating and being paid out.
    pub debonding_interval: u64,
    /// The smallest delegation.
    pub min_delegation: Amount,
    /// The smallest transfer or withdrawal.
    pub min_transfer: Amount,
    /// The general balance an account must keep after paying a fee.
    pub min_transact_balance: Amount,
    /// The most allowances an account may grant.
    pub max_allowances: u32,
    /// Stake claim thresholds.
    pub thresholds: BTreeMap<ThresholdKind, Amount>,
    /// Reward rates over time.
    pub reward_schedule: Vec<RewardStep>,
    /// Percentage of an epoch's blocks an entity's validators must sign to be rewarded.
    pub signing_reward_threshold_percent: u8,
    /// How commission schedules may change.
    pub commission_schedule_rules: CommissionScheduleRules,
    /// Fee split weight of the block's proposer.
    pub fee_split_weight_propose: u64,
    /// Fee split weight of the block's voters (shared by voting power).
    pub fee_split_weight_vote: u64,
    /// Fee split weight of the next block's proposer.
    pub fee_split_weight_next_propose: u64,
    /// Slash amounts and freeze intervals by reason.
    pub slashing: BTreeMap<SlashReason, Slash>,
    /// Gas cost of each method (missing methods cost [`DEFAULT_METHOD_GAS`]).
    pub gas_costs: BTreeMap<String, u64>,
}

/// The gas cost of a method without an entry in [`StakingParameters::gas_costs`].
pub const DEFAULT_METHOD_GAS: u64 = 1_000;

impl Default for StakingParameters {
    fn default() -> Self {
        Self {
            debonding_interval: 2,
            min_delegation: Amount::new(1),
            min_transfer: Amount::new(1),
            min_transact_balance: Amount::ZERO,
            max_allowances: 16,
            thresholds: BTreeMap::new(),
            reward_schedule: Vec::new(),
            signing_reward_threshold_percent: 75,
            commission_schedule_rules: CommissionScheduleRules::default(),
            fee_split_weight_propose: 2,
            fee_split_weight_vote: 1,
            fee_split_weight_next_propose: 1,
            slashing: BTreeMap::new(),
            gas_costs: BTreeMap::new(),
        }
    }
}

impl StakingParameters {
    /// The gas a method costs, or `None` if staking has no such method.
    pub fn gas_cost(&self, method: &str) -> Option<u64> {
        methods::ALL
            .contains(&method)
            .then(|| self.gas_costs.get(method).copied().unwrap_or(DEFAULT_METHOD_GAS))
    }

    /// The reward rate for `epoch`.
    pub fn reward_rate(&self, epoch: Epoch) -> u64 {
        self.reward_schedule.iter().find(|s| epoch < s.until).map_or(0, |s| s.rate)
    }

    /// The total a set of thresholds requires.
    pub fn threshold_sum(&self, kinds: &[ThresholdKind]) -> Result<Amount, StakingError> {
        kinds.iter().try_fold(Amount::ZERO, |sum, kind| {
            sum.checked_add(self.thresholds.get(kind).copied().unwrap_or(Amount::ZERO))
                .map_err(|_| StakingError::Overflow)
        })
    }

    /// Checks the parameters for consistency.
    pub fn validate(&self) -> Result<(), String> {
        if self.signing_reward_threshold_percent > 100 {
            return Err("signing_reward_threshold_percent is above 100".into());
        }
        if self.reward_schedule.windows(2).any(|w| w[0].until >= w[1].until) {
            return Err("reward_schedule steps must be in increasing epoch order".into());
        }
        if self.reward_schedule.iter().any(|s| u128::from(s.rate) > REWARD_RATE_DENOMINATOR) {
            return Err("a reward rate is above 100% per epoch".into());
        }
        if self.fee_split_weight_propose == 0
            && self.fee_split_weight_vote == 0
            && self.fee_split_weight_next_propose == 0
        {
            return Err("fee split weights are all zero".into());
        }
        if let Some(m) = self.gas_costs.keys().find(|m| !methods::ALL.contains(&m.as_str())) {
            return Err(format!("gas cost for unknown method {m:?}"));
        }
        if self.commission_schedule_rules.rate_change_interval == 0 {
            return Err("commission rate_change_interval must be at least 1".into());
        }
        Ok(())
    }
}
