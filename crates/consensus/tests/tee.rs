//! TEE runtimes on chain: registration carries an attestation the registry verifies (with
//! the simulated backend's real-format quotes under a devnet root), elections take only
//! nodes whose attestation still holds, and every way of presenting evidence for something
//! it does not prove is refused.

mod common;

use std::sync::Arc;

use atoll_consensus::governance::{
    self, ParameterChange, ParametersModule, ProposalContent, SubmitProposal,
};
use atoll_consensus::registry::types::{
    AdmissionPolicy, NodeRuntime, TeeCapability, TeeHardware, TeePolicy, Version,
};
use atoll_consensus::registry::{self, RegisterNode, RegisterRuntime};
use atoll_consensus::scheduler;
use atoll_consensus::{Genesis, TxError};
use atoll_crypto::MemorySigner;
use atoll_tee::attestation::attest;
use atoll_tee::session::RegisteredKeys;
use atoll_tee::simulated::{CollateralTerms, SimulatedEnclave, SimulatedTcb, SimulationPki};
use atoll_tee::{
    Attestation, AttestationStatement, Enclave, EnclaveIdentity, QuotePolicy, TrustRoots, Verifier,
};
use atoll_types::{Amount, Height, PublicKey, Signer};
use common::{
    assert_code, net_genesis, runtime_descriptor, signer, NetSpec, TestChain, TestNode, RUNTIME,
};

const ISSUED: u64 = 1_767_225_600;
const DAY: u64 = 86_400;
const MAX_AGE: u64 = 30;
const BINARY: &[u8] = b"a confidential runtime";
const ATTESTATION_REFUSED: u32 = 9;

struct TeeNet {
    chain: TestChain,
    nodes: Vec<TestNode>,
    pki: SimulationPki,
    enclaves: Vec<SimulatedEnclave>,
    collateral: Vec<u8>,
}

fn policy() -> TeePolicy {
    TeePolicy { quote: QuotePolicy::up_to_date(), max_attestation_age: MAX_AGE }
}

fn terms(tcb_evaluation: u32) -> CollateralTerms {
    CollateralTerms { issued_at: ISSUED, valid_for: 30 * DAY, tcb_evaluation, revoked: Vec::new() }
}

/// Four entities with one node each (none serving the runtime yet) and a simulated-TEE
/// runtime whose committee is two workers and a backup from a pool of at least three.
fn tee_genesis(
    allow_simulated: bool,
    admission: AdmissionPolicy,
) -> (Genesis, Vec<TestNode>, SimulationPki) {
    let (mut genesis, nodes) = net_genesis(&NetSpec { runtime: None, ..NetSpec::default() });
    let pki = SimulationPki::from_seed(&[1; 32], ISSUED - 365 * DAY).expect("pki");
    genesis.genesis_time = ISSUED + DAY;
    if allow_simulated {
        genesis.registry.parameters.tee = TrustRoots {
            simulation: Some(pki.root_der()),
            debug_allow_simulated_tee: true,
            ..TrustRoots::default()
        };
    }
    let mut runtime = runtime_descriptor(signer(0).public_key(), (2, 1, 3, None));
    runtime.tee_hardware = TeeHardware::Simulated;
    runtime.tee_policy = Some(policy());
    runtime.deployments[0].enclaves = vec![identity()];
    runtime.admission_policy = admission;
    genesis.registry.runtimes.push(runtime);
    (genesis, nodes, pki)
}

fn identity() -> EnclaveIdentity {
    atoll_tee::simulated::simulated_identity(atoll_tee::simulated::measure(BINARY))
}

fn tee_net_with(allow_simulated: bool, admission: AdmissionPolicy) -> TeeNet {
    let (genesis, nodes, pki) = tee_genesis(allow_simulated, admission);
    let mut chain = TestChain::with_genesis(genesis, 4);
    chain.ctx.time = ISSUED + DAY;
    let enclaves = (0..nodes.len())
        .map(|i| {
            let machine =
                pki.machine(&[10 + i as u8; 32], SimulatedTcb::UpToDate).expect("machine");
            SimulatedEnclave::of_binary(Arc::new(machine), BINARY)
        })
        .collect();
    let collateral = pki.collateral(&terms(1)).expect("collateral").encode();
    TeeNet { chain, nodes, pki, enclaves, collateral }
}

fn tee_net() -> TeeNet {
    tee_net_with(true, AdmissionPolicy::AnyNode)
}

