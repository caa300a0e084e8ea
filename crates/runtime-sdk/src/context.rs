//! The execution context a module sees: state, gas, caller, events, outgoing messages.

use atoll_mkvs::{EntryIter, KeyValueRead, Overlay, Proof, Tree, WriteLog};
use atoll_runtime_host::{RuntimeEvent, RuntimeMessage};
use atoll_types::{Address, Round, RuntimeId};
use borsh::{BorshDeserialize, BorshSerialize};

use crate::error::{core_codes, RuntimeError};

/// Why the context exists.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    /// Executing a batch: changes are kept.
    Execute,
    /// Checking a transaction for the pool: changes are dropped.
    Check,
    /// Answering a query: changes are dropped.
    Query,
}

/// Most bytes a stored value may have when decoded by a module.
const MAX_VALUE: usize = atoll_mkvs::MAX_VALUE_LEN;

/// State and effects of one batch, transaction or query.
pub struct Context<'a> {
    state: Overlay<'a>,
    tree: Option<&'a Tree<'a>>,
    /// Execute, check or query.
    pub mode: Mode,
    /// The round being executed (or queried).
    pub round: Round,
    /// The round's consensus block time (informational).
    pub time: u64,
    /// The round's randomness (from the consensus beacon, the same on every worker; zero in
    /// checks and queries).
    pub randomness: atoll_types::Hash,
    /// This runtime's id.
    pub runtime_id: RuntimeId,
    /// The root of the state the batch executes on (the previous round's result; zero in
    /// checks and queries).
    pub base_root: atoll_types::Hash,
    /// This runtime's chain context (the consensus chain's, bound to the runtime id): what
    /// a module binds data to so it cannot be replayed on another chain or ParaTime. Zero
    /// outside a dispatcher.
    pub chain_context: atoll_types::ChainContext,
    /// The nonce of the transaction in progress (its first signer's), if any.
    pub tx_nonce: Option<u64>,
    caller: Option<Address>,
    authenticated_by: Option<String>,
    gas_limit: u64,
    gas_used: u64,
    pub(crate) events: Vec<RuntimeEvent>,
    pub(crate) messages: Vec<RuntimeMessage>,
}

impl<'a> Context<'a> {
    /// A context over `base`; `tree`, when given, serves proofs.
    pub fn new(
        base: &'a dyn KeyValueRead,
        tree: Option<&'a Tree<'a>>,
        mode: Mode,
        round: Round,
        time: u64,
        runtime_id: RuntimeId,
    ) -> Self {
        Self {
            state: Overlay::new(base),
            tree,
            mode,
            round,
            time,
            randomness: atoll_types::Hash::ZERO,
            runtime_id,
            base_root: atoll_types::Hash::ZERO,
            chain_context: atoll_types::ChainContext::from_hash(atoll_types::Hash::ZERO),
            tx_nonce: None,
            caller: None,
            authenticated_by: None,
            gas_limit: u64::MAX,
            gas_used: 0,
            events: Vec::new(),
            messages: Vec::new(),
        }
    }

    /// Reads a typed value.
    pub fn get<T: BorshDeserialize>(&self, key: &[u8]) -> Result<Option<T>, RuntimeError> {
        match self.state.get(key)? {
            Some(bytes) => atoll_types::decode(&bytes, MAX_VALUE)
                .map(Some)
                .map_err(|e| RuntimeError::new("storage", 2, format!("corrupt value: {e}"))),
            None => Ok(None),
        }
    }

    /// Writes a typed value.
    pub fn set<T: BorshSerialize>(&mut self, key: &[u8], value: &T) -> Result<(), RuntimeError> {
        Ok(self.state.insert(key, atoll_types::encode(value))?)
    }

    /// Deletes a key.
    pub fn remove(&mut self, key: &[u8]) -> Result<(), RuntimeError> {
        Ok(self.state.remove(key)?)
    }

