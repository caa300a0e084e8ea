//! Building a genesis document step by step (what `atoll genesis …` does).

use std::collections::BTreeMap;

use atoll_consensus::chain::TokenInfo;
use atoll_consensus::registry::types::{roles, Entity, Node};
use atoll_consensus::staking::{
    Account, Delegation, SharePool, Shares, Slash, SlashReason, ThresholdKind,
};
use atoll_consensus::{ConsensusParameters, Genesis, GenesisError, StakingGenesis};
use atoll_types::{Address, Amount, Epoch, Height};

use crate::keys::NodeIdentity;

fn invalid(message: impl Into<String>) -> GenesisError {
    GenesisError::Invalid(message.into())
}

/// An empty genesis: no accounts, default parameters, the insecure (devnet) beacon.
pub fn new_genesis(chain_id: &str, symbol: &str, exponent: u8, epoch_interval: u64) -> Genesis {
    let mut genesis = Genesis {
        chain_id: chain_id.to_owned(),
        genesis_time: 0,
        initial_height: 1,
        token: TokenInfo { symbol: symbol.to_owned(), exponent },
        consensus: ConsensusParameters { epoch_interval, ..ConsensusParameters::default() },
        staking: StakingGenesis::default(),
        beacon: Default::default(),
        registry: Default::default(),
        scheduler: Default::default(),
        governance: Default::default(),
        roothash: Default::default(),
    };
    genesis.scheduler.max_validators_per_entity = 1;
    // One unit of voting power per whole token: powers stay proportional to stake far below
    // the per-validator cap (see `scheduler::MAX_TOTAL_POWER`).
    genesis.scheduler.voting_power_unit = Amount::new(10u128.saturating_pow(u32::from(exponent)));
    // No transaction is free: every one pays at least 1 base unit per gas (a consensus
    // rule), and a transfer moves at least a thousandth of a token, so the accounts a
    // transfer creates are never free dust.
    genesis.consensus.min_gas_price = 1;
    // Double signing costs 100 tokens of escrow and freezes the node for good (the
    // reference network's rule); other offences are set per network.
    let token = 10u128.saturating_pow(u32::from(exponent));
    genesis.staking.parameters.slashing.insert(
        SlashReason::ConsensusEquivocation,
        Slash { amount: Amount::new(100u128.saturating_mul(token)), freeze_interval: u64::MAX },
    );
    let thousandth = Amount::new(10u128.saturating_pow(u32::from(exponent.saturating_sub(3))));
    genesis.staking.parameters.min_transfer = thousandth;
    // A deposit into a ParaTime holds a queue slot until a round takes it: dust deposits
    // must not be able to keep the queue full for others.
    genesis.roothash.min_deposit = thousandth;
    genesis
}

fn add_supply(genesis: &mut Genesis, amount: Amount) -> Result<(), GenesisError> {
    genesis.staking.total_supply = genesis
        .staking
        .total_supply
        .checked_add(amount)
        .map_err(|_| invalid("total supply overflow"))?;
    Ok(())
}

/// Credits `amount` to `address`'s general balance (creating the account).
pub fn add_balance(
    genesis: &mut Genesis,
    address: Address,
    amount: Amount,
) -> Result<(), GenesisError> {
    let account = genesis.staking.accounts.entry(address).or_default();
    account.general.balance =
        account.general.balance.checked_add(amount).map_err(|_| invalid("balance overflow"))?;
    add_supply(genesis, amount)
}

/// Adds a validator: its entity (with `escrow` self-delegated and `balance` liquid), the
/// node (with `balance` for its own fees) and its registration.
pub fn add_validator(
    genesis: &mut Genesis,
    node: &NodeIdentity,
    escrow: Amount,
    balance: Amount,
    compute: bool,
) -> Result<(), GenesisError> {
    let roles = roles::VALIDATOR | if compute { roles::COMPUTE } else { 0 };
    add_node(genesis, node, escrow, balance, roles)
}

