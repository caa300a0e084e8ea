//! The timestamping ParaTime under the host, over real processes and sockets.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::process::Command;

use atoll_mkvs::node::NodeId;
use atoll_mkvs::verify_key;
use atoll_runtime_host::host::{HostError, NodeSource, RuntimeHost};
use atoll_runtime_host::{
    read_frame, write_frame, ExecuteBatch, ExecutionMode, Frame, FrameError, HostRequest,
    HostResponse,
};
use atoll_timestamp::{runtime_id, Anchor, AnchorRecord, Get, GetResult, ANCHOR, GET};
use atoll_types::{decode, Hash, Round};
use common::{chain, config, deposit, tx, user, HostSide};

#[test]
fn execute_check_and_query_over_a_real_process() {
    let mut host = RuntimeHost::start(config()).expect("start runtime");
    assert_eq!(host.info().expect("handshake").runtime_id, runtime_id());
    let mut side = HostSide::new();
    let alice = user(1);
    side.execute(&mut host, vec![], vec![deposit(&alice, 1_000_000)]);
    let document = Hash::digest(b"minutes of the meeting");
    let anchor = tx(&alice, 0, ANCHOR, &Anchor { document, metadata: None });
    let result = side.execute(&mut host, vec![anchor], vec![]);
    assert!(result.outcomes[0].error.is_none(), "{:?}", result.outcomes[0].error);

    // Check mode: a valid transaction and a forged one; a nonce up to 4,095 ahead of the
    // account's is admitted (the account's nonce is reported for the pool), 4,096 not.
    let good = tx(&alice, 1, ANCHOR, &Anchor { document: Hash::digest(b"next"), metadata: None });
    let mut forged = good.clone();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    let ahead =
        |n| tx(&alice, n, ANCHOR, &Anchor { document: Hash::digest(b"later"), metadata: None });
    let checks = match host.call(
        HostRequest::CheckTx {
            state: side.state,
            txs: vec![good, forged, ahead(4_096), ahead(4_097)],
        },
        side.store.db() as &dyn NodeSource,
    ) {
        Ok(HostResponse::CheckTx(checks)) => checks,
        other => panic!("unexpected {other:?}"),
    };
    assert!(checks[0].error.is_none());
    assert_eq!(checks[0].account_nonce, 1);
    assert_eq!(checks[1].error.as_ref().map(|e| (e.module.as_str(), e.code)), Some(("core", 2)));
    assert!(checks[2].error.is_none(), "4,095 ahead: {:?}", checks[2].error);
    assert_eq!(
        checks[3].error.as_ref().map(|e| (e.module.as_str(), e.code)),
        Some(("accounts", 2)),
        "4,096 ahead is refused"
    );

    // Query with a proof the client checks against the round's state root.
    let request = HostRequest::Query {
        state: side.state,
        method: GET.into(),
        args: atoll_types::encode(&Get { document }),
    };
    let answer: GetResult = match host.call(request, side.store.db() as &dyn NodeSource) {
        Ok(HostResponse::Query(bytes)) => decode(&bytes, 1 << 20).expect("answer"),
        other => panic!("unexpected {other:?}"),
    };
    let proven =
        verify_key(&side.state.hash, &answer.key, &answer.proof).expect("verify").expect("present");
    let record: AnchorRecord = decode(&proven, 1 << 20).expect("record");
    assert_eq!((record.round, record.time), (Round(2), 7_002));
    // Unknown queries are errors, not crashes.
    let request =
        HostRequest::Query { state: side.state, method: "timestamp.Nope".into(), args: vec![] };
    assert!(matches!(
        host.call(request, side.store.db() as &dyn NodeSource),
        Err(HostError::Protocol(_))
    ));
    assert_eq!(host.restarts(), 0);
}

#[test]
fn two_runtime_processes_compute_identical_roots() {
    let run = || {
        let mut host = RuntimeHost::start(config()).expect("start");
        let mut side = HostSide::new();
        let alice = user(1);
        side.execute(&mut host, vec![], vec![deposit(&alice, 1_000_000)]);
        let txs = (0..20u64)
            .map(|i| {
                tx(
                    &alice,
                    i,
                    ANCHOR,
                    &Anchor { document: Hash::digest(&i.to_le_bytes()), metadata: None },
                )
            })
            .collect();
        let result = side.execute(&mut host, txs, vec![]);
        (result.state_root, result.io_root)
    };
    assert_eq!(run(), run());
}

/// Serves nodes with one byte flipped: the runtime must notice.
struct LyingHost<'a>(&'a dyn NodeSource);

