//! The scheduler module: elects the validator set and each compute runtime's executor
//! committee at every epoch transition (and the validator set again right after a slash).
//!
//! Elections are pure functions of the state: the same registry, escrow and beacon give the
//! same committees on every node.

use std::collections::BTreeMap;

use atoll_mkvs::{KeyValueRead, Overlay};
use atoll_tee::ConsensusTime;
use atoll_types::{Address, Amount, Epoch, Hash, PublicKey, RuntimeId};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::beacon;
use crate::context::{BlockContext, Env};
use crate::error::{CallError, StateError};
use crate::events::Event;
use crate::module::Module;
use crate::registry::types::{roles, AdmissionPolicy, CommitteeRole, Node, Runtime, RuntimeKind};
use crate::registry::{self, RegistryEvent};
use crate::staking;
use crate::state::{self, key, prefix};

/// The module's name.
pub const MODULE_NAME: &str = "scheduler";

const PARAMETERS: [u8; 2] = [prefix::SCHEDULER, 0x01];
const VALIDATORS: [u8; 2] = [prefix::SCHEDULER, 0x02];
const COMMITTEES: [u8; 2] = [prefix::SCHEDULER, 0x03];

/// Scheduler parameters.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SchedulerParameters {
    /// Fewer eligible validators than this: the election fails and the set stays.
    pub min_validators: u16,
    /// The most validators.
    pub max_validators: u16,
    /// The most validators one entity may run.
    pub max_validators_per_entity: u16,
    /// Escrow per unit of voting power.
    pub voting_power_unit: Amount,
}

/// The most validators any parameter set may ask for: every commit certificate carries up
/// to one signature per validator, in every block and every sync response.
pub const MAX_VALIDATORS: u16 = 1_000;

/// The most voting power all validators hold together (the BFT engine sums powers in
/// `u64`): each validator's power is capped at this divided by [`MAX_VALIDATORS`].
pub const MAX_TOTAL_POWER: u64 = u64::MAX / 8;

impl SchedulerParameters {
    /// Checks the parameters are usable: consistent bounds and a non-zero power unit.
    pub fn validate(&self) -> Result<(), String> {
        if self.min_validators == 0
            || self.max_validators < self.min_validators
            || self.max_validators > MAX_VALIDATORS
            || self.max_validators_per_entity == 0
        {
            return Err(format!(
                "validator bounds must satisfy 1 <= min <= max <= {MAX_VALIDATORS} and a \
                 positive per-entity maximum"
            ));
        }
        if self.voting_power_unit.is_zero() {
            return Err("voting_power_unit must be positive".into());
        }
        Ok(())
    }
}

impl Default for SchedulerParameters {
    fn default() -> Self {
        Self {
            min_validators: 1,
            max_validators: 100,
            max_validators_per_entity: 1,
            voting_power_unit: Amount::new(1),
        }
    }
}

/// A member of the validator set.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Validator {
    /// The node.
    pub node_id: PublicKey,
    /// Its entity.
    pub entity: PublicKey,
    /// The key it votes with.
    pub consensus_key: PublicKey,
    /// Its voting power.
    pub power: u64,
}

/// A runtime's executor committee for an epoch: primary workers, then backup workers (a
/// node may hold both roles).
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Committee {
    /// The epoch it serves.
    pub epoch: Epoch,
    /// Primary workers, in election order.
    pub workers: Vec<PublicKey>,
    /// Backup workers, in election order.
    pub backup_workers: Vec<PublicKey>,
}

/// Scheduler events.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SchedulerEvent {
    /// A new validator set was elected.
    ValidatorsElected {
        /// How many validators.
        count: u32,
    },
    /// Too few eligible validators: the current set stays.
    ValidatorElectionFailed {
        /// How many were eligible.
        eligible: u32,
    },
    /// A runtime's committee was elected.
    CommitteeElected {
        /// The runtime.
        runtime: RuntimeId,
        /// The epoch.
        epoch: Epoch,
    },
}

/// The proposer rank of the worker at `index` in round `round`: rank 0 proposes first.
pub fn proposer_rank(round: u64, index: u64, workers: u64) -> u64 {
    if workers == 0 {
        return 0;
    }
    ((round % workers) + (index % workers)) % workers
}

