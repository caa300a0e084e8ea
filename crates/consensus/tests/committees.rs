//! Beacon, registry, scheduler and governance: elections, their constraints, epoch
//! scenarios, governance votes, and every transaction's error paths.

mod common;

use atoll_consensus::beacon::{self, BeaconBackend, BeaconParameters, VrfProve};
use atoll_consensus::governance::{
    self, CastVote, ParameterChange, ParametersModule, ProposalContent, ProposalState,
    SubmitProposal, Vote,
};
use atoll_consensus::registry::types::{roles, Determinism, Entity, TeeHardware, TeePolicy};
use atoll_consensus::registry::{
    self, RegisterEntity, RegisterNode, RegisterRuntime, UnfreezeNode,
};
use atoll_consensus::scheduler::{self, proposer_rank};
use atoll_consensus::staking::methods::{self, AddEscrow};
use atoll_consensus::staking::{Slash, SlashReason, ThresholdKind};
use atoll_consensus::Misbehavior;
use atoll_mkvs::verify_key;
use atoll_types::{decode, Amount, Epoch, Hash, Height, PublicKey, Signer};
use common::{
    assert_code, net_genesis, runtime_descriptor, signer, NetSpec, TestChain, TestNode, RUNTIME,
};
use proptest::prelude::*;

fn chain(spec: &NetSpec) -> (TestChain, Vec<TestNode>) {
    let (genesis, nodes) = net_genesis(spec);
    let accounts = spec.escrows.len();
    (TestChain::with_genesis(genesis, accounts), nodes)
}

fn validator_nodes(chain: &TestChain) -> Vec<PublicKey> {
    scheduler::validators(&chain.tree()).expect("validators").iter().map(|v| v.node_id).collect()
}

#[test]
fn genesis_elects_validators_and_a_committee() {
    let (chain, nodes) = chain(&NetSpec::default());
    let tree = chain.tree();
    let validators = scheduler::validators(&tree).expect("validators");
    assert_eq!(validators.len(), 4);
    assert!(validators.iter().all(|v| v.power == 10_000));
    let committee = scheduler::committee(&tree, &RUNTIME).expect("query").expect("a committee");
    assert_eq!((committee.workers.len(), committee.backup_workers.len()), (2, 1));
    let ids: Vec<PublicKey> = nodes.iter().map(TestNode::id).collect();
    assert!(committee.workers.iter().chain(&committee.backup_workers).all(|m| ids.contains(m)));
    assert!(!registry::runtime_status(&tree, &RUNTIME).expect("status").suspended);
    // Proposer ranks rotate with the round.
    assert_eq!((0..3).map(|r| proposer_rank(r, 0, 2)).collect::<Vec<_>>(), vec![0, 1, 0]);
    assert_eq!(proposer_rank(5, 1, 3), 0);
    // Queries come with proofs against the state root.
    let node_id = committee.workers[0];
    let proof = tree.prove(&registry::node_key(&node_id)).expect("prove");
    let bytes = verify_key(&tree.root().hash, &registry::node_key(&node_id), &proof)
        .expect("verify")
        .expect("present");
    let node: registry::types::Node = decode(&bytes, 1 << 20).expect("decode");
    assert_eq!(node.id, node_id);
    let proof = tree.prove(&scheduler::committee_key(&RUNTIME)).expect("prove");
    assert!(verify_key(&tree.root().hash, &scheduler::committee_key(&RUNTIME), &proof)
        .expect("verify")
        .is_some());
}

#[test]
fn stake_moves_and_the_validator_set_follows_at_the_next_epoch() {
    let spec = NetSpec {
        escrows: vec![40_000, 30_000, 20_000, 10_000],
        runtime: None,
        ..NetSpec::default()
    };
    let (mut chain, nodes) = chain(&spec);
    // Validators are ordered by their entity's escrow.
    let tree = chain.tree();
    let validators = scheduler::validators(&tree).expect("validators");
    drop(tree);
    assert_eq!(validators[0].entity, signer(0).public_key(), "largest escrow first");
    assert_eq!(validators[3].entity, signer(3).public_key());
    // Entity 3 receives a large delegation; at the next epoch it leads the set.
    let big = Amount::new(500_000);
    let tx = chain.tx(1, methods::ADD_ESCROW, &AddEscrow { escrow: chain.addr(3), amount: big });
    assert_eq!(chain.run(tx), None);
    assert_eq!(
        scheduler::validators(&chain.tree()).expect("validators")[0].entity,
        signer(0).public_key(),
        "not before the epoch ends"
    );
    while chain.genesis.consensus.epoch_of(Height(chain.height + 1)).0 == 0 {
        assert_eq!(chain.block(vec![]).validator_updates, None);
    }
    let outcome = chain.block(vec![]);
    let set = outcome.validator_updates.expect("the epoch transition changed the validator set");
    assert_eq!(set[0].entity, signer(3).public_key());
    assert_eq!(set[0].node_id, nodes[3].id());
    assert!(set[0].power > set[1].power);
}

#[test]
fn a_slashed_validator_leaves_the_set_at_once_and_unfreezes_later() {
    let mut spec = NetSpec { runtime: None, ..NetSpec::default() };
    spec.escrows = vec![10_000; 4];
    let (genesis, nodes) = net_genesis(&spec);
    let mut genesis = genesis;
    genesis.staking.parameters.slashing.insert(
        SlashReason::ConsensusEquivocation,
        Slash { amount: Amount::new(1_000), freeze_interval: 1 },
    );
    let mut chain = TestChain::with_genesis(genesis, 4);
    let offender = &nodes[2];
    chain.ctx.evidence = vec![Misbehavior {
        entity: chain.addr(2),
        node: Some(offender.id()),
        reason: SlashReason::ConsensusEquivocation,
    }];
    let outcome = chain.block(vec![]);
    chain.ctx.evidence.clear();
    let set = outcome.validator_updates.expect("set changed in the same block");
    assert_eq!(set.len(), 3);
    assert!(!set.iter().any(|v| v.node_id == offender.id()));
    assert_eq!(chain.account(&chain.addr(2)).escrow.active.balance, Amount::new(9_000));
    // More evidence against the frozen node (another height's double sign, twice in one
    // block) takes nothing more.
    let again = Misbehavior {
        entity: chain.addr(2),
        node: Some(offender.id()),
        reason: SlashReason::ConsensusEquivocation,
    };
    chain.ctx.evidence = vec![again.clone(), again];
    chain.block(vec![]);
    chain.ctx.evidence.clear();
    assert_eq!(chain.account(&chain.addr(2)).escrow.active.balance, Amount::new(9_000));
    // Unfreezing before the freeze ends fails; after, it works and the node returns at the
    // next election.
    let unfreeze = UnfreezeNode { node_id: offender.id() };
    assert_code(chain.run(chain.tx(2, registry::UNFREEZE_NODE, &unfreeze)), "registry", 11);
    assert_code(chain.run(chain.tx(1, registry::UNFREEZE_NODE, &unfreeze)), "registry", 3);
    chain.advance_to_epoch(1);
    assert_eq!(chain.run(chain.tx(2, registry::UNFREEZE_NODE, &unfreeze)), None);
    chain.advance_to_epoch(2);
    assert!(validator_nodes(&chain).contains(&offender.id()));
}