impl TeeNet {
    /// Node `i`'s enclave attesting for node `for_node` at `height`.
    fn attestation_by(&self, i: usize, for_node: PublicKey, height: u64) -> Attestation {
        let rak = MemorySigner::from_seed([0x40 + i as u8; 32]);
        let statement = AttestationStatement {
            node: for_node,
            runtime: RUNTIME,
            height,
            rek: [i as u8; 32],
            nonce: [7; 32],
        };
        let mut attestation =
            attest(&self.enclaves[i], &rak, &self.chain.chain_context(), &statement)
                .expect("attests");
        attestation.collateral = self.collateral.clone();
        attestation
    }

    fn attestation(&self, i: usize) -> Attestation {
        self.attestation_by(i, self.nodes[i].id(), self.chain.height)
    }

    fn register(&mut self, i: usize, attestation: Option<Attestation>) -> Option<TxError> {
        let node = &self.nodes[i];
        let epoch = self.chain.genesis.consensus.epoch_of(Height(self.chain.height)).0;
        let mut descriptor =
            node.descriptor(signer(node.entity).public_key(), epoch + 3, common_roles(), false);
        descriptor.runtimes = vec![NodeRuntime {
            id: RUNTIME,
            version: Version::default(),
            tee: attestation
                .map(|attestation| TeeCapability { hardware: TeeHardware::Simulated, attestation }),
            known_answer: None,
        }];
        let body = RegisterNode { node: node.signed(&descriptor, &self.chain.chain_context()) };
        let tx = self.chain.tx_by(&node.identity, registry::REGISTER_NODE, &body);
        self.chain.run(tx)
    }

    fn attest_and_register(&mut self, nodes: &[usize]) {
        for &i in nodes {
            let attestation = self.attestation(i);
            assert_eq!(self.register(i, Some(attestation)), None, "node {i} registers");
        }
    }

    fn next_epoch(&mut self) {
        let epoch = self.chain.genesis.consensus.epoch_of(Height(self.chain.height)).0;
        self.chain.advance_to_epoch(epoch + 1);
    }

    fn members(&self) -> Option<Vec<PublicKey>> {
        scheduler::committee(&self.chain.tree(), &RUNTIME)
            .expect("query")
            .map(|c| c.workers.iter().chain(&c.backup_workers).copied().collect())
    }

    fn ids(&self, nodes: &[usize]) -> Vec<PublicKey> {
        nodes.iter().map(|i| self.nodes[*i].id()).collect()
    }
}

fn common_roles() -> u32 {
    registry::types::roles::VALIDATOR | registry::types::roles::COMPUTE
}

#[test]
fn a_tee_runtimes_committee_forms_only_from_attested_nodes() {
    let mut net = tee_net();
    // Nobody has attested: no committee, the runtime is suspended.
    assert_eq!(net.members(), None);
    net.attest_and_register(&[0, 1, 2]);
    // Node 3 claims the runtime without evidence, then with a debug enclave's.
    assert_code(net.register(3, None), "registry", ATTESTATION_REFUSED);
    net.enclaves[3] = net.enclaves[3].clone().in_debug_mode();
    let debug = net.attestation(3);
    assert_code(net.register(3, Some(debug)), "registry", ATTESTATION_REFUSED);
    net.next_epoch();
    // The registered RAKs are what enclaves check session peers against.
    let tree = net.chain.tree();
    let raks = registry::RegisteredRaks(&tree);
    let rak_of = |i: usize| MemorySigner::from_seed([0x40 + i as u8; 32]).public_key();
    assert_eq!(raks.rak(&net.nodes[0].id(), &RUNTIME), Some(rak_of(0)));
    assert_eq!(raks.rak(&net.nodes[3].id(), &RUNTIME), None);
    drop(tree);
    let members = net.members().expect("a committee of attested nodes");
    assert_eq!(members.len(), 3);
    assert!(members.iter().all(|m| net.ids(&[0, 1, 2]).contains(m)), "{members:?}");
    assert!(!registry::runtime_status(&net.chain.tree(), &RUNTIME).expect("status").suspended);
}

#[test]
fn a_valid_attestation_replayed_for_another_node_id_is_refused() {
    let mut net = tee_net();
    let zeros = net.attestation(0);
    assert_code(net.register(1, Some(zeros)), "registry", ATTESTATION_REFUSED);
    // Node 1's own enclave attesting for node 0 (a relay of its key) is refused too.
    let relayed = net.attestation_by(1, net.nodes[0].id(), net.chain.height);
    assert_code(net.register(1, Some(relayed)), "registry", ATTESTATION_REFUSED);
    let own = net.attestation(1);
    assert_eq!(net.register(1, Some(own)), None);
}

