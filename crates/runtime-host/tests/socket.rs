//! [T] finding 10: the host's socket admits only the runtime process it started.

use std::path::PathBuf;
use std::time::Duration;

use atoll_runtime_host::host::{HostConfig, HostError, RuntimeHost};
use atoll_types::{ChainContext, Hash, RuntimeId};

/// A "runtime" whose own process never connects, while a process it forks (another pid, as
/// any local process could be) connects to the socket at once and waits there.
const IMPOSTOR: &str = r#"
import os, socket, sys, time
path = sys.argv[sys.argv.index("--socket") + 1]
if os.fork() == 0:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    for _ in range(200):
        try:
            s.connect(path)
            break
        except OSError:
            time.sleep(0.01)
    time.sleep(30)
    os._exit(0)
time.sleep(30)
"#;

#[test]
fn a_connection_from_another_process_refuses_to_become_the_runtime() {
    let Ok(python) = which("python3") else {
        eprintln!("python3 not found: skipping");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let config = HostConfig {
        binary: python,
        args: vec!["-c".into(), IMPOSTOR.into()],
        runtime_id: RuntimeId::from_bytes([3; 32]),
        chain_context: ChainContext::from_hash(Hash::digest(b"socket test")),
        call_timeout: Duration::from_secs(5),
        start_timeout: Duration::from_secs(10),
        max_restarts: 1,
        restart_window: Duration::from_secs(60),
        env: Vec::new(),
        socket_dir: Some(dir.path().join("sockets")),
    };
    match RuntimeHost::start(config) {
        // Before the fix the impostor's connection was taken for the runtime's and the
        // handshake was sent to it.
        Err(HostError::Spawn(message)) => {
            assert!(message.contains("did not connect"), "{message}")
        }
        Err(other) => panic!("the impostor was talked to: {other}"),
        Ok(_) => panic!("a runtime that never connected was accepted"),
    }
    let mode = std::fs::metadata(dir.path().join("sockets")).expect("dir").permissions();
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777, 0o700);
}

fn which(name: &str) -> Result<PathBuf, ()> {
    let path = std::env::var_os("PATH").ok_or(())?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file()).ok_or(())
}
