//! The runtime transaction pool of a compute node: checked transactions waiting for a batch.
//!
//! Bounded in count and bytes; per sender, by its balance (the fees of all its waiting
//! transactions) and by [`MAX_FUTURE_PER_SENDER`] transactions that cannot run yet (a
//! nonce gap before them), as Ethereum pools limit an account's queue; ordered by gas price
//! (then arrival). A batch takes each sender's transactions only as an unbroken run of
//! nonces from the sender's account nonce, so transactions that cannot run yet (a gap)
//! never crowd out those that can. When full, a transaction offering a better price evicts
//! the cheapest one; transactions older than `max_age` expire.

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
    /// The sender already has [`MAX_FUTURE_PER_SENDER`] transactions that cannot run yet.
    #[error("sender has {MAX_FUTURE_PER_SENDER} transactions behind a nonce gap already")]
    SenderFull,
    /// The sender's balance does not pay the fees of all its waiting transactions too.
    #[error("the sender's balance does not pay the fees of its waiting transactions")]
    CannotPayPending,
    /// The nonce is already used in the state the pool knows.
    #[error("nonce {nonce} is below the account's next nonce {account}")]
    StaleNonce {
        /// The transaction's nonce.
        nonce: u64,
        /// The account's next nonce.
        account: u64,
    },
}

/// The most transactions of one sender that cannot run yet (behind a nonce gap) the pool
/// holds; the sender's unbroken run from its account nonce is bounded by its balance.
pub const MAX_FUTURE_PER_SENDER: usize = 64;

/// Limits of the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxPoolConfig {
    /// Most transactions held.
    pub max_txs: usize,
    /// Most bytes held.
    pub max_bytes: usize,
    /// Largest single transaction.
    pub max_tx_bytes: usize,
    /// How long a transaction may wait before it expires.
    pub max_age: Duration,
}

impl Default for TxPoolConfig {
    fn default() -> Self {
        Self {
            max_txs: 10_000,
            max_bytes: 64 << 20,
            max_tx_bytes: 256 << 10,
            max_age: Duration::from_secs(600),
        }
    }
}

/// Who sent a checked transaction and what the account looked like in the state it was
/// checked against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sender {
    /// The first signer's address (the fee payer).
    pub address: Address,
    /// The transaction's nonce.
    pub nonce: u64,
    /// The account's next nonce.
    pub account_nonce: u64,
    /// The transaction's fee.
    pub fee: u128,
    /// The account's balance.
    pub balance: u128,
}

impl SenderState {
    /// The first nonce after the unbroken run of waiting transactions from the account's
    /// nonce (the account nonce itself if that one is missing).
    fn run_end(&self) -> u64 {
        let mut next = self.account_nonce;
        for nonce in self.pending.range(self.account_nonce..).map(|(n, _)| *n) {
            if nonce != next {
                break;
            }
            next += 1;
        }
        next
    }
}

/// What the pool knows of one sender.
#[derive(Debug, Default)]
struct SenderState {
    /// The account's next nonce, as last checked.
    account_nonce: u64,
    /// Its balance, as last checked.
    balance: u128,
    /// The fees of its waiting transactions.
    pending_fees: u128,
    /// Its waiting transactions by nonce, with their fees.
    pending: BTreeMap<u64, (Hash, u128)>,
}

#[derive(Clone, Debug)]
struct Entry {
    raw: Vec<u8>,
    gas_price: u128,
    sender: Option<(Address, u64)>,
    seq: u64,
    /// When it entered the pool.
    arrived: Instant,
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
    senders: HashMap<Address, SenderState>,
    bytes: usize,
    next_seq: u64,
}