/// The state key of the validator set (for proofs).
pub fn validators_key() -> Vec<u8> {
    VALIDATORS.to_vec()
}

/// The state key of a runtime's committee (for proofs).
pub fn committee_key(runtime: &RuntimeId) -> Vec<u8> {
    key(&[&COMMITTEES, runtime.as_bytes()])
}

/// The scheduler parameters.
pub fn parameters(state: &dyn KeyValueRead) -> Result<SchedulerParameters, StateError> {
    state::require(state, &PARAMETERS, "scheduler parameters")
}

/// The current validator set.
pub fn validators(state: &dyn KeyValueRead) -> Result<Vec<Validator>, StateError> {
    Ok(state::get(state, &VALIDATORS)?.unwrap_or_default())
}

/// A runtime's current committee, if one was elected.
pub fn committee(
    state: &dyn KeyValueRead,
    runtime: &RuntimeId,
) -> Result<Option<Committee>, StateError> {
    state::get(state, &key(&[&COMMITTEES, runtime.as_bytes()]))
}

fn active_escrow(state: &dyn KeyValueRead, entity: &PublicKey) -> Result<Amount, StateError> {
    Ok(staking::account(state, &Address::from_public_key(entity))?.escrow.active.balance)
}

/// Deterministic ordering key: `H(tag ‖ entropy ‖ id)`.
fn shuffle_key(tag: &[u8], entropy: &Hash, id: &[u8]) -> Hash {
    Hash::digest_parts(&[tag, entropy.as_bytes(), id])
}

/// Elects validators: entities whose escrow covers their stake claims, by active escrow
/// (descending; ties by a seeded shuffle), up to `max_validators_per_entity` active
/// validator nodes each, until `max_validators`.
pub fn elect_validators(
    state: &dyn KeyValueRead,
    epoch: Epoch,
) -> Result<Vec<Validator>, StateError> {
    let params = parameters(state)?;
    let entropy = beacon::beacon(state)?.entropy;
    let mut by_entity: BTreeMap<PublicKey, Vec<Node>> = BTreeMap::new();
    for node in registry::nodes(state)? {
        if node.has_roles(roles::VALIDATOR) && registry::node_is_active(state, &node, epoch)? {
            by_entity.entry(node.entity_id).or_default().push(node);
        }
    }
    let mut entities = Vec::new();
    for (entity, nodes) in by_entity {
        let escrow = active_escrow(state, &entity)?;
        if escrow.is_zero() || !registry::stake_covers_claims(state, &entity)? {
            continue;
        }
        entities.push((
            escrow,
            shuffle_key(b"atoll/scheduler: entity", &entropy, entity.as_bytes()),
            entity,
            nodes,
        ));
    }
    entities.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let unit = params.voting_power_unit.base_units().max(1);
    let mut elected = Vec::new();
    for (escrow, _, entity, mut nodes) in entities {
        if elected.len() >= usize::from(params.max_validators) {
            break;
        }
        nodes.sort_by_key(|n| shuffle_key(b"atoll/scheduler: node", &entropy, n.id.as_bytes()));
        let room = usize::from(params.max_validators) - elected.len();
        let take = nodes.len().min(usize::from(params.max_validators_per_entity)).min(room);
        let power = (escrow.base_units() / unit / take.max(1) as u128)
            .clamp(1, u128::from(MAX_TOTAL_POWER / u64::from(MAX_VALIDATORS)))
            as u64;
        for node in nodes.into_iter().take(take) {
            elected.push(Validator {
                node_id: node.id,
                entity,
                consensus_key: node.consensus_key,
                power,
            });
        }
    }
    Ok(elected)
}

/// Runs the validator election and stores the result (unless too few are eligible).
pub(crate) fn update_validators(
    state: &mut Overlay<'_>,
    epoch: Epoch,
    events: &mut Vec<Event>,
) -> Result<(), StateError> {
    let elected = elect_validators(state, epoch)?;
    let min = usize::from(parameters(state)?.min_validators);
    if elected.len() < min {
        events.push(Event::Scheduler(SchedulerEvent::ValidatorElectionFailed {
            eligible: elected.len() as u32,
        }));
        return Ok(());
    }
    if elected != validators(state)? {
        events.push(Event::Scheduler(SchedulerEvent::ValidatorsElected {
            count: elected.len() as u32,
        }));
        state::put(state, &VALIDATORS, &elected)?;
    }
    Ok(())
}

