//! Mempool, commit certificates, block validation and the block store.

mod common;

use atoll_consensus::staking::methods;
use atoll_consensus::{ConsensusState, Fee, Transaction};
use atoll_crypto::MemorySigner;
use atoll_engine::{
    Block, BlockError, BlockLimits, BlockStore, CertificateError, CommitCertificate,
    CommitSignature, Mempool, MempoolConfig, MempoolError,
};
use atoll_mkvs::{MemoryNodeDb, Mkvs};
use atoll_types::{encode, Address, ChainContext, Hash, Height, Signed, Signer};
use common::{block_after, genesis, key, transfer, validators};

fn unlimited() -> BlockLimits {
    BlockLimits { max_txs: usize::MAX, max_bytes: usize::MAX, max_gas: u64::MAX }
}

#[test]
fn mempool_orders_by_price_and_nonce_and_stays_bounded() {
    let g = genesis(4);
    let state = ConsensusState::new(Mkvs::new(MemoryNodeDb::new()));
    state.init_genesis(&g).expect("genesis");
    let tree = state.tree_at(Height(0)).expect("tree");
    let mut pool =
        Mempool::new(MempoolConfig { max_txs: 5, max_nonce_gap: 3, ..MempoolConfig::default() });

    // Sender 0: nonces 1 and 0 (out of order), price 5; sender 1: price 9; sender 2: price 1.
    let a1 = transfer(&g, 0, 1, 5);
    let a0 = transfer(&g, 0, 0, 5);
    let b0 = transfer(&g, 1, 0, 9);
    let c0 = transfer(&g, 2, 0, 1);
    for tx in [&a1, &a0, &b0, &c0] {
        pool.insert(&tree, tx.clone()).expect("admitted");
    }
    assert!(matches!(pool.insert(&tree, a0.clone()), Err(MempoolError::Duplicate)));
    assert!(matches!(pool.insert(&tree, transfer(&g, 0, 9, 5)), Err(MempoolError::NonceTooFar)));
    assert!(matches!(pool.insert(&tree, transfer(&g, 0, 0, 5)), Err(MempoolError::Duplicate)));
    let mut wrong_chain = Signed::sign(
        &key(0),
        &ChainContext::from_genesis_document(b"x"),
        &Transaction::new(0, Fee::default(), methods::TRANSFER, &()),
    );
    let rejected = pool.insert(&tree, encode(&wrong_chain)).expect_err("bad signature");
    assert_eq!((rejected.tx_error().module.as_str(), rejected.tx_error().code), ("core", 3));
    wrong_chain = Signed::sign(
        &key(0),
        &g.chain_context(),
        &Transaction::new(2, Fee::default(), "staking.Nope", &()),
    );
    assert!(pool.insert(&tree, encode(&wrong_chain)).is_err());

    // Highest price first, and sender 0's nonce 0 before its nonce 1.
    assert_eq!(pool.select(&unlimited()), vec![b0.clone(), a0.clone(), a1.clone(), c0.clone()]);
    // The gas limit cuts the block: two transactions of 10,000 gas.
    assert_eq!(
        pool.select(&BlockLimits { max_gas: 20_000, ..unlimited() }),
        vec![b0.clone(), a0.clone()]
    );

    // Replacement needs a higher price.
    assert!(matches!(
        pool.insert(&tree, transfer(&g, 2, 0, 1)),
        Err(MempoolError::Duplicate | MempoolError::ReplacementUnderpriced)
    ));
    let c0_better = transfer(&g, 2, 0, 3);
    pool.insert(&tree, c0_better.clone()).expect("replaces");
    assert!(!pool.contains(&Hash::digest(&c0)));

    // Full (5): a cheaper one is refused, a better one evicts the cheapest.
    pool.insert(&tree, transfer(&g, 3, 0, 4)).expect("fifth");
    assert_eq!(pool.len(), 5);
    assert!(matches!(pool.insert(&tree, transfer(&g, 3, 1, 2)), Err(MempoolError::Full)));
    pool.insert(&tree, transfer(&g, 3, 1, 50)).expect("evicts the cheapest");
    assert_eq!(pool.len(), 5);
    assert!(!pool.contains(&Hash::digest(&c0_better)), "price 3 was the cheapest");
    assert_eq!(MempoolError::Full.tx_error().code, 1);
}

