//! Store behaviour: limits, version rules, pruning, corruption, the deepest possible trie,
//! and the redb backend across reopen.

mod common;

use atoll_mkvs::{
    verify_key, MemoryNodeDb, Mkvs, MkvsError, NodeDb, RedbNodeDb, RootKind, WriteLog,
    WriteLogEntry, CONSENSUS_NAMESPACE, MAX_DEPTH, MAX_KEY_LEN, MAX_VALUE_LEN,
};
use atoll_types::RuntimeId;
use common::{contents, inserts, Oracle};

const NS: RuntimeId = CONSENSUS_NAMESPACE;
const STATE: RootKind = RootKind::State;

fn set(key: &[u8], value: &[u8]) -> WriteLogEntry {
    WriteLogEntry { key: key.to_vec(), value: Some(value.to_vec()) }
}

/// Deterministic pseudo-random updates for version `v`.
fn updates(v: u64, n: usize) -> WriteLog {
    (0..n as u64)
        .map(|i| {
            let x = (v * 7919 + i * 104_729) % 5000;
            if (v + i).is_multiple_of(5) {
                WriteLogEntry { key: x.to_be_bytes().to_vec(), value: None }
            } else {
                set(&x.to_be_bytes(), &(v * 1000 + i).to_le_bytes())
            }
        })
        .collect()
}

fn apply(map: &mut Oracle, log: &WriteLog) {
    for e in log {
        match &e.value {
            Some(v) => map.insert(e.key.clone(), v.clone()),
            None => map.remove(&e.key),
        };
    }
}

#[test]
fn oversized_keys_and_values_are_refused_and_change_nothing() {
    let store = Mkvs::new(MemoryNodeDb::new());
    let root = store.commit(NS, STATE, None, 1, &vec![set(b"a", b"1")]).expect("commit");
    let big_key = vec![set(&vec![0; MAX_KEY_LEN + 1], b"v")];
    assert!(matches!(
        store.commit(NS, STATE, Some(1), 2, &big_key),
        Err(MkvsError::KeyTooLarge { .. })
    ));
    let big_value = vec![set(b"k", &vec![0; MAX_VALUE_LEN + 1])];
    assert!(matches!(
        store.commit(NS, STATE, Some(1), 2, &big_value),
        Err(MkvsError::ValueTooLarge { .. })
    ));
    assert_eq!(store.latest_root(NS, STATE).expect("latest"), Some(root));
    let tree = store.tree(&root).expect("open");
    let mut overlay = atoll_mkvs::Overlay::new(&tree);
    assert!(overlay.insert(&vec![0; MAX_KEY_LEN + 1], vec![]).is_err());
    assert!(overlay.insert(b"k", vec![0; MAX_VALUE_LEN + 1]).is_err());
    assert!(overlay.is_empty());
}

#[test]
fn versions_must_increase_and_build_on_the_latest() {
    let store = Mkvs::new(MemoryNodeDb::new());
    store.commit(NS, STATE, None, 5, &vec![set(b"a", b"1")]).expect("commit");
    assert!(matches!(
        store.commit(NS, STATE, Some(5), 5, &vec![]),
        Err(MkvsError::VersionNotNew { .. })
    ));
    assert!(matches!(
        store.commit(NS, STATE, Some(4), 6, &vec![]),
        Err(MkvsError::BaseNotLatest { .. })
    ));
    let root = store.commit(NS, STATE, Some(5), 9, &vec![set(b"b", b"2")]).expect("gap is fine");
    assert_eq!(store.versions(NS, STATE).expect("versions"), vec![5, 9]);
    let mut wrong = root;
    wrong.hash = atoll_types::Hash::digest(b"nope");
    assert!(matches!(store.tree(&wrong), Err(MkvsError::RootMismatch { .. })));
    // Histories are independent.
    let io = store.commit(NS, RootKind::Io, None, 1, &vec![set(b"tx", b"out")]).expect("io");
    assert_eq!(store.versions(NS, RootKind::Io).expect("io versions"), vec![1]);
    assert_eq!(store.tree(&io).expect("io").get(b"tx").expect("get"), Some(b"out".to_vec()));
}

#[test]
fn pruning_keeps_exactly_the_requested_versions() {
    let store = Mkvs::new(MemoryNodeDb::new());
    let mut map = Oracle::new();
    let mut maps = vec![];
    let mut roots = vec![];
    for v in 1..=20u64 {
        let log = updates(v, 300);
        apply(&mut map, &log);
        let base = if v == 1 { None } else { Some(v - 1) };
        roots.push(store.commit(NS, STATE, base, v, &log).expect("commit"));
        maps.push(map.clone());
    }
    let stats = store.prune(NS, STATE, 15).expect("prune");
    assert_eq!(stats.versions, 14);
    assert!(stats.nodes > 0);
    assert_eq!(store.versions(NS, STATE).expect("versions"), (15..=20).collect::<Vec<_>>());
    for (i, root) in roots.iter().enumerate() {
        let v = i as u64 + 1;
        match store.tree(root) {
            Ok(tree) => {
                assert!(v >= 15, "version {v} should be gone");
                assert_eq!(contents(&tree), maps[i], "version {v}");
            }
            Err(MkvsError::RootNotFound { .. }) => assert!(v < 15),
            Err(e) => panic!("version {v}: {e}"),
        }
    }
    // Pruning to the latest leaves exactly the latest tree: n leaves, n - 1 internal nodes.
    store.prune(NS, STATE, 20).expect("prune to latest");
    let n = maps[19].len() as u64;
    assert_eq!(store.db().node_count().expect("count"), 2 * n - 1);
    assert!(matches!(store.prune(NS, STATE, 21), Err(MkvsError::PruneLatest { .. })));
}

