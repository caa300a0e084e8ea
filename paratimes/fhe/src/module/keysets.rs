//! Where a worker gets a contract's evaluation keys. A key set (about 60 MB compressed,
//! 240 MB opened) is too large for the chain: the chain holds its id and public key, and each
//! worker gets the bytes by id from a [`KeySetSource`] — a directory its operator fills, or
//! its node's blob store, which fetches them from peers ([`NodeBlobs`]) — checks them
//! against the id and opens them once, keeping the last few opened sets in memory.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use atoll_types::Hash;

use crate::keys::Evaluation;
use crate::FheError;

/// How many opened key sets a worker keeps (each holds a ~240 MB server key).
const CACHED: usize = 2;

/// Where the bytes of a key set come from.
pub trait KeySetSource: Send + Sync {
    /// The encoded key set `id`, if this node has it or can get it. The caller checks the
    /// bytes against `id`.
    fn fetch(&self, id: &Hash) -> Result<Option<Vec<u8>>, String>;

    /// Whether [`KeySetSource::fetch`] would find `id` (without reading it).
    fn contains(&self, id: &Hash) -> bool {
        matches!(self.fetch(id), Ok(Some(_)))
    }
}

/// Key sets stored as files named `<id hex>.keyset` in a directory.
pub struct Directory {
    dir: PathBuf,
}

impl Directory {
    /// A source over `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The file a key set is kept in.
    pub fn path(&self, id: &Hash) -> PathBuf {
        self.dir.join(format!("{id}.keyset"))
    }
}

impl KeySetSource for Directory {
    fn fetch(&self, id: &Hash) -> Result<Option<Vec<u8>>, String> {
        match std::fs::read(self.path(id)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{}: {e}", self.path(id).display())),
        }
    }

    fn contains(&self, id: &Hash) -> bool {
        self.path(id).is_file()
    }
}

/// Key sets from the node the ParaTime runs on: its blob store, which gets a key set it
/// lacks from its peers (the owner uploads it to a node, `atoll fhe register` does).
pub struct NodeBlobs;

impl KeySetSource for NodeBlobs {
    fn fetch(&self, id: &Hash) -> Result<Option<Vec<u8>>, String> {
        atoll_runtime_sdk::blobs::fetch(id, crate::params::MAX_KEY_SET_BYTES)
    }

    fn contains(&self, id: &Hash) -> bool {
        atoll_runtime_sdk::blobs::available(id).unwrap_or(false)
    }
}

/// Several sources, asked in order.
pub struct Sources(pub Vec<Box<dyn KeySetSource>>);

impl KeySetSource for Sources {
    fn fetch(&self, id: &Hash) -> Result<Option<Vec<u8>>, String> {
        let mut failures = Vec::new();
        for source in &self.0 {
            match source.fetch(id) {
                Ok(Some(bytes)) => return Ok(Some(bytes)),
                Ok(None) => {}
                Err(e) => failures.push(e),
            }
        }
        if failures.is_empty() {
            Ok(None)
        } else {
            Err(failures.join("; "))
        }
    }

    fn contains(&self, id: &Hash) -> bool {
        self.0.iter().any(|source| source.contains(id))
    }
}

/// No key sets at all (a node that only answers queries).
pub struct NoKeySets;

impl KeySetSource for NoKeySets {
    fn fetch(&self, _id: &Hash) -> Result<Option<Vec<u8>>, String> {
        Ok(None)
    }
}

/// Why a key set could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum KeySetError {
    /// This node does not have the bytes (or could not read them).
    #[error("key set {0} is not available on this node: {1}")]
    Unavailable(Hash, String),
    /// The bytes are not a valid key set of this ParaTime for that public key.
    #[error("key set {0}: {1}")]
    Invalid(Hash, FheError),
}

/// A source and the opened key sets it served last.
pub struct KeySets {
    source: Box<dyn KeySetSource>,
    opened: Mutex<Vec<Arc<Evaluation>>>,
}

impl KeySets {
    /// Key sets from `source`.
    pub fn new(source: Box<dyn KeySetSource>) -> Self {
        Self { source, opened: Mutex::new(Vec::new()) }
    }

    /// The opened key set `id` whose public key is `public_key` (the chain's record of it):
    /// from memory, or fetched, checked and opened.
    pub fn open(&self, id: &Hash, public_key: &[u8]) -> Result<Arc<Evaluation>, KeySetError> {
        if let Some(found) = self.cached(id) {
            return Ok(found);
        }
        let bytes = self
            .source
            .fetch(id)
            .map_err(|e| KeySetError::Unavailable(*id, e))?
            .ok_or_else(|| KeySetError::Unavailable(*id, "no copy".into()))?;
        if crate::keys::key_set_id(&bytes) != *id {
            // A copy that is not the key set is this node's problem, not the key set's.
            return Err(KeySetError::Unavailable(
                *id,
                "the copy here does not match its id".into(),
            ));
        }
        let opened = Arc::new(
            Evaluation::open_hashed(id, &bytes, public_key)
                .map_err(|e| KeySetError::Invalid(*id, e))?,
        );
        let mut cache = self.opened.lock().unwrap_or_else(|e| e.into_inner());
        cache.retain(|e| e.id != *id);
        cache.push(Arc::clone(&opened));
        if cache.len() > CACHED {
            cache.remove(0);
        }
        Ok(opened)
    }

    fn cached(&self, id: &Hash) -> Option<Arc<Evaluation>> {
        let mut cache = self.opened.lock().unwrap_or_else(|e| e.into_inner());
        let at = cache.iter().position(|e| e.id == *id)?;
        // Most recently used last.
        let found = cache.remove(at);
        cache.push(Arc::clone(&found));
        Some(found)
    }

    /// Whether this node has a copy of key set `id` (without opening it).
    pub fn has(&self, id: &Hash) -> bool {
        self.cached(id).is_some() || self.source.contains(id)
    }
}
