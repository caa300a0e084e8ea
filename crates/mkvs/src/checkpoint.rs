//! Checkpoints: a committed tree cut into chunks that a node without the tree fetches from
//! peers, verifies one by one, and rebuilds (state sync).
//!
//! A checkpoint's [`Manifest`] names the root and where each chunk starts: chunk `i` holds
//! every entry with `starts[i] ≤ key < starts[i + 1]` (the last runs to the end of the key
//! space). A chunk travels as a range proof of its range against the root, so each one is
//! checked the moment it arrives: a chunk from a dishonest peer (a missing, extra or altered
//! entry) is refused and asked from another. The manifest itself comes from a peer too; it
//! is bound to the state by its root (which the caller checks against an app hash it
//! trusts), and its boundaries only decide how the key space is cut — any cut that covers
//! it from the empty key, in order, rebuilds the same tree. Rebuilding commits the entries
//! as the manifest's version and stores nothing unless the result has the manifest's root.

use std::collections::BTreeMap;

use borsh::{BorshDeserialize, BorshSerialize};
use thiserror::Error;

use crate::db::NodeDb;
use crate::proof::{verify_range, ProofError, RangeProof, MAX_RANGE_KEYS};
use crate::read::Entry;
use crate::root::{Root, RootKind};
use crate::store::Mkvs;
use crate::tree::Tree;
use crate::writelog::{WriteLog, WriteLogEntry};
use crate::MkvsError;

/// Entries per chunk when a node cuts its checkpoints.
pub const CHUNK_KEYS: usize = 2_048;
/// The most chunks a manifest may list (about 2 billion entries at [`CHUNK_KEYS`]).
pub const MAX_CHUNKS: usize = 1 << 20;

/// What a checkpoint holds and how it is cut.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct Manifest {
    /// The tree.
    pub root: Root,
    /// The first key of each chunk, increasing; the first is the empty key.
    pub starts: Vec<Vec<u8>>,
}

