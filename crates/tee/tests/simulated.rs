//! The simulated backend through the real DCAP verifier: a simulated enclave's quotes verify
//! under the simulation root and nowhere else, and every attack on them is refused as it is
//! on Intel's — tampering, expired collateral, a revoked or out-of-date platform, a debug
//! enclave, a policy they do not meet.

use std::sync::Arc;

use atoll_tee::simulated::{
    measure, simulated_signer, CollateralTerms, SimulatedEnclave, SimulatedMachine, SimulatedTcb,
    SimulationPki, SIMULATED_ADVISORY,
};
use atoll_tee::{
    Collateral, ConsensusTime, DcapVerifier, Enclave, EnclaveIdentity, Evidence, QuotePolicy,
    SealingPolicy, TcbStatus, TeeError, Verified, Verifier,
};

/// 2026-01-01T00:00:00Z, when the simulated PKI and its collateral are issued.
const ISSUED: u64 = 1_767_225_600;
const DAY: u64 = 86_400;
const NOW: u64 = ISSUED + DAY;
const BINARY: &[u8] = b"\x7fELF a confidential ParaTime";

fn pki() -> SimulationPki {
    SimulationPki::from_seed(&[7; 32], ISSUED - 365 * DAY).expect("the simulation PKI")
}

fn terms() -> CollateralTerms {
    CollateralTerms {
        issued_at: ISSUED,
        valid_for: 30 * DAY,
        tcb_evaluation: 3,
        revoked: Vec::new(),
    }
}

fn machine(pki: &SimulationPki, seed: u8, tcb: SimulatedTcb) -> Arc<SimulatedMachine> {
    Arc::new(pki.machine(&[seed; 32], tcb).expect("a simulated machine"))
}

fn quote(enclave: &SimulatedEnclave, report_data: u8) -> Evidence {
    enclave.attest(&[report_data; 64]).expect("a quote")
}

fn verify_at(
    pki: &SimulationPki,
    evidence: &Evidence,
    collateral: &Collateral,
    now: u64,
    policy: &QuotePolicy,
) -> Result<Verified, TeeError> {
    DcapVerifier::with_root(pki.root_der()).verify(
        evidence,
        collateral,
        ConsensusTime::of_block(9, now),
        policy,
    )
}

fn flip(evidence: &Evidence, index: usize) -> Evidence {
    let Evidence::Dcap(bytes) = evidence else { panic!("a DCAP quote") };
    let mut bytes = bytes.clone();
    bytes[index] ^= 0x01;
    Evidence::Dcap(bytes)
}

#[test]
fn a_simulated_enclaves_quote_verifies_under_the_simulation_root() {
    let pki = pki();
    let machine = machine(&pki, 1, SimulatedTcb::UpToDate);
    let enclave = SimulatedEnclave::of_binary(machine.clone(), BINARY);
    let collateral = pki.collateral(&terms()).expect("succeeds");
    let verified =
        verify_at(&pki, &quote(&enclave, 0xab), &collateral, NOW, &QuotePolicy::up_to_date())
            .expect("verifies");
    assert_eq!(
        verified.identity,
        EnclaveIdentity::Sgx {
            mr_enclave: measure(BINARY),
            mr_signer: simulated_signer(),
            product_id: 0,
            svn: 0
        }
    );
    assert_eq!(verified.identity, enclave.identity());
    assert_eq!(verified.report_data, [0xab; 64]);
    assert_eq!(verified.tcb, TcbStatus::UpToDate);
    assert!(verified.advisories.is_empty());
    assert_eq!(verified.tcb_evaluation, 3);
    assert_eq!(verified.platform, machine.ppid());
    assert!(!verified.debug);
}

#[test]
fn the_same_seed_rebuilds_the_same_pki_and_machine() {
    let (a, b) = (pki(), pki());
    assert_eq!(a.root_der(), b.root_der());
    assert_ne!(
        a.root_der(),
        SimulationPki::from_seed(&[8; 32], ISSUED).expect("succeeds").root_der()
    );
    let machine = machine(&a, 1, SimulatedTcb::UpToDate);
    let reloaded = Arc::new(SimulatedMachine::from_json(&machine.to_json()).expect("succeeds"));
    let one = SimulatedEnclave::of_binary(machine, BINARY);
    let two = SimulatedEnclave::of_binary(reloaded, BINARY);
    assert_eq!(quote(&one, 1), quote(&two, 1));
    assert_eq!(
        one.sealing_key(SealingPolicy::Measurement),
        two.sealing_key(SealingPolicy::Measurement)
    );
    assert!(SimulatedMachine::from_json("{\"seed\": \"zz\"}").is_err());
}