/// Whether `node` may serve `runtime` in `role` at `epoch` (before pool constraints).
/// `covered` remembers, per entity, whether its escrow covers its claims (the same for
/// every node of the entity).
fn eligible(
    state: &dyn KeyValueRead,
    runtime: &Runtime,
    node: &Node,
    now: ConsensusTime,
    epoch: Epoch,
    covered: &mut BTreeMap<PublicKey, bool>,
) -> Result<bool, StateError> {
    if !node.has_roles(roles::COMPUTE) || !registry::node_is_active(state, node, epoch)? {
        return Ok(false);
    }
    if registry::node_status(state, &node.id)?.suspended_from(&runtime.id, epoch) {
        return Ok(false);
    }
    let Some(deployment) = runtime.active_deployment(epoch) else { return Ok(false) };
    let Some(served) =
        node.runtimes.iter().find(|r| r.id == runtime.id && r.version == deployment.version)
    else {
        return Ok(false);
    };
    // A node whose machine computes another known answer would diverge from the others.
    if deployment.determinism.as_ref().is_some_and(|d| !d.admits(served.known_answer.as_ref())) {
        return Ok(false);
    }
    // A TEE runtime's nodes must still be attested under its current policy, with
    // collateral valid now and an attestation younger than the policy's maximum age.
    if registry::check_attestation(state, now, runtime, node, served)?.is_err() {
        return Ok(false);
    }
    if let AdmissionPolicy::EntityWhitelist(allowed) = &runtime.admission_policy {
        if !allowed.contains_key(&node.entity_id) {
            return Ok(false);
        }
    }
    if let Some(known) = covered.get(&node.entity_id) {
        return Ok(*known);
    }
    let covers = registry::stake_covers_claims(state, &node.entity_id)?;
    covered.insert(node.entity_id, covers);
    Ok(covers)
}

/// Elects `runtime`'s committee for `epoch` (at the consensus time `now`, which TEE
/// attestations are judged at), or `None` if the pool is too small.
pub fn elect_committee(
    state: &dyn KeyValueRead,
    runtime: &Runtime,
    now: ConsensusTime,
    epoch: Epoch,
) -> Result<Option<Committee>, StateError> {
    if beacon::beacon(state)?.weak {
        return Ok(None);
    }
    // The `validator_set` constraint is about the entity: an operator may run its
    // validator and its compute nodes separately.
    let validator_entities: Vec<PublicKey> = validators(state)?.iter().map(|v| v.entity).collect();
    let mut candidates = Vec::new();
    let mut covered = BTreeMap::new();
    for node in registry::nodes(state)? {
        if !eligible(state, runtime, &node, now, epoch, &mut covered)? {
            continue;
        }
        let Some(output) = beacon::electable_output(state, &node.id)? else { continue };
        candidates.push((node, output));
    }
    let mut chosen = BTreeMap::new();
    for (role, size) in [
        (CommitteeRole::Worker, runtime.executor.group_size),
        (CommitteeRole::BackupWorker, runtime.executor.group_backup_size),
    ] {
        if size == 0 {
            chosen.insert(role, Vec::new());
            continue;
        }
        let constraints = runtime.constraints.get(&role).copied().unwrap_or_default();
        let role_tag = [role as u8];
        let mut pool: Vec<(Hash, &Node)> = candidates
            .iter()
            .filter(|(node, _)| {
                !constraints.validator_set || validator_entities.contains(&node.entity_id)
            })
            .map(|(node, output)| {
                (
                    Hash::digest_parts(&[
                        b"atoll/scheduler: committee",
                        &epoch.0.to_le_bytes(),
                        runtime.id.as_bytes(),
                        &role_tag,
                        &output.0,
                    ]),
                    node,
                )
            })
            .collect();
        pool.sort_by_key(|entry| entry.0);
        let mut per_entity: BTreeMap<PublicKey, u16> = BTreeMap::new();
        let whitelist_cap = |entity: &PublicKey| match &runtime.admission_policy {
            AdmissionPolicy::EntityWhitelist(allowed) => allowed.get(entity).copied(),
            AdmissionPolicy::AnyNode => None,
        };
        let mut members: Vec<PublicKey> = Vec::new();
        let mut eligible_count = 0usize;
        for (_, node) in pool {
            let cap = [constraints.max_nodes_per_entity, whitelist_cap(&node.entity_id)]
                .into_iter()
                .flatten()
                .min();
            let taken = per_entity.entry(node.entity_id).or_default();
            if cap.is_some_and(|c| *taken >= c) {
                continue;
            }
            *taken += 1;
            eligible_count += 1;
            if members.len() < usize::from(size) {
                members.push(node.id);
            }
        }
        if eligible_count < usize::from(constraints.min_pool_size).max(usize::from(size)) {
            return Ok(None);
        }
        chosen.insert(role, members);
    }
    Ok(Some(Committee {
        epoch,
        workers: chosen.remove(&CommitteeRole::Worker).unwrap_or_default(),
        backup_workers: chosen.remove(&CommitteeRole::BackupWorker).unwrap_or_default(),
    }))
}

