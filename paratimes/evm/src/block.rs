//! Ethereum blocks: one per runtime round, with a header Ethereum clients can recompute.
//!
//! A round that executes builds the header of its block at the end of the round: parent
//! hash, the fee collector as beneficiary, the transactions and receipts tries, the logs
//! bloom, gas used, number (= round), timestamp, base fee, gas limit and `mixHash` (=
//! `PREVRANDAO`) as the EVM saw them, and the empty roots and zero fields of a Prague
//! header (no ommers, withdrawals, blobs, beacon root or requests). The block hash is
//! `keccak256(rlp(header))`, and it is what `BLOCKHASH` returns.
//!
//! `stateRoot` is the root of the ParaTime state the block **executed on** (the state
//! after the previous block): the runtime cannot put the root of its own result into the
//! state that root commits to. The root after a block is the next block's `stateRoot`.
//!
//! Rounds that do not execute (a failed round, an epoch transition) have empty blocks all
//! the same, so block numbers have no gaps: the next round that executes fills them in
//! ([`gap_headers`], the same function for the runtime and for the node's index) with the
//! executed block's timestamp, base fee, gas limit and state root, each linked to the one
//! before.
//!
//! The latest executed block stays in state ([`BlockRecord`], under the `evm` prefix) for
//! the node: with the round's I/O it is everything an Ethereum block index needs.

use alloy_consensus::{Header, Receipt as EthReceipt, ReceiptEnvelope, ReceiptWithBloom, TxType};
use alloy_eips::eip2718::Encodable2718;
use alloy_eips::eip7685::EMPTY_REQUESTS_HASH;
use alloy_primitives::{Bloom, Bytes, Log, LogData};
use alloy_rlp::Decodable;
use alloy_trie::root::ordered_trie_root_encoded;
use alloy_trie::EMPTY_ROOT_HASH;
use atoll_runtime_sdk::{Context, RuntimeError};
use borsh::{BorshDeserialize, BorshSerialize};
use revm::primitives::{Address, B256, U256};

use crate::execute::BlockInfo;
use crate::module::{LogRecord, Receipt};
use crate::state::{self, NAME};

/// Most Ethereum transactions one block records (far above what the batch gas allows).
const MAX_BLOCK_TXS: usize = 100_000;

/// The latest executed block, kept in state for the node's index.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct BlockRecord {
    /// The RLP of its header.
    pub header: Vec<u8>,
    /// Its Ethereum transactions' hashes, in order.
    pub transactions: Vec<[u8; 32]>,
}

impl BlockRecord {
    /// Its decoded header.
    pub fn header(&self) -> Result<Header, alloy_rlp::Error> {
        Header::decode(&mut self.header.as_slice())
    }
}

/// One transaction of the block being built (kept in state until the block ends).
#[derive(BorshSerialize, BorshDeserialize)]
struct PendingTx {
    raw: Vec<u8>,
    hash: [u8; 32],
    tx_type: u8,
    success: bool,
    gas_used: u64,
    logs: Vec<LogRecord>,
}

/// Where the latest executed block is kept in state.
pub fn record_key() -> Vec<u8> {
    atoll_runtime_sdk::storage::module_key(NAME, &[b"B"])
}

fn pending_key(index: u32) -> Vec<u8> {
    atoll_runtime_sdk::storage::module_key(NAME, &[b"p", &index.to_be_bytes()])
}

fn count_key() -> Vec<u8> {
    atoll_runtime_sdk::storage::module_key(NAME, &[b"P"])
}

fn corrupt(what: &str) -> RuntimeError {
    RuntimeError::new("storage", 2, format!("corrupt {what}"))
}

/// The latest executed block, if any round has executed.
pub fn latest(ctx: &Context<'_>) -> Result<Option<BlockRecord>, RuntimeError> {
    ctx.get(&record_key())
}

