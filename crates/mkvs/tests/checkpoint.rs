//! Checkpoints against an oracle: any tree cut into chunks and rebuilt from them, in any
//! order, is the same tree; a chunk that is not exactly its range of the trusted tree, a
//! manifest for another root or not cutting the key space, and a missing chunk are refused
//! and leave the store empty.

mod common;

use atoll_mkvs::checkpoint::{CheckpointError, Manifest, Restore};
use atoll_mkvs::{MemoryNodeDb, Mkvs, RootKind, CONSENSUS_NAMESPACE};
use common::{contents, inserts, Oracle};
use proptest::prelude::*;

fn map() -> impl Strategy<Value = Oracle> {
    let key = proptest::collection::vec(
        prop_oneof![Just(0u8), Just(1), Just(0x80), Just(0xff), any::<u8>()],
        0..5,
    );
    proptest::collection::btree_map(key, proptest::collection::vec(any::<u8>(), 0..6), 0..64)
}

fn committed(map: &Oracle, version: u64) -> Mkvs<MemoryNodeDb> {
    let store = Mkvs::new(MemoryNodeDb::new());
    store
        .commit(CONSENSUS_NAMESPACE, RootKind::State, None, version, &inserts(map))
        .expect("commit");
    store
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn a_tree_rebuilt_from_its_chunks_in_any_order_is_the_same_tree(
        map in map(),
        chunk_keys in 1usize..9,
        order in any::<proptest::sample::Index>(),
    ) {
        let source = committed(&map, 7);
        let root = source.latest_root(CONSENSUS_NAMESPACE, RootKind::State).expect("root").expect("one");
        let tree = source.tree(&root).expect("tree");
        let manifest = Manifest::of(&tree, chunk_keys).expect("manifest");
        prop_assert_eq!(manifest.chunks(), map.len().div_ceil(chunk_keys).max(1));
        let mut restore = Restore::new(manifest.clone(), &root.hash).expect("restore");
        // Rotated order: the chunks arrive in any order.
        let n = manifest.chunks();
        let first = order.index(n);
        for i in (0..n).map(|k| (k + first) % n) {
            restore.add(i, &manifest.chunk(&tree, i).expect("chunk")).expect("verifies");
        }
        let target = Mkvs::new(MemoryNodeDb::new());
        let rebuilt = restore.finish(&target).expect("finish");
        prop_assert_eq!(rebuilt, root);
        prop_assert_eq!(contents(&target.tree(&rebuilt).expect("tree")), map);
    }

    #[test]
    fn chunks_bounded_by_bytes_hold_at_most_that_and_rebuild_the_tree(
        map in map(),
        chunk_keys in 1usize..9,
        chunk_bytes in 1usize..24,
    ) {
        let source = committed(&map, 5);
        let root = source.latest_root(CONSENSUS_NAMESPACE, RootKind::State).expect("root").expect("one");
        let tree = source.tree(&root).expect("tree");
        let manifest = Manifest::of_bounded(&tree, chunk_keys, chunk_bytes).expect("manifest");
        let mut restore = Restore::new(manifest.clone(), &root.hash).expect("restore");
        for i in 0..manifest.chunks() {
            let held = restore.add(i, &manifest.chunk(&tree, i).expect("chunk")).expect("verifies");
            let (start, end) = manifest.range(i).expect("range");
            let size: usize = map
                .range(start.to_vec()..)
                .take_while(|(k, _)| end.is_none_or(|e| k.as_slice() < e))
                .map(|(k, v)| k.len() + v.len())
                .sum();
            // Within both bounds, or a single entry larger than the byte bound alone.
            prop_assert!(held <= chunk_keys);
            prop_assert!(size <= chunk_bytes || held == 1, "chunk {} holds {} bytes", i, size);
        }
        let target = Mkvs::new(MemoryNodeDb::new());
        prop_assert_eq!(restore.finish(&target).expect("finish"), root);
    }

    #[test]
    fn a_chunk_of_another_tree_or_range_is_refused(
        map in map(),
        other in map(),
        chunk_keys in 1usize..9,
        pick in any::<proptest::sample::Index>(),
    ) {
        let source = committed(&map, 3);
        let root = source.latest_root(CONSENSUS_NAMESPACE, RootKind::State).expect("root").expect("one");
        let tree = source.tree(&root).expect("tree");
        let manifest = Manifest::of(&tree, chunk_keys).expect("manifest");
        let i = pick.index(manifest.chunks());
        let mut restore = Restore::new(manifest.clone(), &root.hash).expect("restore");
        // The same range, proven from a different tree.
        let forged = committed(&other, 3);
        let forged_root = forged.latest_root(CONSENSUS_NAMESPACE, RootKind::State).expect("root").expect("one");
        if forged_root.hash != root.hash {
            let forged_chunk = manifest.chunk(&forged.tree(&forged_root).expect("tree"), i).expect("chunk");
            let refused = matches!(restore.add(i, &forged_chunk), Err(CheckpointError::BadChunk { .. }));
            prop_assert!(refused);
        }
        // Another chunk's proof, offered as chunk i.
        if manifest.chunks() > 1 {
            let j = (i + 1) % manifest.chunks();
            let wrong = manifest.chunk(&tree, j).expect("chunk");
            let refused = matches!(restore.add(i, &wrong), Err(CheckpointError::BadChunk { .. }));
            prop_assert!(refused);
            // And with chunk i still missing, nothing is committed.
            let target = Mkvs::new(MemoryNodeDb::new());
            let incomplete = matches!(restore.finish(&target), Err(CheckpointError::Incomplete { .. }));
            prop_assert!(incomplete);
            prop_assert!(target.latest_root(CONSENSUS_NAMESPACE, RootKind::State).expect("read").is_none());
        }
    }

    #[test]
    fn any_cut_of_the_key_space_rebuilds_the_same_tree(map in map(), keep in any::<Vec<bool>>()) {
        // A peer may cut the key space differently (here: at any subset of the keys).
        let source = committed(&map, 5);
        let root = source.latest_root(CONSENSUS_NAMESPACE, RootKind::State).expect("root").expect("one");
        let tree = source.tree(&root).expect("tree");
        let mut starts = vec![Vec::new()];
        for (n, key) in map.keys().enumerate() {
            if !key.is_empty() && keep.get(n).copied().unwrap_or(false) {
                starts.push(key.clone());
            }
        }
        let manifest = Manifest { root, starts };
        let mut restore = Restore::new(manifest.clone(), &root.hash).expect("restore");
        for i in 0..manifest.chunks() {
            restore.add(i, &manifest.chunk(&tree, i).expect("chunk")).expect("verifies");
        }
        let target = Mkvs::new(MemoryNodeDb::new());
        prop_assert_eq!(restore.finish(&target).expect("finish"), root);
    }
}

