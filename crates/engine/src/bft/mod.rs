//! The Malachite adapter: the only code in Atoll that imports the BFT engine.
//!
//! - [`context`]: heights, validator addresses, values (block ids), proposals, votes,
//!   validator sets with stake-derived power, proposer selection.
//! - [`signing`]: domain-separated signing and verification of consensus messages.
//! - [`codec`]: bounded borsh encoding for gossip, sync and the WAL.
//! - [`streams`]: splitting a block into proposal parts and reassembling it.
//! - [`chain`]: building, validating and committing blocks over state, store and mempool.
//! - [`app`]: the loop answering the engine's requests.
//! - [`metrics`]: Prometheus metrics.
//! - [`run`]: starting a node.

pub mod app;
pub mod chain;
pub mod codec;
pub mod context;
pub mod metrics;
pub mod run;
pub mod signing;
pub mod streams;

pub use app::ChainStatus;
pub use run::{start, ByzantineMode, EngineConfig, NodeHandle, NodeView, StartError};
