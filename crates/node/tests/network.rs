//! Multi-validator networks on 127.0.0.1 with the real engine, sockets and disk.

mod common;

use std::time::Duration;

use atoll_consensus::{registry, scheduler, staking};
use atoll_types::{Address, Amount, Height, Signer};
use common::{chain_of, logs, testnet, wait_for_height, TOKEN};

const LIMIT: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_validators_agree_on_every_block() {
    logs();
    let net = testnet(4, 0, &[], 100);
    let nodes = net.start_all().await;
    let refs: Vec<_> = nodes.iter().collect();
    wait_for_height(&refs, 5, LIMIT).await;
    let reference = chain_of(&nodes[0], 5);
    for node in &nodes[1..] {
        assert_eq!(chain_of(node, 5), reference, "every node has the same blocks and app hashes");
    }
    // Every block after the first carries a certificate for its predecessor.
    for h in 2..=5u64 {
        let block = nodes[0].blocks().block(Height(h)).expect("store").expect("block");
        let commit = block.last_commit.expect("last commit");
        assert_eq!(commit.block_id, reference[h as usize - 2].0);
    }
    for node in nodes {
        node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fresh_full_node_syncs_from_genesis_to_the_tip() {
    logs();
    let net = testnet(4, 1, &[], 100);
    let mut validators = Vec::new();
    for i in 0..4 {
        validators.push(net.start(i).await);
    }
    let refs: Vec<_> = validators.iter().collect();
    wait_for_height(&refs, 12, LIMIT).await;
    // The full node joins late, with an empty data directory, and never votes.
    let full = net.start(4).await;
    let tip = validators[0].status().height;
    wait_for_height(&[&full], tip + 2, LIMIT).await;
    let theirs = chain_of(&validators[0], tip + 2);
    assert_eq!(chain_of(&full, tip + 2), theirs, "the synced chain is the validators' chain");
    let full_key = atoll_node::NodeKeys::load(net.home(4)).expect("keys").consensus.public_key();
    for h in 2..=tip + 2 {
        let block = full.blocks().block(Height(h)).expect("store").expect("block");
        let commit = block.last_commit.expect("commit");
        assert!(
            commit.signatures.iter().all(|s| s.validator != full_key),
            "a full node never signs"
        );
    }
    full.shutdown().await;
    for node in validators {
        node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_double_signing_validator_is_slashed_and_frozen() {
    logs();
    let mut net = testnet(4, 0, &[], 100);
    net.setups[3].config.byzantine.double_sign_from_height = Some(3);
    let byzantine = atoll_node::NodeKeys::load(net.home(3)).expect("keys");
    let (node_id, entity, consensus_key) = (
        byzantine.identity.public_key(),
        byzantine.entity.public_key(),
        byzantine.consensus.public_key(),
    );
    let nodes = net.start_all().await;
    let honest: Vec<_> = nodes[..3].iter().collect();

    // Wait for a block carrying evidence against the byzantine validator.
    let deadline = tokio::time::Instant::now() + LIMIT;
    let mut scanned = 0;
    let evidence_height = 'found: loop {
        let height = nodes[0].status().height;
        for h in scanned + 1..=height {
            let block = nodes[0].blocks().block(Height(h)).expect("store").expect("block");
            if block.evidence.iter().any(|e| e.validator() == consensus_key) {
                break 'found h;
            }
            scanned = h;
        }
        assert!(tokio::time::Instant::now() < deadline, "no evidence by height {height}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    wait_for_height(&honest, evidence_height + 2, LIMIT).await;

    let state = std::sync::Arc::clone(nodes[0].state());
    let tree = state.tree_at(Height(evidence_height)).expect("state");
    let before = state.tree_at(Height(evidence_height - 1)).expect("state");
    let status = registry::node_status(&tree, &node_id).expect("status");
    assert!(status.frozen_until.is_some(), "the double signer's node is frozen");
    let entity_address = Address::from_public_key(&entity);
    let escrow = |t: &dyn atoll_mkvs::KeyValueRead| {
        staking::query::account(t, &entity_address).expect("account").escrow.active.balance
    };
    let slashed = escrow(&before).checked_sub(escrow(&tree)).expect("escrow only shrinks");
    assert_eq!(slashed, Amount::new(100 * TOKEN), "the equivocation slash is taken");
    let set = scheduler::validators(&tree).expect("validators");
    assert!(set.iter().all(|v| v.consensus_key != consensus_key), "it leaves the validator set");
    assert_eq!(set.len(), 3);
    // The chain goes on without it, and the same offence is never slashed twice.
    let latest = nodes[0].status().height;
    for h in evidence_height + 1..=latest {
        let block = nodes[0].blocks().block(Height(h)).expect("store").expect("block");
        let keys: Vec<_> = block.evidence.iter().map(|e| e.key()).collect();
        let first =
            nodes[0].blocks().block(Height(evidence_height)).expect("store").expect("block");
        assert!(first.evidence.iter().all(|e| !keys.contains(&e.key())));
    }
    drop((tree, before));
    for node in nodes {
        node.shutdown().await;
    }
}
