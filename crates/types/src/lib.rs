//! Atoll's basic vocabulary: the values every other crate hashes, signs, stores and sends.
//!
//! Everything that is hashed or signed has one canonical binary encoding, borsh
//! ([`encoding`]); JSON (serde) appears only at the API edge, where byte strings are hex,
//! addresses are bech32 and amounts are decimal strings of base units.

mod address;
mod amount;
mod bytes;
mod chain;
pub mod encoding;
#[cfg(feature = "fuzz")]
pub mod fuzz;
mod hash;
pub mod hex_serde;
mod ids;
mod keys;
#[cfg(feature = "openapi")]
mod openapi;
pub mod runtime_message;
mod signed;

pub use address::{Address, AddressContext, AddressError, ADDRESS_HRP};
pub use amount::{Amount, AmountError, MAX_DECIMAL_EXPONENT};
pub use bytes::HexError;
pub use chain::ChainContext;
pub use encoding::{decode, encode, DecodeError};
pub use hash::Hash;
pub use ids::{Epoch, Height, Round, RuntimeId};
pub use keys::{PublicKey, Signature, SignatureError, Signer};
pub use runtime_message::{IncomingMessage, MessageResult, RuntimeMessage};
pub use signed::{
    signing_digest, MultiSigned, OpenError, Opened, Signable, SignatureContext, Signed,
    SignerEntry, MAX_MULTI_SIGNERS,
};
