//! Proofs: inclusion, exclusion and complete ranges, verified against a root hash alone.
//!
//! A proof is the part of the trie needed to recompute the root: a pre-order list of
//! internal nodes (their branching bit), included leaves, and hashes of pruned subtrees.
//! In a binary tree, leaves and pruned subtrees appear in pre-order in the same order as in
//! key order, so the verifier sees the keys in order and can check **completeness**: a
//! pruned subtree may only sit where no key of the asked range could be — before an
//! included key that is `≤ start`, or after an included key whose successor is `≥ end`.
//! Exclusion of a key is the empty range `[key, key || 0)`.

use atoll_types::Hash;
use borsh::{BorshDeserialize, BorshSerialize};
use thiserror::Error;

use crate::key::{bit, prefix_end, successor, MAX_DEPTH};
use crate::node::{internal_hash, leaf_hash, ChildRef, Node};
use crate::read::Entry;
use crate::tree::Tree;
use crate::MkvsError;

/// The most entries a proof may hold.
pub const MAX_PROOF_ENTRIES: usize = 1 << 16;
/// The most keys one range proof may carry.
pub const MAX_RANGE_KEYS: usize = 10_000;

/// One item of a proof, in pre-order.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub enum ProofEntry {
    /// A subtree given only by its hash.
    Pruned(Hash),
    /// A leaf in the proven range, with its value.
    Leaf {
        /// The key.
        key: Vec<u8>,
        /// The value.
        value: Vec<u8>,
    },
    /// A neighbouring leaf, given by key and value hash (bounds the range).
    LeafDigest {
        /// The key.
        key: Vec<u8>,
        /// The hash of the value.
        value_hash: Hash,
    },
    /// An internal node branching on `bit`; its left then right subtrees follow.
    Internal {
        /// The branching bit.
        bit: u32,
    },
}

/// A Merkle proof about a root.
#[derive(Clone, PartialEq, Eq, Debug, Default, BorshSerialize, BorshDeserialize)]
pub struct Proof {
    /// The entries in pre-order.
    pub entries: Vec<ProofEntry>,
}

/// A proof of all entries in a range, possibly cut short by a key limit.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct RangeProof {
    /// The proof.
    pub proof: Proof,
    /// The end of the range it proves: the asked end, or (when the limit cut it short) the
    /// successor of the last key included — continue from there.
    pub end: Option<Vec<u8>>,
}

/// Why a proof was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProofError {
    /// The proof has more than [`MAX_PROOF_ENTRIES`] entries or is deeper than any trie.
    #[error("proof too large")]
    TooLarge,
    /// The entries do not form a tree, or the branching bits do not increase downwards.
    #[error("malformed proof: {0}")]
    Malformed(&'static str),
    /// The proof computes another root.
    #[error("proof computes root {computed}, expected {expected}")]
    RootMismatch {
        /// The trusted root.
        expected: Hash,
        /// What the proof hashes to.
        computed: Hash,
    },
    /// The proof's keys are not in increasing order.
    #[error("proof keys out of order")]
    Unordered,
    /// A pruned subtree could hold keys of the range: the proof does not show all of them.
    #[error("proof does not cover the whole range")]
    Incomplete,
    /// A key in the range is given without its value.
    #[error("proof omits the value of a key in the range")]
    MissingValue,
}

/// A needed leaf: its key and whether its value goes into the proof.
struct Needed {
    key: Vec<u8>,
    full: bool,
}