#[test]
fn a_runtime_below_its_minimum_pool_is_suspended_and_resumes() {
    let spec =
        NetSpec { escrows: vec![10_000; 3], runtime: Some((2, 1, 3, None)), ..NetSpec::default() };
    let (mut chain, nodes) = chain(&spec);
    assert!(!registry::runtime_status(&chain.tree(), &RUNTIME).expect("status").suspended);
    // Nobody re-registers: the nodes expire (epoch 4) and are removed after the grace period.
    let mut suspended_at = None;
    for epoch in 1..=7 {
        chain.advance_to_epoch(epoch);
        if suspended_at.is_none()
            && registry::runtime_status(&chain.tree(), &RUNTIME).expect("status").suspended
        {
            suspended_at = Some(epoch);
        }
    }
    assert_eq!(suspended_at, Some(5), "expired nodes are not electable");
    assert!(scheduler::committee(&chain.tree(), &RUNTIME).expect("query").is_none());
    // They come back.
    let epoch = chain.genesis.consensus.epoch_of(Height(chain.height)).0;
    for node in &nodes {
        let descriptor = node.descriptor(
            signer(node.entity).public_key(),
            epoch + 2,
            roles::VALIDATOR | roles::COMPUTE,
            true,
        );
        let body = RegisterNode { node: node.signed(&descriptor, &chain.chain_context()) };
        assert_eq!(chain.run(chain.tx_by(&node.identity, registry::REGISTER_NODE, &body)), None);
    }
    chain.advance_to_epoch(epoch + 1);
    assert!(!registry::runtime_status(&chain.tree(), &RUNTIME).expect("status").suspended);
    assert!(scheduler::committee(&chain.tree(), &RUNTIME).expect("query").is_some());
}

#[test]
fn registry_transactions_check_everything() {
    let spec = NetSpec {
        escrows: vec![10_000, 10_000, 0],
        runtime: Some((1, 0, 1, None)),
        ..NetSpec::default()
    };
    let (genesis, nodes) = net_genesis(&spec);
    let mut genesis = genesis;
    genesis
        .staking
        .parameters
        .thresholds
        .insert(atoll_consensus::staking::ThresholdKind::Entity, Amount::new(100));
    // Entity 2 has no stake, so it is not registered in genesis.
    genesis.registry.entities.retain(|e| e.id != signer(2).public_key());
    genesis.registry.nodes.retain(|n| n.entity_id != signer(2).public_key());
    let mut chain = TestChain::with_genesis(genesis, 3);
    let ctx = chain.chain_context();
    let entity0 = signer(0).public_key();

    // Entities register themselves only, and need stake for the entity threshold.
    let other = Entity { id: signer(1).public_key(), nodes: vec![] };
    assert_code(
        chain.run(chain.tx(0, registry::REGISTER_ENTITY, &RegisterEntity { entity: other })),
        "registry",
        3,
    );
    let poor = Entity { id: signer(2).public_key(), nodes: vec![] };
    assert_code(
        chain.run(chain.tx(2, registry::REGISTER_ENTITY, &RegisterEntity { entity: poor })),
        "registry",
        7,
    );

    // Node registration: whitelist, signatures, expiration, runtime, TEE, key reuse.
    let stranger = TestNode::new(999, 0);
    let d = stranger.descriptor(entity0, 2, roles::COMPUTE, false);
    assert_code(
        chain.run(chain.tx(
            0,
            registry::REGISTER_NODE,
            &RegisterNode { node: stranger.signed(&d, &ctx) },
        )),
        "registry",
        3,
    );
    let n0 = &nodes[0];
    let d = n0.descriptor(entity0, 2, roles::COMPUTE, true);
    let only_identity = atoll_types::MultiSigned::sign(&[&n0.identity], &ctx, &d);
    assert_code(
        chain.run(chain.tx(0, registry::REGISTER_NODE, &RegisterNode { node: only_identity })),
        "registry",
        2,
    );
    let late = n0.descriptor(entity0, 50, roles::COMPUTE, true);
    assert_code(
        chain.run(chain.tx(
            0,
            registry::REGISTER_NODE,
            &RegisterNode { node: n0.signed(&late, &ctx) },
        )),
        "registry",
        1,
    );
    let no_roles = n0.descriptor(entity0, 2, 0, true);
    assert_code(
        chain.run(chain.tx(
            0,
            registry::REGISTER_NODE,
            &RegisterNode { node: n0.signed(&no_roles, &ctx) },
        )),
        "registry",
        1,
    );
    let mut unknown_runtime = n0.descriptor(entity0, 2, roles::COMPUTE, true);
    unknown_runtime.runtimes[0].id = atoll_types::RuntimeId::from_bytes([9; 32]);
    assert_code(
        chain.run(chain.tx(
            0,
            registry::REGISTER_NODE,
            &RegisterNode { node: n0.signed(&unknown_runtime, &ctx) },
        )),
        "registry",
        6,
    );
    let mut stolen_key = nodes[1].descriptor(signer(1).public_key(), 2, roles::COMPUTE, false);
    stolen_key.consensus_key = n0.consensus.public_key();
    let forged = atoll_types::MultiSigned::sign(
        &[&nodes[1].identity, &n0.consensus, &nodes[1].p2p],
        &ctx,
        &stolen_key,
    );
    assert_code(
        chain.run(chain.tx(1, registry::REGISTER_NODE, &RegisterNode { node: forged })),
        "registry",
        10,
    );
    // A node may not be registered by a third party.
    let d = n0.descriptor(entity0, 2, roles::COMPUTE, true);
    assert_code(
        chain.run(chain.tx(
            1,
            registry::REGISTER_NODE,
            &RegisterNode { node: n0.signed(&d, &ctx) },
        )),
        "registry",
        3,
    );
    assert_eq!(
        chain.run(chain.tx_by(
            &n0.identity,
            registry::REGISTER_NODE,
            &RegisterNode { node: n0.signed(&d, &ctx) }
        )),
        None
    );

    // A runtime that requires a TEE needs a policy and enclave identities; a node serving
    // it without an attestation is refused (tests/tee.rs has the attested cases).
    let mut tee = runtime_descriptor(entity0, (1, 0, 1, None));
    tee.id = atoll_types::RuntimeId::from_bytes([8; 32]);
    tee.tee_hardware = TeeHardware::Sgx;
    assert_code(
        chain.run(chain.tx(
            0,
            registry::REGISTER_RUNTIME,
            &RegisterRuntime { runtime: tee.clone() },
        )),
        "registry",
        1,
    );
    tee.tee_policy =
        Some(TeePolicy { quote: atoll_tee::QuotePolicy::up_to_date(), max_attestation_age: 100 });
    assert_code(
        chain.run(chain.tx(
            0,
            registry::REGISTER_RUNTIME,
            &RegisterRuntime { runtime: tee.clone() },
        )),
        "registry",
        1,
    );
    tee.deployments[0].enclaves = vec![atoll_tee::EnclaveIdentity::Sgx {
        mr_enclave: [1; 32],
        mr_signer: [2; 32],
        product_id: 0,
        svn: 0,
    }];
    assert_eq!(
        chain.run(chain.tx(
            0,
            registry::REGISTER_RUNTIME,
            &RegisterRuntime { runtime: tee.clone() }
        )),
        None
    );
    let mut serving = n0.descriptor(entity0, 2, roles::COMPUTE, true);
    serving.runtimes[0].id = tee.id;
    assert_code(
        chain.run(chain.tx_by(
            &n0.identity,
            registry::REGISTER_NODE,
            &RegisterNode { node: n0.signed(&serving, &ctx) },
        )),
        "registry",
        9,
    );
    // Runtime descriptors are validated and owned.
    let mut bad = runtime_descriptor(entity0, (1, 0, 1, None));
    bad.executor.allowed_stragglers = 1;
    assert_code(
        chain.run(chain.tx(0, registry::REGISTER_RUNTIME, &RegisterRuntime { runtime: bad })),
        "registry",
        1,
    );
    let theirs = runtime_descriptor(entity0, (1, 0, 1, None));
    assert_code(
        chain.run(chain.tx(1, registry::REGISTER_RUNTIME, &RegisterRuntime { runtime: theirs })),
        "registry",
        3,
    );
    // An entity with nodes cannot deregister.
    assert_code(chain.run(chain.tx(0, registry::DEREGISTER_ENTITY, &())), "registry", 8);
    assert_code(chain.run(chain.tx(2, registry::DEREGISTER_ENTITY, &())), "registry", 4);
    // Malformed bodies are refused with a clear code.
    assert_code(chain.run(chain.tx(0, registry::REGISTER_NODE, &7u8)), "core", 10);
}

