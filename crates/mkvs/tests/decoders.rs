//! Decoders under fire ([R]): what the MKVS takes from a peer or a client as bytes — the
//! state proofs light clients verify, range proofs, and the write logs a compute node
//! applies against a root it trusts, and the checkpoint manifests and chunks of state sync — fed arbitrary bytes and mutations of valid
//! encodings. A proof that decodes is verified against the very root it computes, so the
//! checks past the root comparison run too; a write log that decodes is applied expecting a
//! root it does not reach. Each ends in a value or an error, never a panic.
//!
//! CI runs a few hundred inputs per decoder; the long mode runs 1,000,000 each:
//! `cargo test --release -p atoll-mkvs --test decoders -- --ignored --nocapture`.

mod common;

use atoll_mkvs::checkpoint::{Manifest, Restore};
use atoll_mkvs::{
    verify_prefix, verify_range, MemoryNodeDb, Mkvs, Proof, ProofError, RangeProof, Recorder,
    RootKind, StateProof, WriteLog, CONSENSUS_NAMESPACE,
};
use atoll_types::fuzz::Decoder;
use atoll_types::{decode, encode, Hash};
use common::{fresh_root, inserts, Oracle};

/// The root a proof computes (it is refused against the zero root, naming what it got).
fn computed_root(start: &[u8], proof: &Proof) -> Option<Hash> {
    match verify_range(&Hash::ZERO, start, None, proof) {
        Err(ProofError::RootMismatch { computed, .. }) => Some(computed),
        _ => None,
    }
}

fn state_proof(bytes: &[u8]) {
    let Ok(proof) = decode::<StateProof>(bytes, bytes.len()) else { return };
    let _ = proof.verify(&Hash::ZERO);
    for range in &proof.ranges {
        if let Some(root) = computed_root(&range.start, &range.proof) {
            let _ = proof.verify(&root);
        }
    }
}

fn range_proof(bytes: &[u8]) {
    let Ok(proof) = decode::<RangeProof>(bytes, bytes.len()) else { return };
    if let Some(root) = computed_root(b"", &proof.proof) {
        for prefix in [&b""[..], b"a", b"\x00\xff"] {
            let _ = verify_prefix(&root, prefix, &proof);
        }
    }
}

fn write_log(bytes: &[u8]) {
    let Ok(log) = decode::<WriteLog>(bytes, 1 << 20) else { return };
    let store = Mkvs::new(MemoryNodeDb::new());
    let expected = Hash::digest(bytes);
    let _ = store.commit_expecting(CONSENSUS_NAMESPACE, RootKind::Io, None, 1, &log, expected);
}

/// A state-sync manifest from a peer: checked against a root, then a chunk (the same
/// bytes' tail read as a range proof) added to the restore it starts.
fn checkpoint(bytes: &[u8]) {
    let Ok(manifest) = decode::<Manifest>(bytes, bytes.len()) else { return };
    let trusted = manifest.root.hash;
    let Ok(mut restore) = Restore::new(manifest, &trusted) else { return };
    let tail = &bytes[bytes.len() / 2..];
    if let Ok(chunk) = decode::<RangeProof>(tail, tail.len()) {
        let _ = restore.add(0, &chunk);
    }
    let _ = restore.finish(&Mkvs::new(MemoryNodeDb::new()));
}

fn decoders() -> Vec<Decoder> {
    vec![
        ("state proof", state_proof),
        ("range proof", range_proof),
        ("write log", write_log),
        ("checkpoint manifest and chunk", checkpoint),
    ]
}

/// A small tree's contents.
fn oracle() -> Oracle {
    (0u8..24).map(|i| (vec![b'a', i * 9], vec![i; (i % 5) as usize])).collect()
}

/// Valid encodings of each kind, to mutate.
fn seeds() -> Vec<Vec<u8>> {
    let map = oracle();
    let store = Mkvs::new(MemoryNodeDb::new());
    let root = store
        .commit(CONSENSUS_NAMESPACE, RootKind::State, None, 1, &inserts(&map))
        .expect("commit");
    let tree = store.tree(&root).expect("tree");
    let recorder = Recorder::new(&tree);
    let _ = atoll_mkvs::KeyValueRead::get(&recorder, &[b'a', 18]);
    let _ = atoll_mkvs::KeyValueRead::iter_from(&recorder, &[b'a', 40]).take(3).count();
    let state = recorder.into_proof().expect("state proof");
    let range = tree.prove_prefix(b"a", 5).expect("range proof");
    let manifest = Manifest::of(&tree, 8).expect("manifest");
    let chunk = manifest.chunk(&tree, 1).expect("chunk");
    vec![encode(&state), encode(&range), encode(&inserts(&map)), encode(&manifest), encode(&chunk)]
}

atoll_types::decoders_under_fire!();

#[test]
fn the_seeds_are_valid_and_verify() {
    let seeds = seeds();
    let root = fresh_root(&oracle()).hash;
    let state = decode::<StateProof>(&seeds[0], seeds[0].len()).expect("state proof");
    assert_eq!(state.ranges.len(), 2, "a point read and a scan");
    state.verify(&root).expect("verifies against the tree's root");
    let range = decode::<RangeProof>(&seeds[1], seeds[1].len()).expect("range proof");
    assert_eq!(verify_prefix(&root, b"a", &range).expect("verifies").len(), 5);
    assert_eq!(computed_root(b"", &range.proof), Some(root));
    assert_eq!(decode::<WriteLog>(&seeds[2], 1 << 20).expect("write log").len(), 24);
}
