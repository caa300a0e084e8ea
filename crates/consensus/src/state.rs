//! Typed access to the one state tree, and the key prefixes of each module.
//!
//! Every module owns the keys under its one-byte prefix; values are borsh-encoded.

use atoll_mkvs::{KeyValueRead, Overlay};
use borsh::{BorshDeserialize, BorshSerialize};

use crate::error::StateError;

/// The largest stored value the state machine decodes.
pub(crate) const MAX_STATE_VALUE: usize = 1 << 20;

/// Key prefixes, one per module.
pub mod prefix {
    /// Consensus-wide values (chain info, parameters).
    pub const CONSENSUS: u8 = 0x00;
    /// The staking module.
    pub const STAKING: u8 = 0x01;
    /// The beacon module.
    pub const BEACON: u8 = 0x02;
    /// The registry module.
    pub const REGISTRY: u8 = 0x03;
    /// The scheduler module.
    pub const SCHEDULER: u8 = 0x04;
    /// The governance module.
    pub const GOVERNANCE: u8 = 0x05;
    /// The roothash module.
    pub const ROOTHASH: u8 = 0x07;
}

/// Reads a typed value.
pub fn get<T: BorshDeserialize>(
    state: &dyn KeyValueRead,
    key: &[u8],
) -> Result<Option<T>, StateError> {
    match state.get(key)? {
        None => Ok(None),
        Some(bytes) => atoll_types::decode(&bytes, MAX_STATE_VALUE)
            .map(Some)
            .map_err(|e| StateError::Corrupt { key: hex(key), reason: e.to_string() }),
    }
}

/// Reads a typed value that must exist.
pub fn require<T: BorshDeserialize>(
    state: &dyn KeyValueRead,
    key: &[u8],
    what: &'static str,
) -> Result<T, StateError> {
    get(state, key)?.ok_or(StateError::Missing(what))
}

/// Writes a typed value.
pub fn put<T: BorshSerialize>(
    state: &mut Overlay<'_>,
    key: &[u8],
    value: &T,
) -> Result<(), StateError> {
    Ok(state.insert(key, atoll_types::encode(value))?)
}

/// Deletes a key.
pub fn delete(state: &mut Overlay<'_>, key: &[u8]) -> Result<(), StateError> {
    Ok(state.remove(key)?)
}

/// Decodes every value under `prefix` (key, value) in key order.
pub fn scan<T: BorshDeserialize>(
    state: &dyn KeyValueRead,
    prefix: &[u8],
) -> Result<Vec<(Vec<u8>, T)>, StateError> {
    scan_page(state, prefix, None, usize::MAX)
}

/// Like [`scan`], but reads at most `limit` entries: what a bounded query serves, at a cost
/// that does not grow with the prefix.
pub fn scan_limited<T: BorshDeserialize>(
    state: &dyn KeyValueRead,
    prefix: &[u8],
    limit: usize,
) -> Result<Vec<(Vec<u8>, T)>, StateError> {
    scan_page(state, prefix, None, limit)
}

/// Like [`scan_limited`], starting strictly after the key `prefix ‖ after` (a page that
/// follows the one whose last key ended in `after`).
pub fn scan_page<T: BorshDeserialize>(
    state: &dyn KeyValueRead,
    prefix: &[u8],
    after: Option<&[u8]>,
    limit: usize,
) -> Result<Vec<(Vec<u8>, T)>, StateError> {
    let entries = match after {
        None => state.prefix(prefix),
        Some(after) => {
            let mut start = key(&[prefix, after]);
            start.push(0);
            state.range(&start, atoll_mkvs::prefix_end(prefix).as_deref())
        }
    };
    let mut out = Vec::new();
    for entry in entries.take(limit) {
        let (key, bytes) = entry?;
        let value = atoll_types::decode(&bytes, MAX_STATE_VALUE)
            .map_err(|e| StateError::Corrupt { key: hex(&key), reason: e.to_string() })?;
        out.push((key, value));
    }
    Ok(out)
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Concatenates key parts.
pub(crate) fn key(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}