#[test]
fn vrf_beacon_accepts_timely_proofs_and_a_weak_epoch_suspends_runtimes() {
    let spec = NetSpec {
        escrows: vec![10_000; 4],
        runtime: Some((2, 1, 3, None)),
        beacon: BeaconParameters {
            backend: BeaconBackend::Vrf { proof_delay: 3, min_proofs: 3 },
            gas_cost: 1_000,
        },
        ..NetSpec::default()
    };
    let (mut genesis, nodes) = net_genesis(&spec);
    genesis.consensus.epoch_interval = 20;
    let mut chain = TestChain::with_genesis(genesis, 4);
    // Genesis has no proofs: the first epoch's beacon is weak and nothing is elected.
    assert!(beacon::beacon(&chain.tree()).expect("beacon").weak);
    assert!(scheduler::committee(&chain.tree(), &RUNTIME).expect("query").is_none());
    let alpha = beacon::beacon(&chain.tree()).expect("beacon").alpha;
    let prove = |node: &TestNode, epoch: u64| VrfProve {
        epoch: Epoch(epoch),
        proof: node.vrf.prove(alpha.as_bytes()).1,
    };
    // Too early.
    assert_code(
        chain.run(chain.tx_by(&nodes[0].identity, beacon::VRF_PROVE, &prove(&nodes[0], 0))),
        "beacon",
        1,
    );
    chain.block(vec![]);
    chain.block(vec![]);
    // Wrong epoch, unregistered sender, a proof over the wrong input.
    assert_code(
        chain.run(chain.tx_by(&nodes[0].identity, beacon::VRF_PROVE, &prove(&nodes[0], 1))),
        "beacon",
        1,
    );
    assert_code(chain.run(chain.tx(0, beacon::VRF_PROVE, &prove(&nodes[0], 0))), "beacon", 2);
    let wrong = VrfProve { epoch: Epoch(0), proof: nodes[0].vrf.prove(b"other").1 };
    assert_code(chain.run(chain.tx_by(&nodes[0].identity, beacon::VRF_PROVE, &wrong)), "beacon", 5);
    // Three nodes prove; duplicates and conflicting proofs are refused.
    let first = prove(&nodes[0], 0);
    assert_eq!(chain.run(chain.tx_by(&nodes[0].identity, beacon::VRF_PROVE, &first)), None);
    assert_code(chain.run(chain.tx_by(&nodes[0].identity, beacon::VRF_PROVE, &first)), "beacon", 3);
    assert_code(
        chain.run(chain.tx_by(&nodes[0].identity, beacon::VRF_PROVE, &prove(&nodes[0], 0))),
        "beacon",
        4,
    );
    for node in &nodes[1..3] {
        assert_eq!(
            chain.run(chain.tx_by(&node.identity, beacon::VRF_PROVE, &prove(node, 0))),
            None
        );
    }
    chain.advance_to_epoch(1);
    let state = beacon::beacon(&chain.tree()).expect("beacon");
    assert!(!state.weak);
    let committee = scheduler::committee(&chain.tree(), &RUNTIME)
        .expect("query")
        .expect("strong beacon elects");
    let provers: Vec<PublicKey> = nodes[..3].iter().map(TestNode::id).collect();
    assert!(
        committee.workers.iter().chain(&committee.backup_workers).all(|m| provers.contains(m)),
        "only provers are electable"
    );
    // Nobody proves in epoch 1: epoch 2 is weak and the runtime is suspended.
    chain.advance_to_epoch(2);
    assert!(beacon::beacon(&chain.tree()).expect("beacon").weak);
    assert!(registry::runtime_status(&chain.tree(), &RUNTIME).expect("status").suspended);
}

#[test]
fn governance_changes_a_staking_parameter() {
    let (mut chain, nodes) = chain(&NetSpec { runtime: None, ..NetSpec::default() });
    let params = atoll_consensus::staking::parameters(&chain.tree()).expect("params");
    let submit = SubmitProposal {
        content: change(ParametersModule::Staking, &[("min_transfer", "\"42\"")]),
        deposit: Amount::new(100),
    };
    // Too small a deposit, invalid parameters.
    let cheap = SubmitProposal { deposit: Amount::new(1), ..submit.clone() };
    assert_code(chain.run(chain.tx(0, governance::SUBMIT_PROPOSAL, &cheap)), "governance", 2);
    for broken in [
        change(ParametersModule::Staking, &[("signing_reward_threshold_percent", "200")]),
        change(ParametersModule::Staking, &[("no_such_field", "1")]),
        change(ParametersModule::Staking, &[("min_transfer", "not json")]),
        change(ParametersModule::Staking, &[]),
        change(ParametersModule::Consensus, &[("epoch_interval", "10")]),
    ] {
        let invalid = SubmitProposal { content: broken, ..submit.clone() };
        assert_code(chain.run(chain.tx(0, governance::SUBMIT_PROPOSAL, &invalid)), "governance", 1);
    }
    let balance = chain.balance(0);
    assert_eq!(chain.run(chain.tx(0, governance::SUBMIT_PROPOSAL, &submit)), None);
    assert_eq!(chain.balance(0), balance - 100 - 10);
    for i in 0..4 {
        assert_eq!(
            chain.run(chain.tx(
                i,
                governance::CAST_VOTE,
                &CastVote { proposal_id: 0, vote: Vote::Yes }
            )),
            None
        );
    }
    // A node's own account is neither a validator entity nor a delegator.
    assert_code(
        chain.run(chain.tx_by(
            &nodes[0].identity,
            governance::CAST_VOTE,
            &CastVote { proposal_id: 0, vote: Vote::No },
        )),
        "governance",
        5,
    );
    assert_code(
        chain.run(chain.tx(1, governance::CAST_VOTE, &CastVote { proposal_id: 9, vote: Vote::No })),
        "governance",
        3,
    );
    chain.advance_to_epoch(2);
    let proposal = governance::proposal(&chain.tree(), 0).expect("query").expect("proposal");
    assert_eq!(proposal.state, ProposalState::Passed);
    // Only the named field changed.
    let after = atoll_consensus::staking::parameters(&chain.tree()).expect("params");
    assert_eq!(after.min_transfer, Amount::new(42));
    assert_eq!(
        atoll_consensus::staking::StakingParameters { min_transfer: params.min_transfer, ..after },
        params
    );
    assert_eq!(chain.balance(0), balance - 100 - 10 - 10 + 100, "deposit returned");
    assert_code(
        chain.run(chain.tx(1, governance::CAST_VOTE, &CastVote { proposal_id: 0, vote: Vote::No })),
        "governance",
        4,
    );
}

