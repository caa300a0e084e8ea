//! Consensus transactions: `{nonce, fee, method, body}`, signed by the sender.

use atoll_types::{Amount, Hash, Signable, SignatureContext, Signed};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

/// What a transaction pays: `amount` for up to `gas` units of gas.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Debug,
    Default,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
pub struct Fee {
    /// Tokens paid, whatever gas is used.
    pub amount: Amount,
    /// Gas limit.
    pub gas: u64,
}

impl Fee {
    /// The gas price this fee offers, rounded down (0 for a zero gas limit).
    pub fn gas_price(&self) -> u128 {
        self.amount.base_units().checked_div(u128::from(self.gas)).unwrap_or(0)
    }
}

/// A consensus transaction.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct Transaction {
    /// Must equal the sender's next nonce.
    pub nonce: u64,
    /// The fee.
    pub fee: Fee,
    /// `module.Method`, e.g. `staking.Transfer`.
    pub method: String,
    /// The method's borsh-encoded body.
    pub body: Vec<u8>,
}

impl Signable for Transaction {
    const CONTEXT: SignatureContext = SignatureContext::new("atoll/consensus: tx");
    const MAX_SIZE: usize = MAX_TRANSACTION_SIZE;
}

/// The largest transaction any chain accepts (the genesis limit may be lower).
pub const MAX_TRANSACTION_SIZE: usize = 64 * 1024;

/// A transaction with its sender's signature.
pub type SignedTransaction = Signed<Transaction>;

impl Transaction {
    /// A transaction calling `method` with `body`.
    pub fn new<B: BorshSerialize>(nonce: u64, fee: Fee, method: &str, body: &B) -> Self {
        Self { nonce, fee, method: method.to_owned(), body: atoll_types::encode(body) }
    }
}

/// The hash that identifies a transaction: SHA-256 of its signed encoding.
pub fn transaction_hash(raw: &[u8]) -> Hash {
    Hash::digest(raw)
}
