//! Atoll's cryptographic primitives, each a thin, typed layer over a well-reviewed crate.
//!
//! - [`MemorySigner`] and [`FileSigner`]: Ed25519 signing keys ([`atoll_types::Signer`]).
//! - [`BatchVerifier`]: ZIP-215 batch verification that accepts exactly what single
//!   verification ([`atoll_types::PublicKey::verify`]) accepts.
//! - [`X25519SecretKey`] / [`X25519PublicKey`]: key agreement for confidential ParaTimes.
//! - [`SealedBox`] and [`DeoxysKey`]: Deoxys-II-256-128 authenticated encryption, with an
//!   X25519 + HKDF-SHA256 sealed box to a public key.
//! - [`derive_key`] derives keys with HKDF-SHA256.
//! - [`VrfSecretKey`] / [`VrfPublicKey`]: the schnorrkel VRF the beacon uses.

mod batch;
mod kdf;
mod sealed_box;
mod signer;
mod vrf;
mod x25519;

pub use batch::{BatchError, BatchVerifier};
pub use kdf::{derive_key, derive_key_into, KdfError, MAX_HKDF_OUTPUT};
pub use sealed_box::{DeoxysKey, SealError, SealedBox, DEOXYS_NONCE_LEN, DEOXYS_TAG_LEN};
pub use signer::{FileSigner, KeyFileError, MemorySigner};
pub use vrf::{possession_input, VrfError, VrfOutput, VrfProof, VrfPublicKey, VrfSecretKey};
pub use x25519::{X25519Error, X25519PublicKey, X25519SecretKey};
