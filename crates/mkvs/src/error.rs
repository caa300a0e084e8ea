//! Errors of the store.

use thiserror::Error;

use crate::db::DbError;
use crate::node::NodeId;
use crate::root::RootKind;
use atoll_types::Hash;

/// Why a store operation failed. Nothing is written when an operation fails.
#[derive(Debug, Error)]
pub enum MkvsError {
    /// A key longer than [`crate::MAX_KEY_LEN`].
    #[error("key of {len} bytes, the limit is {max}")]
    KeyTooLarge {
        /// The key's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A value longer than [`crate::MAX_VALUE_LEN`].
    #[error("value of {len} bytes, the limit is {max}")]
    ValueTooLarge {
        /// The value's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A stored node does not decode or does not match the hash its parent recorded.
    #[error("corrupt node {id}: {reason}")]
    CorruptNode {
        /// The node's id.
        id: NodeId,
        /// What is wrong.
        reason: String,
    },
    /// A read outside what a witness proves (see [`crate::witness`]).
    #[error("key {key} is not covered by the proof")]
    NotProven {
        /// The key, in hex.
        key: String,
    },
    /// A node a live root refers to is missing from the database.
    #[error("missing node {0}")]
    MissingNode(NodeId),
    /// No root is stored for this namespace, kind and version (never committed, or pruned).
    #[error("no {kind:?} root at version {version}")]
    RootNotFound {
        /// State or I/O.
        kind: RootKind,
        /// The version asked for.
        version: u64,
    },
    /// A root with this version exists, but with another hash.
    #[error("{kind:?} root at version {version} has another hash")]
    RootMismatch {
        /// State or I/O.
        kind: RootKind,
        /// The version asked for.
        version: u64,
    },
    /// A write log did not produce the root it was supposed to.
    #[error("the writes produce root {got}, expected {expected}")]
    UnexpectedRoot {
        /// The trusted root.
        expected: Hash,
        /// What the writes produce.
        got: Hash,
    },
    /// A commit must create a version above the latest one.
    #[error("version {version} is not above the latest version {latest}")]
    VersionNotNew {
        /// The version to commit.
        version: u64,
        /// The latest committed version.
        latest: u64,
    },
    /// A commit must build on the latest version (or on an empty tree).
    #[error("base version {base} is not the latest version {latest:?}")]
    BaseNotLatest {
        /// The base asked for.
        base: u64,
        /// The latest committed version.
        latest: Option<u64>,
    },
    /// Pruning may not remove the latest version.
    #[error("cannot prune up to {keep_from}: the latest version is {latest}")]
    PruneLatest {
        /// The first version to keep.
        keep_from: u64,
        /// The latest version.
        latest: u64,
    },
    /// An overlay rollback or release without a checkpoint.
    #[error("no open checkpoint")]
    NoCheckpoint,
    /// The storage backend failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

pub(crate) fn check_key(key: &[u8]) -> Result<(), MkvsError> {
    if key.len() > crate::MAX_KEY_LEN {
        return Err(MkvsError::KeyTooLarge { len: key.len(), max: crate::MAX_KEY_LEN });
    }
    Ok(())
}

pub(crate) fn check_value(value: &[u8]) -> Result<(), MkvsError> {
    if value.len() > crate::MAX_VALUE_LEN {
        return Err(MkvsError::ValueTooLarge { len: value.len(), max: crate::MAX_VALUE_LEN });
    }
    Ok(())
}
