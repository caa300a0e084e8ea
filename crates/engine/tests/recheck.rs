//! The mempool's re-check of only the accounts a block touched keeps exactly what a full
//! re-check of every pending sender keeps (the oracle), block after block: nonces used,
//! fees no longer covered, transactions aged past the gap lifetime.

mod common;

use atoll_consensus::{BlockContext, ConsensusState};
use atoll_engine::mempool::touched_accounts;
use atoll_engine::{BlockLimits, Mempool, MempoolConfig};
use atoll_mkvs::{MemoryNodeDb, Mkvs};
use atoll_types::Height;
use common::{genesis, transfer};
use proptest::prelude::*;

const SENDERS: u8 = 4;

fn pool() -> Mempool {
    Mempool::new(MempoolConfig { gap_ttl_blocks: 2, ..MempoolConfig::default() })
}

fn everything() -> BlockLimits {
    BlockLimits { max_txs: usize::MAX, max_bytes: usize::MAX, max_gas: u64::MAX }
}

/// (sender, nonce, price): prices up to 40 make a sender's fees exceed its balance.
fn txs() -> impl Strategy<Value = Vec<(u8, u64, u128)>> {
    proptest::collection::vec((0..SENDERS, 0u64..6, 1u128..40), 0..24)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn touched_recheck_keeps_what_a_full_recheck_keeps(
        admitted in txs(),
        blocks in proptest::collection::vec(proptest::collection::vec(any::<prop::sample::Index>(), 0..6), 1..5),
        late in txs(),
    ) {
        let g = genesis(SENDERS);
        let state = ConsensusState::new(Mkvs::new(MemoryNodeDb::new()));
        state.init_genesis(&g).expect("genesis");
        let (mut full, mut touched) = (pool(), pool());
        let raws: Vec<Vec<u8>> = admitted.iter().map(|&(s, n, p)| transfer(&g, s, n, p)).collect();
        {
            let tree = state.tree_at(Height(0)).expect("tree");
            for raw in &raws {
                let a = full.insert(&tree, raw.clone()).map_err(|e| e.to_string());
                let b = touched.insert(&tree, raw.clone()).map_err(|e| e.to_string());
                prop_assert_eq!(a, b);
            }
        }
        for (i, picks) in blocks.iter().enumerate() {
            let height = i as u64 + 1;
            // A block of some admitted transactions (the state machine refuses what no
            // longer executes), then one fresh transaction admitted between blocks.
            let included: Vec<Vec<u8>> = picks
                .iter()
                .filter(|_| !raws.is_empty())
                .map(|p| raws[p.index(raws.len())].clone())
                .collect();
            let ctx = BlockContext { height: Height(height), ..Default::default() };
            let (_, outcome) = state.apply(&ctx, &included).expect("block");
            let tree = state.tree_at(Height(height)).expect("tree");
            let dropped_full = full.recheck(&tree, height).expect("full");
            let changed = touched_accounts(&included, &outcome.events);
            let dropped_touched = touched.recheck_touched(&tree, height, &changed).expect("touched");
            prop_assert_eq!(dropped_full, dropped_touched, "dropped at height {}", height);
            prop_assert_eq!(full.select(&everything()), touched.select(&everything()));
            if let Some(&(s, n, p)) = late.get(i) {
                let raw = transfer(&g, s, n, p);
                let a = full.insert(&tree, raw.clone()).map_err(|e| e.to_string());
                let b = touched.insert(&tree, raw).map_err(|e| e.to_string());
                prop_assert_eq!(a, b);
            }
        }
    }
}
