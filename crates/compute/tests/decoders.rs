//! Decoders under fire ([R]): what a compute node takes from its runtime peers — gossip
//! (transactions and batch proposals), fetch requests and fetch responses (transactions,
//! proposals, a finalized round's write logs) — fed arbitrary bytes and mutations of valid
//! encodings, and followed as far as the node follows them: a proposal's signature is
//! opened, received write logs are applied to a runtime store expecting the roots they must
//! reach. Each ends in a value or an error, never a panic, and decoding is bounded by the
//! same limits the network applies.
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
use atoll_mkvs::WriteLogEntry;
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
        encode(&GossipMessage::Transaction(vec![7; 40])),
        encode(&GossipMessage::Proposal(proposal.clone())),
        encode(&FetchRequest::Transactions(vec![Hash::digest(b"a")])),
        encode(&FetchRequest::WriteLogs(Round(3))),
        encode(&FetchResponse::Transactions(vec![vec![1; 30], vec![2; 12]])),
        encode(&FetchResponse::WriteLogs(Some(logs))),
        encode(&FetchResponse::Proposals(vec![proposal])),
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
}
