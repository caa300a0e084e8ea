//! An in-memory node database for tests and for throw-away trees (e.g. a round's I/O tree).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

use super::{
    decode_stale_key, root_key_version, DbError, History, NodeDb, NodeReader, RootRecord,
    WriteBatch,
};
use crate::node::NodeId;

#[derive(Default)]
struct Inner {
    nodes: HashMap<NodeId, Vec<u8>>,
    roots: BTreeMap<[u8; 41], RootRecord>,
    stale: BTreeSet<[u8; 49]>,
    next_node_id: NodeId,
}

/// Nodes and roots in process memory; lost when dropped.
#[derive(Default)]
pub struct MemoryNodeDb {
    inner: Mutex<Inner>,
}

impl MemoryNodeDb {
    /// An empty database.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>, DbError> {
        self.inner.lock().map_err(|_| DbError("memory database lock poisoned".into()))
    }

    /// Overwrites a stored node's bytes: lets tests corrupt the database.
    pub fn corrupt_node(&self, id: NodeId, bytes: Vec<u8>) -> Result<(), DbError> {
        self.lock()?.nodes.insert(id, bytes);
        Ok(())
    }
}

struct MemoryReader<'a>(&'a MemoryNodeDb);

impl NodeReader for MemoryReader<'_> {
    fn node(&self, id: NodeId) -> Result<Option<Vec<u8>>, DbError> {
        Ok(self.0.lock()?.nodes.get(&id).cloned())
    }
}

impl NodeDb for MemoryNodeDb {
    fn reader(&self) -> Result<Box<dyn NodeReader + '_>, DbError> {
        Ok(Box::new(MemoryReader(self)))
    }

    fn root(&self, history: &History, version: u64) -> Result<Option<RootRecord>, DbError> {
        Ok(self.lock()?.roots.get(&history.root_key(version)).copied())
    }

    fn versions(&self, history: &History) -> Result<Vec<u64>, DbError> {
        let prefix = history.prefix();
        let inner = self.lock()?;
        Ok(inner
            .roots
            .range(history.root_key(0)..=history.root_key(u64::MAX))
            .filter(|(k, _)| k[..33] == prefix)
            .map(|(k, _)| {
                let mut v = [0u8; 8];
                v.copy_from_slice(&k[33..]);
                u64::from_be_bytes(v)
            })
            .collect())
    }

    fn last_version(&self, history: &History, at_most: u64) -> Result<Option<u64>, DbError> {
        let inner = self.lock()?;
        let last = inner.roots.range(history.root_key(0)..=history.root_key(at_most)).next_back();
        last.map(|(k, _)| root_key_version(k)).transpose()
    }

    fn first_version(&self, history: &History) -> Result<Option<u64>, DbError> {
        let inner = self.lock()?;
        let first = inner.roots.range(history.root_key(0)..=history.root_key(u64::MAX)).next();
        first.map(|(k, _)| root_key_version(k)).transpose()
    }

    fn stale(&self, history: &History, up_to: u64) -> Result<Vec<(u64, NodeId)>, DbError> {
        let inner = self.lock()?;
        inner
            .stale
            .range(history.stale_key(0, 0)..=history.stale_key(up_to, u64::MAX))
            .map(|k| decode_stale_key(k))
            .collect()
    }

    fn next_node_id(&self) -> Result<NodeId, DbError> {
        Ok(self.lock()?.next_node_id)
    }

    fn write(&self, batch: WriteBatch) -> Result<(), DbError> {
        let mut inner = self.lock()?;
        for (id, bytes) in batch.put_nodes {
            inner.nodes.insert(id, bytes);
        }
        for id in batch.delete_nodes {
            inner.nodes.remove(&id);
        }
        for (key, record) in batch.put_roots {
            inner.roots.insert(key, record);
        }
        for key in batch.delete_roots {
            inner.roots.remove(&key);
        }
        for key in batch.put_stale {
            inner.stale.insert(key);
        }
        for key in batch.delete_stale {
            inner.stale.remove(&key);
        }
        if let Some(next) = batch.next_node_id {
            inner.next_node_id = next;
        }
        Ok(())
    }

    fn node_count(&self) -> Result<u64, DbError> {
        Ok(self.lock()?.nodes.len() as u64)
    }
}
