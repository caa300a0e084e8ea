//! The registry module: entities, nodes and runtimes.
//!
//! Entities own stake and nodes; nodes register (and re-register before they expire) with
//! their keys, roles and runtimes; runtimes are registered by their owning entity. Every
//! registration claims stake against the entity's escrow (see `staking::add_stake_claim`).

mod attestation;
mod state;
pub mod types;

use atoll_mkvs::{KeyValueRead, Overlay};
use atoll_types::{Address, Amount, Epoch, MultiSigned, PublicKey};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use thiserror::Error;

pub(crate) use attestation::check_attestation;
pub use attestation::RegisteredRaks;
pub use state::{
    entities, entity, entity_key, node, node_by_address, node_by_consensus_key, node_by_vrf_key,
    node_key, node_status, nodes, parameters, runtime, runtime_key, runtime_status, runtimes,
};
pub(crate) use state::{set_node_status, set_runtime_status};
use types::{
    roles, Entity, Node, NodeStatus, Runtime, RuntimeKind, RuntimeStatus, TeeHardware,
    PENALTY_NOTICE_EPOCHS,
};

use crate::context::{BlockContext, Env};
use crate::error::{CallError, CoreError, ModuleError, StateError};
use crate::events::Event;
use crate::module::{decode_body, Module};
use crate::staking::{self, ThresholdKind};

/// The module's name.
pub const MODULE_NAME: &str = "registry";

/// `registry.RegisterEntity`
pub const REGISTER_ENTITY: &str = "registry.RegisterEntity";
/// `registry.DeregisterEntity`
pub const DEREGISTER_ENTITY: &str = "registry.DeregisterEntity";
/// `registry.RegisterNode`
pub const REGISTER_NODE: &str = "registry.RegisterNode";
/// `registry.UnfreezeNode`
pub const UNFREEZE_NODE: &str = "registry.UnfreezeNode";
/// `registry.RegisterRuntime`
pub const REGISTER_RUNTIME: &str = "registry.RegisterRuntime";

const METHODS: [&str; 5] =
    [REGISTER_ENTITY, DEREGISTER_ENTITY, REGISTER_NODE, UNFREEZE_NODE, REGISTER_RUNTIME];

/// Registry parameters.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct RegistryParameters {
    /// How many epochs ahead a node descriptor may expire.
    pub max_node_expiration: u64,
    /// Epochs an expired node is kept before removal.
    pub node_grace_period: u64,
    /// Fee per runtime per epoch of registration, paid to the common pool.
    pub node_runtime_fee_per_epoch: Amount,
    /// Gas cost of each method.
    pub gas_cost: u64,
    /// The roots TEE evidence is trusted under (Intel's; a devnet's simulation root only
    /// when its genesis allows simulated TEEs — governance cannot).
    #[serde(default)]
    pub tee: atoll_tee::TrustRoots,
}

impl RegistryParameters {
    /// Checks the parameters are usable (at genesis and for a governance change).
    pub fn validate(&self) -> Result<(), String> {
        if self.max_node_expiration == 0 || self.gas_cost == 0 {
            return Err("max_node_expiration and gas_cost must be positive".into());
        }
        self.tee.validate().map_err(|e| format!("tee: {e}"))
    }
}

impl Default for RegistryParameters {
    fn default() -> Self {
        Self {
            max_node_expiration: 4,
            node_grace_period: 1,
            node_runtime_fee_per_epoch: Amount::ZERO,
            gas_cost: 1_000,
            tee: atoll_tee::TrustRoots::default(),
        }
    }
}