#[test]
fn mempool_recheck_drops_committed_transactions() {
    let g = genesis(2);
    let state = ConsensusState::new(Mkvs::new(MemoryNodeDb::new()));
    state.init_genesis(&g).expect("genesis");
    let mut pool = Mempool::new(MempoolConfig::default());
    let (t0, t1) = (transfer(&g, 0, 0, 1), transfer(&g, 0, 1, 1));
    {
        let tree = state.tree_at(Height(0)).expect("tree");
        pool.insert(&tree, t0.clone()).expect("t0");
        pool.insert(&tree, t1.clone()).expect("t1");
    }
    let ctx = atoll_consensus::BlockContext { height: Height(1), ..Default::default() };
    state.apply(&ctx, &[t0]).expect("block");
    let tree = state.tree_at(Height(1)).expect("tree");
    assert_eq!(pool.recheck(&tree, 1).expect("recheck"), 1);
    assert_eq!(pool.select(&unlimited()), vec![t1]);
}

#[test]
fn clients_transactions_are_gossiped_again_while_they_wait() {
    let g = genesis(2);
    let state = ConsensusState::new(Mkvs::new(MemoryNodeDb::new()));
    state.init_genesis(&g).expect("genesis");
    let tree = state.tree_at(Height(0)).expect("tree");
    let mut pool = Mempool::new(MempoolConfig::default());
    let (local, cheap, gossiped) =
        (transfer(&g, 0, 0, 5), transfer(&g, 0, 1, 1), transfer(&g, 1, 0, 9));
    for tx in [&local, &cheap, &gossiped] {
        pool.insert(&tree, tx.clone()).expect("admitted");
    }
    pool.set_local(&Hash::digest(&local));
    pool.set_local(&Hash::digest(&cheap));
    assert!(pool.due_for_gossip(3, 10).is_empty(), "just gossiped");
    // Three blocks later (nothing committed): the clients' ones, best paying first, never
    // the one that came by gossip.
    pool.recheck(&tree, 3).expect("recheck");
    assert_eq!(pool.due_for_gossip(3, 10), vec![local.clone(), cheap.clone()]);
    assert!(pool.due_for_gossip(3, 10).is_empty(), "counted as gossiped now");
    pool.recheck(&tree, 6).expect("recheck");
    assert_eq!(pool.due_for_gossip(3, 1), vec![local], "at most max");
    assert_eq!(pool.due_for_gossip(3, 1), vec![cheap]);
}

fn certificate(chain: &ChainContext, keys: &[&MemorySigner], block_id: Hash) -> CommitCertificate {
    let mut cert = CommitCertificate { height: Height(5), round: 0, block_id, signatures: vec![] };
    for k in keys {
        let vote = cert.precommit(k.public_key());
        let signed = Signed::sign(*k, chain, &vote);
        cert.signatures.push(CommitSignature {
            validator: k.public_key(),
            signature: signed.signature().signature,
        });
    }
    cert
}

#[test]
fn certificates_need_more_than_two_thirds_of_valid_signatures() {
    let chain = ChainContext::from_genesis_document(b"certs");
    let keys: Vec<MemorySigner> = (0..4).map(key).collect();
    let set = validators(&keys, &[10, 10, 10, 10]);
    let id = Hash::digest(b"block");
    assert_eq!(
        certificate(&chain, &[&keys[0], &keys[1], &keys[2]], id).verify(&chain, &set),
        Ok(())
    );
    assert!(matches!(
        certificate(&chain, &[&keys[0], &keys[1]], id).verify(&chain, &set),
        Err(CertificateError::InsufficientPower { signed: 20, total: 40 })
    ));
    let stranger = key(99);
    assert!(matches!(
        certificate(&chain, &[&keys[0], &keys[1], &stranger], id).verify(&chain, &set),
        Err(CertificateError::UnknownValidator(_))
    ));
    assert!(matches!(
        certificate(&chain, &[&keys[0], &keys[0], &keys[1]], id).verify(&chain, &set),
        Err(CertificateError::Duplicate(_))
    ));
    let mut forged = certificate(&chain, &[&keys[0], &keys[1], &keys[2]], id);
    forged.block_id = Hash::digest(b"another block");
    assert!(matches!(forged.verify(&chain, &set), Err(CertificateError::InvalidSignature(_))));
    let other_chain = certificate(
        &ChainContext::from_genesis_document(b"other"),
        &[&keys[0], &keys[1], &keys[2]],
        id,
    );
    assert!(matches!(other_chain.verify(&chain, &set), Err(CertificateError::InvalidSignature(_))));
    // Power, not head count: one validator with most of the power suffices.
    let skewed = validators(&keys, &[70, 10, 10, 10]);
    assert_eq!(certificate(&chain, &[&keys[0]], id).verify(&chain, &skewed), Ok(()));
}

