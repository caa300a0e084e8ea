//! A runtime that stops answering in the middle of a batch is killed when the call times
//! out, restarted, and the batch re-executed. (Its own test binary: the hook is an
//! environment variable.)

mod common;

use std::time::Duration;

use atoll_runtime_host::host::RuntimeHost;
use atoll_runtime_sdk::serve::HANG_ONCE_ENV;
use atoll_timestamp::{Anchor, ANCHOR};
use atoll_types::Hash;
use common::{config, deposit, tx, user, HostSide};

#[test]
fn a_hung_runtime_is_timed_out_and_restarted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let marker = dir.path().join("hung");
    std::env::set_var(HANG_ONCE_ENV, &marker);
    let mut config = config();
    config.call_timeout = Duration::from_secs(2);
    let mut host = RuntimeHost::start(config).expect("start");
    let mut side = HostSide::new();
    let alice = user(1);
    let result = side.execute(&mut host, vec![], vec![deposit(&alice, 1_000_000)]);
    assert!(marker.exists(), "the runtime hung once");
    assert_eq!(host.restarts(), 1);
    let anchor = tx(
        &alice,
        0,
        ANCHOR,
        &Anchor { document: Hash::digest(b"after the hang"), metadata: None },
    );
    let next = side.execute(&mut host, vec![anchor], vec![]);
    assert!(next.outcomes[0].error.is_none());
    assert_ne!(result.state_root, next.state_root);
}
