//! Ed25519 public keys and signatures, verified with ZIP-215 rules.
//!
//! Verification uses `ed25519-consensus`, the verifier Malachite uses, so that every node
//! (and the batch verifier in `atoll-crypto`) accepts exactly the same signatures.

use borsh::{BorshDeserialize, BorshSerialize};
use thiserror::Error;

use crate::bytes::hex_bytes_newtype;

/// An Ed25519 public key (32 bytes, compressed Edwards point).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize)]
pub struct PublicKey([u8; 32]);

hex_bytes_newtype!(PublicKey, 32);

/// An Ed25519 signature (64 bytes: `R || s`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize)]
pub struct Signature([u8; 64]);

hex_bytes_newtype!(Signature, 64);

/// Why a signature did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum SignatureError {
    /// The public key bytes are not a valid curve point encoding.
    #[error("malformed public key")]
    MalformedPublicKey,
    /// The signature is well-formed but does not match the key and message (or `s` is not
    /// a canonical scalar).
    #[error("invalid signature")]
    Invalid,
}

impl PublicKey {
    /// Verifies `signature` over `message` under ZIP-215 rules.
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), SignatureError> {
        let key = ed25519_consensus::VerificationKey::try_from(self.0)
            .map_err(|_| SignatureError::MalformedPublicKey)?;
        key.verify(&ed25519_consensus::Signature::from(signature.0), message)
            .map_err(|_| SignatureError::Invalid)
    }

    /// Whether this is a small-order point (or does not decode). Under ZIP-215 such a key
    /// "signs" many messages with signatures anyone can forge, so no registered identity may
    /// be one. Tested exactly that way: the forged signature `(R = identity, s = 0)` verifies
    /// under `A` iff `[8][k]A` is the identity, i.e. iff `A`'s order divides 8.
    pub fn is_small_order(&self) -> bool {
        let mut forged = [0u8; 64];
        forged[0] = 1;
        self.verify(b"atoll/types: small-order probe", &Signature(forged)).is_ok()
            || ed25519_consensus::VerificationKey::try_from(self.0).is_err()
    }
}

/// Something that signs with an Ed25519 key: an in-memory key, a key file, later a remote
/// signer or an enclave.
pub trait Signer {
    /// The public key matching the signatures this signer produces.
    fn public_key(&self) -> PublicKey;

    /// Signs `message` as is. Protocol code signs through [`crate::Signed`] or
    /// [`crate::signing_digest`] instead, which add the domain separation.
    fn sign_raw(&self, message: &[u8]) -> Signature;
}
