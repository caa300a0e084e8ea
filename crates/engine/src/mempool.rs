//! The mempool: transactions waiting for a block.
//!
//! Admission runs the state machine's check mode (size, signature, method, fee payable,
//! gas price at least this node's minimum) and allows nonces ahead of the account's, up to
//! a gap. A sender's pending transactions must be payable together: their fees add up
//! against its balance, so one funded key cannot hold many slots it could never pay for.
//! The pool is bounded in count and bytes; when full, a better-paying transaction evicts
//! the worst-paying one. Blocks are built by gas price while keeping each sender's nonces
//! in order.
//!
//! After every block the pool is re-checked against the new state (on a thread of its own,
//! off the commit path) without verifying any signature again (a transaction's hash covers its signature, and admission verified it):
//! per sender, one account read drops used nonces and what the balance no longer covers,
//! and transactions stuck behind a nonce gap expire after [`MempoolConfig::gap_ttl_blocks`].

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::sync::Arc;

use atoll_consensus::{
    check_tx, check_txs, staking, CallError, CheckPolicy, CheckedTx, Event, EventRecord,
    SignedTransaction, StakingEvent, StateError, TxError,
};
use atoll_mkvs::KeyValueRead;
use atoll_types::{Address, Hash};
use thiserror::Error;

use crate::block::BlockLimits;

/// Mempool limits and policy.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct MempoolConfig {
    /// Most transactions held.
    pub max_txs: usize,
    /// Most bytes held.
    pub max_bytes: usize,
    /// Lowest gas price admitted.
    pub min_gas_price: u128,
    /// Furthest a nonce may be ahead of the account's next nonce.
    pub max_nonce_gap: u64,
    /// Blocks a transaction that cannot execute yet (its sender's earlier nonces are
    /// missing) is kept before it expires.
    pub gap_ttl_blocks: u64,
}

impl Default for MempoolConfig {
    fn default() -> Self {
        Self {
            max_txs: 50_000,
            max_bytes: 64 << 20,
            min_gas_price: 0,
            max_nonce_gap: 64,
            gap_ttl_blocks: 100,
        }
    }
}

/// Why a transaction was not admitted.
#[derive(Debug, Error)]
pub enum MempoolError {
    /// The state machine's checks refused it.
    #[error(transparent)]
    Rejected(TxError),
    /// The pool is full of transactions paying at least as much.
    #[error("mempool full")]
    Full,
    /// Already in the pool.
    #[error("transaction already in the mempool")]
    Duplicate,
    /// The nonce is too far ahead of the account's.
    #[error("nonce too far ahead of the account's next nonce")]
    NonceTooFar,
    /// Another transaction with this sender and nonce pays at least as much.
    #[error("a transaction with this nonce is pending at an equal or higher gas price")]
    ReplacementUnderpriced,
    /// The sender's balance does not cover the fees of all its pending transactions.
    #[error("the sender's balance does not cover the fees of its pending transactions")]
    SenderCannotPay,
    /// State could not be read.
    #[error(transparent)]
    State(#[from] StateError),
}

fn refusal(e: CallError) -> MempoolError {
    match e {
        CallError::Tx(t) => MempoolError::Rejected(t),
        CallError::Fatal(f) => MempoolError::State(f),
    }
}

impl MempoolError {
    /// The error as the submitter sees it: module, stable code, message.
    pub fn tx_error(&self) -> TxError {
        let mempool =
            |code: u32| TxError { module: "mempool".into(), code, message: self.to_string() };
        match self {
            MempoolError::Rejected(e) => e.clone(),
            MempoolError::Full => mempool(1),
            MempoolError::Duplicate => mempool(2),
            MempoolError::NonceTooFar => mempool(3),
            MempoolError::ReplacementUnderpriced => mempool(4),
            MempoolError::State(_) => mempool(5),
            MempoolError::SenderCannotPay => mempool(6),
        }
    }
}

struct Entry {
    raw: Vec<u8>,
    sender: Address,
    nonce: u64,
    gas_price: u128,
    gas: u64,
    fee: u128,
    /// The height of the state it was admitted against.
    admitted_at: u64,
    seq: u64,
    /// Submitted to this node by a client (not received by gossip).
    local: bool,
    /// The height at which this node last gossiped it.
    gossiped_at: u64,
}

/// Pending transactions.
pub struct Mempool {
    config: MempoolConfig,
    entries: HashMap<Hash, Entry>,
    by_sender: BTreeMap<Address, BTreeMap<u64, Hash>>,
    /// Worst first: lowest price, then newest.
    by_priority: BTreeSet<(u128, Reverse<u64>, Hash)>,
    account_nonces: HashMap<Address, u64>,
    bytes: usize,
    next_seq: u64,
    /// The height of the latest state the pool was checked against.
    height: u64,
    /// Told of every admitted transaction (an idle proposer waits on it).
    arrivals: Arc<tokio::sync::Notify>,
}

impl Mempool {
    /// An empty pool.
    pub fn new(config: MempoolConfig) -> Self {
        Self {
            config,
            entries: HashMap::new(),
            by_sender: BTreeMap::new(),
            by_priority: BTreeSet::new(),
            account_nonces: HashMap::new(),
            bytes: 0,
            next_seq: 0,
            height: 0,
            arrivals: Arc::new(tokio::sync::Notify::new()),
        }
    }

