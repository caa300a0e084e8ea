//! A real AMD SEV-SNP report (Milan, with its VCEK; `testdata/snp/README.md`) through the
//! SNP verifier: it verifies while its VCEK is valid, and tampering, expiry, another chip's
//! certificate and a policy it does not meet are refused.

use atoll_tee::{
    Collateral, ConsensusTime, EnclaveIdentity, Evidence, QuotePolicy, SnpVerifier, TcbStatus,
    TeeError, Verifier,
};

/// 2025-01-01T00:00:00Z: inside the VCEK's validity (2023-04-03 to 2030-04-03).
const PINNED: u64 = 1_735_689_600;
const DAY: u64 = 86_400;

fn sample() -> (Vec<u8>, Vec<u8>) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/snp");
    let hex_report = std::fs::read_to_string(dir.join("report_milan.hex")).expect("report");
    let report = hex::decode(hex_report.trim()).expect("hex report");
    let vcek = std::fs::read(dir.join("vcek_milan.der")).expect("vcek");
    (report, vcek)
}

fn verify(
    report: &[u8],
    vcek: &[u8],
    now: u64,
    policy: &QuotePolicy,
) -> Result<atoll_tee::Verified, TeeError> {
    SnpVerifier::amd().expect("AMD roots").verify(
        &Evidence::Snp(report.to_vec()),
        &Collateral::Snp { vcek: vcek.to_vec() },
        ConsensusTime::of_block(1, now),
        policy,
    )
}

#[test]
fn the_milan_sample_report_verifies_while_its_vcek_is_valid() {
    let (report, vcek) = sample();
    let verified = verify(&report, &vcek, PINNED, &QuotePolicy::up_to_date()).expect("verifies");
    assert!(matches!(verified.identity, EnclaveIdentity::SevSnp { .. }));
    assert_eq!(verified.tcb, TcbStatus::UpToDate);
    assert_eq!(verified.platform.len(), 64);
    assert!(!verified.debug);
}

#[test]
fn the_sample_report_is_refused_once_its_vcek_expired_or_before_it_was_issued() {
    let (report, vcek) = sample();
    let expired = 1_901_404_800 + DAY; // 2030-04-03 + a day
    let issued = 1_680_549_823; // 2023-04-03T19:23:43Z
    for now in [expired, issued - DAY] {
        let result = verify(&report, &vcek, now, &QuotePolicy::up_to_date());
        assert!(matches!(result, Err(TeeError::Unverified(_))), "at {now}: {result:?}");
    }
}

#[test]
fn a_flipped_byte_anywhere_in_the_sample_report_is_refused() {
    let (report, vcek) = sample();
    let policy = QuotePolicy::up_to_date();
    let accepted: Vec<usize> = (0..report.len())
        .filter(|&i| {
            let mut flipped = report.clone();
            flipped[i] ^= 0x01;
            verify(&flipped, &vcek, PINNED, &policy).is_ok()
        })
        .collect();
    assert!(accepted.is_empty(), "flipping bytes {accepted:?} still verified");
}

#[test]
fn a_tampered_vcek_or_dcap_collateral_is_refused() {
    let (report, vcek) = sample();
    let mut tampered = vcek.clone();
    let at = tampered.len() / 2;
    tampered[at] ^= 0x01;
    assert!(verify(&report, &tampered, PINNED, &QuotePolicy::up_to_date()).is_err());
    assert!(verify(&report, &vcek[..100], PINNED, &QuotePolicy::up_to_date()).is_err());
    assert!(verify(&report[..500], &vcek, PINNED, &QuotePolicy::up_to_date()).is_err());
    let dcap = Collateral::dcap_json(
        &std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("testdata/dcap/sgx_quote_collateral.json"),
        )
        .expect("collateral"),
    )
    .expect("parses");
    let result = SnpVerifier::amd().expect("roots").verify(
        &Evidence::Snp(report),
        &dcap,
        ConsensusTime::of_block(1, PINNED),
        &QuotePolicy::up_to_date(),
    );
    assert!(matches!(result, Err(TeeError::Mismatch(_))));
}

#[test]
fn a_verified_report_is_refused_by_a_policy_it_does_not_meet() {
    let (report, vcek) = sample();
    let verified = verify(&report, &vcek, PINNED, &QuotePolicy::up_to_date()).expect("verifies");
    let denied = QuotePolicy {
        denied_platforms: vec![verified.platform.clone()],
        ..QuotePolicy::up_to_date()
    };
    assert!(matches!(verify(&report, &vcek, PINNED, &denied), Err(TeeError::Platform(_))));
    let other_only =
        QuotePolicy { allowed_platforms: vec![vec![0; 64]], ..QuotePolicy::up_to_date() };
    assert!(matches!(verify(&report, &vcek, PINNED, &other_only), Err(TeeError::Platform(_))));
}
