//! Attacks on the engine over real nodes and real storage ([S] hardening): each test
//! reproduces what an attacker or a fault did and checks that the node now refuses it.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use atoll_consensus::staking::methods::{self, Transfer};
use atoll_consensus::{staking, ConsensusState, Fee, Genesis, Transaction};
use atoll_crypto::MemorySigner;
use atoll_engine::bft::chain::{Chain, Pruning, MAX_CLOCK_DRIFT};
use atoll_engine::bft::NodeHandle;
use atoll_engine::{BlockStore, Mempool, MempoolConfig};
use atoll_mkvs::{Mkvs, RedbNodeDb};
use atoll_types::{Address, Amount, ChainContext, Height, Signed, Signer};
use common::{chain_of, logs, testnet, wait_for_height, TOKEN};

const LIMIT: Duration = Duration::from_secs(180);

fn signed<B: borsh::BorshSerialize>(
    signer: &dyn Signer,
    chain: &ChainContext,
    nonce: u64,
    gas: u64,
    body: &B,
) -> Vec<u8> {
    let fee = Fee { amount: Amount::new(u128::from(gas) * 10), gas };
    let tx = Transaction::new(nonce, fee, methods::TRANSFER, body);
    atoll_types::encode(&Signed::sign(signer, chain, &tx))
}

fn nonce_of(node: &NodeHandle, address: &Address) -> u64 {
    let tree = node.state().tree_at(Height(node.status().height)).expect("state");
    staking::query::account(&tree, address).expect("account").general.nonce
}

/// A chain of the first validator of `genesis`, on disk in `dir`, outside any engine.
fn open_chain(dir: &std::path::Path, genesis: &Genesis) -> Chain {
    let state =
        ConsensusState::new(Mkvs::new(RedbNodeDb::open(&dir.join("state.redb")).expect("db")));
    state.init_genesis(genesis).expect("genesis");
    let store = BlockStore::open(&dir.join("blocks.redb")).expect("store");
    Chain::open(
        genesis.chain_context(),
        genesis.initial_height,
        Arc::new(state),
        Arc::new(store),
        Arc::new(Mutex::new(Mempool::new(MempoolConfig::default()))),
        Pruning::KEEP_ALL,
    )
    .expect("chain")
}

/// [S] finding 8: any time at or after the previous block's was accepted, so one byzantine
/// proposer could move chain time years ahead for good.
#[test]
fn a_proposal_far_ahead_of_the_clock_is_refused() {
    let net = testnet(1, 0, &[], 100);
    let keys = atoll_node::NodeKeys::load(net.home(0)).expect("keys");
    let dir = tempfile::tempdir().expect("tempdir");
    let chain = open_chain(dir.path(), &net.genesis);
    let now = 1_900_000_000;
    let block = chain.build_block(keys.consensus.public_key(), &[], now).expect("build");
    assert_eq!(chain.validate(&block, Some(now)).expect("validate"), Ok(()));
    assert_eq!(chain.validate(&block, Some(now - MAX_CLOCK_DRIFT)).expect("validate"), Ok(()));
    let ahead = chain.validate(&block, Some(now - MAX_CLOCK_DRIFT - 1)).expect("validate");
    assert!(ahead.expect_err("too far ahead").0.contains("ahead of this node's clock"));
    // A block the network already decided (synced) is not held to the local clock.
    assert_eq!(chain.validate(&block, None).expect("validate"), Ok(()));
}