#[test]
fn pruning_fresh_io_trees_frees_their_nodes() {
    let store = Mkvs::new(MemoryNodeDb::new());
    for round in 1..=10u64 {
        let log: WriteLog =
            (0..50u64).map(|i| set(&i.to_be_bytes(), &round.to_le_bytes())).collect();
        store.commit(NS, RootKind::Io, None, round, &log).expect("io commit");
    }
    store.prune(NS, RootKind::Io, 10).expect("prune");
    assert_eq!(store.db().node_count().expect("count"), 2 * 50 - 1);
}

#[test]
fn corrupt_node_is_reported_not_trusted() {
    let db = MemoryNodeDb::new();
    let store = Mkvs::new(db);
    let map: Oracle = (0u32..100).map(|i| (i.to_be_bytes().to_vec(), vec![1; 8])).collect();
    let root = store.commit(NS, STATE, None, 1, &inserts(&map)).expect("commit");
    // Flip a byte of every node in turn in a fresh store view (no cache: a commit caches
    // the nodes it wrote), and read.
    for id in 0..store.db().node_count().expect("count") {
        let writer = Mkvs::new(MemoryNodeDb::new());
        writer.commit(NS, STATE, None, 1, &inserts(&map)).expect("commit");
        let mut bytes =
            atoll_types::encode(&atoll_mkvs::node::Node::Leaf { key: vec![], value: vec![] });
        bytes.push(id as u8);
        let db = writer.into_db();
        db.corrupt_node(id, bytes).expect("corrupt");
        let fresh = Mkvs::with_cache(db, 16);
        let tree = fresh.tree(&root).expect("open");
        let results: Vec<_> = tree.entries_from(&[]).collect();
        assert!(
            results.iter().any(|r| matches!(r, Err(MkvsError::CorruptNode { .. }))),
            "corrupting node {id} went unnoticed"
        );
    }
}

#[test]
fn deepest_possible_trie_works_on_a_small_stack() {
    // Keys that branch at every encoded bit of a maximal key: the trie degenerates into a
    // chain of about MAX_DEPTH nodes. Run on a 2 MiB stack, the size of a tokio worker's.
    let handle = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let base = vec![0u8; MAX_KEY_LEN];
            let mut map = Oracle::new();
            map.insert(base.clone(), b"base".to_vec());
            for bit in 0..MAX_KEY_LEN * 8 {
                let mut key = base.clone();
                key[bit / 8] |= 0x80 >> (bit % 8);
                map.insert(key, vec![1]);
            }
            for len in 0..MAX_KEY_LEN {
                map.insert(vec![0u8; len], vec![2]);
            }
            assert!(map.len() > MAX_DEPTH - 2);
            let store = Mkvs::new(MemoryNodeDb::new());
            let root = store.commit(NS, STATE, None, 1, &inserts(&map)).expect("commit");
            let tree = store.tree(&root).expect("open");
            assert_eq!(contents(&tree), map);
            let proof = tree.prove(&base).expect("prove deepest");
            assert_eq!(verify_key(&root.hash, &base, &proof), Ok(Some(b"base".to_vec())));
            let deletes: WriteLog =
                map.keys().map(|k| WriteLogEntry { key: k.clone(), value: None }).collect();
            let empty = store.commit(NS, STATE, Some(1), 2, &deletes).expect("delete all");
            assert!(empty.hash.is_zero());
        })
        .expect("spawn");
    handle.join().expect("deep trie on a 2 MiB stack");
}

#[test]
fn redb_backend_persists_across_reopen_and_reuses_space() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.redb");
    let mut map = Oracle::new();
    let mut size_after_warmup = 0;
    {
        let store = Mkvs::new(RedbNodeDb::open(&path).expect("open"));
        for v in 1..=150u64 {
            let log = updates(v, 200);
            apply(&mut map, &log);
            let base = if v == 1 { None } else { Some(v - 1) };
            store.commit(NS, STATE, base, v, &log).expect("commit");
            if v > 2 {
                store.prune(NS, STATE, v - 1).expect("prune");
            }
            if v == 50 {
                size_after_warmup = std::fs::metadata(&path).expect("size").len();
            }
        }
    }
    let size_at_end = std::fs::metadata(&path).expect("size").len();
    // 100 more versions of 200 updates each, pruned as we go: freed pages are reused.
    assert!(
        size_at_end < 2 * size_after_warmup,
        "file grew from {size_after_warmup} to {size_at_end} bytes despite pruning"
    );
    let store = Mkvs::new(RedbNodeDb::open(&path).expect("reopen"));
    let root = store.latest_root(NS, STATE).expect("latest").expect("a root");
    assert_eq!(root.version, 150);
    assert_eq!(store.versions(NS, STATE).expect("versions"), vec![149, 150]);
    assert_eq!(contents(&store.tree(&root).expect("tree")), map);
}

