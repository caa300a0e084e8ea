//! Property: whatever the pool holds, block selection stays within every block limit and
//! keeps each sender's nonces consecutive from its account nonce (the oracle: a block the
//! state machine would execute in full).

mod common;

use std::collections::BTreeMap;

use atoll_consensus::staking::methods::{self, Transfer};
use atoll_consensus::{ConsensusState, Fee, Genesis, SignedTransaction, Transaction};
use atoll_engine::block::commit_and_evidence_hash;
use atoll_engine::merkle::transactions_root;
use atoll_engine::{Block, BlockHeader, BlockLimits, Mempool, MempoolConfig};
use atoll_mkvs::{MemoryNodeDb, Mkvs};
use atoll_types::{decode, encode, Address, Amount, Epoch, Hash, Height, Signed, Signer};
use common::{genesis, key};
use proptest::prelude::*;

const SENDERS: u8 = 6;

/// One pending transaction: sender, nonce, gas price, gas limit.
fn tx(g: &Genesis, (from, nonce, price, gas): (u8, u64, u128, u64)) -> Vec<u8> {
    let to = Address::from_public_key(&key(100).public_key());
    let fee = Fee { amount: Amount::new(price * u128::from(gas)), gas };
    let tx =
        Transaction::new(nonce, fee, methods::TRANSFER, &Transfer { to, amount: Amount::new(1) });
    encode(&Signed::sign(&key(from), &g.chain_context(), &tx))
}

fn block_of(g: &Genesis, txs: Vec<Vec<u8>>) -> Block {
    let header = BlockHeader {
        chain_context: g.chain_context(),
        height: Height(1),
        time: 0,
        previous_block_id: Hash::ZERO,
        app_hash: Hash::ZERO,
        transactions_root: transactions_root(&txs),
        proposer: key(0).public_key(),
        epoch: Epoch(0),
        commit_and_evidence_hash: commit_and_evidence_hash(&None, &[]),
    };
    Block { header, transactions: txs, last_commit: None, evidence: vec![] }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn selection_always_passes_block_validation(
        pending in prop::collection::vec(
            (0..SENDERS, 0u64..6, 1u128..5, 2_000u64..6_000), 0..40),
        max_txs in 0usize..12,
        max_bytes in 0usize..3_000,
        max_gas in 0u64..40_000,
    ) {
        let g = genesis(SENDERS);
        let state = ConsensusState::new(Mkvs::new(MemoryNodeDb::new()));
        state.init_genesis(&g).expect("genesis");
        let tree = state.tree_at(Height(0)).expect("tree");
        let mut pool = Mempool::new(MempoolConfig::default());
        for p in pending {
            let _ = pool.insert(&tree, tx(&g, p));
        }
        let limits = BlockLimits { max_txs, max_bytes, max_gas };
        let selected = pool.select(&limits);

        prop_assert!(selected.len() <= max_txs);
        prop_assert!(selected.iter().map(Vec::len).sum::<usize>() <= max_bytes);
        let mut gas = 0u64;
        let mut next_nonce: BTreeMap<Address, u64> = BTreeMap::new();
        for raw in &selected {
            let signed: SignedTransaction = decode(raw, usize::MAX).expect("decodes");
            let body = signed.open(&g.chain_context()).expect("signed");
            gas += body.fee.gas;
            let sender = Address::from_public_key(signed.signer());
            let expected = next_nonce.entry(sender).or_insert(0);
            prop_assert_eq!(body.nonce, *expected, "nonces consecutive from the account's");
            *expected += 1;
        }
        prop_assert!(gas <= max_gas);
        // Every rule validate_basic applies holds at the protocol's own limits too.
        let full = pool.select(&BlockLimits::with_gas(u64::MAX));
        prop_assert_eq!(block_of(&g, full).validate_basic(&g.chain_context()), Ok(()));
    }
}
