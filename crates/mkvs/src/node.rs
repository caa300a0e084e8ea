//! Trie nodes, their storage format and their hashes.
//!
//! The trie is a crit-bit (compressed binary Patricia) trie over prefix-free key encodings
//! ([`crate::key`]): an internal node stores only the index of the bit on which its two
//! subtrees differ, and leaves store the full key and value. Its shape depends only on the
//! set of keys, so the root hash depends only on the contents.
//!
//! Hashes (SHA-256):
//! - leaf: `H(0x00 || u32_le(len(key)) || key || H(value))`
//! - internal: `H(0x01 || u32_le(bit) || H(left) || H(right))`
//! - the empty trie: 32 zero bytes.

use atoll_types::{decode, encode, Hash};
use borsh::{BorshDeserialize, BorshSerialize};
use sha2::{Digest, Sha256};

use crate::key::{MAX_KEY_LEN, MAX_VALUE_LEN};

/// Storage id of a node. Ids are never reused, so a cached node can never go stale.
pub type NodeId = u64;

/// A reference from a parent (or a root) to a stored child: where it is and what it hashes to.
#[derive(Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct ChildRef {
    /// Where the child is stored.
    pub id: NodeId,
    /// The child's hash; checked when the child is loaded.
    pub hash: Hash,
}

/// A stored trie node.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub enum Node {
    /// A key and its value.
    Leaf {
        /// The full key.
        key: Vec<u8>,
        /// The value.
        value: Vec<u8>,
    },
    /// A branch: keys with bit `bit` clear go left, set go right.
    Internal {
        /// The critical bit index in the encoded keys.
        bit: u32,
        /// Subtree of keys with the bit clear.
        left: ChildRef,
        /// Subtree of keys with the bit set.
        right: ChildRef,
    },
}

/// The largest encoded node: a leaf with a maximal key and value.
pub(crate) const MAX_NODE_LEN: usize = 1 + 4 + MAX_KEY_LEN + 4 + MAX_VALUE_LEN;

impl Node {
    /// The node's hash.
    pub fn hash(&self) -> Hash {
        match self {
            Node::Leaf { key, value } => leaf_hash(key, &Hash::digest(value)),
            Node::Internal { bit, left, right } => internal_hash(*bit, &left.hash, &right.hash),
        }
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        encode(self)
    }

    /// Decodes a stored node and checks it against the hash its parent recorded.
    pub(crate) fn decode_checked(bytes: &[u8], expected: &ChildRef) -> Result<Node, String> {
        let node: Node = decode(bytes, MAX_NODE_LEN).map_err(|e| e.to_string())?;
        let actual = node.hash();
        if actual != expected.hash {
            return Err(format!("hash mismatch: expected {}, found {actual}", expected.hash));
        }
        Ok(node)
    }
}

/// The hash of a leaf, given the hash of its value.
pub fn leaf_hash(key: &[u8], value_hash: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update((key.len() as u32).to_le_bytes());
    h.update(key);
    h.update(value_hash.as_bytes());
    Hash::from_bytes(h.finalize().into())
}

/// The hash of an internal node.
pub fn internal_hash(bit: u32, left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(bit.to_le_bytes());
    h.update(left.as_bytes());
    h.update(right.as_bytes());
    Hash::from_bytes(h.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_checked_detects_corruption() {
        let leaf = Node::Leaf { key: b"k".to_vec(), value: b"v".to_vec() };
        let reference = ChildRef { id: 1, hash: leaf.hash() };
        let mut bytes = leaf.encode();
        assert_eq!(Node::decode_checked(&bytes, &reference), Ok(leaf));
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert!(Node::decode_checked(&bytes, &reference)
            .expect_err("corrupt")
            .contains("hash mismatch"));
        assert!(Node::decode_checked(&[9, 9], &reference).is_err());
    }

    #[test]
    fn leaf_and_internal_hashes_are_domain_separated() {
        let a = Hash::digest(b"a");
        let b = Hash::digest(b"b");
        assert_ne!(internal_hash(0, &a, &b), internal_hash(0, &b, &a));
        assert_ne!(internal_hash(0, &a, &b), internal_hash(1, &a, &b));
        assert_ne!(leaf_hash(b"", &a), leaf_hash(b"x", &a));
    }
}
