//! The one TFHE parameter set of the FHE ParaTime, and the size limits every decoder of its
//! keys, ciphertexts and proofs applies before allocating.
//!
//! Computation uses tfhe's default 2-bit message / 2-bit carry blocks with TUniform noise
//! (failure probability 2^-128); users encrypt with a dedicated compact public key whose
//! ciphertexts are key-switched into the computation parameters when a worker expands them.
//! Changing any of this changes every ciphertext: it is part of the ParaTime's consensus, like
//! the tfhe version itself.

use tfhe::shortint::parameters::{
    CompactPublicKeyEncryptionParameters, PARAM_KEYSWITCH_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128,
    PARAM_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128,
    PARAM_PKE_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128,
};
use tfhe::{Config, ConfigBuilder};

/// The tfhe version this ParaTime's ciphertexts are computed with (pinned exactly).
pub const TFHE_VERSION: &str = "1.8.2";

/// Largest serialized compressed key set (public key + compressed server key) accepted: the
/// parameter set's is 60.3 MB.
pub const MAX_KEY_SET_BYTES: u64 = 64 << 20;
/// Largest decompressed server key held in memory (the parameter set's is 241 MB).
pub const MAX_SERVER_KEY_BYTES: u64 = 256 << 20;
/// Largest compact public key accepted (the parameter set's is 33 KB).
pub const MAX_PUBLIC_KEY_BYTES: u64 = 64 << 10;
/// Largest proof setup (CRS) accepted (the parameter set's is 3.4 MB).
pub const MAX_CRS_BYTES: u64 = 8 << 20;
/// Largest proven input list accepted in a transaction (one encrypted 64-bit value with its
/// proof is 19 KB; four of them fit).
pub const MAX_INPUT_BYTES: u64 = 128 << 10;
/// Largest stored ciphertext (a 64-bit value is 0.5 MB uncompressed).
pub const MAX_CIPHERTEXT_BYTES: u64 = 1 << 20;
/// Most plaintext bits one proof can cover (the CRS is built for this many).
pub const MAX_PROVEN_BITS: usize = 256;

/// The tfhe configuration: computation parameters and the dedicated public-key encryption
/// parameters with their key-switch.
pub fn config() -> Config {
    ConfigBuilder::with_custom_parameters(PARAM_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128)
        .use_dedicated_compact_public_key_parameters((
            PARAM_PKE_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128,
            PARAM_KEYSWITCH_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128,
        ))
        .build()
}

/// The public-key encryption parameters (what a proven input list must conform to).
pub fn public_key_parameters() -> CompactPublicKeyEncryptionParameters {
    PARAM_PKE_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128
}
