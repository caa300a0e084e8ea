//! The block store: decided blocks by height with the certificate that decided each, indexes
//! by block id, transaction hash and sender, the results and events of each applied block, what each
//! block recorded of each ParaTime round ([`crate::rounds`]), the
//! offences already slashed, the proposals of the height in progress and the manifests of
//! the state checkpoints this node serves, in one redb file. Each block is written in one durable transaction
//! *before* its state is committed; a node that crashes in between replays the block at
//! startup.

use std::path::Path;

use atoll_consensus::{BlockResults, SignedTransaction, MAX_TRANSACTION_SIZE};
use atoll_mkvs::checkpoint::Manifest;
use atoll_types::{decode, encode, Address, Hash, Height, PublicKey, Round, RuntimeId};
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};
use thiserror::Error;

use crate::block::{Block, MAX_BLOCK_SIZE};
use crate::certificate::CommitCertificate;
use crate::evidence::Offence;
use crate::rounds::{self, RoundEntry};

const BLOCKS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("blocks");
const BLOCK_IDS: TableDefinition<'_, &[u8], u64> = TableDefinition::new("block_ids");
const TXS: TableDefinition<'_, &[u8], (u64, u32)> = TableDefinition::new("txs");
const CERTIFICATES: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("certificates");
const RESULTS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("results");
const EVIDENCE: TableDefinition<'_, &[u8], u64> = TableDefinition::new("evidence");
/// Transactions by signer: (sender address, height, index) -> transaction hash.
const SENDERS: TableDefinition<'_, (&[u8], u64, u32), &[u8]> = TableDefinition::new("senders");
/// ParaTime rounds: (runtime id, round, height) -> encoded [`RoundEntry`].
const ROUNDS: TableDefinition<'_, (&[u8], u64, u64), &[u8]> = TableDefinition::new("rounds");
/// Undecided proposals: (height, round, block id) -> encoded [`UndecidedProposal`].
const UNDECIDED: TableDefinition<'_, (u64, u32, &[u8]), &[u8]> = TableDefinition::new("undecided");

/// Checkpoint manifests of the consensus state, by height (see [`atoll_mkvs::checkpoint`]).
const CHECKPOINTS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("checkpoints");
/// The largest stored manifest: [`atoll_mkvs::checkpoint::MAX_CHUNKS`] starts of keys
/// that are short in practice.
const MAX_MANIFEST: usize = 64 << 20;
const MAX_CERTIFICATE_SIZE: usize = 1 << 20;
const MAX_STORED_BLOCK: usize = MAX_BLOCK_SIZE + (1 << 20);
const MAX_STORED_RESULTS: usize = 64 << 20;
const MAX_ROUND_ENTRY: usize = 16 << 20;

/// What the blocks recorded of one ParaTime round, by height.
pub type RoundHistory = Vec<(Height, RoundEntry)>;

/// A proposal received or made for the height in progress, kept so that a restarted node
/// can answer for it (and a restarted proposer re-propose the same block).
#[derive(Clone, PartialEq, Eq, Debug, borsh::BorshSerialize, borsh::BorshDeserialize)]
pub struct UndecidedProposal {
    /// The round it was proposed in.
    pub round: u32,
    /// The proof-of-lock round, `-1` for none.
    pub valid_round: i64,
    /// The block.
    pub block: Block,
    /// Whether the block passed validation.
    pub valid: bool,
}

/// A block store failure.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database failed.
    #[error("block store: {0}")]
    Db(String),
    /// A stored block does not decode.
    #[error("corrupt block at height {0}: {1}")]
    Corrupt(u64, String),
    /// Blocks must be stored in height order without gaps.
    #[error("block {got} does not follow the latest stored block {latest:?}")]
    OutOfOrder {
        /// The latest stored height.
        latest: Option<u64>,
        /// The block's height.
        got: u64,
    },
}

/// Who signed a transaction, if it decodes (its signature is checked by execution, not
/// here: a block may carry a forged one, which then indexes as refused).
fn sender(raw: &[u8]) -> Option<Address> {
    let signed: SignedTransaction = decode(raw, MAX_TRANSACTION_SIZE).ok()?;
    Some(Address::from_public_key(signed.signer()))
}

fn db_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Db(e.to_string())
}

