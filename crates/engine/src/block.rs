//! Blocks: a header, the transactions, and the certificate that committed the previous
//! block.

use atoll_types::{ChainContext, Epoch, Hash, Height, PublicKey};
use borsh::{BorshDeserialize, BorshSerialize};
use thiserror::Error;

use crate::certificate::CommitCertificate;
use crate::evidence::DoubleSignEvidence;
use crate::merkle::transactions_root;

/// The most transaction bytes in a block.
pub const MAX_BLOCK_SIZE: usize = 16 << 20;
/// The most transactions in a block.
pub const MAX_BLOCK_TXS: usize = 20_000;

/// What a block's transactions may add up to. [`Block::validate_basic`] refuses a block
/// over the count or byte limit, and the state machine refuses transactions past the gas
/// limit, so block building selects within all three.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct BlockLimits {
    /// Most transactions.
    pub max_txs: usize,
    /// Most transaction bytes.
    pub max_bytes: usize,
    /// Most gas (the sum of the transactions' gas limits).
    pub max_gas: u64,
}

impl BlockLimits {
    /// The limits of a block under the consensus parameter `max_block_gas`.
    pub fn with_gas(max_gas: u64) -> Self {
        Self { max_txs: MAX_BLOCK_TXS, max_bytes: MAX_BLOCK_SIZE, max_gas }
    }
}

/// A block header. The block id is the SHA-256 of its encoding.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct BlockHeader {
    /// The chain.
    pub chain_context: ChainContext,
    /// The height.
    pub height: Height,
    /// The proposer's timestamp (unix seconds): no earlier than its parent's and not ahead of
    /// a validating node's clock by more than `MAX_CLOCK_DRIFT`; TEE collateral is judged at it.
    pub time: u64,
    /// The previous block's id (zero for the first block).
    pub previous_block_id: Hash,
    /// The state root after the previous block.
    pub app_hash: Hash,
    /// Root of the transactions (see [`crate::merkle`]).
    pub transactions_root: Hash,
    /// The proposer's consensus key.
    pub proposer: PublicKey,
    /// The epoch of this height.
    pub epoch: Epoch,
    /// SHA-256 of the encoded last commit and evidence, so the id covers the whole block.
    pub commit_and_evidence_hash: Hash,
}

/// A block.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct Block {
    /// The header.
    pub header: BlockHeader,
    /// The transactions, in execution order.
    pub transactions: Vec<Vec<u8>>,
    /// The certificate that committed the previous block (none for the first block).
    pub last_commit: Option<CommitCertificate>,
    /// Proven double signing, to be slashed by this block.
    pub evidence: Vec<DoubleSignEvidence>,
}

/// Why a block is malformed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BlockError {
    /// The transactions root does not match the transactions.
    #[error("transactions root mismatch")]
    TransactionsRoot,
    /// Too many transactions or bytes.
    #[error("block over its size limits")]
    TooLarge,
    /// The block is for another chain.
    #[error("block for another chain")]
    WrongChain,
    /// The header does not commit to the block's last commit and evidence.
    #[error("commit and evidence hash mismatch")]
    CommitAndEvidenceHash,
    /// The block does not follow the previous one.
    #[error("block does not follow the previous block: {0}")]
    Discontinuity(&'static str),
}

/// What [`BlockHeader::commit_and_evidence_hash`] holds.
pub fn commit_and_evidence_hash(
    last_commit: &Option<CommitCertificate>,
    evidence: &[DoubleSignEvidence],
) -> Hash {
    Hash::of_encoded(&(last_commit, evidence))
}

impl Block {
    /// The block id: SHA-256 of the header's encoding.
    pub fn id(&self) -> Hash {
        Hash::of_encoded(&self.header)
    }

    /// Checks what can be checked without state: chain, limits and the transactions root.
    pub fn validate_basic(&self, chain: &ChainContext) -> Result<(), BlockError> {
        if self.header.chain_context != *chain {
            return Err(BlockError::WrongChain);
        }
        let bytes: usize = self.transactions.iter().map(Vec::len).sum();
        if self.transactions.len() > MAX_BLOCK_TXS || bytes > MAX_BLOCK_SIZE {
            return Err(BlockError::TooLarge);
        }
        if transactions_root(&self.transactions) != self.header.transactions_root {
            return Err(BlockError::TransactionsRoot);
        }
        if commit_and_evidence_hash(&self.last_commit, &self.evidence)
            != self.header.commit_and_evidence_hash
        {
            return Err(BlockError::CommitAndEvidenceHash);
        }
        Ok(())
    }

    /// Checks that this block follows `previous` (its height, id and, given the state after
    /// `previous`, app hash).
    pub fn validate_follows(&self, previous: &Block, app_hash: &Hash) -> Result<(), BlockError> {
        if previous.header.height.checked_next() != Some(self.header.height) {
            return Err(BlockError::Discontinuity("height"));
        }
        if self.header.previous_block_id != previous.id() {
            return Err(BlockError::Discontinuity("previous block id"));
        }
        if self.header.app_hash != *app_hash {
            return Err(BlockError::Discontinuity("app hash"));
        }
        match &self.last_commit {
            Some(c) if c.block_id == previous.id() && c.height == previous.header.height => Ok(()),
            _ => Err(BlockError::Discontinuity("last commit")),
        }
    }
}
