//! The consensus state machine: `apply_block(state, block context, transactions) →
//! (state changes, results, events)`.
//!
//! It is pure and deterministic: it never reads the clock, the network or a random source;
//! whatever it needs about the block comes in the [`BlockContext`]. All state lives in one
//! MKVS tree, so every read can be proven against the block's app hash. No BFT engine is
//! involved here; `atoll-engine` drives it.
//!
//! Modules run in a fixed order ([`module`]); this crate has the staking module (the
//! native token). Transactions are [`Transaction`]s signed by the sender, dispatched by
//! method name, paid for with a fee, and rejected with a stable [`TxError`] code.

mod app;
mod block;
pub mod chain;
mod context;
mod error;
pub mod events;
pub mod genesis;
pub mod module;
pub mod sharemath;
pub mod staking;
pub mod state;
mod transaction;

pub use app::{AppError, ConsensusState};
pub use block::{
    apply_block, check_tx, BlockError, BlockOutcome, CheckPolicy, CheckedTx, TxResult,
};
pub use chain::{ChainInfo, ConsensusParameters, TokenInfo};
pub use context::{BlockContext, Env, Misbehavior};
pub use error::{CallError, CoreError, ModuleError, StateError, TxError};
pub use events::{Event, EventRecord, StakingEvent};
pub use genesis::{Genesis, GenesisError, StakingGenesis};
pub use transaction::{
    transaction_hash, Fee, SignedTransaction, Transaction, MAX_TRANSACTION_SIZE,
};
