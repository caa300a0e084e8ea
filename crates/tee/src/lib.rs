//! Trusted execution for Atoll: what an enclave proves about itself and how a verifier
//! decides whether to believe it.
//!
//! Confidential ParaTimes run inside a TEE, and everything about their confidentiality
//! rests on **remote attestation**: the consensus layer, key managers and clients must know
//! which code, on which platform, at which security level, holds a key. A [`Verifier`]
//! checks [`Evidence`] (an Intel DCAP quote, for SGX enclaves and TDX trust domains) with
//! its [`Collateral`] (Intel's TCB info, QE identity and revocation lists) at a
//! [`ConsensusTime`] — the time of a verified block, never the host's clock — and then
//! applies a [`QuotePolicy`], the per-runtime rules kept on chain: which TCB statuses are
//! acceptable, which security advisories are not, the oldest TCB evaluation accepted, which
//! platforms may serve, and no debug enclave ever.
//!
//! - [`dcap`]: SGX and TDX quotes verified offline with `dcap-qvl` (its pure-Rust
//!   cryptography), against Intel's root or another root given explicitly.
//! - [`snp`]: AMD SEV-SNP reports verified with `sev` (pure-Rust cryptography) and the
//!   checks it leaves to the caller.
//! - [`policy`]: the quote policy and the TCB statuses.
//! - [`verifier`]: the verifier trait and what a verification yields.
//! - [`attestation`]: evidence bound to a node's runtime attestation key, as nodes
//!   register it and peers present it.
//! - [`enclave`]: the enclave side: identity, evidence, sealing keys.
//! - [`session`]: mutually attested Noise XX sessions between enclaves.
//! - [`simulated`]: the simulated backend — a process playing the enclave, real-format
//!   quotes signed by a devnet's simulation PKI, checked by the same DCAP verifier.

pub mod attestation;
pub mod dcap;
pub mod enclave;
mod error;
pub mod identity;
pub mod policy;
mod roots;
pub mod session;
pub mod simulated;
pub mod snp;
mod time;
pub mod verifier;

pub use attestation::{Attestation, AttestationStatement, Expected};
pub use dcap::DcapVerifier;
pub use enclave::{Enclave, SealingPolicy};
pub use error::TeeError;
pub use identity::EnclaveIdentity;
pub use policy::{QuotePolicy, TcbStatus};
pub use roots::TrustRoots;
pub use snp::SnpVerifier;
pub use time::ConsensusTime;
pub use verifier::{Collateral, Evidence, EvidenceKind, Verified, Verifier};