#[test]
fn an_attestation_older_than_the_maximum_age_is_refused_and_not_elected() {
    let mut net = tee_net();
    for _ in 0..MAX_AGE + 2 {
        net.chain.block(vec![]);
    }
    let old = net.attestation_by(0, net.nodes[0].id(), net.chain.height - MAX_AGE - 1);
    assert_code(net.register(0, Some(old)), "registry", ATTESTATION_REFUSED);
    let future = net.attestation_by(0, net.nodes[0].id(), net.chain.height + 5);
    assert_code(net.register(0, Some(future)), "registry", ATTESTATION_REFUSED);

    // Attested nodes that never re-attest drop out once their attestations age.
    net.attest_and_register(&[0, 1, 2]);
    net.next_epoch();
    assert!(net.members().is_some());
    for _ in 0..MAX_AGE {
        net.chain.block(vec![]);
    }
    net.next_epoch();
    assert_eq!(net.members(), None, "stale attestations are not elected");
    // Re-attesting brings them back.
    net.attest_and_register(&[0, 1, 2]);
    net.next_epoch();
    assert!(net.members().is_some());
}

#[test]
fn collateral_expired_at_the_blocks_time_is_refused_whatever_the_hosts_clock() {
    let mut net = tee_net();
    // The block's time (what every validator judges by) is past the collateral's validity;
    // this host's clock (2026-11) may say anything — it is not asked.
    net.chain.ctx.time = ISSUED + 31 * DAY;
    let attestation = net.attestation(0);
    assert_code(net.register(0, Some(attestation)), "registry", ATTESTATION_REFUSED);
    net.chain.ctx.time = ISSUED + 29 * DAY;
    let attestation = net.attestation(0);
    assert_eq!(net.register(0, Some(attestation)), None);
}

#[test]
fn a_simulated_attestation_is_refused_on_a_chain_whose_genesis_does_not_trust_simulation() {
    let mut net = tee_net_with(false, AdmissionPolicy::AnyNode);
    let attestation = net.attestation(0);
    assert_code(net.register(0, Some(attestation)), "registry", ATTESTATION_REFUSED);
}

#[test]
fn the_tcb_recovery_drill_takes_stale_platforms_out_until_they_reattest() {
    let mut net = tee_net();
    net.attest_and_register(&[0, 1, 2]);
    net.next_epoch();
    assert!(net.members().is_some());
    // The owner raises the minimum TCB evaluation (a TCB recovery).
    let mut runtime =
        registry::runtime(&net.chain.tree(), &RUNTIME).expect("query").expect("runtime");
    runtime.tee_policy.as_mut().expect("policy").quote.min_tcb_evaluation = 2;
    assert_eq!(
        net.chain.run(net.chain.tx(0, registry::REGISTER_RUNTIME, &RegisterRuntime { runtime })),
        None
    );
    // Within one epoch the nodes attested under the old evaluation are out.
    net.next_epoch();
    assert_eq!(net.members(), None);
    assert!(registry::runtime_status(&net.chain.tree(), &RUNTIME).expect("status").suspended);
    // Old collateral no longer registers; collateral of the new evaluation does.
    let old = net.attestation(0);
    assert_code(net.register(0, Some(old)), "registry", ATTESTATION_REFUSED);
    net.collateral = net.pki.collateral(&terms(2)).expect("collateral").encode();
    net.attest_and_register(&[0, 1, 2]);
    net.next_epoch();
    assert!(net.members().is_some());
}

#[test]
fn a_perfectly_valid_quote_from_an_entity_the_admission_policy_does_not_allow_is_not_elected() {
    let allowed = (0..3).map(|i| (signer(i).public_key(), 1)).collect();
    let mut net = tee_net_with(true, AdmissionPolicy::EntityWhitelist(allowed));
    for _ in 0..3 {
        net.attest_and_register(&[0, 1, 2, 3]);
        net.next_epoch();
        let members = net.members().expect("a committee");
        assert!(!members.contains(&net.nodes[3].id()), "node 3 elected");
    }
}

#[test]
fn only_genesis_trusts_a_simulation_root() {
    let (mut genesis, _, pki) = tee_genesis(true, AdmissionPolicy::AnyNode);
    genesis.registry.parameters.tee.debug_allow_simulated_tee = false;
    assert!(genesis.validate().is_err(), "a simulation root without the debug flag");
    genesis.registry.parameters.tee.simulation = None;
    genesis.registry.parameters.tee.debug_allow_simulated_tee = true;
    assert!(genesis.validate().is_err(), "the debug flag without a root");

    // Governance cannot make a production chain trust one.
    let net = tee_net_with(false, AdmissionPolicy::AnyNode);
    let roots = TrustRoots {
        simulation: Some(pki.root_der()),
        debug_allow_simulated_tee: true,
        ..TrustRoots::default()
    };
    let content = ProposalContent::ChangeParameters(ParameterChange {
        module: ParametersModule::Registry,
        changes: [("tee".to_owned(), serde_json::to_string(&roots).expect("json"))].into(),
    });
    let mut chain = net.chain;
    let body = SubmitProposal { content, deposit: Amount::new(100) };
    assert_code(chain.run(chain.tx(0, governance::SUBMIT_PROPOSAL, &body)), "governance", 1);
}

