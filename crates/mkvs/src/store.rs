//! The store: commits write logs as new versions, opens versions for reading, prunes.

use std::sync::Mutex;

use atoll_types::{Hash, RuntimeId};

use crate::cache::NodeCache;
use crate::db::{History, NodeDb, RootRecord, WriteBatch};
use crate::error::{check_key, check_value};
use crate::node::{ChildRef, Node, NodeId};
use crate::root::{Root, RootKind};
use crate::tree::Tree;
use crate::update::TreeUpdate;
use crate::writelog::WriteLog;
use crate::MkvsError;

/// Default number of decoded nodes kept in memory.
pub const DEFAULT_CACHE_NODES: usize = 1 << 20;

/// What a prune removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PruneStats {
    /// Root versions removed.
    pub versions: usize,
    /// Nodes deleted.
    pub nodes: usize,
}

/// A Merklized key-value store over a node database.
///
/// Each (namespace, kind) pair has a linear history of versions. A commit builds version
/// `v` from the latest version (or from an empty tree) and a write log, and stores all of it
/// in one atomic database write.
pub struct Mkvs<D: NodeDb> {
    db: D,
    cache: NodeCache,
    commit_lock: Mutex<()>,
}

fn history(namespace: RuntimeId, kind: RootKind) -> History {
    History { namespace: namespace.into_bytes(), kind }
}

impl<D: NodeDb> Mkvs<D> {
    /// A store over `db` with the default node cache.
    pub fn new(db: D) -> Self {
        Self::with_cache(db, DEFAULT_CACHE_NODES)
    }

    /// A store over `db` caching about `cache_nodes` decoded nodes.
    pub fn with_cache(db: D, cache_nodes: usize) -> Self {
        Self { db, cache: NodeCache::new(cache_nodes), commit_lock: Mutex::new(()) }
    }

    /// The node database.
    pub fn db(&self) -> &D {
        &self.db
    }

    /// The node database, without this store's cache of decoded nodes.
    pub fn into_db(self) -> D {
        self.db
    }

    /// The latest committed root of a history.
    pub fn latest_root(
        &self,
        namespace: RuntimeId,
        kind: RootKind,
    ) -> Result<Option<Root>, MkvsError> {
        let history = history(namespace, kind);
        let Some(version) = self.db.last_version(&history, u64::MAX)? else { return Ok(None) };
        self.root_at(namespace, kind, version).map(Some)
    }

    /// The committed root of a history at `version`.
    pub fn root_at(
        &self,
        namespace: RuntimeId,
        kind: RootKind,
        version: u64,
    ) -> Result<Root, MkvsError> {
        let record = self.record(namespace, kind, version)?;
        Ok(Root { namespace, kind, version, hash: record.hash })
    }

    /// The lowest version of a history still stored.
    pub fn earliest_version(
        &self,
        namespace: RuntimeId,
        kind: RootKind,
    ) -> Result<Option<u64>, MkvsError> {
        Ok(self.db.first_version(&history(namespace, kind))?)
    }

    /// The highest stored version of a history that is at most `at_most`.
    pub fn version_at_most(
        &self,
        namespace: RuntimeId,
        kind: RootKind,
        at_most: u64,
    ) -> Result<Option<u64>, MkvsError> {
        Ok(self.db.last_version(&history(namespace, kind), at_most)?)
    }

    /// The versions of a history still stored, in increasing order.
    pub fn versions(&self, namespace: RuntimeId, kind: RootKind) -> Result<Vec<u64>, MkvsError> {
        Ok(self.db.versions(&history(namespace, kind))?)
    }

    /// Serialises commits and prunes (node ids are allocated from the database counter).
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, ()>, MkvsError> {
        self.commit_lock
            .lock()
            .map_err(|_| MkvsError::Db(crate::db::DbError("commit lock poisoned".into())))
    }

    fn record(
        &self,
        namespace: RuntimeId,
        kind: RootKind,
        version: u64,
    ) -> Result<RootRecord, MkvsError> {
        self.db
            .root(&history(namespace, kind), version)?
            .ok_or(MkvsError::RootNotFound { kind, version })
    }