#[test]
fn the_power_of_an_older_set_behind_a_certificate_counts_only_its_members_valid_signatures() {
    let chain = ChainContext::from_genesis_document(b"certs");
    let keys: Vec<MemorySigner> = (0..4).map(key).collect();
    let older = validators(&keys[..2], &[30, 10]);
    let id = Hash::digest(b"block");
    // Signed by the block's own set (keys 1, 2, 3): of the older set only key 1 is there.
    let newer = certificate(&chain, &[&keys[1], &keys[2], &keys[3]], id);
    assert_eq!(newer.signed_power(&chain, &older), Ok((10, 40)));
    assert_eq!(
        certificate(&chain, &[&keys[0], &keys[3]], id).signed_power(&chain, &older),
        Ok((30, 40))
    );
    let mut forged = certificate(&chain, &[&keys[0]], id);
    forged.block_id = Hash::digest(b"another block");
    assert!(matches!(
        forged.signed_power(&chain, &older),
        Err(CertificateError::InvalidSignature(_))
    ));
    assert!(matches!(
        certificate(&chain, &[&keys[1], &keys[1]], id).signed_power(&chain, &older),
        Err(CertificateError::Duplicate(_))
    ));
}

fn block(chain: &ChainContext, height: u64, previous: Option<&Block>, txs: Vec<Vec<u8>>) -> Block {
    block_after(chain, height, previous, Hash::digest(&height.to_le_bytes()), txs)
}

#[test]
fn blocks_are_checked_for_chain_root_and_continuity() {
    let chain = ChainContext::from_genesis_document(b"blocks");
    let first = block(&chain, 1, None, vec![vec![1], vec![2]]);
    assert_eq!(first.validate_basic(&chain), Ok(()));
    assert_eq!(
        first.validate_basic(&ChainContext::from_genesis_document(b"x")),
        Err(BlockError::WrongChain)
    );
    let mut tampered = first.clone();
    tampered.transactions.push(vec![3]);
    assert_eq!(tampered.validate_basic(&chain), Err(BlockError::TransactionsRoot));
    let mut uncommitted = block(&chain, 2, Some(&first), vec![]);
    uncommitted.last_commit = None;
    assert_eq!(uncommitted.validate_basic(&chain), Err(BlockError::CommitAndEvidenceHash));
    let second = block(&chain, 2, Some(&first), vec![]);
    assert_eq!(second.validate_follows(&first, &Hash::digest(&2u64.to_le_bytes())), Ok(()));
    assert!(second.validate_follows(&first, &Hash::ZERO).is_err(), "wrong app hash");
    let skipped = block(&chain, 3, Some(&first), vec![]);
    assert!(skipped.validate_follows(&first, &skipped.header.app_hash).is_err());
}

