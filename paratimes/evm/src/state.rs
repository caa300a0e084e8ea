//! Ethereum state over the ParaTime's verified MKVS state: accounts (nonce, balance, code
//! hash), code by hash, storage slots and the last 256 block hashes, all under the `evm`
//! module's prefix.
//!
//! revm reads through [`EvmDb`] (a [`revm::DatabaseRef`] over a [`Context`]) and its
//! changes are written back by [`apply`], following the Ethereum rules for what a
//! transaction leaves behind: an account that self-destructed (EIP-6780: only one created in
//! the same transaction) disappears with its storage; a newly created account starts from
//! empty storage; a touched account that is empty afterwards is removed (EIP-161).

use atoll_runtime_sdk::storage::module_key;
use atoll_runtime_sdk::{Context, RuntimeError};
use borsh::{BorshDeserialize, BorshSerialize};
use revm::bytecode::Bytecode;
use revm::database_interface::DBErrorMarker;
use revm::primitives::{Address, AddressMap, B256, KECCAK_EMPTY, U256};
use revm::state::{Account, AccountInfo};
use revm::DatabaseRef;

/// The module's name: the prefix of its state keys.
pub const NAME: &str = "evm";

/// How many past block hashes `BLOCKHASH` can see.
pub const BLOCK_HASH_WINDOW: u64 = 256;

/// What is stored for an account (code lives apart, by hash).
#[derive(Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct AccountRecord {
    /// The account's nonce.
    pub nonce: u64,
    /// Its balance in wei, big-endian.
    pub balance: [u8; 32],
    /// keccak256 of its code ([`KECCAK_EMPTY`] for none).
    pub code_hash: [u8; 32],
}

impl AccountRecord {
    /// The record of `info`.
    pub fn of(info: &AccountInfo) -> Self {
        Self { nonce: info.nonce, balance: info.balance.to_be_bytes(), code_hash: info.code_hash.0 }
    }

    /// The balance.
    pub fn balance(&self) -> U256 {
        U256::from_be_bytes(self.balance)
    }
}

/// The key of an account's record.
pub fn account_key(address: &Address) -> Vec<u8> {
    module_key(NAME, &[b"a", address.as_slice()])
}

/// The key of code by its hash.
pub fn code_key(hash: &B256) -> Vec<u8> {
    module_key(NAME, &[b"c", hash.as_slice()])
}

/// The prefix of an account's storage.
pub fn storage_prefix(address: &Address) -> Vec<u8> {
    module_key(NAME, &[b"s", address.as_slice()])
}

/// The key of one storage slot.
pub fn storage_key(address: &Address, slot: &U256) -> Vec<u8> {
    module_key(NAME, &[b"s", address.as_slice(), &slot.to_be_bytes::<32>()])
}

/// The prefix of every account record.
pub fn accounts_prefix() -> Vec<u8> {
    module_key(NAME, &[b"a"])
}

fn block_hash_key(number: u64) -> Vec<u8> {
    module_key(NAME, &[b"h", &number.to_be_bytes()])
}

/// The recorded hash of block `number` (zero outside the window).
pub fn block_hash(ctx: &Context<'_>, number: u64) -> Result<B256, RuntimeError> {
    Ok(ctx.get::<[u8; 32]>(&block_hash_key(number))?.map_or(B256::ZERO, B256::from))
}