#[test]
fn a_simulated_quote_refuses_to_verify_under_intels_root_or_another_simulation() {
    let pki = pki();
    let enclave = SimulatedEnclave::of_binary(machine(&pki, 1, SimulatedTcb::UpToDate), BINARY);
    let evidence = quote(&enclave, 1);
    let collateral = pki.collateral(&terms()).expect("succeeds");
    let any = QuotePolicy::up_to_date();
    let at = ConsensusTime::of_block(9, NOW);
    assert!(DcapVerifier::intel().verify(&evidence, &collateral, at, &any).is_err());

    // Another devnet's PKI: its collateral and root do not vouch for this machine.
    let other = SimulationPki::from_seed(&[9; 32], ISSUED - DAY).expect("succeeds");
    let other_collateral = other.collateral(&terms()).expect("succeeds");
    assert!(verify_at(&other, &evidence, &other_collateral, NOW, &any).is_err());
    assert!(verify_at(&pki, &evidence, &other_collateral, NOW, &any).is_err());
    assert!(verify_at(&other, &evidence, &collateral, NOW, &any).is_err());
}

#[test]
fn a_production_quote_refuses_to_verify_under_the_simulation_root() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/dcap");
    let quote = std::fs::read(dir.join("sgx_quote")).expect("succeeds");
    let collateral = Collateral::dcap_json(
        &std::fs::read(dir.join("sgx_quote_collateral.json")).expect("succeeds"),
    )
    .expect("succeeds");
    let pinned = 1_751_328_000; // inside the sample collateral's validity
    let any = QuotePolicy {
        allowed_tcb: TcbStatus::ALL.iter().map(|(_, s)| *s).collect(),
        ..QuotePolicy::up_to_date()
    };
    let result = verify_at(&pki(), &Evidence::Dcap(quote.clone()), &collateral, pinned, &any);
    assert!(matches!(result, Err(TeeError::Unverified(_))), "{result:?}");
    // While Intel's root accepts it: the root alone made the difference.
    DcapVerifier::intel()
        .verify(&Evidence::Dcap(quote), &collateral, ConsensusTime::of_block(1, pinned), &any)
        .expect("the sample verifies under Intel's root");
}

#[test]
fn a_flipped_byte_anywhere_in_a_simulated_quote_refuses_to_verify() {
    let pki = pki();
    let enclave = SimulatedEnclave::of_binary(machine(&pki, 1, SimulatedTcb::UpToDate), BINARY);
    let evidence = quote(&enclave, 5);
    let collateral = pki.collateral(&terms()).expect("succeeds");
    let policy = QuotePolicy::up_to_date();
    let Evidence::Dcap(bytes) = &evidence else { panic!("a DCAP quote") };
    let accepted: Vec<usize> = (0..bytes.len())
        .filter(|i| verify_at(&pki, &flip(&evidence, *i), &collateral, NOW, &policy).is_ok())
        .collect();
    assert!(accepted.is_empty(), "flipping bytes {accepted:?} still verified");
}

#[test]
fn simulated_evidence_refuses_to_verify_outside_its_collaterals_validity() {
    let pki = pki();
    let evidence =
        quote(&SimulatedEnclave::of_binary(machine(&pki, 1, SimulatedTcb::UpToDate), BINARY), 1);
    let collateral = pki.collateral(&terms()).expect("succeeds");
    let policy = QuotePolicy::up_to_date();
    assert!(verify_at(&pki, &evidence, &collateral, ISSUED + 29 * DAY, &policy).is_ok());
    for now in [ISSUED + 31 * DAY, ISSUED - DAY] {
        let result = verify_at(&pki, &evidence, &collateral, now, &policy);
        assert!(matches!(result, Err(TeeError::Unverified(_))), "at {now}: {result:?}");
    }
    // Fresh collateral from the same PKI makes the same evidence good again.
    let renewed = pki
        .collateral(&CollateralTerms { issued_at: ISSUED + 30 * DAY, ..terms() })
        .expect("succeeds");
    assert!(verify_at(&pki, &evidence, &renewed, ISSUED + 31 * DAY, &policy).is_ok());
}

#[test]
fn a_machine_whose_pck_certificate_is_revoked_is_refused() {
    let pki = pki();
    let (good, bad) =
        (machine(&pki, 1, SimulatedTcb::UpToDate), machine(&pki, 2, SimulatedTcb::UpToDate));
    let collateral = pki
        .collateral(&CollateralTerms { revoked: vec![bad.pck_serial()], ..terms() })
        .expect("succeeds");
    let policy = QuotePolicy::up_to_date();
    let good_quote = quote(&SimulatedEnclave::of_binary(good, BINARY), 1);
    let bad_quote = quote(&SimulatedEnclave::of_binary(bad, BINARY), 1);
    assert!(verify_at(&pki, &good_quote, &collateral, NOW, &policy).is_ok());
    let result = verify_at(&pki, &bad_quote, &collateral, NOW, &policy);
    assert!(
        matches!(result, Err(TeeError::Unverified(ref e)) if e.contains("evoked")),
        "{result:?}"
    );
}

