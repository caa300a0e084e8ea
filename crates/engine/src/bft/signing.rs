//! Signing and verifying consensus messages with domain separation.
//!
//! Every signature is over `SHA-256(context || chain_context || message)`:
//! votes use the [`crate::Vote`] context (so commit certificates verify with
//! [`crate::CommitCertificate::verify`]), proposals `atoll/consensus: proposal`, the
//! signature opening a proposal stream `atoll/consensus: proposal stream`, the one
//! closing it `atoll/consensus: proposed block`, and the proof
//! binding a validator key to its p2p identity `atoll/consensus: validator proof`.

use std::sync::Arc;

use async_trait::async_trait;
use atoll_types::{
    encode, signing_digest, ChainContext, Hash, PublicKey, Signable, Signature, SignatureContext,
    Signer,
};
use borsh::{BorshDeserialize, BorshSerialize};
use malachitebft_app_channel::app::streaming::StreamId;
use malachitebft_app_channel::app::types::core::{
    SignedMessage, ValidatorProof, VoteExtensionScope,
};
use malachitebft_signing::{Error as SigningError, VerificationResult};

use super::context::{
    AtollContext, BlockHeight, ConsensusVote, Proposal, ProposalInit, ValidatorAddress,
};
use crate::certificate::Vote as EngineVote;

/// What a proposal signature covers.
#[derive(BorshSerialize, BorshDeserialize)]
struct SignedProposalBody {
    height: u64,
    round: i64,
    block_id: Hash,
    pol_round: i64,
    proposer: PublicKey,
}

impl Signable for SignedProposalBody {
    const CONTEXT: SignatureContext = SignatureContext::new("atoll/consensus: proposal");
    const MAX_SIZE: usize = 256;
}

/// What the signature closing a proposal stream covers: the block assembled from the
/// stream, at the height and round it was proposed for.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct ProposedBlock {
    /// Height.
    pub height: u64,
    /// Round.
    pub round: i64,
    /// The assembled block's id.
    pub block_id: Hash,
}

impl Signable for ProposedBlock {
    const CONTEXT: SignatureContext = SignatureContext::new("atoll/consensus: proposed block");
    const MAX_SIZE: usize = 128;
}

/// What the signature in a stream's `Init` covers: who opens which stream for which
/// height and round, published by which p2p identity. Binding the publisher means a copied
/// `Init` authenticates nothing when someone else publishes it.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct StreamOpening {
    /// Height.
    pub height: u64,
    /// Round.
    pub round: i64,
    /// Proof-of-lock round (`-1` for none).
    pub valid_round: i64,
    /// The proposer's consensus key.
    pub proposer: PublicKey,
    /// The stream id's bytes.
    pub stream_id: Vec<u8>,
    /// The publisher's peer id bytes.
    pub publisher: Vec<u8>,
}

impl StreamOpening {
    /// What the `Init` of stream `stream`, published by `publisher`, is signed over.
    pub fn of(init: &ProposalInit, stream: &StreamId, publisher: Vec<u8>) -> Self {
        Self {
            height: init.height.0,
            round: init.round.as_i64(),
            valid_round: init.valid_round.as_i64(),
            proposer: init.proposer.0,
            stream_id: stream.to_bytes().to_vec(),
            publisher,
        }
    }
}

impl Signable for StreamOpening {
    const CONTEXT: SignatureContext = SignatureContext::new("atoll/consensus: proposal stream");
    const MAX_SIZE: usize = 512;
}

const VALIDATOR_PROOF: SignatureContext = SignatureContext::new("atoll/consensus: validator proof");

fn proposal_body(proposal: &Proposal) -> SignedProposalBody {
    SignedProposalBody {
        height: proposal.height.0,
        round: proposal.round.as_i64(),
        block_id: proposal.value.0,
        pol_round: proposal.pol_round.as_i64(),
        proposer: proposal.proposer.0,
    }
}

fn digest_of<T: Signable>(chain: &ChainContext, value: &T) -> Hash {
    signing_digest(&T::CONTEXT, chain, &encode(value))
}

fn vote_digest(chain: &ChainContext, vote: &ConsensusVote) -> Result<Hash, SigningError> {
    let form: EngineVote =
        vote.to_signed_form().ok_or_else(|| SigningError::from_source("vote for a nil round"))?;
    Ok(digest_of(chain, &form))
}

fn verdict(key: &PublicKey, digest: &Hash, signature: &Signature) -> VerificationResult {
    VerificationResult::from_bool(key.verify(digest.as_bytes(), signature).is_ok())
}

/// Signs consensus messages with a validator's consensus key and verifies everyone's.
#[derive(Clone)]
pub struct ConsensusSigner {
    key: Option<Arc<dyn Signer + Send + Sync>>,
    chain: ChainContext,
}

impl ConsensusSigner {
    /// A signer for a validator.
    pub fn new(key: Arc<dyn Signer + Send + Sync>, chain: ChainContext) -> Self {
        Self { key: Some(key), chain }
    }