/// Decided blocks on disk.
pub struct BlockStore {
    db: Database,
}

impl BlockStore {
    /// Opens (or creates) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = Database::create(path).map_err(db_err)?;
        let txn = db.begin_write().map_err(db_err)?;
        txn.open_table(BLOCKS).map_err(db_err)?;
        txn.open_table(BLOCK_IDS).map_err(db_err)?;
        txn.open_table(TXS).map_err(db_err)?;
        txn.open_table(CERTIFICATES).map_err(db_err)?;
        txn.open_table(EVIDENCE).map_err(db_err)?;
        txn.open_table(RESULTS).map_err(db_err)?;
        txn.open_table(ROUNDS).map_err(db_err)?;
        txn.open_table(SENDERS).map_err(db_err)?;
        txn.open_table(UNDECIDED).map_err(db_err)?;
        txn.open_table(CHECKPOINTS).map_err(db_err)?;
        txn.commit().map_err(db_err)?;
        Ok(Self { db })
    }

    /// Stores the next block (height `latest + 1`, or any height in an empty store) with the
    /// certificate that decided it, records the offences its evidence slashes and drops the
    /// undecided proposals of its height, all in one durable transaction.
    pub fn put(&self, block: &Block, certificate: &CommitCertificate) -> Result<(), StoreError> {
        let height = block.header.height.0;
        let latest = self.latest()?.map(|h| h.0);
        if latest.is_some_and(|l| l + 1 != height) {
            return Err(StoreError::OutOfOrder { latest, got: height });
        }
        let mut txn = self.db.begin_write().map_err(db_err)?;
        txn.set_durability(Durability::Immediate).map_err(db_err)?;
        {
            let mut blocks = txn.open_table(BLOCKS).map_err(db_err)?;
            blocks.insert(height, encode(block).as_slice()).map_err(db_err)?;
            let mut ids = txn.open_table(BLOCK_IDS).map_err(db_err)?;
            ids.insert(block.id().as_bytes().as_slice(), height).map_err(db_err)?;
            // A copy of an earlier transaction (refused now, since its nonce is used) must
            // not take over the index: the first inclusion stays until results name the
            // one that executed (see `put_results`).
            let mut txs = txn.open_table(TXS).map_err(db_err)?;
            let mut senders = txn.open_table(SENDERS).map_err(db_err)?;
            for (i, tx) in block.transactions.iter().enumerate() {
                let key = Hash::digest(tx);
                if txs.get(key.as_bytes().as_slice()).map_err(db_err)?.is_none() {
                    txs.insert(key.as_bytes().as_slice(), (height, i as u32)).map_err(db_err)?;
                }
                if let Some(sender) = sender(tx) {
                    senders
                        .insert(
                            (sender.as_bytes().as_slice(), height, i as u32),
                            key.as_bytes().as_slice(),
                        )
                        .map_err(db_err)?;
                }
            }
            let mut certificates = txn.open_table(CERTIFICATES).map_err(db_err)?;
            certificates.insert(height, encode(certificate).as_slice()).map_err(db_err)?;
            let mut evidence = txn.open_table(EVIDENCE).map_err(db_err)?;
            for e in &block.evidence {
                evidence.insert(e.key().as_slice(), height).map_err(db_err)?;
            }
            let mut undecided = txn.open_table(UNDECIDED).map_err(db_err)?;
            undecided.retain(|(h, _, _), _| h > height).map_err(db_err)?;
        }
        txn.commit().map_err(db_err)
    }

    /// Records what applying the block at `height` (made at `time`) did (written after the
    /// state commits; derived data, rewritten if the block is replayed, re-derived at
    /// start-up if a crash lost it), indexes the ParaTime rounds it recorded, and points the
    /// index of every transaction that executed (paid its fee, used its nonce: at most one
    /// inclusion ever does) at this block.
    pub fn put_results(
        &self,
        height: Height,
        time: u64,
        results: &BlockResults,
    ) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(db_err)?;
        {
            let mut table = txn.open_table(RESULTS).map_err(db_err)?;
            table.insert(height.0, encode(results).as_slice()).map_err(db_err)?;
            let mut rounds = txn.open_table(ROUNDS).map_err(db_err)?;
            for ((runtime, round), entry) in rounds::entries(time, results) {
                rounds
                    .insert(
                        (runtime.as_bytes().as_slice(), round.0, height.0),
                        encode(&entry).as_slice(),
                    )
                    .map_err(db_err)?;
            }
            let mut txs = txn.open_table(TXS).map_err(db_err)?;
            for (i, result) in results.results.iter().enumerate() {
                if result.executed() {
                    txs.insert(result.hash.as_bytes().as_slice(), (height.0, i as u32))
                        .map_err(db_err)?;
                }
            }
        }
        txn.commit().map_err(db_err)
    }

    /// Replaces the certificate of the stored block at `height` (with one that holds late
    /// precommits as well).
    pub fn replace_certificate(
        &self,
        height: Height,
        certificate: &CommitCertificate,
    ) -> Result<(), StoreError> {
        let mut txn = self.db.begin_write().map_err(db_err)?;
        txn.set_durability(Durability::Immediate).map_err(db_err)?;
        {
            let mut table = txn.open_table(CERTIFICATES).map_err(db_err)?;
            if table.get(height.0).map_err(db_err)?.is_none() {
                return Err(StoreError::Db(format!("no certificate stored at height {height}")));
            }
            table.insert(height.0, encode(certificate).as_slice()).map_err(db_err)?;
        }
        txn.commit().map_err(db_err)
    }

    /// The results and events of the block at `height`, once applied.
    pub fn results(&self, height: Height) -> Result<Option<BlockResults>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let table = txn.open_table(RESULTS).map_err(db_err)?;
        match table.get(height.0).map_err(db_err)? {
            Some(bytes) => decode(bytes.value(), MAX_STORED_RESULTS)
                .map(Some)
                .map_err(|e| StoreError::Corrupt(height.0, e.to_string())),
            None => Ok(None),
        }
    }

    /// The transactions `sender` signed that blocks included (executed or refused), newest
    /// first, below `before` (height, index) if given, at most `limit`.
    pub fn sent_by(
        &self,
        sender: &Address,
        before: Option<(Height, u32)>,
        limit: usize,
    ) -> Result<Vec<(Height, u32, Hash)>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let table = txn.open_table(SENDERS).map_err(db_err)?;
        let id = sender.as_bytes().as_slice();
        let (end_height, end_index) = before.map_or((u64::MAX, u32::MAX), |(h, i)| (h.0, i));
        let mut found = Vec::new();
        for item in table.range((id, 0, 0)..(id, end_height, end_index)).map_err(db_err)?.rev() {
            if found.len() == limit {
                break;
            }
            let (key, value) = item.map_err(db_err)?;
            let (_, height, index) = key.value();
            let hash: [u8; 32] = value
                .value()
                .try_into()
                .map_err(|_| StoreError::Corrupt(height, "a sender index entry".into()))?;
            found.push((Height(height), index, Hash::from_bytes(hash)));
        }
        Ok(found)
    }

    /// What the blocks recorded of `round` of `runtime`, in height order (empty for a round
    /// nothing was recorded of, or one older than the blocks this store keeps).
    pub fn round_history(
        &self,
        runtime: &RuntimeId,
        round: Round,
    ) -> Result<RoundHistory, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let table = txn.open_table(ROUNDS).map_err(db_err)?;
        let id = runtime.as_bytes().as_slice();
        let mut history = Vec::new();
        for item in table.range((id, round.0, 0)..=(id, round.0, u64::MAX)).map_err(db_err)? {
            let (key, value) = item.map_err(db_err)?;
            let height = key.value().2;
            let entry = decode(value.value(), MAX_ROUND_ENTRY)
                .map_err(|e| StoreError::Corrupt(height, e.to_string()))?;
            history.push((Height(height), entry));
        }
        Ok(history)
    }

    /// The latest rounds of `runtime` below `before` (all if `None`) that blocks recorded
    /// something of, newest first, at most `limit` of them, each with its history.
    pub fn recent_rounds(
        &self,
        runtime: &RuntimeId,
        before: Option<Round>,
        limit: usize,
    ) -> Result<Vec<(Round, RoundHistory)>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let table = txn.open_table(ROUNDS).map_err(db_err)?;
        let id = runtime.as_bytes().as_slice();
        let end = before.map_or(u64::MAX, |r| r.0);
        let mut found: Vec<(Round, RoundHistory)> = Vec::new();
        for item in table.range((id, 0, 0)..(id, end, 0)).map_err(db_err)?.rev() {
            let (key, value) = item.map_err(db_err)?;
            let (_, round, height) = key.value();
            if found.last().is_none_or(|(r, _)| r.0 != round) {
                if found.len() == limit {
                    break;
                }
                found.push((Round(round), Vec::new()));
            }
            let entry = decode(value.value(), MAX_ROUND_ENTRY)
                .map_err(|e| StoreError::Corrupt(height, e.to_string()))?;
            if let Some((_, history)) = found.last_mut() {
                history.push((Height(height), entry));
            }
        }
        // Read newest first; each round's history reads oldest first.
        for (_, history) in &mut found {
            history.reverse();
        }
        Ok(found)
    }

    /// The certificate that decided the block at `height`.
    pub fn certificate(&self, height: Height) -> Result<Option<CommitCertificate>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let table = txn.open_table(CERTIFICATES).map_err(db_err)?;
        match table.get(height.0).map_err(db_err)? {
            Some(bytes) => decode(bytes.value(), MAX_CERTIFICATE_SIZE)
                .map(Some)
                .map_err(|e| StoreError::Corrupt(height.0, e.to_string())),
            None => Ok(None),
        }
    }

    /// The height at which an offence (see [`crate::evidence::DoubleSignEvidence::key`])
    /// was slashed, if it was.
    pub fn evidence_included(&self, key: &[u8]) -> Result<Option<u64>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let table = txn.open_table(EVIDENCE).map_err(db_err)?;
        Ok(table.get(key).map_err(db_err)?.map(|v| v.value()))
    }

    /// The latest `limit` offences of `validator` (a consensus key) that blocks slashed,
    /// newest first, each with the height of the block that carried its proof. Offences are
    /// kept for good, beyond block pruning: they must never be slashed twice.
    pub fn offences_of(
        &self,
        validator: &PublicKey,
        limit: usize,
    ) -> Result<Vec<(Offence, Height)>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let table = txn.open_table(EVIDENCE).map_err(db_err)?;
        let prefix = validator.as_bytes().as_slice();
        let mut found = Vec::new();
        for item in table.range(prefix..).map_err(db_err)? {
            let (key, value) = item.map_err(db_err)?;
            if !key.value().starts_with(prefix) {
                break;
            }
            let included = value.value();
            let offence: Offence = decode(key.value(), 64)
                .map_err(|e| StoreError::Corrupt(included, format!("an offence key: {e}")))?;
            found.push((offence, Height(included)));
        }
        // Keys hold heights little-endian: their order is not the chain's.
        found.sort_by_key(|(o, included)| std::cmp::Reverse((*included, o.height, o.round)));
        found.truncate(limit);
        Ok(found)
    }

    /// Keeps a proposal for the height in progress (durably, before it is voted on).
    pub fn put_undecided(
        &self,
        height: Height,
        proposal: &UndecidedProposal,
    ) -> Result<(), StoreError> {
        let mut txn = self.db.begin_write().map_err(db_err)?;
        txn.set_durability(Durability::Immediate).map_err(db_err)?;
        {
            let mut table = txn.open_table(UNDECIDED).map_err(db_err)?;
            let id = proposal.block.id();
            table
                .insert(
                    (height.0, proposal.round, id.as_bytes().as_slice()),
                    encode(proposal).as_slice(),
                )
                .map_err(db_err)?;
        }
        txn.commit().map_err(db_err)
    }

    /// The proposals kept for `height`, optionally only those of one round.
    pub fn undecided(
        &self,
        height: Height,
        round: Option<u32>,
    ) -> Result<Vec<UndecidedProposal>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let table = txn.open_table(UNDECIDED).map_err(db_err)?;
        let (low, high) = match round {
            Some(r) => (r, r),
            None => (0, u32::MAX),
        };
        let start: (u64, u32, &[u8]) = (height.0, low, &[]);
        let end: (u64, u32, &[u8]) = (height.0, high, &[0xff; 33]);
        let mut out = Vec::new();
        for entry in table.range(start..=end).map_err(db_err)? {
            let (_, value) = entry.map_err(db_err)?;
            out.push(
                decode(value.value(), MAX_STORED_BLOCK)
                    .map_err(|e| StoreError::Corrupt(height.0, e.to_string()))?,
            );
        }
        Ok(out)
    }

    /// The block ids of the proposals kept for `height` and `round` (read from the keys
    /// alone: no block is decoded).
    pub fn undecided_ids(&self, height: Height, round: u32) -> Result<Vec<Hash>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let table = txn.open_table(UNDECIDED).map_err(db_err)?;
        let start: (u64, u32, &[u8]) = (height.0, round, &[]);
        let end: (u64, u32, &[u8]) = (height.0, round, &[0xff; 33]);
        let mut ids = Vec::new();
        for entry in table.range(start..=end).map_err(db_err)? {
            let (key, _) = entry.map_err(db_err)?;
            let id: [u8; 32] = key
                .value()
                .2
                .try_into()
                .map_err(|_| StoreError::Corrupt(height.0, "undecided key".into()))?;
            ids.push(Hash::from_bytes(id));
        }
        Ok(ids)
    }

    /// The undecided proposal with this block id at `height`, if kept. Only that proposal
    /// is decoded, whatever else the height holds.
    pub fn undecided_block(
        &self,
        height: Height,
        id: &Hash,
    ) -> Result<Option<UndecidedProposal>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let table = txn.open_table(UNDECIDED).map_err(db_err)?;
        let start: (u64, u32, &[u8]) = (height.0, 0, &[]);
        let end: (u64, u32, &[u8]) = (height.0, u32::MAX, &[0xff; 33]);
        for entry in table.range(start..=end).map_err(db_err)? {
            let (key, value) = entry.map_err(db_err)?;
            if key.value().2 == id.as_bytes().as_slice() {
                return decode(value.value(), MAX_STORED_BLOCK)
                    .map(Some)
                    .map_err(|e| StoreError::Corrupt(height.0, e.to_string()));
            }
        }
        Ok(None)
    }

    /// Records the checkpoint of the state after `height`.
    pub fn put_checkpoint(&self, height: Height, manifest: &Manifest) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(db_err)?;
        {
            let mut checkpoints = txn.open_table(CHECKPOINTS).map_err(db_err)?;
            checkpoints.insert(height.0, encode(manifest).as_slice()).map_err(db_err)?;
        }
        txn.commit().map_err(db_err)
    }

    /// The checkpoint of the state after `height`, if this node made one.
    pub fn checkpoint(&self, height: Height) -> Result<Option<Manifest>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let checkpoints = txn.open_table(CHECKPOINTS).map_err(db_err)?;
        match checkpoints.get(height.0).map_err(db_err)? {
            Some(bytes) => decode(bytes.value(), MAX_MANIFEST)
                .map(Some)
                .map_err(|e| StoreError::Corrupt(height.0, format!("checkpoint: {e}"))),
            None => Ok(None),
        }
    }

    /// The heights with a checkpoint, increasing.
    pub fn checkpoint_heights(&self) -> Result<Vec<Height>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let checkpoints = txn.open_table(CHECKPOINTS).map_err(db_err)?;
        let mut heights = Vec::new();
        for entry in checkpoints.iter().map_err(db_err)? {
            heights.push(Height(entry.map_err(db_err)?.0.value()));
        }
        Ok(heights)
    }

    /// Forgets every checkpoint but the latest `keep`.
    pub fn prune_checkpoints(&self, keep: usize) -> Result<(), StoreError> {
        let heights = self.checkpoint_heights()?;
        let drop = heights.len().saturating_sub(keep);
        if drop == 0 {
            return Ok(());
        }
        let txn = self.db.begin_write().map_err(db_err)?;
        {
            let mut checkpoints = txn.open_table(CHECKPOINTS).map_err(db_err)?;
            for height in &heights[..drop] {
                checkpoints.remove(height.0).map_err(db_err)?;
            }
        }
        txn.commit().map_err(db_err)
    }

    /// The block at `height`.
    pub fn block(&self, height: Height) -> Result<Option<Block>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let blocks = txn.open_table(BLOCKS).map_err(db_err)?;
        match blocks.get(height.0).map_err(db_err)? {
            Some(bytes) => decode(bytes.value(), MAX_STORED_BLOCK)
                .map(Some)
                .map_err(|e| StoreError::Corrupt(height.0, e.to_string())),
            None => Ok(None),
        }
    }

    /// The height of the block with this id.
    pub fn height_of(&self, id: &Hash) -> Result<Option<Height>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let ids = txn.open_table(BLOCK_IDS).map_err(db_err)?;
        Ok(ids.get(id.as_bytes().as_slice()).map_err(db_err)?.map(|v| Height(v.value())))
    }

    /// Where a transaction was included: (height, index).
    pub fn transaction(&self, hash: &Hash) -> Result<Option<(Height, u32)>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let txs = txn.open_table(TXS).map_err(db_err)?;
        Ok(txs.get(hash.as_bytes().as_slice()).map_err(db_err)?.map(|v| {
            let (h, i) = v.value();
            (Height(h), i)
        }))
    }

    /// The highest stored height.
    pub fn latest(&self) -> Result<Option<Height>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let blocks = txn.open_table(BLOCKS).map_err(db_err)?;
        let last = blocks.last().map_err(db_err)?.map(|(k, _)| Height(k.value()));
        Ok(last)
    }

    /// The lowest stored height.
    pub fn earliest(&self) -> Result<Option<Height>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let blocks = txn.open_table(BLOCKS).map_err(db_err)?;
        let first = blocks.first().map_err(db_err)?.map(|(k, _)| Height(k.value()));
        Ok(first)
    }

    /// Deletes blocks below `keep_from` (and their indexes). Returns how many were deleted.
    pub fn prune_below(&self, keep_from: Height) -> Result<usize, StoreError> {
        let Some(earliest) = self.earliest()? else { return Ok(0) };
        let mut deleted = 0;
        let mut txn = self.db.begin_write().map_err(db_err)?;
        txn.set_durability(Durability::Immediate).map_err(db_err)?;
        {
            let mut blocks = txn.open_table(BLOCKS).map_err(db_err)?;
            let mut ids = txn.open_table(BLOCK_IDS).map_err(db_err)?;
            let mut txs = txn.open_table(TXS).map_err(db_err)?;
            let mut certificates = txn.open_table(CERTIFICATES).map_err(db_err)?;
            let mut results = txn.open_table(RESULTS).map_err(db_err)?;
            let mut rounds = txn.open_table(ROUNDS).map_err(db_err)?;
            let mut senders = txn.open_table(SENDERS).map_err(db_err)?;
            for height in earliest.0..keep_from.0 {
                certificates.remove(height).map_err(db_err)?;
                if let Some(bytes) = results.remove(height).map_err(db_err)? {
                    let recorded: BlockResults = decode(bytes.value(), MAX_STORED_RESULTS)
                        .map_err(|e| StoreError::Corrupt(height, e.to_string()))?;
                    drop(bytes);
                    for (runtime, round) in rounds::entries(0, &recorded).into_keys() {
                        rounds
                            .remove((runtime.as_bytes().as_slice(), round.0, height))
                            .map_err(db_err)?;
                    }
                }
                let Some(bytes) = blocks.remove(height).map_err(db_err)? else { continue };
                let block: Block = decode(bytes.value(), MAX_STORED_BLOCK)
                    .map_err(|e| StoreError::Corrupt(height, e.to_string()))?;
                drop(bytes);
                ids.remove(block.id().as_bytes().as_slice()).map_err(db_err)?;
                for (i, tx) in block.transactions.iter().enumerate() {
                    if let Some(sender) = sender(tx) {
                        senders
                            .remove((sender.as_bytes().as_slice(), height, i as u32))
                            .map_err(db_err)?;
                    }
                    // Only mappings to this block: a later inclusion keeps its own.
                    let key = Hash::digest(tx);
                    let here = txs
                        .get(key.as_bytes().as_slice())
                        .map_err(db_err)?
                        .is_some_and(|v| v.value().0 == height);
                    if here {
                        txs.remove(key.as_bytes().as_slice()).map_err(db_err)?;
                    }
                }
                deleted += 1;
            }
        }
        txn.commit().map_err(db_err)?;
        Ok(deleted)
    }
}
