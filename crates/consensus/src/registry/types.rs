//! Registry descriptors: entities, nodes, runtimes.

use std::collections::BTreeMap;

use atoll_crypto::{VrfProof, VrfPublicKey};
use atoll_types::{Amount, Epoch, Hash, PublicKey, RuntimeId, Signable, SignatureContext};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::staking::{Slash, SlashReason, ThresholdKind};

/// An entity: an offline key that owns nodes (listed here) and stake.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Entity {
    /// The entity's key; its account address holds its stake.
    pub id: PublicKey,
    /// Node ids the entity allows to register under it.
    pub nodes: Vec<PublicKey>,
}

impl Signable for Entity {
    const CONTEXT: SignatureContext = SignatureContext::new("atoll/registry: entity");
    const MAX_SIZE: usize = 16 * 1024;
}

/// Node roles, as bits.
pub mod roles {
    /// Takes part in consensus.
    pub const VALIDATOR: u32 = 1 << 0;
    /// Executes ParaTime batches.
    pub const COMPUTE: u32 = 1 << 1;
    /// Runs a key-manager runtime.
    pub const KEY_MANAGER: u32 = 1 << 2;
    /// Follows the chain without duties.
    pub const OBSERVER: u32 = 1 << 3;
    /// Every known role.
    pub const ALL: u32 = VALIDATOR | COMPUTE | KEY_MANAGER | OBSERVER;
}

/// A runtime version.
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
    Serialize,
    Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Version {
    /// Major.
    pub major: u16,
    /// Minor.
    pub minor: u16,
    /// Patch.
    pub patch: u16,
}

/// TEE hardware a runtime may require.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TeeHardware {
    /// No TEE.
    None,
    /// The simulated backend (no hardware; see atoll-tee).
    Simulated,
    /// Intel SGX.
    Sgx,
    /// AMD SEV-SNP (a confidential VM).
    SevSnp,
}

/// A node's TEE capability for one runtime: its enclave's attestation.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TeeCapability {
    /// Which hardware (the runtime's).
    pub hardware: TeeHardware,
    /// The enclave's attestation: its keys (RAK, REK), evidence, collateral and the RAK's
    /// signature binding them to this node, runtime and chain.
    pub attestation: atoll_tee::Attestation,
}

impl TeeCapability {
    /// The enclave's runtime attestation key.
    pub fn rak(&self) -> PublicKey {
        self.attestation.rak
    }
}

/// A TEE runtime's rules for the evidence of the enclaves that serve it (set by the
/// runtime's owner when it registers or updates the runtime).
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TeePolicy {
    /// What the evidence must show: TCB statuses, denied advisories, minimum TCB
    /// evaluation, platforms (debug enclaves and revoked platforms are always refused).
    pub quote: atoll_tee::QuotePolicy,
    /// Attestations older than this many blocks are refused at registration, and their
    /// nodes are not elected: nodes re-attest well within it.
    pub max_attestation_age: u64,
}

/// A runtime a node serves.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeRuntime {
    /// Runtime id.
    pub id: RuntimeId,
    /// The version the node runs.
    pub version: Version,
    /// TEE capability, if the runtime requires one.
    pub tee: Option<TeeCapability>,
    /// The answer of the runtime's known-answer test on this node, for a runtime whose
    /// deployment requires one ([`Determinism`]): the node's runtime reports it at start-up.
    #[serde(default)]
    pub known_answer: Option<Hash>,
}

/// A node descriptor, signed by the node's identity, consensus and p2p keys.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Node {
    /// Identity key: the node id.
    pub id: PublicKey,
    /// The owning entity.
    pub entity_id: PublicKey,
    /// The descriptor is valid up to this epoch; nodes re-register before it.
    pub expiration: Epoch,
    /// Key it signs consensus votes with.
    pub consensus_key: PublicKey,
    /// Key of its p2p identity.
    pub p2p_key: PublicKey,
    /// Addresses (`host:port`) it listens on.
    pub addresses: Vec<String>,
    /// Key of its VRF proofs.
    pub vrf_key: VrfPublicKey,
    /// Proof of possession of the VRF key: its VRF proof over
    /// [`atoll_crypto::possession_input`] of the node id. No one registers a VRF key they
    /// do not hold (and so cannot take another node's).
    pub vrf_possession: VrfProof,
    /// Role bits (see [`roles`]).
    pub roles: u32,
    /// Runtimes it serves.
    pub runtimes: Vec<NodeRuntime>,
}

impl Signable for Node {
    const CONTEXT: SignatureContext = SignatureContext::new("atoll/registry: node");
    const MAX_SIZE: usize = 64 * 1024;
}