#[test]
fn the_enclave_identity_must_be_one_the_deployment_allows() {
    let mut net = tee_net();
    let machine = net.pki.machine(&[99; 32], SimulatedTcb::UpToDate).expect("machine");
    net.enclaves[0] = SimulatedEnclave::of_binary(Arc::new(machine), b"other code");
    assert_ne!(net.enclaves[0].identity(), identity());
    let attestation = net.attestation(0);
    assert_code(net.register(0, Some(attestation)), "registry", ATTESTATION_REFUSED);
}

/// An "enclave" that presents a recorded SEV-SNP report whatever it is asked to bind: what
/// an attacker holding a real report can do.
struct RecordedReport(Vec<u8>, EnclaveIdentity);

impl Enclave for RecordedReport {
    fn identity(&self) -> EnclaveIdentity {
        self.1
    }

    fn attest(&self, _report_data: &[u8; 64]) -> Result<atoll_tee::Evidence, atoll_tee::TeeError> {
        Ok(atoll_tee::Evidence::Snp(self.0.clone()))
    }

    fn sealing_key(&self, _policy: atoll_tee::SealingPolicy) -> [u8; 32] {
        [0; 32]
    }
}

#[test]
fn a_real_sev_snp_report_takes_the_snp_path_and_is_refused_for_the_rak_it_does_not_bind() {
    // 2025-01-01: inside the sample VCEK's validity.
    const PINNED: u64 = 1_735_689_600;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tee/testdata/snp");
    let report =
        hex::decode(std::fs::read_to_string(dir.join("report_milan.hex")).expect("report").trim())
            .expect("hex");
    let vcek = std::fs::read(dir.join("vcek_milan.der")).expect("vcek");
    let identity = atoll_tee::SnpVerifier::amd()
        .expect("AMD roots")
        .verify(
            &atoll_tee::Evidence::Snp(report.clone()),
            &atoll_tee::Collateral::Snp { vcek: vcek.clone() },
            atoll_tee::ConsensusTime::of_block(1, PINNED),
            &QuotePolicy::up_to_date(),
        )
        .expect("the sample verifies")
        .identity;

    let (mut genesis, nodes) = net_genesis(&NetSpec { runtime: None, ..NetSpec::default() });
    genesis.genesis_time = PINNED;
    let mut runtime = runtime_descriptor(signer(0).public_key(), (1, 0, 1, None));
    runtime.tee_hardware = TeeHardware::SevSnp;
    runtime.tee_policy = Some(policy());
    runtime.deployments[0].enclaves = vec![identity];
    genesis.registry.runtimes.push(runtime);
    let mut chain = TestChain::with_genesis(genesis, 4);
    chain.ctx.time = PINNED;

    let node = &nodes[0];
    let register = |chain: &mut TestChain, report: Vec<u8>, vcek: Vec<u8>| {
        let statement = AttestationStatement {
            node: node.id(),
            runtime: RUNTIME,
            height: chain.height,
            rek: [1; 32],
            nonce: [2; 32],
        };
        let rak = MemorySigner::from_seed([3; 32]);
        let mut attestation =
            attest(&RecordedReport(report, identity), &rak, &chain.chain_context(), &statement)
                .expect("signs");
        attestation.collateral = vcek;
        let mut descriptor = node.descriptor(signer(0).public_key(), 3, common_roles(), false);
        descriptor.runtimes = vec![NodeRuntime {
            id: RUNTIME,
            version: Version::default(),
            tee: Some(TeeCapability { hardware: TeeHardware::SevSnp, attestation }),
            known_answer: None,
        }];
        let body = RegisterNode { node: node.signed(&descriptor, &chain.chain_context()) };
        let tx = chain.tx_by(&node.identity, registry::REGISTER_NODE, &body);
        chain.run(tx).expect("refused")
    };
    // AMD's signatures, the VCEK's TCB and chip id all check out; the report's data does
    // not bind this RAK, so the registration is refused — by the SNP path's last check.
    let refused = register(&mut chain, report.clone(), vcek.clone());
    assert_eq!((refused.module.as_str(), refused.code), ("registry", ATTESTATION_REFUSED));
    assert!(refused.message.contains("report data does not bind"), "{}", refused.message);
    // A tampered report fails AMD's signature before that.
    let mut tampered = report.clone();
    tampered[0x90] ^= 1;
    let refused = register(&mut chain, tampered, vcek);
    assert!(refused.message.contains("does not verify"), "{}", refused.message);
}
