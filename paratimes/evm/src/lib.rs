//! The EVM ParaTime: Ethereum transactions and Solidity contracts executed by revm over the
//! ParaTime's verified state, replicated on the compute committee and verified by
//! discrepancy detection like every round.
//!
//! - [`transaction`]: raw signed Ethereum transactions, decoded and checked.
//! - [`state`]: Ethereum accounts, code and storage in the ParaTime's MKVS state.
//! - [`execute`]: one transaction through revm, under the fixed hard fork.
//! - [`statetest`]: the Ethereum `GeneralStateTests` run through that same path.

pub mod execute;
pub mod state;
pub mod statetest;
pub mod transaction;
