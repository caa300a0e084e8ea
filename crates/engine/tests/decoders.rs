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
use atoll_types::fuzz::Decoder;
use atoll_types::{decode, encode, Epoch, Hash, Height, Signer};
use bytes::Bytes;
use malachitebft_app_channel::app::consensus::LivenessMsg;
use malachitebft_app_channel::app::streaming::StreamMessage;
use malachitebft_app_channel::app::types::codec::Codec;
use malachitebft_app_channel::app::types::core::{PolkaCertificate, ValidatorProof};
use malachitebft_app_channel::app::types::sync::{Request, Response, Status};
use malachitebft_app_channel::app::types::{ProposedValue, SignedConsensusMsg};

fn wire<T>(bytes: &[u8])
where
    WireCodec: Codec<T>,
{
    let _ = Codec::<T>::decode(&WireCodec, Bytes::copy_from_slice(bytes));
}

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

atoll_types::decoders_under_fire!();

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
