//! A test chain: genesis with funded accounts, signed transactions, blocks.

#![allow(dead_code, unreachable_pub)]

use atoll_consensus::staking::{self, query, Account};
use atoll_consensus::{
    BlockContext, BlockOutcome, ConsensusState, Fee, Genesis, Transaction, TxError,
};
use atoll_crypto::MemorySigner;
use atoll_mkvs::{MemoryNodeDb, Mkvs};
use atoll_types::{encode, Address, Amount, ChainContext, Height, Signed, Signer};
use borsh::BorshSerialize;

/// The fee most tests pay: generous gas, 10 base units.
pub const FEE: Fee = Fee { amount: Amount::new(10), gas: 100_000 };

pub struct TestChain {
    pub state: ConsensusState<MemoryNodeDb>,
    pub genesis: Genesis,
    pub keys: Vec<MemorySigner>,
    pub height: u64,
    pub ctx: BlockContext,
}

pub fn signer(i: usize) -> MemorySigner {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
    MemorySigner::from_seed(seed)
}

pub fn base_genesis(accounts: usize, balance: u128) -> Genesis {
    let addresses = (0..accounts).map(|i| Address::from_public_key(&signer(i).public_key()));
    let mut genesis = Genesis::funded("atoll-test", addresses, Amount::new(balance));
    genesis.staking.common_pool = Amount::new(1_000_000_000);
    genesis.staking.total_supply = Amount::new(balance * accounts as u128 + 1_000_000_000);
    genesis.consensus.epoch_interval = 10;
    genesis
}

impl TestChain {
    pub fn new(accounts: usize, balance: u128) -> Self {
        Self::with_genesis(base_genesis(accounts, balance), accounts)
    }

    pub fn with_genesis(genesis: Genesis, accounts: usize) -> Self {
        genesis.validate().expect("valid genesis");
        let state = ConsensusState::new(Mkvs::new(MemoryNodeDb::new()));
        state.init_genesis(&genesis).expect("genesis");
        let keys = (0..accounts).map(signer).collect();
        let height = genesis.initial_height - 1;
        Self { state, genesis, keys, height, ctx: BlockContext::default() }
    }

    pub fn chain_context(&self) -> ChainContext {
        self.genesis.chain_context()
    }

    pub fn addr(&self, i: usize) -> Address {
        Address::from_public_key(&self.keys[i].public_key())
    }

    pub fn account(&self, address: &Address) -> Account {
        let tree = self.state.tree_at(Height(self.height)).expect("tree");
        staking::account(&tree, address).expect("account")
    }

    pub fn balance(&self, i: usize) -> u128 {
        self.account(&self.addr(i)).general.balance.base_units()
    }

    pub fn nonce(&self, i: usize) -> u64 {
        self.account(&self.addr(i)).general.nonce
    }

    /// A signed transaction from account `i` with the right nonce.
    pub fn tx<B: BorshSerialize>(&self, i: usize, method: &str, body: &B) -> Vec<u8> {
        self.tx_with(i, self.nonce(i), FEE, method, body)
    }

    pub fn tx_with<B: BorshSerialize>(
        &self,
        i: usize,
        nonce: u64,
        fee: Fee,
        method: &str,
        body: &B,
    ) -> Vec<u8> {
        let tx = Transaction::new(nonce, fee, method, body);
        encode(&Signed::sign(&self.keys[i], &self.chain_context(), &tx))
    }

    /// Applies a block of transactions with the chain's current context.
    pub fn block(&mut self, txs: Vec<Vec<u8>>) -> BlockOutcome {
        self.height += 1;
        self.ctx.height = Height(self.height);
        let (_, outcome) = self.state.apply(&self.ctx, &txs).expect("apply block");
        outcome
    }

    /// Applies one transaction alone in a block and returns its error, if any.
    pub fn run(&mut self, tx: Vec<u8>) -> Option<TxError> {
        self.block(vec![tx]).results.remove(0).error
    }

    /// Applies empty blocks until the chain is in `epoch`'s first block.
    pub fn advance_to_epoch(&mut self, epoch: u64) {
        while self.genesis.consensus.epoch_of(Height(self.height)).0 < epoch || self.height == 0 {
            self.block(vec![]);
        }
    }