#[test]
fn a_delegators_vote_overrides_its_validators_for_its_shares() {
    let spec = NetSpec { escrows: vec![10_000, 10_000, 0], runtime: None, ..NetSpec::default() };
    let (genesis, _) = net_genesis(&spec);
    let mut chain = TestChain::with_genesis(genesis, 3);
    // Account 2 delegates 30,000 to entity 0, making it most of entity 0's escrow.
    let tx = chain.tx(
        2,
        methods::ADD_ESCROW,
        &AddEscrow { escrow: chain.addr(0), amount: Amount::new(30_000) },
    );
    assert_eq!(chain.run(tx), None);
    let upgrade =
        governance::Upgrade { name: "v2".into(), epoch: Epoch(10), version: Default::default() };
    let submit =
        SubmitProposal { content: ProposalContent::Upgrade(upgrade), deposit: Amount::new(100) };
    assert_eq!(chain.run(chain.tx(1, governance::SUBMIT_PROPOSAL, &submit)), None);
    assert_eq!(
        chain.run(chain.tx(
            0,
            governance::CAST_VOTE,
            &CastVote { proposal_id: 0, vote: Vote::Yes }
        )),
        None
    );
    assert_eq!(
        chain.run(chain.tx(
            1,
            governance::CAST_VOTE,
            &CastVote { proposal_id: 0, vote: Vote::Yes }
        )),
        None
    );
    assert_eq!(
        chain.run(chain.tx(2, governance::CAST_VOTE, &CastVote { proposal_id: 0, vote: Vote::No })),
        None
    );
    let tally = governance::tally(&chain.tree(), 0).expect("tally");
    assert_eq!(
        (tally.yes, tally.no, tally.eligible),
        (Amount::new(20_000), Amount::new(30_000), Amount::new(50_000))
    );
    chain.advance_to_epoch(2);
    let proposal = governance::proposal(&chain.tree(), 0).expect("query").expect("proposal");
    assert_eq!(proposal.state, ProposalState::Rejected);
    assert!(governance::pending_upgrades(&chain.tree()).expect("upgrades").is_empty());
    // The rejected proposal's deposit went to the common pool.
    assert_eq!(chain.account(&governance::deposits_address()).general.balance, Amount::ZERO);
}