#[test]
fn block_store_indexes_prunes_and_survives_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("blocks.redb");
    let chain = ChainContext::from_genesis_document(b"store");
    let mut blocks: Vec<Block> = Vec::new();
    {
        let store = BlockStore::open(&path).expect("open");
        for h in 1..=10u64 {
            let b =
                block(&chain, h, blocks.last(), vec![h.to_le_bytes().to_vec(), vec![h as u8; 3]]);
            store.put(&b, &cert(&b)).expect("put");
            blocks.push(b);
        }
        assert!(
            store
                .put(&block(&chain, 12, None, vec![]), &cert(&block(&chain, 12, None, vec![])))
                .is_err(),
            "gaps are refused"
        );
    }
    let store = BlockStore::open(&path).expect("reopen");
    assert_eq!(
        (store.earliest().expect("e"), store.latest().expect("l")),
        (Some(Height(1)), Some(Height(10)))
    );
    assert_eq!(store.block(Height(4)).expect("get"), Some(blocks[3].clone()));
    assert_eq!(store.height_of(&blocks[6].id()).expect("id"), Some(Height(7)));
    assert_eq!(
        store.transaction(&Hash::digest(&8u64.to_le_bytes())).expect("tx"),
        Some((Height(8), 0))
    );
    assert_eq!(store.prune_below(Height(6)).expect("prune"), 5);
    assert_eq!(store.earliest().expect("e"), Some(Height(6)));
    assert_eq!(store.block(Height(3)).expect("get"), None);
    assert_eq!(store.height_of(&blocks[2].id()).expect("id"), None);
    assert_eq!(store.transaction(&Hash::digest(&3u64.to_le_bytes())).expect("tx"), None);
    assert_eq!(store.block(Height(6)).expect("get"), Some(blocks[5].clone()));
}

fn cert(block: &Block) -> CommitCertificate {
    CommitCertificate {
        height: block.header.height,
        round: 0,
        block_id: block.id(),
        signatures: vec![],
    }
}

/// [S] finding 1: with more small transactions pending than a block may hold, selection
/// built a block every validator refused (`validate_basic`'s count limit), round after round.
#[test]
fn block_building_refuses_more_transactions_than_a_block_may_hold() {
    let senders = 40u8;
    let g = genesis(senders);
    let state = ConsensusState::new(Mkvs::new(MemoryNodeDb::new()));
    state.init_genesis(&g).expect("genesis");
    let tree = state.tree_at(Height(0)).expect("tree");
    let mut pool = Mempool::new(MempoolConfig::default());
    let per_sender = 60u64;
    for from in 0..senders {
        for nonce in 0..per_sender {
            pool.insert(&tree, transfer(&g, from, nonce, 1)).expect("admitted");
        }
    }
    let limits = BlockLimits { max_txs: 2_000, ..BlockLimits::with_gas(u64::MAX) };
    assert!(pool.len() > limits.max_txs);
    let chain = g.chain_context();
    let selected = pool.select(&limits);
    assert_eq!(selected.len(), limits.max_txs);
    // The protocol's own limits: the selection of a full pool passes validate_basic.
    let full = pool.select(&BlockLimits::with_gas(u64::MAX));
    assert!(full.len() <= atoll_engine::block::MAX_BLOCK_TXS);
    assert_eq!(block(&chain, 1, None, full).validate_basic(&chain), Ok(()));
}

/// [S] finding 16: a refused copy of a committed transaction took over its index entry, and
/// pruning an old block removed the entry of a newer inclusion.
#[test]
fn block_store_index_refuses_to_follow_a_refused_copy_or_lose_a_newer_inclusion() {
    use atoll_consensus::{BlockResults, TxError, TxResult};
    let dir = tempfile::tempdir().expect("tempdir");
    let store = BlockStore::open(&dir.path().join("blocks.redb")).expect("open");
    let chain = ChainContext::from_genesis_document(b"index");
    let tx = b"a transaction".to_vec();
    let hash = Hash::digest(&tx);
    let refused = TxResult {
        hash,
        error: Some(TxError { module: "core".into(), code: 4, message: "nonce".into() }),
        gas_used: 0,
    };
    let executed = TxResult { hash, error: None, gas_used: 1_000 };
    let results = |r: &TxResult| BlockResults { results: vec![r.clone()], events: vec![] };

    // Height 1 refuses it (a byzantine proposer's early copy), height 2 executes it,
    // height 3 carries a refused copy again.
    let b1 = block(&chain, 1, None, vec![tx.clone()]);
    let b2 = block(&chain, 2, Some(&b1), vec![vec![0], tx.clone()]);
    let b3 = block(&chain, 3, Some(&b2), vec![tx.clone()]);
    store.put(&b1, &cert(&b1)).expect("put");
    store.put_results(Height(1), 0, &results(&refused)).expect("results");
    store.put(&b2, &cert(&b2)).expect("put");
    let two = BlockResults { results: vec![refused.clone(), executed.clone()], events: vec![] };
    store.put_results(Height(2), 0, &two).expect("results");
    store.put(&b3, &cert(&b3)).expect("put");
    store.put_results(Height(3), 0, &results(&refused)).expect("results");
    assert_eq!(store.transaction(&hash).expect("tx"), Some((Height(2), 1)));

    // Pruning heights 1 and 2 removes the mapping to 2 only.
    store.prune_below(Height(2)).expect("prune");
    assert_eq!(store.transaction(&hash).expect("tx"), Some((Height(2), 1)));
    store.prune_below(Height(3)).expect("prune");
    assert_eq!(store.transaction(&hash).expect("tx"), None);
}