impl Node {
    /// Whether the node has every role in `mask`.
    pub fn has_roles(&self, mask: u32) -> bool {
        self.roles & mask == mask
    }

    /// Stake thresholds its roles claim against its entity.
    pub fn thresholds(&self) -> Vec<ThresholdKind> {
        [
            (roles::VALIDATOR, ThresholdKind::NodeValidator),
            (roles::COMPUTE, ThresholdKind::NodeCompute),
            (roles::KEY_MANAGER, ThresholdKind::NodeKeyManager),
            (roles::OBSERVER, ThresholdKind::NodeObserver),
        ]
        .into_iter()
        .filter(|(bit, _)| self.roles & bit != 0)
        .map(|(_, kind)| kind)
        .collect()
    }
}

/// What the registry keeps about a node besides its descriptor.
#[derive(
    Clone, PartialEq, Eq, Debug, Default, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NodeStatus {
    /// Frozen (not electable) until this epoch, after a slash.
    pub frozen_until: Option<Epoch>,
    /// Liveness faults per runtime (set by the roothash at epoch ends).
    #[serde(default)]
    pub faults: BTreeMap<RuntimeId, RuntimeFault>,
}

impl NodeStatus {
    /// Whether the node is suspended from `runtime`'s committees at `epoch`.
    pub fn suspended_from(&self, runtime: &RuntimeId, epoch: Epoch) -> bool {
        self.faults.get(runtime).is_some_and(|f| f.suspended_until > epoch)
    }
}

/// A node's liveness record for one runtime.
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
pub struct RuntimeFault {
    /// Epochs in a row (net of live ones) the node failed its liveness threshold.
    pub failures: u8,
    /// Not elected for the runtime before this epoch.
    pub suspended_until: Epoch,
}

/// Compute runtime or key manager.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RuntimeKind {
    /// Executes transactions.
    Compute,
    /// Serves keys to confidential runtimes.
    KeyManager,
}

/// How a runtime's executor committee works.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExecutorParameters {
    /// Primary workers.
    pub group_size: u16,
    /// Backup workers.
    pub group_backup_size: u16,
    /// Primary workers allowed to miss a round.
    pub allowed_stragglers: u16,
    /// Round timeout, in consensus blocks.
    pub round_timeout: u64,
    /// Most runtime messages per round.
    pub max_messages: u32,
    /// A worker is live if its good rounds are at least this percentage of the epoch's
    /// finalized rounds.
    pub min_live_rounds_percent: u8,
    /// Liveness failures (epochs) at which a node is frozen and slashed; 0: never.
    pub max_liveness_fails: u8,
    /// Fewer finalized rounds than this in an epoch: liveness is not evaluated.
    #[serde(default)]
    pub min_live_rounds_eval: u64,
    /// A worker is live only if it missed at most this percentage of its proposals (failed
    /// rounds it scheduled, and rounds a worse-ranked proposer had to take over); 0: no
    /// limit.
    #[serde(default)]
    pub max_missed_proposals_percent: u8,
}

/// What a runtime's workers are judged by and what they risk: its liveness rule and slash
/// amounts. The rules in force change only after [`PENALTY_NOTICE_EPOCHS`], so that no
/// worker is judged by a rule it did not serve under.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuntimePenalties {
    /// Minimum good rounds, in percent.
    pub min_live_rounds_percent: u8,
    /// Failures at which a node is slashed (0: never).
    pub max_liveness_fails: u8,
    /// Finalized rounds needed for an evaluation.
    pub min_live_rounds_eval: u64,
    /// Most missed proposals, in percent (0: no limit).
    pub max_missed_proposals_percent: u8,
    /// The runtime's own slash rules (others fall back to the staking parameters).
    pub slashing: BTreeMap<SlashReason, Slash>,
}

/// Epochs between a runtime update that changes its penalties and their taking effect.
pub const PENALTY_NOTICE_EPOCHS: u64 = 2;

/// How a runtime's proposer batches transactions.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TxnSchedulerParameters {
    /// Propose a non-full batch after this many milliseconds.
    pub batch_flush_timeout_ms: u64,
    /// Most transactions per batch.
    pub max_batch_size: u32,
    /// Most bytes per batch.
    pub max_batch_size_bytes: u64,
    /// Consensus blocks before a higher-ranked proposer may propose.
    pub propose_batch_timeout: u64,
}

/// Which nodes may serve a runtime.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AdmissionPolicy {
    /// Any node.
    AnyNode,
    /// Only nodes of these entities, each with at most this many nodes.
    EntityWhitelist(BTreeMap<PublicKey, u16>),
}