#[test]
fn passed_upgrades_are_pending_and_can_be_cancelled() {
    let (mut chain, _) = chain(&NetSpec { runtime: None, ..NetSpec::default() });
    let upgrade =
        governance::Upgrade { name: "v2".into(), epoch: Epoch(20), version: Default::default() };
    let too_soon = governance::Upgrade { epoch: Epoch(2), ..upgrade.clone() };
    let submit = |content| SubmitProposal { content, deposit: Amount::new(100) };
    assert_code(
        chain.run(chain.tx(
            0,
            governance::SUBMIT_PROPOSAL,
            &submit(ProposalContent::Upgrade(too_soon)),
        )),
        "governance",
        1,
    );
    assert_eq!(
        chain.run(chain.tx(
            0,
            governance::SUBMIT_PROPOSAL,
            &submit(ProposalContent::Upgrade(upgrade.clone()))
        )),
        None
    );
    let vote_all = |chain: &mut TestChain, id: u64| {
        for i in 0..4 {
            assert_eq!(
                chain.run(chain.tx(
                    i,
                    governance::CAST_VOTE,
                    &CastVote { proposal_id: id, vote: Vote::Yes }
                )),
                None
            );
        }
    };
    vote_all(&mut chain, 0);
    chain.advance_to_epoch(2);
    assert_eq!(governance::pending_upgrades(&chain.tree()).expect("upgrades"), vec![(0, upgrade)]);
    assert_code(
        chain.run(chain.tx(
            0,
            governance::SUBMIT_PROPOSAL,
            &submit(ProposalContent::CancelUpgrade { proposal_id: 7 }),
        )),
        "governance",
        1,
    );
    assert_eq!(
        chain.run(chain.tx(
            0,
            governance::SUBMIT_PROPOSAL,
            &submit(ProposalContent::CancelUpgrade { proposal_id: 0 })
        )),
        None
    );
    vote_all(&mut chain, 1);
    chain.advance_to_epoch(4);
    assert!(governance::pending_upgrades(&chain.tree()).expect("upgrades").is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Same inputs, same committee; caps, freezes and pool sizes always hold.
    #[test]
    fn elections_are_deterministic_and_respect_constraints(
        escrows in proptest::collection::vec(1_000u128..100_000, 2..6),
        nodes_per_entity in 1usize..4,
        cap in proptest::option::of(1u16..3),
        group in 1u16..4,
        backup in 0u16..3,
        min_pool in 0u16..10,
        frozen in any::<proptest::sample::Index>(),
    ) {
        let spec = NetSpec { escrows: escrows.clone(), nodes_per_entity, runtime: Some((group, backup, min_pool, cap)), ..NetSpec::default() };
        let (genesis, nodes) = net_genesis(&spec);
        let mut genesis = genesis;
        genesis.staking.parameters.slashing.insert(SlashReason::RuntimeLiveness, Slash { amount: Amount::ZERO, freeze_interval: 5 });
        let mut a = TestChain::with_genesis(genesis.clone(), escrows.len());
        let b = TestChain::with_genesis(genesis, escrows.len());
        prop_assert_eq!(a.tree().root().hash, b.tree().root().hash);
        let committee = scheduler::committee(&a.tree(), &RUNTIME).expect("query");
        prop_assert_eq!(&committee, &scheduler::committee(&b.tree(), &RUNTIME).expect("query"));

        let pool: usize = match cap {
            Some(c) => escrows.len() * nodes_per_entity.min(c as usize),
            None => escrows.len() * nodes_per_entity,
        };
        let needed = (min_pool as usize).max(group as usize).max(backup as usize);
        match &committee {
            None => prop_assert!(pool < needed, "pool {} ≥ {} but no committee", pool, needed),
            Some(c) => {
                prop_assert!(pool >= needed);
                prop_assert_eq!(c.workers.len(), group as usize);
                prop_assert_eq!(c.backup_workers.len(), backup as usize);
                if let Some(cap) = cap {
                    for members in [&c.workers, &c.backup_workers] {
                        let mut per_entity = std::collections::BTreeMap::new();
                        for m in members {
                            let owner = nodes.iter().find(|n| n.id() == *m).expect("known node").entity;
                            *per_entity.entry(owner).or_insert(0u16) += 1;
                        }
                        prop_assert!(per_entity.values().all(|count| *count <= cap));
                    }
                }
            }
        }
        // Freeze one node: it is never elected again.
        let victim = &nodes[frozen.index(nodes.len())];
        a.ctx.evidence = vec![Misbehavior { entity: a.addr(victim.entity), node: Some(victim.id()), reason: SlashReason::RuntimeLiveness }];
        a.block(vec![]);
        a.ctx.evidence.clear();
        a.advance_to_epoch(1);
        prop_assert!(!validator_nodes(&a).contains(&victim.id()));
        let after = scheduler::committee(&a.tree(), &RUNTIME).expect("query");
        if let Some(c) = after {
            prop_assert!(!c.workers.contains(&victim.id()) && !c.backup_workers.contains(&victim.id()));
        }
    }
}

#[test]
fn registration_fees_validator_set_constraint_and_deregistration() {
    let spec = NetSpec {
        escrows: vec![10_000; 3],
        nodes_per_entity: 2,
        runtime: Some((2, 0, 2, None)),
        ..NetSpec::default()
    };
    let (mut genesis, nodes) = net_genesis(&spec);
    genesis.registry.parameters.node_runtime_fee_per_epoch = Amount::new(7);
    // One validator per entity: the other node of each entity only computes.
    genesis.scheduler.max_validators_per_entity = 1;
    let runtime = genesis.registry.runtimes.get_mut(0).expect("runtime");
    for constraints in runtime.constraints.values_mut() {
        constraints.validator_set = true;
    }
    let mut chain = TestChain::with_genesis(genesis, 3);
    let validators = validator_nodes(&chain);
    assert_eq!(validators.len(), 3);
    let committee =
        scheduler::committee(&chain.tree(), &RUNTIME).expect("query").expect("committee");
    let validator_entities = validator_entities(&chain);
    assert!(
        committee.workers.iter().all(|w| validator_entities.contains(&entity_of(&chain, w))),
        "validator_set constraint"
    );

    // Re-registering for 3 epochs with one runtime costs 3 × 7 from the caller.
    let node = &nodes[0];
    let balance = chain.account(&node.address()).general.balance.base_units();
    let descriptor = node.descriptor(signer(0).public_key(), 3, roles::COMPUTE, true);
    let body = RegisterNode { node: node.signed(&descriptor, &chain.chain_context()) };
    assert_eq!(chain.run(chain.tx_by(&node.identity, registry::REGISTER_NODE, &body)), None);
    assert_eq!(chain.account(&node.address()).general.balance.base_units(), balance - 21 - 10);

    // An entity without nodes or runtimes deregisters, and its claim is released.
    let spec = NetSpec {
        escrows: vec![10_000, 10_000],
        nodes_per_entity: 0,
        runtime: None,
        ..NetSpec::default()
    };
    let (genesis, _) = net_genesis(&spec);
    let mut chain = TestChain::with_genesis(genesis, 2);
    assert_eq!(chain.run(chain.tx(1, registry::DEREGISTER_ENTITY, &())), None);
    assert!(registry::entity(&chain.tree(), &signer(1).public_key()).expect("query").is_none());
    assert!(chain.account(&chain.addr(1)).escrow.stake_accumulator.is_empty());
}

#[test]
fn nodes_registering_another_known_answer_are_not_elected() {
    let spec = NetSpec { runtime: Some((3, 0, 3, None)), ..NetSpec::default() };
    let (mut genesis, nodes) = net_genesis(&spec);
    let answer = Hash::digest(b"known answer");
    let determinism = Determinism {
        arch: "x86_64".into(),
        cpu_features: vec!["avx2".into(), "fma".into()],
        known_answer: answer,
    };
    genesis.registry.runtimes[0].deployments[0].determinism = Some(determinism.clone());
    // Node 0 computes another answer, node 3 registered none: two of four are eligible,
    // fewer than the three workers the runtime needs.
    let answers = [Some(Hash::digest(b"another")), Some(answer), Some(answer), None];
    for (node, known) in genesis.registry.nodes.iter_mut().zip(answers) {
        node.runtimes[0].known_answer = known;
    }
    let mut chain = TestChain::with_genesis(genesis, 4);
    assert!(registry::runtime_status(&chain.tree(), &RUNTIME).expect("status").suspended);
    assert!(scheduler::committee(&chain.tree(), &RUNTIME).expect("query").is_none());

    // Node 0 re-registers with the runtime's answer: from the next epoch the committee is
    // exactly the three nodes that agree, and node 3 is still left out.
    let node = &nodes[0];
    let mut descriptor = node.descriptor(signer(0).public_key(), 3, spec.roles, true);
    descriptor.runtimes[0].known_answer = Some(answer);
    let body = RegisterNode { node: node.signed(&descriptor, &chain.chain_context()) };
    assert_eq!(chain.run(chain.tx_by(&node.identity, registry::REGISTER_NODE, &body)), None);
    chain.advance_to_epoch(1);
    let committee =
        scheduler::committee(&chain.tree(), &RUNTIME).expect("query").expect("a committee");
    let mut workers = committee.workers.clone();
    workers.sort();
    let mut agreeing: Vec<PublicKey> = nodes[..3].iter().map(TestNode::id).collect();
    agreeing.sort();
    assert_eq!(workers, agreeing);

    // A determinism requirement must name an architecture and few, short CPU features.
    let mut bad = runtime_descriptor(signer(0).public_key(), (1, 0, 1, None));
    bad.id = atoll_types::RuntimeId::from_bytes([9; 32]);
    for broken in [
        Determinism { arch: String::new(), ..determinism.clone() },
        Determinism { cpu_features: vec!["x".repeat(33)], ..determinism.clone() },
        Determinism { cpu_features: vec!["avx2".into(); 17], ..determinism.clone() },
    ] {
        bad.deployments[0].determinism = Some(broken);
        assert_code(
            chain.run(chain.tx(
                0,
                registry::REGISTER_RUNTIME,
                &RegisterRuntime { runtime: bad.clone() },
            )),
            "registry",
            1,
        );
    }
    bad.deployments[0].determinism = Some(determinism);
    assert_eq!(
        chain.run(chain.tx(0, registry::REGISTER_RUNTIME, &RegisterRuntime { runtime: bad })),
        None
    );
}

#[test]
fn too_few_validators_keep_the_current_set() {
    let spec = NetSpec { escrows: vec![10_000; 3], runtime: None, ..NetSpec::default() };
    let (mut genesis, nodes) = net_genesis(&spec);
    genesis.scheduler.min_validators = 3;
    genesis.staking.parameters.slashing.insert(
        SlashReason::ConsensusEquivocation,
        Slash { amount: Amount::ZERO, freeze_interval: 1 },
    );
    let mut chain = TestChain::with_genesis(genesis, 3);
    assert_eq!(validator_nodes(&chain).len(), 3);
    chain.ctx.evidence = vec![Misbehavior {
        entity: chain.addr(1),
        node: Some(nodes[1].id()),
        reason: SlashReason::ConsensusEquivocation,
    }];
    let outcome = chain.block(vec![]);
    assert_eq!(
        outcome.validator_updates, None,
        "two eligible validators are below the minimum of three"
    );
    assert!(outcome.events.iter().any(|e| matches!(
        e.event,
        atoll_consensus::Event::Scheduler(scheduler::SchedulerEvent::ValidatorElectionFailed {
            eligible: 2
        })
    )));
}

#[test]
fn genesis_with_a_registry_round_trips_through_json() {
    let (genesis, _) = net_genesis(&NetSpec::default());
    let parsed = atoll_consensus::Genesis::from_json(&genesis.to_json()).expect("parse");
    assert_eq!(parsed, genesis);
    assert_eq!(parsed.chain_context(), genesis.chain_context());
}

#[test]
fn remaining_error_paths() {
    let (mut genesis, nodes) = net_genesis(&NetSpec::default());
    genesis.registry.parameters.node_runtime_fee_per_epoch = Amount::new(10_000_000);
    let mut chain = TestChain::with_genesis(genesis, 4);
    // Unknown node.
    let unknown = UnfreezeNode { node_id: TestNode::new(777, 0).id() };
    assert_code(chain.run(chain.tx(0, registry::UNFREEZE_NODE, &unknown)), "registry", 5);
    // A registration fee the node cannot pay.
    let node = &nodes[0];
    let descriptor = node.descriptor(signer(0).public_key(), 2, roles::COMPUTE, true);
    let body = RegisterNode { node: node.signed(&descriptor, &chain.chain_context()) };
    assert_code(
        chain.run(chain.tx_by(&node.identity, registry::REGISTER_NODE, &body)),
        "registry",
        12,
    );
    // VRF proofs on a chain with the insecure beacon.
    let proof = VrfProve { epoch: Epoch(0), proof: node.vrf.prove(b"x").1 };
    assert_code(chain.run(chain.tx_by(&node.identity, beacon::VRF_PROVE, &proof)), "beacon", 6);
    // The scheduler has no methods.
    assert_code(chain.run(chain.tx(0, "scheduler.Elect", &())), "core", 7);
}

/// [S] finding 13: the tally read delegations through the API's 1,000-entry cap, so votes
/// of delegators past the first thousand were never counted.
#[test]
fn a_tally_refuses_to_drop_delegators_past_the_first_thousand() {
    let spec = NetSpec { escrows: vec![10_000, 10_000], runtime: None, ..NetSpec::default() };
    let (mut genesis, _) = net_genesis(&spec);
    let delegators: Vec<_> = (1_000..2_101).map(signer).collect();
    for key in &delegators {
        let mut account = atoll_consensus::staking::Account::default();
        account.general.balance = Amount::new(1_000_000);
        genesis
            .staking
            .accounts
            .insert(atoll_types::Address::from_public_key(&key.public_key()), account);
        genesis.staking.total_supply =
            genesis.staking.total_supply.checked_add(Amount::new(1_000_000)).expect("supply");
    }
    let mut chain = TestChain::with_genesis(genesis, 2);
    let entity = chain.addr(0);
    for batch in delegators.chunks(500) {
        let delegate = AddEscrow { escrow: entity, amount: Amount::new(10) };
        let txs = batch.iter().map(|k| chain.tx_by(k, methods::ADD_ESCROW, &delegate)).collect();
        let outcome = chain.block(txs);
        assert!(outcome.results.iter().all(|r| r.error.is_none()));
    }
    let upgrade =
        governance::Upgrade { name: "v2".into(), epoch: Epoch(10), version: Default::default() };
    let submit =
        SubmitProposal { content: ProposalContent::Upgrade(upgrade), deposit: Amount::new(100) };
    assert_eq!(chain.run(chain.tx(1, governance::SUBMIT_PROPOSAL, &submit)), None);
    let no = CastVote { proposal_id: 0, vote: Vote::No };
    for batch in delegators.chunks(500) {
        let txs = batch.iter().map(|k| chain.tx_by(k, governance::CAST_VOTE, &no)).collect();
        let outcome = chain.block(txs);
        assert!(outcome.results.iter().all(|r| r.error.is_none()));
    }
    let tally = governance::tally(&chain.tree(), 0).expect("tally");
    assert_eq!(tally.no, Amount::new(10 * delegators.len() as u128), "every delegator counts");
    assert_eq!(tally.eligible, Amount::new(20_000 + 10 * delegators.len() as u128));

    // [S] finding 11: the API's list reads stop at their limit instead of reading every
    // entry under the prefix and dropping the rest.
    let tree = chain.tree();
    let counting = CountingReads { inner: &tree, entries: std::cell::Cell::new(0) };
    let listed = atoll_consensus::staking::query::delegations_to(&counting, &entity).expect("list");
    assert_eq!(listed.len(), atoll_consensus::staking::query::MAX_LIST);
    assert!(counting.entries.get() <= listed.len() + 1, "read {} entries", counting.entries.get());
    let counting = CountingReads { inner: &tree, entries: std::cell::Cell::new(0) };
    let votes = governance::listed_votes(&counting, 0).expect("votes");
    assert_eq!(votes.len(), atoll_consensus::staking::query::MAX_LIST);
    assert!(counting.entries.get() <= votes.len() + 1);
    // The next pages hold the rest, each entry once.
    let last = listed.last().expect("a page").0;
    let rest = atoll_consensus::staking::query::delegations_to_after(&tree, &entity, Some(&last))
        .expect("next page");
    assert_eq!(listed.len() + rest.len(), delegators.len() + 1, "and the entity's own");
    assert!(rest.iter().all(|(d, _)| *d > last));
    let last_voter = votes.last().expect("a page").0;
    let more = governance::listed_votes_after(&tree, 0, Some(&last_voter)).expect("next page");
    assert_eq!(votes.len() + more.len(), delegators.len());
}

/// A state view that counts the entries its iterators yield.
struct CountingReads<'a> {
    inner: &'a dyn atoll_mkvs::KeyValueRead,
    entries: std::cell::Cell<usize>,
}

