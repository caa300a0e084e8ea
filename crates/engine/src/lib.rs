//! The engine: what turns the consensus state machine into a chain.
//!
//! - [`block`]: blocks (header, transactions, the previous block's commit certificate).
//! - [`certificate`]: votes and commit certificates, checked against a validator set.
//! - [`merkle`]: the transactions root and inclusion proofs.
//! - [`mempool`]: pending transactions, admitted by the state machine's check mode,
//!   ordered by gas price and per-sender nonce, bounded, re-checked after each block.
//! - [`store`]: decided blocks on disk, indexed by id and transaction hash.
//!
//! The Malachite adapter (the only code that will import the BFT engine) drives these.

pub mod block;
pub mod certificate;
pub mod mempool;
pub mod merkle;
pub mod store;

pub use block::{Block, BlockError, BlockHeader};
pub use certificate::{CertificateError, CommitCertificate, CommitSignature, Vote, VoteKind};
pub use mempool::{Mempool, MempoolConfig, MempoolError};
pub use store::{BlockStore, StoreError};
