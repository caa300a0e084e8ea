//! Where nodes and roots are kept: the [`NodeDb`] capability and its two backends.
//!
//! The trie logic never touches storage directly; it reads through a [`NodeReader`] and
//! writes one [`WriteBatch`] per commit or prune, which a backend must apply atomically.

mod memory;
mod redb_backend;

pub use memory::MemoryNodeDb;
pub use redb_backend::RedbNodeDb;

use atoll_types::Hash;
use thiserror::Error;

use crate::node::NodeId;
use crate::root::RootKind;

/// A storage failure (I/O, a corrupt database file, …).
#[derive(Debug, Error)]
#[error("node database: {0}")]
pub struct DbError(pub String);

/// The history a root belongs to: namespace and kind.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct History {
    /// Runtime id or the consensus namespace.
    pub namespace: [u8; 32],
    /// State or I/O.
    pub kind: RootKind,
}

impl History {
    /// `namespace || kind`, the prefix of every root and stale-index key of this history.
    pub(crate) fn prefix(&self) -> [u8; 33] {
        let mut p = [0u8; 33];
        p[..32].copy_from_slice(&self.namespace);
        p[32] = self.kind as u8;
        p
    }

    /// Key of this history's root at `version` (big-endian, so keys sort by version).
    pub(crate) fn root_key(&self, version: u64) -> [u8; 41] {
        let mut k = [0u8; 41];
        k[..33].copy_from_slice(&self.prefix());
        k[33..].copy_from_slice(&version.to_be_bytes());
        k
    }

    /// Key of a stale-index entry: node `id` is not part of any version ≥ `since`.
    pub(crate) fn stale_key(&self, since: u64, id: NodeId) -> [u8; 49] {
        let mut k = [0u8; 49];
        k[..41].copy_from_slice(&self.root_key(since));
        k[41..].copy_from_slice(&id.to_be_bytes());
        k
    }
}

/// What is stored for a committed root.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RootRecord {
    /// The root hash.
    pub hash: Hash,
    /// The root node, or `None` for an empty tree.
    pub node: Option<NodeId>,
}

impl RootRecord {
    pub(crate) fn encode(&self) -> [u8; 41] {
        let mut out = [0u8; 41];
        out[..32].copy_from_slice(self.hash.as_bytes());
        if let Some(id) = self.node {
            out[32] = 1;
            out[33..].copy_from_slice(&id.to_be_bytes());
        }
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, DbError> {
        let bytes: &[u8; 41] = bytes
            .try_into()
            .map_err(|_| DbError(format!("root record of {} bytes", bytes.len())))?;
        let mut hash = [0u8; 32];
        hash.copy_from_slice(&bytes[..32]);
        let mut id = [0u8; 8];
        id.copy_from_slice(&bytes[33..]);
        let node = match bytes[32] {
            0 => None,
            1 => Some(u64::from_be_bytes(id)),
            tag => return Err(DbError(format!("root record with tag {tag}"))),
        };
        Ok(Self { hash: Hash::from_bytes(hash), node })
    }
}

/// Everything one commit or prune changes, applied atomically.
#[derive(Default, Debug)]
pub struct WriteBatch {
    /// New nodes.
    pub put_nodes: Vec<(NodeId, Vec<u8>)>,
    /// Nodes to delete.
    pub delete_nodes: Vec<NodeId>,
    /// New roots.
    pub put_roots: Vec<([u8; 41], RootRecord)>,
    /// Roots to delete.
    pub delete_roots: Vec<[u8; 41]>,
    /// New stale-index entries.
    pub put_stale: Vec<[u8; 49]>,
    /// Stale-index entries to delete.
    pub delete_stale: Vec<[u8; 49]>,
    /// The next unused node id, if it changed.
    pub next_node_id: Option<NodeId>,
}

/// A consistent read view of a node database.
pub trait NodeReader {
    /// The stored bytes of node `id`.
    fn node(&self, id: NodeId) -> Result<Option<Vec<u8>>, DbError>;
}

/// A node database: nodes by id, roots by history and version, and the stale index that
/// says which nodes each version stopped using.
pub trait NodeDb: Send + Sync {
    /// Opens a read view.
    fn reader(&self) -> Result<Box<dyn NodeReader + '_>, DbError>;
    /// The root of `history` at `version`.
    fn root(&self, history: &History, version: u64) -> Result<Option<RootRecord>, DbError>;
    /// The versions of `history` that have a root, in increasing order.
    fn versions(&self, history: &History) -> Result<Vec<u64>, DbError>;
    /// The highest version of `history` that is at most `at_most`, found without listing
    /// the others (it is asked for on every admission and several times per height).
    fn last_version(&self, history: &History, at_most: u64) -> Result<Option<u64>, DbError>;
    /// The lowest version of `history`, found without listing the others.
    fn first_version(&self, history: &History) -> Result<Option<u64>, DbError>;
    /// Stale-index entries of `history` with `since ≤ up_to`, as `(since, node id)`.
    fn stale(&self, history: &History, up_to: u64) -> Result<Vec<(u64, NodeId)>, DbError>;
    /// The next unused node id.
    fn next_node_id(&self) -> Result<NodeId, DbError>;
    /// Applies `batch` atomically: all of it is durable when this returns, or none of it.
    fn write(&self, batch: WriteBatch) -> Result<(), DbError>;
    /// How many nodes are stored (for pruning checks and metrics).
    fn node_count(&self) -> Result<u64, DbError>;
}

/// The version in a root key (see [`History::root_key`]).
pub(crate) fn root_key_version(key: &[u8]) -> Result<u64, DbError> {
    let bytes: [u8; 8] = key
        .get(33..41)
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| DbError(format!("root key of {} bytes", key.len())))?;
    Ok(u64::from_be_bytes(bytes))
}

pub(crate) fn decode_stale_key(key: &[u8]) -> Result<(u64, NodeId), DbError> {
    if key.len() != 49 {
        return Err(DbError(format!("stale key of {} bytes", key.len())));
    }
    let mut since = [0u8; 8];
    since.copy_from_slice(&key[33..41]);
    let mut id = [0u8; 8];
    id.copy_from_slice(&key[41..]);
    Ok((u64::from_be_bytes(since), u64::from_be_bytes(id)))
}
