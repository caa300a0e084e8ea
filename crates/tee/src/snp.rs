//! AMD SEV-SNP attestation reports, verified with the `sev` crate (its pure-Rust
//! cryptography) plus the checks it leaves to the caller.
//!
//! `sev` checks that AMD's root key (ARK) signs itself and the signing key (ASK), that the
//! ASK signs the chip's endorsement key certificate (VCEK), and that the VCEK signs the
//! report. This verifier adds: the VCEK certificate's validity at the consensus time (the
//! collateral's expiry), the report's bytes being exactly what was signed (`sev` verifies
//! a re-encoding of what it parsed), the report's reported TCB being the one the VCEK was
//! issued for (its bootloader, TEE, SNP and microcode SPL extensions) and its chip id the
//! VCEK's hardware id, the signature algorithm, and the guest policy — a guest that allows
//! debugging is never trusted.

use sev::certs::snp::{builtin, ca, Certificate, Chain, Verifiable};
use sev::firmware::guest::AttestationReport;
use sev::parser::ByteParser;

use crate::error::TeeError;
use crate::identity::EnclaveIdentity;
use crate::policy::{QuotePolicy, TcbStatus};
use crate::time::ConsensusTime;
use crate::verifier::{Collateral, Evidence, Verified, Verifier};

/// Where the report's signature starts (everything before it is signed).
const SIGNATURE: usize = 0x2a0;
/// The report's signature algorithm: ECDSA P-384 with SHA-384.
const ECDSA_P384_SHA384: u32 = 1;
/// AMD's VCEK extensions (under 1.3.6.1.4.1.3704.1): the SPLs of the TCB the key was issued
/// for, and the chip's hardware id.
const BOOTLOADER_SPL: &str = "1.3.6.1.4.1.3704.1.3.1";
const TEE_SPL: &str = "1.3.6.1.4.1.3704.1.3.2";
const SNP_SPL: &str = "1.3.6.1.4.1.3704.1.3.3";
const MICROCODE_SPL: &str = "1.3.6.1.4.1.3704.1.3.8";
const HARDWARE_ID: &str = "1.3.6.1.4.1.3704.1.4";

/// Verifies SEV-SNP reports against AMD's root keys.
pub struct SnpVerifier {
    chains: Vec<ca::Chain>,
}

impl SnpVerifier {
    /// Trusts AMD's ARK and ASK of the Milan, Genoa and Turin generations (as the `sev`
    /// crate ships them).
    pub fn amd() -> Result<Self, TeeError> {
        let load = |ark: Result<Certificate, std::io::Error>,
                    ask: Result<Certificate, std::io::Error>| {
            Ok::<_, TeeError>(ca::Chain {
                ark: ark
                    .map_err(|e| TeeError::Malformed { what: "AMD ARK", reason: e.to_string() })?,
                ask: ask
                    .map_err(|e| TeeError::Malformed { what: "AMD ASK", reason: e.to_string() })?,
            })
        };
        Ok(Self {
            chains: vec![
                load(builtin::milan::ark(), builtin::milan::ask())?,
                load(builtin::genoa::ark(), builtin::genoa::ask())?,
                load(builtin::turin::ark(), builtin::turin::ask())?,
            ],
        })
    }
}

