//! The verifiable random function of the beacon (schnorrkel's VRF over Ristretto255).
//!
//! A node proves `output = VRF(secret, alpha)` for the epoch's input `alpha`; anyone can check
//! the proof against the node's VRF public key. The output is unique per key and input, so a
//! node cannot grind it; the proof itself is randomized.

use borsh::{BorshDeserialize, BorshSerialize};
use rand_core::{CryptoRng, OsRng, RngCore};
use schnorrkel::vrf::{VRFPreOut, VRFProof};
use schnorrkel::{signing_context, ExpansionMode, Keypair, MiniSecretKey};
use serde::{Deserialize, Serialize};
use thiserror::Error;

const VRF_CONTEXT: &[u8] = b"atoll/beacon: vrf";
const VRF_OUTPUT_CONTEXT: &[u8] = b"atoll/beacon: vrf output";

/// A VRF public key.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Debug,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = String))]
pub struct VrfPublicKey(#[serde(with = "atoll_types::hex_serde::array")] pub [u8; 32]);

/// The VRF output for one input: 32 uniformly random bytes, unique per key and input.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Debug,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = String))]
pub struct VrfOutput(#[serde(with = "atoll_types::hex_serde::array")] pub [u8; 32]);

/// What a node publishes: the pre-output and the proof that it is correct.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VrfProof {
    /// The VRF pre-output point (compressed Ristretto).
    #[serde(with = "atoll_types::hex_serde::array")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub pre_output: [u8; 32],
    /// The DLEQ proof.
    #[serde(with = "atoll_types::hex_serde::array")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub proof: [u8; 64],
}

/// Why a VRF proof was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VrfError {
    /// The public key is not a valid Ristretto point.
    #[error("malformed VRF public key")]
    MalformedPublicKey,
    /// The pre-output or proof is not a valid encoding.
    #[error("malformed VRF proof")]
    MalformedProof,
    /// The proof does not verify for this key and input.
    #[error("invalid VRF proof")]
    Invalid,
}

/// A VRF secret key.
pub struct VrfSecretKey(Keypair);

impl VrfSecretKey {
    /// The key derived from a 32-byte seed.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        // A 32-byte mini secret key always parses.
        let mini = MiniSecretKey::from_bytes(&seed).expect("32 bytes is a valid mini secret key");
        Self(mini.expand_to_keypair(ExpansionMode::Ed25519))
    }

    /// A fresh key from the operating system's random source.
    pub fn generate() -> Self {
        Self::generate_with(&mut OsRng)
    }

    /// A fresh key from `rng`.
    pub fn generate_with<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        rng.fill_bytes(seed.as_mut());
        Self::from_seed(*seed)
    }

    /// The matching public key.
    pub fn public_key(&self) -> VrfPublicKey {
        VrfPublicKey(self.0.public.to_bytes())
    }

    /// Proves the VRF output for `alpha`.
    pub fn prove(&self, alpha: &[u8]) -> (VrfOutput, VrfProof) {
        let (inout, proof, _) = self.0.vrf_sign(signing_context(VRF_CONTEXT).bytes(alpha));
        let output = VrfOutput(inout.make_bytes::<[u8; 32]>(VRF_OUTPUT_CONTEXT));
        (output, VrfProof { pre_output: inout.to_preout().to_bytes(), proof: proof.to_bytes() })
    }
}

impl std::fmt::Debug for VrfSecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VrfSecretKey(public: {})", hex::encode(self.0.public.to_bytes()))
    }
}

/// What a node's VRF key proves to show its holder registered it: the node id (under its
/// own context, so no beacon proof doubles as one).
pub fn possession_input(node_id: &[u8; 32]) -> [u8; 32] {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    hasher.update(b"atoll/registry: vrf key possession");
    hasher.update(node_id);
    hasher.finalize().into()
}

impl VrfPublicKey {
    /// Checks `proof` for `alpha` and returns the output it commits to.
    pub fn verify(&self, alpha: &[u8], proof: &VrfProof) -> Result<VrfOutput, VrfError> {
        let key =
            schnorrkel::PublicKey::from_bytes(&self.0).map_err(|_| VrfError::MalformedPublicKey)?;
        let pre_output =
            VRFPreOut::from_bytes(&proof.pre_output).map_err(|_| VrfError::MalformedProof)?;
        let dleq = VRFProof::from_bytes(&proof.proof).map_err(|_| VrfError::MalformedProof)?;
        let (inout, _) = key
            .vrf_verify(signing_context(VRF_CONTEXT).bytes(alpha), &pre_output, &dleq)
            .map_err(|_| VrfError::Invalid)?;
        Ok(VrfOutput(inout.make_bytes::<[u8; 32]>(VRF_OUTPUT_CONTEXT)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proof_verifies_and_output_is_unique() {
        let key = VrfSecretKey::from_seed([7; 32]);
        let (out1, proof1) = key.prove(b"epoch 5");
        let (out2, proof2) = key.prove(b"epoch 5");
        assert_eq!(out1, out2, "output depends only on key and input");
        assert_eq!(key.public_key().verify(b"epoch 5", &proof1), Ok(out1));
        assert_eq!(key.public_key().verify(b"epoch 5", &proof2), Ok(out1));
        assert_ne!(key.prove(b"epoch 6").0, out1);
    }

    #[test]
    fn wrong_input_key_or_tampering_is_rejected() {
        let key = VrfSecretKey::from_seed([7; 32]);
        let (_, proof) = key.prove(b"epoch 5");
        assert_eq!(key.public_key().verify(b"epoch 6", &proof), Err(VrfError::Invalid));
        let other = VrfSecretKey::from_seed([8; 32]).public_key();
        assert_eq!(other.verify(b"epoch 5", &proof), Err(VrfError::Invalid));
        let mut bad = proof;
        bad.proof[5] ^= 1;
        assert!(key.public_key().verify(b"epoch 5", &bad).is_err());
        let mut bad = proof;
        bad.pre_output[0] ^= 1;
        assert!(key.public_key().verify(b"epoch 5", &bad).is_err());
        assert_eq!(
            VrfPublicKey([0xff; 32]).verify(b"epoch 5", &proof),
            Err(VrfError::MalformedPublicKey)
        );
    }
}