/// [S] finding 16: results are written after the state commits; a crash in between lost the
/// latest block's results for good. The chain now re-derives them when it opens.
#[test]
fn results_lost_in_a_crash_are_refused_to_stay_lost() {
    use atoll_engine::bft::chain::{Chain, Pruning};
    use atoll_mkvs::RedbNodeDb;
    use std::sync::{Arc, Mutex};

    let dir = tempfile::tempdir().expect("tempdir");
    let g = genesis(2);
    let open = || {
        let db = RedbNodeDb::open(&dir.path().join("state.redb")).expect("db");
        let state = ConsensusState::new(Mkvs::new(db));
        if state.latest().expect("latest").is_none() {
            state.init_genesis(&g).expect("genesis");
        }
        Chain::open(
            g.chain_context(),
            1,
            Arc::new(state),
            Arc::new(BlockStore::open(&dir.path().join("blocks.redb")).expect("store")),
            Arc::new(Mutex::new(Mempool::new(MempoolConfig::default()))),
            Pruning::KEEP_ALL,
        )
        .expect("chain")
    };
    let chain = g.chain_context();
    let mut first = block(&chain, 1, None, vec![transfer(&g, 0, 0, 1), transfer(&g, 1, 0, 1)]);
    first.header.app_hash = Hash::ZERO;
    let expected = {
        let node = open();
        node.commit(&first, &cert(&first)).expect("commit").results()
    };
    // The crash: the state holds height 1, its results were never written.
    {
        let db = redb::Database::open(dir.path().join("blocks.redb")).expect("open");
        let txn = db.begin_write().expect("write");
        {
            let table: redb::TableDefinition<'_, u64, &[u8]> =
                redb::TableDefinition::new("results");
            txn.open_table(table).expect("table").remove(1).expect("remove");
        }
        txn.commit().expect("commit");
    }
    let node = open();
    assert_eq!(node.last_height().expect("height"), 1);
    assert_eq!(node.store().results(Height(1)).expect("results"), Some(expected));
}

/// [S] finding 6: fees were checked per transaction, so one funded key held many slots it
/// could never pay for together.
#[test]
fn mempool_refuses_pending_fees_beyond_the_senders_balance() {
    let g = genesis(2);
    let state = ConsensusState::new(Mkvs::new(MemoryNodeDb::new()));
    state.init_genesis(&g).expect("genesis");
    let tree = state.tree_at(Height(0)).expect("tree");
    let mut pool = Mempool::new(MempoolConfig::default());
    // 1,000,000 of balance; each costs 300,000 in fees.
    for nonce in 0..3 {
        pool.insert(&tree, transfer(&g, 0, nonce, 30)).expect("payable");
    }
    let fourth = pool.insert(&tree, transfer(&g, 0, 3, 30)).expect_err("not payable");
    assert!(matches!(fourth, MempoolError::SenderCannotPay));
    assert_eq!(fourth.tx_error().code, 6);
    // Replacing a pending one counts only the new fee.
    pool.insert(&tree, transfer(&g, 0, 2, 31)).expect("replacement fits");
    assert!(matches!(
        pool.insert(&tree, transfer(&g, 0, 2, 50)),
        Err(MempoolError::SenderCannotPay)
    ));
    assert_eq!(pool.len(), 3);
}