/// Adds an executed Ethereum transaction to the block being built.
pub fn record_transaction(
    ctx: &mut Context<'_>,
    raw: &[u8],
    receipt: &Receipt,
) -> Result<(), RuntimeError> {
    let index = ctx.get::<u32>(&count_key())?.unwrap_or(0);
    let pending = PendingTx {
        raw: raw.to_vec(),
        hash: receipt.hash,
        tx_type: receipt.tx_type,
        success: receipt.success,
        gas_used: receipt.gas_used,
        logs: receipt.logs.clone(),
    };
    ctx.set(&pending_key(index), &pending)?;
    ctx.set(&count_key(), &(index + 1))
}

/// An alloy log of a recorded one.
pub fn log_of(log: &LogRecord) -> Log {
    Log {
        address: Address::from(log.address),
        data: LogData::new_unchecked(
            log.topics.iter().copied().map(B256::from).collect(),
            Bytes::from(log.data.clone()),
        ),
    }
}

/// The consensus receipt (EIP-2718 typed, with its bloom) of a transaction of a block,
/// given the block's gas used up to and including it.
pub fn consensus_receipt(
    tx_type: u8,
    success: bool,
    cumulative_gas_used: u64,
    logs: &[LogRecord],
) -> ReceiptEnvelope {
    let receipt = EthReceipt {
        status: success.into(),
        cumulative_gas_used,
        logs: logs.iter().map(log_of).collect(),
    };
    let bloom = receipt.bloom_slow();
    let ty = TxType::try_from(tx_type).unwrap_or(TxType::Legacy);
    ReceiptEnvelope::from_typed(ty, ReceiptWithBloom::new(receipt, bloom))
}

/// Ends the block of this round: builds and records its header (and the empty blocks of
/// the rounds since the last one), so `BLOCKHASH` sees them and the node can index them.
pub fn finish(
    ctx: &mut Context<'_>,
    info: &BlockInfo,
    base_root: B256,
) -> Result<(), RuntimeError> {
    let count = ctx.get::<u32>(&count_key())?.unwrap_or(0) as usize;
    if count > MAX_BLOCK_TXS {
        return Err(corrupt("block transaction count"));
    }
    let mut raws = Vec::with_capacity(count);
    let mut receipts = Vec::with_capacity(count);
    let mut hashes = Vec::with_capacity(count);
    let mut bloom = Bloom::ZERO;
    let mut gas_used = 0u64;
    for index in 0..count as u32 {
        let pending: PendingTx =
            ctx.get(&pending_key(index))?.ok_or_else(|| corrupt("block transaction"))?;
        ctx.remove(&pending_key(index))?;
        gas_used = gas_used.saturating_add(pending.gas_used);
        let receipt = consensus_receipt(pending.tx_type, pending.success, gas_used, &pending.logs);
        bloom.accrue_bloom(receipt.logs_bloom());
        receipts.push(receipt.encoded_2718());
        raws.push(pending.raw);
        hashes.push(pending.hash);
    }
    ctx.remove(&count_key())?;

    let previous = match latest(ctx)? {
        Some(record) => {
            let header = record.header().map_err(|_| corrupt("block header"))?;
            Some((header.number, header.hash_slow()))
        }
        None => None,
    };
    let mut header = Header {
        parent_hash: B256::ZERO,
        ommers_hash: alloy_consensus::constants::EMPTY_OMMER_ROOT_HASH,
        beneficiary: info.coinbase,
        state_root: base_root,
        transactions_root: ordered_trie_root_encoded(&raws),
        receipts_root: ordered_trie_root_encoded(&receipts),
        logs_bloom: bloom,
        difficulty: U256::ZERO,
        number: info.number,
        gas_limit: info.gas_limit,
        gas_used,
        timestamp: info.timestamp,
        extra_data: Bytes::new(),
        mix_hash: info.prevrandao,
        nonce: Default::default(),
        base_fee_per_gas: Some(info.base_fee),
        withdrawals_root: Some(EMPTY_ROOT_HASH),
        blob_gas_used: Some(0),
        excess_blob_gas: Some(0),
        parent_beacon_block_root: Some(B256::ZERO),
        requests_hash: Some(EMPTY_REQUESTS_HASH),
        ..Default::default()
    };
    let gap = gap_headers(previous, &header);
    let mut parent = previous.map_or(B256::ZERO, |(_, hash)| hash);
    for empty in &gap {
        let hash = empty.hash_slow();
        if info.number - empty.number <= state::BLOCK_HASH_WINDOW {
            state::record_block_hash(ctx, empty.number, &hash)?;
        }
        parent = hash;
    }
    header.parent_hash = parent;
    let hash = header.hash_slow();
    state::record_block_hash(ctx, info.number, &hash)?;
    let mut encoded = Vec::new();
    alloy_rlp::Encodable::encode(&header, &mut encoded);
    ctx.set(&record_key(), &BlockRecord { header: encoded, transactions: hashes })
}

