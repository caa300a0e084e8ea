//! DCAP quotes in Intel's byte layout (version 3, an SGX enclave's report, ECDSA P-256
//! attestation key, the PCK certificate chain as certification data), as a quoting enclave
//! writes them.

use p256::ecdsa::SigningKey;
use sha2::{Digest, Sha256};

use super::keys::{public_raw, sign_raw};

/// Intel's quoting enclave vendor id, which quotes name and verifiers require.
const INTEL_QE_VENDOR_ID: [u8; 16] = [
    0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9, 0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07,
];
const QUOTE_VERSION: u16 = 3;
const ATTESTATION_KEY_ECDSA_P256: u16 = 2;
const TEE_TYPE_SGX: u32 = 0;
const CERTIFICATION_PCK_CHAIN: u16 = 5;

/// The SGX attribute flags: the enclave is initialized, runs in 64-bit mode, may be
/// debugged (its memory readable by the host), holds the provisioning key.
pub(crate) const ATTRIBUTE_INIT: u8 = 0x01;
pub(crate) const ATTRIBUTE_DEBUG: u8 = 0x02;
pub(crate) const ATTRIBUTE_MODE64: u8 = 0x04;
pub(crate) const ATTRIBUTE_PROVISION_KEY: u8 = 0x10;

/// The fields of an SGX report (the 384 bytes a REPORT instruction writes) that vary.
pub(crate) struct ReportFields {
    pub cpu_svn: [u8; 16],
    pub attributes: u8,
    pub mr_enclave: [u8; 32],
    pub mr_signer: [u8; 32],
    pub product_id: u16,
    pub svn: u16,
    pub report_data: [u8; 64],
}

impl ReportFields {
    /// The report's bytes.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(384);
        out.extend_from_slice(&self.cpu_svn);
        out.extend_from_slice(&0u32.to_le_bytes()); // MISCSELECT
        out.extend_from_slice(&[0; 28]);
        let mut attributes = [0u8; 16];
        attributes[0] = self.attributes;
        attributes[8] = 0x03; // XFRM: x87 and SSE state
        out.extend_from_slice(&attributes);
        out.extend_from_slice(&self.mr_enclave);
        out.extend_from_slice(&[0; 32]);
        out.extend_from_slice(&self.mr_signer);
        out.extend_from_slice(&[0; 96]);
        out.extend_from_slice(&self.product_id.to_le_bytes());
        out.extend_from_slice(&self.svn.to_le_bytes());
        out.extend_from_slice(&[0; 60]);
        out.extend_from_slice(&self.report_data);
        debug_assert_eq!(out.len(), 384);
        out
    }
}

/// What the quoting enclave of a machine signs with and states about itself.
pub(crate) struct QuotingEnclave<'a> {
    pub report: ReportFields,
    pub pce_svn: u16,
    pub attestation_key: &'a SigningKey,
    pub pck_key: &'a SigningKey,
    /// The PEM chain: PCK certificate, its CA, the root.
    pub pck_chain: &'a str,
}

/// The quote of `enclave`'s report by the quoting enclave `qe`.
pub(crate) fn sgx_quote(enclave: &ReportFields, qe: QuotingEnclave<'_>) -> Vec<u8> {
    let mut quote = Vec::with_capacity(4096);
    quote.extend_from_slice(&QUOTE_VERSION.to_le_bytes());
    quote.extend_from_slice(&ATTESTATION_KEY_ECDSA_P256.to_le_bytes());
    quote.extend_from_slice(&TEE_TYPE_SGX.to_le_bytes());
    quote.extend_from_slice(&qe.report.svn.to_le_bytes());
    quote.extend_from_slice(&qe.pce_svn.to_le_bytes());
    quote.extend_from_slice(&INTEL_QE_VENDOR_ID);
    quote.extend_from_slice(&[0; 20]);
    quote.extend_from_slice(&enclave.encode());

    let attestation_key = public_raw(qe.attestation_key);
    let signature = sign_raw(qe.attestation_key, &quote);
    // The quoting enclave's report binds the attestation key (and its authentication
    // data) and is signed by the platform's PCK key.
    let auth_data = [0u8; 32];
    let mut qe_report = qe.report;
    qe_report.report_data = [0; 64];
    qe_report.report_data[..32].copy_from_slice(
        &Sha256::new().chain_update(attestation_key).chain_update(auth_data).finalize(),
    );
    let qe_report = qe_report.encode();
    let qe_signature = sign_raw(qe.pck_key, &qe_report);

    let mut signature_data = Vec::with_capacity(1024 + qe.pck_chain.len());
    signature_data.extend_from_slice(&signature);
    signature_data.extend_from_slice(&attestation_key);
    signature_data.extend_from_slice(&qe_report);
    signature_data.extend_from_slice(&qe_signature);
    signature_data.extend_from_slice(&(auth_data.len() as u16).to_le_bytes());
    signature_data.extend_from_slice(&auth_data);
    signature_data.extend_from_slice(&CERTIFICATION_PCK_CHAIN.to_le_bytes());
    signature_data.extend_from_slice(&(qe.pck_chain.len() as u32).to_le_bytes());
    signature_data.extend_from_slice(qe.pck_chain.as_bytes());

    quote.extend_from_slice(&(signature_data.len() as u32).to_le_bytes());
    quote.extend_from_slice(&signature_data);
    quote
}