    /// Notified on every admission: a waiter that missed it gets the stored permit, so
    /// checking [`Mempool::is_empty`] and then waiting loses no wake-up.
    pub fn arrivals(&self) -> Arc<tokio::sync::Notify> {
        self.arrivals.clone()
    }

    /// Transactions held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The nonce after `sender`'s highest pending one, if it has any pending.
    pub fn next_nonce(&self, sender: &Address) -> Option<u64> {
        let (last, _) = self.by_sender.get(sender)?.last_key_value()?;
        Some(last.saturating_add(1))
    }

    /// Whether `hash` is pending.
    pub fn contains(&self, hash: &Hash) -> bool {
        self.entries.contains_key(hash)
    }

    /// A pending transaction's bytes (for gossip).
    pub fn get(&self, hash: &Hash) -> Option<&[u8]> {
        self.entries.get(hash).map(|e| e.raw.as_slice())
    }

    fn remove(&mut self, hash: &Hash) -> Option<Entry> {
        let entry = self.entries.remove(hash)?;
        self.bytes -= entry.raw.len();
        self.by_priority.remove(&(entry.gas_price, Reverse(entry.seq), *hash));
        if let Some(queue) = self.by_sender.get_mut(&entry.sender) {
            queue.remove(&entry.nonce);
            if queue.is_empty() {
                self.by_sender.remove(&entry.sender);
                self.account_nonces.remove(&entry.sender);
            }
        }
        Some(entry)
    }

    /// The pool's limits and policy.
    pub fn config(&self) -> MempoolConfig {
        self.config
    }

    /// Admits a transaction checked against `state` (the latest committed state).
    pub fn insert(&mut self, state: &dyn KeyValueRead, raw: Vec<u8>) -> Result<Hash, MempoolError> {
        let checked = Self::check(&self.config, state, &raw)?;
        self.insert_checked(state, raw, checked)
    }

    /// The state machine's checks of a transaction (signature included) under `config`'s
    /// policy: what admission does before it needs the pool itself, so callers can run it
    /// without holding the pool.
    pub fn check(
        config: &MempoolConfig,
        state: &dyn KeyValueRead,
        raw: &[u8],
    ) -> Result<CheckedTx, MempoolError> {
        let policy = CheckPolicy { min_gas_price: config.min_gas_price, allow_future_nonce: true };
        check_tx(state, raw, &policy).map_err(refusal)
    }

    /// [`Mempool::check`] for many transactions against one state, their signatures
    /// verified in one batch.
    pub fn check_many(
        config: &MempoolConfig,
        state: &dyn KeyValueRead,
        raws: &[Vec<u8>],
    ) -> Vec<Result<CheckedTx, MempoolError>> {
        let policy = CheckPolicy { min_gas_price: config.min_gas_price, allow_future_nonce: true };
        match check_txs(state, raws, &policy) {
            Ok(checked) => checked.into_iter().map(|r| r.map_err(refusal)).collect(),
            Err(e) => {
                let reason = e.to_string();
                let corrupt = || StateError::Corrupt { key: String::new(), reason: reason.clone() };
                raws.iter().map(|_| Err(MempoolError::State(corrupt()))).collect()
            }
        }
    }

