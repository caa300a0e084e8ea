//! Decoders under fire ([R]): what a compute node takes from its runtime peers — gossip
//! (transactions and batch proposals), fetch requests and fetch responses (transactions,
//! proposals, a finalized round's write logs, a checkpoint and its chunks) — fed arbitrary
//! bytes and mutations of valid encodings, and followed as far as the node follows them: a
//! proposal's signature is opened, received write logs are applied to a runtime store
//! expecting the roots they must reach, a checkpoint is checked against the trusted root
//! and a chunk verified against it. Each ends in a value or an error, never a panic, and
//! decoding is bounded by the same limits the network applies.
//!
//! CI runs a few hundred inputs per decoder; the long mode runs 1,000,000 each:
//! `cargo test --release -p atoll-compute --test decoders -- --ignored --nocapture`.

use std::sync::OnceLock;

use atoll_compute::p2p::{
    FetchRequest, FetchResponse, GossipMessage, Proposal, MAX_GOSSIP, MAX_REQUEST, MAX_RESPONSE,
};
use atoll_compute::{RoundWriteLogs, RuntimeStorage};
use atoll_consensus::roothash::ProposalHeader;
use atoll_crypto::MemorySigner;
use atoll_mkvs::checkpoint::{Manifest, Restore};
use atoll_mkvs::{MemoryNodeDb, Mkvs, RangeProof, RootKind, WriteLogEntry};
use atoll_types::fuzz::Decoder;
use atoll_types::{decode, encode, ChainContext, Hash, Round, RuntimeId, Signed};

fn chain() -> ChainContext {
    ChainContext::from_hash(Hash::digest(b"chain"))
}

/// One runtime store for every input (applying a write log that misses its root stores
/// nothing).
fn storage() -> &'static RuntimeStorage {
    static STORAGE: OnceLock<(tempfile::TempDir, RuntimeStorage)> = OnceLock::new();
    let (_, storage) = STORAGE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage =
            RuntimeStorage::open(&dir.path().join("runtime.redb"), RuntimeId::from_bytes([5; 32]))
                .expect("store");
        (dir, storage)
    });
    storage
}

/// A small runtime state's checkpoint (cut into chunks of two entries) and its first
/// chunk.
fn checkpoint() -> &'static (Manifest, RangeProof) {
    static CHECKPOINT: OnceLock<(Manifest, RangeProof)> = OnceLock::new();
    CHECKPOINT.get_or_init(|| {
        let store = Mkvs::new(MemoryNodeDb::new());
        let writes: Vec<WriteLogEntry> =
            (0..5u8).map(|i| WriteLogEntry { key: vec![i; 3], value: Some(vec![i; 8]) }).collect();
        let runtime = RuntimeId::from_bytes([5; 32]);
        let root = store.commit(runtime, RootKind::State, None, 7, &writes).expect("commit");
        let tree = store.tree(&root).expect("tree");
        let manifest = Manifest::of(&tree, 2).expect("manifest");
        let chunk = manifest.chunk(&tree, 0).expect("chunk");
        (manifest, chunk)
    })
}

fn open_proposals(proposals: &[Proposal]) {
    for proposal in proposals {
        let _ = proposal.header.open(&chain());
    }
}

fn gossip(bytes: &[u8]) {
    if let Ok(GossipMessage::Proposal(proposal)) = decode::<GossipMessage>(bytes, MAX_GOSSIP) {
        open_proposals(&[proposal]);
    }
}

fn request(bytes: &[u8]) {
    let _ = decode::<FetchRequest>(bytes, MAX_REQUEST);
}

fn response(bytes: &[u8]) {
    match decode::<FetchResponse>(bytes, MAX_RESPONSE) {
        Ok(FetchResponse::WriteLogs(Some(logs))) => {
            let (state_root, io_root) = (Hash::digest(b"state"), Hash::digest(b"io"));
            let _ = storage().commit_round(logs.round, &logs, state_root, io_root);
        }
        Ok(FetchResponse::Proposals(proposals)) => open_proposals(&proposals),
        Ok(FetchResponse::Checkpoint(Some(manifest))) => {
            let trusted = checkpoint().0.root.hash;
            if let Ok(restore) = Restore::new(manifest, &trusted) {
                let _ = restore.manifest().range(restore.manifest().chunks() - 1);
            }
        }
        Ok(FetchResponse::CheckpointChunk(Some(chunk))) => {
            let (manifest, _) = checkpoint();
            let mut restore = Restore::new(manifest.clone(), &manifest.root.hash).expect("valid");
            let _ = restore.add(0, &chunk);
        }
        _ => {}
    }
}