impl atoll_mkvs::KeyValueRead for CountingReads<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, atoll_mkvs::MkvsError> {
        self.inner.get(key)
    }

    fn iter_from(&self, start: &[u8]) -> atoll_mkvs::EntryIter<'_> {
        Box::new(self.inner.iter_from(start).inspect(|_| self.entries.set(self.entries.get() + 1)))
    }
}

/// [S] finding 13: a parameter set that validated partly at submission could pass and
/// break the chain (a zero power unit, a zero gas cost, a zero quorum).
#[test]
fn parameter_changes_refuse_unusable_sets_at_submission() {
    let spec = NetSpec { escrows: vec![10_000, 10_000], runtime: None, ..NetSpec::default() };
    let (genesis, _) = net_genesis(&spec);
    let mut chain = TestChain::with_genesis(genesis.clone(), 2);
    for content in [
        change(ParametersModule::Scheduler, &[("voting_power_unit", "\"0\"")]),
        change(ParametersModule::Governance, &[("gas_cost", "0")]),
        change(ParametersModule::Governance, &[("stake_threshold_percent", "0")]),
        change(ParametersModule::Roothash, &[("slash_reward_percent", "101")]),
        change(ParametersModule::Registry, &[("max_node_expiration", "0")]),
        change(ParametersModule::Consensus, &[("max_block_gas", "0")]),
    ] {
        let submit = SubmitProposal { content, deposit: Amount::new(100) };
        assert_code(chain.run(chain.tx(0, governance::SUBMIT_PROPOSAL, &submit)), "governance", 1);
    }
}

/// [S] finding 5: the VRF key needed no proof of possession, could be another node's, and
/// could change within an epoch, so an operator could grind keys offline against a known
/// alpha or copy another node's proofs to win committee seats.
#[test]
fn vrf_keys_refuse_grinding_copying_and_unproven_registration() {
    let spec = NetSpec {
        escrows: vec![10_000; 4],
        runtime: Some((2, 1, 3, None)),
        beacon: BeaconParameters {
            backend: BeaconBackend::Vrf { proof_delay: 1, min_proofs: 3 },
            gas_cost: 1_000,
        },
        ..NetSpec::default()
    };
    let (mut genesis, nodes) = net_genesis(&spec);
    genesis.consensus.epoch_interval = 20;
    let mut chain = TestChain::with_genesis(genesis, 4);
    let context = chain.chain_context();
    let alpha = beacon::beacon(&chain.tree()).expect("beacon").alpha;
    let expiration = chain.genesis.registry.parameters.max_node_expiration;
    let register = |chain: &TestChain, node: &TestNode, descriptor: &registry::types::Node| {
        chain.tx_by(
            &node.identity,
            registry::REGISTER_NODE,
            &RegisterNode { node: node.signed(descriptor, &context) },
        )
    };
    let descriptor = |node: &TestNode| {
        node.descriptor(
            signer(node.entity).public_key(),
            expiration,
            roles::COMPUTE | roles::VALIDATOR,
            true,
        )
    };

    // Copying: node 1 registers node 0's VRF key, with node 0's possession proof (bound to
    // node 0's id) or with a valid one of its own for that key (impossible without the
    // secret, simulated here by sharing it): refused either way.
    let mut copied = descriptor(&nodes[1]);
    copied.vrf_key = nodes[0].vrf.public_key();
    copied.vrf_possession = descriptor(&nodes[0]).vrf_possession;
    assert_code(chain.run(register(&chain, &nodes[1], &copied)), "registry", 1);
    copied.vrf_possession =
        nodes[0].vrf.prove(&atoll_crypto::possession_input(nodes[1].id().as_bytes())).1;
    assert_code(chain.run(register(&chain, &nodes[1], &copied)), "registry", 13);

    // Grinding: with this epoch's alpha known, node 2 registers a new VRF key. Proofs under
    // it are refused until the next epoch; under its key of the epoch's start, accepted.
    chain.block(vec![]);
    let ground = atoll_crypto::VrfSecretKey::from_seed([0x99; 32]);
    let mut regrind = descriptor(&nodes[2]);
    regrind.vrf_key = ground.public_key();
    regrind.vrf_possession =
        ground.prove(&atoll_crypto::possession_input(nodes[2].id().as_bytes())).1;
    assert_eq!(chain.run(register(&chain, &nodes[2], &regrind)), None);
    let with_ground = VrfProve { epoch: Epoch(0), proof: ground.prove(alpha.as_bytes()).1 };
    assert_code(
        chain.run(chain.tx_by(&nodes[2].identity, beacon::VRF_PROVE, &with_ground)),
        "beacon",
        5,
    );
    let with_fixed = VrfProve { epoch: Epoch(0), proof: nodes[2].vrf.prove(alpha.as_bytes()).1 };
    assert_eq!(chain.run(chain.tx_by(&nodes[2].identity, beacon::VRF_PROVE, &with_fixed)), None);
}

