//! Blobs from the node: bytes too large for the chain (an FHE ParaTime's key sets), which the
//! chain names by their SHA-256. The runtime asks its host, which answers from its node's
//! blob store; the node gets a blob it lacks from its peers. Every blob is checked against
//! its id here, so a wrong copy anywhere on the way is refused.

use std::sync::OnceLock;

use atoll_runtime_host::runtime::HostLink;
use atoll_types::Hash;

/// This process's connection to its host (one per process, set at its first request).
static HOST: OnceLock<HostLink> = OnceLock::new();

/// Remembers the host connection blobs are asked on.
pub(crate) fn connect(host: &HostLink) {
    HOST.get_or_init(|| host.clone());
}

/// Blob `id`, at most `max` bytes, from the node, checked against `id`: `None` if neither
/// the node nor its peers have it. Only while the runtime serves a request from its host
/// (executing, checking, querying).
pub fn fetch(id: &Hash, max: u64) -> Result<Option<Vec<u8>>, String> {
    let host = HOST.get().ok_or("not connected to a host")?;
    host.fetch_blob(*id, max).map_err(|e| e.to_string())
}

/// Whether the node (or one of its peers) has blob `id`: asked past any blob's end, the
/// host answers its length and no bytes.
pub fn available(id: &Hash) -> Result<bool, String> {
    let host = HOST.get().ok_or("not connected to a host")?;
    host.get_blob(*id, atoll_runtime_host::MAX_BLOB)
        .map(|chunk| chunk.is_some())
        .map_err(|e| e.to_string())
}