impl TxPool {
    /// An empty pool.
    pub fn new(config: TxPoolConfig) -> Self {
        Self {
            config,
            entries: HashMap::new(),
            order: BTreeSet::new(),
            senders: HashMap::new(),
            bytes: 0,
            next_seq: 0,
        }
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

    /// The nonce after `address`'s unbroken run of waiting transactions, if the pool knows
    /// the sender (what its next transaction should carry).
    pub fn next_nonce(&self, address: &Address) -> Option<u64> {
        self.senders.get(address).map(SenderState::run_end)
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
        sender: Option<Sender>,
    ) -> Result<Hash, TxPoolError> {
        if raw.len() > self.config.max_tx_bytes {
            return Err(TxPoolError::TooLarge { size: raw.len(), max: self.config.max_tx_bytes });
        }
        let hash = Hash::digest(&raw);
        if self.entries.contains_key(&hash) {
            return Err(TxPoolError::Duplicate);
        }
        if let Some(sender) = &sender {
            self.observe_account(&sender.address, sender.account_nonce, sender.balance);
            let state = self.senders.get(&sender.address);
            let account = state.map_or(sender.account_nonce, |s| s.account_nonce);
            if sender.nonce < account {
                return Err(TxPoolError::StaleNonce { nonce: sender.nonce, account });
            }
            // Fewer waiting than the limit cannot hold the limit behind a gap; only then is
            // the sender's run (a walk over its nonces) worth finding.
            if let Some(state) = state.filter(|s| s.pending.len() >= MAX_FUTURE_PER_SENDER) {
                let run_end = state.run_end();
                let future = state.pending.len() - (run_end - state.account_nonce) as usize;
                if sender.nonce != run_end && future >= MAX_FUTURE_PER_SENDER {
                    return Err(TxPoolError::SenderFull);
                }
            }
            // Every waiting transaction of the sender must be payable at once: a balance
            // that pays one fee does not get 64 transactions a place in every batch.
            let (fees, balance) =
                state.map_or((0, sender.balance), |s| (s.pending_fees, s.balance));
            if fees.saturating_add(sender.fee) > balance {
                return Err(TxPoolError::CannotPayPending);
            }
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
        let sender = sender.map(|s| {
            let state = self.senders.entry(s.address).or_default();
            state.pending.insert(s.nonce, (hash, s.fee));
            state.pending_fees = state.pending_fees.saturating_add(s.fee);
            (s.address, s.nonce)
        });
        let now = Instant::now();
        self.entries.insert(
            hash,
            Entry { raw, gas_price, sender, seq, arrived: now, published: now, local: false },
        );
        Ok(hash)
    }

    /// Records what a newer check says of `address`: its next nonce (which only grows;
    /// transactions below it leave) and its balance.
    pub fn observe_account(&mut self, address: &Address, account_nonce: u64, balance: u128) {
        let state = self.senders.entry(*address).or_default();
        if account_nonce < state.account_nonce {
            return;
        }
        state.balance = balance;
        if account_nonce == state.account_nonce {
            return;
        }
        state.account_nonce = account_nonce;
        let stale: Vec<Hash> = state.pending.range(..account_nonce).map(|(_, (h, _))| *h).collect();
        for hash in stale {
            self.remove(&hash);
        }
    }

    /// Removes a transaction (included in a finalized round, or found invalid).
    pub fn remove(&mut self, hash: &Hash) -> Option<Vec<u8>> {
        let entry = self.entries.remove(hash)?;
        self.order.remove(&(Reverse(entry.gas_price), entry.seq, *hash));
        self.bytes -= entry.raw.len();
        if let Some((address, nonce)) = entry.sender {
            if let Some(state) = self.senders.get_mut(&address) {
                if let Some((_, fee)) = state.pending.get(&nonce).filter(|(h, _)| h == hash) {
                    state.pending_fees = state.pending_fees.saturating_sub(*fee);
                    state.pending.remove(&nonce);
                }
                if state.pending.is_empty() {
                    self.senders.remove(&address);
                }
            }
        }
        Some(entry.raw)
    }

    /// Removes a transaction a finalized round included: its sender's account nonce is past
    /// it now (so the sender's run is counted from there even before a re-check says so).
    pub fn remove_finalized(&mut self, hash: &Hash) -> Option<Vec<u8>> {
        let sender = self.entries.get(hash)?.sender;
        let raw = self.remove(hash);
        if let Some((address, nonce)) = sender {
            if let Some(state) = self.senders.get_mut(&address) {
                state.account_nonce = state.account_nonce.max(nonce.saturating_add(1));
            }
        }
        raw
    }

    /// Drops transactions that waited longer than `max_age`; returns how many.
    pub fn expire(&mut self, now: Instant) -> usize {
        let max_age = self.config.max_age;
        let old: Vec<Hash> = self
            .entries
            .iter()
            .filter(|(_, e)| now.saturating_duration_since(e.arrived) > max_age)
            .map(|(h, _)| *h)
            .collect();
        for hash in &old {
            self.remove(hash);
        }
        old.len()
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

    /// A batch of at most `max_txs` transactions and `max_bytes` bytes, best first, each
    /// sender's transactions only as an unbroken run of nonces from its account nonce (so in
    /// nonce order): a transaction whose predecessor is missing is left for later.
    pub fn batch(&self, max_txs: usize, max_bytes: usize) -> Vec<Vec<u8>> {
        let mut picked: Vec<&Entry> = Vec::new();
        let mut bytes = 0usize;
        let mut next: HashMap<Address, u64> = HashMap::new();
        for (_, _, hash) in &self.order {
            if picked.len() >= max_txs {
                break;
            }
            let Some(entry) = self.entries.get(hash) else { continue };
            let Some((address, nonce)) = entry.sender else {
                if bytes + entry.raw.len() <= max_bytes {
                    bytes += entry.raw.len();
                    picked.push(entry);
                }
                continue;
            };
            let Some(state) = self.senders.get(&address) else { continue };
            let expected = next.entry(address).or_insert(state.account_nonce);
            if nonce != *expected {
                // Taken (in order) once its predecessor is, below; or never, if it is not.
                continue;
            }
            // The sender's run from here, as far as the limits allow.
            for (n, (h, _)) in state.pending.range(nonce..) {
                if *n != *expected || picked.len() >= max_txs {
                    break;
                }
                let Some(e) = self.entries.get(h) else { break };
                if bytes + e.raw.len() > max_bytes {
                    break;
                }
                bytes += e.raw.len();
                picked.push(e);
                *expected += 1;
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
        let mut pool = TxPool::new(TxPoolConfig {
            max_txs: 3,
            max_bytes: 1_000,
            max_tx_bytes: 100,
            ..TxPoolConfig::default()
        });
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

    fn from(address: Address, nonce: u64, account_nonce: u64) -> Option<Sender> {
        Some(Sender { address, nonce, account_nonce, fee: 1, balance: 1_000 })
    }

    #[test]
    fn a_senders_transactions_keep_nonce_order_in_a_batch() {
        let mut pool = TxPool::new(TxPoolConfig::default());
        let alice = Address::reserved("alice");
        // Nonce 1 pays more than nonce 0, but must not run first: it follows nonce 0.
        pool.insert(tx(1, 10), 1, from(alice, 0, 0)).expect("n0");
        pool.insert(tx(2, 10), 9, from(alice, 1, 0)).expect("n1");
        pool.insert(tx(3, 10), 5, None).expect("other");
        assert_eq!(pool.batch(10, 1 << 20), vec![tx(3, 10), tx(1, 10), tx(2, 10)]);
    }

    /// [T] finding 4: a sender with many gapped, well-paying transactions made every batch
    /// empty (they were picked first and all failed in schedule mode).
    #[test]
    fn gapped_transactions_refuse_to_crowd_out_runnable_ones() {
        let mut pool = TxPool::new(TxPoolConfig::default());
        let attacker = Address::reserved("attacker");
        // Nonces 1..=63 of an account at nonce 0: none can run.
        for nonce in 1..64u64 {
            pool.insert(tx(nonce as u8, 20), 1_000, from(attacker, nonce, 0)).expect("gapped");
        }
        let honest = Address::reserved("honest");
        pool.insert(tx(200, 10), 1, from(honest, 0, 0)).expect("honest 0");
        pool.insert(tx(201, 10), 1, from(honest, 1, 0)).expect("honest 1");
        assert_eq!(pool.batch(10, 1 << 20), vec![tx(200, 10), tx(201, 10)]);
        // The missing nonce arrives: the attacker's run is taken, best first.
        pool.insert(tx(100, 30), 1_000, from(attacker, 0, 0)).expect("n0");
        let batch = pool.batch(3, 1 << 20);
        assert_eq!(batch, vec![tx(100, 30), tx(1, 20), tx(2, 20)]);
        // Once runnable, the run may grow; transactions behind a gap are few per sender.
        pool.insert(tx(99, 40), 1_000, from(attacker, 64, 0)).expect("extends the run");
        for nonce in 100..164u64 {
            pool.insert(tx(nonce as u8, 50), 1_000, from(attacker, nonce, 0)).expect("gapped");
        }
        assert_eq!(
            pool.insert(tx(250, 60), 1_000, from(attacker, 200, 0)),
            Err(TxPoolError::SenderFull),
            "a 65th transaction behind a gap"
        );
    }

    #[test]
    fn used_nonces_leave_and_old_transactions_expire() {
        let mut pool = TxPool::new(TxPoolConfig {
            max_age: Duration::from_secs(60),
            ..TxPoolConfig::default()
        });
        let alice = Address::reserved("alice");
        pool.insert(tx(1, 10), 1, from(alice, 3, 3)).expect("n3");
        pool.insert(tx(2, 10), 1, from(alice, 4, 3)).expect("n4");
        assert_eq!(
            pool.insert(tx(3, 10), 1, from(alice, 2, 3)),
            Err(TxPoolError::StaleNonce { nonce: 2, account: 3 })
        );
        // A round used nonce 3: the re-check says the account is at 4.
        pool.observe_account(&alice, 4, 1_000);
        assert_eq!(pool.len(), 1);
        assert_eq!(pool.batch(10, 1 << 20), vec![tx(2, 10)]);
        assert_eq!(pool.expire(Instant::now()), 0);
        assert_eq!(pool.expire(Instant::now() + Duration::from_secs(61)), 1);
        assert!(pool.is_empty());
    }

    /// A sender submitting faster than rounds finalize: once a round took its first
    /// transactions, the rest are still its runnable run, not transactions behind a gap.
    #[test]
    fn finalized_transactions_move_the_senders_run_along() {
        let mut pool = TxPool::new(TxPoolConfig::default());
        let carol = Address::reserved("carol");
        for nonce in 0..200u64 {
            let raw = [&nonce.to_le_bytes()[..], b"carol"].concat();
            pool.insert(raw, 1, from(carol, nonce, 0)).expect("in a row");
        }
        for nonce in 0..100u64 {
            let raw = [&nonce.to_le_bytes()[..], b"carol"].concat();
            pool.remove_finalized(&Hash::digest(&raw)).expect("pooled");
        }
        // The check of the next one may still see the old state (account nonce 0).
        let raw = [&200u64.to_le_bytes()[..], b"carol"].concat();
        pool.insert(raw, 1, from(carol, 200, 0)).expect("extends the run");
        assert_eq!(pool.batch(1, 1 << 20).len(), 1);
    }

    #[test]
    fn a_sender_holds_no_more_transactions_than_its_balance_pays_for() {
        let mut pool = TxPool::new(TxPoolConfig::default());
        let bob = Address::reserved("bob");
        let sender =
            |nonce| Some(Sender { address: bob, nonce, account_nonce: 0, fee: 40, balance: 100 });
        pool.insert(tx(1, 10), 1, sender(0)).expect("40 of 100");
        pool.insert(tx(2, 10), 1, sender(1)).expect("80 of 100");
        assert_eq!(pool.insert(tx(3, 10), 1, sender(2)), Err(TxPoolError::CannotPayPending));
        // Once the first is gone (finalized), its fee is no longer pending.
        pool.remove(&Hash::digest(&tx(1, 10)));
        pool.insert(tx(3, 10), 1, sender(2)).expect("80 of 100 again");
    }
}