/// Why a registration was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RegistryError {
    /// A descriptor field is invalid.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The descriptor's signatures are missing or invalid.
    #[error("invalid descriptor signature: {0}")]
    InvalidSignature(String),
    /// The caller may not do this.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// No such entity.
    #[error("no such entity")]
    NoSuchEntity,
    /// No such node.
    #[error("no such node")]
    NoSuchNode,
    /// No such runtime.
    #[error("no such runtime")]
    NoSuchRuntime,
    /// The entity's escrow does not cover the registration's stake claim.
    #[error("insufficient stake")]
    InsufficientStake,
    /// The entity still has nodes or runtimes.
    #[error("entity still has nodes or runtimes")]
    EntityInUse,
    /// The runtime requires a TEE attestation this chain cannot verify.
    #[error("TEE attestation rejected: {0}")]
    Attestation(String),
    /// Another node uses this consensus key.
    #[error("consensus key already in use")]
    ConsensusKeyInUse,
    /// The node is still frozen.
    #[error("node is frozen")]
    NodeFrozen,
    /// The caller cannot pay the registration fee.
    #[error("insufficient balance for the registration fee")]
    InsufficientBalance,
    /// Another node uses this VRF key.
    #[error("VRF key already in use")]
    VrfKeyInUse,
}

impl ModuleError for RegistryError {
    fn module(&self) -> &'static str {
        MODULE_NAME
    }

    fn code(&self) -> u32 {
        match self {
            RegistryError::InvalidArgument(_) => 1,
            RegistryError::InvalidSignature(_) => 2,
            RegistryError::Forbidden(_) => 3,
            RegistryError::NoSuchEntity => 4,
            RegistryError::NoSuchNode => 5,
            RegistryError::NoSuchRuntime => 6,
            RegistryError::InsufficientStake => 7,
            RegistryError::EntityInUse => 8,
            RegistryError::Attestation(_) => 9,
            RegistryError::ConsensusKeyInUse => 10,
            RegistryError::NodeFrozen => 11,
            RegistryError::InsufficientBalance => 12,
            RegistryError::VrfKeyInUse => 13,
        }
    }
}

/// Body of `registry.RegisterEntity`: the caller must be the entity.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct RegisterEntity {
    /// The descriptor.
    pub entity: Entity,
}

/// Body of `registry.RegisterNode`: the descriptor, signed by the node's identity, consensus
/// and p2p keys. The caller must be the node or its entity.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct RegisterNode {
    /// The signed descriptor.
    pub node: MultiSigned<Node>,
}

/// Body of `registry.UnfreezeNode`: the caller must be the node's entity.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct UnfreezeNode {
    /// The node.
    pub node_id: PublicKey,
}

/// Body of `registry.RegisterRuntime`: the caller must be the owning entity.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct RegisterRuntime {
    /// The descriptor.
    pub runtime: Runtime,
}

fn invalid(reason: impl Into<String>) -> RegistryError {
    RegistryError::InvalidArgument(reason.into())
}

fn node_claim(id: &PublicKey) -> String {
    format!("registry.node.{id}")
}

fn runtime_claim(runtime: &Runtime) -> String {
    format!("registry.runtime.{}", runtime.id)
}

fn stake_claim(
    state: &mut Overlay<'_>,
    entity: &PublicKey,
    claim: &str,
    kinds: &[ThresholdKind],
) -> Result<(), CallError> {
    staking::add_stake_claim(state, &Address::from_public_key(entity), claim, kinds).map_err(|e| {
        match e {
            CallError::Tx(t) if t.module == staking::MODULE_NAME && t.code == 3 => {
                RegistryError::InsufficientStake.into()
            }
            other => other,
        }
    })
}

pub(crate) fn register_entity(
    state: &mut Overlay<'_>,
    caller: &Address,
    entity: &Entity,
    events: &mut Vec<Event>,
) -> Result<(), CallError> {
    if *caller != Address::from_public_key(&entity.id) {
        return Err(RegistryError::Forbidden("only the entity registers itself").into());
    }
    if entity.nodes.len() > 256 {
        return Err(invalid("more than 256 nodes").into());
    }
    if entity.id.is_small_order() {
        return Err(invalid("the entity key is a small-order point").into());
    }
    stake_claim(state, &entity.id, "registry.entity", &[ThresholdKind::Entity])?;
    state::set_entity(state, Some(entity), &entity.id)?;
    events.push(Event::Registry(RegistryEvent::EntityRegistered { id: entity.id }));
    Ok(())
}