    /// Σ general + Σ escrow (active + debonding) + common pool + fee accumulator.
    pub fn accounted_supply(&self) -> (u128, u128) {
        let tree = self.state.tree_at(Height(self.height)).expect("tree");
        let sum = query::accounted_supply(&tree).expect("accounted supply");
        (sum, query::total_supply(&tree).expect("supply").base_units())
    }
}

/// Asserts that `error` is module `module`'s code `code`.
#[track_caller]
pub fn assert_code(error: Option<TxError>, module: &str, code: u32) {
    let e = error.expect("expected an error");
    assert_eq!((e.module.as_str(), e.code), (module, code), "{e}");
}

// ---- networks with entities, nodes and a runtime ----

use atoll_consensus::beacon::BeaconParameters;
use atoll_consensus::registry::types::{
    roles, AdmissionPolicy, CommitteeRole, Deployment, Entity, ExecutorParameters, Node,
    NodeRuntime, Runtime, RuntimeKind, SchedulingConstraints, TeeHardware, TxnSchedulerParameters,
    Version,
};
use atoll_consensus::staking::{Delegation, SharePool, Shares};
use atoll_crypto::VrfSecretKey;
use atoll_types::{Epoch, Hash, MultiSigned, PublicKey, RuntimeId};
use std::collections::BTreeMap;

/// The runtime every test network registers.
pub const RUNTIME: RuntimeId = RuntimeId::from_bytes([7; 32]);

/// A node's keys and the account index of its entity.
pub struct TestNode {
    pub identity: MemorySigner,
    pub consensus: MemorySigner,
    pub p2p: MemorySigner,
    pub vrf: VrfSecretKey,
    pub entity: usize,
}

impl TestNode {
    pub fn new(seed: u64, entity: usize) -> Self {
        let key = |tag: u8| {
            let mut s = [tag; 32];
            s[..8].copy_from_slice(&seed.to_le_bytes());
            MemorySigner::from_seed(s)
        };
        let mut vrf_seed = [0xee; 32];
        vrf_seed[..8].copy_from_slice(&seed.to_le_bytes());
        Self {
            identity: key(0xa1),
            consensus: key(0xa2),
            p2p: key(0xa3),
            vrf: VrfSecretKey::from_seed(vrf_seed),
            entity,
        }
    }

    pub fn id(&self) -> PublicKey {
        self.identity.public_key()
    }

    pub fn address(&self) -> Address {
        Address::from_public_key(&self.id())
    }

    pub fn descriptor(
        &self,
        entity: PublicKey,
        expiration: u64,
        node_roles: u32,
        runtime: bool,
    ) -> Node {
        Node {
            id: self.id(),
            entity_id: entity,
            expiration: Epoch(expiration),
            consensus_key: self.consensus.public_key(),
            p2p_key: self.p2p.public_key(),
            addresses: vec!["127.0.0.1:26656".into()],
            vrf_key: self.vrf.public_key(),
            vrf_possession: self.vrf.prove(&atoll_crypto::possession_input(self.id().as_bytes())).1,
            roles: node_roles,
            runtimes: if runtime {
                vec![NodeRuntime {
                    id: RUNTIME,
                    version: Version::default(),
                    tee: None,
                    known_answer: None,
                }]
            } else {
                vec![]
            },
        }
    }

    pub fn signed(&self, node: &Node, chain: &ChainContext) -> MultiSigned<Node> {
        MultiSigned::sign(&[&self.identity, &self.consensus, &self.p2p], chain, node)
    }
}

pub struct NetSpec {
    /// Escrow (self-delegated) of each entity; entity `i` is account `i`.
    pub escrows: Vec<u128>,
    pub nodes_per_entity: usize,
    pub roles: u32,
    /// (group size, backup size, min pool size, max nodes per entity)
    pub runtime: Option<(u16, u16, u16, Option<u16>)>,
    pub beacon: BeaconParameters,
}

impl Default for NetSpec {
    fn default() -> Self {
        Self {
            escrows: vec![10_000; 4],
            nodes_per_entity: 1,
            roles: roles::VALIDATOR | roles::COMPUTE,
            runtime: Some((2, 1, 3, None)),
            beacon: BeaconParameters::default(),
        }
    }
}

