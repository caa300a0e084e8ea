//! [T] finding 10: every state node the runtime asked for reset the call's timeout, so a
//! runtime that kept asking slowly held a call (and the host's lock) for ever. A call now
//! has one deadline in total.
//!
//! This binary is its own runtime: run with `--socket <path>` (as the host starts it), it
//! answers the handshake and then, during a call, asks for a state node every 200 ms
//! without end. (A test binary without the standard harness, so it can take that argument.)

use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use atoll_mkvs::node::NodeId;
use atoll_runtime_host::host::{HostConfig, HostError, NodeSource, RuntimeHost};
use atoll_runtime_host::{
    read_frame, write_frame, Frame, HostRequest, HostResponse, RuntimeInfo, RuntimeRequest,
    RuntimeVersion, StateRoot, PROTOCOL_VERSION,
};
use atoll_types::{ChainContext, Hash, RuntimeId};

/// The runtime side: a handshake, then node requests every 200 ms, for ever.
fn trickle(socket: &str) {
    let mut stream = UnixStream::connect(socket).expect("connect");
    let Ok(Frame::HostRequest { id, request: HostRequest::Info { runtime_id, .. } }) =
        read_frame(&mut stream)
    else {
        return;
    };
    let info = RuntimeInfo {
        runtime_id,
        version: RuntimeVersion::default(),
        protocol_version: PROTOCOL_VERSION,
        known_answer: None,
    };
    let answer = Frame::HostResponse { id, response: Ok(HostResponse::Info(info)) };
    write_frame(&mut stream, &answer).expect("handshake");
    let Ok(Frame::HostRequest { .. }) = read_frame(&mut stream) else { return };
    for asked in 0u64.. {
        std::thread::sleep(Duration::from_millis(200));
        let ask = Frame::RuntimeRequest { id: asked, request: RuntimeRequest::GetNode { id: 0 } };
        if write_frame(&mut stream, &ask).is_err() || read_frame(&mut stream).is_err() {
            return;
        }
    }
}

struct NoNodes;

impl NodeSource for NoNodes {
    fn node(&self, _: NodeId) -> Option<Vec<u8>> {
        None
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--socket") {
        if let Some(socket) = args.get(at + 1) {
            trickle(socket);
        }
        return;
    }
    let config = HostConfig {
        binary: PathBuf::from(&args[0]),
        args: Vec::new(),
        runtime_id: RuntimeId::from_bytes([8; 32]),
        chain_context: ChainContext::from_hash(Hash::digest(b"deadline test")),
        call_timeout: Duration::from_secs(1),
        start_timeout: Duration::from_secs(10),
        max_restarts: 0,
        restart_window: Duration::from_secs(60),
        env: Vec::new(),
        socket_dir: None,
    };
    let mut host = RuntimeHost::start(config).expect("the runtime starts");
    let (done, result) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let request = HostRequest::Query {
            state: StateRoot::default(),
            method: "any.Query".into(),
            args: Vec::new(),
        };
        let _ = done.send(host.call(request, &NoNodes));
    });
    // A guard against hanging for ever (before the fix the call never returned), not a
    // measurement: the call's own deadline is 1 s.
    match result.recv_timeout(Duration::from_secs(60)) {
        Ok(Err(HostError::Timeout | HostError::TooManyRestarts)) => {
            println!("test a_slow_stream_of_node_requests_refuses_to_stretch_a_call ... ok");
        }
        Ok(other) => panic!("expected the call to time out, got {other:?}"),
        Err(_) => panic!("the call outlived its deadline: each node request reset it"),
    }
}
