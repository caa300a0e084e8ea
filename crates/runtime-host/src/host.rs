//! The node side: spawn a ParaTime binary, call it, supervise it.

use std::os::unix::fs::PermissionsExt;
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
    Frame, HostRequest, HostResponse, ProtocolError, RuntimeInfo, RuntimeReply, RuntimeRequest,
    PROTOCOL_VERSION,
};

/// Where the host finds state-tree nodes the runtime asks for.
pub trait NodeSource {
    /// The stored bytes of node `id`.
    fn node(&self, id: NodeId) -> Option<Vec<u8>>;
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
    /// A call with no frame from the runtime for this long is a hang: the runtime is killed.
    pub call_timeout: Duration,
    /// Restarts allowed over the host's lifetime.
    pub max_restarts: u32,
}

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
    next_id: u64,
    socket_dir: PathBuf,
}

static HOST_COUNTER: AtomicU64 = AtomicU64::new(0);

impl RuntimeHost {
    /// Starts the runtime and checks its handshake.
    pub fn start(config: HostConfig) -> Result<Self, HostError> {
        let unique = HOST_COUNTER.fetch_add(1, Ordering::Relaxed);
        let socket_dir =
            std::env::temp_dir().join(format!("atoll-runtime-{}-{unique}", std::process::id()));
        std::fs::create_dir_all(&socket_dir).map_err(|e| HostError::Spawn(e.to_string()))?;
        std::fs::set_permissions(&socket_dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| HostError::Spawn(e.to_string()))?;
        let mut host =
            Self { config, process: None, info: None, restarts: 0, next_id: 0, socket_dir };
        host.spawn()?;
        Ok(host)
    }

    fn spawn(&mut self) -> Result<(), HostError> {
        let socket = self.socket_dir.join("runtime.sock");
        let _ = std::fs::remove_file(&socket);
        let listener = UnixListener::bind(&socket).map_err(|e| HostError::Spawn(e.to_string()))?;
        listener.set_nonblocking(true).map_err(|e| HostError::Spawn(e.to_string()))?;
        let mut child = Command::new(&self.config.binary)
            .args(&self.config.args)
            .arg("--socket")
            .arg(&socket)
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| HostError::Spawn(format!("{}: {e}", self.config.binary.display())))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        let stream = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
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
        self.restarts += 1;
        if self.restarts > self.config.max_restarts {
            return Err(HostError::TooManyRestarts);
        }
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
        write_frame(&mut process.stream, &Frame::HostRequest { id, request: request.clone() })
            .map_err(crashed)?;
        loop {
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
        let _ = std::fs::remove_dir_all(&self.socket_dir);
    }
}

struct NoNodes;

impl NodeSource for NoNodes {
    fn node(&self, _id: NodeId) -> Option<Vec<u8>> {
        None
    }
}
