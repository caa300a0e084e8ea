//! Helpers shared by the MKVS integration tests.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;

use atoll_mkvs::{
    KeyValueRead, MemoryNodeDb, Mkvs, Root, RootKind, WriteLog, WriteLogEntry, CONSENSUS_NAMESPACE,
};

/// The model the store is checked against.
pub type Oracle = BTreeMap<Vec<u8>, Vec<u8>>;

/// A write log that sets every entry of `map`.
pub fn inserts(map: &Oracle) -> WriteLog {
    map.iter().map(|(k, v)| WriteLogEntry { key: k.clone(), value: Some(v.clone()) }).collect()
}

/// The root hash of a tree holding exactly `map`, built from scratch.
pub fn fresh_root(map: &Oracle) -> Root {
    let store = Mkvs::new(MemoryNodeDb::new());
    store.commit(CONSENSUS_NAMESPACE, RootKind::State, None, 1, &inserts(map)).expect("commit")
}

/// Everything a readable state holds, in order.
pub fn contents(state: &dyn KeyValueRead) -> Oracle {
    state.iter_from(&[]).map(|e| e.expect("read")).collect()
}
