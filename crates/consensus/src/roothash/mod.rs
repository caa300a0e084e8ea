//! Roothash: verification of ParaTime results by discrepancy detection.
//!
//! This part is the commitment pool, a pure state machine; the roothash consensus module
//! (transactions, runtime blocks, messages, slashing) builds on it.

pub mod pool;