#[test]
fn manifests_that_are_not_for_the_trusted_root_or_do_not_cut_the_key_space_are_refused() {
    let map: Oracle = (0u8..20).map(|k| (vec![k], vec![k; 3])).collect();
    let source = committed(&map, 9);
    let root =
        source.latest_root(CONSENSUS_NAMESPACE, RootKind::State).expect("root").expect("one");
    let manifest = Manifest::of(&source.tree(&root).expect("tree"), 4).expect("manifest");
    assert_eq!(manifest.chunks(), 5);
    let other = atoll_types::Hash::digest(b"another state");
    assert!(matches!(
        Restore::new(manifest.clone(), &other),
        Err(CheckpointError::UntrustedRoot { .. })
    ));
    let mut late_start = manifest.clone();
    late_start.starts[0] = vec![0];
    assert!(matches!(Restore::new(late_start, &root.hash), Err(CheckpointError::Malformed(_))));
    let mut unordered = manifest.clone();
    unordered.starts.swap(1, 2);
    assert!(matches!(Restore::new(unordered, &root.hash), Err(CheckpointError::Malformed(_))));
    let restore = Restore::new(manifest, &root.hash).expect("restore");
    assert_eq!(restore.missing(), vec![0, 1, 2, 3, 4]);
    let mut restore = restore;
    assert!(matches!(
        restore.add(5, &atoll_mkvs::RangeProof { proof: Default::default(), end: None }),
        Err(CheckpointError::NoSuchChunk { index: 5, chunks: 5 })
    ));
}