/// Adds a registered node with `roles` (bits of `registry::types::roles`): its entity (with
/// `escrow` self-delegated and `balance` liquid), the node (with `balance` for its own fees)
/// and its registration. Only nodes with the validator role raise `max_validators`.
pub fn add_node(
    genesis: &mut Genesis,
    node: &NodeIdentity,
    escrow: Amount,
    balance: Amount,
    node_roles: u32,
) -> Result<(), GenesisError> {
    if genesis
        .registry
        .nodes
        .iter()
        .any(|n| n.id == node.node_id || n.consensus_key == node.consensus_key)
    {
        return Err(invalid(format!("node {} is already in the genesis", node.node_id)));
    }
    let entity_address = Address::from_public_key(&node.entity_id);
    let account: &mut Account = genesis.staking.accounts.entry(entity_address).or_default();
    if account.escrow.active.total_shares.0 == 0 {
        account.escrow.active =
            SharePool { balance: escrow, total_shares: Shares(escrow.base_units()) };
        if !escrow.is_zero() {
            genesis.staking.delegations.insert(
                entity_address,
                BTreeMap::from([(
                    entity_address,
                    Delegation { shares: Shares(escrow.base_units()) },
                )]),
            );
        }
    } else if !escrow.is_zero() {
        return Err(invalid(format!("entity {entity_address} already has escrow in the genesis")));
    }
    add_supply(genesis, escrow)?;
    add_balance(genesis, entity_address, balance)?;
    add_balance(genesis, Address::from_public_key(&node.node_id), balance)?;
    match genesis.registry.entities.iter_mut().find(|e| e.id == node.entity_id) {
        Some(entity) => entity.nodes.push(node.node_id),
        None => {
            genesis.registry.entities.push(Entity { id: node.entity_id, nodes: vec![node.node_id] })
        }
    }
    let epoch = genesis.consensus.epoch_of(Height(genesis.initial_height));
    genesis.registry.nodes.push(Node {
        id: node.node_id,
        entity_id: node.entity_id,
        expiration: Epoch(epoch.0 + genesis.registry.parameters.max_node_expiration),
        consensus_key: node.consensus_key,
        p2p_key: node.p2p_key,
        addresses: vec![node.address.clone()],
        vrf_key: node.vrf_key,
        vrf_possession: node.vrf_possession,
        roles: node_roles,
        runtimes: Vec::new(),
    });
    let validators = genesis.registry.nodes.iter().filter(|n| n.has_roles(roles::VALIDATOR));
    genesis.scheduler.max_validators =
        genesis.scheduler.max_validators.max(validators.count() as u16);
    Ok(())
}

/// The committee shape of a compute runtime added with [`add_compute_runtime`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuntimeShape {
    /// Primary workers.
    pub group_size: u16,
    /// Backup workers.
    pub backup_size: u16,
    /// Primary workers allowed to miss a round.
    pub allowed_stragglers: u16,
    /// Round timeout in consensus blocks.
    pub round_timeout: u64,
    /// Consensus blocks before the next-ranked proposer may propose.
    pub propose_batch_timeout: u64,
}

impl Default for RuntimeShape {
    fn default() -> Self {
        Self {
            group_size: 3,
            backup_size: 3,
            allowed_stragglers: 0,
            round_timeout: 6,
            propose_batch_timeout: 3,
        }
    }
}

/// Requires `determinism` of the machines serving runtime `id` (in every deployment of the
/// genesis), and registers its known answer for the genesis compute nodes that serve it:
/// their operators declare it, as they declare the rest of their descriptors. A node
/// registers again with what its runtime computes once it runs, and a node whose answer
/// differs is not elected at the next epoch.
pub fn require_determinism(
    genesis: &mut Genesis,
    id: atoll_types::RuntimeId,
    determinism: atoll_consensus::registry::types::Determinism,
) -> Result<(), GenesisError> {
    let Some(runtime) = genesis.registry.runtimes.iter_mut().find(|r| r.id == id) else {
        return Err(invalid(format!("runtime {id} is not in the genesis")));
    };
    for deployment in &mut runtime.deployments {
        deployment.determinism = Some(determinism.clone());
    }
    for served in genesis.registry.nodes.iter_mut().flat_map(|n| n.runtimes.iter_mut()) {
        if served.id == id {
            served.known_answer = Some(determinism.known_answer);
        }
    }
    Ok(())
}

