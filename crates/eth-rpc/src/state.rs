//! What the methods read: the index for blocks, transactions and receipts, the runtime's
//! queries for state at a block.

use std::sync::Arc;

use alloy_consensus::Header;
use alloy_primitives::B256;
use alloy_rpc_types_eth::{BlockId, BlockNumberOrTag};
use atoll_compute::ComputeHandle;
use borsh::{BorshDeserialize, BorshSerialize};
use tokio::sync::broadcast;

use crate::error::RpcError;
use crate::index::{Index, IndexedBlock, IndexedTx};
use crate::RpcLimits;

/// Everything a method needs.
pub struct EthState {
    /// The compute role of the EVM ParaTime.
    pub compute: ComputeHandle,
    /// The Ethereum index.
    pub index: Arc<Index>,
    /// The ParaTime's Ethereum chain id.
    pub chain_id: u64,
    /// Limits on requests.
    pub limits: RpcLimits,
    /// New block numbers, as the index takes them.
    pub heads: broadcast::Sender<u64>,
    /// Hashes of Ethereum transactions as they enter the node's pool.
    pub pending: broadcast::Sender<B256>,
    /// Installed polled filters.
    pub filters: Arc<crate::filter::Filters>,
}

impl EthState {
    /// The latest indexed block number (0 before any).
    pub fn latest_number(&self) -> Result<u64, RpcError> {
        Ok(self.index.next_block()?.saturating_sub(1))
    }

    /// The block number a tag or number names, if that block exists.
    pub fn number_of(&self, tag: BlockNumberOrTag) -> Result<Option<u64>, RpcError> {
        let next = self.index.next_block()?;
        let number = match tag {
            BlockNumberOrTag::Number(n) => n,
            BlockNumberOrTag::Earliest => 0,
            // Finality is immediate: every indexed block is final.
            BlockNumberOrTag::Latest
            | BlockNumberOrTag::Pending
            | BlockNumberOrTag::Safe
            | BlockNumberOrTag::Finalized => next.saturating_sub(1),
        };
        Ok((number < next).then_some(number))
    }

    /// The block a block id names, with its decoded header.
    pub fn block(&self, id: BlockId) -> Result<Option<(IndexedBlock, Header)>, RpcError> {
        let number = match id {
            BlockId::Hash(hash) => self.index.block_number(&hash.block_hash)?,
            BlockId::Number(tag) => self.number_of(tag)?,
        };
        let Some(number) = number else { return Ok(None) };
        let Some(block) = self.index.block(number)? else { return Ok(None) };
        let header = block.header()?;
        Ok(Some((block, header)))
    }

    /// A block's transactions.
    pub fn transactions(&self, block: &IndexedBlock) -> Result<Vec<IndexedTx>, RpcError> {
        Ok(self.index.transactions(block)?)
    }

    /// A transaction with the timestamp of its block.
    pub fn transaction(&self, hash: &B256) -> Result<Option<(IndexedTx, u64)>, RpcError> {
        let Some(tx) = self.index.transaction(hash)? else { return Ok(None) };
        let timestamp = match self.index.block(tx.block_number)? {
            Some(block) => block.header()?.timestamp,
            None => 0,
        };
        Ok(Some((tx, timestamp)))
    }

    /// The round whose state a block id names: `None` for the latest state.
    fn state_round(&self, id: Option<BlockId>) -> Result<Option<u64>, RpcError> {
        match id {
            None
            | Some(BlockId::Number(
                BlockNumberOrTag::Latest
                | BlockNumberOrTag::Pending
                | BlockNumberOrTag::Safe
                | BlockNumberOrTag::Finalized,
            )) => Ok(None),
            Some(id) => match self.block(id)? {
                Some((_, header)) => Ok(Some(header.number)),
                None => Err(RpcError::Server("header not found".into())),
            },
        }
    }

    /// Runs an `evm` query against the state after block `id` (the latest if none).
    pub async fn query<A: BorshSerialize, R: BorshDeserialize>(
        &self,
        method: &str,
        args: &A,
        id: Option<BlockId>,
    ) -> Result<R, RpcError> {
        let round = self.state_round(id)?;
        let bytes = self
            .compute
            .query_at(round, method.to_owned(), atoll_types::encode(args))
            .await
            .map_err(|e| match e {
                atoll_compute::ComputeError::Pruned { round, earliest } => {
                    RpcError::Server(format!(
                        "historical state of block {round} is not available: this node keeps \
                         the state of blocks {earliest} and later (its retain_rounds)"
                    ))
                }
                atoll_compute::ComputeError::Storage(e) => {
                    RpcError::Server(format!("state not available: {e}"))
                }
                e => RpcError::Server(e.to_string()),
            })?;
        atoll_types::decode(&bytes, 64 << 20)
            .map_err(|e| RpcError::Internal(format!("query answer: {e}")))
    }
}
