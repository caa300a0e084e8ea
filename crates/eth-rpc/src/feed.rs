//! Feeds the index from the node's finalized rounds, and the pending-transaction filters
//! and subscriptions from the node's pool.
//!
//! For every round the compute role stored (oldest first, from where the index stopped),
//! the round's state holds the EVM module's [`BlockRecord`] (header and transaction order)
//! and its I/O tree holds each transaction with its outcome, whose output is the
//! [`Receipt`]. The empty blocks of rounds that did not execute are rebuilt with the same
//! function the runtime used ([`atoll_evm::block::gap_headers`]), so every hash matches the
//! one `BLOCKHASH` returns.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use alloy_primitives::{keccak256, B256};
use atoll_compute::{ComputeHandle, RoundsHold};
use atoll_evm::block::{self, BlockRecord};
use atoll_evm::module::{Receipt, SCHEME};
use atoll_runtime_sdk::{AuthProof, UnverifiedTransaction};
use tokio::sync::broadcast;

use crate::error::IndexError;
use crate::filter::Filters;
use crate::index::{Index, IndexedBlock, IndexedTx, RoundBatch};

/// Largest runtime transaction the feed decodes.
const MAX_RUNTIME_TX: usize = 1 << 20;
/// How often the feed looks for new rounds.
const POLL: Duration = Duration::from_millis(100);

/// Indexes newly stored rounds until the node stops, announcing each new block on `heads`.
pub(crate) async fn run(compute: ComputeHandle, index: Arc<Index>, heads: broadcast::Sender<u64>) {
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let hold = Arc::new(compute.hold_rounds());
    loop {
        tick.tick().await;
        let (compute, index_ref, hold) = (compute.clone(), index.clone(), hold.clone());
        let done = tokio::task::spawn_blocking(move || catch_up(&compute, &index_ref, &hold)).await;
        match done {
            Ok(Ok(new)) => {
                for number in new {
                    let _ = heads.send(number);
                }
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "ethereum index: round not indexed"),
            Err(e) => tracing::warn!(error = %e, "ethereum index task"),
        }
    }
}