fn decoders() -> Vec<Decoder> {
    vec![("gossip message", gossip), ("fetch request", request), ("fetch response", response)]
}

/// Valid encodings of each kind, to mutate.
fn seeds() -> Vec<Vec<u8>> {
    let signer = MemorySigner::from_seed([9; 32]);
    let header = ProposalHeader {
        runtime: RuntimeId::from_bytes([5; 32]),
        round: Round(4),
        previous_hash: Hash::digest(b"previous"),
        batch_hash: Hash::digest(b"batch"),
        in_msgs_count: 1,
    };
    let proposal = Proposal {
        header: Signed::sign(&signer, &chain(), &header),
        tx_hashes: vec![Hash::digest(b"a"), Hash::digest(b"b")],
    };
    let entry = |key: &[u8], value: Option<&[u8]>| WriteLogEntry {
        key: key.to_vec(),
        value: value.map(<[u8]>::to_vec),
    };
    let logs = RoundWriteLogs {
        round: Round(1),
        state: vec![entry(b"balance", Some(b"10")), entry(b"nonce", None)],
        io: vec![entry(b"tx", Some(b"outcome"))],
    };
    vec![
        encode(&GossipMessage::Transactions(vec![vec![7; 40], vec![8; 3]])),
        encode(&GossipMessage::Proposal(proposal.clone())),
        encode(&FetchRequest::Transactions(vec![Hash::digest(b"a")])),
        encode(&FetchRequest::WriteLogs(Round(3))),
        encode(&FetchResponse::Transactions(vec![vec![1; 30], vec![2; 12]])),
        encode(&FetchResponse::WriteLogs(Some(logs))),
        encode(&FetchResponse::Proposals(vec![proposal])),
        encode(&FetchRequest::CheckpointChunk {
            round: Round(7),
            start: vec![2; 3],
            end: Some(vec![4; 3]),
        }),
        encode(&FetchResponse::Checkpoint(Some(checkpoint().0.clone()))),
        encode(&FetchResponse::CheckpointChunk(Some(checkpoint().1.clone()))),
    ]
}

atoll_types::decoders_under_fire!();

#[test]
fn the_seeds_are_valid_and_a_wrong_write_log_stores_nothing() {
    let seeds = seeds();
    let Ok(GossipMessage::Proposal(proposal)) = decode::<GossipMessage>(&seeds[1], MAX_GOSSIP)
    else {
        panic!("a proposal");
    };
    assert_eq!(proposal.header.open(&chain()).expect("signed").round, Round(4));
    assert!(decode::<FetchRequest>(&seeds[3], MAX_REQUEST).is_ok());
    let Ok(FetchResponse::WriteLogs(Some(logs))) = decode::<FetchResponse>(&seeds[5], MAX_RESPONSE)
    else {
        panic!("write logs");
    };
    let before = storage().latest().expect("latest");
    assert!(storage().commit_round(logs.round, &logs, Hash::ZERO, Hash::ZERO).is_err());
    assert_eq!(storage().latest().expect("latest"), before, "nothing stored");
    let Ok(FetchResponse::CheckpointChunk(Some(chunk))) =
        decode::<FetchResponse>(&seeds[9], MAX_RESPONSE)
    else {
        panic!("a checkpoint chunk");
    };
    let (manifest, _) = checkpoint();
    let mut restore = Restore::new(manifest.clone(), &manifest.root.hash).expect("valid");
    assert_eq!(restore.add(0, &chunk).expect("the first chunk verifies"), 2);
    assert!(restore.add(1, &chunk).is_err(), "not the second chunk");
}