/// Committee roles.
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
pub enum CommitteeRole {
    /// A primary worker.
    Worker,
    /// A backup worker (decides discrepancies).
    BackupWorker,
}

/// Constraints on electing one committee role.
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
pub struct SchedulingConstraints {
    /// Only nodes that are also validators this epoch.
    pub validator_set: bool,
    /// At most this many nodes per entity.
    pub max_nodes_per_entity: Option<u16>,
    /// No committee unless at least this many nodes are eligible.
    pub min_pool_size: u16,
}

/// A runtime deployment: from `valid_from`, nodes run `version`, whose binary hashes to
/// `measurement`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deployment {
    /// The version.
    pub version: Version,
    /// First epoch it is active.
    pub valid_from: Epoch,
    /// Hash of the runtime binary.
    pub measurement: Hash,
    /// For a TEE runtime: the enclave identities that may run this version.
    #[serde(default)]
    pub enclaves: Vec<atoll_tee::EnclaveIdentity>,
    /// For a runtime whose results are reproducible only on some machines (the FHE
    /// ParaTime's floating-point FFT): the machine it needs and the answer that proves it.
    #[serde(default)]
    pub determinism: Option<Determinism>,
}

/// What a deployment asks of the machines that serve it when its results are bit-exact
/// only on some hardware. Nodes registering another known answer (or none) are not elected
/// to its committees: a worker that computes different bytes would fail every round.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Determinism {
    /// The CPU architecture, as Rust names it (`x86_64`).
    pub arch: String,
    /// CPU features the runtime's arithmetic needs (`avx2`, `fma`).
    pub cpu_features: Vec<String>,
    /// The hash the runtime's known-answer test gives on a conforming machine.
    pub known_answer: Hash,
}

impl Determinism {
    /// Whether a node that registered `answer` may serve the deployment.
    pub fn admits(&self, answer: Option<&Hash>) -> bool {
        answer == Some(&self.known_answer)
    }
}

/// A runtime descriptor.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Runtime {
    /// Runtime id.
    pub id: RuntimeId,
    /// Compute or key manager.
    pub kind: RuntimeKind,
    /// Owning entity (pays the runtime's stake threshold).
    pub entity_id: PublicKey,
    /// Executor committee parameters.
    pub executor: ExecutorParameters,
    /// Batch scheduling parameters.
    pub txn_scheduler: TxnSchedulerParameters,
    /// Who may serve it.
    pub admission_policy: AdmissionPolicy,
    /// Election constraints per committee role.
    pub constraints: BTreeMap<CommitteeRole, SchedulingConstraints>,
    /// Extra stake its compute nodes' entities must hold.
    pub staking_thresholds: BTreeMap<ThresholdKind, Amount>,
    /// Slash amounts for its nodes' misbehaviour.
    pub slashing: BTreeMap<SlashReason, Slash>,
    /// TEE its nodes must run in.
    pub tee_hardware: TeeHardware,
    /// For a TEE runtime: what its enclaves' evidence must show.
    #[serde(default)]
    pub tee_policy: Option<TeePolicy>,
    /// Deployments, in version order.
    pub deployments: Vec<Deployment>,
    /// Its key manager, for confidential runtimes.
    pub key_manager: Option<RuntimeId>,
}

impl Signable for Runtime {
    const CONTEXT: SignatureContext = SignatureContext::new("atoll/registry: runtime");
    const MAX_SIZE: usize = 64 * 1024;
}

impl Runtime {
    /// The penalties the descriptor declares.
    pub fn penalties(&self) -> RuntimePenalties {
        let e = &self.executor;
        RuntimePenalties {
            min_live_rounds_percent: e.min_live_rounds_percent,
            max_liveness_fails: e.max_liveness_fails,
            min_live_rounds_eval: e.min_live_rounds_eval,
            max_missed_proposals_percent: e.max_missed_proposals_percent,
            slashing: self.slashing.clone(),
        }
    }

    /// The deployment in force at `epoch`.
    pub fn active_deployment(&self, epoch: Epoch) -> Option<&Deployment> {
        self.deployments.iter().rev().find(|d| d.valid_from <= epoch)
    }
}

/// What the registry keeps about a runtime besides its descriptor.
#[derive(
    Clone, PartialEq, Eq, Debug, Default, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuntimeStatus {
    /// No committee could be elected (or the owner is under-staked): the runtime is not
    /// served until a later election succeeds.
    pub suspended: bool,
    /// The penalties in force (set at registration; `None` only for key-manager runtimes).
    pub penalties: Option<RuntimePenalties>,
    /// Changed penalties and the epoch they take effect at.
    pub pending_penalties: Option<(Epoch, RuntimePenalties)>,
}