#[test]
fn platforms_are_rated_by_the_collateral_and_judged_by_the_policy() {
    let pki = pki();
    let collateral = pki.collateral(&terms()).expect("succeeds");
    let behind =
        quote(&SimulatedEnclave::of_binary(machine(&pki, 3, SimulatedTcb::OutOfDate), BINARY), 1);
    let result = verify_at(&pki, &behind, &collateral, NOW, &QuotePolicy::up_to_date());
    assert_eq!(result.expect_err("is refused"), TeeError::TcbStatus(TcbStatus::OutOfDate));

    let lenient = QuotePolicy {
        allowed_tcb: vec![TcbStatus::UpToDate, TcbStatus::OutOfDate],
        ..QuotePolicy::up_to_date()
    };
    let verified =
        verify_at(&pki, &behind, &collateral, NOW, &lenient).expect("allowed out of date");
    assert_eq!(verified.advisories, vec![SIMULATED_ADVISORY.to_string()]);

    let denying =
        QuotePolicy { denied_advisories: vec![SIMULATED_ADVISORY.into()], ..lenient.clone() };
    assert_eq!(
        verify_at(&pki, &behind, &collateral, NOW, &denying).expect_err("is refused"),
        TeeError::Advisory(SIMULATED_ADVISORY.into())
    );

    // A revoked platform, whatever the policy allows.
    let everything = QuotePolicy {
        allowed_tcb: TcbStatus::ALL.iter().map(|(_, s)| *s).collect(),
        ..QuotePolicy::up_to_date()
    };
    let revoked =
        quote(&SimulatedEnclave::of_binary(machine(&pki, 4, SimulatedTcb::Revoked), BINARY), 1);
    let result = verify_at(&pki, &revoked, &collateral, NOW, &everything);
    assert!(
        matches!(result, Err(TeeError::Unverified(ref e)) if e.contains("Revoked")),
        "{result:?}"
    );
}

#[test]
fn raising_the_minimum_tcb_evaluation_refuses_collateral_until_it_is_reissued() {
    let pki = pki();
    let evidence =
        quote(&SimulatedEnclave::of_binary(machine(&pki, 1, SimulatedTcb::UpToDate), BINARY), 1);
    let raised = QuotePolicy { min_tcb_evaluation: 4, ..QuotePolicy::up_to_date() };
    let old = pki.collateral(&terms()).expect("succeeds");
    assert_eq!(
        verify_at(&pki, &evidence, &old, NOW, &raised).expect_err("is refused"),
        TeeError::TcbEvaluation { got: 3, minimum: 4 }
    );
    let recovered =
        pki.collateral(&CollateralTerms { tcb_evaluation: 4, ..terms() }).expect("succeeds");
    assert_eq!(
        verify_at(&pki, &evidence, &recovered, NOW, &raised).expect("succeeds").tcb_evaluation,
        4
    );
}

#[test]
fn a_debug_enclave_is_refused() {
    let pki = pki();
    let enclave = SimulatedEnclave::of_binary(machine(&pki, 1, SimulatedTcb::UpToDate), BINARY)
        .in_debug_mode();
    let collateral = pki.collateral(&terms()).expect("succeeds");
    let result = verify_at(&pki, &quote(&enclave, 1), &collateral, NOW, &QuotePolicy::up_to_date());
    assert!(
        matches!(result, Err(TeeError::Unverified(ref e)) if e.contains("Debug")),
        "{result:?}"
    );
}

#[test]
fn sealing_keys_differ_per_machine_and_per_measurement() {
    let pki = pki();
    let (one, two) =
        (machine(&pki, 1, SimulatedTcb::UpToDate), machine(&pki, 2, SimulatedTcb::UpToDate));
    let v1 = SimulatedEnclave::of_binary(one.clone(), b"version 1");
    let v2 = SimulatedEnclave::of_binary(one, b"version 2");
    let elsewhere = SimulatedEnclave::of_binary(two, b"version 1");
    let key = |e: &SimulatedEnclave, p| e.sealing_key(p);
    assert_ne!(key(&v1, SealingPolicy::Measurement), key(&v2, SealingPolicy::Measurement));
    assert_ne!(key(&v1, SealingPolicy::Measurement), key(&elsewhere, SealingPolicy::Measurement));
    // Bound to the signer: the upgrade keeps the key, another machine does not get it.
    assert_eq!(key(&v1, SealingPolicy::Signer), key(&v2, SealingPolicy::Signer));
    assert_ne!(key(&v1, SealingPolicy::Signer), key(&elsewhere, SealingPolicy::Signer));
    assert_ne!(key(&v1, SealingPolicy::Signer), key(&v1, SealingPolicy::Measurement));
}

#[test]
fn only_sgx_identities_are_simulated() {
    let pki = pki();
    let tdx = EnclaveIdentity::Tdx { mr_td: [0; 48], rtmr: [[0; 48]; 4] };
    assert!(SimulatedEnclave::new(machine(&pki, 1, SimulatedTcb::UpToDate), tdx).is_err());
}
