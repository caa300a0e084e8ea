//! A contract's state in memory, for running programs without a chain.

#![allow(dead_code, unreachable_pub)]

use std::collections::{BTreeMap, BTreeSet};

use atoll_fhe::exec::{run, Backend, Environment, Reveal};
use atoll_fhe::program::{Program, Slot};
use atoll_fhe::FheError;

/// The state of one contract, and the call being made.
pub struct Memory<V> {
    pub owner: u64,
    pub state: BTreeMap<(u16, Option<u64>), V>,
    pub called: BTreeSet<(String, u64)>,
    caller: u64,
    function: String,
    accounts: Vec<u64>,
    seed: u128,
}

impl<V: Clone> Memory<V> {
    pub fn new(owner: u64) -> Self {
        Self {
            owner,
            state: BTreeMap::new(),
            called: BTreeSet::new(),
            caller: 0,
            function: String::new(),
            accounts: Vec::new(),
            seed: 0,
        }
    }

    fn key(&self, slot: Slot) -> Result<(u16, Option<u64>), FheError> {
        Ok(match slot {
            Slot::Global(s) => (s, None),
            Slot::Caller(s) => (s, Some(self.caller)),
            Slot::Account { slot, arg } => (
                slot,
                Some(
                    *self
                        .accounts
                        .get(usize::from(arg))
                        .ok_or_else(|| FheError::Execution("no such account".into()))?,
                ),
            ),
        })
    }

    /// Calls `function` as `caller` naming `accounts`; a failed call changes nothing.
    pub fn call<B: Backend<Value = V>>(
        &mut self,
        backend: &mut B,
        program: &Program,
        function: &str,
        caller: u64,
        accounts: &[u64],
        inputs: &[V],
    ) -> Result<Vec<Reveal<V>>, FheError> {
        let (_, f) = program.function(function).expect("function exists");
        let before = self.state.clone();
        self.caller = caller;
        self.function = function.to_string();
        self.accounts = accounts.to_vec();
        self.seed += 1;
        match run(backend, self, &program.slots, f, inputs) {
            Ok(reveals) => {
                self.called.insert((function.to_string(), caller));
                Ok(reveals)
            }
            Err(e) => {
                self.state = before;
                Err(e)
            }
        }
    }
}

impl<V: Clone> Environment<V> for Memory<V> {
    fn load(&mut self, slot: Slot) -> Result<Option<V>, FheError> {
        let key = self.key(slot)?;
        Ok(self.state.get(&key).cloned())
    }

    fn store(&mut self, slot: Slot, value: V) -> Result<(), FheError> {
        let key = self.key(slot)?;
        self.state.insert(key, value);
        Ok(())
    }

    fn caller_is_owner(&self) -> bool {
        self.caller == self.owner
    }

    fn caller_called_before(&mut self) -> Result<bool, FheError> {
        Ok(self.called.contains(&(self.function.clone(), self.caller)))
    }

    fn caller_tag(&self) -> u64 {
        self.caller
    }

    fn random_seed(&self, n: u32) -> u128 {
        (self.seed << 32) | u128::from(n)
    }
}
