//! The simulated TEE backend, for machines without enclave hardware (this one, and every
//! devnet): **execution in the enclave is simulated, verification is not.**
//!
//! The runtime process plays the enclave. Its identity is the hash of the ParaTime binary;
//! its evidence is a DCAP quote in Intel's byte layout, signed by keys of a simulated
//! machine whose PCK certificate comes from a [`SimulationPki`] — a root, a PCK CA and a
//! TCB signer generated for the devnet, which also issues the collateral (CRLs, TCB info,
//! QE identity). The [`DcapVerifier`](crate::DcapVerifier) checks these quotes exactly as
//! it checks Intel's, trusting the simulation root instead of Intel's: a chain trusts it
//! only if its genesis says so.
//!
//! What the simulation does not give: isolation. The runtime process's memory is readable
//! by whoever runs the machine; the keys a real enclave would keep from its host are kept
//! from the node process only by process boundaries.

/// The environment variable that tells a runtime process where its simulated machine's
/// file is (set by the node for a runtime configured with a simulated TEE).
pub const MACHINE_ENV: &str = "ATOLL_TEE_SIMULATED_MACHINE";

mod der;
mod keys;
mod machine;
mod pki;
mod quote;

pub use machine::{
    measure, measure_file, simulated_identity, simulated_signer, SimulatedEnclave,
    SimulatedMachine, SimulatedTcb,
};
pub use pki::{CollateralTerms, SimulationPki, SIMULATED_ADVISORY, SIMULATED_FMSPC};
