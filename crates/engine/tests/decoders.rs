//! Decoders under fire ([R]): every decoder of the engine that takes bytes from a peer, a
//! client or the disk — transactions, blocks, certificates, evidence and offences, gossip
//! bundles, stored round entries and undecided proposals, and every consensus wire message
//! (proposal parts and streams, votes, liveness, sync status, requests and responses,
//! validator proofs) — is fed arbitrary bytes and mutations of valid encodings. Each must
//! answer (a value or an error) without panicking. (Allocation is bounded by construction —
//! every decoder refuses input over its size limit and borsh caps what a declared length
//! preallocates — but not measured here: the workspace forbids the `unsafe` a counting
//! allocator needs.)
//!
//! CI runs a few hundred inputs per decoder; the long mode runs 1,000,000 each:
//! `cargo test --release -p atoll-engine --test decoders -- --ignored --nocapture`.

mod common;

use atoll_consensus::{SignedTransaction, MAX_TRANSACTION_SIZE};
use atoll_engine::bft::codec::WireCodec;
use atoll_engine::bft::context::{AtollContext, ProposalPart};
use atoll_engine::block::{Block, BlockHeader, MAX_BLOCK_SIZE};
use atoll_engine::evidence::{DoubleSignEvidence, Offence, SignedVote};
use atoll_engine::rounds::RoundEntry;
use atoll_engine::store::UndecidedProposal;
use atoll_engine::{gossip, CommitCertificate, CommitSignature, Vote, VoteKind};
use atoll_types::{decode, encode, Epoch, Hash, Height, Signer};
use bytes::Bytes;
use malachitebft_app_channel::app::consensus::LivenessMsg;
use malachitebft_app_channel::app::streaming::StreamMessage;
use malachitebft_app_channel::app::types::codec::Codec;
use malachitebft_app_channel::app::types::core::{PolkaCertificate, ValidatorProof};
use malachitebft_app_channel::app::types::sync::{Request, Response, Status};
use malachitebft_app_channel::app::types::{ProposedValue, SignedConsensusMsg};
use proptest::prelude::*;

fn wire<T>(bytes: &[u8])
where
    WireCodec: Codec<T>,
{
    let _ = Codec::<T>::decode(&WireCodec, Bytes::copy_from_slice(bytes));
}

