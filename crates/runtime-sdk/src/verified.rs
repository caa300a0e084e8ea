//! Transactions this runtime process decoded and authenticated, by the hash of their bytes.
//!
//! The pool re-checks its transactions after every round, and a node's checking process
//! sees each again at every re-check; its executing process sees a transaction once per
//! batch that carries it (a batch executed ahead and again on the block that came). The
//! hash covers the signatures (or the Ethereum signature a module recovers the sender
//! from), so the same bytes authenticate the same way every time: the verdict is kept and
//! the signature is not verified again. Only what this process verified itself is kept,
//! never what a host says. Bounded: the oldest entries go first.

use std::collections::{HashMap, VecDeque};

use atoll_types::Hash;

use crate::transaction::Transaction;

/// How many authenticated transactions a runtime process remembers: more than a pool
/// re-checks after a round and a batch holds together.
pub(crate) const VERIFIED_CAPACITY: usize = 16_384;

/// Authenticated transactions by the hash of their bytes, the oldest evicted first.
pub(crate) struct Verified {
    by_hash: HashMap<Hash, Transaction>,
    order: VecDeque<Hash>,
    capacity: usize,
}

impl Verified {
    /// An empty cache holding at most `capacity` transactions.
    pub(crate) fn new(capacity: usize) -> Self {
        Self { by_hash: HashMap::new(), order: VecDeque::new(), capacity }
    }

    /// The transaction whose bytes hash to `hash`, if this process authenticated it.
    pub(crate) fn get(&self, hash: &Hash) -> Option<Transaction> {
        self.by_hash.get(hash).cloned()
    }

    /// Remembers that the bytes hashing to `hash` authenticate as `tx`.
    pub(crate) fn insert(&mut self, hash: Hash, tx: Transaction) {
        if self.capacity == 0 || self.by_hash.insert(hash, tx).is_some() {
            return;
        }
        self.order.push_back(hash);
        while self.order.len() > self.capacity {
            if let Some(oldest) = self.order.pop_front() {
                self.by_hash.remove(&oldest);
            }
        }
    }

    /// How many transactions are remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.by_hash.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::Fee;

    fn tx(n: u64) -> Transaction {
        Transaction::new("test.Call", &n, Vec::new(), Fee::default())
    }

    #[test]
    fn keeps_at_most_its_capacity_and_evicts_the_oldest() {
        let mut cache = Verified::new(2);
        let hash = |n: u64| Hash::digest(&n.to_le_bytes());
        for n in 0..3 {
            cache.insert(hash(n), tx(n));
        }
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&hash(0)).is_none(), "the oldest went first");
        assert_eq!(cache.get(&hash(2)), Some(tx(2)));
        // Inserting a known hash again neither grows the cache nor evicts anything.
        cache.insert(hash(2), tx(2));
        assert_eq!(cache.len(), 2);
        assert!(cache.get(&hash(1)).is_some());
    }
}