fn deregister_entity(
    state: &mut Overlay<'_>,
    caller: &Address,
    events: &mut Vec<Event>,
) -> Result<(), CallError> {
    let Some(entity) =
        entities(state)?.into_iter().find(|e| Address::from_public_key(&e.id) == *caller)
    else {
        return Err(RegistryError::NoSuchEntity.into());
    };
    let has_nodes = nodes(state)?.iter().any(|n| n.entity_id == entity.id);
    let has_runtimes = runtimes(state)?.iter().any(|r| r.entity_id == entity.id);
    if has_nodes || has_runtimes {
        return Err(RegistryError::EntityInUse.into());
    }
    state::set_entity(state, None, &entity.id)?;
    staking::remove_stake_claim(state, caller, "registry.entity")?;
    events.push(Event::Registry(RegistryEvent::EntityDeregistered { id: entity.id }));
    Ok(())
}

/// Checks a node descriptor against the registry (shared by transactions and genesis).
pub(crate) fn check_node(
    state: &dyn KeyValueRead,
    env: &Env,
    node: &Node,
) -> Result<(), CallError> {
    let entity = entity(state, &node.entity_id)?.ok_or(RegistryError::NoSuchEntity)?;
    if !entity.nodes.contains(&node.id) {
        return Err(RegistryError::Forbidden("node is not whitelisted by its entity").into());
    }
    let params = parameters(state)?;
    if node.expiration <= env.epoch
        || node.expiration.0 > env.epoch.0.saturating_add(params.max_node_expiration)
    {
        return Err(invalid(format!(
            "expiration must be in {}..={}",
            env.epoch.0 + 1,
            env.epoch.0 + params.max_node_expiration
        ))
        .into());
    }
    if node.roles == 0 || node.roles & !roles::ALL != 0 {
        return Err(invalid("roles must be a non-empty set of known roles").into());
    }
    if node.addresses.len() > 16 || node.addresses.iter().any(|a| a.is_empty() || a.len() > 256) {
        return Err(invalid("at most 16 addresses of 1-256 characters").into());
    }
    if node.runtimes.len() > 32 {
        return Err(invalid("at most 32 runtimes").into());
    }
    for served in &node.runtimes {
        let runtime = runtime(state, &served.id)?.ok_or(RegistryError::NoSuchRuntime)?;
        if !runtime.deployments.iter().any(|d| d.version == served.version) {
            return Err(invalid(format!(
                "runtime {} has no version {:?}",
                served.id, served.version
            ))
            .into());
        }
        check_attestation(state, env.consensus_time(), &runtime, node, served)?
            .map_err(RegistryError::Attestation)?;
    }
    if let Some(holder) = node_by_consensus_key(state, &node.consensus_key)? {
        if holder != node.id {
            return Err(RegistryError::ConsensusKeyInUse.into());
        }
    }
    for (key, what) in [
        (node.id, "identity"),
        (node.consensus_key, "consensus"),
        (node.p2p_key, "p2p"),
        (node.entity_id, "entity"),
    ] {
        if key.is_small_order() {
            return Err(invalid(format!("the {what} key is a small-order point")).into());
        }
    }
    // A VRF key is proven held and belongs to one node: nobody can copy another node's
    // beacon proofs or take its key first.
    let possession = atoll_crypto::possession_input(node.id.as_bytes());
    if node.vrf_key.verify(&possession, &node.vrf_possession).is_err() {
        return Err(invalid("the VRF key's proof of possession does not verify").into());
    }
    if let Some(holder) = state::node_by_vrf_key(state, &node.vrf_key)? {
        if holder != node.id {
            return Err(RegistryError::VrfKeyInUse.into());
        }
    }
    if let Some(previous) = self::node(state, &node.id)? {
        if previous.entity_id != node.entity_id {
            return Err(RegistryError::Forbidden("a node cannot move to another entity").into());
        }
    }
    Ok(())
}

/// Stores a checked node and claims its stake.
pub(crate) fn store_node(
    state: &mut Overlay<'_>,
    node: &Node,
    events: &mut Vec<Event>,
) -> Result<(), CallError> {
    stake_claim(state, &node.entity_id, &node_claim(&node.id), &node.thresholds())?;
    let previous = self::node(state, &node.id)?;
    state::put_node(state, node, previous.as_ref())?;
    events.push(Event::Registry(RegistryEvent::NodeRegistered {
        id: node.id,
        entity: node.entity_id,
        roles: node.roles,
    }));
    Ok(())
}

