//! The runtime transaction pool of a compute node: checked transactions waiting for a batch.
//!
//! Bounded in count and bytes; ordered by gas price (then arrival), with each sender's
//! transactions kept in nonce order inside a batch. When full, a transaction offering a
//! better price evicts the cheapest one.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use atoll_types::{Address, Hash};
use thiserror::Error;

/// Why a transaction was not taken into the pool.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TxPoolError {
    /// Already in the pool.
    #[error("transaction already in the pool")]
    Duplicate,
    /// Larger than any batch may be.
    #[error("transaction of {size} bytes, the limit is {max}")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The pool is full of transactions paying at least as much.
    #[error("transaction pool is full")]
    Full,
}

/// Limits of the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxPoolConfig {
    /// Most transactions held.
    pub max_txs: usize,
    /// Most bytes held.
    pub max_bytes: usize,
    /// Largest single transaction.
    pub max_tx_bytes: usize,
}

impl Default for TxPoolConfig {
    fn default() -> Self {
        Self { max_txs: 10_000, max_bytes: 64 << 20, max_tx_bytes: 256 << 10 }
    }
}

#[derive(Clone, Debug)]
struct Entry {
    raw: Vec<u8>,
    gas_price: u128,
    sender: Option<(Address, u64)>,
    seq: u64,
    /// When this node last gossiped it (or received it).
    published: Instant,
    /// Submitted to this node by a client (this node keeps gossiping it while pending).
    local: bool,
}

type Priority = (Reverse<u128>, u64, Hash);

/// The pool.
#[derive(Debug)]
pub struct TxPool {
    config: TxPoolConfig,
    entries: HashMap<Hash, Entry>,
    order: BTreeSet<Priority>,
    bytes: usize,
    next_seq: u64,
}

impl TxPool {
    /// An empty pool.
    pub fn new(config: TxPoolConfig) -> Self {
        Self { config, entries: HashMap::new(), order: BTreeSet::new(), bytes: 0, next_seq: 0 }
    }

    /// Transactions held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `hash` is held.
    pub fn contains(&self, hash: &Hash) -> bool {
        self.entries.contains_key(hash)
    }

    /// The transaction with `hash`, if held.
    pub fn get(&self, hash: &Hash) -> Option<&[u8]> {
        self.entries.get(hash).map(|e| e.raw.as_slice())
    }

