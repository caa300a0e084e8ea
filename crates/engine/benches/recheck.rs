//! The mempool re-check after a block: every pending sender's account read (the full
//! re-check) against only the accounts the block touched, with 20,000 pending transfers
//! from 5,000 senders and a block that touched 500 of them. The pool is locked for the
//! whole re-check, so this is time admissions and block building wait.
//!
//! Run: `cargo bench -p atoll-engine --bench recheck`.

use std::collections::BTreeSet;

use atoll_consensus::staking::methods::{self, Transfer};
use atoll_consensus::{ConsensusState, Fee, Genesis, Transaction};
use atoll_crypto::MemorySigner;
use atoll_engine::{Mempool, MempoolConfig};
use atoll_mkvs::{MemoryNodeDb, Mkvs};
use atoll_types::{encode, Address, Amount, Height, Signed, Signer};
use criterion::{criterion_group, criterion_main, Criterion};

const SENDERS: usize = 5_000;
const PER_SENDER: u64 = 4;
const TOUCHED: usize = 500;

fn bench(c: &mut Criterion) {
    let keys: Vec<MemorySigner> = (0..SENDERS)
        .map(|i| {
            let mut seed = [7u8; 32];
            seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
            MemorySigner::from_seed(seed)
        })
        .collect();
    let addresses: Vec<Address> =
        keys.iter().map(|k| Address::from_public_key(&k.public_key())).collect();
    let genesis = Genesis::funded(
        "atoll-recheck-bench",
        addresses.iter().copied(),
        Amount::new(1_000_000_000),
    );
    let state = ConsensusState::new(Mkvs::new(MemoryNodeDb::new()));
    state.init_genesis(&genesis).expect("genesis");
    let tree = state.tree_at(Height(0)).expect("tree");
    let chain = genesis.chain_context();
    let mut pool = Mempool::new(MempoolConfig::default());
    for (i, key) in keys.iter().enumerate() {
        let to = addresses[(i + 1) % SENDERS];
        for nonce in 0..PER_SENDER {
            let fee = Fee { amount: Amount::new(10_000), gas: 10_000 };
            let body = Transfer { to, amount: Amount::new(1) };
            let tx = Transaction::new(nonce, fee, methods::TRANSFER, &body);
            pool.insert(&tree, encode(&Signed::sign(key, &chain, &tx))).expect("admitted");
        }
    }
    let touched: BTreeSet<Address> = addresses.iter().take(TOUCHED).copied().collect();
    let mut group = c.benchmark_group("mempool recheck (20,000 txs, 5,000 senders)");
    group.bench_function("every sender", |b| b.iter(|| pool.recheck(&tree, 1).expect("recheck")));
    group.bench_function("the 500 a block touched", |b| {
        b.iter(|| pool.recheck_touched(&tree, 1, &touched).expect("recheck"))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
