//! Crash safety: a process committing (and pruning) in a loop is killed with SIGKILL at an
//! arbitrary moment, several times; every reopen finds the last committed version intact.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use atoll_mkvs::{Mkvs, RedbNodeDb, RootKind, WriteLog, WriteLogEntry, CONSENSUS_NAMESPACE};
use common::{contents, Oracle};

const CHILD_ENV: &str = "ATOLL_MKVS_CRASH_CHILD_DIR";
const KEEP: u64 = 5;

/// The deterministic writes of version `v`.
fn writes(v: u64) -> WriteLog {
    (0..300u64)
        .map(|i| {
            let key = ((v * 31 + i * 17) % 2000).to_be_bytes().to_vec();
            let value = if (v + i).is_multiple_of(7) {
                None
            } else {
                Some((v * 10_000 + i).to_le_bytes().to_vec())
            };
            WriteLogEntry { key, value }
        })
        .collect()
}

fn oracle_at(version: u64) -> Oracle {
    let mut map = Oracle::new();
    for v in 1..=version {
        for e in writes(v) {
            match e.value {
                Some(value) => map.insert(e.key, value),
                None => map.remove(&e.key),
            };
        }
    }
    map
}

/// Runs only in the child process: commits forever, printing each committed version.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else { return };
    let store =
        Mkvs::new(RedbNodeDb::open(&std::path::Path::new(&dir).join("state.redb")).expect("open"));
    let mut latest =
        store.latest_root(CONSENSUS_NAMESPACE, RootKind::State).expect("latest").map(|r| r.version);
    loop {
        let v = latest.map_or(1, |l| l + 1);
        store.commit(CONSENSUS_NAMESPACE, RootKind::State, latest, v, &writes(v)).expect("commit");
        if v > KEEP {
            store.prune(CONSENSUS_NAMESPACE, RootKind::State, v - KEEP + 1).expect("prune");
        }
        println!("committed {v}");
        latest = Some(v);
    }
}

#[test]
fn killed_during_commits_reopens_at_last_commit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = std::env::current_exe().expect("test binary");
    let mut last_seen = 0u64;
    for (cycle, extra) in [(0, 7u64), (1, 13), (2, 3)] {
        let mut child = Command::new(&exe)
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("stdout");
        let mut seen_this_cycle = 0;
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("read child output");
            if let Some(v) = line.strip_prefix("committed ") {
                last_seen = v.parse().expect("version");
                seen_this_cycle += 1;
                if seen_this_cycle == 10 + extra {
                    break;
                }
            }
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");

        let store = Mkvs::new(RedbNodeDb::open(&dir.path().join("state.redb")).expect("reopen"));
        let root =
            store.latest_root(CONSENSUS_NAMESPACE, RootKind::State).expect("latest").expect("root");
        // The child may have committed more than the parent read before the kill landed.
        assert!(
            root.version >= last_seen,
            "cycle {cycle}: reopened at {} after seeing {last_seen}",
            root.version
        );
        assert_eq!(
            contents(&store.tree(&root).expect("tree")),
            oracle_at(root.version),
            "cycle {cycle}"
        );
        for v in store.versions(CONSENSUS_NAMESPACE, RootKind::State).expect("versions") {
            let old = store.root_at(CONSENSUS_NAMESPACE, RootKind::State, v).expect("root");
            assert_eq!(
                contents(&store.tree(&old).expect("tree")),
                oracle_at(v),
                "cycle {cycle}, version {v}"
            );
        }
        last_seen = root.version;
    }
}
