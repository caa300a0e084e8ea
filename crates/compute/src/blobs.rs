//! The node's blob store: bytes a ParaTime needs that are too large for the chain (an FHE
//! key set, tens of MB), named by their SHA-256. A blob arrives by an upload to the node's
//! API or from peers, and is served to the node's own runtime process (over the runtime
//! host, [`RuntimeRequest::GetBlob`](atoll_runtime_host::RuntimeRequest)) and to peers
//! (over the runtime p2p network). A blob the runtime asks for and the node lacks is
//! fetched from peers part by part, checked against its id as a whole, then kept.
//!
//! Files are `<dir>/<id hex>`, written under a temporary name and renamed, so a crash never
//! leaves a partial blob under its id. The store holds at most its capacity in all.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use atoll_runtime_host::{BlobAssembly, BlobChunk, BLOB_CHUNK, MAX_BLOB};
use atoll_types::Hash;
use thiserror::Error;

use crate::p2p::{FetchRequest, FetchResponse, P2p};

/// The most bytes the store holds in all, unless configured otherwise.
pub const DEFAULT_CAPACITY: u64 = 4 << 30;
/// The most bytes of a blob one peer answer carries (small enough for the fetch timeout
/// on a slow link).
pub const PEER_CHUNK: usize = 2 << 20;
/// Fetch rounds in a row without a usable answer before a fetch from peers gives up.
const PEER_MISSES: usize = 4;
/// How long the runtime's request waits for a fetch from peers.
const FETCH_WAIT: Duration = Duration::from_secs(120);

/// Why a blob was not stored.
#[derive(Debug, Error)]
pub enum BlobError {
    /// Over the largest blob.
    #[error("a blob holds at most {MAX_BLOB} bytes; this one has {0}")]
    TooLarge(u64),
    /// The store is full.
    #[error("the blob store is full ({used} of {capacity} bytes used)")]
    Full {
        /// Bytes stored.
        used: u64,
        /// The store's capacity.
        capacity: u64,
    },
    /// The disk failed.
    #[error("blob store: {0}")]
    Io(#[from] std::io::Error),
}

/// Blobs on disk.
pub struct BlobStore {
    dir: PathBuf,
    capacity: u64,
    /// One write at a time (the capacity check and the rename together).
    writing: Mutex<()>,
}

impl BlobStore {
    /// The store in `dir` (created if missing), holding at most `capacity` bytes.
    pub fn open(dir: &Path, capacity: u64) -> Result<Self, BlobError> {
        std::fs::create_dir_all(dir)?;
        Ok(Self { dir: dir.to_owned(), capacity, writing: Mutex::new(()) })
    }

    fn path(&self, id: &Hash) -> PathBuf {
        self.dir.join(id.to_string())
    }

    /// Whether blob `id` is here.
    pub fn contains(&self, id: &Hash) -> bool {
        self.path(id).is_file()
    }

    /// The part of blob `id` from `offset`, at most `max` bytes (empty at or past the end),
    /// if the blob is here.
    pub fn chunk(&self, id: &Hash, offset: u64, max: usize) -> Option<BlobChunk> {
        let mut file = std::fs::File::open(self.path(id)).ok()?;
        let total = file.metadata().ok()?.len();
        let start = offset.min(total);
        file.seek(SeekFrom::Start(start)).ok()?;
        let want = (total - start).min(max as u64);
        let mut bytes = Vec::with_capacity(want as usize);
        file.take(want).read_to_end(&mut bytes).ok()?;
        Some(BlobChunk { total, bytes })
    }

    /// Stores `bytes` under their SHA-256, which it returns (storing a blob again is a
    /// no-op).
    pub fn put(&self, bytes: &[u8]) -> Result<Hash, BlobError> {
        let len = bytes.len() as u64;
        if len > MAX_BLOB {
            return Err(BlobError::TooLarge(len));
        }
        let id = Hash::digest(bytes);
        let _writing = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        if self.contains(&id) {
            return Ok(id);
        }
        let used = self.used()?;
        if used.saturating_add(len) > self.capacity {
            return Err(BlobError::Full { used, capacity: self.capacity });
        }
        let partial = self.dir.join(format!("{id}.partial"));
        std::fs::write(&partial, bytes)?;
        std::fs::rename(&partial, self.path(&id))?;
        Ok(id)
    }

