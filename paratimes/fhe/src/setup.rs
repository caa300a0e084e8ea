//! The ParaTime's proof setup: the common reference string (CRS) users prove their inputs'
//! well-formedness against and workers verify with. One per ParaTime, content-addressed like
//! a key set: its id (SHA-256 of its encoding) is written into the ParaTime's state at
//! genesis, so a worker holding another setup computes another state root and is outvoted.
//!
//! A production setup comes from a ceremony (or tfhe's own generator run by a trusted
//! party) and is handed to every node as a file. The devnet derives one from a public seed
//! ([`ProofSetup::insecure_from_seed`]): anyone who knows how it was made can forge proofs,
//! so it is for testing only and is labelled so wherever it is used.

use atoll_types::Hash;
use rand_core::{impls, RngCore};
use sha2::{Digest, Sha256};
use tfhe::core_crypto::prelude::LweCiphertextCount;
use tfhe::zk::{CompactPkeCrs, ZkMSBZeroPaddingBitCount};

use crate::cipher::{decode_crs, encode_crs};
use crate::params::{public_key_parameters, MAX_PROVEN_BITS};
use crate::FheError;

/// A decoded proof setup and its id.
pub struct ProofSetup {
    /// SHA-256 of its encoding.
    pub id: Hash,
    /// The CRS.
    pub crs: CompactPkeCrs,
    /// Whether it was derived from a public seed (devnet only).
    pub insecure: bool,
}

impl ProofSetup {
    /// Decodes a setup from its file (size-limited).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, FheError> {
        let crs = decode_crs(bytes)?;
        Ok(Self { id: Hash::digest(bytes), crs, insecure: false })
    }

    /// The encoding (what a setup file holds).
    pub fn to_bytes(&self) -> Result<Vec<u8>, FheError> {
        encode_crs(&self.crs)
    }

    /// **Insecure**: a setup derived from `seed`, the same on every machine, for devnets and
    /// tests. Whoever knows the seed knows the setup's trapdoor and can forge input proofs.
    pub fn insecure_from_seed(seed: &[u8]) -> Result<Self, FheError> {
        let p = public_key_parameters();
        // The sizes tfhe's `CompactPkeCrs::from_config` derives for packed proofs of up to
        // MAX_PROVEN_BITS bits: each message carries log2(message × carry) bits, and the
        // plaintext modulus counts the padding bit.
        let modulus = p.message_modulus.0 * p.carry_modulus.0;
        let messages = MAX_PROVEN_BITS.div_ceil(modulus.ilog2() as usize);
        let crs = CompactPkeCrs::new(
            p.encryption_lwe_dimension,
            LweCiphertextCount(messages),
            p.encryption_noise_distribution,
            p.ciphertext_modulus,
            modulus * 2,
            ZkMSBZeroPaddingBitCount(1),
            &mut SeededStream::new(seed),
        )
        .map_err(|e| FheError::Keys(format!("proof setup: {e}")))?;
        let bytes = encode_crs(&crs)?;
        Ok(Self { id: Hash::digest(&bytes), crs, insecure: true })
    }
}

/// SHA-256 in counter mode over a seed: a deterministic byte stream, so the devnet's setup
/// is the same wherever it is derived. Not a secret: see [`ProofSetup::insecure_from_seed`].
struct SeededStream {
    seed: [u8; 32],
    counter: u64,
    block: [u8; 32],
    used: usize,
}

impl SeededStream {
    fn new(seed: &[u8]) -> Self {
        let seed =
            Sha256::new().chain_update(b"atoll/fhe: insecure proof setup").chain_update(seed);
        Self { seed: seed.finalize().into(), counter: 0, block: [0; 32], used: 32 }
    }
}

impl RngCore for SeededStream {
    fn next_u32(&mut self) -> u32 {
        impls::next_u32_via_fill(self)
    }

    fn next_u64(&mut self) -> u64 {
        impls::next_u64_via_fill(self)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for byte in dest {
            if self.used == self.block.len() {
                self.block = Sha256::new()
                    .chain_update(self.seed)
                    .chain_update(self.counter.to_le_bytes())
                    .finalize()
                    .into();
                self.counter += 1;
                self.used = 0;
            }
            *byte = self.block[self.used];
            self.used += 1;
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_depends_on_the_seed_only() {
        let take = |seed: &[u8]| {
            let mut out = [0u8; 80];
            SeededStream::new(seed).fill_bytes(&mut out);
            out
        };
        assert_eq!(take(b"a"), take(b"a"));
        assert_ne!(take(b"a"), take(b"b"));
        let mut split = SeededStream::new(b"a");
        let (mut x, mut y) = ([0u8; 33], [0u8; 47]);
        split.fill_bytes(&mut x);
        split.fill_bytes(&mut y);
        assert_eq!([x.as_slice(), y.as_slice()].concat(), take(b"a"));
    }
}
