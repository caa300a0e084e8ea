//! The state machine's ceiling: signed transfers applied per second (batch signature
//! verification included) over 100,000 funded accounts on the redb-backed MKVS, one
//! commit per block, blocks of 1,000 and 10,000 transfers; and the same blocks on a node
//! whose mempool admitted (and so verified) every transaction before, which block
//! application does not verify again.
//!
//! Run: `cargo bench -p atoll-consensus --bench transfers`.

use std::time::{Duration, Instant};

use atoll_consensus::staking::methods::{self, Transfer};
use atoll_consensus::{
    apply_block_verified, BlockContext, ConsensusState, Fee, Genesis, Transaction,
};
use atoll_crypto::MemorySigner;
use atoll_mkvs::{Mkvs, RedbNodeDb, RootKind, CONSENSUS_NAMESPACE};
use atoll_types::{encode, Address, Amount, ChainContext, Height, Signed, Signer};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const ACCOUNTS: usize = 100_000;

struct Bench {
    state: ConsensusState<RedbNodeDb>,
    keys: Vec<MemorySigner>,
    addresses: Vec<Address>,
    nonces: Vec<u64>,
    chain: ChainContext,
    height: u64,
    next_sender: usize,
    apply_time: Duration,
    commit_time: Duration,
    blocks: u64,
}

impl Bench {
    fn new(dir: &std::path::Path) -> Self {
        let keys: Vec<MemorySigner> = (0..ACCOUNTS)
            .map(|i| {
                let mut seed = [0u8; 32];
                seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
                MemorySigner::from_seed(seed)
            })
            .collect();
        let addresses: Vec<Address> =
            keys.iter().map(|k| Address::from_public_key(&k.public_key())).collect();
        let mut genesis =
            Genesis::funded("atoll-bench", addresses.iter().copied(), Amount::new(1_000_000_000));
        genesis.consensus.max_block_gas = u64::MAX;
        let state = ConsensusState::new(Mkvs::new(
            RedbNodeDb::open(&dir.join("state.redb")).expect("open"),
        ));
        state.init_genesis(&genesis).expect("genesis");
        Self {
            state,
            keys,
            addresses,
            nonces: vec![0; ACCOUNTS],
            chain: genesis.chain_context(),
            height: 0,
            next_sender: 0,
            apply_time: Duration::ZERO,
            commit_time: Duration::ZERO,
            blocks: 0,
        }
    }

    /// `n` signed transfers from distinct senders to other accounts.
    fn transfers(&mut self, n: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map(|_| {
                let from = self.next_sender;
                self.next_sender = (self.next_sender + 1) % ACCOUNTS;
                let to = self.addresses[(from * 7919 + 13) % ACCOUNTS];
                let tx = Transaction::new(
                    self.nonces[from],
                    Fee { amount: Amount::new(1), gas: 10_000 },
                    methods::TRANSFER,
                    &Transfer { to, amount: Amount::new(100) },
                );
                self.nonces[from] += 1;
                encode(&Signed::sign(&self.keys[from], &self.chain, &tx))
            })
            .collect()
    }

    fn apply(&mut self, txs: &[Vec<u8>], admitted: bool) -> Duration {
        self.height += 1;
        let ctx = BlockContext { height: Height(self.height), ..BlockContext::default() };
        let latest = self.state.latest().expect("root").expect("root");
        let started = Instant::now();
        let tree = self.state.store().tree(&latest).expect("tree");
        let outcome = apply_block_verified(&tree, &ctx, txs, &|_| admitted).expect("apply");
        drop(tree);
        let applied = Instant::now();
        self.state
            .store()
            .commit(
                CONSENSUS_NAMESPACE,
                RootKind::State,
                Some(latest.version),
                self.height,
                &outcome.write_log,
            )
            .expect("commit");
        let done = Instant::now();
        assert!(outcome.results.iter().all(|r| r.error.is_none()), "every transfer succeeds");
        self.apply_time += applied - started;
        self.commit_time += done - applied;
        self.blocks += 1;
        done - started
    }
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    let mut b = Bench::new(dir.path());
    println!("genesis with {ACCOUNTS} accounts in {:.1?}", started.elapsed());
    let mut group = c.benchmark_group("signed_transfers");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    for (block_size, admitted) in [(1_000usize, false), (10_000, false), (10_000, true)] {
        b.apply_time = Duration::ZERO;
        b.commit_time = Duration::ZERO;
        b.blocks = 0;
        group.throughput(Throughput::Elements(block_size as u64));
        let name = if admitted { "block, verified at admission" } else { "block" };
        group.bench_function(BenchmarkId::new(name, block_size), |bencher| {
            bencher.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let txs = b.transfers(block_size);
                    total += b.apply(&txs, admitted);
                }
                total
            })
        });
        println!(
            "{name} of {block_size}: apply {:.1?}/block, commit {:.1?}/block over {} blocks",
            b.apply_time / b.blocks.max(1) as u32,
            b.commit_time / b.blocks.max(1) as u32,
            b.blocks
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
