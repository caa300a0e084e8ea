//! Why evidence was refused.

use crate::policy::TcbStatus;

/// Evidence refused, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TeeError {
    /// The evidence or its collateral does not parse.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// Which input.
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The evidence does not verify: a signature, the certificate chain to the trusted
    /// root, a revoked certificate, or collateral outside its validity at the given time.
    #[error("evidence does not verify: {0}")]
    Unverified(String),
    /// The kind of evidence and the kind of collateral (or verifier) do not match.
    #[error("{0}")]
    Mismatch(String),
    /// The platform's TCB status is not one the policy allows.
    #[error("TCB status {0:?} is not allowed by the policy")]
    TcbStatus(TcbStatus),
    /// The platform is affected by an advisory the policy denies.
    #[error("the platform is affected by {0}, which the policy denies")]
    Advisory(String),
    /// The collateral's TCB evaluation is older than the policy's minimum.
    #[error("TCB evaluation {got} is older than the policy's minimum {minimum}")]
    TcbEvaluation {
        /// The collateral's TCB evaluation data number.
        got: u32,
        /// The least the policy accepts.
        minimum: u32,
    },
    /// The platform is not among the allowed ones, or is denied.
    #[error("platform {0} is not allowed by the policy")]
    Platform(String),
    /// The simulated backend could not produce a certificate, CRL or quote.
    #[error("TEE simulation: {0}")]
    Simulation(String),
    /// The attestation is from the future or older than the runtime allows.
    #[error("stale attestation: {0}")]
    Stale(String),
    /// The evidence is not bound to the key, node, runtime or chain it is presented for.
    #[error("attestation not bound to its presenter: {0}")]
    Binding(&'static str),
    /// The enclave's identity is not one the runtime allows.
    #[error("enclave identity not allowed by the runtime: {0}")]
    Identity(String),
    /// An attested session failed (handshake, message, size).
    #[error("session: {0}")]
    Session(String),
    /// A debug enclave (its memory is readable by the host): never trusted.
    #[error("a debug enclave is never trusted")]
    Debug,
}