/// A state read that failed (storage trouble aborts the batch, never a transaction).
#[derive(Debug, Clone, thiserror::Error)]
#[error(transparent)]
pub struct StateError(#[from] pub RuntimeError);

impl DBErrorMarker for StateError {}

/// An account's record, if it exists.
pub fn account(
    ctx: &Context<'_>,
    address: &Address,
) -> Result<Option<AccountRecord>, RuntimeError> {
    ctx.get(&account_key(address))
}

/// An account's balance (zero if it does not exist).
pub fn balance(ctx: &Context<'_>, address: &Address) -> Result<U256, RuntimeError> {
    Ok(account(ctx, address)?.map_or(U256::ZERO, |a| a.balance()))
}

/// An account's nonce (zero if it does not exist).
pub fn nonce(ctx: &Context<'_>, address: &Address) -> Result<u64, RuntimeError> {
    Ok(account(ctx, address)?.map_or(0, |a| a.nonce))
}

/// An account's code (empty if none).
pub fn code(ctx: &Context<'_>, address: &Address) -> Result<Vec<u8>, RuntimeError> {
    let Some(record) = account(ctx, address)? else { return Ok(Vec::new()) };
    let hash = B256::from(record.code_hash);
    if hash == KECCAK_EMPTY {
        return Ok(Vec::new());
    }
    Ok(ctx.get(&code_key(&hash))?.unwrap_or_default())
}

/// One storage slot (zero if unset).
pub fn storage(ctx: &Context<'_>, address: &Address, slot: &U256) -> Result<U256, RuntimeError> {
    Ok(ctx.get::<[u8; 32]>(&storage_key(address, slot))?.map_or(U256::ZERO, U256::from_be_bytes))
}

/// Writes an account's record (removing it when `info` is the empty account is the
/// caller's choice: see [`apply`]).
pub fn set_account(
    ctx: &mut Context<'_>,
    address: &Address,
    info: &AccountInfo,
) -> Result<(), RuntimeError> {
    if let Some(code) = &info.code {
        // An account whose record already names this code hash has its code stored.
        let unchanged = account(ctx, address)?.is_some_and(|r| r.code_hash == info.code_hash.0);
        if !unchanged && info.code_hash != KECCAK_EMPTY && !code.is_empty() {
            let key = code_key(&info.code_hash);
            if ctx.get::<Vec<u8>>(&key)?.is_none() {
                ctx.set(&key, &code.original_bytes().to_vec())?;
            }
        }
    }
    ctx.set(&account_key(address), &AccountRecord::of(info))
}

/// Writes one storage slot (zero removes it).
pub fn set_storage(
    ctx: &mut Context<'_>,
    address: &Address,
    slot: &U256,
    value: &U256,
) -> Result<(), RuntimeError> {
    let key = storage_key(address, slot);
    if value.is_zero() {
        ctx.remove(&key)
    } else {
        ctx.set(&key, &value.to_be_bytes::<32>())
    }
}

/// Removes an account and all its storage.
pub fn remove_account(ctx: &mut Context<'_>, address: &Address) -> Result<(), RuntimeError> {
    clear_storage(ctx, address)?;
    ctx.remove(&account_key(address))
}

fn clear_storage(ctx: &mut Context<'_>, address: &Address) -> Result<(), RuntimeError> {
    let keys: Vec<Vec<u8>> = ctx
        .scan(&storage_prefix(address))
        .map(|entry| entry.map(|(k, _)| k))
        .collect::<Result<_, _>>()?;
    for key in keys {
        ctx.remove(&key)?;
    }
    Ok(())
}

/// Records the hash of block `number` and forgets the one that left the window.
pub fn record_block_hash(
    ctx: &mut Context<'_>,
    number: u64,
    hash: &B256,
) -> Result<(), RuntimeError> {
    ctx.set(&block_hash_key(number), &hash.0)?;
    if let Some(old) = number.checked_sub(BLOCK_HASH_WINDOW) {
        ctx.remove(&block_hash_key(old))?;
    }
    Ok(())
}

/// Writes the changes revm reports for one transaction.
pub fn apply(ctx: &mut Context<'_>, changes: AddressMap<Account>) -> Result<(), RuntimeError> {
    // Sorted, so every worker writes in the same order (the result does not depend on it,
    // but the work does).
    let mut changes: Vec<(Address, Account)> = changes.into_iter().collect();
    changes.sort_by_key(|(address, _)| *address);
    for (address, account) in changes {
        if !account.is_touched() {
            continue;
        }
        if account.is_selfdestructed() {
            remove_account(ctx, &address)?;
            continue;
        }
        if account.is_created() {
            clear_storage(ctx, &address)?;
        } else if account.is_empty() {
            // EIP-161: a touched account left empty is removed.
            remove_account(ctx, &address)?;
            continue;
        }
        set_account(ctx, &address, &account.info)?;
        for (slot, value) in account.changed_storage_slots() {
            set_storage(ctx, &address, slot, &value.present_value())?;
        }
    }
    Ok(())
}

/// Most bytes of code kept analysed in a thread's [`CodeCache`].
const CODE_CACHE_BYTES: usize = 32 << 20;

/// Code already read and analysed (its jump destinations) on this thread, by hash: the same
/// hash is the same code in every state, so a contract called by every transaction of a
/// batch is read and analysed once. Emptied when it would exceed [`CODE_CACHE_BYTES`].
#[derive(Default)]
struct CodeCache {
    codes: std::collections::HashMap<B256, Bytecode>,
    bytes: usize,
}

impl CodeCache {
    fn get(&self, hash: &B256) -> Option<Bytecode> {
        self.codes.get(hash).cloned()
    }

    fn insert(&mut self, hash: B256, code: Bytecode) {
        let size = code.original_bytes().len();
        if self.bytes.saturating_add(size) > CODE_CACHE_BYTES {
            self.codes.clear();
            self.bytes = 0;
        }
        self.bytes = self.bytes.saturating_add(size);
        self.codes.insert(hash, code);
    }
}

thread_local! {
    static CODE: std::cell::RefCell<CodeCache> = std::cell::RefCell::default();
}

/// revm's view of the state in a [`Context`].
pub struct EvmDb<'c, 'a> {
    ctx: &'c Context<'a>,
}

impl<'c, 'a> EvmDb<'c, 'a> {
    /// A view of `ctx`.
    pub fn new(ctx: &'c Context<'a>) -> Self {
        Self { ctx }
    }
}

impl DatabaseRef for EvmDb<'_, '_> {
    type Error = StateError;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, StateError> {
        Ok(account(self.ctx, &address)?.map(|record| AccountInfo {
            balance: record.balance(),
            nonce: record.nonce,
            code_hash: B256::from(record.code_hash),
            account_id: None,
            code: None,
        }))
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, StateError> {
        if code_hash == KECCAK_EMPTY {
            return Ok(Bytecode::default());
        }
        if let Some(code) = CODE.with(|cache| cache.borrow().get(&code_hash)) {
            return Ok(code);
        }
        let bytes: Vec<u8> = self.ctx.get(&code_key(&code_hash))?.ok_or_else(|| {
            RuntimeError::new("storage", 2, format!("code {code_hash} is missing"))
        })?;
        let code = Bytecode::new_raw(bytes.into());
        CODE.with(|cache| cache.borrow_mut().insert(code_hash, code.clone()));
        Ok(code)
    }

    fn storage_ref(&self, address: Address, index: U256) -> Result<U256, StateError> {
        Ok(storage(self.ctx, &address, &index)?)
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, StateError> {
        Ok(block_hash(self.ctx, number)?)
    }
}

/// Adds `amount` wei to an account (creating it if needed).
pub fn credit(ctx: &mut Context<'_>, address: &Address, amount: U256) -> Result<(), RuntimeError> {
    if amount.is_zero() {
        return Ok(());
    }
    let mut record = account(ctx, address)?.unwrap_or(AccountRecord {
        nonce: 0,
        balance: [0; 32],
        code_hash: KECCAK_EMPTY.0,
    });
    let balance = record
        .balance()
        .checked_add(amount)
        .ok_or_else(|| RuntimeError::new(NAME, 8, "balance overflow"))?;
    record.balance = balance.to_be_bytes();
    ctx.set(&account_key(address), &record)
}

/// Takes `amount` wei from an account (an account left empty is removed, as EIP-161 would);
/// `None` if it does not hold that much.
pub fn debit(
    ctx: &mut Context<'_>,
    address: &Address,
    amount: U256,
) -> Result<Option<()>, RuntimeError> {
    let Some(mut record) = account(ctx, address)? else { return Ok(None) };
    let Some(balance) = record.balance().checked_sub(amount) else { return Ok(None) };
    record.balance = balance.to_be_bytes();
    if record.nonce == 0 && balance.is_zero() && B256::from(record.code_hash) == KECCAK_EMPTY {
        ctx.remove(&account_key(address))?;
    } else {
        ctx.set(&account_key(address), &record)?;
    }
    Ok(Some(()))
}
