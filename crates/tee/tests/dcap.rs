//! Real Intel quotes (an SGX enclave's and a TDX domain's, with the collateral Intel's PCCS
//! served for them; `testdata/dcap/README.md`) through the DCAP verifier: they verify at a
//! time their collateral is valid, and every attack on them is refused — tampering, time
//! outside the collateral's validity, a policy they do not meet.

use atoll_tee::{
    Collateral, ConsensusTime, DcapVerifier, EnclaveIdentity, Evidence, QuotePolicy, TcbStatus,
    TeeError, Verifier,
};

/// 2025-07-01T00:00:00Z: inside both samples' collateral validity (2025-06-19 to 07-19).
const PINNED: u64 = 1_751_328_000;
const DAY: u64 = 86_400;

struct Sample {
    quote: Vec<u8>,
    collateral: Collateral,
}

fn sample(name: &str) -> Sample {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/dcap");
    let quote = std::fs::read(dir.join(name)).expect("sample quote");
    let json = std::fs::read(dir.join(format!("{name}_collateral.json"))).expect("collateral");
    Sample { quote, collateral: Collateral::dcap_json(&json).expect("collateral parses") }
}

fn at(seconds: u64) -> ConsensusTime {
    ConsensusTime::of_block(1, seconds)
}

/// Every status but `Revoked`: what is left to test is the evidence itself.
fn any_status() -> QuotePolicy {
    QuotePolicy {
        allowed_tcb: TcbStatus::ALL.iter().map(|(_, s)| *s).collect(),
        ..QuotePolicy::up_to_date()
    }
}

fn verify(sample: &Sample, quote: &[u8], now: u64, policy: &QuotePolicy) -> Result<(), TeeError> {
    DcapVerifier::intel()
        .verify(&Evidence::Dcap(quote.to_vec()), &sample.collateral, at(now), policy)
        .map(|_| ())
}

#[test]
fn intel_sgx_and_tdx_sample_quotes_verify_while_their_collateral_is_valid() {
    let sgx = sample("sgx_quote");
    let verified = DcapVerifier::intel()
        .verify(&Evidence::Dcap(sgx.quote.clone()), &sgx.collateral, at(PINNED), &any_status())
        .expect("the SGX sample verifies");
    assert!(matches!(verified.identity, EnclaveIdentity::Sgx { .. }));
    assert_eq!(verified.tcb, TcbStatus::ConfigurationAndSwHardeningNeeded);
    assert!(verified.advisories.iter().any(|a| a == "INTEL-SA-00615"), "{verified:?}");
    assert_eq!(verified.tcb_evaluation, 17);
    assert!(!verified.debug);

    let tdx = sample("tdx_quote");
    let verified = DcapVerifier::intel()
        .verify(&Evidence::Dcap(tdx.quote.clone()), &tdx.collateral, at(PINNED), &any_status())
        .expect("the TDX sample verifies");
    let EnclaveIdentity::Tdx { mr_td, .. } = verified.identity else {
        panic!("a TDX identity: {verified:?}")
    };
    assert_ne!(mr_td, [0; 48]);
    assert!(!verified.debug);
}

#[test]
fn a_flipped_byte_anywhere_in_a_sample_quote_refuses_to_verify() {
    for name in ["sgx_quote", "tdx_quote"] {
        let sample = sample(name);
        let mut accepted = Vec::new();
        for position in 0..sample.quote.len() {
            let mut tampered = sample.quote.clone();
            tampered[position] ^= 0x01;
            if verify(&sample, &tampered, PINNED, &any_status()).is_ok() {
                accepted.push(position);
            }
        }
        assert!(accepted.is_empty(), "{name}: tampered at {accepted:?} and still accepted");
    }
}

#[test]
fn evidence_refuses_to_verify_outside_its_collaterals_validity() {
    for name in ["sgx_quote", "tdx_quote"] {
        let sample = sample(name);
        assert_eq!(verify(&sample, &sample.quote, PINNED, &any_status()), Ok(()));
        for (when, what) in [(PINNED + 30 * DAY, "expired"), (PINNED - 30 * DAY, "not yet issued")]
        {
            assert!(
                matches!(
                    verify(&sample, &sample.quote, when, &any_status()),
                    Err(TeeError::Unverified(_))
                ),
                "{name}: collateral {what}"
            );
        }
    }
}

#[test]
fn a_verified_quote_is_refused_by_a_policy_it_does_not_meet() {
    let sgx = sample("sgx_quote");
    assert_eq!(
        verify(&sgx, &sgx.quote, PINNED, &QuotePolicy::up_to_date()),
        Err(TeeError::TcbStatus(TcbStatus::ConfigurationAndSwHardeningNeeded))
    );
    let advisory = QuotePolicy { denied_advisories: vec!["INTEL-SA-00615".into()], ..any_status() };
    assert_eq!(
        verify(&sgx, &sgx.quote, PINNED, &advisory),
        Err(TeeError::Advisory("INTEL-SA-00615".into()))
    );
    let recovery = QuotePolicy { min_tcb_evaluation: 18, ..any_status() };
    assert_eq!(
        verify(&sgx, &sgx.quote, PINNED, &recovery),
        Err(TeeError::TcbEvaluation { got: 17, minimum: 18 })
    );
}

#[test]
fn a_production_quote_refuses_to_verify_under_another_root() {
    let sgx = sample("sgx_quote");
    let Collateral::Dcap(collateral) = &sgx.collateral else { panic!("DCAP collateral") };
    // Another real certificate of Intel's PKI (the TCB signing key's) posing as the root.
    let chain = pem::parse_many(&collateral.tcb_info_issuer_chain).expect("issuer chain");
    let other = chain.first().expect("a certificate").contents().to_vec();
    assert_ne!(other, atoll_tee::dcap::INTEL_SGX_ROOT_CA);
    let refused = DcapVerifier::with_root(other).verify(
        &Evidence::Dcap(sgx.quote.clone()),
        &sgx.collateral,
        at(PINNED),
        &any_status(),
    );
    assert!(matches!(refused, Err(TeeError::Unverified(_))), "{refused:?}");
}

#[test]
fn truncated_or_foreign_bytes_are_refused_without_a_panic() {
    let sgx = sample("sgx_quote");
    for length in [0, 1, 47, 48, 432, 436, 1000, sgx.quote.len() - 1] {
        assert!(verify(&sgx, &sgx.quote[..length], PINNED, &any_status()).is_err(), "{length}");
    }
    // The TDX quote with the SGX quote's collateral.
    let tdx = sample("tdx_quote");
    assert!(verify(&sgx, &tdx.quote, PINNED, &any_status()).is_err());
    assert!(Collateral::dcap_json(b"{\"not\": \"collateral\"}").is_err());
    let mut padded = tdx.quote.clone();
    padded.push(1);
    assert!(verify(&tdx, &padded, PINNED, &any_status()).is_err(), "a byte appended");
}
