//! State read through the host: the runtime keeps no state of its own. Nodes come from
//! the host on demand and are checked against the root hash the batch names (every node's
//! hash against its parent), so a host serving wrong state is caught; nodes the runtime
//! writes while committing stay in memory until the next request.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use atoll_mkvs::db::{DbError, History, NodeDb, NodeReader, RootRecord, WriteBatch};
use atoll_mkvs::node::NodeId;
use atoll_mkvs::RootKind;
use atoll_runtime_host::runtime::HostLink;
use atoll_runtime_host::StateRoot;

/// Ids of nodes the runtime writes start here, far from any host id.
const LOCAL_IDS: NodeId = 1 << 62;

#[derive(Default)]
struct Local {
    nodes: HashMap<NodeId, Vec<u8>>,
    roots: BTreeMap<(u8, u64), RootRecord>,
    next: NodeId,
}

/// A node database backed by the host.
pub struct RemoteNodeDb {
    host: Mutex<Option<HostLink>>,
    state: Mutex<Option<StateRoot>>,
    local: Mutex<Local>,
}

fn poisoned() -> DbError {
    DbError("remote node database lock poisoned".into())
}

impl RemoteNodeDb {
    /// A database with no host yet.
    pub fn new() -> Self {
        Self {
            host: Mutex::new(None),
            state: Mutex::new(None),
            local: Mutex::new(Local { next: LOCAL_IDS, ..Local::default() }),
        }
    }

    /// Starts a request: the host to read from and the state it names; forgets the nodes
    /// written for the previous request.
    pub fn begin(&self, host: &HostLink, state: StateRoot) -> Result<(), DbError> {
        *self.host.lock().map_err(|_| poisoned())? = Some(host.clone());
        *self.state.lock().map_err(|_| poisoned())? = Some(state);
        let mut local = self.local.lock().map_err(|_| poisoned())?;
        local.nodes.clear();
        local.roots.clear();
        Ok(())
    }
}

impl Default for RemoteNodeDb {
    fn default() -> Self {
        Self::new()
    }
}

struct RemoteReader<'a>(&'a RemoteNodeDb);

impl NodeReader for RemoteReader<'_> {
    fn node(&self, id: NodeId) -> Result<Option<Vec<u8>>, DbError> {
        if let Some(bytes) = self.0.local.lock().map_err(|_| poisoned())?.nodes.get(&id) {
            return Ok(Some(bytes.clone()));
        }
        let host = self
            .0
            .host
            .lock()
            .map_err(|_| poisoned())?
            .clone()
            .ok_or_else(|| DbError("no host connection".into()))?;
        host.get_node(id).map_err(|e| DbError(e.to_string()))
    }
}

impl NodeDb for RemoteNodeDb {
    fn reader(&self) -> Result<Box<dyn NodeReader + '_>, DbError> {
        Ok(Box::new(RemoteReader(self)))
    }

    fn root(&self, history: &History, version: u64) -> Result<Option<RootRecord>, DbError> {
        if let Some(record) =
            self.local.lock().map_err(|_| poisoned())?.roots.get(&(history.kind as u8, version))
        {
            return Ok(Some(*record));
        }
        let state = *self.state.lock().map_err(|_| poisoned())?;
        Ok(state
            .filter(|s| history.kind == RootKind::State && s.version == version)
            .map(|s| RootRecord { hash: s.hash, node: s.node }))
    }

    fn versions(&self, history: &History) -> Result<Vec<u64>, DbError> {
        let mut versions: Vec<u64> = self
            .local
            .lock()
            .map_err(|_| poisoned())?
            .roots
            .keys()
            .filter(|(k, _)| *k == history.kind as u8)
            .map(|(_, v)| *v)
            .collect();
        if history.kind == RootKind::State {
            if let Some(state) = *self.state.lock().map_err(|_| poisoned())? {
                versions.push(state.version);
            }
        }
        versions.sort_unstable();
        versions.dedup();
        Ok(versions)
    }

    fn last_version(&self, history: &History, at_most: u64) -> Result<Option<u64>, DbError> {
        let local = self.local.lock().map_err(|_| poisoned())?;
        let kind = history.kind as u8;
        let mut last = local.roots.range((kind, 0)..=(kind, at_most)).next_back().map(|(k, _)| k.1);
        if history.kind == RootKind::State {
            if let Some(state) = *self.state.lock().map_err(|_| poisoned())? {
                if state.version <= at_most {
                    last = last.max(Some(state.version));
                }
            }
        }
        Ok(last)
    }

    fn first_version(&self, history: &History) -> Result<Option<u64>, DbError> {
        Ok(self.versions(history)?.first().copied())
    }

    fn stale(&self, _history: &History, _up_to: u64) -> Result<Vec<(u64, NodeId)>, DbError> {
        Ok(Vec::new())
    }

    fn next_node_id(&self) -> Result<NodeId, DbError> {
        Ok(self.local.lock().map_err(|_| poisoned())?.next)
    }

    fn write(&self, batch: WriteBatch) -> Result<(), DbError> {
        let mut local = self.local.lock().map_err(|_| poisoned())?;
        for (id, bytes) in batch.put_nodes {
            local.nodes.insert(id, bytes);
        }
        for (key, record) in batch.put_roots {
            let mut version = [0u8; 8];
            version.copy_from_slice(&key[33..41]);
            local.roots.insert((key[32], u64::from_be_bytes(version)), record);
        }
        if let Some(next) = batch.next_node_id {
            local.next = next;
        }
        Ok(())
    }

    fn node_count(&self) -> Result<u64, DbError> {
        Ok(self.local.lock().map_err(|_| poisoned())?.nodes.len() as u64)
    }
}
