//! Errors: transaction rejections with stable codes, and fatal state errors.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Why a transaction was rejected or failed: the module, a code that is stable across
/// versions (clients match on it), and a human-readable message.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Error,
    Serialize,
    Deserialize,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
)]
#[error("{module} error {code}: {message}")]
pub struct TxError {
    /// The module that rejected it (`core` for transaction-level checks).
    pub module: String,
    /// The module's numeric code.
    pub code: u32,
    /// What went wrong.
    pub message: String,
}

/// An error a module reports for a transaction, with its stable code.
pub trait ModuleError: std::error::Error {
    /// The module's name.
    fn module(&self) -> &'static str;
    /// The stable numeric code.
    fn code(&self) -> u32;

    /// The wire form.
    fn to_tx_error(&self) -> TxError {
        TxError { module: self.module().to_owned(), code: self.code(), message: self.to_string() }
    }
}

/// Transaction-level rejections (module `core`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CoreError {
    /// The transaction bytes do not decode.
    #[error("malformed transaction: {0}")]
    Malformed(String),
    /// The transaction is larger than the consensus parameter allows.
    #[error("transaction of {size} bytes, the limit is {max}")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The signature does not verify.
    #[error("invalid signature")]
    InvalidSignature,
    /// The nonce is not the account's next nonce.
    #[error("invalid nonce: expected {expected}, got {got}")]
    InvalidNonce {
        /// The account's next nonce.
        expected: u64,
        /// The transaction's nonce.
        got: u64,
    },
    /// The account cannot pay the fee (and keep the minimum transact balance).
    #[error("insufficient balance to pay the fee")]
    InsufficientFeeBalance,
    /// The fee's gas limit is below what the transaction needs.
    #[error("out of gas: needs {needed}, limit {limit}")]
    OutOfGas {
        /// Gas the transaction needs.
        needed: u64,
        /// The gas it paid for.
        limit: u64,
    },
    /// No module has this method.
    #[error("unknown method {0:?}")]
    UnknownMethod(String),
    /// The fee's gas price is below the chain's minimum (a consensus rule) or this node's
    /// (mempool policy).
    #[error("gas price too low: minimum {minimum} per gas")]
    GasPriceTooLow {
        /// The minimum price.
        minimum: u128,
    },
    /// The transaction does not fit the block's remaining gas.
    #[error("block gas limit reached")]
    BlockGasLimit,
    /// The method's body does not decode.
    #[error("malformed body: {0}")]
    MalformedBody(String),
}

impl ModuleError for CoreError {
    fn module(&self) -> &'static str {
        "core"
    }

    fn code(&self) -> u32 {
        match self {
            CoreError::Malformed(_) => 1,
            CoreError::TooLarge { .. } => 2,
            CoreError::InvalidSignature => 3,
            CoreError::InvalidNonce { .. } => 4,
            CoreError::InsufficientFeeBalance => 5,
            CoreError::OutOfGas { .. } => 6,
            CoreError::UnknownMethod(_) => 7,
            CoreError::GasPriceTooLow { .. } => 8,
            CoreError::BlockGasLimit => 9,
            CoreError::MalformedBody(_) => 10,
        }
    }
}

/// A failure that is not the transaction's fault: storage failed or state is corrupt. The
/// block cannot be applied.
#[derive(Debug, Error)]
pub enum StateError {
    /// The state store failed.
    #[error(transparent)]
    Store(#[from] atoll_mkvs::MkvsError),
    /// A stored value does not decode.
    #[error("corrupt state at key {key}: {reason}")]
    Corrupt {
        /// Hex of the key.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// State that genesis must have written is missing.
    #[error("missing state: {0}")]
    Missing(&'static str),
    /// Arithmetic on protocol totals overflowed: the state is inconsistent.
    #[error("arithmetic overflow in {0}")]
    Overflow(&'static str),
}

/// The outcome of a call: a transaction error (its changes roll back), or a fatal error.
#[derive(Debug, Error)]
pub enum CallError {
    /// The transaction failed; the block goes on.
    #[error(transparent)]
    Tx(TxError),
    /// The block cannot be applied.
    #[error(transparent)]
    Fatal(#[from] StateError),
}

impl<E: ModuleError> From<E> for CallError {
    fn from(e: E) -> Self {
        CallError::Tx(e.to_tx_error())
    }
}
