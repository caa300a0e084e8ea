//! Commission schedules: the share of rewards an escrow account keeps, changing over time
//! only within bounds announced in advance.

use atoll_types::Epoch;
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use super::StakingError;

/// Commission rates are in units of 1/100,000 (so 100,000 is 100 %).
pub const COMMISSION_RATE_DENOMINATOR: u64 = 100_000;

/// A rate in force from `start`.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommissionRateStep {
    /// First epoch of this rate.
    pub start: Epoch,
    /// The rate, in 1/100,000.
    pub rate: u64,
}

/// Bounds on the rate in force from `start`.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommissionRateBoundStep {
    /// First epoch of these bounds.
    pub start: Epoch,
    /// Lowest allowed rate.
    pub rate_min: u64,
    /// Highest allowed rate.
    pub rate_max: u64,
}

/// A commission schedule: rate steps and bound steps, each sorted by start epoch.
#[derive(
    Clone, PartialEq, Eq, Debug, Default, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommissionSchedule {
    /// Rates over time.
    #[serde(default)]
    pub rates: Vec<CommissionRateStep>,
    /// Bounds over time.
    #[serde(default)]
    pub bounds: Vec<CommissionRateBoundStep>,
}

/// How schedules may change (a genesis parameter).
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommissionScheduleRules {
    /// Steps may only start at multiples of this many epochs.
    pub rate_change_interval: u64,
    /// New bounds must start at least this many epochs in the future (except a schedule's
    /// first bounds: there is nothing yet that delegators relied on).
    pub rate_bound_lead: u64,
    /// The most rate steps a schedule may hold.
    pub max_rate_steps: u16,
    /// The most bound steps a schedule may hold.
    pub max_bound_steps: u16,
    /// The lowest rate any step may set, in 1/100,000.
    #[serde(default)]
    pub min_commission_rate: u64,
}

impl Default for CommissionScheduleRules {
    fn default() -> Self {
        Self {
            rate_change_interval: 1,
            rate_bound_lead: 14,
            max_rate_steps: 16,
            max_bound_steps: 16,
            min_commission_rate: 0,
        }
    }
}

fn invalid(reason: &'static str) -> StakingError {
    StakingError::InvalidCommissionSchedule(reason)
}

impl CommissionSchedule {
    /// The rate in force at `epoch` (0 before the first step).
    pub fn rate_at(&self, epoch: Epoch) -> u64 {
        self.rates.iter().take_while(|s| s.start <= epoch).last().map_or(0, |s| s.rate)
    }

    /// Checks shape and bounds: sorted, rates ≤ 100 %, every rate within its bounds.
    pub fn validate(&self, rules: &CommissionScheduleRules) -> Result<(), StakingError> {
        if self.rates.len() > usize::from(rules.max_rate_steps) {
            return Err(invalid("too many rate steps"));
        }
        if self.bounds.len() > usize::from(rules.max_bound_steps) {
            return Err(invalid("too many bound steps"));
        }
        if self.rates.windows(2).any(|w| w[0].start >= w[1].start)
            || self.bounds.windows(2).any(|w| w[0].start >= w[1].start)
        {
            return Err(invalid("steps must be in strictly increasing epoch order"));
        }
        if self.rates.iter().any(|s| s.rate > COMMISSION_RATE_DENOMINATOR) {
            return Err(invalid("rate above 100%"));
        }
        if self.rates.iter().any(|s| s.rate < rules.min_commission_rate) {
            return Err(invalid("rate below the minimum commission rate"));
        }
        if self
            .bounds
            .iter()
            .any(|b| b.rate_min > b.rate_max || b.rate_max > COMMISSION_RATE_DENOMINATOR)
        {
            return Err(invalid("bounds must satisfy min ≤ max ≤ 100%"));
        }
        // Every rate must lie within the bounds in force whenever it is in force: check at
        // every step boundary of either list.
        if !self.rates.is_empty() {
            let mut epochs: Vec<Epoch> = self
                .rates
                .iter()
                .map(|s| s.start)
                .chain(self.bounds.iter().map(|b| b.start))
                .collect();
            epochs.sort();
            for epoch in epochs.into_iter().filter(|e| *e >= self.rates[0].start) {
                let rate = self.rate_at(epoch);
                let Some(bound) = self.bounds.iter().take_while(|b| b.start <= epoch).last() else {
                    return Err(invalid("a rate is in force without bounds"));
                };
                if rate < bound.rate_min || rate > bound.rate_max {
                    return Err(invalid("a rate is outside its bounds"));
                }
            }
        }
        Ok(())
    }

