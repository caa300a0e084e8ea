//! Multi-validator networks on 127.0.0.1 with the real engine, sockets and disk.

mod common;

use std::time::Duration;

use atoll_consensus::staking::methods::{self, ReclaimEscrow, Transfer};
use atoll_consensus::staking::Shares;
use atoll_consensus::{registry, scheduler, staking, Fee, Transaction};
use atoll_engine::MempoolError;
use atoll_types::{Address, Amount, Height, Signed, Signer};
use common::{chain_of, logs, testnet, wait_for_height, TOKEN};

const LIMIT: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_validators_agree_on_every_block() {
    logs();
    let mut net = testnet(4, 0, &[], 100);
    // Node 3 prunes: it keeps 4 blocks (and asks for 16 state versions).
    net.setups[3].config.pruning.keep_blocks = 4;
    net.setups[3].config.pruning.keep_state_versions = 16;
    let nodes = net.start_all().await;
    let refs: Vec<_> = nodes.iter().collect();
    wait_for_height(&refs, 40, LIMIT).await;
    let reference = chain_of(&nodes[0], 40);
    for node in &nodes[1..3] {
        assert_eq!(chain_of(node, 40), reference, "every node has the same blocks and app hashes");
    }
    // Every block after the first carries a certificate for its predecessor.
    for h in 2..=40u64 {
        let block = nodes[0].blocks().block(Height(h)).expect("store").expect("block");
        let commit = block.last_commit.expect("last commit");
        assert_eq!(commit.block_id, reference[h as usize - 2].0);
    }
    // The pruning node agrees on what it keeps and has dropped the rest.
    let pruned = &nodes[3];
    let earliest = pruned.blocks().earliest().expect("store").expect("some block").0;
    let latest = pruned.blocks().latest().expect("store").expect("some block").0;
    assert!(latest - earliest < 4 + 2, "kept {earliest}..={latest}");
    for h in earliest..=latest.min(40) {
        let block = pruned.blocks().block(Height(h)).expect("store").expect("kept block");
        assert_eq!(block.id(), reference[h as usize - 1].0);
    }
    assert!(pruned.blocks().block(Height(1)).expect("store").is_none());
    // State versions are kept for at least the evidence window, whatever the setting asks:
    // evidence is judged against the validator set of its own height.
    assert!(pruned.state().tree_at(Height(1)).is_ok(), "state within the evidence window");
    // The node is still running: its newest block is stored before it is applied, so the
    // newest state may be one block behind the block store.
    let applied = pruned.state().latest().expect("state").expect("a state root").version;
    assert!(applied + 1 >= latest, "state at {applied}, blocks up to {latest}");
    assert!(pruned.state().tree_at(Height(applied)).is_ok());
    drop(refs);
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
    // The API lists the offence with the block that proved it, the slash and the freeze.
    let (address, api) = net.serve_api(0, &nodes[0], |_| {}).await;
    let client = atoll_client::Client::new(&address.to_string()).expect("client");
    let listed = client.node_evidence(&node_id).await.expect("evidence");
    assert_eq!(listed.consensus_key, consensus_key);
    let first = listed.offences.last().expect("an offence");
    assert_eq!(first.included_at, evidence_height);
    assert!(first.height < evidence_height);
    let slash = first.slash.as_ref().expect("the first offence slashed");
    assert_eq!((slash.reason.as_str(), slash.amount), ("consensus_equivocation", slashed));
    assert_eq!(slash.frozen_until, status.frozen_until.map(|e| e.0));
    // Offences proven later, while the node was frozen, slash nothing more.
    assert!(listed.offences.iter().filter(|o| o.slash.is_some()).count() == 1, "{listed:?}");
    let honest = atoll_node::NodeKeys::load(net.home(0)).expect("keys").identity.public_key();
    assert!(client.node_evidence(&honest).await.expect("evidence").offences.is_empty());
    api.abort();
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

fn signed_tx<B: borsh::BorshSerialize>(
    signer: &dyn Signer,
    chain: &atoll_types::ChainContext,
    nonce: u64,
    method: &str,
    body: &B,
) -> Vec<u8> {
    let fee = Fee { amount: Amount::new(10_000), gas: 10_000 };
    let tx = Transaction::new(nonce, fee, method, body);
    atoll_types::encode(&Signed::sign(signer, chain, &tx))
}

fn nonce_of(node: &atoll_engine::bft::NodeHandle, address: &Address) -> u64 {
    let state = node.state();
    let tree = state.tree_at(Height(node.status().height)).expect("state");
    staking::query::account(&tree, address).expect("account").general.nonce
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn transactions_are_gossiped_committed_and_bad_ones_rejected_with_their_code() {
    logs();
    // Node 4 is a full node: it never proposes, so what is submitted to it reaches a block
    // only by gossip to the validators.
    let net = testnet(4, 1, &[], 100);
    let nodes = net.start_all().await;
    let refs: Vec<_> = nodes.iter().collect();
    wait_for_height(&refs, 2, LIMIT).await;
    let chain = nodes[0].chain_context();
    let sender = atoll_node::NodeKeys::load(net.home(0)).expect("keys").entity;
    let from = Address::from_public_key(&sender.public_key());
    let to =
        Address::from_public_key(&atoll_crypto::MemorySigner::from_seed([42; 32]).public_key());
    let nonce = nonce_of(&nodes[0], &from);
    let good = signed_tx(
        &sender,
        &chain,
        nonce,
        methods::TRANSFER,
        &Transfer { to, amount: Amount::new(5 * TOKEN) },
    );
    let hash = nodes[4].submit(good.clone()).expect("admitted");
    assert!(matches!(nodes[4].submit(good), Err(MempoolError::Duplicate)));

    // Refused at admission, each with its code: a forged signature, an overdraft, a
    // transaction for another chain, garbage bytes.
    let stranger = atoll_crypto::MemorySigner::from_seed([9; 32]);
    let mut bad = Vec::new();
    let forged = {
        let tx = Transaction::new(
            nonce + 1,
            Fee { amount: Amount::new(10_000), gas: 10_000 },
            methods::TRANSFER,
            &Transfer { to, amount: Amount::new(1) },
        );
        let real: Signed<Transaction> = Signed::sign(&stranger, &chain, &tx);
        let entry = atoll_types::SignerEntry {
            public_key: sender.public_key(),
            signature: real.signature().signature,
        };
        atoll_types::encode(&Signed::<Transaction>::from_parts(real.body().to_vec(), entry))
    };
    bad.push(forged);
    bad.push(signed_tx(
        &stranger,
        &chain,
        0,
        methods::TRANSFER,
        &Transfer { to, amount: Amount::new(1_000_000 * TOKEN) },
    ));
    bad.push(signed_tx(
        &sender,
        &atoll_types::ChainContext::from_genesis_document(b"another chain"),
        nonce + 1,
        methods::TRANSFER,
        &Transfer { to, amount: Amount::new(1) },
    ));
    bad.push(vec![0xde, 0xad, 0xbe, 0xef]);
    let mut bad_hashes = Vec::new();
    for raw in bad {
        bad_hashes.push(atoll_consensus::transaction_hash(&raw));
        let err = nodes[1].submit(raw).expect_err("refused");
        let code = err.tx_error();
        assert!(code.code > 0 && !code.module.is_empty(), "a clear code: {code:?}");
    }

    // The good one is committed, and every node sees it and its effect.
    let deadline = tokio::time::Instant::now() + LIMIT;
    while nodes[2].blocks().transaction(&hash).expect("index").is_none() {
        assert!(tokio::time::Instant::now() < deadline, "transaction not committed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let height = nodes[2].blocks().transaction(&hash).expect("index").expect("committed").0;
    wait_for_height(&refs, height.0 + 2, LIMIT).await;
    for node in &nodes {
        let tree = node.state().tree_at(height).expect("state");
        let balance = staking::query::account(&tree, &to).expect("account").general.balance;
        assert_eq!(balance, Amount::new(5 * TOKEN));
        for bad in &bad_hashes {
            assert!(node.blocks().transaction(bad).expect("index").is_none(), "never in a block");
        }
    }
    for node in nodes {
        node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn moving_stake_changes_the_validator_set_at_the_next_epoch() {
    logs();
    let epoch_interval = 6;
    let net = testnet(4, 0, &[], epoch_interval);
    let nodes = net.start_all().await;
    let refs: Vec<_> = nodes.iter().collect();
    wait_for_height(&refs, 2, LIMIT).await;
    let keys = atoll_node::NodeKeys::load(net.home(0)).expect("keys");
    let leaving = keys.consensus.public_key();
    let entity = Address::from_public_key(&keys.entity.public_key());
    // The entity takes back all of its self-delegation.
    let reclaim = signed_tx(
        &keys.entity,
        &nodes[0].chain_context(),
        nonce_of(&nodes[1], &entity),
        methods::RECLAIM_ESCROW,
        &ReclaimEscrow { escrow: entity, shares: Shares(1_000 * TOKEN) },
    );
    let hash = nodes[1].submit(reclaim).expect("admitted");
    let deadline = tokio::time::Instant::now() + LIMIT;
    let included = loop {
        if let Some((h, _)) = nodes[1].blocks().transaction(&hash).expect("index") {
            break h.0;
        }
        assert!(tokio::time::Instant::now() < deadline, "reclaim not committed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // The set changes at the first epoch boundary after the reclaim.
    let boundary = included.div_ceil(epoch_interval) * epoch_interval + 1;
    wait_for_height(&refs[1..], boundary + 3, LIMIT).await;
    let set = {
        let tree = nodes[1].state().tree_at(Height(boundary)).expect("state");
        scheduler::validators(&tree).expect("validators")
    };
    assert_eq!(set.len(), 3);
    assert!(set.iter().all(|v| v.consensus_key != leaving));
    // Before the boundary the leaving validator still signed commits; from one height
    // after it, certificates are over the new set and never carry its signature.
    for h in boundary + 2..=boundary + 3 {
        let block = nodes[1].blocks().block(Height(h)).expect("store").expect("block");
        let commit = block.last_commit.expect("commit");
        assert!(commit.signatures.iter().all(|s| s.validator != leaving), "height {h}");
    }
    // The node that left keeps following the chain as a non-voting node.
    wait_for_height(&refs[..1], boundary + 3, LIMIT).await;
    drop(refs);
    for node in nodes {
        node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn running_nodes_register_again_before_their_descriptors_expire() {
    logs();
    // Genesis registrations expire at epoch 4 (max_node_expiration) and would be removed at
    // epoch 6; with 4-block epochs the chain passes both within about 30 blocks.
    let epoch_interval = 4;
    let net = testnet(4, 0, &[], epoch_interval);
    let nodes = net.start_all().await;
    let renewals: Vec<_> = nodes
        .iter()
        .enumerate()
        .map(|(i, node)| {
            let keys = atoll_node::keys::OperationalKeys::load(net.home(i)).expect("keys");
            atoll_node::registration::spawn(keys, node.view(), 1, Vec::new())
        })
        .collect();
    let refs: Vec<_> = nodes.iter().collect();
    let target = 10 * epoch_interval + 1;
    wait_for_height(&refs, target, LIMIT).await;
    let tree = nodes[0].state().tree_at(Height(target)).expect("state");
    let epoch = target.saturating_sub(1) / epoch_interval;
    let registered = registry::nodes(&tree).expect("nodes");
    assert_eq!(registered.len(), 4, "every node is still registered at epoch {epoch}");
    for node in &registered {
        assert!(node.expiration.0 > epoch, "node {} expires at {:?}", node.id, node.expiration);
    }
    assert_eq!(scheduler::validators(&tree).expect("validators").len(), 4);
    // [S] finding 14: the node registers itself with its own key; the entity key, which
    // controls the stake, signed nothing.
    for i in 0..4 {
        let keys = atoll_node::NodeKeys::load(net.home(i)).expect("keys");
        let of = |key: &dyn Signer| {
            staking::account(&tree, &Address::from_public_key(&key.public_key()))
                .expect("account")
                .general
                .nonce
        };
        assert_eq!(of(&keys.entity), 0, "node {i}'s entity key signed a transaction");
        assert!(of(&keys.identity) > 0, "node {i} registered itself again");
    }
    drop((tree, refs));
    for renewal in renewals {
        renewal.abort();
    }
    for node in nodes {
        node.shutdown().await;
    }
}

/// With an empty-block interval, an idle network proposes an empty block only once the
/// interval has passed since the previous one (block times at least that far apart), while
/// a transaction submitted meanwhile is proposed without waiting the interval out. (Block
/// times are whole seconds from the proposer's clock: an idle gap of 4 s shows as ≥ 4.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_idle_network_makes_empty_blocks_only_per_interval_but_takes_transactions_at_once() {
    logs();
    let mut net = testnet(4, 0, &[], 100);
    for setup in &mut net.setups {
        setup.config.timeouts.propose_ms = 10_000;
        setup.config.timeouts.empty_block_interval_ms = 4_000;
    }
    let nodes = net.start_all().await;
    let refs: Vec<_> = nodes.iter().collect();
    wait_for_height(&refs, 3, LIMIT).await;
    let time_of =
        |h: u64| nodes[0].blocks().block(Height(h)).expect("store").expect("block").header.time;
    for h in 2..=3 {
        let gap = time_of(h) - time_of(h - 1);
        assert!(gap >= 4, "empty block {h} came {gap} s after the previous one");
    }
    // Right after a commit, a transfer: the next block carries it, well inside the interval.
    let committed = nodes[0].status().height;
    wait_for_height(&refs, committed + 1, LIMIT).await;
    let sender = atoll_node::NodeKeys::load(net.home(0)).expect("keys").entity;
    let from = Address::from_public_key(&sender.public_key());
    let to = Address::from_public_key(&atoll_crypto::MemorySigner::from_seed([7; 32]).public_key());
    let tx = signed_tx(
        &sender,
        &nodes[0].chain_context(),
        nonce_of(&nodes[0], &from),
        methods::TRANSFER,
        &Transfer { to, amount: Amount::new(TOKEN) },
    );
    let hash = nodes[0].submit(tx).expect("admitted");
    let deadline = tokio::time::Instant::now() + LIMIT;
    let (height, _) = loop {
        if let Some(found) = nodes[0].blocks().transaction(&hash).expect("index") {
            break found;
        }
        assert!(tokio::time::Instant::now() < deadline, "the transfer was never included");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let gap = time_of(height.0) - time_of(height.0 - 1);
    assert!(gap < 4, "the transfer's block waited out the empty-block interval ({gap} s)");
}

/// Two submitters sharing a key (as a compute node's commitments and its re-registration
/// do) take distinct nonces through `submit_own`, also while blocks commit their earlier
/// transactions: every transaction is admitted and committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn submitters_sharing_a_key_never_take_the_same_nonce() {
    logs();
    let net = testnet(1, 0, &[], 100);
    let nodes = net.start_all().await;
    let refs: Vec<_> = nodes.iter().collect();
    wait_for_height(&refs, 2, LIMIT).await;
    let view = nodes[0].view();
    let sender = std::sync::Arc::new(atoll_node::NodeKeys::load(net.home(0)).expect("keys").entity);
    let from = Address::from_public_key(&sender.public_key());
    let to =
        Address::from_public_key(&atoll_crypto::MemorySigner::from_seed([43; 32]).public_key());
    let start = nonce_of(&nodes[0], &from);
    const EACH: u64 = 12;
    let submitters: Vec<_> = (0..2)
        .map(|_| {
            let (view, sender) = (view.clone(), std::sync::Arc::clone(&sender));
            std::thread::spawn(move || {
                let mut taken = Vec::new();
                for _ in 0..EACH {
                    let (nonce, admitted) = view.submit_own(&from, |nonce| {
                        let transfer = Transfer { to, amount: Amount::new(1) };
                        signed_tx(
                            &*sender,
                            &view.chain_context(),
                            nonce,
                            methods::TRANSFER,
                            &transfer,
                        )
                    });
                    taken.push((nonce, admitted.expect("admitted")));
                    // Let blocks commit some of them in between.
                    std::thread::sleep(Duration::from_millis(30));
                }
                taken
            })
        })
        .collect();
    let mut taken: Vec<(u64, atoll_types::Hash)> =
        submitters.into_iter().flat_map(|s| s.join().expect("submitter")).collect();
    taken.sort();
    let nonces: Vec<u64> = taken.iter().map(|(n, _)| *n).collect();
    assert_eq!(nonces, (start..start + 2 * EACH).collect::<Vec<_>>(), "distinct, no gap");
    let deadline = tokio::time::Instant::now() + LIMIT;
    while nonce_of(&nodes[0], &from) < start + 2 * EACH {
        assert!(tokio::time::Instant::now() < deadline, "not all committed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for (_, hash) in &taken {
        assert!(nodes[0].blocks().transaction(hash).expect("index").is_some(), "committed");
    }
    drop(refs);
    for node in nodes {
        node.shutdown().await;
    }
}