/// [S] finding 4: blocks may hold 16 MiB of transactions but value sync answered at most
/// 10 MiB, so a node behind such a block could never fetch it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_late_node_refuses_to_stall_behind_a_maximum_size_block() {
    logs();
    let mut net = testnet(1, 1, &[], 1_000);
    // Time between heights to submit a whole block's worth of transactions in one go.
    net.setups[0].config.timeouts.commit_ms = 4_000;
    net.setups[0].config.save(&net.home(0).join(atoll_node::run::CONFIG_FILE)).expect("config");
    let validator = net.start(0).await;
    wait_for_height(&[&validator], 2, LIMIT).await;
    let chain = validator.chain_context();
    let entity = atoll_node::NodeKeys::load(net.home(0)).expect("keys").entity;
    let funder = Address::from_public_key(&entity.public_key());

    // Eight funded senders (the mempool holds at most 64 future nonces per sender).
    let senders: Vec<MemorySigner> =
        (0..8u8).map(|i| MemorySigner::from_seed([40 + i; 32])).collect();
    let first = nonce_of(&validator, &funder);
    for (i, sender) in senders.iter().enumerate() {
        let to = Address::from_public_key(&sender.public_key());
        let fund = Transfer { to, amount: Amount::new(100 * TOKEN) };
        validator.submit(signed(&entity, &chain, first + i as u64, 10_000, &fund)).expect("fund");
    }
    let mut status = validator.subscribe();
    while nonce_of(&validator, &funder) < first + senders.len() as u64 {
        status.changed().await.expect("node runs");
    }

    // 480 transactions of about 32 KB: one block of about 15 MB, past the old 10 MiB.
    let junk = vec![0u8; 31_800];
    status.changed().await.expect("node runs");
    let start = validator.status().height;
    for sender in &senders {
        for nonce in 0..60u64 {
            validator.submit(signed(sender, &chain, nonce, 40_000, &junk)).expect("admitted");
        }
    }
    let mut big = None;
    while big.is_none() {
        status.changed().await.expect("node runs");
        let tip = validator.status().height;
        for h in start..=tip {
            let block = validator.blocks().block(Height(h)).expect("store").expect("block");
            let bytes: usize = block.transactions.iter().map(Vec::len).sum();
            if bytes > 10 << 20 {
                big = Some(h);
            }
        }
        assert!(tip < start + 20, "no block over 10 MiB was made");
    }
    let big = big.expect("found");

    let full = net.start(1).await;
    wait_for_height(&[&full], big + 1, LIMIT).await;
    assert_eq!(chain_of(&full, big + 1), chain_of(&validator, big + 1));
    full.shutdown().await;
    validator.shutdown().await;
}

fn certificate(
    chain: &ChainContext,
    keys: &[&dyn Signer],
    block: &atoll_engine::Block,
) -> atoll_engine::CommitCertificate {
    let mut cert = atoll_engine::CommitCertificate {
        height: block.header.height,
        round: 0,
        block_id: block.id(),
        signatures: vec![],
    };
    for k in keys {
        let vote = cert.precommit(k.public_key());
        let signed = Signed::sign(*k, chain, &vote);
        cert.signatures.push(atoll_engine::CommitSignature {
            validator: k.public_key(),
            signature: signed.signature().signature,
        });
    }
    cert
}

/// [S] finding 15: the certificate stored was the one at the decision, not the fuller one
/// the engine finalizes after collecting late precommits, so late signers never earned
/// signing credit.
#[test]
fn late_precommits_refuse_to_go_unrecorded() {
    let net = testnet(4, 0, &[], 100);
    let keys: Vec<_> =
        (0..4).map(|i| atoll_node::NodeKeys::load(net.home(i)).expect("keys").consensus).collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let chain = open_chain(dir.path(), &net.genesis);
    let context = net.genesis.chain_context();
    let proposer = chain.validators(1).expect("validators")[0].consensus_key;
    let block = chain.build_block(proposer, &[], 1_900_000_000).expect("build");
    let signers: Vec<&dyn Signer> = keys.iter().map(|k| k as &dyn Signer).collect();
    let decided = certificate(&context, &signers[..3], &block);
    chain.commit(&block, &decided).expect("commit");

    let mut forged = certificate(&context, &signers, &block);
    forged.signatures[3].signature = forged.signatures[0].signature;
    assert!(!chain.record_fuller_certificate(&forged).expect("record"), "a bad signature");
    assert!(!chain.record_fuller_certificate(&decided).expect("record"), "nothing new");
    let fuller = certificate(&context, &signers, &block);
    assert!(chain.record_fuller_certificate(&fuller).expect("record"));
    assert_eq!(chain.store().certificate(Height(1)).expect("store"), Some(fuller.clone()));
    let next = chain.build_block(proposer, &[], 1_900_000_001).expect("build");
    assert_eq!(next.last_commit, Some(fuller), "the next block carries every precommit");
}

/// Commits the next block of `chain` (proposed by its first validator, with `evidence`),
/// signed by every validator of its height; returns the block and what it did.
fn commit_next(
    chain: &Chain,
    keys: &[atoll_node::NodeKeys],
    evidence: &[atoll_engine::evidence::DoubleSignEvidence],
    time: u64,
) -> (atoll_engine::Block, atoll_consensus::BlockOutcome) {
    let height = chain.next_height().expect("height");
    let set = chain.validators(height).expect("validators");
    let block = chain.build_block(set[0].consensus_key, evidence, time).expect("build");
    let signers: Vec<&dyn Signer> = keys
        .iter()
        .filter(|k| set.iter().any(|v| v.consensus_key == k.consensus.public_key()))
        .map(|k| &k.consensus as &dyn Signer)
        .collect();
    let cert = certificate(&chain.chain_context(), &signers, &block);
    let outcome = chain.commit(&block, &cert).expect("commit");
    (block, outcome)
}

