//! Property tests of the store against a `BTreeMap` oracle: random sequences of inserts,
//! deletes, checkpoints, rollbacks, iteration and commits across versions.

mod common;

use std::collections::BTreeMap;

use atoll_mkvs::{
    diff, verify_key, verify_range, KeyValueRead, MemoryNodeDb, Mkvs, Overlay, RootKind,
    CONSENSUS_NAMESPACE,
};
use common::{contents, fresh_root, Oracle};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Insert(Vec<u8>, Vec<u8>),
    Remove(Vec<u8>),
    Checkpoint,
    Rollback,
    Release,
    Iterate(Vec<u8>, Option<Vec<u8>>),
}

/// Short keys over a tiny alphabet, so that keys collide, share prefixes and are prefixes
/// of one another.
fn key() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![Just(0u8), Just(1), Just(0x7f), Just(0x80), Just(0xff)],
        0..4,
    )
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..8)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (key(), value()).prop_map(|(k, v)| Op::Insert(k, v)),
        3 => key().prop_map(Op::Remove),
        1 => Just(Op::Checkpoint),
        1 => Just(Op::Rollback),
        1 => Just(Op::Release),
        1 => (key(), proptest::option::of(key())).prop_map(|(a, b)| Op::Iterate(a, b)),
    ]
}

