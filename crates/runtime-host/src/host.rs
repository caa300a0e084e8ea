//! The node side: spawn a ParaTime binary, call it, supervise it.

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use atoll_mkvs::node::NodeId;
use atoll_mkvs::NodeDb;
use atoll_types::{ChainContext, RuntimeId};
use thiserror::Error;

use crate::framing::{read_frame, write_frame, FrameError};
use crate::protocol::{
    BlobChunk, Frame, HostRequest, HostResponse, ProtocolError, RuntimeInfo, RuntimeReply,
    RuntimeRequest, PROTOCOL_VERSION,
};

/// Where the host finds what the runtime asks for while it serves a request: state-tree
/// nodes and blobs.
pub trait NodeSource {
    /// The stored bytes of node `id`.
    fn node(&self, id: NodeId) -> Option<Vec<u8>>;

    /// The part of blob `id` from `offset` (see [`RuntimeRequest::GetBlob`]); none by
    /// default.
    fn blob(&self, _id: &atoll_types::Hash, _offset: u64) -> Option<BlobChunk> {
        None
    }
}

impl<D: NodeDb> NodeSource for D {
    fn node(&self, id: NodeId) -> Option<Vec<u8>> {
        self.reader().ok()?.node(id).ok()?
    }
}

/// How to run a ParaTime.
#[derive(Clone, Debug)]
pub struct HostConfig {
    /// The ParaTime binary.
    pub binary: PathBuf,
    /// Arguments given before `--socket <path>` (e.g. a subcommand of a multi-purpose binary).
    pub args: Vec<String>,
    /// The runtime it must be.
    pub runtime_id: RuntimeId,
    /// The consensus chain it serves.
    pub chain_context: ChainContext,
    /// The longest a call may take, in total (however many state nodes the runtime asks
    /// for on the way): past it the call is a hang and the runtime is killed.
    pub call_timeout: Duration,
    /// How long a started runtime process may take to connect (a runtime that checks its
    /// machine at start-up, like the FHE ParaTime's known-answer test, needs longer).
    pub start_timeout: Duration,
    /// Restarts allowed within `restart_window`; past that, calls fail until the window
    /// has moved on.
    pub max_restarts: u32,
    /// The window restarts are counted in.
    pub restart_window: Duration,
    /// Environment variables for the runtime process (e.g. where its simulated TEE
    /// machine is).
    pub env: Vec<(String, String)>,
    /// A private directory for the runtime's socket (created with mode 0700), normally
    /// under the node's data directory; `None`, or a path too long for a socket address,
    /// uses a fresh, unpredictably named private directory under the system's temp dir.
    pub socket_dir: Option<PathBuf>,
}

/// The longest socket path the platform's `sockaddr_un` takes, with room to spare.
const MAX_SOCKET_PATH: usize = 100;

/// Why a call to the runtime failed.
#[derive(Debug, Error)]
pub enum HostError {
    /// The runtime could not be started.
    #[error("starting the runtime: {0}")]
    Spawn(String),
    /// The handshake failed (wrong runtime, chain or protocol).
    #[error("runtime handshake: {0}")]
    Handshake(String),
    /// The runtime did not answer in time (it was killed).
    #[error("runtime call timed out")]
    Timeout,
    /// The runtime died or broke the connection.
    #[error("runtime crashed: {0}")]
    Crashed(String),
    /// The runtime answered with an error.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// The runtime kept failing.
    #[error("runtime restarted too often")]
    TooManyRestarts,
}

struct Process {
    child: Child,
    stream: UnixStream,
}

/// A supervised ParaTime process.
pub struct RuntimeHost {
    config: HostConfig,
    process: Option<Process>,
    info: Option<RuntimeInfo>,
    restarts: u32,
    budget: RestartBudget,
    next_id: u64,
    socket: PathBuf,
    /// A directory this host created (and removes when dropped).
    own_dir: Option<PathBuf>,
}

static HOST_COUNTER: AtomicU64 = AtomicU64::new(0);

