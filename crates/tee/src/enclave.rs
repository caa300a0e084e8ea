//! The enclave side: what code runs, the evidence it produces about itself, and the keys
//! only it can derive.

use crate::error::TeeError;
use crate::identity::EnclaveIdentity;
use crate::verifier::Evidence;

/// What a sealing key is bound to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SealingPolicy {
    /// Only this exact code (the same measurement) on this machine can derive the key.
    Measurement,
    /// Any code from the same signer and product (later versions included) on this machine
    /// can derive the key: what survives an upgrade.
    Signer,
}

/// An enclave: code whose identity its platform measures and attests.
pub trait Enclave {
    /// The identity its evidence proves.
    fn identity(&self) -> EnclaveIdentity;

    /// Evidence that this enclave, on its platform, bound `report_data` (a hash of its
    /// runtime attestation key and a fresh nonce, when it registers).
    fn attest(&self, report_data: &[u8; 64]) -> Result<Evidence, TeeError>;

    /// A key only this enclave (under `policy`) on this machine can derive: what it
    /// encrypts its persistent secrets with.
    fn sealing_key(&self, policy: SealingPolicy) -> [u8; 32];
}