fn register_node(
    state: &mut Overlay<'_>,
    env: &Env,
    caller: &Address,
    body: &RegisterNode,
    events: &mut Vec<Event>,
) -> Result<(), CallError> {
    let chain = crate::chain::chain_info(state)?.chain_context;
    let opened =
        body.node.open(&chain).map_err(|e| RegistryError::InvalidSignature(e.to_string()))?;
    let node = opened.value;
    for (key, what) in
        [(node.id, "identity"), (node.consensus_key, "consensus"), (node.p2p_key, "p2p")]
    {
        if !opened.signers.contains(&key) {
            return Err(RegistryError::InvalidSignature(format!(
                "not signed by the node's {what} key"
            ))
            .into());
        }
    }
    if *caller != Address::from_public_key(&node.id)
        && *caller != Address::from_public_key(&node.entity_id)
    {
        return Err(RegistryError::Forbidden("only the node or its entity registers it").into());
    }
    check_node(state, env, &node)?;
    let params = parameters(state)?;
    let epochs = node.expiration.0.saturating_sub(env.epoch.0);
    let fee = params
        .node_runtime_fee_per_epoch
        .checked_mul(u128::from(epochs) * node.runtimes.len() as u128)
        .map_err(|_| invalid("fee overflow"))?;
    if !fee.is_zero() {
        staking::pay_to_common_pool(state, caller, fee)
            .map_err(|_| RegistryError::InsufficientBalance)?;
    }
    store_node(state, &node, events)?;
    // Its runtimes' own thresholds are claimed per node and per runtime (a failed
    // registration changes nothing).
    if !stake_covers_claims(state, &node.entity_id)? {
        return Err(RegistryError::InsufficientStake.into());
    }
    Ok(())
}

/// Whether `entity`'s active escrow covers everything its registrations claim: the
/// thresholds of its entity, node roles and runtimes, plus, per node and per runtime the
/// node serves, that runtime's own threshold for the node's roles (as the reference claims
/// them). Undelegating is never refused for claims; an entity that no longer covers them
/// is simply not elected.
pub fn stake_covers_claims(
    state: &dyn KeyValueRead,
    entity: &PublicKey,
) -> Result<bool, StateError> {
    fn overflow<E>(_: E) -> StateError {
        StateError::Overflow("thresholds")
    }
    let account = staking::account(state, &Address::from_public_key(entity))?;
    let params = staking::parameters(state)?;
    let mut required = Amount::ZERO;
    for kinds in account.escrow.stake_accumulator.values() {
        required = required
            .checked_add(params.threshold_sum(kinds).map_err(overflow)?)
            .map_err(overflow)?;
    }
    let Some(descriptor) = self::entity(state, entity)? else {
        return Ok(account.escrow.active.balance >= required);
    };
    for node_id in &descriptor.nodes {
        let Some(node) = self::node(state, node_id)? else { continue };
        let kinds = node.thresholds();
        for served in &node.runtimes {
            let Some(runtime) = self::runtime(state, &served.id)? else { continue };
            for (kind, amount) in &runtime.staking_thresholds {
                if kinds.contains(kind) {
                    required = required.checked_add(*amount).map_err(overflow)?;
                }
            }
        }
    }
    Ok(account.escrow.active.balance >= required)
}

fn unfreeze_node(
    state: &mut Overlay<'_>,
    env: &Env,
    caller: &Address,
    body: &UnfreezeNode,
    events: &mut Vec<Event>,
) -> Result<(), CallError> {
    let node = self::node(state, &body.node_id)?.ok_or(RegistryError::NoSuchNode)?;
    if *caller != Address::from_public_key(&node.entity_id) {
        return Err(RegistryError::Forbidden("only the node's entity unfreezes it").into());
    }
    let mut status = node_status(state, &node.id)?;
    match status.frozen_until {
        Some(until) if until > env.epoch => return Err(RegistryError::NodeFrozen.into()),
        _ => status.frozen_until = None,
    }
    set_node_status(state, &node.id, &status)?;
    events.push(Event::Registry(RegistryEvent::NodeUnfrozen { id: node.id }));
    Ok(())
}

