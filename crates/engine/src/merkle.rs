//! The transactions root: a binary Merkle tree over a block's transactions, with inclusion
//! proofs (leaf `H(0x00 ‖ tx)`, node `H(0x01 ‖ left ‖ right)`, an odd node is promoted).

use atoll_types::Hash;
use borsh::{BorshDeserialize, BorshSerialize};

fn leaf(tx: &[u8]) -> Hash {
    Hash::digest_parts(&[&[0x00], tx])
}

fn node(left: &Hash, right: &Hash) -> Hash {
    Hash::digest_parts(&[&[0x01], left.as_bytes(), right.as_bytes()])
}

/// The root over `txs` (all zeros for none).
pub fn transactions_root(txs: &[Vec<u8>]) -> Hash {
    let mut level: Vec<Hash> = txs.iter().map(|t| leaf(t)).collect();
    if level.is_empty() {
        return Hash::ZERO;
    }
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| if pair.len() == 2 { node(&pair[0], &pair[1]) } else { pair[0] })
            .collect();
    }
    level[0]
}

/// Siblings from the leaf up; `true` when the sibling is on the right.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct InclusionProof {
    /// The transaction's index in the block.
    pub index: u32,
    /// The number of transactions in the block.
    pub count: u32,
    /// Sibling hashes, bottom up (levels where the node was promoted have none).
    pub siblings: Vec<Hash>,
}

/// Proves that `txs[index]` is in the block.
pub fn prove(txs: &[Vec<u8>], index: usize) -> Option<InclusionProof> {
    if index >= txs.len() {
        return None;
    }
    let mut level: Vec<Hash> = txs.iter().map(|t| leaf(t)).collect();
    let mut position = index;
    let mut siblings = Vec::new();
    while level.len() > 1 {
        let sibling = position ^ 1;
        if sibling < level.len() {
            siblings.push(level[sibling]);
        }
        level = level
            .chunks(2)
            .map(|pair| if pair.len() == 2 { node(&pair[0], &pair[1]) } else { pair[0] })
            .collect();
        position /= 2;
    }
    Some(InclusionProof { index: index as u32, count: txs.len() as u32, siblings })
}

/// Checks that `tx` is at `proof.index` under `root`.
pub fn verify(root: &Hash, tx: &[u8], proof: &InclusionProof) -> bool {
    if proof.index >= proof.count {
        return false;
    }
    let (mut position, mut width) = (proof.index as usize, proof.count as usize);
    let mut hash = leaf(tx);
    let mut siblings = proof.siblings.iter();
    while width > 1 {
        let sibling = position ^ 1;
        if sibling < width {
            let Some(s) = siblings.next() else { return false };
            hash = if position % 2 == 0 { node(&hash, s) } else { node(s, &hash) };
        }
        position /= 2;
        width = width.div_ceil(2);
    }
    siblings.next().is_none() && hash == *root
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn every_transaction_proves_and_nothing_else_does(count in 1usize..40, pick: prop::sample::Index) {
            let txs: Vec<Vec<u8>> = (0..count).map(|i| vec![i as u8; 1 + i % 5]).collect();
            let root = transactions_root(&txs);
            for (i, tx) in txs.iter().enumerate() {
                let proof = prove(&txs, i).expect("in range");
                prop_assert!(verify(&root, tx, &proof));
            }
            let i = pick.index(count);
            let proof = prove(&txs, i).expect("in range");
            prop_assert!(!verify(&root, b"not in the block", &proof));
            let mut moved = proof.clone();
            moved.index = ((i + 1) % count) as u32;
            prop_assert!(count == 1 || !verify(&root, &txs[i], &moved) || txs[i] == txs[moved.index as usize]);
        }
    }

    #[test]
    fn empty_and_out_of_range() {
        assert_eq!(transactions_root(&[]), Hash::ZERO);
        assert!(prove(&[vec![1]], 1).is_none());
    }
}