    /// Bytes stored.
    fn used(&self) -> Result<u64, BlobError> {
        let mut used = 0u64;
        for entry in std::fs::read_dir(&self.dir)? {
            used = used.saturating_add(entry?.metadata()?.len());
        }
        Ok(used)
    }
}

/// The store and the peers it fetches missing blobs from.
pub struct Blobs {
    store: BlobStore,
    /// Set once the p2p network runs (it starts after the runtime).
    peers: OnceLock<(P2p, tokio::runtime::Handle)>,
    /// One fetch from peers at a time (both runtime processes may ask for the same blob).
    fetching: Mutex<()>,
}

impl Blobs {
    /// Blobs kept in `store`; no peers yet.
    pub fn new(store: BlobStore) -> Self {
        Self { store, peers: OnceLock::new(), fetching: Mutex::new(()) }
    }

    /// The store.
    pub fn store(&self) -> &BlobStore {
        &self.store
    }

    /// Fetches missing blobs over `p2p`, on the runtime `handle` runs.
    pub fn connect(&self, p2p: P2p, handle: tokio::runtime::Handle) {
        let _ = self.peers.set((p2p, handle));
    }

    /// What the node's runtime asked for: the part of blob `id` from `offset`, fetched
    /// from peers first if the node lacks it. Blocks (the runtime host's calls run on
    /// blocking threads).
    pub fn for_runtime(&self, id: &Hash, offset: u64) -> Option<BlobChunk> {
        if !self.store.contains(id) {
            let _one = self.fetching.lock().unwrap_or_else(|e| e.into_inner());
            if !self.store.contains(id) {
                self.fetch_blocking(id);
            }
        }
        self.store.chunk(id, offset, BLOB_CHUNK)
    }

    fn fetch_blocking(&self, id: &Hash) {
        let Some((p2p, handle)) = self.peers.get() else { return };
        let (done, wait) = std::sync::mpsc::channel();
        let (p2p, id) = (p2p.clone(), *id);
        handle.spawn(async move {
            let _ = done.send(fetch_from_peers(&p2p, &id).await);
        });
        match wait.recv_timeout(FETCH_WAIT) {
            Ok(Some(bytes)) => match self.store.put(&bytes) {
                Ok(_) => tracing::info!(blob = %id, bytes = bytes.len(), "blob fetched from peers"),
                Err(e) => tracing::warn!(blob = %id, error = %e, "fetched blob not stored"),
            },
            Ok(None) => tracing::debug!(blob = %id, "no peer has the blob"),
            Err(_) => tracing::warn!(blob = %id, "fetching the blob from peers timed out"),
        }
    }
}

/// Blob `id` from peers, part by part, checked against its id: `None` if no peer had it (or
/// the parts did not add up to it).
pub async fn fetch_from_peers(p2p: &P2p, id: &Hash) -> Option<Vec<u8>> {
    let mut blob = BlobAssembly::new(*id, MAX_BLOB);
    let mut misses = 0;
    while !blob.is_complete() {
        let answers = p2p.fetch(FetchRequest::Blob { id: *id, offset: blob.offset() }).await;
        // The first answer that continues the blob (a failed `add` adds nothing).
        let added = answers.into_iter().any(|answer| match answer {
            FetchResponse::Blob(Some(chunk)) => {
                chunk.bytes.len() <= PEER_CHUNK && blob.add(chunk).is_ok()
            }
            _ => false,
        });
        if added {
            misses = 0;
        } else {
            misses += 1;
            if misses >= PEER_MISSES {
                return None;
            }
        }
    }
    blob.finish().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_are_stored_by_hash_and_read_in_parts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = BlobStore::open(dir.path(), 1_000).expect("open");
        let bytes: Vec<u8> = (0..700u32).map(|i| i as u8).collect();
        let id = store.put(&bytes).expect("put");
        assert_eq!(id, Hash::digest(&bytes));
        assert!(store.contains(&id));
        assert_eq!(store.put(&bytes).expect("again"), id);
        let first = store.chunk(&id, 0, 512).expect("present");
        assert_eq!((first.total, first.bytes.as_slice()), (700, &bytes[..512]));
        let rest = store.chunk(&id, 512, 512).expect("present");
        assert_eq!(rest.bytes, &bytes[512..]);
        assert!(store.chunk(&id, 900, 512).expect("present").bytes.is_empty());
        assert!(store.chunk(&Hash::digest(b"other"), 0, 512).is_none());
        // Over capacity: refused, nothing written.
        assert!(matches!(store.put(&[1u8; 400]), Err(BlobError::Full { used: 700, .. })));
        assert!(!store.contains(&Hash::digest(&[1u8; 400])));
    }
}