    /// Opens `root` for reading; it must be stored with exactly this hash.
    pub fn tree(&self, root: &Root) -> Result<Tree<'_>, MkvsError> {
        let record = self.record(root.namespace, root.kind, root.version)?;
        if record.hash != root.hash {
            return Err(MkvsError::RootMismatch { kind: root.kind, version: root.version });
        }
        Ok(self.tree_unchecked(*root, record))
    }

    fn tree_unchecked(&self, root: Root, record: RootRecord) -> Tree<'_> {
        let top = record.node.map(|id| ChildRef { id, hash: record.hash });
        // A reader failure surfaces on first use; an empty tree needs no reader.
        let reader = match self.db.reader() {
            Ok(reader) => reader,
            Err(e) => Box::new(FailingReader(e.0)),
        };
        Tree::new(&self.cache, reader, root, top)
    }

    /// Commits `writes` as `version` of a history.
    ///
    /// `base` is the version the writes apply to: the latest version, or `None` to start
    /// from an empty tree (as a round's I/O tree does). Writes apply in order; for a key
    /// written twice the last write wins. Nothing is stored if any write is over the limits.
    pub fn commit(
        &self,
        namespace: RuntimeId,
        kind: RootKind,
        base: Option<u64>,
        version: u64,
        writes: &WriteLog,
    ) -> Result<Root, MkvsError> {
        self.commit_inner(namespace, kind, base, version, writes, None)
    }

    /// Like [`Mkvs::commit`], but stores nothing unless the new root is `expected`: how a
    /// node applies a write log it got from a peer against a root it trusts.
    pub fn commit_expecting(
        &self,
        namespace: RuntimeId,
        kind: RootKind,
        base: Option<u64>,
        version: u64,
        writes: &WriteLog,
        expected: Hash,
    ) -> Result<Root, MkvsError> {
        self.commit_inner(namespace, kind, base, version, writes, Some(expected))
    }

    fn commit_inner(
        &self,
        namespace: RuntimeId,
        kind: RootKind,
        base: Option<u64>,
        version: u64,
        writes: &WriteLog,
        expected: Option<Hash>,
    ) -> Result<Root, MkvsError> {
        for entry in writes {
            check_key(&entry.key)?;
            if let Some(value) = &entry.value {
                check_value(value)?;
            }
        }
        let _guard = self.lock()?;
        let history = history(namespace, kind);
        let latest = self.db.last_version(&history, u64::MAX)?;
        if let Some(latest) = latest {
            if version <= latest {
                return Err(MkvsError::VersionNotNew { version, latest });
            }
        }
        if let Some(base) = base {
            if Some(base) != latest {
                return Err(MkvsError::BaseNotLatest { base, latest });
            }
        }
        let latest_tree = match latest {
            Some(v) => Some(self.tree(&self.root_at(namespace, kind, v)?)?),
            None => None,
        };
        let base_tree = if base.is_some() { latest_tree.as_ref() } else { None };

        let mut update = TreeUpdate::new(base_tree);
        for entry in writes {
            match &entry.value {
                Some(value) => update.insert(&entry.key, value.clone())?,
                None => update.remove(&entry.key)?,
            }
        }
        let finalized = update.finalize(self.db.next_node_id()?);
        let new_hash = finalized.top.map_or(Hash::ZERO, |t| t.hash);
        if let Some(expected) = expected {
            if new_hash != expected {
                return Err(MkvsError::UnexpectedRoot { expected, got: new_hash });
            }
        }

        let mut batch = WriteBatch::default();
        // A fresh tree shares nothing with the latest version: all of that version's nodes
        // stop being used here. One entry names that whole tree; its nodes are listed only
        // if it is pruned (a round's I/O tree is fresh every round).
        let stale = match (&latest_tree, base) {
            (Some(tree), None) => tree.top().map(|top| top.id | WHOLE_TREE).into_iter().collect(),
            _ => finalized.stale,
        };
        batch.put_stale = stale.iter().map(|id| history.stale_key(version, *id)).collect();
        batch.put_nodes = finalized.new_nodes;
        batch.next_node_id = Some(finalized.next_id);
        let record = RootRecord {
            hash: finalized.top.map_or(Hash::ZERO, |t| t.hash),
            node: finalized.top.map(|t| t.id),
        };
        batch.put_roots.push((history.root_key(version), record));
        self.db.write(batch)?;
        // The next batch reads the paths this one rewrote: from memory, not decoded and
        // hash-checked again.
        self.cache.insert_all(finalized.decoded);
        Ok(Root { namespace, kind, version, hash: record.hash })
    }

    /// Removes every version of a history below `keep_from`, and every node that only
    /// those versions used. Versions `≥ keep_from` stay readable.
    pub fn prune(
        &self,
        namespace: RuntimeId,
        kind: RootKind,
        keep_from: u64,
    ) -> Result<PruneStats, MkvsError> {
        let _guard = self.lock()?;
        let history = history(namespace, kind);
        let versions = self.db.versions(&history)?;
        let Some(&latest) = versions.last() else { return Ok(PruneStats::default()) };
        if keep_from > latest {
            return Err(MkvsError::PruneLatest { keep_from, latest });
        }
        let mut batch = WriteBatch {
            delete_roots: versions
                .iter()
                .filter(|v| **v < keep_from)
                .map(|v| history.root_key(*v))
                .collect(),
            ..WriteBatch::default()
        };
        // A node stale since `s` belongs to versions below `s` only. Whole trees are read
        // here (the reader is closed before the write).
        {
            let reader = self.db.reader()?;
            for (since, id) in self.db.stale(&history, keep_from)? {
                if id & WHOLE_TREE != 0 {
                    subtree_ids(reader.as_ref(), id & !WHOLE_TREE, &mut batch.delete_nodes)?;
                } else {
                    batch.delete_nodes.push(id);
                }
                batch.delete_stale.push(history.stale_key(since, id));
            }
        }
        let stats =
            PruneStats { versions: batch.delete_roots.len(), nodes: batch.delete_nodes.len() };
        self.db.write(batch)?;
        Ok(stats)
    }
}

/// A stale entry with this bit set names the top node of a whole tree that stopped being
/// used (node ids are counted from zero and never reach it).
const WHOLE_TREE: NodeId = 1 << 63;

/// Adds every node id reachable from `top` to `ids` (reading the nodes being pruned: they
/// are only listed, so their hashes need no check).
fn subtree_ids(
    reader: &dyn crate::db::NodeReader,
    top: NodeId,
    ids: &mut Vec<NodeId>,
) -> Result<(), MkvsError> {
    let mut stack = vec![top];
    while let Some(id) = stack.pop() {
        ids.push(id);
        let bytes = reader.node(id)?.ok_or(MkvsError::MissingNode(id))?;
        let node: Node = atoll_types::decode(&bytes, crate::node::MAX_NODE_LEN)
            .map_err(|e| MkvsError::CorruptNode { id, reason: e.to_string() })?;
        if let Node::Internal { left, right, .. } = node {
            stack.push(left.id);
            stack.push(right.id);
        }
    }
    Ok(())
}

struct FailingReader(String);

impl crate::db::NodeReader for FailingReader {
    fn node(&self, _id: NodeId) -> Result<Option<Vec<u8>>, crate::db::DbError> {
        Err(crate::db::DbError(self.0.clone()))
    }
}