impl RuntimeHost {
    /// Starts the runtime and checks its handshake.
    pub fn start(config: HostConfig) -> Result<Self, HostError> {
        let unique = HOST_COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("rt-{}-{unique}.sock", std::process::id());
        let spawn_err = |e: std::io::Error| HostError::Spawn(format!("socket directory: {e}"));
        let configured = config
            .socket_dir
            .as_ref()
            .filter(|dir| dir.join(&name).as_os_str().len() <= MAX_SOCKET_PATH);
        let (socket, own_dir) = match configured {
            Some(dir) => {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir)
                    .map_err(spawn_err)?;
                // Only its owner may chmod it: an existing directory of another user fails.
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                    .map_err(spawn_err)?;
                (dir.join(&name), None)
            }
            None => {
                // Created exclusively under a name nobody can guess: never a directory
                // someone else prepared.
                let mut random = [0u8; 16];
                std::fs::File::open("/dev/urandom")
                    .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut random))
                    .map_err(spawn_err)?;
                let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
                let dir = std::env::temp_dir().join(format!("atoll-runtime-{hex}"));
                std::fs::DirBuilder::new().mode(0o700).create(&dir).map_err(spawn_err)?;
                (dir.join(&name), Some(dir))
            }
        };
        let budget = RestartBudget::new(config.max_restarts, config.restart_window);
        let mut host = Self {
            config,
            process: None,
            info: None,
            restarts: 0,
            budget,
            next_id: 0,
            socket,
            own_dir,
        };
        host.spawn()?;
        Ok(host)
    }

    fn spawn(&mut self) -> Result<(), HostError> {
        let socket = self.socket.clone();
        let _ = std::fs::remove_file(&socket);
        let listener = UnixListener::bind(&socket).map_err(|e| HostError::Spawn(e.to_string()))?;
        listener.set_nonblocking(true).map_err(|e| HostError::Spawn(e.to_string()))?;
        let mut child = Command::new(&self.config.binary)
            .args(&self.config.args)
            .arg("--socket")
            .arg(&socket)
            .envs(self.config.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| HostError::Spawn(format!("{}: {e}", self.config.binary.display())))?;
        let deadline = Instant::now() + self.config.start_timeout;
        let stream = loop {
            match listener.accept() {
                // Only the process this host started may speak for the runtime: any other
                // local process that connected first is turned away.
                Ok((stream, _)) => match peer_pid(&stream) {
                    Some(pid) if pid == child.id() => break stream,
                    other => {
                        tracing::warn!(pid = ?other, "refused a runtime socket connection from another process");
                        continue;
                    }
                },
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock && Instant::now() < deadline =>
                {
                    if let Ok(Some(status)) = child.try_wait() {
                        return Err(HostError::Spawn(format!(
                            "runtime exited before connecting: {status}"
                        )));
                    }
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => {
                    let _ = child.kill();
                    return Err(HostError::Spawn(format!("runtime did not connect: {e}")));
                }
            }
        };
        stream.set_nonblocking(false).map_err(|e| HostError::Spawn(e.to_string()))?;
        stream
            .set_read_timeout(Some(self.config.call_timeout))
            .map_err(|e| HostError::Spawn(e.to_string()))?;
        self.process = Some(Process { child, stream });
        let request = HostRequest::Info {
            chain_context: self.config.chain_context,
            runtime_id: self.config.runtime_id,
        };
        let info = match self.call_once(&request, &NoNodes) {
            Ok(HostResponse::Info(info)) => info,
            Ok(other) => return Err(HostError::Handshake(format!("unexpected answer {other:?}"))),
            Err(e) => return Err(HostError::Handshake(e.to_string())),
        };
        if info.runtime_id != self.config.runtime_id || info.protocol_version != PROTOCOL_VERSION {
            return Err(HostError::Handshake(format!(
                "runtime {} speaking protocol {}",
                info.runtime_id, info.protocol_version
            )));
        }
        self.info = Some(info);
        Ok(())
    }

    /// What the runtime said in its handshake.
    pub fn info(&self) -> Option<&RuntimeInfo> {
        self.info.as_ref()
    }

    /// The runtime's process id.
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(|p| p.child.id())
    }

    /// How often the runtime was restarted.
    pub fn restarts(&self) -> u32 {
        self.restarts
    }

    /// Calls the runtime. If it crashes or hangs, it is restarted and the call retried once
    /// (runtime calls are deterministic, so the retry gives the same answer).
    pub fn call(
        &mut self,
        request: HostRequest,
        nodes: &dyn NodeSource,
    ) -> Result<HostResponse, HostError> {
        match self.call_once(&request, nodes) {
            Err(HostError::Crashed(_) | HostError::Timeout) => {
                self.restart()?;
                self.call_once(&request, nodes)
            }
            other => other,
        }
    }

    fn restart(&mut self) -> Result<(), HostError> {
        self.kill();
        if !self.budget.allow(Instant::now()) {
            return Err(HostError::TooManyRestarts);
        }
        self.restarts += 1;
        self.spawn()
    }

    fn kill(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.child.kill();
            let _ = process.child.wait();
        }
    }

    fn call_once(
        &mut self,
        request: &HostRequest,
        nodes: &dyn NodeSource,
    ) -> Result<HostResponse, HostError> {
        self.next_id += 1;
        let id = self.next_id;
        let process =
            self.process.as_mut().ok_or_else(|| HostError::Crashed("no runtime process".into()))?;
        let crashed = |e: FrameError| HostError::Crashed(e.to_string());
        let deadline = Instant::now() + self.config.call_timeout;
        write_frame(&mut process.stream, &Frame::HostRequest { id, request: request.clone() })
            .map_err(crashed)?;
        loop {
            // One deadline for the whole call: a runtime asking for node after node cannot
            // stretch it.
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || process.stream.set_read_timeout(Some(left)).is_err() {
                self.kill();
                return Err(HostError::Timeout);
            }
            match read_frame(&mut process.stream) {
                Ok(Frame::HostResponse { id: answered, response }) if answered == id => {
                    return Ok(response?)
                }
                Ok(Frame::RuntimeRequest {
                    id: asked,
                    request: RuntimeRequest::GetNode { id: node },
                }) => {
                    let reply = Frame::RuntimeReply {
                        id: asked,
                        reply: Ok(RuntimeReply::Node(nodes.node(node))),
                    };
                    write_frame(&mut process.stream, &reply).map_err(crashed)?;
                }
                Ok(Frame::RuntimeRequest {
                    id: asked,
                    request: RuntimeRequest::GetBlob { id: blob, offset },
                }) => {
                    let reply = Frame::RuntimeReply {
                        id: asked,
                        reply: Ok(RuntimeReply::Blob(nodes.blob(&blob, offset))),
                    };
                    write_frame(&mut process.stream, &reply).map_err(crashed)?;
                }
                Ok(other) => return Err(HostError::Crashed(format!("unexpected frame {other:?}"))),
                Err(FrameError::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    self.kill();
                    return Err(HostError::Timeout);
                }
                Err(e) => return Err(crashed(e)),
            }
        }
    }
}