/// Checks a runtime descriptor (shared by transactions and genesis).
pub(crate) fn check_runtime(state: &dyn KeyValueRead, runtime: &Runtime) -> Result<(), CallError> {
    entity(state, &runtime.entity_id)?.ok_or(RegistryError::NoSuchEntity)?;
    let e = &runtime.executor;
    if runtime.kind == RuntimeKind::Compute {
        if e.group_size == 0 {
            return Err(invalid("executor group_size must be at least 1").into());
        }
        if e.allowed_stragglers >= e.group_size {
            return Err(invalid("allowed_stragglers must be below group_size").into());
        }
        if e.round_timeout == 0 {
            return Err(invalid("round_timeout must be at least one block").into());
        }
        if e.min_live_rounds_percent > 100 || e.max_missed_proposals_percent > 100 {
            return Err(invalid("a liveness percentage is above 100").into());
        }
        // A worker stakes the runtime's compute threshold: that is the most it can lose.
        let at_stake = runtime
            .staking_thresholds
            .get(&ThresholdKind::NodeCompute)
            .copied()
            .unwrap_or_default();
        if runtime.slashing.values().any(|rule| rule.amount > at_stake) {
            return Err(invalid(
                "a slash amount exceeds the runtime's node_compute staking threshold",
            )
            .into());
        }
        if runtime.txn_scheduler.max_batch_size == 0
            || runtime.txn_scheduler.max_batch_size_bytes == 0
        {
            return Err(invalid("batch limits must be positive").into());
        }
    }
    if runtime.deployments.is_empty()
        || runtime
            .deployments
            .windows(2)
            .any(|w| w[0].version >= w[1].version || w[0].valid_from > w[1].valid_from)
    {
        return Err(invalid("deployments must be non-empty and in version order").into());
    }
    for determinism in runtime.deployments.iter().filter_map(|d| d.determinism.as_ref()) {
        let name_ok = |n: &String| !n.is_empty() && n.len() <= 32;
        if !name_ok(&determinism.arch)
            || determinism.cpu_features.len() > 16
            || !determinism.cpu_features.iter().all(name_ok)
        {
            return Err(invalid(
                "a deployment's determinism names an architecture and at most 16 CPU features \
                 of 1-32 characters",
            )
            .into());
        }
    }
    match (runtime.tee_hardware, &runtime.tee_policy) {
        (TeeHardware::None, None) => {}
        (TeeHardware::None, Some(_)) => {
            return Err(invalid("a tee_policy without a TEE (tee_hardware is none)").into())
        }
        (_, None) => return Err(invalid("a TEE runtime needs a tee_policy").into()),
        (_, Some(policy)) => {
            if policy.max_attestation_age == 0 {
                return Err(invalid("max_attestation_age must be at least one block").into());
            }
            if runtime.deployments.iter().any(|d| d.enclaves.is_empty() || d.enclaves.len() > 16) {
                return Err(invalid(
                    "every deployment of a TEE runtime names 1-16 enclave identities",
                )
                .into());
            }
        }
    }
    if runtime.tee_hardware == TeeHardware::None
        && runtime.deployments.iter().any(|d| !d.enclaves.is_empty())
    {
        return Err(invalid("enclave identities in a runtime without a TEE").into());
    }
    if let Some(km) = &runtime.key_manager {
        let km = self::runtime(state, km)?.ok_or(RegistryError::NoSuchRuntime)?;
        if km.kind != RuntimeKind::KeyManager {
            return Err(invalid("key_manager is not a key-manager runtime").into());
        }
    }
    if let Some(previous) = self::runtime(state, &runtime.id)? {
        if previous.kind != runtime.kind || previous.entity_id != runtime.entity_id {
            return Err(RegistryError::Forbidden("a runtime's kind and owner cannot change").into());
        }
    }
    Ok(())
}

