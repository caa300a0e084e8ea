//! A bounded cache of decoded, hash-checked nodes.
//!
//! Node ids are never reused, so an entry can never be stale. Two generations give an
//! approximate LRU without bookkeeping per access: when the young generation is full it
//! becomes the old one, and hits in the old generation are promoted.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex};

use crate::node::{Node, NodeId};

type Generation = HashMap<NodeId, Arc<Node>, BuildHasherDefault<IdHasher>>;

/// Hashes a node id with one multiplication (Fibonacci hashing): ids are counters chosen by
/// the store, not by an attacker, and SipHash was a visible share of every tree read.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*byte)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u64(&mut self, id: u64) {
        self.0 = id.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

pub(crate) struct NodeCache {
    capacity: usize,
    generations: Mutex<(Generation, Generation)>,
}

impl NodeCache {
    /// A cache holding up to about `capacity` nodes.
    pub(crate) fn new(capacity: usize) -> Self {
        Self { capacity: capacity.max(2), generations: Mutex::new(Default::default()) }
    }

    pub(crate) fn get(&self, id: NodeId) -> Option<Arc<Node>> {
        let mut guard = self.generations.lock().ok()?;
        let (young, old) = &mut *guard;
        if let Some(node) = young.get(&id) {
            return Some(node.clone());
        }
        let node = old.remove(&id)?;
        young.insert(id, node.clone());
        Some(node)
    }

    pub(crate) fn insert(&self, id: NodeId, node: Arc<Node>) {
        self.insert_all(std::iter::once((id, node)));
    }

    /// Inserts several nodes under one lock (a commit's new nodes).
    pub(crate) fn insert_all(&self, nodes: impl IntoIterator<Item = (NodeId, Arc<Node>)>) {
        let Ok(mut guard) = self.generations.lock() else { return };
        let (young, old) = &mut *guard;
        for (id, node) in nodes {
            if young.len() >= self.capacity / 2 {
                *old = std::mem::take(young);
            }
            young.insert(id, node);
        }
    }
}
