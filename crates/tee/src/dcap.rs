//! Intel DCAP quotes — SGX enclaves and TDX trust domains — verified offline with
//! `dcap-qvl` (its pure-Rust cryptography): the quote's signature by the attestation key,
//! the quoting enclave's report and identity, the PCK certificate chain up to the trusted
//! root and its revocation lists, and the TCB info, all at the given time.

use dcap_qvl::configs::RustCryptoConfig;
use dcap_qvl::quote::{Quote, Report};
use dcap_qvl::verify::QuoteVerifier;
use pem::{EncodeConfig, LineEnding};

use crate::error::TeeError;
use crate::identity::EnclaveIdentity;
use crate::policy::QuotePolicy;
use crate::time::ConsensusTime;
use crate::verifier::{Collateral, Evidence, Verified, Verifier};

/// The SGX `DEBUG` attribute bit (in the first byte of the enclave's attributes).
const SGX_DEBUG: u8 = 0x02;
/// The TDX `DEBUG` attribute bit (in the first byte of the trust domain's attributes).
const TDX_DEBUG: u8 = 0x01;

/// Intel's SGX Root CA certificate (DER), which every production quote chains to (SHA-256
/// fingerprint 44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3).
pub const INTEL_SGX_ROOT_CA: &[u8] = include_bytes!("intel_sgx_root_ca.der");

/// Verifies DCAP quotes against one trusted root certificate.
pub struct DcapVerifier {
    root: Vec<u8>,
}

impl DcapVerifier {
    /// Trusts Intel's SGX root CA (the one production quotes chain to).
    pub fn intel() -> Self {
        Self::with_root(INTEL_SGX_ROOT_CA.to_vec())
    }

    /// Trusts the root certificate `root_der` (DER) instead of Intel's.
    pub fn with_root(root_der: Vec<u8>) -> Self {
        Self { root: root_der }
    }

    fn quote_verifier(&self) -> QuoteVerifier<RustCryptoConfig> {
        QuoteVerifier::new(self.root.clone()).with_config::<RustCryptoConfig>()
    }
}

impl Verifier for DcapVerifier {
    fn verify(
        &self,
        evidence: &Evidence,
        collateral: &Collateral,
        now: ConsensusTime,
        policy: &QuotePolicy,
    ) -> Result<Verified, TeeError> {
        let (Evidence::Dcap(quote), Collateral::Dcap(collateral)) = (evidence, collateral) else {
            return Err(TeeError::Mismatch("DCAP evidence needs DCAP collateral".into()));
        };
        check_canonical(quote, &self.root)?;
        let report = self
            .quote_verifier()
            .verify(quote, collateral, now.unix_seconds())
            .map_err(|e| TeeError::Unverified(format!("{e:#}")))?;
        let (identity, report_data, debug) = match &report.report {
            Report::SgxEnclave(enclave) => (
                EnclaveIdentity::Sgx {
                    mr_enclave: enclave.mr_enclave,
                    mr_signer: enclave.mr_signer,
                    product_id: enclave.isv_prod_id,
                    svn: enclave.isv_svn,
                },
                enclave.report_data,
                enclave.attributes[0] & SGX_DEBUG != 0,
            ),
            other => {
                let td = other.as_td10().ok_or_else(|| {
                    TeeError::Mismatch("a quote of neither an SGX enclave nor a TDX domain".into())
                })?;
                (
                    EnclaveIdentity::Tdx {
                        mr_td: td.mr_td,
                        rtmr: [td.rt_mr0, td.rt_mr1, td.rt_mr2, td.rt_mr3],
                    },
                    td.report_data,
                    td.td_attributes[0] & TDX_DEBUG != 0,
                )
            }
        };
        let verified = Verified {
            identity,
            report_data,
            tcb: report.status.parse()?,
            advisories: report.advisory_ids,
            tcb_evaluation: tcb_evaluation(&collateral.tcb_info)?,
            platform: report.ppid,
            debug,
        };
        policy.check(&verified)?;
        Ok(verified)
    }
}

fn trim_zeros(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().rposition(|b| *b != 0).map_or(0, |last| last + 1);
    &bytes[..end]
}

/// Refuses a quote whose signature data's length or certification data type is not what
/// its contents are, whose certificate chain is not exactly the canonical PEM of its
/// certificates (LF line endings, 64-character lines), is followed by anything but zero
/// padding, or does not close with the trusted root.
fn check_canonical(quote: &[u8], root_der: &[u8]) -> Result<(), TeeError> {
    let malformed = |reason: String| TeeError::Malformed { what: "DCAP quote", reason };
    let parsed = Quote::parse(quote).map_err(|e| malformed(format!("{e:#}")))?;
    let chain = parsed.raw_cert_chain().map_err(|e| malformed(format!("{e:#}")))?;
    // The signed part, then the length of the signature data, then that many bytes, ending
    // with the certificate chain; quote buffers may carry zero padding after it (the TDX
    // sample has 71 bytes of it), nothing else.
    let signed = parsed.signed_length();
    let length = quote
        .get(signed..signed.saturating_add(4))
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(|b| u32::from_le_bytes(b) as usize)
        .ok_or_else(|| malformed("no signature data".into()))?;
    let end = signed.saturating_add(4).saturating_add(length);
    if end > quote.len() || quote[end..].iter().any(|b| *b != 0) {
        return Err(TeeError::Unverified("the signature data's length is not the quote's".into()));
    }
    if !quote[..end].ends_with(chain) {
        return Err(TeeError::Unverified(
            "the certificate chain does not end the quote's signature data".into(),
        ));
    }
    // From version 4 the certification data is the quoting enclave's report (type 6),
    // which holds the certificate chain (type 5); the verification reads it as such
    // whatever the type says.
    const SIGNATURE_AND_KEY: usize = 128;
    const QE_REPORT_CERTIFICATION_DATA: [u8; 2] = 6u16.to_le_bytes();
    let outer_type = signed + 4 + SIGNATURE_AND_KEY;
    if parsed.header.version >= 4
        && quote.get(outer_type..outer_type + 2) != Some(&QE_REPORT_CERTIFICATION_DATA[..])
    {
        return Err(TeeError::Unverified("certification data of an unexpected type".into()));
    }
    let text = trim_zeros(chain);
    let certificates = pem::parse_many(text).map_err(|e| malformed(e.to_string()))?;
    let config = EncodeConfig::new().set_line_ending(LineEnding::LF);
    let canonical: String = certificates.iter().map(|c| pem::encode_config(c, config)).collect();
    if canonical.as_bytes() != text {
        return Err(TeeError::Unverified(
            "the quote's certificate chain is not in canonical PEM form".into(),
        ));
    }
    if certificates.last().map(|c| c.contents()) != Some(root_der) {
        return Err(TeeError::Unverified(
            "the quote's certificate chain does not end with the trusted root".into(),
        ));
    }
    Ok(())
}

/// The `tcbEvaluationDataNumber` of a TCB info document (whose signature the verification
/// above checked).
fn tcb_evaluation(tcb_info: &str) -> Result<u32, TeeError> {
    let malformed = |reason: String| TeeError::Malformed { what: "TCB info", reason };
    let document: serde_json::Value =
        serde_json::from_str(tcb_info).map_err(|e| malformed(e.to_string()))?;
    document["tcbEvaluationDataNumber"]
        .as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| malformed("no tcbEvaluationDataNumber".into()))
}