/// Stores a checked runtime and claims its stake.
pub(crate) fn store_runtime(
    state: &mut Overlay<'_>,
    epoch: Epoch,
    runtime: &Runtime,
    events: &mut Vec<Event>,
) -> Result<(), CallError> {
    let kind = match runtime.kind {
        RuntimeKind::Compute => ThresholdKind::RuntimeCompute,
        RuntimeKind::KeyManager => ThresholdKind::RuntimeKeyManager,
    };
    stake_claim(state, &runtime.entity_id, &runtime_claim(runtime), &[kind])?;
    let new = self::runtime(state, &runtime.id)?.is_none();
    state::put_runtime(state, runtime)?;
    let penalties = (runtime.kind == RuntimeKind::Compute).then(|| runtime.penalties());
    if new {
        // Not served until the scheduler elects a committee.
        let status = RuntimeStatus {
            suspended: runtime.kind == RuntimeKind::Compute,
            penalties,
            pending_penalties: None,
        };
        set_runtime_status(state, &runtime.id, &status)?;
    } else {
        // Changed penalties wait out the notice period (a change back cancels it).
        let mut status = runtime_status(state, &runtime.id)?;
        status.pending_penalties = match penalties {
            Some(p) if status.penalties.as_ref() != Some(&p) => {
                Some((Epoch(epoch.0.saturating_add(PENALTY_NOTICE_EPOCHS)), p))
            }
            _ => None,
        };
        set_runtime_status(state, &runtime.id, &status)?;
    }
    events.push(Event::Registry(RegistryEvent::RuntimeRegistered { id: runtime.id }));
    Ok(())
}

fn register_runtime(
    state: &mut Overlay<'_>,
    env: &Env,
    caller: &Address,
    runtime: &Runtime,
    events: &mut Vec<Event>,
) -> Result<(), CallError> {
    if *caller != Address::from_public_key(&runtime.entity_id) {
        return Err(RegistryError::Forbidden("only the owning entity registers a runtime").into());
    }
    check_runtime(state, runtime)?;
    store_runtime(state, env.epoch, runtime, events)
}

/// Puts runtimes' changed penalties in force once their notice period has passed.
fn promote_penalties(state: &mut Overlay<'_>, epoch: Epoch) -> Result<(), StateError> {
    for runtime in runtimes(state)? {
        let mut status = runtime_status(state, &runtime.id)?;
        if let Some((from, _)) = &status.pending_penalties {
            if *from <= epoch {
                status.penalties = status.pending_penalties.take().map(|(_, p)| p);
                set_runtime_status(state, &runtime.id, &status)?;
            }
        }
    }
    Ok(())
}

/// Registry events.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RegistryEvent {
    /// An entity registered or updated its descriptor.
    EntityRegistered {
        /// Its id.
        id: PublicKey,
    },
    /// An entity deregistered.
    EntityDeregistered {
        /// Its id.
        id: PublicKey,
    },
    /// A node registered or re-registered.
    NodeRegistered {
        /// Its id.
        id: PublicKey,
        /// Its entity.
        entity: PublicKey,
        /// Its roles.
        roles: u32,
    },
    /// A node expired and was removed.
    NodeExpired {
        /// Its id.
        id: PublicKey,
    },
    /// A node was frozen after a slash.
    NodeFrozen {
        /// Its id.
        id: PublicKey,
        /// Until this epoch.
        until: Epoch,
    },
    /// A node was unfrozen.
    NodeUnfrozen {
        /// Its id.
        id: PublicKey,
    },
    /// A runtime registered or updated its descriptor.
    RuntimeRegistered {
        /// Its id.
        id: atoll_types::RuntimeId,
    },
    /// A runtime was suspended (no committee) or resumed.
    RuntimeSuspended {
        /// Its id.
        id: atoll_types::RuntimeId,
        /// Suspended (true) or resumed (false).
        suspended: bool,
    },
}

/// The registry module.
pub struct Registry;