    /// A verifier only, for a node that does not vote.
    pub fn verifier(chain: ChainContext) -> Self {
        Self { key: None, chain }
    }

    /// The address this signer votes as, if it holds a key.
    pub fn address(&self) -> Option<ValidatorAddress> {
        self.key.as_ref().map(|k| ValidatorAddress(k.public_key()))
    }

    fn sign_digest(&self, digest: &Hash) -> Result<Signature, SigningError> {
        let key = self.key.as_ref().ok_or_else(|| SigningError::from_source("no consensus key"))?;
        Ok(key.sign_raw(digest.as_bytes()))
    }

    /// Signs the id of a block assembled for `(height, round)`, closing a proposal stream.
    pub fn sign_proposed_block(
        &self,
        height: BlockHeight,
        round: i64,
        block_id: Hash,
    ) -> Result<Signature, SigningError> {
        let body = ProposedBlock { height: height.0, round, block_id };
        self.sign_digest(&digest_of(&self.chain, &body))
    }

    /// Signs the opening of a proposal stream.
    pub fn sign_stream_opening(&self, body: &StreamOpening) -> Result<Signature, SigningError> {
        self.sign_digest(&digest_of(&self.chain, body))
    }

    /// Checks the signature opening a proposal stream (by `body.proposer`).
    pub fn verify_stream_opening(&self, body: &StreamOpening, signature: &Signature) -> bool {
        verdict(&body.proposer, &digest_of(&self.chain, body), signature).is_valid()
    }

    /// Checks the signature closing a proposal stream.
    pub fn verify_proposed_block(
        &self,
        proposer: &PublicKey,
        body: &ProposedBlock,
        signature: &Signature,
    ) -> bool {
        verdict(proposer, &digest_of(&self.chain, body), signature).is_valid()
    }
}

#[async_trait]
impl malachitebft_signing::Signer<AtollContext> for ConsensusSigner {
    async fn sign_vote(
        &self,
        vote: ConsensusVote,
    ) -> Result<SignedMessage<AtollContext, ConsensusVote>, SigningError> {
        let signature = self.sign_digest(&vote_digest(&self.chain, &vote)?)?;
        Ok(SignedMessage::new(vote, signature))
    }

    async fn sign_proposal(
        &self,
        proposal: Proposal,
    ) -> Result<SignedMessage<AtollContext, Proposal>, SigningError> {
        let signature = self.sign_digest(&digest_of(&self.chain, &proposal_body(&proposal)))?;
        Ok(SignedMessage::new(proposal, signature))
    }

    async fn sign_vote_extension(
        &self,
        _scope: VoteExtensionScope<AtollContext>,
        _extension: (),
    ) -> Result<SignedMessage<AtollContext, ()>, SigningError> {
        Err(SigningError::from_source("vote extensions are disabled"))
    }

    async fn sign_validator_proof(
        &self,
        public_key: Vec<u8>,
        peer_id: Vec<u8>,
    ) -> Result<ValidatorProof<AtollContext>, SigningError> {
        let preimage = ValidatorProof::<AtollContext>::signing_bytes(&public_key, &peer_id);
        let signature =
            self.sign_digest(&signing_digest(&VALIDATOR_PROOF, &self.chain, &preimage))?;
        Ok(ValidatorProof::new(public_key, peer_id, signature))
    }
}

#[async_trait]
impl malachitebft_signing::Verifier<AtollContext> for ConsensusSigner {
    async fn verify_signed_vote(
        &self,
        vote: &ConsensusVote,
        signature: &Signature,
        public_key: &PublicKey,
    ) -> Result<VerificationResult, SigningError> {
        let valid = vote.validator.0 == *public_key
            && vote.to_signed_form().is_some_and(|v| v.verify_signature(&self.chain, signature));
        Ok(VerificationResult::from_bool(valid))
    }

    async fn verify_signed_proposal(
        &self,
        proposal: &Proposal,
        signature: &Signature,
        public_key: &PublicKey,
    ) -> Result<VerificationResult, SigningError> {
        if proposal.proposer.0 != *public_key {
            return Ok(VerificationResult::Invalid);
        }
        let digest = digest_of(&self.chain, &proposal_body(proposal));
        Ok(verdict(public_key, &digest, signature))
    }

    async fn verify_signed_vote_extension(
        &self,
        _scope: &VoteExtensionScope<AtollContext>,
        _extension: &(),
        _signature: &Signature,
        _public_key: &PublicKey,
    ) -> Result<VerificationResult, SigningError> {
        Ok(VerificationResult::Invalid)
    }

    async fn verify_validator_proof(
        &self,
        proof: &ValidatorProof<AtollContext>,
    ) -> Result<VerificationResult, SigningError> {
        let Ok(bytes) = <[u8; 32]>::try_from(proof.public_key.as_slice()) else {
            return Ok(VerificationResult::Invalid);
        };
        let key = PublicKey::from_bytes(bytes);
        let digest = signing_digest(&VALIDATOR_PROOF, &self.chain, &proof.preimage());
        Ok(verdict(&key, &digest, &proof.signature))
    }
}
