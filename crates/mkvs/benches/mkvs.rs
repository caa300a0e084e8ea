//! MKVS against jmt 0.12 on the same workload, the same storage engine (redb, one durable
//! write transaction per commit) and the same machine.
//!
//! Workload: 1,000,000 keys (32-byte hashes) with 64-byte values; batches of 1,000 and
//! 10,000 updates of random existing keys, each committed as a new version; point reads of
//! random keys; proof sizes and verification times at 1M keys.
//!
//! Run: `cargo bench -p atoll-mkvs --bench mkvs` (builds both 1M-key trees first, ~1 min).

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use atoll_mkvs::{
    verify_key, Mkvs, Proof, RedbNodeDb, Root, RootKind, WriteLog, WriteLogEntry,
    CONSENSUS_NAMESPACE,
};
use atoll_types::{encode, Hash};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use jmt::storage::{LeafNode, Node, NodeBatch, NodeKey, TreeReader, TreeWriter};
use jmt::{KeyHash, OwnedValue, Sha256Jmt, Version};
use redb::{Database, Durability, ReadableDatabase, TableDefinition};

const KEYS: u64 = 1_000_000;
const BUILD_CHUNK: u64 = 50_000;

fn key(i: u64) -> [u8; 32] {
    Hash::digest(&i.to_le_bytes()).into_bytes()
}

fn value(i: u64, version: u64) -> Vec<u8> {
    let mut v = vec![0u8; 64];
    v[..8].copy_from_slice(&i.to_le_bytes());
    v[8..16].copy_from_slice(&version.to_le_bytes());
    v
}

/// A small deterministic generator, so both stores get the same updates.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

// ---- Atoll MKVS ----

struct Atoll {
    store: Mkvs<RedbNodeDb>,
    root: Root,
}

impl Atoll {
    fn build(dir: &Path) -> Self {
        let store = Mkvs::new(RedbNodeDb::open(&dir.join("atoll.redb")).expect("open"));
        let mut root = None::<Root>;
        for chunk in 0..KEYS / BUILD_CHUNK {
            let log: WriteLog = (chunk * BUILD_CHUNK..(chunk + 1) * BUILD_CHUNK)
                .map(|i| WriteLogEntry { key: key(i).to_vec(), value: Some(value(i, 0)) })
                .collect();
            let base = root.map(|r| r.version);
            root = Some(
                store
                    .commit(CONSENSUS_NAMESPACE, RootKind::State, base, chunk + 1, &log)
                    .expect("commit"),
            );
        }
        Self { store, root: root.expect("built") }
    }

    fn commit(&mut self, updates: &[(u64, Vec<u8>)]) {
        let log: WriteLog = updates
            .iter()
            .map(|(i, v)| WriteLogEntry { key: key(*i).to_vec(), value: Some(v.clone()) })
            .collect();
        let version = self.root.version + 1;
        self.root = self
            .store
            .commit(CONSENSUS_NAMESPACE, RootKind::State, Some(self.root.version), version, &log)
            .expect("commit");
    }
}

// ---- jmt on redb ----

const JMT_NODES: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("jmt_nodes");
/// `key_hash || version` (big endian) → value; an empty slice with tag byte 0 is a deletion.
const JMT_VALUES: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("jmt_values");

struct JmtDb {
    db: Database,
}

impl TreeReader for JmtDb {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(JMT_NODES)?;
        let key = borsh::to_vec(node_key)?;
        Ok(match table.get(key.as_slice())? {
            Some(bytes) => Some(borsh::from_slice(bytes.value())?),
            None => None,
        })
    }

    fn get_value_option(
        &self,
        max_version: Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(JMT_VALUES)?;
        let mut lo = key_hash.0.to_vec();
        lo.extend_from_slice(&0u64.to_be_bytes());
        let mut hi = key_hash.0.to_vec();
        hi.extend_from_slice(&max_version.to_be_bytes());
        let mut range = table.range(lo.as_slice()..=hi.as_slice())?;
        Ok(match range.next_back() {
            Some(entry) => {
                let (_, bytes) = entry?;
                let bytes = bytes.value();
                (bytes.first() == Some(&1)).then(|| bytes[1..].to_vec())
            }
            None => None,
        })
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        // Only state restoration asks for this; the benchmark never restores.
        Ok(None)
    }
}

impl TreeWriter for JmtDb {
    fn write_node_batch(&self, batch: &NodeBatch) -> anyhow::Result<()> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        {
            let mut nodes = txn.open_table(JMT_NODES)?;
            for (node_key, node) in batch.nodes() {
                nodes
                    .insert(borsh::to_vec(node_key)?.as_slice(), borsh::to_vec(node)?.as_slice())?;
            }
            let mut values = txn.open_table(JMT_VALUES)?;
            for ((version, key_hash), value) in batch.values() {
                let mut k = key_hash.0.to_vec();
                k.extend_from_slice(&version.to_be_bytes());
                let v = match value {
                    Some(v) => [&[1u8][..], v].concat(),
                    None => vec![0u8],
                };
                values.insert(k.as_slice(), v.as_slice())?;
            }
        }
        txn.commit()?;
        Ok(())
    }
}

struct Jmt {
    db: JmtDb,
    version: Version,
}