    /// Adds a transaction the runtime checked (`gas_price` and `sender` from its check).
    pub fn insert(
        &mut self,
        raw: Vec<u8>,
        gas_price: u128,
        sender: Option<(Address, u64)>,
    ) -> Result<Hash, TxPoolError> {
        if raw.len() > self.config.max_tx_bytes {
            return Err(TxPoolError::TooLarge { size: raw.len(), max: self.config.max_tx_bytes });
        }
        let hash = Hash::digest(&raw);
        if self.entries.contains_key(&hash) {
            return Err(TxPoolError::Duplicate);
        }
        while self.entries.len() >= self.config.max_txs
            || self.bytes + raw.len() > self.config.max_bytes
        {
            let Some(cheapest) = self.order.iter().next_back().copied() else {
                return Err(TxPoolError::Full);
            };
            if cheapest.0 .0 >= gas_price {
                return Err(TxPoolError::Full);
            }
            self.remove(&cheapest.2);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.bytes += raw.len();
        self.order.insert((Reverse(gas_price), seq, hash));
        self.entries.insert(
            hash,
            Entry { raw, gas_price, sender, seq, published: Instant::now(), local: false },
        );
        Ok(hash)
    }

    /// Removes a transaction (included in a finalized round, or found invalid).
    pub fn remove(&mut self, hash: &Hash) -> Option<Vec<u8>> {
        let entry = self.entries.remove(hash)?;
        self.order.remove(&(Reverse(entry.gas_price), entry.seq, *hash));
        self.bytes -= entry.raw.len();
        Some(entry.raw)
    }

    /// Marks a transaction as submitted to this node by a client.
    pub fn set_local(&mut self, hash: &Hash) {
        if let Some(entry) = self.entries.get_mut(hash) {
            entry.local = true;
        }
    }

    /// Local transactions last gossiped more than `after` before `now`, best first, at most
    /// `max`; they count as gossiped at `now`. A transaction gossip lost (a congested peer,
    /// a full send queue) would otherwise leave a gap in its sender's nonces on every other
    /// node for good; gossiping what is still pending again closes it.
    pub fn due_for_gossip(&mut self, now: Instant, after: Duration, max: usize) -> Vec<Vec<u8>> {
        let mut due = Vec::new();
        for (_, _, hash) in &self.order {
            if due.len() >= max {
                break;
            }
            if let Some(entry) = self.entries.get_mut(hash) {
                if entry.local && now.saturating_duration_since(entry.published) > after {
                    entry.published = now;
                    due.push(entry.raw.clone());
                }
            }
        }
        due
    }

    /// Every transaction, best first (for re-checking after a round).
    pub fn all(&self) -> Vec<(Hash, Vec<u8>)> {
        self.order
            .iter()
            .filter_map(|(_, _, h)| Some((*h, self.entries.get(h)?.raw.clone())))
            .collect()
    }

    /// A batch of at most `max_txs` transactions and `max_bytes` bytes, best first, with
    /// each sender's transactions in nonce order.
    pub fn batch(&self, max_txs: usize, max_bytes: usize) -> Vec<Vec<u8>> {
        let mut picked: Vec<&Entry> = Vec::new();
        let mut bytes = 0usize;
        for (_, _, hash) in &self.order {
            if picked.len() >= max_txs {
                break;
            }
            let Some(entry) = self.entries.get(hash) else { continue };
            if bytes + entry.raw.len() > max_bytes {
                continue;
            }
            bytes += entry.raw.len();
            picked.push(entry);
        }
        // Within the slots a sender occupies, put its transactions in nonce order.
        let mut by_sender: BTreeMap<Address, Vec<usize>> = BTreeMap::new();
        for (slot, entry) in picked.iter().enumerate() {
            if let Some((sender, _)) = entry.sender {
                by_sender.entry(sender).or_default().push(slot);
            }
        }
        for slots in by_sender.values() {
            let mut entries: Vec<&Entry> = slots.iter().map(|s| picked[*s]).collect();
            entries.sort_by_key(|e| e.sender.map(|(_, nonce)| nonce));
            for (slot, entry) in slots.iter().zip(entries) {
                picked[*slot] = entry;
            }
        }
        picked.into_iter().map(|e| e.raw.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx(tag: u8, len: usize) -> Vec<u8> {
        let mut raw = vec![tag; len];
        raw[0] = tag;
        raw
    }

    #[test]
    fn orders_by_price_bounds_and_evicts_the_cheapest() {
        let mut pool =
            TxPool::new(TxPoolConfig { max_txs: 3, max_bytes: 1_000, max_tx_bytes: 100 });
        let a = pool.insert(tx(1, 10), 5, None).expect("a");
        pool.insert(tx(2, 10), 9, None).expect("b");
        pool.insert(tx(3, 10), 7, None).expect("c");
        assert_eq!(pool.insert(tx(1, 10), 5, None), Err(TxPoolError::Duplicate));
        assert_eq!(pool.batch(10, 1_000), vec![tx(2, 10), tx(3, 10), tx(1, 10)]);
        // Full: a cheaper transaction is refused, a better one evicts the cheapest.
        assert_eq!(pool.insert(tx(4, 10), 1, None), Err(TxPoolError::Full));
        pool.insert(tx(5, 10), 6, None).expect("evicts");
        assert!(!pool.contains(&a));
        assert_eq!(pool.len(), 3);
        assert!(matches!(pool.insert(tx(6, 200), 100, None), Err(TxPoolError::TooLarge { .. })));
        // Batch limits.
        assert_eq!(pool.batch(2, 1_000).len(), 2);
        assert_eq!(pool.batch(10, 25).len(), 2);
        let removed = pool.remove(&Hash::digest(&tx(2, 10)));
        assert_eq!(removed, Some(tx(2, 10)));
        assert_eq!(pool.len(), 2);
    }

    #[test]
    fn pending_transactions_are_due_for_gossip_again_after_a_while() {
        let mut pool = TxPool::new(TxPoolConfig::default());
        let a = pool.insert(tx(1, 10), 1, None).expect("a");
        let b = pool.insert(tx(2, 10), 9, None).expect("b");
        pool.insert(tx(3, 10), 5, None).expect("from gossip, never gossiped again");
        pool.set_local(&a);
        pool.set_local(&b);
        let after = Duration::from_secs(5);
        let now = Instant::now();
        assert!(pool.due_for_gossip(now, after, 10).is_empty(), "just gossiped");
        let later = now + Duration::from_secs(6);
        // At most `max`, best first; what was returned is not due again right away.
        assert_eq!(pool.due_for_gossip(later, after, 1), vec![tx(2, 10)]);
        assert_eq!(pool.due_for_gossip(later, after, 10), vec![tx(1, 10)]);
        assert!(pool.due_for_gossip(later + Duration::from_secs(1), after, 10).is_empty());
        pool.remove(&Hash::digest(&tx(2, 10)));
        let much_later = later + Duration::from_secs(10);
        assert_eq!(pool.due_for_gossip(much_later, after, 10), vec![tx(1, 10)]);
    }

    #[test]
    fn a_senders_transactions_keep_nonce_order_in_a_batch() {
        let mut pool = TxPool::new(TxPoolConfig::default());
        let alice = Address::reserved("alice");
        // Nonce 1 pays more than nonce 0, but must not run first.
        pool.insert(tx(1, 10), 1, Some((alice, 0))).expect("n0");
        pool.insert(tx(2, 10), 9, Some((alice, 1))).expect("n1");
        pool.insert(tx(3, 10), 5, None).expect("other");
        assert_eq!(pool.batch(10, 1 << 20), vec![tx(1, 10), tx(3, 10), tx(2, 10)]);
    }
}
