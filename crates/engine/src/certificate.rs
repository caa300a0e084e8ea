//! Votes and commit certificates: the signatures that prove a block was decided.

use std::collections::BTreeSet;

use atoll_consensus::scheduler::Validator;
use atoll_types::{
    signing_digest, ChainContext, Hash, Height, PublicKey, Signable, Signature, SignatureContext,
};
use borsh::{BorshDeserialize, BorshSerialize};
use thiserror::Error;

/// Prevote or precommit.
#[derive(Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub enum VoteKind {
    /// First voting step.
    Prevote,
    /// Second voting step; 2/3 of power precommitting a block decides it.
    Precommit,
}

/// A consensus vote, signed by a validator's consensus key.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct Vote {
    /// Prevote or precommit.
    pub kind: VoteKind,
    /// Height.
    pub height: Height,
    /// Round.
    pub round: u32,
    /// The block voted for, or `None` (nil).
    pub block_id: Option<Hash>,
    /// The voting validator's consensus key.
    pub validator: PublicKey,
}

impl Signable for Vote {
    const CONTEXT: SignatureContext = SignatureContext::new("atoll/consensus: vote");
    const MAX_SIZE: usize = 256;
}

impl Vote {
    /// Whether `signature` is this vote's validator's signature over it on `chain`.
    pub fn verify_signature(&self, chain: &ChainContext, signature: &Signature) -> bool {
        let digest = signing_digest(&Self::CONTEXT, chain, &atoll_types::encode(self));
        self.validator.verify(digest.as_bytes(), signature).is_ok()
    }
}

/// One validator's precommit signature in a certificate.
#[derive(Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct CommitSignature {
    /// The validator's consensus key.
    pub validator: PublicKey,
    /// Its signature over the precommit.
    pub signature: Signature,
}

/// Precommits of more than 2/3 of the voting power for one block.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct CommitCertificate {
    /// Height.
    pub height: Height,
    /// The deciding round.
    pub round: u32,
    /// The decided block.
    pub block_id: Hash,
    /// The precommit signatures.
    pub signatures: Vec<CommitSignature>,
}

/// Why a certificate is not valid.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CertificateError {
    /// A signer is not in the validator set.
    #[error("signer {0} is not a validator")]
    UnknownValidator(PublicKey),
    /// A validator signed twice.
    #[error("validator {0} signed twice")]
    Duplicate(PublicKey),
    /// A signature does not verify.
    #[error("invalid signature by {0}")]
    InvalidSignature(PublicKey),
    /// The signers hold 2/3 of the power or less.
    #[error("signers hold {signed} of {total} voting power, more than 2/3 needed")]
    InsufficientPower {
        /// Power that signed.
        signed: u128,
        /// Total power.
        total: u128,
    },
}

impl CommitCertificate {
    /// The precommit each signature covers.
    pub fn precommit(&self, validator: PublicKey) -> Vote {
        Vote {
            kind: VoteKind::Precommit,
            height: self.height,
            round: self.round,
            block_id: Some(self.block_id),
            validator,
        }
    }

    /// Checks every signature against `validators` and that they hold more than 2/3 of the
    /// voting power.
    pub fn verify(
        &self,
        chain: &ChainContext,
        validators: &[Validator],
    ) -> Result<(), CertificateError> {
        let (signed, total) = self.tally(chain, validators, true)?;
        if signed * 3 <= total * 2 {
            return Err(CertificateError::InsufficientPower { signed, total });
        }
        Ok(())
    }

    /// The power of `validators` that signed, and their total power, for a light client
    /// that trusts an older set than the block's (it needs more than a third of it):
    /// signers outside `validators` are passed over; a signature that does not verify, or
    /// a validator signing twice, is an error.
    pub fn signed_power(
        &self,
        chain: &ChainContext,
        validators: &[Validator],
    ) -> Result<(u128, u128), CertificateError> {
        self.tally(chain, validators, false)
    }

    fn tally(
        &self,
        chain: &ChainContext,
        validators: &[Validator],
        only_validators: bool,
    ) -> Result<(u128, u128), CertificateError> {
        let total: u128 = validators.iter().map(|v| u128::from(v.power)).sum();
        let mut seen = BTreeSet::new();
        let mut signed = 0u128;
        for entry in &self.signatures {
            let validator = validators.iter().find(|v| v.consensus_key == entry.validator);
            if validator.is_none() && only_validators {
                return Err(CertificateError::UnknownValidator(entry.validator));
            }
            if !seen.insert(entry.validator) {
                return Err(CertificateError::Duplicate(entry.validator));
            }
            if !self.precommit(entry.validator).verify_signature(chain, &entry.signature) {
                return Err(CertificateError::InvalidSignature(entry.validator));
            }
            signed += validator.map_or(0, |v| u128::from(v.power));
        }
        Ok((signed, total))
    }
}
