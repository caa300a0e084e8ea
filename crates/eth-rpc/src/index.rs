//! The Ethereum index: blocks by number and hash, transactions by hash with their receipts,
//! and the blocks holding logs by emitting address and by topic, in one redb file beside
//! the runtime's storage.
//!
//! It is derived data: everything in it follows from the runtime's finalized state and I/O
//! (see [`crate::feed`]), so a missing or deleted index is rebuilt from them. Every round
//! is written in one redb write transaction, so a crash leaves whole rounds only.

use std::collections::BTreeSet;
use std::path::Path;

use alloy_consensus::Header;
use alloy_primitives::B256;
use alloy_rlp::Decodable;
use atoll_evm::module::Receipt;
use borsh::{BorshDeserialize, BorshSerialize};
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};

use crate::error::IndexError;

/// Block number → [`IndexedBlock`].
const BLOCKS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("blocks");
/// Block hash → block number.
const BLOCK_HASHES: TableDefinition<'_, &[u8], u64> = TableDefinition::new("block_hashes");
/// Transaction hash → [`IndexedTx`].
const TRANSACTIONS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("transactions");
/// Log keys: `key ‖ block number (big-endian)` for every block whose logs have that key —
/// `a ‖ address` for an emitting contract, `t ‖ position ‖ topic` for a topic at a
/// position, `l` for any log at all. A range scan of one key gives its blocks in order.
const LOG_KEYS: TableDefinition<'_, &[u8], ()> = TableDefinition::new("log_keys");
/// `next_block`, `next_round`, `schema`.
const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");

/// The layout version: an index written with another one is rebuilt.
const SCHEMA: u64 = 2;
/// The log key of blocks with any log.
const ANY_LOG: &[u8] = b"l";

/// Most bytes of a stored record.
const MAX_RECORD: usize = 64 << 20;

/// An Ethereum block.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct IndexedBlock {
    /// Its number.
    pub number: u64,
    /// The RLP of its header.
    pub header: Vec<u8>,
    /// `keccak256(header)`.
    pub hash: [u8; 32],
    /// Its transactions' hashes, in order.
    pub transactions: Vec<[u8; 32]>,
}

impl IndexedBlock {
    /// The decoded header.
    pub fn header(&self) -> Result<Header, IndexError> {
        Header::decode(&mut self.header.as_slice()).map_err(|e| IndexError::Corrupt(e.to_string()))
    }
}

/// An Ethereum transaction of a block, with its receipt.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct IndexedTx {
    /// The block's number.
    pub block_number: u64,
    /// The block's hash.
    pub block_hash: [u8; 32],
    /// Position in the block.
    pub index: u32,
    /// The signed transaction (EIP-2718 bytes).
    pub raw: Vec<u8>,
    /// What the ParaTime recorded for it.
    pub receipt: Receipt,
    /// Gas used by the block up to and including it.
    pub cumulative_gas_used: u64,
    /// The block-wide index of its first log.
    pub first_log_index: u32,
}

/// What one round adds: blocks in order, each with its transactions.
#[derive(Default)]
pub struct RoundBatch {
    /// The round it indexes.
    pub round: u64,
    /// The blocks (empty ones for rounds that did not execute, then the executed one).
    pub blocks: Vec<(IndexedBlock, Vec<IndexedTx>)>,
    /// The node pruned the rounds before this one: its first block may come after a gap.
    pub after_pruned: bool,
}

/// What `eth_getLogs` asks the index: blocks with a log from one of `addresses` (any
/// address when empty) whose topic at each position is one of `topics[i]` (any when empty).
#[derive(Clone, Debug, Default)]
pub struct LogQuery {
    /// Emitting contracts (OR).
    pub addresses: Vec<[u8; 20]>,
    /// Topics by position (OR within a position, AND across positions).
    pub topics: [Vec<[u8; 32]>; 4],
}

fn address_key(address: &[u8; 20]) -> Vec<u8> {
    [b"a".as_slice(), address].concat()
}

fn topic_key(position: usize, topic: &[u8; 32]) -> Vec<u8> {
    [b"t".as_slice(), &[position as u8], topic].concat()
}

fn with_block(key: &[u8], number: u64) -> Vec<u8> {
    [key, &number.to_be_bytes()].concat()
}