fn expected_range(map: &Oracle, start: &[u8], end: Option<&[u8]>) -> Vec<(Vec<u8>, Vec<u8>)> {
    map.iter()
        .filter(|(k, _)| k.as_slice() >= start && end.is_none_or(|e| k.as_slice() < e))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn store_matches_oracle(segments in proptest::collection::vec(proptest::collection::vec(op(), 0..24), 1..6),
                            probes in proptest::collection::vec(key(), 8)) {
        let store = Mkvs::new(MemoryNodeDb::new());
        let mut root = store.commit(CONSENSUS_NAMESPACE, RootKind::State, None, 1, &vec![]).expect("genesis");
        let mut committed: Vec<(atoll_mkvs::Root, Oracle)> = vec![(root, Oracle::new())];

        for segment in segments {
            let base_map = committed.last().expect("one version").1.clone();
            let tree = store.tree(&root).expect("open");
            let mut overlay = Overlay::new(&tree);
            // The oracle of the overlay, and its saved states at open checkpoints.
            let mut state = base_map.clone();
            let mut saved: Vec<Oracle> = Vec::new();
            for op in segment {
                match op {
                    Op::Insert(k, v) => {
                        overlay.insert(&k, v.clone()).expect("insert");
                        state.insert(k, v);
                    }
                    Op::Remove(k) => {
                        overlay.remove(&k).expect("remove");
                        state.remove(&k);
                    }
                    Op::Checkpoint => {
                        overlay.checkpoint();
                        saved.push(state.clone());
                    }
                    Op::Rollback => match saved.pop() {
                        Some(previous) => {
                            overlay.rollback().expect("rollback");
                            state = previous;
                        }
                        None => prop_assert!(overlay.rollback().is_err()),
                    },
                    Op::Release => match saved.pop() {
                        Some(_) => overlay.release().expect("release"),
                        None => prop_assert!(overlay.release().is_err()),
                    },
                    Op::Iterate(start, end) => {
                        let got: Vec<_> = overlay.range(&start, end.as_deref()).map(|e| e.expect("read")).collect();
                        prop_assert_eq!(got, expected_range(&state, &start, end.as_deref()));
                    }
                }
                for probe in &probes {
                    prop_assert_eq!(overlay.get(probe).expect("get"), state.get(probe).cloned());
                }
            }
            prop_assert_eq!(contents(&overlay), state.clone());

            let writes = overlay.into_write_log();
            let version = root.version + 1;
            let new_root = store.commit(CONSENSUS_NAMESPACE, RootKind::State, Some(root.version), version, &writes).expect("commit");
            let new_tree = store.tree(&new_root).expect("open new");
            prop_assert_eq!(contents(&new_tree), state.clone());
            // The root depends only on the contents.
            prop_assert_eq!(new_root.hash, fresh_root(&state).hash);
            // The write log between the versions replays to the same root.
            let log = diff(&tree, &new_tree).expect("diff");
            let expected_log: Vec<_> = base_map.keys().chain(state.keys())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .filter(|k| base_map.get(*k) != state.get(*k))
                .map(|k| (k.clone(), state.get(k).cloned()))
                .collect();
            prop_assert_eq!(log.iter().map(|e| (e.key.clone(), e.value.clone())).collect::<Vec<_>>(), expected_log);
            let replica = Mkvs::new(MemoryNodeDb::new());
            replica.commit(CONSENSUS_NAMESPACE, RootKind::State, None, 1, &common::inserts(&base_map)).expect("replica base");
            let replayed = replica.commit(CONSENSUS_NAMESPACE, RootKind::State, Some(1), 2, &log).expect("replay");
            prop_assert_eq!(replayed.hash, new_root.hash);

            // Proofs against the new root.
            for probe in &probes {
                let proof = new_tree.prove(probe).expect("prove");
                prop_assert_eq!(verify_key(&new_root.hash, probe, &proof), Ok(state.get(probe).cloned()));
            }
            let (a, b) = (&probes[0], &probes[1]);
            let (start, end) = if a <= b { (a, b) } else { (b, a) };
            let range = new_tree.prove_range(start, Some(end), 1000).expect("prove range");
            prop_assert_eq!(verify_range(&new_root.hash, start, Some(end), &range.proof), Ok(expected_range(&state, start, Some(end))));

            drop(new_tree);
            drop(tree);
            root = new_root;
            committed.push((root, state));
        }
        // Every version stays readable with its own contents.
        for (root, map) in &committed {
            prop_assert_eq!(&contents(&store.tree(root).expect("old version")), map);
        }
    }

    #[test]
    fn root_is_independent_of_insertion_order(entries in proptest::collection::btree_map(key(), value(), 0..40), seed: u64) {
        let map: Oracle = entries;
        let mut shuffled: Vec<_> = map.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        // A deterministic shuffle from the seed.
        let mut x = seed | 1;
        for i in (1..shuffled.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            shuffled.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let store = Mkvs::new(MemoryNodeDb::new());
        let half = shuffled.len() / 2;
        let first: Vec<_> = shuffled[..half].iter().map(|(k, v)| atoll_mkvs::WriteLogEntry { key: k.clone(), value: Some(v.clone()) }).collect();
        let second: Vec<_> = shuffled[half..].iter().map(|(k, v)| atoll_mkvs::WriteLogEntry { key: k.clone(), value: Some(v.clone()) }).collect();
        store.commit(CONSENSUS_NAMESPACE, RootKind::State, None, 1, &first).expect("first");
        let root = store.commit(CONSENSUS_NAMESPACE, RootKind::State, Some(1), 2, &second).expect("second");
        prop_assert_eq!(root.hash, fresh_root(&map).hash);
        // Inserting junk and deleting it again changes nothing.
        let junk = vec![atoll_mkvs::WriteLogEntry { key: vec![9, 9, 9], value: Some(vec![1]) }];
        store.commit(CONSENSUS_NAMESPACE, RootKind::State, Some(2), 3, &junk).expect("junk");
        let undo = vec![atoll_mkvs::WriteLogEntry { key: vec![9, 9, 9], value: None }];
        let back = store.commit(CONSENSUS_NAMESPACE, RootKind::State, Some(3), 4, &undo).expect("undo");
        prop_assert_eq!(back.hash, root.hash);
    }
}

#[test]
fn empty_tree_has_zero_root_and_proves_absence() {
    let store = Mkvs::new(MemoryNodeDb::new());
    let root =
        store.commit(CONSENSUS_NAMESPACE, RootKind::State, None, 1, &vec![]).expect("commit");
    assert!(root.hash.is_zero());
    let tree = store.tree(&root).expect("open");
    assert_eq!(tree.get(b"x").expect("get"), None);
    let proof = tree.prove(b"x").expect("prove");
    assert_eq!(verify_key(&root.hash, b"x", &proof), Ok(None));
    assert_eq!(contents(&tree), BTreeMap::new());
}
