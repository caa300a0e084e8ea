//! The runtime host protocol: how a node and a ParaTime process talk.
//!
//! Frames are a big-endian `u32` length and a borsh-encoded [`Frame`], at most
//! [`MAX_FRAME_SIZE`] bytes, over a Unix socket. The host calls the runtime
//! ([`HostRequest`]: info, check transactions, execute a batch, query, abort); while it
//! works, the runtime may call back ([`RuntimeRequest`]) for state-tree nodes, which it
//! verifies against the root it was given, so a lying host is detected.
//!
//! - [`host::RuntimeHost`]: the node side. Spawns the ParaTime binary, handshakes, answers
//!   node requests from its store, times out hung calls, restarts a crashed runtime and
//!   retries the call.
//! - [`runtime::serve`]: the ParaTime side's main loop, used by the runtime SDK.

pub mod blob;
pub mod framing;
pub mod host;
pub mod protocol;
pub mod runtime;

pub use blob::BlobAssembly;
pub use framing::{read_frame, write_frame, FrameError, MAX_FRAME_SIZE};
pub use protocol::*;