/// The empty blocks between the previous executed block (`(number, hash)`, none before the
/// first) and `executed`: one per round in between, starting at block 0 before the first,
/// each the child of the one before, with `executed`'s timestamp, base fee, gas limit,
/// beneficiary and state root (nothing ran in between).
pub fn gap_headers(previous: Option<(u64, B256)>, executed: &Header) -> Vec<Header> {
    let (first, mut parent) = match previous {
        Some((number, hash)) => (number.saturating_add(1), hash),
        None => (0, B256::ZERO),
    };
    (first..executed.number)
        .map(|number| {
            let header = Header {
                parent_hash: parent,
                number,
                gas_used: 0,
                transactions_root: EMPTY_ROOT_HASH,
                receipts_root: EMPTY_ROOT_HASH,
                logs_bloom: Bloom::ZERO,
                mix_hash: B256::ZERO,
                ..executed.clone()
            };
            parent = header.hash_slow();
            header
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn executed(number: u64, parent: B256) -> Header {
        Header {
            parent_hash: parent,
            number,
            timestamp: 1_700_000_000,
            base_fee_per_gas: Some(1_000_000_000),
            gas_limit: 30_000_000,
            state_root: B256::repeat_byte(7),
            ..Default::default()
        }
    }

    #[test]
    fn gap_blocks_chain_from_the_previous_block_to_the_executed_one() {
        let previous = (4, B256::repeat_byte(4));
        let gap = gap_headers(Some(previous), &executed(8, B256::ZERO));
        assert_eq!(gap.iter().map(|h| h.number).collect::<Vec<_>>(), vec![5, 6, 7]);
        assert_eq!(gap[0].parent_hash, previous.1);
        for pair in gap.windows(2) {
            assert_eq!(pair[1].parent_hash, pair[0].hash_slow());
        }
        assert!(gap.iter().all(|h| h.gas_used == 0 && h.transactions_root == EMPTY_ROOT_HASH));
        assert!(gap.iter().all(|h| h.state_root == B256::repeat_byte(7)));
        // The same inputs give the same blocks (the runtime and the index agree).
        assert_eq!(gap, gap_headers(Some(previous), &executed(8, B256::ZERO)));
    }

    #[test]
    fn the_first_block_starts_at_zero_and_consecutive_rounds_leave_no_gap() {
        let first = gap_headers(None, &executed(2, B256::ZERO));
        assert_eq!(first.iter().map(|h| h.number).collect::<Vec<_>>(), vec![0, 1]);
        assert_eq!(first[0].parent_hash, B256::ZERO);
        assert!(gap_headers(Some((7, B256::ZERO)), &executed(8, B256::ZERO)).is_empty());
    }

    #[test]
    fn receipts_carry_their_type_and_bloom() {
        let log = LogRecord { address: [1; 20], topics: vec![[2; 32]], data: vec![3] };
        let receipt = consensus_receipt(2, true, 50_000, std::slice::from_ref(&log));
        assert!(matches!(receipt, ReceiptEnvelope::Eip1559(_)));
        assert!(receipt.logs_bloom().contains_input(alloy_primitives::BloomInput::Raw(&[1; 20])));
        assert_eq!(receipt.encoded_2718()[0], 2);
    }
}