impl NodeSource for LyingHost<'_> {
    fn node(&self, id: NodeId) -> Option<Vec<u8>> {
        let mut bytes = self.0.node(id)?;
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        Some(bytes)
    }
}

#[test]
fn a_host_serving_wrong_state_is_detected() {
    let mut host = RuntimeHost::start(config()).expect("start");
    let mut side = HostSide::new();
    let alice = user(1);
    side.execute(&mut host, vec![], vec![deposit(&alice, 1_000_000)]);
    let request = side.batch_request(
        vec![tx(&alice, 0, ANCHOR, &Anchor { document: Hash::digest(b"d"), metadata: None })],
        vec![],
    );
    let lying = LyingHost(side.store.db());
    match host.call(request, &lying) {
        Err(HostError::Protocol(e)) => assert!(e.message.contains("corrupt node"), "{e}"),
        other => panic!("expected the runtime to refuse corrupt state, got {other:?}"),
    }
}

#[test]
fn malformed_frames_get_an_error_and_oversized_ones_close_the_connection() {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("rt.sock");
    let listener = UnixListener::bind(&socket).expect("bind");
    let mut child = Command::new(env!("CARGO_BIN_EXE_atoll-timestamp"))
        .arg("--socket")
        .arg(&socket)
        .spawn()
        .expect("spawn");
    let (mut stream, _) = listener.accept().expect("accept");

    // Garbage of a valid length: an error response, and the connection stays up.
    stream.write_all(&3u32.to_be_bytes()).expect("write");
    stream.write_all(&[0xff, 0xee, 0xdd]).expect("write");
    match read_frame(&mut stream).expect("response") {
        Frame::HostResponse { id: 0, response: Err(e) } => assert_eq!(e.code, 1),
        other => panic!("unexpected {other:?}"),
    }
    let info = Frame::HostRequest {
        id: 5,
        request: HostRequest::Info { chain_context: chain(), runtime_id: runtime_id() },
    };
    write_frame(&mut stream, &info).expect("write");
    assert!(matches!(
        read_frame(&mut stream).expect("response"),
        Frame::HostResponse { id: 5, response: Ok(HostResponse::Info(_)) }
    ));
    // The wrong runtime id is refused.
    let wrong = Frame::HostRequest {
        id: 6,
        request: HostRequest::Info {
            chain_context: chain(),
            runtime_id: atoll_types::RuntimeId::from_bytes([0; 32]),
        },
    };
    write_frame(&mut stream, &wrong).expect("write");
    assert!(matches!(
        read_frame(&mut stream).expect("response"),
        Frame::HostResponse { id: 6, response: Err(_) }
    ));

    // An oversized length cannot be skipped: the runtime hangs up.
    stream.write_all(&u32::MAX.to_be_bytes()).expect("write");
    assert!(matches!(read_frame(&mut stream), Err(FrameError::Closed)));
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
    let status = child.wait().expect("exit");
    assert!(!status.success());
}

/// [T] finding 6: checks of gossiped transactions and the round's execution shared one
/// runtime process behind one lock, so a flood of checks made execution wait. They now run
/// in two processes: checking never holds the lock execution needs.
#[test]
fn checks_and_execution_run_in_separate_runtime_processes() {
    use atoll_compute::executor::Executor;
    use atoll_compute::storage::RuntimeStorage;
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = std::sync::Arc::new(
        RuntimeStorage::open(&dir.path().join("state.redb"), runtime_id()).expect("storage"),
    );
    let blobs = atoll_compute::blobs::BlobStore::open(&dir.path().join("blobs"), 1 << 20)
        .expect("blob store");
    let blobs = std::sync::Arc::new(atoll_compute::blobs::Blobs::new(blobs));
    let executor = Executor::start(config(), storage.clone(), blobs).expect("start");
    let (execution, checks) = executor.pids();
    assert!(execution.is_some() && checks.is_some());
    assert_ne!(execution, checks, "one process each");
    // Both answer, on the same stored state.
    let state = storage.latest().expect("state");
    let alice = user(1);
    let anchor = tx(&alice, 0, ANCHOR, &Anchor { document: Hash::digest(b"x"), metadata: None });
    let checked = executor.check(state, vec![anchor.clone()]).expect("check");
    assert_eq!(checked.len(), 1);
    let batch = ExecuteBatch {
        mode: ExecutionMode::Execute,
        round: Round(1),
        time: 1,
        randomness: atoll_types::Hash::ZERO,
        state,
        txs: vec![anchor],
        incoming: vec![deposit(&alice, 1_000_000)],
        message_results: Vec::new(),
        pending: None,
    };
    let result = executor.execute(batch).expect("execute");
    assert_eq!(result.outcomes.len(), 1);
}