impl Module for Registry {
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
        let slashing = staking::parameters(state)?.slashing;
        for misbehavior in &ctx.evidence {
            let Some(node_id) = misbehavior.node else { continue };
            let interval = slashing.get(&misbehavior.reason).map_or(0, |s| s.freeze_interval);
            let until = Epoch(env.epoch.0.saturating_add(interval));
            let mut status = node_status(state, &node_id)?;
            status.frozen_until = Some(status.frozen_until.map_or(until, |u| u.max(until)));
            set_node_status(state, &node_id, &status)?;
            events.push(Event::Registry(RegistryEvent::NodeFrozen { id: node_id, until }));
        }
        if epoch_changed.is_some() {
            promote_penalties(state, env.epoch)?;
            // Expired nodes stay for the debonding interval at least: evidence against them
            // (and the slash) must still find their entity.
            let grace = parameters(state)?
                .node_grace_period
                .max(staking::parameters(state)?.debonding_interval);
            for node in nodes(state)? {
                if node.expiration.0.saturating_add(grace) < env.epoch.0 {
                    state::remove_node(state, &node)?;
                    staking::remove_stake_claim(
                        state,
                        &Address::from_public_key(&node.entity_id),
                        &node_claim(&node.id),
                    )?;
                    events.push(Event::Registry(RegistryEvent::NodeExpired { id: node.id }));
                }
            }
        }
        Ok(())
    }

    fn gas_cost(&self, state: &dyn KeyValueRead, method: &str) -> Result<Option<u64>, StateError> {
        Ok(METHODS.contains(&method).then_some(parameters(state)?.gas_cost))
    }

    fn deliver(
        &self,
        state: &mut Overlay<'_>,
        env: &Env,
        caller: &Address,
        method: &str,
        bytes: &[u8],
        events: &mut Vec<Event>,
    ) -> Result<(), CallError> {
        match method {
            REGISTER_ENTITY => register_entity(
                state,
                caller,
                &decode_body::<RegisterEntity>(bytes)?.entity,
                events,
            ),
            DEREGISTER_ENTITY => deregister_entity(state, caller, events),
            REGISTER_NODE => register_node(state, env, caller, &decode_body(bytes)?, events),
            UNFREEZE_NODE => unfreeze_node(state, env, caller, &decode_body(bytes)?, events),
            REGISTER_RUNTIME => register_runtime(
                state,
                env,
                caller,
                &decode_body::<RegisterRuntime>(bytes)?.runtime,
                events,
            ),
            other => Err(CoreError::UnknownMethod(other.to_owned()).into()),
        }
    }
}

/// Whether a node may be elected at `epoch`: not expired and not frozen (a frozen node
/// stays out until its entity unfreezes it, which is allowed once the freeze has ended).
pub fn node_is_active(
    state: &dyn KeyValueRead,
    node: &Node,
    epoch: Epoch,
) -> Result<bool, StateError> {
    let status: NodeStatus = node_status(state, &node.id)?;
    Ok(node.expiration >= epoch && status.frozen_until.is_none())
}

/// The registry part of genesis.
#[derive(
    Clone, PartialEq, Eq, Debug, Default, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
pub struct RegistryGenesis {
    /// Parameters.
    #[serde(default)]
    pub parameters: RegistryParameters,
    /// Entities.
    #[serde(default)]
    pub entities: Vec<Entity>,
    /// Runtimes (key managers before the runtimes that use them).
    #[serde(default)]
    pub runtimes: Vec<Runtime>,
    /// Nodes (signatures are not needed in genesis: every operator checks it).
    #[serde(default)]
    pub nodes: Vec<Node>,
}

/// Writes the registry part of genesis, applying the same checks as transactions.
pub(crate) fn init_genesis(
    state: &mut Overlay<'_>,
    env: &Env,
    genesis: &RegistryGenesis,
) -> Result<(), CallError> {
    crate::state::put(state, &state::PARAMETERS, &genesis.parameters)?;
    let mut events = Vec::new();
    for entity in &genesis.entities {
        register_entity(state, &Address::from_public_key(&entity.id), entity, &mut events)?;
    }
    for runtime in &genesis.runtimes {
        check_runtime(state, runtime)?;
        store_runtime(state, env.epoch, runtime, &mut events)?;
    }
    for node in &genesis.nodes {
        check_node(state, env, node)?;
        store_node(state, node, &mut events)?;
    }
    Ok(())
}