    /// Applies `amendment` at `now`: its steps replace this schedule's steps from their
    /// first start on. Rates must start in the future at multiples of the change interval;
    /// bounds must start at least `rate_bound_lead` epochs ahead, unless the schedule has
    /// none yet (a new validator sets its first bounds and rate from the next boundary).
    /// Expired steps are pruned.
    pub fn amend(
        &mut self,
        amendment: &CommissionSchedule,
        now: Epoch,
        rules: &CommissionScheduleRules,
    ) -> Result<(), StakingError> {
        if amendment.rates.is_empty() && amendment.bounds.is_empty() {
            return Err(invalid("empty amendment"));
        }
        let interval = rules.rate_change_interval.max(1);
        for step in &amendment.rates {
            if step.start <= now || step.start.0 % interval != 0 {
                return Err(invalid(
                    "rate steps must start after now, at a change-interval boundary",
                ));
            }
        }
        let lead = if self.bounds.is_empty() { 1 } else { rules.rate_bound_lead };
        for step in &amendment.bounds {
            if step.start.0 < now.0.saturating_add(lead) || step.start.0 % interval != 0 {
                return Err(invalid(
                    "bound steps must start at least the bound lead ahead, at a boundary",
                ));
            }
        }
        let mut next = self.clone();
        if let Some(first) = amendment.rates.first() {
            next.rates.retain(|s| s.start < first.start);
            next.rates.extend_from_slice(&amendment.rates);
        }
        if let Some(first) = amendment.bounds.first() {
            next.bounds.retain(|s| s.start < first.start);
            next.bounds.extend_from_slice(&amendment.bounds);
        }
        next.prune(now);
        next.validate(rules)?;
        *self = next;
        Ok(())
    }

