//! Attestations bound to a node: a simulated enclave's evidence binds its RAK, the RAK signs
//! the node, runtime, height and encryption key, and every attempt to present it for
//! something else is refused.

use std::sync::Arc;

use atoll_crypto::MemorySigner;
use atoll_tee::attestation::{attest, report_data};
use atoll_tee::simulated::{CollateralTerms, SimulatedEnclave, SimulatedTcb, SimulationPki};
use atoll_tee::{
    Attestation, AttestationStatement, ConsensusTime, DcapVerifier, Enclave, Expected, QuotePolicy,
    TeeError, Verifier,
};
use atoll_types::{ChainContext, PublicKey, RuntimeId, Signer};

const ISSUED: u64 = 1_767_225_600;
const DAY: u64 = 86_400;
const HEIGHT: u64 = 500;
const MAX_AGE: u64 = 1_200;

struct World {
    pki: SimulationPki,
    enclave: SimulatedEnclave,
    chain: ChainContext,
    node: PublicKey,
    runtime: RuntimeId,
    policy: QuotePolicy,
    collateral: Vec<u8>,
}

fn world() -> World {
    let pki = SimulationPki::from_seed(&[3; 32], ISSUED - DAY).expect("pki");
    let machine = Arc::new(pki.machine(&[4; 32], SimulatedTcb::UpToDate).expect("machine"));
    let terms = CollateralTerms {
        issued_at: ISSUED,
        valid_for: 30 * DAY,
        tcb_evaluation: 1,
        revoked: vec![],
    };
    let collateral = pki.collateral(&terms).expect("collateral").encode();
    World {
        pki,
        enclave: SimulatedEnclave::of_binary(machine, b"runtime binary"),
        chain: ChainContext::from_genesis_document(b"a genesis"),
        node: MemorySigner::from_seed([5; 32]).public_key(),
        runtime: RuntimeId::from_bytes([6; 32]),
        policy: QuotePolicy::up_to_date(),
        collateral,
    }
}

impl World {
    fn statement(&self, height: u64) -> AttestationStatement {
        AttestationStatement {
            node: self.node,
            runtime: self.runtime,
            height,
            rek: [9; 32],
            nonce: [8; 32],
        }
    }

    fn attestation(&self, rak: &MemorySigner, statement: &AttestationStatement) -> Attestation {
        let mut attestation = attest(&self.enclave, rak, &self.chain, statement).expect("attests");
        attestation.collateral = self.collateral.clone();
        attestation
    }

    fn verifier(&self) -> DcapVerifier {
        DcapVerifier::with_root(self.pki.root_der())
    }

    fn check(
        &self,
        attestation: &Attestation,
        node: PublicKey,
        height: u64,
    ) -> Result<(), TeeError> {
        self.check_with(attestation, &self.verifier(), node, &self.chain, height)
    }

    fn check_with(
        &self,
        attestation: &Attestation,
        verifier: &dyn Verifier,
        node: PublicKey,
        chain: &ChainContext,
        height: u64,
    ) -> Result<(), TeeError> {
        let enclaves = [self.enclave.identity()];
        let expected = Expected {
            chain,
            node,
            runtime: self.runtime,
            policy: &self.policy,
            enclaves: &enclaves,
            max_age: MAX_AGE,
        };
        attestation
            .verify(verifier, &expected, ConsensusTime::of_block(height, ISSUED + DAY))
            .map(|_| ())
    }
}

#[test]
fn an_attestation_verifies_for_the_node_runtime_and_chain_it_was_made_for() {
    let w = world();
    let rak = MemorySigner::from_seed([1; 32]);
    let attestation = w.attestation(&rak, &w.statement(HEIGHT));
    w.check(&attestation, w.node, HEIGHT + 10).expect("verifies");
    // Round trip through JSON (how node descriptors travel in the API and genesis).
    let json = serde_json::to_string(&attestation).expect("serializes");
    let back: Attestation = serde_json::from_str(&json).expect("parses");
    assert_eq!(back, attestation);
}

