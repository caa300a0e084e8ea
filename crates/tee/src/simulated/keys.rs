//! P-256 keys of the simulation, derived from seeds (so a PKI or a machine is rebuilt
//! exactly from its seed), and their use by rcgen to sign certificates and CRLs.

use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use sha2::{Digest, Sha256};

use crate::error::TeeError;

/// The P-256 key named `label` under `seed`.
pub(crate) fn derive(seed: &[u8; 32], label: &str) -> SigningKey {
    (0u32..)
        .find_map(|counter| {
            let digest = Sha256::new()
                .chain_update(b"atoll simulated TEE key\0")
                .chain_update(label.as_bytes())
                .chain_update([0])
                .chain_update(seed)
                .chain_update(counter.to_be_bytes())
                .finalize();
            SigningKey::from_slice(&digest).ok()
        })
        .expect("a valid scalar is found within a few tries")
}

/// The raw `r || s` signature of `message` (what DCAP structures carry).
pub(crate) fn sign_raw(key: &SigningKey, message: &[u8]) -> [u8; 64] {
    let signature: Signature = key.sign(message);
    signature.to_bytes().into()
}

/// The public key as DCAP writes it: the uncompressed point without its 0x04 prefix.
pub(crate) fn public_raw(key: &SigningKey) -> [u8; 64] {
    let point = key.verifying_key().to_sec1_point(false);
    let mut raw = [0u8; 64];
    raw.copy_from_slice(&point.as_bytes()[1..]);
    raw
}

/// A key rcgen signs certificates and CRLs with.
pub(crate) fn rcgen_key(key: &SigningKey) -> Result<rcgen::KeyPair, TeeError> {
    let public = key.verifying_key().to_sec1_point(false).as_bytes().to_vec();
    rcgen::KeyPair::from_remote(Box::new(RcgenSigner { key: key.clone(), public }))
        .map_err(|e| TeeError::Simulation(e.to_string()))
}

struct RcgenSigner {
    key: SigningKey,
    public: Vec<u8>,
}

impl rcgen::RemoteKeyPair for RcgenSigner {
    fn public_key(&self) -> &[u8] {
        &self.public
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        let signature: Signature = self.key.sign(message);
        Ok(signature.to_der().as_bytes().to_vec())
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}
