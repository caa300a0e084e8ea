//! The ParaTime side: connect to the host and serve its requests.

use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use atoll_mkvs::node::NodeId;
use atoll_types::Hash;

use crate::blob::BlobAssembly;
use crate::framing::{read_frame, write_frame, FrameError};
use crate::protocol::{
    BlobChunk, Frame, HostRequest, HostResponse, ProtocolError, RuntimeReply, RuntimeRequest,
};

/// What a runtime does with each host request.
pub trait RuntimeHandler {
    /// Serves one request; `host` answers node requests meanwhile.
    fn handle(
        &mut self,
        request: HostRequest,
        host: &HostLink,
    ) -> Result<HostResponse, ProtocolError>;
}

struct Link {
    stream: UnixStream,
    next_id: u64,
}

/// The connection to the host, shared by the serve loop and the state reader.
#[derive(Clone)]
pub struct HostLink {
    inner: Arc<Mutex<Link>>,
}

fn link_error(message: impl Into<String>) -> ProtocolError {
    ProtocolError { code: 4, message: message.into() }
}

impl HostLink {
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Link>, ProtocolError> {
        self.inner.lock().map_err(|_| link_error("host link lock poisoned"))
    }

    fn ask(&self, request: RuntimeRequest) -> Result<RuntimeReply, ProtocolError> {
        let mut link = self.lock()?;
        link.next_id += 1;
        let request_id = link.next_id;
        let frame = Frame::RuntimeRequest { id: request_id, request };
        write_frame(&mut link.stream, &frame).map_err(|e| link_error(e.to_string()))?;
        match read_frame(&mut link.stream).map_err(|e| link_error(e.to_string()))? {
            Frame::RuntimeReply { id, reply } if id == request_id => reply,
            other => Err(link_error(format!("expected a reply, got {other:?}"))),
        }
    }

    /// Asks the host for the stored bytes of node `id`. The caller verifies them.
    pub fn get_node(&self, id: NodeId) -> Result<Option<Vec<u8>>, ProtocolError> {
        match self.ask(RuntimeRequest::GetNode { id })? {
            RuntimeReply::Node(bytes) => Ok(bytes),
            other => Err(link_error(format!("expected a node, got {other:?}"))),
        }
    }

    /// Asks the host for the part of blob `id` from `offset` (only while serving a host
    /// request). The caller checks the assembled blob against `id`.
    pub fn get_blob(&self, id: Hash, offset: u64) -> Result<Option<BlobChunk>, ProtocolError> {
        match self.ask(RuntimeRequest::GetBlob { id, offset })? {
            RuntimeReply::Blob(chunk) => Ok(chunk),
            other => Err(link_error(format!("expected a blob, got {other:?}"))),
        }
    }

    /// Blob `id` whole, at most `max` bytes, checked against its id; `None` if the host
    /// cannot get it.
    pub fn fetch_blob(&self, id: Hash, max: u64) -> Result<Option<Vec<u8>>, ProtocolError> {
        let mut blob = BlobAssembly::new(id, max);
        while !blob.is_complete() {
            let Some(chunk) = self.get_blob(id, blob.offset())? else { return Ok(None) };
            blob.add(chunk).map_err(link_error)?;
        }
        blob.finish().map(Some).map_err(link_error)
    }
}

/// The socket path passed as `--socket <path>` on the command line.
pub fn socket_from_args() -> Option<PathBuf> {
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--socket" {
            return args.next().map(PathBuf::from);
        }
    }
    None
}

/// Connects to the host at `socket` and serves requests until the host hangs up.
///
/// A malformed frame gets an error response and the loop goes on; an oversized one cannot
/// be skipped safely, so the runtime closes the connection (the host restarts it).
pub fn serve(socket: &Path, handler: &mut dyn RuntimeHandler) -> Result<(), FrameError> {
    let stream = UnixStream::connect(socket)?;
    let host = HostLink { inner: Arc::new(Mutex::new(Link { stream, next_id: 0 })) };
    loop {
        let frame = {
            let mut link = host.lock().map_err(|e| FrameError::Malformed(e.message))?;
            read_frame(&mut link.stream)
        };
        let (id, response) = match frame {
            Ok(Frame::HostRequest { id, request }) => (id, handler.handle(request, &host)),
            Ok(other) => {
                (0, Err(ProtocolError { code: 4, message: format!("unexpected frame {other:?}") }))
            }
            Err(FrameError::Malformed(reason)) => {
                (0, Err(ProtocolError { code: 1, message: reason }))
            }
            Err(FrameError::Closed) => return Ok(()),
            Err(e) => return Err(e),
        };
        let mut link = host.lock().map_err(|e| FrameError::Malformed(e.message))?;
        write_frame(&mut link.stream, &Frame::HostResponse { id, response })?;
    }
}
