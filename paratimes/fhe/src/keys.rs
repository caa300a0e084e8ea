//! Key sets. A contract's key holder (its owner, or an auditor they name) generates a client
//! key and a compressed key set — the compact public key users encrypt to and the compressed
//! server key compute nodes evaluate with — from a 32-byte seed. The client key never leaves
//! its holder. The key set is content-addressed: its id is the SHA-256 of its encoding, the
//! only thing about it the chain needs besides the (small) public key.

use atoll_types::Hash;
use tfhe::core_crypto::prelude::NormalizedHammingWeightBound;
use tfhe::xof_key_set::CompressedXofKeySet;
pub use tfhe::ClientKey;
use tfhe::{CompactPublicKey, ServerKey, Tag};

use crate::codec::{decode, decode_conformant, encode};
use crate::params::{config, public_key_parameters, MAX_KEY_SET_BYTES, MAX_PUBLIC_KEY_BYTES};
use crate::FheError;

/// Security level of the key generation's public seed, in bits.
const SECURITY_BITS: u32 = 128;
/// Bound on the secret keys' Hamming weight (tfhe's recommended value).
const MAX_HAMMING_WEIGHT: f64 = 0.8;
/// Largest serialized client key accepted from a file.
const MAX_CLIENT_KEY_BYTES: u64 = 1 << 20;

/// The content address of a key set: SHA-256 of its encoding.
pub fn key_set_id(encoded: &[u8]) -> Hash {
    Hash::digest(encoded)
}

/// A freshly generated key set: the holder's client key and the public key material.
pub struct Generated {
    /// The secret key: decrypts everything encrypted to this key set.
    pub client: ClientKey,
    /// The compressed key set, encoded (what compute nodes fetch by [`key_set_id`]).
    pub key_set: Vec<u8>,
    /// The compact public key, encoded (stored on chain with the contract).
    pub public_key: Vec<u8>,
}

/// Generates a key set from `seed` (32 bytes from the OS for a real key; the same seed
/// gives the same keys, which the known-answer test relies on).
pub fn generate(seed: [u8; 32]) -> Result<Generated, FheError> {
    let bound = NormalizedHammingWeightBound::new(MAX_HAMMING_WEIGHT)
        .ok_or_else(|| FheError::Keys("Hamming weight bound".into()))?;
    let (client, compressed) = CompressedXofKeySet::generate(
        config(),
        seed.to_vec(),
        SECURITY_BITS,
        bound,
        Tag::default(),
    )
    .map_err(|e| FheError::Keys(e.to_string()))?;
    let key_set = encode(&compressed, MAX_KEY_SET_BYTES)?;
    // Only the public key: the holder never evaluates, so the server key stays compressed.
    let public: CompactPublicKey = compressed.decompress_parts();
    let public_key = encode(&public, MAX_PUBLIC_KEY_BYTES)?;
    Ok(Generated { client, key_set, public_key })
}

/// The evaluation keys of a key set, decompressed: what a worker computes with.
pub struct Evaluation {
    /// The key set's id.
    pub id: Hash,
    /// The public key users encrypt inputs to.
    pub public: CompactPublicKey,
    /// The server key (about 240 MB in memory).
    pub server: ServerKey,
}

impl Evaluation {
    /// Checks an encoded key set fetched from anywhere against its id and the ParaTime's
    /// parameters, and decompresses it. `public_key` (the contract's, from the chain) must be
    /// the key set's own.
    pub fn open(id: &Hash, key_set: &[u8], public_key: &[u8]) -> Result<Self, FheError> {
        if key_set_id(key_set) != *id {
            return Err(FheError::Keys(format!("key set bytes do not hash to {id}")));
        }
        Self::open_hashed(id, key_set, public_key)
    }

    /// [`Evaluation::open`] for bytes the caller already found to hash to `id`.
    pub fn open_hashed(id: &Hash, key_set: &[u8], public_key: &[u8]) -> Result<Self, FheError> {
        let compressed: CompressedXofKeySet =
            decode_conformant(key_set, MAX_KEY_SET_BYTES, &config())?;
        let (public, server) = compressed.decompress().into_raw_parts();
        if encode(&public, MAX_PUBLIC_KEY_BYTES)? != public_key {
            return Err(FheError::Keys("the contract's public key is not the key set's".into()));
        }
        Ok(Self { id: *id, public, server })
    }
}

/// Decodes a compact public key from outside, checked against the parameter set.
pub fn decode_public_key(bytes: &[u8]) -> Result<CompactPublicKey, FheError> {
    decode_conformant(bytes, MAX_PUBLIC_KEY_BYTES, &public_key_parameters())
}

/// Encodes a client key (for the holder's key file).
pub fn encode_client_key(client: &ClientKey) -> Result<Vec<u8>, FheError> {
    encode(client, MAX_CLIENT_KEY_BYTES)
}

/// Decodes a client key from the holder's key file.
pub fn decode_client_key(bytes: &[u8]) -> Result<ClientKey, FheError> {
    decode(bytes, MAX_CLIENT_KEY_BYTES)
}