/// [S] finding 6: a transaction behind a nonce gap was kept for ever, holding its slot.
#[test]
fn mempool_refuses_to_keep_gapped_nonces_for_ever() {
    let g = genesis(2);
    let state = ConsensusState::new(Mkvs::new(MemoryNodeDb::new()));
    state.init_genesis(&g).expect("genesis");
    let mut pool = Mempool::new(MempoolConfig { gap_ttl_blocks: 3, ..MempoolConfig::default() });
    let tree = state.tree_at(Height(0)).expect("tree");
    pool.insert(&tree, transfer(&g, 0, 0, 1)).expect("executable");
    pool.insert(&tree, transfer(&g, 1, 2, 1)).expect("gapped");
    drop(tree);
    for height in 1..=3u64 {
        let ctx = atoll_consensus::BlockContext { height: Height(height), ..Default::default() };
        state.apply(&ctx, &[]).expect("block");
        let tree = state.tree_at(Height(height)).expect("tree");
        assert_eq!(pool.recheck(&tree, height).expect("recheck"), 0, "kept at height {height}");
    }
    let ctx = atoll_consensus::BlockContext { height: Height(4), ..Default::default() };
    state.apply(&ctx, &[]).expect("block");
    let tree = state.tree_at(Height(4)).expect("tree");
    assert_eq!(pool.recheck(&tree, 4).expect("recheck"), 1, "the gapped one expired");
    assert_eq!(pool.select(&unlimited()), vec![transfer(&g, 0, 0, 1)]);
}

/// [S] finding 3: deciding looked a proposal up by decoding every stored proposal of the
/// height (any key's 16 MiB streams). Lookups by id now read keys and decode one value: a
/// corrupt neighbour is never touched.
#[test]
fn undecided_lookup_refuses_to_decode_other_proposals() {
    use atoll_engine::store::UndecidedProposal;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("blocks.redb");
    let chain = ChainContext::from_genesis_document(b"undecided");
    let good = block(&chain, 1, None, vec![vec![1]]);
    let other = block(&chain, 1, None, vec![vec![2]]);
    {
        let store = BlockStore::open(&path).expect("open");
        for (round, b) in [(0u32, &good), (1, &other)] {
            let proposal =
                UndecidedProposal { round, valid_round: -1, block: b.clone(), valid: true };
            store.put_undecided(Height(1), &proposal).expect("put");
        }
        assert_eq!(store.undecided_ids(Height(1), 1).expect("ids"), vec![other.id()]);
    }
    // Corrupt the other proposal's stored bytes behind the store's back.
    {
        let db = redb::Database::open(&path).expect("db");
        let txn = db.begin_write().expect("write");
        {
            let table: redb::TableDefinition<'_, (u64, u32, &[u8]), &[u8]> =
                redb::TableDefinition::new("undecided");
            let mut table = txn.open_table(table).expect("table");
            table
                .insert((1u64, 1u32, other.id().as_bytes().as_slice()), [0xffu8; 7].as_slice())
                .expect("corrupt");
        }
        txn.commit().expect("commit");
    }
    let store = BlockStore::open(&path).expect("reopen");
    let found = store.undecided_block(Height(1), &good.id()).expect("lookup by id");
    assert_eq!(found.map(|p| p.block), Some(good));
    assert!(store.undecided_block(Height(1), &other.id()).is_err(), "the corrupt one is reported");
}

