//! The engine: what turns the consensus state machine into a chain.
//!
//! - [`block`]: blocks (header, transactions, the previous block's commit certificate,
//!   double-signing evidence).
//! - [`certificate`]: votes and commit certificates, checked against a validator set.
//! - [`evidence`]: proofs of double signing.
//! - [`gossip`]: transaction gossip between mempools (libp2p gossipsub).
//! - [`merkle`]: the transactions root and inclusion proofs.
//! - [`mempool`]: pending transactions, admitted by the state machine's check mode,
//!   ordered by gas price and per-sender nonce, bounded, re-checked after each block.
//! - [`store`]: decided blocks and their certificates on disk, indexed by id and
//!   transaction hash, and ParaTime rounds ([`rounds`]); undecided proposals of the height
//!   in progress.
//! - [`bft`]: the Malachite adapter, the only code that imports the BFT engine: the
//!   context types, signing, wire codec, the application loop and node start-up.

pub mod bft;
pub mod block;
pub mod certificate;
pub mod evidence;
pub mod finality;
pub mod gossip;
pub mod mempool;
pub mod merkle;
pub mod rounds;
pub mod store;

pub use block::{Block, BlockError, BlockHeader, BlockLimits};
pub use certificate::{CertificateError, CommitCertificate, CommitSignature, Vote, VoteKind};
pub use mempool::{Mempool, MempoolConfig, MempoolError};
pub use store::{BlockStore, StoreError};