pub fn runtime_descriptor(
    owner: PublicKey,
    (group, backup, min_pool, cap): (u16, u16, u16, Option<u16>),
) -> Runtime {
    let constraints = SchedulingConstraints {
        validator_set: false,
        max_nodes_per_entity: cap,
        min_pool_size: min_pool,
    };
    Runtime {
        id: RUNTIME,
        kind: RuntimeKind::Compute,
        entity_id: owner,
        executor: ExecutorParameters {
            group_size: group,
            group_backup_size: backup,
            allowed_stragglers: 0,
            round_timeout: 5,
            max_messages: 16,
            min_live_rounds_percent: 50,
            max_liveness_fails: 3,
            min_live_rounds_eval: 0,
            max_missed_proposals_percent: 0,
        },
        txn_scheduler: TxnSchedulerParameters {
            batch_flush_timeout_ms: 100,
            max_batch_size: 100,
            max_batch_size_bytes: 1 << 20,
            propose_batch_timeout: 2,
        },
        admission_policy: AdmissionPolicy::AnyNode,
        constraints: BTreeMap::from([
            (CommitteeRole::Worker, constraints),
            (CommitteeRole::BackupWorker, constraints),
        ]),
        staking_thresholds: BTreeMap::new(),
        slashing: BTreeMap::new(),
        tee_hardware: TeeHardware::None,
        tee_policy: None,
        deployments: vec![Deployment {
            version: Version::default(),
            valid_from: Epoch(0),
            measurement: Hash::digest(b"runtime"),
            enclaves: Vec::new(),
            determinism: None,
        }],
        key_manager: None,
    }
}

/// A genesis with entities (accounts `0..n`), their nodes and optionally a runtime.
pub fn net_genesis(spec: &NetSpec) -> (Genesis, Vec<TestNode>) {
    let entities = spec.escrows.len();
    let mut genesis = base_genesis(entities, 1_000_000);
    let mut nodes = Vec::new();
    for (i, escrow) in spec.escrows.iter().enumerate() {
        let address = Address::from_public_key(&signer(i).public_key());
        let account = genesis.staking.accounts.get_mut(&address).expect("entity account");
        account.general.balance = Amount::new(1_000_000 - escrow);
        if *escrow > 0 {
            account.escrow.active =
                SharePool { balance: Amount::new(*escrow), total_shares: Shares(*escrow) };
            genesis.staking.delegations.insert(
                address,
                BTreeMap::from([(address, Delegation { shares: Shares(*escrow) })]),
            );
        }
        for k in 0..spec.nodes_per_entity {
            nodes.push(TestNode::new((i * 100 + k) as u64, i));
        }
    }
    for node in &nodes {
        let mut account = Account::default();
        account.general.balance = Amount::new(1_000_000);
        genesis.staking.accounts.insert(node.address(), account);
        genesis.staking.total_supply =
            genesis.staking.total_supply.checked_add(Amount::new(1_000_000)).expect("supply");
    }
    genesis.beacon = spec.beacon;
    genesis.scheduler.max_validators_per_entity = 2;
    for i in 0..entities {
        let id = signer(i).public_key();
        let members = nodes.iter().filter(|n| n.entity == i).map(TestNode::id).collect();
        genesis.registry.entities.push(Entity { id, nodes: members });
    }
    if let Some(rt) = spec.runtime {
        genesis.registry.runtimes.push(runtime_descriptor(signer(0).public_key(), rt));
    }
    let expiration = genesis.registry.parameters.max_node_expiration;
    for node in &nodes {
        let descriptor = node.descriptor(
            signer(node.entity).public_key(),
            expiration,
            spec.roles,
            spec.runtime.is_some(),
        );
        genesis.registry.nodes.push(descriptor);
    }
    (genesis, nodes)
}

impl TestChain {
    /// A signed transaction from any key, with its account's next nonce.
    pub fn tx_by<B: BorshSerialize>(&self, key: &MemorySigner, method: &str, body: &B) -> Vec<u8> {
        let nonce = self.account(&Address::from_public_key(&key.public_key())).general.nonce;
        let tx = Transaction::new(nonce, FEE, method, body);
        encode(&Signed::sign(key, &self.chain_context(), &tx))
    }

    /// The state after the latest block.
    pub fn tree(&self) -> atoll_mkvs::Tree<'_> {
        self.state.tree_at(Height(self.height)).expect("tree")
    }
}
