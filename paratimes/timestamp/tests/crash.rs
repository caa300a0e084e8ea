//! A runtime that dies in the middle of a batch is restarted by the host, which re-executes
//! the batch: the roots are the same as without the crash. (Its own test binary: the crash
//! hook is an environment variable.)

mod common;

use atoll_runtime_host::host::RuntimeHost;
use atoll_runtime_sdk::serve::CRASH_ONCE_ENV;
use atoll_timestamp::{Anchor, ANCHOR};
use atoll_types::Hash;
use common::{config, deposit, tx, user, HostSide};

fn run(host: &mut RuntimeHost) -> (Hash, Hash) {
    let mut side = HostSide::new();
    let alice = user(1);
    side.execute(host, vec![], vec![deposit(&alice, 1_000_000)]);
    let txs = (0..5u64)
        .map(|i| {
            tx(
                &alice,
                i,
                ANCHOR,
                &Anchor { document: Hash::digest(&i.to_le_bytes()), metadata: None },
            )
        })
        .collect();
    let result = side.execute(host, txs, vec![]);
    (result.state_root, result.io_root)
}

#[test]
fn killed_mid_batch_is_restarted_and_reexecutes_deterministically() {
    let dir = tempfile::tempdir().expect("tempdir");
    let marker = dir.path().join("crashed");
    // Set before any runtime is spawned; this test binary has no other tests.
    std::env::set_var(CRASH_ONCE_ENV, &marker);
    let mut crashing = RuntimeHost::start(config()).expect("start");
    let pid = crashing.pid();
    let with_crash = run(&mut crashing);
    assert!(marker.exists(), "the runtime crashed once");
    assert_eq!(crashing.restarts(), 1);
    assert_ne!(crashing.pid(), pid, "a new process serves after the crash");

    // The marker now exists, so this runtime does not crash.
    let mut clean = RuntimeHost::start(config()).expect("start");
    assert_eq!(run(&mut clean), with_crash);
    assert_eq!(clean.restarts(), 0);
}
