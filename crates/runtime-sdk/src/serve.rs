//! The ParaTime process's main loop: connect to the host and serve it with a dispatcher.

use std::path::PathBuf;

use atoll_mkvs::Mkvs;
use atoll_runtime_host::runtime::{serve, socket_from_args, HostLink, RuntimeHandler};
use atoll_runtime_host::{
    HostRequest, HostResponse, ProtocolError, RuntimeInfo, StateRoot, PROTOCOL_VERSION,
};

use crate::dispatcher::Dispatcher;
use crate::enclave::EnclaveKeys;
use crate::error::RuntimeError;
use crate::module::Runtime;
use crate::remote::RemoteNodeDb;

/// Test hook: when set to a file path that does not exist yet, the runtime creates the
/// file and aborts in the middle of its next batch (the crash-recovery tests use it).
pub const CRASH_ONCE_ENV: &str = "ATOLL_TEST_CRASH_ONCE";
/// Test hook: like [`CRASH_ONCE_ENV`], but the runtime hangs instead of aborting (the
/// host's call timeout must kill and restart it).
pub const HANG_ONCE_ENV: &str = "ATOLL_TEST_HANG_ONCE";

/// A fault to inject once, in the next batch.
enum Fault {
    Crash,
    Hang,
}

struct Handler {
    dispatcher: Dispatcher,
    store: Mkvs<RemoteNodeDb>,
    fault_once: Option<(PathBuf, Fault)>,
    /// The enclave this process plays, for a TEE runtime.
    enclave: Option<EnclaveKeys>,
    /// The consensus chain, from the handshake.
    consensus_chain: Option<atoll_types::ChainContext>,
}

fn failed(e: RuntimeError) -> ProtocolError {
    ProtocolError { code: 2, message: e.to_string() }
}

impl Handler {
    fn begin(&self, host: &HostLink, state: StateRoot) -> Result<(), ProtocolError> {
        self.store
            .db()
            .begin(host, state)
            .map_err(|e| ProtocolError { code: 2, message: e.to_string() })
    }
}

impl RuntimeHandler for Handler {
    fn handle(
        &mut self,
        request: HostRequest,
        host: &HostLink,
    ) -> Result<HostResponse, ProtocolError> {
        crate::blobs::connect(host);
        match request {
            HostRequest::Info { chain_context, runtime_id } => {
                if runtime_id != self.dispatcher.id() {
                    return Err(ProtocolError {
                        code: 3,
                        message: format!(
                            "this is runtime {}, not {runtime_id}",
                            self.dispatcher.id()
                        ),
                    });
                }
                self.dispatcher.set_consensus_chain(&chain_context);
                self.consensus_chain = Some(chain_context);
                Ok(HostResponse::Info(RuntimeInfo {
                    runtime_id: self.dispatcher.id(),
                    version: self.dispatcher.version(),
                    protocol_version: PROTOCOL_VERSION,
                    known_answer: self.dispatcher.known_answer(),
                }))
            }
            HostRequest::CheckTx { state, txs } => {
                self.begin(host, state)?;
                self.dispatcher
                    .check(&self.store, state.version, state.hash, &txs)
                    .map(HostResponse::CheckTx)
                    .map_err(failed)
            }
            HostRequest::ExecuteBatch(batch) => {
                self.begin(host, batch.state)?;
                if let Some((marker, fault)) = self.fault_once.take() {
                    if std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .open(&marker)
                        .is_ok()
                    {
                        match fault {
                            Fault::Crash => std::process::abort(),
                            Fault::Hang => loop {
                                std::thread::sleep(std::time::Duration::from_secs(3600));
                            },
                        }
                    }
                }
                self.dispatcher
                    .execute(&self.store, &batch)
                    .map(HostResponse::ExecuteBatch)
                    .map_err(failed)
            }
            HostRequest::Query { state, method, args } => {
                self.begin(host, state)?;
                self.dispatcher
                    .query(&self.store, state.version, state.hash, &method, &args)
                    .map(HostResponse::Query)
                    .map_err(failed)
            }
            HostRequest::Attest { node, height } => {
                let (Some(enclave), Some(chain)) = (&self.enclave, &self.consensus_chain) else {
                    return Err(ProtocolError {
                        code: 2,
                        message: "this runtime runs without a TEE (or before the handshake)".into(),
                    });
                };
                enclave
                    .attest(chain, node, self.dispatcher.id(), height)
                    .map(|a| HostResponse::Attestation(Box::new(a)))
                    .map_err(|message| ProtocolError { code: 2, message })
            }
            HostRequest::Abort => Ok(HostResponse::Aborted),
        }
    }
}

/// Runs `runtime` as a ParaTime process: serves the host at the `--socket` path until the
/// host hangs up. Returns the process exit code.
pub fn run(runtime: Runtime) -> i32 {
    let Some(socket) = socket_from_args() else {
        eprintln!(
            "usage: {} --socket <path>  (started by an Atoll compute node)",
            std::env::args().next().unwrap_or_default()
        );
        return 2;
    };
    let dispatcher = Dispatcher::new(runtime);
    let enclave = match EnclaveKeys::from_env(dispatcher.id()) {
        Ok(enclave) => enclave,
        Err(e) => {
            eprintln!("cannot start the runtime's enclave: {e}");
            return 2;
        }
    };
    if enclave.is_some() {
        eprintln!("runtime enclave: SIMULATED TEE (no hardware isolation)");
    }
    let mut handler = Handler {
        dispatcher,
        store: Mkvs::new(RemoteNodeDb::new()),
        fault_once: std::env::var_os(CRASH_ONCE_ENV)
            .map(|p| (PathBuf::from(p), Fault::Crash))
            .or_else(|| std::env::var_os(HANG_ONCE_ENV).map(|p| (PathBuf::from(p), Fault::Hang))),
        enclave,
        consensus_chain: None,
    };
    match serve(&socket, &mut handler) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("runtime host connection failed: {e}");
            1
        }
    }
}
