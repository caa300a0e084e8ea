//! Mempool, commit certificates, block validation and the block store.

mod common;

use atoll_consensus::staking::methods::{self, Transfer};
use atoll_consensus::staking::Account;
use atoll_consensus::{
    ConsensusParameters, ConsensusState, Fee, Genesis, StakingGenesis, TokenInfo, Transaction,
};
use atoll_crypto::MemorySigner;
use atoll_engine::block::commit_and_evidence_hash;
use atoll_engine::merkle::transactions_root;
use atoll_engine::{
    Block, BlockError, BlockHeader, BlockStore, CertificateError, CommitCertificate,
    CommitSignature, Mempool, MempoolConfig, MempoolError,
};
use atoll_mkvs::{MemoryNodeDb, Mkvs};
use atoll_types::{encode, Address, Amount, ChainContext, Epoch, Hash, Height, Signed, Signer};
use common::validators;

fn key(i: u8) -> MemorySigner {
    MemorySigner::from_seed([i + 1; 32])
}

fn genesis(accounts: u8) -> Genesis {
    let mut staking = StakingGenesis::default();
    for i in 0..accounts {
        let mut account = Account::default();
        account.general.balance = Amount::new(1_000_000);
        staking.accounts.insert(Address::from_public_key(&key(i).public_key()), account);
    }
    staking.total_supply = Amount::new(1_000_000 * u128::from(accounts));
    Genesis {
        chain_id: "engine-test".into(),
        genesis_time: 0,
        initial_height: 1,
        token: TokenInfo { symbol: "ATL".into(), exponent: 9 },
        consensus: ConsensusParameters::default(),
        staking,
        beacon: Default::default(),
        registry: Default::default(),
        scheduler: Default::default(),
        governance: Default::default(),
        roothash: Default::default(),
    }
}

fn transfer(g: &Genesis, from: u8, nonce: u64, price: u128) -> Vec<u8> {
    let to = Address::from_public_key(&key(200).public_key());
    let fee = Fee { amount: Amount::new(price * 10_000), gas: 10_000 };
    let tx =
        Transaction::new(nonce, fee, methods::TRANSFER, &Transfer { to, amount: Amount::new(1) });
    encode(&Signed::sign(&key(from), &g.chain_context(), &tx))
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
    assert_eq!(
        pool.select(u64::MAX, usize::MAX),
        vec![b0.clone(), a0.clone(), a1.clone(), c0.clone()]
    );
    // The gas limit cuts the block: two transactions of 10,000 gas.
    assert_eq!(pool.select(20_000, usize::MAX), vec![b0.clone(), a0.clone()]);

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
    assert_eq!(pool.recheck(&tree).expect("recheck"), 1);
    assert_eq!(pool.select(u64::MAX, usize::MAX), vec![t1]);
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

fn block(chain: &ChainContext, height: u64, previous: Option<&Block>, txs: Vec<Vec<u8>>) -> Block {
    let header = BlockHeader {
        chain_context: *chain,
        height: Height(height),
        time: 1_700_000_000 + height,
        previous_block_id: previous.map_or(Hash::ZERO, Block::id),
        app_hash: Hash::digest(&height.to_le_bytes()),
        transactions_root: transactions_root(&txs),
        proposer: key(0).public_key(),
        epoch: Epoch(0),
        commit_and_evidence_hash: Hash::ZERO,
    };
    let last_commit = previous.map(|p| CommitCertificate {
        height: p.header.height,
        round: 0,
        block_id: p.id(),
        signatures: vec![],
    });
    let mut block = Block { header, transactions: txs, last_commit, evidence: vec![] };
    block.header.commit_and_evidence_hash =
        commit_and_evidence_hash(&block.last_commit, &block.evidence);
    block
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
