//! Checkpoints on a running chain: made every `checkpoint_interval` heights, pruned by
//! count, and their state versions kept even when state pruning would drop them (a node
//! state-syncing from one must find it).

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use atoll_consensus::ConsensusState;
use atoll_engine::bft::chain::{Chain, Pruning};
use atoll_engine::{Block, BlockStore, CommitCertificate, Mempool, MempoolConfig};
use atoll_mkvs::{Mkvs, RedbNodeDb};
use atoll_types::Height;
use common::{block_after, genesis};

fn next(chain: &Chain, previous: Option<&Block>) -> Block {
    let height = chain.next_height().expect("height");
    let app_hash = chain.app_hash().expect("app hash");
    block_after(&chain.chain_context(), height, previous, app_hash, vec![])
}

#[test]
fn checkpoints_are_made_pruned_by_count_and_keep_their_states_from_pruning() {
    let dir = tempfile::tempdir().expect("tempdir");
    let g = genesis(2);
    let db = RedbNodeDb::open(&dir.path().join("state.redb")).expect("db");
    let state = ConsensusState::new(Mkvs::new(db));
    state.init_genesis(&g).expect("genesis");
    let store = Arc::new(BlockStore::open(&dir.path().join("blocks.redb")).expect("store"));
    // The evidence window keeps 1,001 state versions; checkpoints every 100 heights, the
    // latest 12 kept, reach further back than that.
    let pruning = Pruning {
        keep_state_versions: 1,
        keep_blocks: 0,
        checkpoint_interval: 100,
        keep_checkpoints: 12,
    };
    let chain = Chain::open(
        g.chain_context(),
        1,
        Arc::new(state),
        Arc::clone(&store),
        Arc::new(Mutex::new(Mempool::new(MempoolConfig::default()))),
        pruning,
    )
    .expect("chain");
    let mut previous: Option<Block> = None;
    for _ in 0..1_312 {
        let block = next(&chain, previous.as_ref());
        let certificate = CommitCertificate {
            height: block.header.height,
            round: 0,
            block_id: block.id(),
            signatures: vec![],
        };
        chain.commit(&block, &certificate).expect("commit");
        previous = Some(block);
        // Checkpoints are made off the commit path; let each finish before the next.
        if chain.last_height().expect("height").is_multiple_of(100) {
            let at = Height(chain.last_height().expect("height"));
            let deadline = Instant::now() + Duration::from_secs(30);
            while store.checkpoint(at).expect("read").is_none() {
                assert!(Instant::now() < deadline, "no checkpoint at {at:?}");
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
    let heights: Vec<u64> =
        store.checkpoint_heights().expect("heights").iter().map(|h| h.0).collect();
    assert_eq!(heights, (2..=13).map(|k| k * 100).collect::<Vec<_>>(), "the latest 12");
    let versions = chain
        .state()
        .store()
        .versions(atoll_mkvs::CONSENSUS_NAMESPACE, atoll_mkvs::RootKind::State)
        .expect("versions");
    // The evidence window alone would keep from 1,312 − 1,001 + 1 = 312 (pruned at a
    // multiple of 16: 1,312 → from 312); the oldest checkpoint keeps from 200.
    assert_eq!(versions.first().copied(), Some(200), "state kept from the oldest checkpoint");
    let manifest = store.checkpoint(Height(200)).expect("read").expect("kept");
    let tree = chain.state().tree_at(Height(200)).expect("state 200");
    assert_eq!(manifest.root, *tree.root());
    assert!(store.checkpoint(Height(100)).expect("read").is_none(), "pruned by count");
}