#[test]
fn a_write_log_that_misses_its_expected_root_stores_nothing() {
    let store = Mkvs::new(MemoryNodeDb::new());
    let first = store.commit(NS, STATE, None, 1, &vec![set(b"a", b"1")]).expect("commit");
    let log = vec![set(b"b", b"2")];
    // What the log really produces, from a scratch store with the same history.
    let scratch = Mkvs::new(MemoryNodeDb::new());
    scratch.commit(NS, STATE, None, 1, &vec![set(b"a", b"1")]).expect("commit");
    let honest = scratch.commit(NS, STATE, Some(1), 5, &log).expect("commit").hash;
    let tampered = vec![set(b"b", b"3")];
    assert!(matches!(
        store.commit_expecting(NS, STATE, Some(1), 5, &tampered, honest),
        Err(MkvsError::UnexpectedRoot { .. })
    ));
    assert_eq!(store.latest_root(NS, STATE).expect("latest").map(|r| r.hash), Some(first.hash));
    let root = store.commit_expecting(NS, STATE, Some(1), 5, &log, honest).expect("matches");
    assert_eq!((root.version, root.hash), (5, honest));
}

/// A node database that counts how often a whole history is listed.
struct CountingDb {
    inner: MemoryNodeDb,
    listings: std::sync::atomic::AtomicUsize,
}

impl NodeDb for CountingDb {
    fn reader(&self) -> Result<Box<dyn atoll_mkvs::db::NodeReader + '_>, atoll_mkvs::db::DbError> {
        self.inner.reader()
    }
    fn root(
        &self,
        history: &atoll_mkvs::db::History,
        version: u64,
    ) -> Result<Option<atoll_mkvs::db::RootRecord>, atoll_mkvs::db::DbError> {
        self.inner.root(history, version)
    }
    fn versions(
        &self,
        history: &atoll_mkvs::db::History,
    ) -> Result<Vec<u64>, atoll_mkvs::db::DbError> {
        self.listings.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.versions(history)
    }
    fn last_version(
        &self,
        history: &atoll_mkvs::db::History,
        at_most: u64,
    ) -> Result<Option<u64>, atoll_mkvs::db::DbError> {
        self.inner.last_version(history, at_most)
    }
    fn first_version(
        &self,
        history: &atoll_mkvs::db::History,
    ) -> Result<Option<u64>, atoll_mkvs::db::DbError> {
        self.inner.first_version(history)
    }
    fn stale(
        &self,
        history: &atoll_mkvs::db::History,
        up_to: u64,
    ) -> Result<Vec<(u64, u64)>, atoll_mkvs::db::DbError> {
        self.inner.stale(history, up_to)
    }
    fn next_node_id(&self) -> Result<u64, atoll_mkvs::db::DbError> {
        self.inner.next_node_id()
    }
    fn write(&self, batch: atoll_mkvs::db::WriteBatch) -> Result<(), atoll_mkvs::db::DbError> {
        self.inner.write(batch)
    }
    fn node_count(&self) -> Result<u64, atoll_mkvs::db::DbError> {
        self.inner.node_count()
    }
}

/// [S] finding 12: the latest root was found by listing every stored version, so each
/// admission and each height got slower as the chain grew.
#[test]
fn latest_root_refuses_to_scan_every_version() {
    let store = Mkvs::new(CountingDb { inner: MemoryNodeDb::new(), listings: Default::default() });
    for v in 1..=200u64 {
        let base = (v > 1).then_some(v - 1);
        store.commit(NS, STATE, base, v, &updates(v, 3)).expect("commit");
    }
    let latest = store.latest_root(NS, STATE).expect("latest").expect("some root");
    assert_eq!(latest.version, 200);
    assert_eq!(store.earliest_version(NS, STATE).expect("earliest"), Some(1));
    assert_eq!(store.version_at_most(NS, STATE, 150).expect("at most"), Some(150));
    store.prune(NS, STATE, 190).expect("prune");
    assert_eq!(store.earliest_version(NS, STATE).expect("earliest"), Some(190));
    assert_eq!(store.version_at_most(NS, STATE, 150).expect("at most"), None);
    let listings = store.db().listings.load(std::sync::atomic::Ordering::Relaxed);
    // Only the prune lists the versions it deletes; commits and reads never do.
    assert_eq!(listings, 1, "commits and latest-root reads listed whole histories");
}
