//! The time evidence is judged at.

use borsh::{BorshDeserialize, BorshSerialize};

/// The time of a verified consensus block: the only clock attestation is judged by.
///
/// Collateral expires and certificates are revoked; a node judging evidence by its own
/// clock could be told any time by whoever controls its host. Every node judging the same
/// evidence at the same block reaches the same verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ConsensusTime {
    height: u64,
    unix_seconds: u64,
}

impl ConsensusTime {
    /// The time of the block at `height`, as its (verified) header states it.
    pub fn of_block(height: u64, unix_seconds: u64) -> Self {
        Self { height, unix_seconds }
    }

    /// The block's height.
    pub fn height(&self) -> u64 {
        self.height
    }

    /// The block's time, in seconds since the Unix epoch.
    pub fn unix_seconds(&self) -> u64 {
        self.unix_seconds
    }
}
