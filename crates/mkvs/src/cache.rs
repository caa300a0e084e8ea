//! A bounded cache of decoded, hash-checked nodes.
//!
//! Node ids are never reused, so an entry can never be stale. Two generations give an
//! approximate LRU without bookkeeping per access: when the young generation is full it
//! becomes the old one, and hits in the old generation are promoted.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::node::{Node, NodeId};

type Generation = HashMap<NodeId, Arc<Node>>;

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
        let Ok(mut guard) = self.generations.lock() else { return };
        let (young, old) = &mut *guard;
        if young.len() >= self.capacity / 2 {
            *old = std::mem::take(young);
        }
        young.insert(id, node);
    }
}