/// [S] finding 9: evidence was checked against the current validator set, so a validator
/// that double-signed and left the set at the next epoch boundary went unpunished.
#[test]
fn a_double_signer_that_left_the_set_is_refused_impunity() {
    use atoll_consensus::staking::methods::ReclaimEscrow;
    use atoll_engine::evidence::{DoubleSignEvidence, SignedVote};
    use atoll_engine::{Vote, VoteKind};

    let net = testnet(4, 0, &[], 3);
    let keys: Vec<_> =
        (0..4).map(|i| atoll_node::NodeKeys::load(net.home(i)).expect("keys")).collect();
    let dir = tempfile::tempdir().expect("tempdir");
    // Debonding lasts 10 epochs (30 blocks): evidence is accepted for that long.
    let mut genesis = net.genesis.clone();
    genesis.staking.parameters.debonding_interval = 10;
    let chain = open_chain(dir.path(), &genesis);
    let context = genesis.chain_context();
    let leaver = &keys[3];
    let entity = Address::from_public_key(&leaver.entity.public_key());

    // Height 1: the leaver's entity reclaims all its escrow, and its validator double-signs
    // a prevote at that very height.
    let tree = chain.state().tree_at(Height(0)).expect("genesis state");
    let shares = staking::delegation(&tree, &entity, &entity).expect("delegation").shares;
    let reclaim = Transaction::new(
        0,
        Fee { amount: Amount::new(100_000), gas: 10_000 },
        methods::RECLAIM_ESCROW,
        &ReclaimEscrow { escrow: entity, shares },
    );
    let raw = atoll_types::encode(&Signed::sign(&leaver.entity, &context, &reclaim));
    chain.mempool().lock().expect("mempool").insert(&tree, raw).expect("admitted");
    drop(tree);
    let mut time = 1_900_000_000;
    let (first, outcome) = commit_next(&chain, &keys, &[], time);
    assert!(outcome.results.iter().all(|r| r.error.is_none()), "{:?}", outcome.results);
    let vote_in = |round: u32, id: &[u8]| {
        let vote = Vote {
            kind: VoteKind::Prevote,
            height: first.header.height,
            round,
            block_id: Some(atoll_types::Hash::digest(id)),
            validator: leaver.consensus.public_key(),
        };
        let signature = Signed::sign(&leaver.consensus, &context, &vote).signature().signature;
        SignedVote { vote, signature }
    };
    let evidence = DoubleSignEvidence { first: vote_in(0, b"one"), second: vote_in(0, b"two") };
    let stale = DoubleSignEvidence { first: vote_in(1, b"one"), second: vote_in(1, b"two") };

    // The set changes at the epoch boundary: the leaver is gone.
    while chain
        .validators(chain.next_height().expect("height"))
        .expect("validators")
        .iter()
        .any(|v| v.consensus_key == leaver.consensus.public_key())
    {
        time += 1;
        commit_next(&chain, &keys, &[], time);
        assert!(chain.last_height().expect("height") < 20, "the leaver never left the set");
    }
    let escrow_before = staking::account(
        &chain.state().tree_at(Height(chain.last_height().expect("h"))).expect("state"),
        &entity,
    )
    .expect("account")
    .escrow;
    let (block, outcome) = commit_next(&chain, &keys, &[evidence], time + 1);
    assert_eq!(block.evidence.len(), 1, "the evidence is accepted after the leaver left");
    let taken = outcome.events.iter().any(|e| {
        matches!(&e.event, atoll_consensus::Event::Staking(atoll_consensus::StakingEvent::TakeEscrow { owner, .. }) if *owner == entity)
    });
    assert!(taken, "the leaver's escrow is slashed");
    let escrow_after =
        staking::account(&chain.state().tree_at(block.header.height).expect("state"), &entity)
            .expect("account")
            .escrow;
    assert!(escrow_after.debonding.balance < escrow_before.debonding.balance);

    // Past the debonding period the stake may be gone: such evidence is refused.
    while chain.next_height().expect("height") <= first.header.height.0 + 30 {
        time += 1;
        commit_next(&chain, &keys, &[], time);
    }
    let (late, _) = commit_next(&chain, &keys, &[stale], time + 1);
    assert!(late.evidence.is_empty(), "evidence older than the debonding period is refused");
}

/// [S] finding 14: every node loaded (and re-registered with) its entity key, which
/// controls the stake. A node now runs with `keys/entity.key` moved off its host.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_refuses_to_need_its_entity_key() {
    logs();
    let net = testnet(1, 0, &[], 100);
    let entity_key = net.home(0).join("keys").join("entity.key");
    let offline = net.dir.path().join("entity.key.offline");
    std::fs::rename(&entity_key, &offline).expect("move the entity key away");
    let node = atoll_node::run::start(net.home(0), &net.setups[0].config).await.expect("starts");
    wait_for_height(&[&node], 3, LIMIT).await;
    node.shutdown().await;
}