/// Elects every compute runtime's committee; suspends runtimes without one and resumes
/// runtimes that get one.
pub(crate) fn update_committees(
    state: &mut Overlay<'_>,
    now: ConsensusTime,
    epoch: Epoch,
    events: &mut Vec<Event>,
) -> Result<(), StateError> {
    for runtime in registry::runtimes(state)? {
        if runtime.kind != RuntimeKind::Compute {
            continue;
        }
        let committee = elect_committee(state, &runtime, now, epoch)?;
        let k = key(&[&COMMITTEES, runtime.id.as_bytes()]);
        let suspended = committee.is_none();
        match committee {
            Some(c) => {
                state::put(state, &k, &c)?;
                events.push(Event::Scheduler(SchedulerEvent::CommitteeElected {
                    runtime: runtime.id,
                    epoch,
                }));
            }
            None => state::delete(state, &k)?,
        }
        let mut status = registry::runtime_status(state, &runtime.id)?;
        if status.suspended != suspended {
            status.suspended = suspended;
            registry::set_runtime_status(state, &runtime.id, &status)?;
            events.push(Event::Registry(RegistryEvent::RuntimeSuspended {
                id: runtime.id,
                suspended,
            }));
        }
    }
    Ok(())
}

/// Runs all elections (genesis and epoch transitions).
pub(crate) fn elect_all(
    state: &mut Overlay<'_>,
    env: &Env,
    events: &mut Vec<Event>,
) -> Result<(), StateError> {
    update_validators(state, env.epoch, events)?;
    update_committees(state, env.consensus_time(), env.epoch, events)
}

pub(crate) fn init_genesis(
    state: &mut Overlay<'_>,
    params: &SchedulerParameters,
    env: &Env,
) -> Result<(), StateError> {
    state::put(state, &PARAMETERS, params)?;
    elect_all(state, env, &mut Vec::new())
}

/// The scheduler module.
pub struct Scheduler;

impl Module for Scheduler {
    fn name(&self) -> &'static str {
        MODULE_NAME
    }

    fn begin_block(
        &self,
        state: &mut Overlay<'_>,
        env: &Env,
        ctx: &BlockContext,
        epoch_changed: Option<Epoch>,
        events: &mut Vec<Event>,
    ) -> Result<(), StateError> {
        if epoch_changed.is_some() {
            elect_all(state, env, events)?;
        } else if !ctx.evidence.is_empty() {
            // A slashed (and frozen) validator leaves the set at once.
            update_validators(state, env.epoch, events)?;
        }
        Ok(())
    }

    fn gas_cost(
        &self,
        _state: &dyn KeyValueRead,
        _method: &str,
    ) -> Result<Option<u64>, StateError> {
        Ok(None)
    }

    fn deliver(
        &self,
        _state: &mut Overlay<'_>,
        _env: &Env,
        _caller: &Address,
        method: &str,
        _body: &[u8],
        _events: &mut Vec<Event>,
    ) -> Result<(), CallError> {
        Err(crate::error::CoreError::UnknownMethod(method.to_owned()).into())
    }
}
