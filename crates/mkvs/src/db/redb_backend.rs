//! The on-disk node database: one redb file, one redb write transaction per batch.
//!
//! redb commits are atomic and durable (copy-on-write B-trees with a checksummed commit
//! slot), so a process killed at any instant reopens at the last committed batch. Pages
//! freed by pruning are reused by later commits.

use std::path::Path;

use redb::{Database, Durability, ReadableDatabase, ReadableTableMetadata, TableDefinition};

use super::{
    decode_stale_key, root_key_version, DbError, History, NodeDb, NodeReader, RootRecord,
    WriteBatch,
};
use crate::node::NodeId;

const NODES: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("nodes");
const ROOTS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("roots");
const STALE: TableDefinition<'_, &[u8], ()> = TableDefinition::new("stale");
const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");
const NEXT_NODE_ID: &str = "next_node_id";

fn err(e: impl std::fmt::Display) -> DbError {
    DbError(e.to_string())
}

/// Nodes and roots in a redb file.
pub struct RedbNodeDb {
    db: Database,
}

impl RedbNodeDb {
    /// Opens the database at `path`, creating it (and its tables) if needed.
    pub fn open(path: &Path) -> Result<Self, DbError> {
        Self::open_with_cache(path, 256 << 20)
    }

    /// Like [`RedbNodeDb::open`] with a page cache of `cache_bytes`.
    pub fn open_with_cache(path: &Path, cache_bytes: usize) -> Result<Self, DbError> {
        let db = Database::builder().set_cache_size(cache_bytes).create(path).map_err(err)?;
        let txn = db.begin_write().map_err(err)?;
        txn.open_table(NODES).map_err(err)?;
        txn.open_table(ROOTS).map_err(err)?;
        txn.open_table(STALE).map_err(err)?;
        txn.open_table(META).map_err(err)?;
        txn.commit().map_err(err)?;
        Ok(Self { db })
    }
}

struct RedbReader {
    nodes: redb::ReadOnlyTable<u64, &'static [u8]>,
}

impl NodeReader for RedbReader {
    fn node(&self, id: NodeId) -> Result<Option<Vec<u8>>, DbError> {
        Ok(self.nodes.get(id).map_err(err)?.map(|v| v.value().to_vec()))
    }
}

impl NodeDb for RedbNodeDb {
    fn reader(&self) -> Result<Box<dyn NodeReader + '_>, DbError> {
        let txn = self.db.begin_read().map_err(err)?;
        Ok(Box::new(RedbReader { nodes: txn.open_table(NODES).map_err(err)? }))
    }

    fn root(&self, history: &History, version: u64) -> Result<Option<RootRecord>, DbError> {
        let txn = self.db.begin_read().map_err(err)?;
        let roots = txn.open_table(ROOTS).map_err(err)?;
        let key = history.root_key(version);
        roots.get(key.as_slice()).map_err(err)?.map(|v| RootRecord::decode(v.value())).transpose()
    }

    fn versions(&self, history: &History) -> Result<Vec<u64>, DbError> {
        let txn = self.db.begin_read().map_err(err)?;
        let roots = txn.open_table(ROOTS).map_err(err)?;
        let (lo, hi) = (history.root_key(0), history.root_key(u64::MAX));
        let mut versions = Vec::new();
        for entry in roots.range(lo.as_slice()..=hi.as_slice()).map_err(err)? {
            let (key, _) = entry.map_err(err)?;
            versions.push(root_key_version(key.value())?);
        }
        Ok(versions)
    }

    fn last_version(&self, history: &History, at_most: u64) -> Result<Option<u64>, DbError> {
        let txn = self.db.begin_read().map_err(err)?;
        let roots = txn.open_table(ROOTS).map_err(err)?;
        let (lo, hi) = (history.root_key(0), history.root_key(at_most));
        let mut range = roots.range(lo.as_slice()..=hi.as_slice()).map_err(err)?;
        match range.next_back() {
            Some(entry) => Ok(Some(root_key_version(entry.map_err(err)?.0.value())?)),
            None => Ok(None),
        }
    }

    fn first_version(&self, history: &History) -> Result<Option<u64>, DbError> {
        let txn = self.db.begin_read().map_err(err)?;
        let roots = txn.open_table(ROOTS).map_err(err)?;
        let (lo, hi) = (history.root_key(0), history.root_key(u64::MAX));
        let mut range = roots.range(lo.as_slice()..=hi.as_slice()).map_err(err)?;
        match range.next() {
            Some(entry) => Ok(Some(root_key_version(entry.map_err(err)?.0.value())?)),
            None => Ok(None),
        }
    }

    fn stale(&self, history: &History, up_to: u64) -> Result<Vec<(u64, NodeId)>, DbError> {
        let txn = self.db.begin_read().map_err(err)?;
        let stale = txn.open_table(STALE).map_err(err)?;
        let (lo, hi) = (history.stale_key(0, 0), history.stale_key(up_to, u64::MAX));
        let mut out = Vec::new();
        for entry in stale.range(lo.as_slice()..=hi.as_slice()).map_err(err)? {
            let (key, _) = entry.map_err(err)?;
            out.push(decode_stale_key(key.value())?);
        }
        Ok(out)
    }

    fn next_node_id(&self) -> Result<NodeId, DbError> {
        let txn = self.db.begin_read().map_err(err)?;
        let meta = txn.open_table(META).map_err(err)?;
        Ok(meta.get(NEXT_NODE_ID).map_err(err)?.map(|v| v.value()).unwrap_or(0))
    }

    fn write(&self, batch: WriteBatch) -> Result<(), DbError> {
        let mut txn = self.db.begin_write().map_err(err)?;
        txn.set_durability(Durability::Immediate).map_err(err)?;
        {
            let mut nodes = txn.open_table(NODES).map_err(err)?;
            for (id, bytes) in &batch.put_nodes {
                nodes.insert(id, bytes.as_slice()).map_err(err)?;
            }
            for id in &batch.delete_nodes {
                nodes.remove(id).map_err(err)?;
            }
            let mut roots = txn.open_table(ROOTS).map_err(err)?;
            for (key, record) in &batch.put_roots {
                roots.insert(key.as_slice(), record.encode().as_slice()).map_err(err)?;
            }
            for key in &batch.delete_roots {
                roots.remove(key.as_slice()).map_err(err)?;
            }
            let mut stale = txn.open_table(STALE).map_err(err)?;
            for key in &batch.put_stale {
                stale.insert(key.as_slice(), ()).map_err(err)?;
            }
            for key in &batch.delete_stale {
                stale.remove(key.as_slice()).map_err(err)?;
            }
            if let Some(next) = batch.next_node_id {
                let mut meta = txn.open_table(META).map_err(err)?;
                meta.insert(NEXT_NODE_ID, next).map_err(err)?;
            }
        }
        txn.commit().map_err(err)
    }

    fn node_count(&self) -> Result<u64, DbError> {
        let txn = self.db.begin_read().map_err(err)?;
        txn.open_table(NODES).map_err(err)?.len().map_err(err)
    }
}
