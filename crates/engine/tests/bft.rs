//! The Malachite adapter's pieces in isolation: precommits signed through the engine's
//! signer form certificates that Atoll's own verification accepts; wire encoding round
//! trips and refuses garbage; proposer choice follows power.

mod common;

use std::sync::Arc;

use atoll_crypto::MemorySigner;
use atoll_engine::bft::codec::{from_engine_certificate, to_extended_certificate, WireCodec};
use atoll_engine::bft::context::{
    proposer_index, AtollContext, BlockHeight, BlockId, ValidatorAddress, ValidatorSet,
};
use atoll_engine::bft::signing::ConsensusSigner;
use atoll_types::{ChainContext, Hash, Signer};
use bytes::Bytes;
use common::validators;
use malachitebft_app_channel::app::types::codec::Codec;
use malachitebft_app_channel::app::types::core::{
    CommitCertificate, Context, NilOrVal, Round, SignedMessage, Validator as _,
};
use malachitebft_app_channel::app::types::sync::{RawDecidedValue, Response};
use malachitebft_app_channel::app::types::SignedConsensusMsg;
use malachitebft_app_channel::{Signer as _, Verifier as _};

#[tokio::test]
async fn engine_precommits_make_certificates_atoll_verifies() {
    let chain = ChainContext::from_genesis_document(b"bft test");
    let keys: Vec<MemorySigner> = (1..=4u8).map(|i| MemorySigner::from_seed([i; 32])).collect();
    let set = validators(&keys, &[10, 10, 10, 10]);
    let id = BlockId(Hash::digest(b"block"));
    let (height, round) = (BlockHeight(7), Round::new(2));
    let mut votes = Vec::new();
    for key in &keys[..3] {
        let signer = ConsensusSigner::new(Arc::new(key.clone()), chain);
        let vote = AtollContext.new_precommit(
            height,
            round,
            NilOrVal::Val(id),
            ValidatorAddress(key.public_key()),
        );
        let signed = signer.sign_vote(vote.clone()).await.expect("sign");
        let verifier = ConsensusSigner::verifier(chain);
        let ok = verifier
            .verify_signed_vote(&vote, &signed.signature, &key.public_key())
            .await
            .expect("verify");
        assert!(ok.is_valid());
        let other = keys[3].public_key();
        let wrong_key = verifier.verify_signed_vote(&vote, &signed.signature, &other).await;
        assert!(wrong_key.expect("verify").is_invalid());
        votes.push(signed);
    }
    let certificate = CommitCertificate::new(height, round, id, votes);
    let ours = from_engine_certificate(&certificate).expect("defined round");
    assert_eq!(ours.verify(&chain, &set), Ok(()));
    let other_chain = ChainContext::from_genesis_document(b"elsewhere");
    assert!(ours.verify(&other_chain, &set).is_err(), "signatures are bound to the chain");

    // A sync response carries it in Atoll form and decodes to the same certificate.
    let response = Response::ValueResponse(malachitebft_sync::ValueResponse::new(
        height,
        vec![RawDecidedValue::new(
            Bytes::from_static(b"block bytes"),
            to_extended_certificate(&ours),
        )],
    ));
    let bytes = WireCodec.encode(&response).expect("encode");
    let decoded: Response<AtollContext> = WireCodec.decode(bytes.clone()).expect("decode");
    assert_eq!(decoded, response);
    let mut trailing = bytes.to_vec();
    trailing.push(0);
    let garbage: Result<Response<AtollContext>, _> = WireCodec.decode(Bytes::from(trailing));
    assert!(garbage.is_err(), "trailing bytes are refused");
}

#[tokio::test]
async fn consensus_messages_round_trip_and_garbage_is_refused() {
    let chain = ChainContext::from_genesis_document(b"bft codec");
    let key = MemorySigner::from_seed([5; 32]);
    let signer = ConsensusSigner::new(Arc::new(key.clone()), chain);
    let proposal = AtollContext.new_proposal(
        BlockHeight(3),
        Round::new(0),
        BlockId(Hash::digest(b"b")),
        Round::Nil,
        ValidatorAddress(key.public_key()),
    );
    let signed: SignedMessage<AtollContext, _> =
        signer.sign_proposal(proposal).await.expect("sign");
    let message = SignedConsensusMsg::Proposal(signed);
    let bytes = WireCodec.encode(&message).expect("encode");
    let back: SignedConsensusMsg<AtollContext> = WireCodec.decode(bytes).expect("decode");
    assert_eq!(back, message);
    for garbage in [&b""[..], &[0xff; 3], &[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]] {
        let result: Result<SignedConsensusMsg<AtollContext>, _> =
            WireCodec.decode(Bytes::copy_from_slice(garbage));
        assert!(result.is_err());
    }
}

#[test]
fn proposers_follow_voting_power() {
    let keys: Vec<MemorySigner> = (1..=3u8).map(|i| MemorySigner::from_seed([i; 32])).collect();
    let set = ValidatorSet::from_scheduler(&validators(&keys, &[60, 30, 10]));
    let mut counts = [0usize; 3];
    for h in 1..=3_000u64 {
        counts[proposer_index(&set, BlockHeight(h), Round::new(0))] += 1;
    }
    let powers: Vec<u64> = set.validators().iter().map(|v| v.voting_power()).collect();
    for (count, power) in counts.iter().zip(&powers) {
        let expected = 3_000 * *power as usize / 100;
        assert!(count.abs_diff(expected) < 150, "{counts:?} for powers {powers:?}");
    }
    // Later rounds of one height rotate to other proposers.
    let proposers: std::collections::BTreeSet<usize> =
        (0..20).map(|r| proposer_index(&set, BlockHeight(1), Round::new(r))).collect();
    assert!(proposers.len() > 1);
}
