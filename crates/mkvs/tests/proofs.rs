//! Proof properties: every proof verifies to the truth, no tampered proof verifies, and a
//! proof can never make the verifier return a wrong answer.

mod common;

use atoll_mkvs::{
    node::leaf_hash, verify_key, verify_prefix, verify_range, MemoryNodeDb, Mkvs, Proof,
    ProofEntry, ProofError, RootKind, CONSENSUS_NAMESPACE,
};
use atoll_types::{decode, encode, Hash};
use common::{inserts, Oracle};
use proptest::prelude::*;

fn key() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![Just(0u8), Just(1), Just(0x80), Just(0xff), any::<u8>()],
        0..5,
    )
}

fn map() -> impl Strategy<Value = Oracle> {
    proptest::collection::btree_map(key(), proptest::collection::vec(any::<u8>(), 0..6), 0..48)
}

fn expected(map: &Oracle, start: &[u8], end: Option<&[u8]>) -> Vec<(Vec<u8>, Vec<u8>)> {
    map.range(start.to_vec()..)
        .take_while(|(k, _)| end.is_none_or(|e| k.as_slice() < e))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn key_proofs_verify_and_tampering_fails(map in map(), probes in proptest::collection::vec(key(), 6), bit: usize) {
        let store = Mkvs::new(MemoryNodeDb::new());
        let root = store.commit(CONSENSUS_NAMESPACE, RootKind::State, None, 1, &inserts(&map)).expect("commit");
        let tree = store.tree(&root).expect("open");
        for probe in &probes {
            let proof = tree.prove(probe).expect("prove");
            prop_assert_eq!(verify_key(&root.hash, probe, &proof), Ok(map.get(probe).cloned()));
            // Any flipped bit: the proof no longer decodes, or no longer verifies.
            let mut bytes = encode(&proof);
            let bit = bit % (bytes.len() * 8);
            bytes[bit / 8] ^= 1 << (bit % 8);
            if let Ok(tampered) = decode::<Proof>(&bytes, 1 << 20) {
                prop_assert!(verify_key(&root.hash, probe, &tampered).is_err());
            }
            // A proof for one key never gives a wrong answer about another.
            for other in &probes {
                if let Ok(answer) = verify_key(&root.hash, other, &proof) {
                    prop_assert_eq!(answer, map.get(other).cloned());
                }
            }
        }
    }

    #[test]
    fn range_proofs_are_complete(map in map(), a in key(), b in proptest::option::of(key()), limit in 1usize..20) {
        let store = Mkvs::new(MemoryNodeDb::new());
        let root = store.commit(CONSENSUS_NAMESPACE, RootKind::State, None, 1, &inserts(&map)).expect("commit");
        let tree = store.tree(&root).expect("open");
        let end = b.filter(|b| *b >= a);
        let range = tree.prove_range(&a, end.as_deref(), limit).expect("prove");
        let got = verify_range(&root.hash, &a, range.end.as_deref(), &range.proof).expect("verify");
        prop_assert_eq!(&got, &expected(&map, &a, range.end.as_deref()));
        prop_assert!(got.len() <= limit);
        if range.end != end {
            // Cut short: exactly `limit` entries, and the rest follows from `range.end`.
            prop_assert_eq!(got.len(), limit);
        }

        // Hiding a key of the range behind its hash is caught.
        for (i, entry) in range.proof.entries.iter().enumerate() {
            if let ProofEntry::Leaf { key, value } = entry {
                let mut hidden = range.proof.clone();
                hidden.entries[i] = ProofEntry::Pruned(leaf_hash(key, &Hash::digest(value)));
                prop_assert_eq!(verify_range(&root.hash, &a, range.end.as_deref(), &hidden), Err(ProofError::Incomplete));
                let mut digest_only = range.proof.clone();
                digest_only.entries[i] = ProofEntry::LeafDigest { key: key.clone(), value_hash: Hash::digest(value) };
                prop_assert_eq!(verify_range(&root.hash, &a, range.end.as_deref(), &digest_only), Err(ProofError::MissingValue));
            }
        }
        // Claiming a wider range than proven is caught unless nothing else exists there.
        if let Ok(wider) = verify_range(&root.hash, &a, None, &range.proof) {
            prop_assert_eq!(wider, expected(&map, &a, None));
        }
    }

    #[test]
    fn arbitrary_proofs_never_panic(entries in proptest::collection::vec(
        prop_oneof![
            any::<[u8; 32]>().prop_map(|h| ProofEntry::Pruned(Hash::from_bytes(h))),
            (key(), key()).prop_map(|(key, value)| ProofEntry::Leaf { key, value }),
            any::<u32>().prop_map(|bit| ProofEntry::Internal { bit: bit % 64 }),
        ], 0..40), root: [u8; 32], k in key()) {
        let proof = Proof { entries };
        let _ = verify_key(&Hash::from_bytes(root), &k, &proof);
        let _ = verify_range(&Hash::from_bytes(root), &k, None, &proof);
    }
}

#[test]
fn prefix_proofs_return_exactly_the_prefix() {
    let mut map = Oracle::new();
    for a in [b"acct/".as_slice(), b"acc", b"acct0", b"deleg/"] {
        for i in 0u8..5 {
            map.insert([a, &[i]].concat(), vec![i]);
        }
    }
    let store = Mkvs::new(MemoryNodeDb::new());
    let root = store
        .commit(CONSENSUS_NAMESPACE, RootKind::State, None, 1, &inserts(&map))
        .expect("commit");
    let tree = store.tree(&root).expect("open");
    let proof = tree.prove_prefix(b"acct/", 100).expect("prove");
    let got = verify_prefix(&root.hash, b"acct/", &proof).expect("verify");
    let want: Vec<_> = map
        .iter()
        .filter(|(k, _)| k.starts_with(b"acct/"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(got, want);
    // Cut short at 2: the first two, and where to continue.
    let partial = tree.prove_prefix(b"acct/", 2).expect("prove");
    assert_eq!(verify_prefix(&root.hash, b"acct/", &partial).expect("verify"), want[..2].to_vec());
    assert_eq!(partial.end, Some([want[1].0.clone(), vec![0]].concat()));
}

#[test]
fn proof_against_wrong_root_fails() {
    let map: Oracle = (0u8..10).map(|i| (vec![i], vec![i])).collect();
    let store = Mkvs::new(MemoryNodeDb::new());
    let root = store
        .commit(CONSENSUS_NAMESPACE, RootKind::State, None, 1, &inserts(&map))
        .expect("commit");
    let proof = store.tree(&root).expect("open").prove(&[3]).expect("prove");
    assert!(matches!(
        verify_key(&Hash::digest(b"other"), &[3], &proof),
        Err(ProofError::RootMismatch { .. })
    ));
    // Malformed shapes.
    let dangling = Proof { entries: vec![ProofEntry::Internal { bit: 0 }] };
    assert!(matches!(verify_key(&root.hash, &[3], &dangling), Err(ProofError::Malformed(_))));
    let inverted = Proof {
        entries: vec![
            ProofEntry::Internal { bit: 5 },
            ProofEntry::Internal { bit: 3 },
            ProofEntry::Pruned(Hash::ZERO),
            ProofEntry::Pruned(Hash::ZERO),
            ProofEntry::Pruned(Hash::ZERO),
        ],
    };
    assert!(matches!(verify_key(&root.hash, &[3], &inverted), Err(ProofError::Malformed(_))));
}
