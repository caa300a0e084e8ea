//! Where the `fhe` module keeps things, and a contract call's view of its state: the
//! interpreter's [`Environment`] over the runtime context. Every stored contract value is a
//! ciphertext; the only clear records are the contract's program, its owner, the
//! once-per-caller marks and what the owner chose to publish.

use atoll_runtime_sdk::storage::module_key;
use atoll_runtime_sdk::{Context, RuntimeError};
use atoll_types::{Address, Hash};

use super::calls::NAME;
use crate::cipher::Cipher;
use crate::exec::Environment;
use crate::program::Slot;
use crate::FheError;

/// The proof setup's id, written at genesis.
pub(crate) fn setup_key() -> Vec<u8> {
    module_key(NAME, &[b"setup"])
}

/// The next contract id.
pub(crate) fn next_contract_key() -> Vec<u8> {
    module_key(NAME, &[b"next"])
}

/// A key set's record.
pub fn key_set_key(id: &Hash) -> Vec<u8> {
    module_key(NAME, &[b"keyset", id.as_bytes()])
}

/// A contract's record.
pub fn contract_key(contract: u64) -> Vec<u8> {
    module_key(NAME, &[b"contract", &contract.to_be_bytes()])
}

/// A state slot of a contract, or of an account in it.
pub fn value_key(contract: u64, slot: u16, account: Option<&Address>) -> Vec<u8> {
    let account = account.map_or(&[][..], |a| &a.as_bytes()[..]);
    module_key(NAME, &[b"value", &contract.to_be_bytes(), &slot.to_be_bytes(), account])
}

/// The mark that `account` called function `function` of `contract`.
pub(crate) fn called_key(contract: u64, function: u16, account: &Address) -> Vec<u8> {
    module_key(
        NAME,
        &[b"called", &contract.to_be_bytes(), &function.to_be_bytes(), account.as_bytes()],
    )
}

/// The latest reveal under `label`.
pub fn reveal_key(contract: u64, label: u16) -> Vec<u8> {
    module_key(NAME, &[b"reveal", &contract.to_be_bytes(), &label.to_be_bytes()])
}

/// An account's public tag in programs (`CallerTag`): the 8 bytes of its address after the
/// version byte.
pub fn account_tag(account: &Address) -> u64 {
    let mut tag = [0u8; 8];
    tag.copy_from_slice(&account.as_bytes()[1..9]);
    u64::from_be_bytes(tag)
}

/// One call's view of its contract's state.
pub(crate) struct CallEnv<'c, 'a> {
    pub(crate) ctx: &'c mut Context<'a>,
    pub(crate) contract: u64,
    pub(crate) function: u16,
    pub(crate) owner: Address,
    pub(crate) caller: Address,
    pub(crate) accounts: &'c [Address],
    /// What the call's random values are derived from (round randomness, contract, caller,
    /// nonce).
    pub(crate) seed: Hash,
}

impl CallEnv<'_, '_> {
    fn key(&self, slot: Slot) -> Result<Vec<u8>, FheError> {
        Ok(match slot {
            Slot::Global(s) => value_key(self.contract, s, None),
            Slot::Caller(s) => value_key(self.contract, s, Some(&self.caller)),
            Slot::Account { slot, arg } => {
                let account = self
                    .accounts
                    .get(usize::from(arg))
                    .ok_or_else(|| FheError::Execution(format!("no account argument {arg}")))?;
                value_key(self.contract, slot, Some(account))
            }
        })
    }

    /// Records that the caller made a successful call to this function.
    pub(crate) fn mark_called(&mut self) -> Result<(), RuntimeError> {
        self.ctx.set(&called_key(self.contract, self.function, &self.caller), &())
    }
}

fn storage(e: RuntimeError) -> FheError {
    FheError::Storage(e.to_string())
}

impl Environment<Cipher> for CallEnv<'_, '_> {
    fn load(&mut self, slot: Slot) -> Result<Option<Cipher>, FheError> {
        let key = self.key(slot)?;
        match self.ctx.get::<Vec<u8>>(&key).map_err(storage)? {
            Some(bytes) => Cipher::decode(&bytes).map(Some),
            None => Ok(None),
        }
    }

    fn store(&mut self, slot: Slot, value: Cipher) -> Result<(), FheError> {
        let key = self.key(slot)?;
        self.ctx.set(&key, &value.encode()?).map_err(storage)
    }

    fn caller_is_owner(&self) -> bool {
        self.caller == self.owner
    }

    fn caller_called_before(&mut self) -> Result<bool, FheError> {
        let key = called_key(self.contract, self.function, &self.caller);
        Ok(self.ctx.get::<()>(&key).map_err(storage)?.is_some())
    }

    fn caller_tag(&self) -> u64 {
        account_tag(&self.caller)
    }

    fn random_seed(&self, n: u32) -> u128 {
        let digest = Hash::digest_parts(&[self.seed.as_bytes(), &n.to_be_bytes()]);
        let mut seed = [0u8; 16];
        seed.copy_from_slice(&digest.as_bytes()[..16]);
        u128::from_be_bytes(seed)
    }
}