/// Why a checkpoint could not be made, served or restored.
#[derive(Debug, Error)]
pub enum CheckpointError {
    /// Reading or writing the store failed.
    #[error(transparent)]
    Store(#[from] MkvsError),
    /// The manifest is not for the root the caller trusts.
    #[error("the checkpoint's root {found} is not the trusted root {trusted}")]
    UntrustedRoot {
        /// The root the caller trusts.
        trusted: atoll_types::Hash,
        /// The manifest's.
        found: atoll_types::Hash,
    },
    /// The manifest's boundaries are not a cut of the key space.
    #[error("malformed manifest: {0}")]
    Malformed(&'static str),
    /// A chunk index beyond the manifest.
    #[error("chunk {index} of a checkpoint with {chunks} chunks")]
    NoSuchChunk {
        /// The index asked for.
        index: usize,
        /// How many the manifest has.
        chunks: usize,
    },
    /// A chunk does not prove its range against the root.
    #[error("chunk {index} does not verify: {reason}")]
    BadChunk {
        /// Which chunk.
        index: usize,
        /// Why.
        reason: ProofError,
    },
    /// Chunks are still missing.
    #[error("{missing} of {chunks} chunks are still missing")]
    Incomplete {
        /// How many.
        missing: usize,
        /// Of how many.
        chunks: usize,
    },
}

impl Manifest {
    /// Cuts `tree` into chunks of `chunk_keys` entries (at most [`MAX_RANGE_KEYS`]).
    pub fn of(tree: &Tree<'_>, chunk_keys: usize) -> Result<Manifest, CheckpointError> {
        Self::of_bounded(tree, chunk_keys, usize::MAX)
    }

    /// Cuts `tree` into chunks of at most `chunk_keys` entries (at most [`MAX_RANGE_KEYS`])
    /// whose keys and values take at most `chunk_bytes` (a single larger entry gets a chunk
    /// of its own): for trees whose values may be large.
    pub fn of_bounded(
        tree: &Tree<'_>,
        chunk_keys: usize,
        chunk_bytes: usize,
    ) -> Result<Manifest, CheckpointError> {
        let chunk_keys = chunk_keys.clamp(1, MAX_RANGE_KEYS);
        let mut starts = vec![Vec::new()];
        let (mut keys, mut bytes) = (0usize, 0usize);
        for entry in tree.entries_from(&[]) {
            let (key, value) = entry?;
            let size = key.len() + value.len();
            if keys > 0 && (keys == chunk_keys || bytes.saturating_add(size) > chunk_bytes) {
                starts.push(key);
                (keys, bytes) = (0, 0);
            }
            keys += 1;
            bytes = bytes.saturating_add(size);
        }
        Ok(Manifest { root: *tree.root(), starts })
    }

    /// Checks that the manifest is for `trusted` and cuts the key space into ordered,
    /// non-empty ranges from the empty key.
    pub fn check(&self, trusted: &atoll_types::Hash) -> Result<(), CheckpointError> {
        if self.root.hash != *trusted {
            return Err(CheckpointError::UntrustedRoot {
                trusted: *trusted,
                found: self.root.hash,
            });
        }
        if self.starts.len() > MAX_CHUNKS {
            return Err(CheckpointError::Malformed("too many chunks"));
        }
        if self.starts.first().is_none_or(|first| !first.is_empty()) {
            return Err(CheckpointError::Malformed("the first chunk must start at the empty key"));
        }
        if self.starts.windows(2).any(|w| w[0] >= w[1]) {
            return Err(CheckpointError::Malformed("chunk starts are not increasing"));
        }
        Ok(())
    }

    /// How many chunks.
    pub fn chunks(&self) -> usize {
        self.starts.len()
    }

    /// Chunk `index`'s range: its start and its end (`None`: the end of the key space).
    pub fn range(&self, index: usize) -> Result<(&[u8], Option<&[u8]>), CheckpointError> {
        let start = self
            .starts
            .get(index)
            .ok_or(CheckpointError::NoSuchChunk { index, chunks: self.starts.len() })?;
        Ok((start, self.starts.get(index + 1).map(Vec::as_slice)))
    }

    /// Chunk `index` of this checkpoint, proven from `tree` (which must be its root).
    pub fn chunk(&self, tree: &Tree<'_>, index: usize) -> Result<RangeProof, CheckpointError> {
        let (start, end) = self.range(index)?;
        Ok(tree.prove_range(start, end, MAX_RANGE_KEYS)?)
    }
}

/// A tree being rebuilt from a checkpoint's chunks, in any order.
pub struct Restore {
    manifest: Manifest,
    entries: BTreeMap<usize, Vec<Entry>>,
}

impl Restore {
    /// Starts rebuilding the checkpoint `manifest` describes, which must be for `trusted`.
    pub fn new(manifest: Manifest, trusted: &atoll_types::Hash) -> Result<Self, CheckpointError> {
        manifest.check(trusted)?;
        Ok(Self { manifest, entries: BTreeMap::new() })
    }

    /// The checkpoint being rebuilt.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Stores the rebuilt tree as `version` of `namespace`'s `kind` history, whatever the
    /// peer's manifest named: only the root's hash is trusted, where it goes is the
    /// caller's to say.
    pub fn relabel(&mut self, namespace: atoll_types::RuntimeId, kind: RootKind, version: u64) {
        let root = &mut self.manifest.root;
        (root.namespace, root.kind, root.version) = (namespace, kind, version);
    }

    /// Chunks not yet added, in order.
    pub fn missing(&self) -> Vec<usize> {
        (0..self.manifest.chunks()).filter(|i| !self.entries.contains_key(i)).collect()
    }

    /// Verifies chunk `index` against the root and keeps its entries; returns how many it
    /// held. A chunk that does not verify changes nothing.
    pub fn add(&mut self, index: usize, chunk: &RangeProof) -> Result<usize, CheckpointError> {
        let (start, end) = self.manifest.range(index)?;
        let entries = verify_range(&self.manifest.root.hash, start, end, &chunk.proof)
            .map_err(|reason| CheckpointError::BadChunk { index, reason })?;
        let held = entries.len();
        self.entries.insert(index, entries);
        Ok(held)
    }

    /// Commits the rebuilt tree into `store` as the manifest's version (stored only if
    /// its root is the manifest's).
    pub fn finish<D: NodeDb>(self, store: &Mkvs<D>) -> Result<Root, CheckpointError> {
        let missing = self.missing().len();
        if missing > 0 {
            return Err(CheckpointError::Incomplete { missing, chunks: self.manifest.chunks() });
        }
        let root = self.manifest.root;
        let writes: WriteLog = self
            .entries
            .into_values()
            .flatten()
            .map(|(key, value)| WriteLogEntry { key, value: Some(value) })
            .collect();
        Ok(store.commit_expecting(
            root.namespace,
            root.kind,
            None,
            root.version,
            &writes,
            root.hash,
        )?)
    }
}