    /// Admits a transaction that [`Mempool::check`] passed against the same `state`: the
    /// pool's own rules (duplicates, nonce gap, replacement, the sender's pending fees,
    /// bounds).
    pub fn insert_checked(
        &mut self,
        state: &dyn KeyValueRead,
        raw: Vec<u8>,
        checked: CheckedTx,
    ) -> Result<Hash, MempoolError> {
        let hash = checked.hash;
        if self.entries.contains_key(&hash) {
            return Err(MempoolError::Duplicate);
        }
        let account = staking::account(state, &checked.sender)?.general;
        let account_nonce = account.nonce;
        if checked.tx.nonce > account_nonce.saturating_add(self.config.max_nonce_gap) {
            return Err(MempoolError::NonceTooFar);
        }
        let gas_price = checked.tx.fee.gas_price();
        let fee = checked.tx.fee.amount.base_units();
        let replaced =
            self.by_sender.get(&checked.sender).and_then(|q| q.get(&checked.tx.nonce)).copied();
        if let Some(existing) = replaced {
            let old_price = self.entries.get(&existing).map_or(0, |e| e.gas_price);
            if gas_price <= old_price {
                return Err(MempoolError::ReplacementUnderpriced);
            }
        }
        let pending: u128 = self
            .by_sender
            .get(&checked.sender)
            .into_iter()
            .flat_map(|queue| queue.values())
            .filter(|hash| Some(**hash) != replaced)
            .filter_map(|hash| self.entries.get(hash))
            .map(|e| e.fee)
            .fold(0u128, u128::saturating_add);
        let min_balance = staking::parameters(state)?.min_transact_balance.base_units();
        let spendable = account.balance.base_units().saturating_sub(min_balance);
        if pending.saturating_add(fee) > spendable {
            return Err(MempoolError::SenderCannotPay);
        }
        if let Some(existing) = replaced {
            self.remove(&existing);
        }
        while self.entries.len() >= self.config.max_txs
            || self.bytes + raw.len() > self.config.max_bytes
        {
            let Some(&(worst_price, _, worst)) = self.by_priority.first() else {
                return Err(MempoolError::Full);
            };
            if worst_price >= gas_price {
                return Err(MempoolError::Full);
            }
            self.remove(&worst);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.bytes += raw.len();
        self.by_priority.insert((gas_price, Reverse(seq), hash));
        self.by_sender.entry(checked.sender).or_default().insert(checked.tx.nonce, hash);
        self.account_nonces.insert(checked.sender, account_nonce);
        self.entries.insert(
            hash,
            Entry {
                raw,
                sender: checked.sender,
                nonce: checked.tx.nonce,
                gas_price,
                gas: checked.tx.fee.gas,
                fee,
                admitted_at: self.height,
                seq,
                local: false,
                gossiped_at: self.height,
            },
        );
        self.arrivals.notify_one();
        Ok(hash)
    }

    /// Marks a transaction as submitted here by a client: this node keeps gossiping it
    /// while it waits ([`Mempool::due_for_gossip`]).
    pub fn set_local(&mut self, hash: &Hash) {
        let height = self.height;
        if let Some(entry) = self.entries.get_mut(hash) {
            entry.local = true;
            entry.gossiped_at = height;
        }
    }

    /// Local transactions still waiting `after` blocks after this node last gossiped them,
    /// best paying first, at most `max`; they count as gossiped now. A transaction lost in
    /// gossip (a peer's full admission queue, a congested link) would otherwise wait here
    /// for good, and every later nonce of its sender with it.
    pub fn due_for_gossip(&mut self, after: u64, max: usize) -> Vec<Vec<u8>> {
        let height = self.height;
        let mut due = Vec::new();
        for (_, _, hash) in self.by_priority.iter().rev() {
            if due.len() >= max {
                break;
            }
            if let Some(entry) = self.entries.get_mut(hash) {
                if entry.local && height.saturating_sub(entry.gossiped_at) >= after {
                    entry.gossiped_at = height;
                    due.push(entry.raw.clone());
                }
            }
        }
        due
    }

    /// Transactions for the next block: highest gas price first, each sender's nonces
    /// consecutive from its account nonce, within every limit of `limits` (the same limits
    /// [`crate::Block::validate_basic`] enforces, so no honest proposer builds a block its
    /// peers refuse).
    pub fn select(&self, limits: &BlockLimits) -> Vec<Vec<u8>> {
        let mut heads = BinaryHeap::new();
        for (sender, queue) in &self.by_sender {
            let expected = self.account_nonces.get(sender).copied().unwrap_or(0);
            if let Some(hash) = queue.get(&expected) {
                let entry = &self.entries[hash];
                heads.push((entry.gas_price, Reverse(entry.seq), *sender, expected));
            }
        }
        let (mut gas, mut bytes, mut out) = (0u64, 0usize, Vec::new());
        while let Some((_, _, sender, nonce)) = heads.pop() {
            if out.len() >= limits.max_txs {
                break;
            }
            let queue = &self.by_sender[&sender];
            let entry = &self.entries[&queue[&nonce]];
            let fits = gas.checked_add(entry.gas).is_some_and(|g| g <= limits.max_gas)
                && bytes + entry.raw.len() <= limits.max_bytes;
            if !fits {
                continue;
            }
            gas += entry.gas;
            bytes += entry.raw.len();
            out.push(entry.raw.clone());
            if let Some(next) = queue.get(&(nonce + 1)) {
                let next_entry = &self.entries[next];
                heads.push((next_entry.gas_price, Reverse(next_entry.seq), sender, nonce + 1));
            }
        }
        out
    }

    /// After the block at `height`: drops what `state` (the state after it) no longer lets
    /// execute — used nonces, fees the balance no longer covers (in nonce order), and
    /// transactions stuck behind a nonce gap for more than the gap lifetime. Reads each
    /// pending sender's account once; verifies no signature. Returns how many were dropped.
    pub fn recheck(&mut self, state: &dyn KeyValueRead, height: u64) -> Result<usize, StateError> {
        self.recheck_accounts(state, height, None)
    }

    /// As [`Mempool::recheck`] after a block that changed no account but `touched` (its
    /// signers and every account its events name: see [`touched_accounts`]): reads only
    /// those senders' accounts; the other senders' transactions can only have aged past
    /// the gap lifetime, which needs no state. A sender the pool has no account record of
    /// is read too.
    pub fn recheck_touched(
        &mut self,
        state: &dyn KeyValueRead,
        height: u64,
        touched: &BTreeSet<Address>,
    ) -> Result<usize, StateError> {
        self.recheck_accounts(state, height, Some(touched))
    }

    fn recheck_accounts(
        &mut self,
        state: &dyn KeyValueRead,
        height: u64,
        touched: Option<&BTreeSet<Address>>,
    ) -> Result<usize, StateError> {
        self.height = height;
        let min_balance = staking::parameters(state)?.min_transact_balance.base_units();
        let mut drop = Vec::new();
        let mut read_nonces = Vec::new();
        for (sender, queue) in &self.by_sender {
            let known = self.account_nonces.get(sender).copied();
            let read = touched.is_none_or(|t| t.contains(sender)) || known.is_none();
            // An account no block touched has the nonce and balance admission and the last
            // re-check saw: its transactions' fees still fit, and only ones behind a gap
            // can have aged out — none if its queue runs on from its nonce without one.
            let (account_nonce, mut budget) = match known.filter(|_| !read) {
                Some(nonce) => {
                    let first = queue.first_key_value().map(|(n, _)| *n);
                    let last = queue.last_key_value().map(|(n, _)| *n);
                    let span = last.zip(first).map(|(l, f)| l - f + 1);
                    if first == Some(nonce) && span == Some(queue.len() as u64) {
                        continue;
                    }
                    (nonce, u128::MAX)
                }
                None => {
                    let account = staking::account(state, sender)?.general;
                    read_nonces.push((*sender, account.nonce));
                    (account.nonce, account.balance.base_units().saturating_sub(min_balance))
                }
            };
            let mut next = account_nonce;
            for (&nonce, hash) in queue {
                let entry = &self.entries[hash];
                let in_order = nonce == next;
                let fresh = in_order
                    || height.saturating_sub(entry.admitted_at) <= self.config.gap_ttl_blocks;
                let keep = nonce >= account_nonce && fresh && entry.fee <= budget;
                if keep {
                    budget -= entry.fee;
                    if in_order {
                        next += 1;
                    }
                } else {
                    drop.push(*hash);
                }
            }
        }
        self.account_nonces.extend(read_nonces);
        for hash in &drop {
            self.remove(hash);
        }
        Ok(drop.len())
    }
}

/// The accounts a block may have changed in ways that matter to pending transactions: the
/// signer of every transaction (nonce, fees) and every account its staking events name
/// (transfers, burns, allowances, escrow). Balances that only grow need no re-check; a
/// change no event names is caught by the next full re-check.
pub fn touched_accounts(transactions: &[Vec<u8>], events: &[EventRecord]) -> BTreeSet<Address> {
    let mut touched = BTreeSet::new();
    for raw in transactions {
        if let Ok(signed) = atoll_types::decode::<SignedTransaction>(raw, raw.len()) {
            touched.insert(Address::from_public_key(signed.signer()));
        }
    }
    for record in events {
        let Event::Staking(event) = &record.event else { continue };
        match event {
            StakingEvent::Transfer { from, to, .. } => touched.extend([*from, *to]),
            StakingEvent::AllowanceChange { owner, beneficiary, .. } => {
                touched.extend([*owner, *beneficiary]);
            }
            StakingEvent::AddEscrow { owner, escrow, .. }
            | StakingEvent::DebondingStart { owner, escrow, .. }
            | StakingEvent::ReclaimEscrow { owner, escrow, .. } => {
                touched.extend([*owner, *escrow])
            }
            StakingEvent::Burn { owner, .. }
            | StakingEvent::TakeEscrow { owner, .. }
            | StakingEvent::Slashed { owner, .. }
            | StakingEvent::CommissionScheduleAmended { owner } => {
                touched.insert(*owner);
            }
            StakingEvent::Reward { escrow, .. } => {
                touched.insert(*escrow);
            }
        }
    }
    touched
}
