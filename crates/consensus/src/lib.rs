//! The consensus state machine: `apply_block(state, block context, transactions) →
//! (state changes, results, events)`.
//!
//! It is pure and deterministic: it never reads the clock, the network or a random source;
//! whatever it needs about the block comes in the [`BlockContext`]. All state lives in one
//! MKVS tree, so every read can be proven against the block's app hash. No BFT engine is
//! involved here; `atoll-engine` drives it.
//!
//! Modules run in a fixed order ([`module`]): beacon (epochs and randomness), staking (the
//! native token), registry (entities, nodes, runtimes), scheduler (validator and executor
//! committee elections), governance (proposals and votes) and roothash (ParaTime results
//! verified by discrepancy detection, runtime blocks and messages). Transactions are
//! [`Transaction`]s signed by the sender, dispatched by method name, paid for with a fee,
//! and rejected with a stable [`TxError`] code.

mod app;
pub mod beacon;
mod block;
pub mod chain;
mod context;
mod error;
pub mod events;
pub mod genesis;
pub mod governance;
pub mod module;
pub mod registry;
pub mod roothash;
pub mod scheduler;
pub mod sharemath;
pub mod staking;
pub mod state;
mod transaction;

pub use app::{AppError, ConsensusState};
pub use block::{
    apply_block, apply_block_verified, check_tx, check_txs, simulate, BlockError, BlockOutcome,
    BlockResults, CheckPolicy, CheckedTx, Simulation, TxResult,
};
pub use chain::{ChainInfo, ConsensusParameters, TokenInfo};
pub use context::{BlockContext, Env, Misbehavior};
pub use error::{CallError, CoreError, ModuleError, StateError, TxError};
pub use events::{Event, EventRecord, StakingEvent};
pub use genesis::{Genesis, GenesisError, StakingGenesis};
pub use transaction::{
    transaction_hash, Fee, SignedTransaction, Transaction, MAX_TRANSACTION_SIZE,
};
