//! Runtime errors: module, stable code, message.

use atoll_runtime_host::ModuleFailure;
use thiserror::Error;

/// Why a runtime transaction or query failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{module} error {code}: {message}")]
pub struct RuntimeError {
    /// The module.
    pub module: String,
    /// Its stable code.
    pub code: u32,
    /// What went wrong.
    pub message: String,
}

impl RuntimeError {
    /// An error of `module` with `code`.
    pub fn new(module: &str, code: u32, message: impl Into<String>) -> Self {
        Self { module: module.to_owned(), code, message: message.into() }
    }

    /// Something this node must supply to run the batch is missing or broken here (a
    /// content-addressed blob it could not get, a local setup that is not the ParaTime's):
    /// like a storage failure it aborts the batch — this worker becomes a straggler — and is
    /// never the transaction's fault.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new("storage", 4, message)
    }

    pub(crate) fn failure(&self) -> ModuleFailure {
        ModuleFailure {
            module: self.module.clone(),
            code: self.code,
            message: self.message.clone(),
        }
    }
}

impl From<atoll_mkvs::MkvsError> for RuntimeError {
    fn from(e: atoll_mkvs::MkvsError) -> Self {
        // Storage failures (including a host serving nodes that fail verification) abort
        // the batch: they are never a transaction's fault.
        RuntimeError::new("storage", 1, e.to_string())
    }
}

/// Errors of the dispatcher (module `core`).
pub mod core_codes {
    /// The transaction does not decode or is too large.
    pub const MALFORMED: u32 = 1;
    /// A signature does not verify.
    pub const INVALID_SIGNATURE: u32 = 2;
    /// Out of gas.
    pub const OUT_OF_GAS: u32 = 3;
    /// No module has the method.
    pub const UNKNOWN_METHOD: u32 = 4;
    /// The gas price is below the minimum.
    pub const GAS_PRICE_TOO_LOW: u32 = 5;
    /// The call's body does not decode.
    pub const MALFORMED_BODY: u32 = 6;
    /// The batch's gas limit is reached.
    pub const BATCH_GAS_LIMIT: u32 = 7;
}