impl Verifier for SnpVerifier {
    fn verify(
        &self,
        evidence: &Evidence,
        collateral: &Collateral,
        now: ConsensusTime,
        policy: &QuotePolicy,
    ) -> Result<Verified, TeeError> {
        let (Evidence::Snp(raw), Collateral::Snp { vcek }) = (evidence, collateral) else {
            return Err(TeeError::Mismatch("SEV-SNP evidence needs SEV-SNP collateral".into()));
        };
        let malformed = |what: &'static str| {
            move |e: std::io::Error| TeeError::Malformed { what, reason: e.to_string() }
        };
        let report = AttestationReport::from_bytes(raw).map_err(malformed("SEV-SNP report"))?;
        // The signature covers the bytes `sev` encodes back from what it parsed: anything it
        // does not keep would go unchecked.
        if report.to_bytes().map_err(malformed("SEV-SNP report"))?.as_slice() != raw.as_slice() {
            return Err(TeeError::Unverified("the report is not in canonical form".into()));
        }
        // The signature's r and s take 72 bytes each, of which P-384 uses 48: the rest is
        // padding the signature check never reads, and must be zero.
        let padding = [SIGNATURE + 48..SIGNATURE + 72, SIGNATURE + 120..SIGNATURE + 144];
        if padding.into_iter().any(|range| raw[range].iter().any(|b| *b != 0)) {
            return Err(TeeError::Unverified("the signature's padding is not zero".into()));
        }
        if report.sig_algo != ECDSA_P384_SHA384 {
            return Err(TeeError::Unverified(format!("signature algorithm {}", report.sig_algo)));
        }
        let certificate = Certificate::from_der(vcek).map_err(malformed("VCEK certificate"))?;
        let parsed: x509_cert::Certificate = certificate.clone().into();
        check_validity(&parsed, now)?;
        let chain = self
            .chains
            .iter()
            .map(|ca| Chain { ca: ca.clone(), vek: certificate.clone() })
            .find(|chain| chain.verify().is_ok())
            .ok_or_else(|| {
                TeeError::Unverified("the VCEK is not signed by a trusted AMD key".into())
            })?;
        (&chain, &report)
            .verify()
            .map_err(|e| TeeError::Unverified(format!("the VCEK does not sign the report: {e}")))?;
        let tcb = report.reported_tcb;
        for (oid, what, reported) in [
            (BOOTLOADER_SPL, "bootloader", tcb.bootloader),
            (TEE_SPL, "TEE", tcb.tee),
            (SNP_SPL, "SNP", tcb.snp),
            (MICROCODE_SPL, "microcode", tcb.microcode),
        ] {
            let issued = extension(&parsed, oid)?.and_then(|value| der_integer(&value));
            if issued != Some(u64::from(reported)) {
                return Err(TeeError::Unverified(format!(
                    "the report's {what} SPL {reported} is not the VCEK's {issued:?}"
                )));
            }
        }
        // The hardware id extension's value is the 64 raw bytes of the chip id.
        let hardware_id = extension(&parsed, HARDWARE_ID)?;
        if hardware_id.as_deref() != Some(&report.chip_id[..]) {
            return Err(TeeError::Unverified("the report's chip id is not the VCEK's".into()));
        }
        let verified = Verified {
            identity: EnclaveIdentity::SevSnp {
                measurement: report.measurement,
                host_data: report.host_data,
                guest_svn: report.guest_svn,
            },
            report_data: report.report_data,
            // SNP has no vendor rating of the platform: its TCB is what the VCEK certifies.
            tcb: TcbStatus::UpToDate,
            advisories: Vec::new(),
            tcb_evaluation: 0,
            platform: report.chip_id.to_vec(),
            debug: report.policy.debug_allowed(),
        };
        policy.check(&verified)?;
        Ok(verified)
    }
}

/// Refuses a certificate outside its validity at `now`.
fn check_validity(
    certificate: &x509_cert::Certificate,
    now: ConsensusTime,
) -> Result<(), TeeError> {
    let validity = &certificate.tbs_certificate.validity;
    let (from, until) = (
        validity.not_before.to_unix_duration().as_secs(),
        validity.not_after.to_unix_duration().as_secs(),
    );
    if now.unix_seconds() < from || now.unix_seconds() > until {
        return Err(TeeError::Unverified(format!(
            "the VCEK is valid from {from} to {until}, not at {}",
            now.unix_seconds()
        )));
    }
    Ok(())
}

/// The DER value of the extension `oid`, if the certificate has it.
fn extension(certificate: &x509_cert::Certificate, oid: &str) -> Result<Option<Vec<u8>>, TeeError> {
    let oid = x509_cert::der::oid::ObjectIdentifier::new(oid)
        .map_err(|e| TeeError::Malformed { what: "object identifier", reason: e.to_string() })?;
    Ok(certificate
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == oid)
        .map(|e| e.extn_value.as_bytes().to_vec()))
}

/// The content of a DER value with tag `tag` (short or long form length).
fn der_content(value: &[u8], tag: u8) -> Option<&[u8]> {
    let (&found, rest) = value.split_first()?;
    let (&first, rest) = rest.split_first()?;
    if found != tag {
        return None;
    }
    let (length, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let bytes = usize::from(first & 0x7f);
        if bytes == 0 || bytes > 2 || rest.len() < bytes {
            return None;
        }
        let length = rest[..bytes].iter().fold(0usize, |n, b| (n << 8) | usize::from(*b));
        (length, &rest[bytes..])
    };
    (rest.len() == length).then_some(rest)
}

/// A small non-negative DER INTEGER.
fn der_integer(value: &[u8]) -> Option<u64> {
    let content = der_content(value, 0x02)?;
    if content.is_empty() || content.len() > 8 || content[0] & 0x80 != 0 {
        return None;
    }
    Some(content.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b)))
}
