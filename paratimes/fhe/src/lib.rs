//! The FHE ParaTime's building blocks: confidential contracts computed on TFHE ciphertexts
//! (tfhe-rs), verified by plain discrepancy detection, with no key manager.
//!
//! A contract's key holder — its owner, or an auditor they name — generates a key set
//! ([`keys`]); users encrypt inputs to its public key with a zero-knowledge proof of
//! well-formed encryption bound to their transaction ([`cipher::prove_inputs`]); workers
//! verify the proofs and run the contract's program ([`program`], [`exec`]) on ciphertexts
//! with the key set's server key ([`cipher::Encrypted`]). Every worker computes the same
//! bytes ([`kat`] checks the machine can), so their state roots agree and discrepancy
//! detection verifies the results like any ParaTime's. Only the key holder can decrypt.
//!
//! tfhe-rs is licensed BSD-3-Clause-Clear, with Zama's patents: free for research and
//! prototyping; commercial use needs a patent licence from Zama (docs/FHE.md).

pub mod cipher;
pub mod clear;
mod codec;
pub mod demos;
mod error;
pub mod exec;
pub mod gas;
pub mod kat;
pub mod keys;
pub mod module;
pub mod node;
pub mod params;
pub mod program;
mod runtime;
pub mod setup;

pub use error::FheError;
pub use runtime::{core_parameters, runtime, runtime_id, FheConfig};
/// The key and proof-setup types clients hold (tfhe's).
pub use tfhe::{zk::CompactPkeCrs, CompactPublicKey};