    /// Drops steps superseded before `now`, keeping the one in force.
    fn prune(&mut self, now: Epoch) {
        let in_force = self.rates.iter().take_while(|s| s.start <= now).count();
        if in_force > 1 {
            self.rates.drain(..in_force - 1);
        }
        let in_force = self.bounds.iter().take_while(|s| s.start <= now).count();
        if in_force > 1 {
            self.bounds.drain(..in_force - 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> CommissionScheduleRules {
        CommissionScheduleRules {
            rate_change_interval: 10,
            rate_bound_lead: 20,
            max_rate_steps: 4,
            max_bound_steps: 4,
            min_commission_rate: 0,
        }
    }

    fn rate(start: u64, rate: u64) -> CommissionRateStep {
        CommissionRateStep { start: Epoch(start), rate }
    }

    fn bound(start: u64, rate_min: u64, rate_max: u64) -> CommissionRateBoundStep {
        CommissionRateBoundStep { start: Epoch(start), rate_min, rate_max }
    }

    /// [T] finding 18: a new validator could set no commission for `rate_bound_lead`
    /// epochs (no rate may stand without bounds, and bounds had to start that far ahead).
    #[test]
    fn a_new_validator_sets_its_first_bounds_and_rate_from_the_next_boundary() {
        let mut schedule = CommissionSchedule::default();
        let first =
            CommissionSchedule { rates: vec![rate(10, 5_000)], bounds: vec![bound(10, 0, 10_000)] };
        schedule.amend(&first, Epoch(3), &rules()).expect("first bounds need no lead");
        assert_eq!(schedule.rate_at(Epoch(10)), 5_000);
        // Later bounds keep the lead.
        let tighter = CommissionSchedule { rates: vec![], bounds: vec![bound(20, 0, 5_000)] };
        assert!(schedule.amend(&tighter, Epoch(3), &rules()).is_err());
        // Not now, not off a boundary.
        let mut fresh = CommissionSchedule::default();
        let now = CommissionSchedule { rates: vec![], bounds: vec![bound(0, 0, 1)] };
        assert!(fresh.amend(&now, Epoch(0), &rules()).is_err());
    }

    #[test]
    fn rates_refuse_to_go_below_the_minimum_commission_rate() {
        let rules = CommissionScheduleRules { min_commission_rate: 1_000, ..rules() };
        let mut schedule = CommissionSchedule::default();
        let low =
            CommissionSchedule { rates: vec![rate(10, 500)], bounds: vec![bound(10, 0, 5_000)] };
        assert!(schedule.amend(&low, Epoch(0), &rules).is_err());
        let ok =
            CommissionSchedule { rates: vec![rate(10, 1_000)], bounds: vec![bound(10, 0, 5_000)] };
        schedule.amend(&ok, Epoch(0), &rules).expect("at the minimum");
    }

    #[test]
    fn amend_sets_bounds_then_rates_within_them() {
        let mut schedule = CommissionSchedule::default();
        // Rates without bounds are refused.
        let only_rate = CommissionSchedule { rates: vec![rate(10, 5_000)], bounds: vec![] };
        assert!(schedule.amend(&only_rate, Epoch(0), &rules()).is_err());
        let bounds = CommissionSchedule { rates: vec![], bounds: vec![bound(20, 0, 10_000)] };
        schedule.amend(&bounds, Epoch(0), &rules()).expect("bounds");
        // Further bounds too soon are refused.
        let soon = CommissionSchedule { rates: vec![], bounds: vec![bound(10, 0, 10_000)] };
        assert!(schedule.amend(&soon, Epoch(0), &rules()).is_err());
        let rates =
            CommissionSchedule { rates: vec![rate(20, 5_000), rate(30, 20_000)], bounds: vec![] };
        assert!(schedule.amend(&rates, Epoch(5), &rules()).is_err(), "20% is above the 10% bound");
        let rates =
            CommissionSchedule { rates: vec![rate(20, 5_000), rate(30, 8_000)], bounds: vec![] };
        schedule.amend(&rates, Epoch(5), &rules()).expect("rates");
        assert_eq!(schedule.rate_at(Epoch(19)), 0);
        assert_eq!(schedule.rate_at(Epoch(25)), 5_000);
        assert_eq!(schedule.rate_at(Epoch(100)), 8_000);
        // Not on an interval boundary, or in the past.
        let odd = CommissionSchedule { rates: vec![rate(45, 1_000)], bounds: vec![] };
        assert!(schedule.amend(&odd, Epoch(5), &rules()).is_err());
        let past = CommissionSchedule { rates: vec![rate(0, 1_000)], bounds: vec![] };
        assert!(schedule.amend(&past, Epoch(5), &rules()).is_err());
        // Later amendments replace the tail and prune what expired.
        let change = CommissionSchedule { rates: vec![rate(40, 1_000)], bounds: vec![] };
        schedule.amend(&change, Epoch(35), &rules()).expect("change");
        assert_eq!(schedule.rates, vec![rate(30, 8_000), rate(40, 1_000)]);
    }

    #[test]
    fn validation_catches_bad_shapes() {
        let unsorted = CommissionSchedule {
            rates: vec![rate(20, 1), rate(10, 1)],
            bounds: vec![bound(0, 0, 10)],
        };
        assert!(unsorted.validate(&rules()).is_err());
        let over = CommissionSchedule {
            rates: vec![rate(0, 100_001)],
            bounds: vec![bound(0, 0, 100_000)],
        };
        assert!(over.validate(&rules()).is_err());
        let inverted = CommissionSchedule { rates: vec![], bounds: vec![bound(0, 10, 5)] };
        assert!(inverted.validate(&rules()).is_err());
        assert!(CommissionSchedule::default().validate(&rules()).is_ok());
    }
}