#[test]
fn a_valid_attestation_replayed_for_another_node_id_is_refused() {
    let w = world();
    let attestation = w.attestation(&MemorySigner::from_seed([1; 32]), &w.statement(HEIGHT));
    let other = MemorySigner::from_seed([7; 32]).public_key();
    assert!(matches!(w.check(&attestation, other, HEIGHT + 1), Err(TeeError::Binding(_))));
    let elsewhere = ChainContext::from_genesis_document(b"another genesis");
    let result = w.check_with(&attestation, &w.verifier(), w.node, &elsewhere, HEIGHT + 1);
    assert!(matches!(result, Err(TeeError::Binding(_))), "{result:?}");
}

#[test]
fn report_data_holding_another_rak_is_refused() {
    // A host that knows an enclave's evidence for RAK A cannot pass off its own key B: B
    // can sign the statement, but the evidence binds A.
    let w = world();
    let enclave_rak = MemorySigner::from_seed([1; 32]);
    let host_key = MemorySigner::from_seed([2; 32]);
    let statement = w.statement(HEIGHT);
    let genuine = w.attestation(&enclave_rak, &statement);
    let forged_signature =
        attest(&w.enclave, &host_key, &w.chain, &statement).expect("signs").signature;
    let forged = Attestation { rak: host_key.public_key(), signature: forged_signature, ..genuine };
    assert_eq!(
        w.check(&forged, w.node, HEIGHT + 1),
        Err(TeeError::Binding("the evidence's report data does not bind this RAK and nonce"))
    );
    assert_ne!(
        report_data(&host_key.public_key(), &[8; 32]),
        report_data(&enclave_rak.public_key(), &[8; 32])
    );
}

#[test]
fn an_attestation_older_than_the_maximum_age_or_from_the_future_is_refused() {
    let w = world();
    let attestation = w.attestation(&MemorySigner::from_seed([1; 32]), &w.statement(HEIGHT));
    assert!(w.check(&attestation, w.node, HEIGHT + MAX_AGE).is_ok());
    assert!(matches!(w.check(&attestation, w.node, HEIGHT + MAX_AGE + 1), Err(TeeError::Stale(_))));
    assert!(matches!(w.check(&attestation, w.node, HEIGHT - 1), Err(TeeError::Stale(_))));
}

#[test]
fn a_tampered_field_of_the_attestation_is_refused() {
    let w = world();
    let attestation = w.attestation(&MemorySigner::from_seed([1; 32]), &w.statement(HEIGHT));
    let tampered = [
        Attestation { rek: [0; 32], ..attestation.clone() },
        Attestation { nonce: [0; 32], ..attestation.clone() },
        Attestation { height: HEIGHT + 1, ..attestation.clone() },
    ];
    for t in tampered {
        assert!(matches!(w.check(&t, w.node, HEIGHT + 2), Err(TeeError::Binding(_))), "{t:?}");
    }
    let no_collateral = Attestation { collateral: Vec::new(), ..attestation.clone() };
    assert!(matches!(w.check(&no_collateral, w.node, HEIGHT + 2), Err(TeeError::Malformed { .. })));
}

#[test]
fn an_enclave_the_runtime_does_not_allow_is_refused() {
    let w = world();
    let machine = Arc::new(w.pki.machine(&[4; 32], SimulatedTcb::UpToDate).expect("machine"));
    let other_code = SimulatedEnclave::of_binary(machine, b"another binary");
    let rak = MemorySigner::from_seed([1; 32]);
    let mut attestation =
        attest(&other_code, &rak, &w.chain, &w.statement(HEIGHT)).expect("attests");
    attestation.collateral = w.collateral.clone();
    assert!(matches!(w.check(&attestation, w.node, HEIGHT + 1), Err(TeeError::Identity(_))));
}

#[test]
fn a_simulated_attestation_is_refused_by_a_verifier_trusting_intels_root() {
    let w = world();
    let attestation = w.attestation(&MemorySigner::from_seed([1; 32]), &w.statement(HEIGHT));
    let result = w.check_with(&attestation, &DcapVerifier::intel(), w.node, &w.chain, HEIGHT + 1);
    assert!(matches!(result, Err(TeeError::Unverified(_))), "{result:?}");
}
