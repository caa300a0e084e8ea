//! The chain context: which chain a signature belongs to.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::Hash;

/// The hash of a chain's canonical genesis document.
///
/// Every signature covers it, so nothing signed for one chain (a testnet, a fork, an old
/// genesis) verifies on another.
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
#[serde(transparent)]
pub struct ChainContext(Hash);

impl ChainContext {
    /// The context of the chain whose canonical genesis document encodes to `genesis`.
    pub fn from_genesis_document(genesis: &[u8]) -> Self {
        Self(Hash::digest(genesis))
    }

    /// Wraps a known chain-context hash.
    pub const fn from_hash(hash: Hash) -> Self {
        Self(hash)
    }

    /// The hash itself.
    pub const fn hash(&self) -> &Hash {
        &self.0
    }
}

impl std::fmt::Display for ChainContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}