impl Jmt {
    fn build(dir: &Path) -> Self {
        let db = Database::builder()
            .set_cache_size(256 << 20)
            .create(dir.join("jmt.redb"))
            .expect("open");
        let txn = db.begin_write().expect("txn");
        txn.open_table(JMT_NODES).expect("table");
        txn.open_table(JMT_VALUES).expect("table");
        txn.commit().expect("commit");
        let mut jmt = Self { db: JmtDb { db }, version: 0 };
        for chunk in 0..KEYS / BUILD_CHUNK {
            let updates: Vec<_> = (chunk * BUILD_CHUNK..(chunk + 1) * BUILD_CHUNK)
                .map(|i| (i, value(i, 0)))
                .collect();
            jmt.commit(&updates);
        }
        jmt
    }

    fn commit(&mut self, updates: &[(u64, Vec<u8>)]) {
        let tree = Sha256Jmt::new(&self.db);
        let set = updates.iter().map(|(i, v)| (KeyHash(key(*i)), Some(v.clone())));
        let (_, batch) = tree.put_value_set(set, self.version).expect("put");
        self.db.write_node_batch(&batch.node_batch).expect("write");
        self.version += 1;
    }

    fn latest(&self) -> Version {
        self.version - 1
    }
}

// ---- benchmarks ----

fn updates(rng: &mut Rng, n: usize, version: u64) -> Vec<(u64, Vec<u8>)> {
    (0..n)
        .map(|_| {
            let i = rng.next() % KEYS;
            (i, value(i, version))
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    let mut atoll = Atoll::build(dir.path());
    println!("built Atoll MKVS with {KEYS} keys in {:.1?}", started.elapsed());
    let started = Instant::now();
    let mut jmt = Jmt::build(dir.path());
    println!("built jmt with {KEYS} keys in {:.1?}", started.elapsed());

    let mut group = c.benchmark_group("commit_1M");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    for batch in [1_000usize, 10_000] {
        group.throughput(Throughput::Elements(batch as u64));
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        group.bench_function(BenchmarkId::new("atoll", batch), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let u = updates(&mut rng, batch, atoll.root.version + 1);
                    let t = Instant::now();
                    atoll.commit(&u);
                    total += t.elapsed();
                }
                total
            })
        });
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        group.bench_function(BenchmarkId::new("jmt", batch), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let u = updates(&mut rng, batch, jmt.version);
                    let t = Instant::now();
                    jmt.commit(&u);
                    total += t.elapsed();
                }
                total
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("get_1M");
    let mut rng = Rng(42);
    let tree = atoll.store.tree(&atoll.root).expect("tree");
    group.bench_function("atoll", |b| b.iter(|| tree.get(&key(rng.next() % KEYS)).expect("get")));
    let jmt_tree = Sha256Jmt::new(&jmt.db);
    let latest = jmt.latest();
    group.bench_function("jmt", |b| {
        b.iter(|| jmt_tree.get(KeyHash(key(rng.next() % KEYS)), latest).expect("get"))
    });
    group.finish();

    // Proofs: sizes over 1,000 random keys, then verification time.
    let mut rng = Rng(7);
    let sample: Vec<u64> = (0..1000).map(|_| rng.next() % KEYS).collect();
    let proofs: Vec<(Vec<u8>, Proof)> =
        sample.iter().map(|i| (key(*i).to_vec(), tree.prove(&key(*i)).expect("prove"))).collect();
    let sizes: Vec<usize> = proofs.iter().map(|(_, p)| encode(p).len()).collect();
    let absent: Vec<usize> = (0..1000u64)
        .map(|i| encode(&tree.prove(&key(KEYS + i)).expect("prove absent")).len())
        .collect();
    let range = tree.prove_range(&key(1), None, 100).expect("range");
    let jmt_sizes: Vec<usize> = sample
        .iter()
        .map(|i| {
            borsh::to_vec(&jmt_tree.get_with_proof(KeyHash(key(*i)), latest).expect("proof").1)
                .expect("encode")
                .len()
        })
        .collect();
    let stats =
        |v: &[usize]| (v.iter().sum::<usize>() / v.len(), *v.iter().max().expect("nonempty"));
    println!("atoll inclusion proof bytes (mean, max): {:?}", stats(&sizes));
    println!("atoll exclusion proof bytes (mean, max): {:?}", stats(&absent));
    println!("atoll range proof for 100 keys: {} bytes", encode(&range.proof).len());
    println!("jmt inclusion proof bytes (mean, max): {:?}", stats(&jmt_sizes));

    let mut group = c.benchmark_group("verify_1M");
    let mut n = 0usize;
    group.bench_function("atoll", |b| {
        b.iter(|| {
            n = (n + 1) % proofs.len();
            let (k, p) = &proofs[n];
            verify_key(black_box(&atoll.root.hash), k, p).expect("verify")
        })
    });
    let jmt_root = jmt_tree.get_root_hash(latest).expect("root");
    let jmt_proofs: Vec<_> = sample
        .iter()
        .map(|i| {
            let (v, p) = jmt_tree.get_with_proof(KeyHash(key(*i)), latest).expect("proof");
            (KeyHash(key(*i)), v, p)
        })
        .collect();
    group.bench_function("jmt", |b| {
        b.iter(|| {
            n = (n + 1) % jmt_proofs.len();
            let (k, v, p) = &jmt_proofs[n];
            p.verify(black_box(jmt_root), *k, v.as_ref()).expect("verify")
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