/// A small-order Ed25519 key: under ZIP-215 the signature `(R = identity, s = 0)` verifies
/// for any message, so anyone can sign for it.
struct SmallOrderKey;

impl atoll_types::Signer for SmallOrderKey {
    fn public_key(&self) -> PublicKey {
        let mut identity = [0u8; 32];
        identity[0] = 1;
        PublicKey::from_bytes(identity)
    }

    fn sign_raw(&self, _message: &[u8]) -> atoll_types::Signature {
        let mut forged = [0u8; 64];
        forged[0] = 1;
        atoll_types::Signature::from_bytes(forged)
    }
}

/// [S] finding 18: a node could register small-order keys, whose signatures anyone can
/// forge (one consensus key for everybody's votes, one p2p key for everybody's peers).
#[test]
fn registration_refuses_small_order_keys() {
    let spec = NetSpec { escrows: vec![10_000; 2], runtime: None, ..NetSpec::default() };
    let (genesis, nodes) = net_genesis(&spec);
    let mut chain = TestChain::with_genesis(genesis, 2);
    let context = chain.chain_context();
    let small = SmallOrderKey;
    assert!(atoll_types::Signer::public_key(&small).is_small_order());
    assert!(!nodes[0].id().is_small_order());
    let expiration = chain.genesis.registry.parameters.max_node_expiration;
    let mut descriptor =
        nodes[0].descriptor(signer(0).public_key(), expiration, roles::VALIDATOR, false);
    descriptor.consensus_key = atoll_types::Signer::public_key(&small);
    let signers: [&dyn atoll_types::Signer; 3] = [&nodes[0].identity, &small, &nodes[0].p2p];
    let body =
        RegisterNode { node: atoll_types::MultiSigned::sign(&signers, &context, &descriptor) };
    // The forged signature itself passes: only the key check stops it.
    assert!(body.node.open(&context).is_ok());
    assert_code(
        chain.run(chain.tx_by(&nodes[0].identity, registry::REGISTER_NODE, &body)),
        "registry",
        1,
    );
}

/// [S] finding 18: only each validator's power was capped, so enough large validators could
/// overflow the engine's `u64` total.
#[test]
fn total_voting_power_refuses_to_exceed_its_cap() {
    let spec = NetSpec { escrows: vec![10_000; 4], runtime: None, ..NetSpec::default() };
    let (mut genesis, _) = net_genesis(&spec);
    genesis.scheduler.max_validators = scheduler::MAX_VALIDATORS;
    let whale = 10u128.pow(36);
    for i in 0..4 {
        let address = atoll_types::Address::from_public_key(&signer(i).public_key());
        let account = genesis.staking.accounts.get_mut(&address).expect("entity");
        account.escrow.active.balance = Amount::new(whale);
        account.escrow.active.total_shares = atoll_consensus::staking::Shares(whale);
        genesis.staking.delegations.get_mut(&address).expect("self-delegation").insert(
            address,
            atoll_consensus::staking::Delegation {
                shares: atoll_consensus::staking::Shares(whale),
            },
        );
        genesis.staking.total_supply =
            genesis.staking.total_supply.checked_add(Amount::new(whale - 10_000)).expect("supply");
    }
    let chain = TestChain::with_genesis(genesis, 4);
    let validators = scheduler::validators(&chain.tree()).expect("validators");
    assert_eq!(validators.len(), 4);
    let total: u128 = validators.iter().map(|v| u128::from(v.power)).sum();
    assert!(total <= u128::from(scheduler::MAX_TOTAL_POWER), "total power {total}");
    assert!(validators.iter().all(|v| v.power == validators[0].power), "equal stake, equal power");
}

/// [S] finding 18: a passed upgrade was only listed; nodes running the old software went on
/// past its epoch. `upgrade_due` is what a node checks before every block (and refuses to
/// go on if it returns an upgrade).
#[test]
fn an_upgrade_due_refuses_old_software_from_its_epoch() {
    let (mut chain, _) = chain(&NetSpec { runtime: None, ..NetSpec::default() });
    let target = atoll_consensus::registry::types::Version { major: 9, minor: 0, patch: 0 };
    let upgrade = governance::Upgrade { name: "v9".into(), epoch: Epoch(20), version: target };
    let submit = SubmitProposal {
        content: ProposalContent::Upgrade(upgrade.clone()),
        deposit: Amount::new(100),
    };
    assert_eq!(chain.run(chain.tx(0, governance::SUBMIT_PROPOSAL, &submit)), None);
    for i in 0..4 {
        let vote = CastVote { proposal_id: 0, vote: Vote::Yes };
        assert_eq!(chain.run(chain.tx(i, governance::CAST_VOTE, &vote)), None);
    }
    chain.advance_to_epoch(2);
    let running = governance::software_version();
    let tree = chain.tree();
    assert_eq!(governance::upgrade_due(&tree, Epoch(19), &running).expect("query"), None);
    assert_eq!(governance::upgrade_due(&tree, Epoch(20), &running).expect("query"), Some(upgrade));
    assert_eq!(
        governance::upgrade_due(&tree, Epoch(25), &target).expect("query"),
        None,
        "upgraded"
    );
}

fn validator_entities(chain: &TestChain) -> Vec<atoll_types::PublicKey> {
    scheduler::validators(&chain.tree()).expect("validators").iter().map(|v| v.entity).collect()
}

fn entity_of(chain: &TestChain, node: &atoll_types::PublicKey) -> atoll_types::PublicKey {
    registry::node(&chain.tree(), node).expect("read").expect("node").entity_id
}

