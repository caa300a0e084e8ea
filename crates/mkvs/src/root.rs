//! Versioned roots: which tree, which version, what hash.

use atoll_types::{Hash, RuntimeId};
use borsh::{BorshDeserialize, BorshSerialize};

/// The namespace of the consensus layer's own state (ParaTimes use their runtime id).
pub const CONSENSUS_NAMESPACE: RuntimeId = RuntimeId::from_bytes([0u8; 32]);

/// Which of a namespace's trees a root belongs to.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, BorshSerialize, BorshDeserialize,
)]
#[borsh(use_discriminant = true)]
#[repr(u8)]
pub enum RootKind {
    /// Persistent state, carried from version to version.
    State = 0,
    /// One round's inputs and outputs, keyed by transaction hash.
    Io = 1,
}

/// A committed tree: namespace, kind, version and root hash.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, BorshSerialize, BorshDeserialize)]
pub struct Root {
    /// Whose tree (a runtime id, or [`CONSENSUS_NAMESPACE`]).
    pub namespace: RuntimeId,
    /// State or I/O.
    pub kind: RootKind,
    /// The version (consensus height or runtime round).
    pub version: u64,
    /// The Merkle root hash; [`Hash::ZERO`] for an empty tree.
    pub hash: Hash,
}