/// The round index: each block's roothash events grouped by round with the block's time,
/// read back per round and as the latest rounds, and pruned with the blocks.
#[test]
fn block_store_indexes_paratime_rounds_and_prunes_them_with_their_blocks() {
    use atoll_consensus::roothash::RoothashEvent;
    use atoll_consensus::{BlockResults, Event, EventRecord};
    use atoll_types::{PublicKey, Round, RuntimeId};
    let dir = tempfile::tempdir().expect("tempdir");
    let store = BlockStore::open(&dir.path().join("blocks.redb")).expect("open");
    let chain = ChainContext::from_genesis_document(b"rounds");
    let runtime = RuntimeId::from_bytes([7; 32]);
    let other = RuntimeId::from_bytes([8; 32]);
    let committed = |runtime, round| EventRecord {
        tx_index: Some(0),
        event: Event::Roothash(RoothashEvent::ExecutorCommitted {
            runtime,
            round: Round(round),
            node: PublicKey::from_bytes([1; 32]),
            scheduler: PublicKey::from_bytes([2; 32]),
            failure: false,
        }),
    };
    let failed = |round| EventRecord {
        tx_index: None,
        event: Event::Roothash(RoothashEvent::RoundFailed { runtime, round: Round(round) }),
    };
    // Round 1 spans heights 1 and 2, round 2 heights 2 and 3; the other runtime's round 1
    // is at height 3.
    let events = [
        vec![committed(runtime, 1)],
        vec![failed(1), committed(runtime, 2)],
        vec![committed(runtime, 2), committed(other, 1)],
    ];
    let mut previous: Option<atoll_engine::Block> = None;
    for (i, events) in events.into_iter().enumerate() {
        let height = i as u64 + 1;
        let b = block(&chain, height, previous.as_ref(), vec![]);
        store.put(&b, &cert(&b)).expect("put");
        let results = BlockResults { results: vec![], events };
        store.put_results(Height(height), 100 + height, &results).expect("results");
        previous = Some(b);
    }
    let one = store.round_history(&runtime, Round(1)).expect("history");
    assert_eq!(one.iter().map(|(h, e)| (h.0, e.time)).collect::<Vec<_>>(), [(1, 101), (2, 102)]);
    assert!(matches!(one[1].1.events[..], [RoothashEvent::RoundFailed { .. }]));
    let recent = store.recent_rounds(&runtime, None, 10).expect("recent");
    assert_eq!(recent.iter().map(|(r, h)| (r.0, h.len())).collect::<Vec<_>>(), [(2, 2), (1, 2)]);
    assert_eq!(recent[0].1[0].0, Height(2), "oldest first within a round");
    assert_eq!(store.recent_rounds(&runtime, None, 1).expect("recent").len(), 1);
    let below = store.recent_rounds(&runtime, Some(Round(2)), 10).expect("recent");
    assert_eq!(below.iter().map(|(r, _)| r.0).collect::<Vec<_>>(), [1]);
    assert_eq!(store.round_history(&other, Round(1)).expect("history").len(), 1);
    assert!(store.round_history(&runtime, Round(3)).expect("history").is_empty());

    store.prune_below(Height(3)).expect("prune");
    assert!(store.round_history(&runtime, Round(1)).expect("history").is_empty());
    let two = store.round_history(&runtime, Round(2)).expect("history");
    assert_eq!(two.iter().map(|(h, _)| h.0).collect::<Vec<_>>(), [3]);
}

/// The sender index: every included transaction under its signer, newest first, paged by
/// (height, index), pruned with its block; bytes that are no transaction index nothing.
#[test]
fn block_store_indexes_transactions_by_sender() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = BlockStore::open(&dir.path().join("blocks.redb")).expect("open");
    let g = genesis(2);
    let chain = g.chain_context();
    let (a, b) = (transfer(&g, 0, 0, 1), transfer(&g, 1, 0, 1));
    let b1 = block(&chain, 1, None, vec![a.clone(), b.clone()]);
    let b2 =
        block(&chain, 2, Some(&b1), vec![b"not a transaction".to_vec(), transfer(&g, 0, 1, 1)]);
    store.put(&b1, &cert(&b1)).expect("put");
    store.put(&b2, &cert(&b2)).expect("put");
    let zero = Address::from_public_key(&key(0).public_key());
    let sent = store.sent_by(&zero, None, 10).expect("sent");
    assert_eq!(sent.iter().map(|(h, i, _)| (h.0, *i)).collect::<Vec<_>>(), [(2, 1), (1, 0)]);
    assert_eq!(sent[1].2, Hash::digest(&a));
    let page = store.sent_by(&zero, Some((Height(2), 1)), 10).expect("page");
    assert_eq!(page.iter().map(|(h, i, _)| (h.0, *i)).collect::<Vec<_>>(), [(1, 0)]);
    assert_eq!(store.sent_by(&zero, None, 1).expect("one").len(), 1);
    let one = Address::from_public_key(&key(1).public_key());
    assert_eq!(store.sent_by(&one, None, 10).expect("sent").len(), 1);
    store.prune_below(Height(2)).expect("prune");
    assert_eq!(store.sent_by(&zero, None, 10).expect("sent").len(), 1);
    assert!(store.sent_by(&one, None, 10).expect("sent").is_empty());
}