/// The log keys of a block's transactions.
fn log_keys(transactions: &[IndexedTx]) -> BTreeSet<Vec<u8>> {
    let mut keys = BTreeSet::new();
    for log in transactions.iter().flat_map(|tx| &tx.receipt.logs) {
        keys.insert(ANY_LOG.to_vec());
        keys.insert(address_key(&log.address));
        for (position, topic) in log.topics.iter().enumerate().take(4) {
            keys.insert(topic_key(position, topic));
        }
    }
    keys
}

/// The index on disk.
pub struct Index {
    db: Database,
}

fn err(e: impl std::fmt::Display) -> IndexError {
    IndexError::Db(e.to_string())
}

impl Index {
    /// Opens (or creates) the index at `path`.
    pub fn open(path: &Path) -> Result<Self, IndexError> {
        let db = Database::builder().set_cache_size(64 << 20).create(path).map_err(err)?;
        let txn = db.begin_write().map_err(err)?;
        let schema =
            txn.open_table(META).map_err(err)?.get("schema").map_err(err)?.map(|v| v.value());
        if schema != Some(SCHEMA) {
            // Derived data in an older layout (or none): start over; the feed rebuilds it.
            for table in ["blocks", "block_hashes", "transactions", "log_keys", "meta"] {
                let definition: TableDefinition<'_, &[u8], ()> = TableDefinition::new(table);
                txn.delete_table(definition).map_err(err)?;
            }
        }
        txn.open_table(BLOCKS).map_err(err)?;
        txn.open_table(BLOCK_HASHES).map_err(err)?;
        txn.open_table(TRANSACTIONS).map_err(err)?;
        txn.open_table(LOG_KEYS).map_err(err)?;
        txn.open_table(META).map_err(err)?.insert("schema", SCHEMA).map_err(err)?;
        txn.commit().map_err(err)?;
        Ok(Self { db })
    }

    fn meta(&self, key: &str) -> Result<Option<u64>, IndexError> {
        let txn = self.db.begin_read().map_err(err)?;
        let meta = txn.open_table(META).map_err(err)?;
        Ok(meta.get(key).map_err(err)?.map(|v| v.value()))
    }

    /// The number the next block gets (0 when nothing is indexed).
    pub fn next_block(&self) -> Result<u64, IndexError> {
        Ok(self.meta("next_block")?.unwrap_or(0))
    }

    /// The latest block, if any.
    pub fn latest(&self) -> Result<Option<(u64, IndexedBlock)>, IndexError> {
        let next = self.next_block()?;
        let Some(number) = next.checked_sub(1) else { return Ok(None) };
        Ok(self.block(number)?.map(|b| (number, b)))
    }

    /// The round after the last one indexed.
    pub fn next_round(&self) -> Result<u64, IndexError> {
        Ok(self.meta("next_round")?.unwrap_or(0))
    }

    /// Block `number`.
    pub fn block(&self, number: u64) -> Result<Option<IndexedBlock>, IndexError> {
        let txn = self.db.begin_read().map_err(err)?;
        let blocks = txn.open_table(BLOCKS).map_err(err)?;
        let Some(bytes) = blocks.get(number).map_err(err)? else { return Ok(None) };
        decode(bytes.value()).map(Some)
    }

    /// The number of the block with `hash`.
    pub fn block_number(&self, hash: &B256) -> Result<Option<u64>, IndexError> {
        let txn = self.db.begin_read().map_err(err)?;
        let hashes = txn.open_table(BLOCK_HASHES).map_err(err)?;
        Ok(hashes.get(hash.as_slice()).map_err(err)?.map(|v| v.value()))
    }

    /// The transaction with `hash`.
    pub fn transaction(&self, hash: &B256) -> Result<Option<IndexedTx>, IndexError> {
        let txn = self.db.begin_read().map_err(err)?;
        let txs = txn.open_table(TRANSACTIONS).map_err(err)?;
        let Some(bytes) = txs.get(hash.as_slice()).map_err(err)? else { return Ok(None) };
        decode(bytes.value()).map(Some)
    }

    /// Every transaction of `block`, in order.
    pub fn transactions(&self, block: &IndexedBlock) -> Result<Vec<IndexedTx>, IndexError> {
        let txn = self.db.begin_read().map_err(err)?;
        let txs = txn.open_table(TRANSACTIONS).map_err(err)?;
        let mut out = Vec::with_capacity(block.transactions.len());
        for hash in &block.transactions {
            let bytes = txs
                .get(hash.as_slice())
                .map_err(err)?
                .ok_or_else(|| IndexError::Corrupt("a block's transaction is missing".into()))?;
            out.push(decode(bytes.value())?);
        }
        Ok(out)
    }