type Decoder = (&'static str, fn(&[u8]));

/// Every decoder under test.
fn decoders() -> Vec<Decoder> {
    vec![
        ("transaction", |b| {
            let _ = decode::<SignedTransaction>(b, MAX_TRANSACTION_SIZE);
        }),
        ("block", |b| {
            let _ = decode::<Block>(b, MAX_BLOCK_SIZE);
        }),
        ("certificate", |b| {
            let _ = decode::<CommitCertificate>(b, 1 << 20);
        }),
        ("evidence", |b| {
            let _ = decode::<DoubleSignEvidence>(b, 4_096);
        }),
        ("offence", |b| {
            let _ = decode::<Offence>(b, 64);
        }),
        ("gossip bundle", |b| {
            let _ = gossip::unbundle(b);
        }),
        ("round entry", |b| {
            let _ = decode::<RoundEntry>(b, 16 << 20);
        }),
        ("undecided proposal", |b| {
            let _ = decode::<UndecidedProposal>(b, MAX_BLOCK_SIZE + (1 << 20));
        }),
        ("wire: proposal part", wire::<ProposalPart>),
        ("wire: stream message", wire::<StreamMessage<ProposalPart>>),
        ("wire: signed consensus message", wire::<SignedConsensusMsg<AtollContext>>),
        ("wire: liveness message", wire::<LivenessMsg<AtollContext>>),
        ("wire: proposed value", wire::<ProposedValue<AtollContext>>),
        ("wire: polka certificate", wire::<PolkaCertificate<AtollContext>>),
        ("wire: sync status", wire::<Status<AtollContext>>),
        ("wire: sync request", wire::<Request<AtollContext>>),
        ("wire: sync response", wire::<Response<AtollContext>>),
        ("wire: validator proof", wire::<ValidatorProof<AtollContext>>),
    ]
}

/// Valid encodings of each kind, to mutate.
fn seeds() -> Vec<Vec<u8>> {
    let genesis = common::genesis(2);
    let tx = common::transfer(&genesis, 0, 0, 1);
    let key = common::key(0);
    let chain = genesis.chain_context();
    let vote = |block: u8| Vote {
        kind: VoteKind::Precommit,
        height: Height(7),
        round: 1,
        block_id: Some(Hash::digest(&[block])),
        validator: key.public_key(),
    };
    let signed = |vote: Vote| SignedVote { signature: key.sign_raw(&encode(&vote)), vote };
    let certificate = CommitCertificate {
        height: Height(7),
        round: 1,
        block_id: Hash::digest(b"block"),
        signatures: vec![CommitSignature {
            validator: key.public_key(),
            signature: key.sign_raw(b"precommit"),
        }],
    };
    let evidence = DoubleSignEvidence { first: signed(vote(1)), second: signed(vote(2)) };
    let block = Block {
        header: BlockHeader {
            chain_context: chain,
            height: Height(8),
            time: 1_700_000_000,
            previous_block_id: Hash::digest(b"block"),
            app_hash: Hash::digest(b"state"),
            transactions_root: Hash::digest(b"root"),
            proposer: key.public_key(),
            epoch: Epoch(1),
            commit_and_evidence_hash: Hash::digest(b"commit"),
        },
        transactions: vec![tx.clone(); 3],
        last_commit: Some(certificate.clone()),
        evidence: vec![evidence.clone()],
    };
    let undecided =
        UndecidedProposal { round: 0, valid_round: -1, block: block.clone(), valid: true };
    let part = ProposalPart::Data(encode(&block));
    let wire_part = Codec::<ProposalPart>::encode(&WireCodec, &part).expect("encodes").to_vec();
    vec![
        tx.clone(),
        encode(&block),
        encode(&certificate),
        encode(&evidence),
        encode(&evidence.offence()),
        gossip::bundle(vec![tx; 3]).remove(0),
        encode(&undecided),
        wire_part,
    ]
}

/// Applies `edits` (operation, position, byte) to a copy of `seed`.
fn mutate(seed: &[u8], edits: &[(u8, usize, u8)]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for &(op, at, byte) in edits {
        let at = if bytes.is_empty() { 0 } else { at % bytes.len() };
        match op % 5 {
            0 if !bytes.is_empty() => bytes[at] ^= byte | 1,
            1 => bytes.insert(at, byte),
            2 if !bytes.is_empty() => {
                bytes.remove(at);
            }
            3 => bytes.truncate(at),
            // A length or count field turned huge.
            _ => {
                for b in bytes.iter_mut().skip(at).take(4) {
                    *b = 0xff;
                }
            }
        }
    }
    bytes
}

fn check_all(bytes: &[u8]) {
    for (_, decoder) in decoders() {
        decoder(bytes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        check_all(&bytes);
    }

    #[test]
    fn mutated_valid_encodings_never_panic(
        seed in 0usize..8,
        edits in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..6),
    ) {
        let seeds = seeds();
        check_all(&mutate(&seeds[seed % seeds.len()], &edits));
    }
}

#[test]
fn the_seeds_are_valid_and_decode() {
    let seeds = seeds();
    assert!(decode::<SignedTransaction>(&seeds[0], MAX_TRANSACTION_SIZE).is_ok());
    assert!(decode::<Block>(&seeds[1], MAX_BLOCK_SIZE).is_ok());
    assert!(decode::<CommitCertificate>(&seeds[2], 1 << 20).is_ok());
    assert!(decode::<DoubleSignEvidence>(&seeds[3], 4_096).is_ok());
    assert!(decode::<Offence>(&seeds[4], 64).is_ok());
    assert_eq!(gossip::unbundle(&seeds[5]).map(|b| b.len()), Some(3));
    assert!(decode::<UndecidedProposal>(&seeds[6], MAX_BLOCK_SIZE + (1 << 20)).is_ok());
    assert!(Codec::<ProposalPart>::decode(&WireCodec, Bytes::from(seeds[7].clone())).is_ok());
}

/// The long mode: 1,000,000 inputs per decoder, half random bytes, half mutated seeds.
#[test]
#[ignore = "long: run with --release -- --ignored"]
fn a_million_inputs_per_decoder() {
    let seeds = seeds();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for (name, decoder) in decoders() {
        for i in 0..1_000_000u32 {
            let bytes = if i % 2 == 0 {
                let len = (next() % 512) as usize;
                (0..len).map(|_| next() as u8).collect::<Vec<u8>>()
            } else {
                let seed = &seeds[(next() % seeds.len() as u64) as usize];
                let edits: Vec<(u8, usize, u8)> = (0..1 + next() % 5)
                    .map(|_| (next() as u8, next() as usize, next() as u8))
                    .collect();
                mutate(seed, &edits)
            };
            decoder(&bytes);
        }
        println!("{name}: 1,000,000 inputs, no panic");
    }
}
