//! From index records to the JSON-RPC types Ethereum clients read (alloy's, the same ones
//! reth and anvil serve, so the shapes match theirs field for field).

use alloy_consensus::transaction::Recovered;
use alloy_consensus::{Header, TxEnvelope};
use alloy_eips::eip2718::Decodable2718;
use alloy_primitives::{Address, B256, U256, U64};
use alloy_rpc_types_eth::{
    Block, BlockTransactions, Header as RpcHeader, Log, Transaction, TransactionReceipt,
};
use serde::Serialize;

use crate::error::RpcError;
use crate::index::{IndexedBlock, IndexedTx};

/// The RPC view of a transaction of a block with timestamp `timestamp`.
pub fn transaction(tx: &IndexedTx, timestamp: u64) -> Result<Transaction, RpcError> {
    let envelope = TxEnvelope::decode_2718(&mut tx.raw.as_slice())
        .map_err(|e| RpcError::Internal(format!("stored transaction: {e}")))?;
    Ok(Transaction {
        inner: Recovered::new_unchecked(envelope, Address::from(tx.receipt.from)),
        block_hash: Some(B256::from(tx.block_hash)),
        block_number: Some(tx.block_number),
        transaction_index: Some(u64::from(tx.index)),
        effective_gas_price: Some(tx.receipt.effective_gas_price),
        block_timestamp: Some(timestamp),
    })
}

/// The RPC logs of a transaction of a block with timestamp `timestamp`.
pub fn logs(tx: &IndexedTx, timestamp: u64) -> Vec<Log> {
    tx.receipt
        .logs
        .iter()
        .enumerate()
        .map(|(i, log)| Log {
            inner: atoll_evm::block::log_of(log),
            block_hash: Some(B256::from(tx.block_hash)),
            block_number: Some(tx.block_number),
            block_timestamp: Some(timestamp),
            transaction_hash: Some(B256::from(tx.receipt.hash)),
            transaction_index: Some(u64::from(tx.index)),
            log_index: Some(u64::from(tx.first_log_index) + i as u64),
            removed: false,
        })
        .collect()
}

/// A receipt as geth (since 1.16) and anvil serve it: alloy's fields and the block's
/// timestamp.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    #[serde(flatten)]
    inner: TransactionReceipt,
    block_timestamp: U64,
}

/// The blob base fee of every block: no blob is ever included, so the excess blob gas stays
/// zero and the fee at its minimum (EIP-4844's `MIN_BASE_FEE_PER_BLOB_GAS`).
pub const BLOB_BASE_FEE: u128 = 1;

/// The RPC receipt of a transaction of a block with timestamp `timestamp`.
pub fn receipt(tx: &IndexedTx, timestamp: u64) -> Receipt {
    let r = &tx.receipt;
    let consensus =
        atoll_evm::block::consensus_receipt(r.tx_type, r.success, tx.cumulative_gas_used, &r.logs);
    let rpc_logs = logs(tx, timestamp);
    let inner = consensus.map_logs({
        let mut rpc_logs = rpc_logs.into_iter();
        move |_| rpc_logs.next().unwrap_or_default()
    });
    let inner = TransactionReceipt {
        inner,
        transaction_hash: B256::from(r.hash),
        transaction_index: Some(u64::from(tx.index)),
        block_hash: Some(B256::from(tx.block_hash)),
        block_number: Some(tx.block_number),
        gas_used: r.gas_used,
        effective_gas_price: r.effective_gas_price,
        blob_gas_used: None,
        blob_gas_price: Some(BLOB_BASE_FEE),
        from: Address::from(r.from),
        to: r.to.map(Address::from),
        contract_address: r.contract_address.map(Address::from),
    };
    Receipt { inner, block_timestamp: U64::from(timestamp) }
}

/// The RPC block, with full transactions or their hashes.
pub fn block(
    block: &IndexedBlock,
    header: Header,
    txs: Option<&[IndexedTx]>,
) -> Result<Block, RpcError> {
    let transactions = match txs {
        Some(txs) => {
            let timestamp = header.timestamp;
            let full = txs.iter().map(|tx| transaction(tx, timestamp));
            BlockTransactions::Full(full.collect::<Result<Vec<_>, _>>()?)
        }
        None => {
            BlockTransactions::Hashes(block.transactions.iter().copied().map(B256::from).collect())
        }
    };
    let size = block.header.len() + txs.map_or(0, |t| t.iter().map(|t| t.raw.len()).sum::<usize>());
    Ok(Block {
        header: RpcHeader {
            hash: B256::from(block.hash),
            inner: header,
            total_difficulty: Some(U256::ZERO),
            size: Some(U256::from(size)),
        },
        uncles: Vec::new(),
        transactions,
        withdrawals: Some(Default::default()),
    })
}