    /// Writes a round's blocks (they must continue the index, or come after a gap the node
    /// pruned) and marks the round done, in one durable transaction.
    pub fn append(&self, batch: &RoundBatch) -> Result<(), IndexError> {
        let mut next = self.next_block()?;
        let mut txn = self.db.begin_write().map_err(err)?;
        txn.set_durability(Durability::Immediate).map_err(err)?;
        {
            let mut blocks = txn.open_table(BLOCKS).map_err(err)?;
            let mut hashes = txn.open_table(BLOCK_HASHES).map_err(err)?;
            let mut txs = txn.open_table(TRANSACTIONS).map_err(err)?;
            let mut log_table = txn.open_table(LOG_KEYS).map_err(err)?;
            let mut meta = txn.open_table(META).map_err(err)?;
            for (position, (block, transactions)) in batch.blocks.iter().enumerate() {
                let number = block.number;
                if batch.after_pruned && position == 0 && number > next {
                    next = number;
                }
                if number != next {
                    return Err(IndexError::Corrupt(format!(
                        "block {number} does not continue the index at {next}"
                    )));
                }
                blocks.insert(number, atoll_types::encode(block).as_slice()).map_err(err)?;
                hashes.insert(block.hash.as_slice(), number).map_err(err)?;
                for tx in transactions {
                    txs.insert(tx.receipt.hash.as_slice(), atoll_types::encode(tx).as_slice())
                        .map_err(err)?;
                }
                for key in log_keys(transactions) {
                    log_table.insert(with_block(&key, number).as_slice(), ()).map_err(err)?;
                }
                next += 1;
            }
            meta.insert("next_block", next).map_err(err)?;
            meta.insert("next_round", batch.round + 1).map_err(err)?;
        }
        txn.commit().map_err(err)
    }
}

impl Index {
    /// The blocks in `from..=to` that may hold logs `query` selects, in order: every block
    /// that does is among them (a block where different logs satisfy different parts of
    /// the query is too; callers match each log).
    pub fn log_blocks(&self, from: u64, to: u64, query: &LogQuery) -> Result<Vec<u64>, IndexError> {
        let txn = self.db.begin_read().map_err(err)?;
        let table = txn.open_table(LOG_KEYS).map_err(err)?;
        let blocks_of = |key: &[u8], into: &mut BTreeSet<u64>| -> Result<(), IndexError> {
            let (start, end) = (with_block(key, from), with_block(key, to));
            for entry in table.range::<&[u8]>(start.as_slice()..=end.as_slice()).map_err(err)? {
                let (stored, _) = entry.map_err(err)?;
                let bytes = stored.value();
                let number = bytes[bytes.len().saturating_sub(8)..]
                    .try_into()
                    .map(u64::from_be_bytes)
                    .map_err(|_| IndexError::Corrupt("a short log key".into()))?;
                into.insert(number);
            }
            Ok(())
        };
        // Each constraint is a set of keys (OR); the blocks of all constraints intersect.
        let mut constraints: Vec<Vec<Vec<u8>>> = Vec::new();
        if !query.addresses.is_empty() {
            constraints.push(query.addresses.iter().map(address_key).collect());
        }
        for (position, topics) in query.topics.iter().enumerate() {
            if !topics.is_empty() {
                constraints.push(topics.iter().map(|t| topic_key(position, t)).collect());
            }
        }
        if constraints.is_empty() {
            constraints.push(vec![ANY_LOG.to_vec()]);
        }
        let mut found: Option<BTreeSet<u64>> = None;
        for keys in constraints {
            let mut blocks = BTreeSet::new();
            for key in &keys {
                blocks_of(key, &mut blocks)?;
            }
            let narrowed = match found {
                None => blocks,
                Some(so_far) => so_far.intersection(&blocks).copied().collect(),
            };
            let done = narrowed.is_empty();
            found = Some(narrowed);
            if done {
                break;
            }
        }
        Ok(found.unwrap_or_default().into_iter().collect())
    }
}

fn decode<T: BorshDeserialize>(bytes: &[u8]) -> Result<T, IndexError> {
    atoll_types::decode(bytes, MAX_RECORD).map_err(|e| IndexError::Corrupt(e.to_string()))
}