#[test]
fn the_validator_set_constraint_admits_an_entitys_separate_compute_nodes() {
    // Three entities with two nodes each, one validator per entity and only two
    // validators: entities 0 and 1 (the largest) validate, entity 2 does not. The runtime
    // wants 4 workers from entities in the validator set: the compute nodes of entities 0
    // and 1 that are not validators themselves qualify (the reference's rule is about the
    // entity), entity 2's do not.
    let spec = NetSpec {
        escrows: vec![30_000, 20_000, 10_000],
        nodes_per_entity: 2,
        runtime: Some((4, 0, 4, None)),
        ..NetSpec::default()
    };
    let (mut genesis, _) = net_genesis(&spec);
    genesis.scheduler.max_validators_per_entity = 1;
    genesis.scheduler.max_validators = 2;
    for constraints in genesis.registry.runtimes[0].constraints.values_mut() {
        constraints.validator_set = true;
    }
    let chain = TestChain::with_genesis(genesis, 3);
    let entities = validator_entities(&chain);
    assert_eq!(entities.len(), 2);
    let committee =
        scheduler::committee(&chain.tree(), &RUNTIME).expect("query").expect("a committee");
    assert_eq!(committee.workers.len(), 4);
    for worker in &committee.workers {
        assert!(entities.contains(&entity_of(&chain, worker)));
    }
}

#[test]
fn runtime_thresholds_are_claimed_per_node_and_elections_refuse_the_under_staked() {
    // Every entity runs two compute-and-validator nodes serving a runtime that asks 4,000
    // per compute node: 8,000 per entity. Entity 3 holds 6,000: enough for one node's
    // threshold, not for two, so none of its nodes is elected, as validator or worker.
    let spec = NetSpec {
        escrows: vec![10_000, 10_000, 10_000, 6_000],
        nodes_per_entity: 2,
        runtime: Some((6, 0, 6, None)),
        ..NetSpec::default()
    };
    let (mut genesis, nodes) = net_genesis(&spec);
    genesis.registry.runtimes[0]
        .staking_thresholds
        .insert(ThresholdKind::NodeCompute, Amount::new(4_000));
    let mut chain = TestChain::with_genesis(genesis, 4);
    // Registering (again) claims them: refused for entity 3, fine for entity 0.
    let expiration = chain.genesis.registry.parameters.max_node_expiration;
    let roles = roles::VALIDATOR | roles::COMPUTE;
    for (node, refused) in [(&nodes[6], true), (&nodes[0], false)] {
        let descriptor = node.descriptor(signer(node.entity).public_key(), expiration, roles, true);
        let body = RegisterNode { node: node.signed(&descriptor, &chain.chain_context()) };
        let result = chain.run(chain.tx_by(&node.identity, registry::REGISTER_NODE, &body));
        if refused {
            assert_code(result, "registry", 7);
        } else {
            assert_eq!(result, None);
        }
    }
    let tree = chain.tree();
    let short = signer(3).public_key();
    assert!(!registry::stake_covers_claims(&tree, &short).expect("check"));
    assert!(registry::stake_covers_claims(&tree, &signer(0).public_key()).expect("check"));
    drop(tree);
    assert!(!validator_entities(&chain).contains(&short), "validators must cover their claims");
    let committee =
        scheduler::committee(&chain.tree(), &RUNTIME).expect("query").expect("a committee");
    assert!(committee.workers.iter().all(|w| entity_of(&chain, w) != short));
}

fn change(module: ParametersModule, fields: &[(&str, &str)]) -> ProposalContent {
    ProposalContent::ChangeParameters(ParameterChange {
        module,
        changes: fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
    })
}

fn vote_all(chain: &mut TestChain, id: u64, votes: &[Option<Vote>]) {
    for (i, vote) in votes.iter().enumerate() {
        if let Some(vote) = vote {
            let body = CastVote { proposal_id: id, vote: *vote };
            assert_eq!(chain.run(chain.tx(i, governance::CAST_VOTE, &body)), None);
        }
    }
}

/// [T] finding 19: a proposal passed with a quorum of votes cast and yes over yes + no;
/// the reference asks yes of a share of all validator stake, so abstaining (or not
/// voting) counts against.
#[test]
fn yes_must_reach_the_stake_threshold_of_all_validator_escrow() {
    let (mut chain, _) = chain(&NetSpec { runtime: None, ..NetSpec::default() });
    let submit = |field: &str| SubmitProposal {
        content: change(ParametersModule::Registry, &[(field, "7")]),
        deposit: Amount::new(100),
    };
    // Four equal validator entities. Proposal 0: two yes, two abstain (50% < 68%).
    // Proposal 1: three yes, one no (75%).
    assert_eq!(chain.run(chain.tx(0, governance::SUBMIT_PROPOSAL, &submit("gas_cost"))), None);
    assert_eq!(
        chain.run(chain.tx(0, governance::SUBMIT_PROPOSAL, &submit("max_node_expiration"))),
        None
    );
    let (yes, no, abstain) = (Some(Vote::Yes), Some(Vote::No), Some(Vote::Abstain));
    vote_all(&mut chain, 0, &[yes, yes, abstain, abstain]);
    vote_all(&mut chain, 1, &[yes, yes, yes, no]);
    chain.advance_to_epoch(2);
    let state = |chain: &TestChain, id| {
        governance::proposal(&chain.tree(), id).expect("query").expect("proposal").state
    };
    assert_eq!(state(&chain, 0), ProposalState::Rejected, "abstentions count against");
    assert_eq!(state(&chain, 1), ProposalState::Passed);
    let registry = registry::parameters(&chain.tree()).expect("params");
    assert_eq!((registry.gas_cost, registry.max_node_expiration), (1_000, 7));
}

#[test]
fn a_change_that_no_longer_applies_when_it_passes_fails_and_changes_nothing() {
    let (mut chain, _) = chain(&NetSpec { runtime: None, ..NetSpec::default() });
    // Each valid alone; together min_validators 5 > max_validators 4.
    for content in [
        change(ParametersModule::Scheduler, &[("max_validators", "4")]),
        change(ParametersModule::Scheduler, &[("min_validators", "5")]),
    ] {
        let submit = SubmitProposal { content, deposit: Amount::new(100) };
        assert_eq!(chain.run(chain.tx(0, governance::SUBMIT_PROPOSAL, &submit)), None);
    }
    let all_yes = [Some(Vote::Yes); 4];
    vote_all(&mut chain, 0, &all_yes);
    vote_all(&mut chain, 1, &all_yes);
    let balance = chain.balance(0);
    chain.advance_to_epoch(2);
    let state = |chain: &TestChain, id| {
        governance::proposal(&chain.tree(), id).expect("query").expect("proposal").state
    };
    assert_eq!(state(&chain, 0), ProposalState::Passed);
    assert_eq!(state(&chain, 1), ProposalState::Failed);
    let params = scheduler::parameters(&chain.tree()).expect("params");
    assert_eq!((params.min_validators, params.max_validators), (1, 4));
    assert_eq!(chain.balance(0), balance + 200, "both deposits returned");
}

/// [T] finding 20 (expired nodes): a node was deleted one epoch after it expired, too soon
/// for evidence against it to find its entity. Expired nodes stay for the debonding
/// interval at least.
#[test]
fn expired_nodes_stay_for_the_debonding_interval() {
    let spec = NetSpec { runtime: None, ..NetSpec::default() };
    let (genesis, nodes) = net_genesis(&spec);
    let expiration = genesis.registry.parameters.max_node_expiration;
    let keep = genesis
        .registry
        .parameters
        .node_grace_period
        .max(genesis.staking.parameters.debonding_interval);
    assert!(keep > genesis.registry.parameters.node_grace_period, "the test needs a longer window");
    let mut chain = TestChain::with_genesis(genesis, 4);
    let id = nodes[0].id();
    chain.advance_to_epoch(expiration + keep);
    assert!(registry::node(&chain.tree(), &id).expect("read").is_some(), "still there");
    chain.advance_to_epoch(expiration + keep + 1);
    assert!(registry::node(&chain.tree(), &id).expect("read").is_none(), "removed");
}