/// Announces every Ethereum transaction that enters the node's pool — taken by this
/// endpoint, another API of the node, or gossip — to the pending-transaction filters and
/// subscriptions, by its Ethereum hash.
pub(crate) async fn pending(
    mut pool: broadcast::Receiver<Arc<Vec<u8>>>,
    filters: Arc<Filters>,
    hashes: broadcast::Sender<B256>,
) {
    loop {
        let raw = match pool.recv().await {
            Ok(raw) => raw,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::debug!(missed, "pending transactions not announced");
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let Some(body) = ethereum_body(&raw) else { continue };
        let hash = keccak256(&body);
        filters.pending(hash);
        let _ = hashes.send(hash);
    }
}

/// The raw Ethereum transaction a runtime transaction carries, if it is one.
fn ethereum_body(raw: &[u8]) -> Option<Vec<u8>> {
    let tx = atoll_types::decode::<UnverifiedTransaction>(raw, MAX_RUNTIME_TX).ok()?;
    matches!(&tx.proof, AuthProof::Module(scheme) if scheme == SCHEME).then_some(tx.body)
}

/// Indexes every stored round after the index's last one; returns the new block numbers.
///
/// The node keeps every round from where the index stopped until the index has read it
/// (`hold`). An index that starts after the node pruned (a new index on a node that keeps a
/// window) begins at the earliest round the node has.
pub fn catch_up(
    compute: &ComputeHandle,
    index: &Index,
    hold: &RoundsHold,
) -> Result<Vec<u64>, IndexError> {
    let from = index.next_round()?;
    hold.keep_from(from);
    // Rounds between the index's last one and the node's earliest were pruned: their
    // blocks cannot be rebuilt (only rounds that did not execute have no state version).
    let continuous = compute.earliest_round()? <= from;
    let mut new = Vec::new();
    for (n, round) in compute.stored_rounds(from)?.into_iter().enumerate() {
        let batch = round_batch(compute, index, round, continuous || n > 0)?;
        index.append(&batch)?;
        hold.keep_from(round.saturating_add(1));
        new.extend(batch.blocks.iter().map(|(block, _)| block.number));
    }
    Ok(new)
}

/// The blocks finalized round `round` adds to the index: with `fill_gap`, the empty
/// blocks of the rounds since the index's last block too.
fn round_batch(
    compute: &ComputeHandle,
    index: &Index,
    round: u64,
    fill_gap: bool,
) -> Result<RoundBatch, IndexError> {
    let mut batch = RoundBatch { round, blocks: Vec::new(), after_pruned: !fill_gap };
    let Some(bytes) = compute.state_value(round, &block::record_key())? else {
        return Ok(batch);
    };
    let record: BlockRecord = atoll_types::decode(&bytes, 64 << 20)
        .map_err(|e| IndexError::Corrupt(format!("block record of round {round}: {e}")))?;
    let header = record.header().map_err(|e| IndexError::Corrupt(e.to_string()))?;
    let next = index.next_block()?;
    if header.number < next {
        return Ok(batch);
    }
    let previous = match index.latest()? {
        Some((number, block)) => Some((number, B256::from(block.hash))),
        None => None,
    };
    if fill_gap {
        for empty in block::gap_headers(previous, &header) {
            batch.blocks.push((indexed_block(&empty, Vec::new()), Vec::new()));
        }
    } else {
        tracing::info!(
            round,
            "ethereum index: blocks before {} were pruned from this node; the index starts there",
            header.number
        );
    }
    let parent = batch.blocks.last().map(|(b, _)| B256::from(b.hash)).or(previous.map(|p| p.1));
    if fill_gap && parent.unwrap_or(B256::ZERO) != header.parent_hash {
        tracing::warn!(
            round,
            "ethereum index: block {} does not link to its parent",
            header.number
        );
    }
    let executed = indexed_block(&header, record.transactions);
    let txs = transactions(compute, round, &executed)?;
    batch.blocks.push((executed, txs));
    Ok(batch)
}

fn indexed_block(header: &alloy_consensus::Header, transactions: Vec<[u8; 32]>) -> IndexedBlock {
    let mut encoded = Vec::new();
    alloy_rlp::Encodable::encode(header, &mut encoded);
    let hash = keccak256(&encoded).0;
    IndexedBlock { number: header.number, header: encoded, hash, transactions }
}

/// The block's Ethereum transactions in order, found in the round's I/O by their hash.
fn transactions(
    compute: &ComputeHandle,
    round: u64,
    block: &IndexedBlock,
) -> Result<Vec<IndexedTx>, IndexError> {
    let mut found: HashMap<[u8; 32], (Vec<u8>, Receipt)> = HashMap::new();
    let io = compute.round_transactions(round)?;
    for (raw, outcome) in io {
        let Some(body) = ethereum_body(&raw) else { continue };
        let Ok(receipt) = atoll_types::decode::<Receipt>(&outcome.output, MAX_RUNTIME_TX) else {
            continue;
        };
        found.insert(keccak256(&body).0, (body, receipt));
    }
    let (mut cumulative, mut logs) = (0u64, 0u32);
    let mut out = Vec::with_capacity(block.transactions.len());
    for (position, hash) in block.transactions.iter().enumerate() {
        let (raw, receipt) = found.remove(hash).ok_or_else(|| {
            IndexError::Corrupt(format!(
                "transaction {} of block {} missing",
                B256::from(*hash),
                block.number
            ))
        })?;
        cumulative = cumulative.saturating_add(receipt.gas_used);
        let first_log_index = logs;
        logs = logs.saturating_add(receipt.logs.len() as u32);
        out.push(IndexedTx {
            block_number: block.number,
            block_hash: block.hash,
            index: position as u32,
            raw,
            receipt,
            cumulative_gas_used: cumulative,
            first_log_index,
        });
    }
    Ok(out)
}
