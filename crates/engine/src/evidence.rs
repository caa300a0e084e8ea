//! Double-signing evidence: two votes by one validator for different blocks at the same
//! height, round and step, both validly signed.
//!
//! The engine observes equivocation while voting; the next proposer puts the proof into its
//! block and every validator checks it before the state machine slashes and freezes the
//! offender.

use atoll_types::{ChainContext, Height, PublicKey, Signature};
use borsh::{BorshDeserialize, BorshSerialize};
use thiserror::Error;

use crate::certificate::{Vote, VoteKind};

/// Evidence older than this many blocks is refused.
pub const MAX_EVIDENCE_AGE: u64 = 1_000;
/// The most pieces of evidence in one block.
pub const MAX_EVIDENCE_PER_BLOCK: usize = 32;

/// A vote with its signature.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct SignedVote {
    /// The vote.
    pub vote: Vote,
    /// The validator's signature over it.
    pub signature: Signature,
}

/// One offence: conflicting votes by a validator at one height, round and step, however
/// many pairs of votes prove it. A block may not slash the same offence twice, so the block
/// store keeps the offences slashed, keyed by [`Offence::key`].
#[derive(Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct Offence {
    /// The offending validator's consensus key.
    pub validator: PublicKey,
    /// The height of the equivocation.
    pub height: Height,
    /// Its round.
    pub round: u32,
    /// Its step.
    pub kind: VoteKind,
}

impl Offence {
    /// The offence's key: the validator's key first, so that one validator's offences are
    /// adjacent.
    pub fn key(&self) -> Vec<u8> {
        atoll_types::encode(self)
    }
}

/// Two conflicting votes by one validator.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct DoubleSignEvidence {
    /// One vote.
    pub first: SignedVote,
    /// The conflicting vote.
    pub second: SignedVote,
}

/// Why evidence is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EvidenceError {
    /// The votes are not by the same validator for the same height, round and step.
    #[error("votes are not for the same validator, height, round and step")]
    NotComparable,
    /// The votes are for the same block: no equivocation.
    #[error("votes do not conflict")]
    NoConflict,
    /// A signature does not verify.
    #[error("invalid signature")]
    InvalidSignature,
    /// The evidence is from the future or older than [`MAX_EVIDENCE_AGE`].
    #[error("evidence at height {evidence} is not acceptable at height {current}")]
    Age {
        /// The evidence's height.
        evidence: u64,
        /// The including block's height.
        current: u64,
    },
}

impl DoubleSignEvidence {
    /// The offending validator's consensus key.
    pub fn validator(&self) -> PublicKey {
        self.first.vote.validator
    }

    /// The height of the equivocation.
    pub fn height(&self) -> Height {
        self.first.vote.height
    }

    /// The offence this evidence proves, whatever the order of the two votes.
    pub fn offence(&self) -> Offence {
        let v = &self.first.vote;
        Offence { validator: v.validator, height: v.height, round: v.round, kind: v.kind }
    }

    /// The key of [`Self::offence`].
    pub fn key(&self) -> Vec<u8> {
        self.offence().key()
    }

    /// Checks the evidence for inclusion in a block at `current`.
    pub fn verify(&self, chain: &ChainContext, current: Height) -> Result<(), EvidenceError> {
        let (a, b) = (&self.first.vote, &self.second.vote);
        if a.validator != b.validator
            || a.height != b.height
            || a.round != b.round
            || a.kind != b.kind
        {
            return Err(EvidenceError::NotComparable);
        }
        if a.block_id == b.block_id {
            return Err(EvidenceError::NoConflict);
        }
        if a.height.0 >= current.0 || current.0 - a.height.0 > MAX_EVIDENCE_AGE {
            return Err(EvidenceError::Age { evidence: a.height.0, current: current.0 });
        }
        if [&self.first, &self.second].iter().all(|s| s.vote.verify_signature(chain, &s.signature))
        {
            Ok(())
        } else {
            Err(EvidenceError::InvalidSignature)
        }
    }
}
