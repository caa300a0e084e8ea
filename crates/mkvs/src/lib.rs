//! A Merklized key-value store (MKVS): ordered keys, versioned roots, write logs, proofs.
//!
//! All consensus state and every ParaTime's state live in this store. Its root hash is
//! what the consensus layer puts in block headers and what ParaTimes report for each
//! round; light clients check any read against it with a [`Proof`].
//!
//! - [`Mkvs`] commits a [`WriteLog`] as a new version of a (namespace, kind) history and
//!   prunes old versions; [`Tree`] reads one committed version.
//! - [`Overlay`] holds uncommitted changes with nested checkpoints.
//! - [`NodeDb`] is the storage capability: [`RedbNodeDb`] on disk, [`MemoryNodeDb`] in memory.
//!
//! The trie, node format and hashing are described in `docs/ARCHITECTURE.md` and in
//! [`node`].

mod cache;
pub mod checkpoint;
pub mod db;
mod error;
mod key;
pub mod node;
mod overlay;
mod proof;
mod read;
mod root;
mod store;
mod tree;
mod update;
pub mod witness;
mod writelog;

pub use db::{MemoryNodeDb, NodeDb, RedbNodeDb};
pub use error::MkvsError;
pub use key::{prefix_end, MAX_DEPTH, MAX_KEY_LEN, MAX_VALUE_LEN};
pub use overlay::Overlay;
pub use proof::{
    verify_key, verify_prefix, verify_range, Proof, ProofEntry, ProofError, RangeProof,
    MAX_PROOF_ENTRIES, MAX_RANGE_KEYS,
};
pub use read::{Entry, EntryIter, KeyValueRead};
pub use root::{Root, RootKind, CONSENSUS_NAMESPACE};
pub use store::{Mkvs, PruneStats, DEFAULT_CACHE_NODES};
pub use tree::{Tree, TreeIter};
pub use witness::{Recorder, StateProof, Witness, WitnessError};
pub use writelog::{diff, WriteLog, WriteLogEntry};