impl Drop for RuntimeHost {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_file(&self.socket);
        if let Some(dir) = &self.own_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Restarts allowed within a sliding window.
struct RestartBudget {
    max: usize,
    window: Duration,
    recent: std::collections::VecDeque<Instant>,
}

impl RestartBudget {
    fn new(max: u32, window: Duration) -> Self {
        Self { max: max as usize, window, recent: std::collections::VecDeque::new() }
    }

    /// Whether a restart at `now` is allowed (and if so, counts it).
    fn allow(&mut self, now: Instant) -> bool {
        while self.recent.front().is_some_and(|t| now.saturating_duration_since(*t) >= self.window)
        {
            self.recent.pop_front();
        }
        if self.recent.len() >= self.max {
            return false;
        }
        self.recent.push_back(now);
        true
    }
}

/// The process id at the other end of a Unix socket (`SO_PEERCRED`).
fn peer_pid(stream: &UnixStream) -> Option<u32> {
    let credentials =
        nix::sys::socket::getsockopt(stream, nix::sys::socket::sockopt::PeerCredentials).ok()?;
    u32::try_from(credentials.pid()).ok()
}

struct NoNodes;

impl NodeSource for NoNodes {
    fn node(&self, _id: NodeId) -> Option<Vec<u8>> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [T] finding 10: the restart budget was for the host's whole life, so a runtime that
    /// crashed now and then was eventually never restarted again.
    #[test]
    fn restarts_are_counted_in_a_sliding_window() {
        let mut budget = RestartBudget::new(2, Duration::from_secs(60));
        let start = Instant::now();
        assert!(budget.allow(start));
        assert!(budget.allow(start + Duration::from_secs(1)));
        assert!(!budget.allow(start + Duration::from_secs(2)), "a third within the minute");
        // A minute after the first, one slot is free again; then none until the second ages.
        assert!(budget.allow(start + Duration::from_secs(60)));
        assert!(!budget.allow(start + Duration::from_secs(60)));
        assert!(budget.allow(start + Duration::from_secs(61)));
        // Over a long life, far more restarts than the budget, spread out, are all allowed.
        let mut budget = RestartBudget::new(2, Duration::from_secs(60));
        assert!((0..1_000u64).all(|i| budget.allow(start + Duration::from_secs(31 * i))));
    }
}