impl Tree<'_> {
    /// Proves the value of `key`, or that `key` is absent.
    pub fn prove(&self, key: &[u8]) -> Result<Proof, MkvsError> {
        Ok(self.prove_range(key, Some(&successor(key)), 1)?.proof)
    }

    /// Proves every entry with `start ≤ key < end`, up to `limit` entries (at most
    /// [`MAX_RANGE_KEYS`]); see [`RangeProof::end`] for where a cut-short proof stops.
    pub fn prove_range(
        &self,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<RangeProof, MkvsError> {
        let limit = limit.clamp(1, MAX_RANGE_KEYS);
        let Some(top) = self.top() else {
            return Ok(RangeProof { proof: Proof::default(), end: end.map(<[u8]>::to_vec) });
        };
        let mut needed = Vec::new();
        let mut proven_end = end.map(<[u8]>::to_vec);
        for (in_range, item) in self.entries_from(start).enumerate() {
            let (key, _) = item?;
            if end.is_some_and(|e| key.as_slice() >= e) {
                // The right neighbour, unless no key can fall between the last one and `end`.
                let last_closes = needed.last().is_some_and(|n: &Needed| {
                    end.is_some_and(|e| successor(&n.key).as_slice() >= e)
                });
                if !last_closes {
                    needed.push(Needed { key, full: false });
                }
                break;
            }
            if in_range == limit {
                proven_end = needed.last().map(|n: &Needed| successor(&n.key));
                break;
            }
            needed.push(Needed { key, full: true });
        }
        if needed.first().is_none_or(|n| n.key.as_slice() != start) {
            if let Some(previous) = self.predecessor(start)? {
                if let Node::Leaf { key, .. } = &*self.load(&previous)? {
                    needed.insert(0, Needed { key: key.clone(), full: false });
                }
            }
        }
        let mut entries = Vec::new();
        self.build_proof(top, &needed, &mut entries)?;
        Ok(RangeProof { proof: Proof { entries }, end: proven_end })
    }

    /// Emits the proof entries in pre-order (iteratively: a trie can be `MAX_DEPTH` deep).
    /// Each subtree comes with the slice of needed keys inside it; a subtree with none is
    /// pruned to its hash.
    /// Proves every entry whose key starts with `prefix`, up to `limit` entries.
    pub fn prove_prefix(&self, prefix: &[u8], limit: usize) -> Result<RangeProof, MkvsError> {
        self.prove_range(prefix, prefix_end(prefix).as_deref(), limit)
    }

    fn build_proof(
        &self,
        top: ChildRef,
        needed: &[Needed],
        out: &mut Vec<ProofEntry>,
    ) -> Result<(), MkvsError> {
        let mut stack = vec![(top, 0..needed.len())];
        while let Some((at, range)) = stack.pop() {
            let slice = &needed[range.clone()];
            if slice.is_empty() {
                out.push(ProofEntry::Pruned(at.hash));
                continue;
            }
            match &*self.load(&at)? {
                Node::Leaf { key, value } => {
                    let full = slice.iter().any(|n| n.key == *key && n.full);
                    out.push(if full {
                        ProofEntry::Leaf { key: key.clone(), value: value.clone() }
                    } else {
                        ProofEntry::LeafDigest { key: key.clone(), value_hash: Hash::digest(value) }
                    });
                }
                Node::Internal { bit: b, left, right } => {
                    out.push(ProofEntry::Internal { bit: *b });
                    let split = range.start + slice.partition_point(|n| !bit(&n.key, *b));
                    stack.push((*right, split..range.end));
                    stack.push((*left, range.start..split));
                }
            }
        }
        Ok(())
    }
}

/// An item of the proof in key order: a leaf's key, or a pruned subtree.
enum Item<'p> {
    Key(&'p [u8]),
    Pruned,
}

/// Verifies a proof for `key` against `root`: `Some(value)` if present, `None` if absent.
pub fn verify_key(root: &Hash, key: &[u8], proof: &Proof) -> Result<Option<Vec<u8>>, ProofError> {
    let mut entries = verify_range(root, key, Some(&successor(key)), proof)?;
    Ok(entries.pop().map(|(_, value)| value))
}

/// Verifies a prefix proof against `root`, returning every entry under `prefix` (all of
/// them, unless the proof's [`RangeProof::end`] says it was cut short).
pub fn verify_prefix(
    root: &Hash,
    prefix: &[u8],
    proof: &RangeProof,
) -> Result<Vec<Entry>, ProofError> {
    let end = prefix_end(prefix);
    let end = match (&proof.end, &end) {
        (Some(cut), Some(e)) if cut < e => Some(cut.as_slice()),
        (Some(cut), None) => Some(cut.as_slice()),
        _ => end.as_deref(),
    };
    verify_range(root, prefix, end, &proof.proof)
}