    /// Entries under `prefix`, in key order.
    pub fn scan(&self, prefix: &[u8]) -> EntryIter<'_> {
        self.state.prefix(prefix)
    }

    /// A proof of `key` against the state root this context started from (only the
    /// committed state is provable; see [`Context::has_proofs`]).
    pub fn prove(&self, key: &[u8]) -> Result<Proof, RuntimeError> {
        match self.tree {
            Some(tree) => Ok(tree.prove(key)?),
            None => Err(RuntimeError::new(
                "storage",
                3,
                "this context has no committed state to prove against",
            )),
        }
    }

    /// Whether [`Context::prove`] works here.
    pub fn has_proofs(&self) -> bool {
        self.tree.is_some()
    }

    /// The transaction's caller (first signer), if in a transaction.
    pub fn caller(&self) -> Option<Address> {
        self.caller
    }

    /// The caller, or an error for calls that need one.
    pub fn require_caller(&self) -> Result<Address, RuntimeError> {
        self.caller.ok_or_else(|| {
            RuntimeError::new(
                "core",
                core_codes::UNKNOWN_METHOD,
                "method needs a signed transaction",
            )
        })
    }

    /// Spends `amount` gas; fails once the transaction's limit is exceeded.
    pub fn use_gas(&mut self, amount: u64) -> Result<(), RuntimeError> {
        let used = self.gas_used.saturating_add(amount);
        if used > self.gas_limit {
            self.gas_used = self.gas_limit;
            return Err(RuntimeError::new(
                "core",
                core_codes::OUT_OF_GAS,
                format!("out of gas (limit {})", self.gas_limit),
            ));
        }
        self.gas_used = used;
        Ok(())
    }

    /// Gas used so far in this transaction.
    pub fn gas_used(&self) -> u64 {
        self.gas_used
    }

    /// Emits an event of `module` with `code`.
    pub fn emit<E: BorshSerialize>(&mut self, module: &str, code: u32, event: &E) {
        self.events.push(RuntimeEvent {
            module: module.to_owned(),
            code,
            data: atoll_types::encode(event),
        });
    }

    /// Queues a message for the consensus layer (executed if the round finalizes) and
    /// returns its index among the round's messages (its result names it).
    pub fn send_message(&mut self, message: RuntimeMessage) -> u32 {
        self.messages.push(message);
        (self.messages.len() - 1) as u32
    }

    /// The module that authenticated the transaction in progress, if it was sent in a
    /// module's own scheme (see [`crate::transaction::ModuleAuth`]); `None` for a
    /// transaction signed with the SDK's own signatures.
    pub fn authenticated_by(&self) -> Option<&str> {
        self.authenticated_by.as_deref()
    }

    /// Starts a transaction of `caller` with `gas_limit`, authenticated by `module` when it
    /// was sent in a module's scheme.
    pub fn begin_tx(&mut self, caller: Option<Address>, gas_limit: u64, module: Option<String>) {
        self.caller = caller;
        self.authenticated_by = module;
        self.gas_limit = gas_limit;
        self.gas_used = 0;
    }

    pub(crate) fn end_tx(&mut self) {
        self.caller = None;
        self.tx_nonce = None;
        self.authenticated_by = None;
        self.gas_limit = u64::MAX;
        self.gas_used = 0;
    }

    pub(crate) fn checkpoint(&mut self) -> (usize, usize) {
        self.state.checkpoint();
        (self.events.len(), self.messages.len())
    }

    pub(crate) fn rollback(&mut self, mark: (usize, usize)) -> Result<(), RuntimeError> {
        self.state.rollback()?;
        self.events.truncate(mark.0);
        self.messages.truncate(mark.1);
        Ok(())
    }

    pub(crate) fn release(&mut self) -> Result<(), RuntimeError> {
        Ok(self.state.release()?)
    }

    /// The state changes made through this context.
    pub fn into_write_log(self) -> WriteLog {
        self.state.into_write_log()
    }

    pub(crate) fn into_parts(self) -> (WriteLog, Vec<RuntimeEvent>, Vec<RuntimeMessage>) {
        let Context { state, events, messages, .. } = self;
        (state.into_write_log(), events, messages)
    }
}
