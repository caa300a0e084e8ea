//! Helpers for unit-testing modules without a node: an in-memory state and contexts with
//! a caller and a gas limit. Sign transactions with `atoll_crypto::MemorySigner`.

use std::collections::BTreeMap;

use atoll_mkvs::{EntryIter, KeyValueRead, MkvsError, WriteLog};
use atoll_types::{Address, Round, RuntimeId};

use crate::context::{Context, Mode};

/// A key-value state in a `BTreeMap`.
#[derive(Default, Clone, Debug)]
pub struct MockState {
    entries: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl MockState {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// A context in execute mode with no caller.
    pub fn context(&self) -> Context<'_> {
        Context::new(self, None, Mode::Execute, Round(1), 0, RuntimeId::from_bytes([1; 32]))
    }

    /// A context for a call by `caller` with `gas` to spend.
    pub fn call_context(&self, caller: Address, gas: u64) -> Context<'_> {
        let mut ctx = self.context();
        ctx.begin_tx(Some(caller), gas, None);
        ctx
    }

    /// Applies the changes of a finished context.
    pub fn apply(&mut self, log: WriteLog) {
        for entry in log {
            match entry.value {
                Some(value) => self.entries.insert(entry.key, value),
                None => self.entries.remove(&entry.key),
            };
        }
    }
}

impl KeyValueRead for MockState {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, MkvsError> {
        Ok(self.entries.get(key).cloned())
    }

    fn iter_from(&self, start: &[u8]) -> EntryIter<'_> {
        Box::new(self.entries.range(start.to_vec()..).map(|(k, v)| Ok((k.clone(), v.clone()))))
    }
}