/// Verifies a range proof against `root`, returning every entry with `start ≤ key < end`.
pub fn verify_range(
    root: &Hash,
    start: &[u8],
    end: Option<&[u8]>,
    proof: &Proof,
) -> Result<Vec<Entry>, ProofError> {
    let entries = &proof.entries;
    if entries.len() > MAX_PROOF_ENTRIES {
        return Err(ProofError::TooLarge);
    }
    let computed = compute_root(entries)?;
    if computed != *root {
        return Err(ProofError::RootMismatch { expected: *root, computed });
    }
    let items: Vec<Item<'_>> = entries
        .iter()
        .filter_map(|e| match e {
            ProofEntry::Pruned(_) => Some(Item::Pruned),
            ProofEntry::Leaf { key, .. } | ProofEntry::LeafDigest { key, .. } => {
                Some(Item::Key(key))
            }
            ProofEntry::Internal { .. } => None,
        })
        .collect();
    let keys: Vec<&[u8]> =
        items.iter().filter_map(|i| if let Item::Key(k) = i { Some(*k) } else { None }).collect();
    if keys.windows(2).any(|w| w[0] >= w[1]) {
        return Err(ProofError::Unordered);
    }
    // Completeness: each pruned subtree lies between its nearest shown neighbours.
    let mut left: Option<&[u8]> = None;
    for (i, item) in items.iter().enumerate() {
        match item {
            Item::Key(k) => left = Some(k),
            Item::Pruned => {
                let right = items[i + 1..].iter().find_map(|it| {
                    if let Item::Key(k) = it {
                        Some(*k)
                    } else {
                        None
                    }
                });
                let below_start = right.is_some_and(|r| r <= start);
                let above_end = match (left, end) {
                    (Some(l), Some(e)) => successor(l).as_slice() >= e,
                    _ => false,
                };
                if !below_start && !above_end {
                    return Err(ProofError::Incomplete);
                }
            }
        }
    }
    let mut result = Vec::new();
    for entry in entries {
        let (key, value) = match entry {
            ProofEntry::Leaf { key, value } => (key, Some(value)),
            ProofEntry::LeafDigest { key, .. } => (key, None),
            _ => continue,
        };
        if key.as_slice() >= start && end.is_none_or(|e| key.as_slice() < e) {
            let value = value.ok_or(ProofError::MissingValue)?;
            result.push((key.clone(), value.clone()));
        }
    }
    Ok(result)
}

/// Recomputes the root hash of a pre-order proof.
fn compute_root(entries: &[ProofEntry]) -> Result<Hash, ProofError> {
    if entries.is_empty() {
        return Ok(Hash::ZERO);
    }
    // Open internal nodes: their bit and, once known, their left child's hash.
    let mut open: Vec<(u32, Option<Hash>)> = Vec::new();
    let mut root = None;
    for entry in entries {
        if root.is_some() {
            return Err(ProofError::Malformed("entries after the root is complete"));
        }
        let mut hash = match entry {
            ProofEntry::Internal { bit } => {
                if open.last().is_some_and(|(parent, _)| *bit <= *parent) {
                    return Err(ProofError::Malformed("branching bits must increase downwards"));
                }
                if open.len() >= MAX_DEPTH {
                    return Err(ProofError::TooLarge);
                }
                open.push((*bit, None));
                continue;
            }
            ProofEntry::Pruned(hash) => *hash,
            ProofEntry::Leaf { key, value } => leaf_hash(key, &Hash::digest(value)),
            ProofEntry::LeafDigest { key, value_hash } => leaf_hash(key, value_hash),
        };
        loop {
            match open.last_mut() {
                None => {
                    root = Some(hash);
                    break;
                }
                Some((_, left @ None)) => {
                    *left = Some(hash);
                    break;
                }
                Some((bit, Some(left))) => {
                    hash = internal_hash(*bit, left, &hash);
                    open.pop();
                }
            }
        }
    }
    root.ok_or(ProofError::Malformed("incomplete tree"))
}