/// Registers a compute runtime owned by `owner` (an entity already in the genesis) and has
/// every compute node of the genesis serve it. Incorrect results cost a worker's entity
/// one token, equivocation two (both freeze the node for an epoch).
pub fn add_compute_runtime(
    genesis: &mut Genesis,
    id: atoll_types::RuntimeId,
    version: atoll_consensus::registry::types::Version,
    owner: atoll_types::PublicKey,
    shape: RuntimeShape,
) -> Result<(), GenesisError> {
    use atoll_consensus::registry::types::{
        AdmissionPolicy, CommitteeRole, Deployment, ExecutorParameters, NodeRuntime, Runtime,
        RuntimeKind, SchedulingConstraints, TeeHardware, TxnSchedulerParameters,
    };
    if genesis.registry.runtimes.iter().any(|r| r.id == id) {
        return Err(invalid(format!("runtime {id} is already in the genesis")));
    }
    if !genesis.registry.entities.iter().any(|e| e.id == owner) {
        return Err(invalid(format!("runtime owner {owner} is not an entity of the genesis")));
    }
    let token = 10u128.saturating_pow(u32::from(genesis.token.exponent));
    let constraints = SchedulingConstraints {
        validator_set: false,
        max_nodes_per_entity: None,
        min_pool_size: shape.group_size.max(shape.backup_size),
    };
    genesis.registry.runtimes.push(Runtime {
        id,
        kind: RuntimeKind::Compute,
        entity_id: owner,
        executor: ExecutorParameters {
            group_size: shape.group_size,
            group_backup_size: shape.backup_size,
            allowed_stragglers: shape.allowed_stragglers,
            round_timeout: shape.round_timeout,
            max_messages: 128,
            min_live_rounds_percent: 50,
            max_liveness_fails: 3,
            min_live_rounds_eval: 0,
            max_missed_proposals_percent: 0,
        },
        txn_scheduler: TxnSchedulerParameters {
            batch_flush_timeout_ms: 100,
            max_batch_size: 1_000,
            max_batch_size_bytes: 4 << 20,
            propose_batch_timeout: shape.propose_batch_timeout,
        },
        admission_policy: AdmissionPolicy::AnyNode,
        constraints: BTreeMap::from([
            (CommitteeRole::Worker, constraints),
            (CommitteeRole::BackupWorker, constraints),
        ]),
        // Each worker stakes 10 tokens for the runtime: the most any slash may take.
        staking_thresholds: BTreeMap::from([(ThresholdKind::NodeCompute, Amount::new(10 * token))]),
        // Incorrect results and equivocation slash without freezing (as in the reference);
        // a worker that reaches `max_liveness_fails` is slashed and frozen for an epoch.
        slashing: BTreeMap::from([
            (
                SlashReason::RuntimeIncorrectResults,
                Slash { amount: Amount::new(token), freeze_interval: 0 },
            ),
            (
                SlashReason::RuntimeEquivocation,
                Slash { amount: Amount::new(2 * token), freeze_interval: 0 },
            ),
            (
                SlashReason::RuntimeLiveness,
                Slash { amount: Amount::new(token), freeze_interval: 1 },
            ),
        ]),
        tee_hardware: TeeHardware::None,
        deployments: vec![Deployment {
            version,
            valid_from: Epoch(0),
            measurement: atoll_types::Hash::ZERO,
            enclaves: Vec::new(),
            determinism: None,
        }],
        tee_policy: None,
        key_manager: None,
    });
    for node in &mut genesis.registry.nodes {
        if node.has_roles(roles::COMPUTE) && !node.runtimes.iter().any(|r| r.id == id) {
            node.runtimes.push(NodeRuntime { id, version, tee: None, known_answer: None });
        }
    }
    Ok(())
}
