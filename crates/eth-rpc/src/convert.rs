//! From index records to the JSON-RPC types Ethereum clients read (alloy's, the same ones
//! reth and anvil serve, so the shapes match theirs field for field).

use alloy_consensus::transaction::Recovered;
use alloy_consensus::{Header, TxEnvelope};
use alloy_eips::eip2718::Decodable2718;
use alloy_primitives::{Address, B256, U256};
use alloy_rpc_types_eth::{
    Block, BlockTransactions, Header as RpcHeader, Log, Transaction, TransactionReceipt,
};

use crate::error::RpcError;
use crate::index::{IndexedBlock, IndexedTx};

/// The RPC view of a transaction of a block.
pub fn transaction(tx: &IndexedTx) -> Result<Transaction, RpcError> {
    let envelope = TxEnvelope::decode_2718(&mut tx.raw.as_slice())
        .map_err(|e| RpcError::Internal(format!("stored transaction: {e}")))?;
    Ok(Transaction {
        inner: Recovered::new_unchecked(envelope, Address::from(tx.receipt.from)),
        block_hash: Some(B256::from(tx.block_hash)),
        block_number: Some(tx.block_number),
        transaction_index: Some(u64::from(tx.index)),
        effective_gas_price: Some(tx.receipt.effective_gas_price),
        block_timestamp: None,
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

/// The RPC receipt of a transaction of a block with timestamp `timestamp`.
pub fn receipt(tx: &IndexedTx, timestamp: u64) -> TransactionReceipt {
    let r = &tx.receipt;
    let consensus =
        atoll_evm::block::consensus_receipt(r.tx_type, r.success, tx.cumulative_gas_used, &r.logs);
    let rpc_logs = logs(tx, timestamp);
    let inner = consensus.map_logs({
        let mut rpc_logs = rpc_logs.into_iter();
        move |_| rpc_logs.next().unwrap_or_default()
    });
    TransactionReceipt {
        inner,
        transaction_hash: B256::from(r.hash),
        transaction_index: Some(u64::from(tx.index)),
        block_hash: Some(B256::from(tx.block_hash)),
        block_number: Some(tx.block_number),
        gas_used: r.gas_used,
        effective_gas_price: r.effective_gas_price,
        blob_gas_used: None,
        blob_gas_price: None,
        from: Address::from(r.from),
        to: r.to.map(Address::from),
        contract_address: r.contract_address.map(Address::from),
    }
}

/// The RPC block, with full transactions or their hashes.
pub fn block(
    block: &IndexedBlock,
    header: Header,
    txs: Option<&[IndexedTx]>,
) -> Result<Block, RpcError> {
    let transactions = match txs {
        Some(txs) => {
            BlockTransactions::Full(txs.iter().map(transaction).collect::<Result<Vec<_>, _>>()?)
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
