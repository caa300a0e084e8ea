//! The runtime SDK: build a ParaTime.
//!
//! A ParaTime is a [`Runtime`]: an id, a version and a list of [`Module`]s. Each module
//! handles its `module.Method` calls and queries, and may hook transactions (authenticate,
//! before and after the call), batches (genesis, begin, deposits, end) and invariants. The
//! [`Dispatcher`] runs batches: it verifies signatures, checks nonces and takes fees
//! (`accounts`), meters gas, rolls a failed call back, refunds unused gas, records every
//! transaction's input and output in the round's I/O tree, and commits the new state.
//! [`serve::run`] is a ParaTime binary's `main`: it serves the node over the runtime host
//! protocol, reading state through the host and verifying every node against the root.
//!
//! Built-in modules: [`modules::core`] (limits and gas), [`modules::accounts`] (balances,
//! nonces, transfers, fees) and [`modules::consensus_accounts`] (deposits from and
//! withdrawals to the consensus layer). Test modules with [`testing::MockState`].

pub mod blobs;
pub mod context;
pub mod dispatcher;
pub mod enclave;
pub mod error;
pub mod module;
pub mod modules;
pub mod remote;
pub mod serve;
pub mod storage;
pub mod testing;
pub mod transaction;
mod verified;

pub use context::{Context, Mode};
pub use dispatcher::{decode_body, io_key, Dispatcher};
pub use error::RuntimeError;
pub use module::{
    BlockHandler, InvariantHandler, MethodHandler, Module, Runtime, TransactionHandler,
};
pub use transaction::{
    AuthProof, Call, Fee, ModuleAuth, SignerInfo, Transaction, UnverifiedTransaction,
};
