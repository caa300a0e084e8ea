//! Parameter-change proposals: named fields of one module's parameters, each with its new
//! value, merged into the parameters in force when the proposal closes (fields not named
//! keep their value, as in the reference, where a change lists only what it changes).
//!
//! A change is checked against the parameters in force when it is submitted, and again
//! when it passes: if other changes since make it unusable, the proposal fails and nothing
//! changes.

use std::collections::BTreeMap;

use atoll_mkvs::{KeyValueRead, Overlay};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::StateError;
use crate::state::{self, prefix};

/// The modules whose parameters governance may change. (The beacon's are not among them:
/// changing the backend mid-epoch would strand the epoch's proofs.)
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ParametersModule {
    /// [`crate::ConsensusParameters`] (all but `epoch_interval`).
    Consensus,
    /// [`crate::staking::StakingParameters`].
    Staking,
    /// [`crate::registry::RegistryParameters`].
    Registry,
    /// [`crate::scheduler::SchedulerParameters`].
    Scheduler,
    /// [`super::GovernanceParameters`].
    Governance,
    /// [`crate::roothash::RoothashParameters`].
    Roothash,
}

/// A change of some of one module's parameters.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ParameterChange {
    /// The module.
    pub module: ParametersModule,
    /// Field name → its new value, written as JSON (e.g. `"min_transfer": "\"42\""`,
    /// `"debonding_interval": "3"`). At least one; every name must be a field.
    pub changes: BTreeMap<String, String>,
}

/// Most fields one proposal changes.
const MAX_FIELDS: usize = 64;

/// `current` with `changes` applied.
fn merge<T: Serialize + DeserializeOwned>(
    current: &T,
    changes: &BTreeMap<String, String>,
) -> Result<T, String> {
    if changes.is_empty() || changes.len() > MAX_FIELDS {
        return Err(format!("a change names between 1 and {MAX_FIELDS} fields"));
    }
    let mut value = serde_json::to_value(current).map_err(|e| e.to_string())?;
    let fields = value.as_object_mut().ok_or("the parameters are not a record")?;
    for (field, text) in changes {
        if !fields.contains_key(field) {
            return Err(format!("no parameter named {field:?}"));
        }
        let new: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("{field}: not JSON: {e}"))?;
        fields.insert(field.clone(), new);
    }
    serde_json::from_value(value).map_err(|e| format!("invalid value: {e}"))
}

fn stored<T: BorshSerialize>(
    state: &mut Overlay<'_>,
    key: &[u8],
    value: &T,
) -> Result<Result<(), String>, StateError> {
    state::put(state, key, value).map(Ok)
}

/// Applies `change` to the parameters in `state` (checking the result as genesis would);
/// `Ok(Err(why))` if the change is not usable.
pub(crate) fn apply(
    state: &mut Overlay<'_>,
    change: &ParameterChange,
) -> Result<Result<(), String>, StateError> {
    match check(state, change)? {
        Ok(Changed::Consensus(p)) => stored(state, &crate::chain::PARAMETERS, &p),
        Ok(Changed::Staking(p)) => stored(state, &[prefix::STAKING, 0x09], &p),
        Ok(Changed::Registry(p)) => stored(state, &[prefix::REGISTRY, 0x07], &p),
        Ok(Changed::Scheduler(p)) => stored(state, &[prefix::SCHEDULER, 0x01], &p),
        Ok(Changed::Governance(p)) => stored(state, &super::PARAMETERS, &p),
        Ok(Changed::Roothash(p)) => stored(state, &[prefix::ROOTHASH, 0x01], &p),
        Err(why) => Ok(Err(why)),
    }
}

/// The parameters a change would produce.
pub(crate) enum Changed {
    Consensus(crate::ConsensusParameters),
    Staking(crate::staking::StakingParameters),
    Registry(crate::registry::RegistryParameters),
    Scheduler(crate::scheduler::SchedulerParameters),
    Governance(super::GovernanceParameters),
    Roothash(crate::roothash::RoothashParameters),
}

/// What `change` would make of the parameters in `state`, checked; `Ok(Err(why))` if it is
/// not usable.
pub(crate) fn check(
    state: &dyn KeyValueRead,
    change: &ParameterChange,
) -> Result<Result<Changed, String>, StateError> {
    let c = &change.changes;
    Ok(match change.module {
        ParametersModule::Consensus => {
            if c.contains_key("epoch_interval") {
                return Ok(Err("epoch_interval cannot change on a running chain".into()));
            }
            merge(&crate::chain::parameters(state)?, c)
                .and_then(|p| p.validate().map(|()| Changed::Consensus(p)))
        }
        ParametersModule::Staking => merge(&crate::staking::parameters(state)?, c)
            .and_then(|p| p.validate().map(|()| Changed::Staking(p))),
        ParametersModule::Registry => {
            let current = crate::registry::parameters(state)?;
            merge(&current, c).and_then(|p| {
                // A chain trusts simulated TEEs only if its genesis says so.
                if (&p.tee.simulation, p.tee.debug_allow_simulated_tee)
                    != (&current.tee.simulation, current.tee.debug_allow_simulated_tee)
                {
                    return Err("the simulation root and debug_allow_simulated_tee are set \
                                only at genesis"
                        .into());
                }
                p.validate().map(|()| Changed::Registry(p))
            })
        }
        ParametersModule::Scheduler => merge(&crate::scheduler::parameters(state)?, c)
            .and_then(|p| p.validate().map(|()| Changed::Scheduler(p))),
        ParametersModule::Governance => merge(&super::parameters(state)?, c)
            .and_then(|p| p.validate().map(|()| Changed::Governance(p))),
        ParametersModule::Roothash => merge(&crate::roothash::parameters(state)?, c)
            .and_then(|p| p.validate().map(|()| Changed::Roothash(p))),
    })
}
