//! The verifier side: evidence and collateral in, a verified identity (or a refusal) out.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::error::TeeError;
use crate::identity::EnclaveIdentity;
use crate::policy::{QuotePolicy, TcbStatus};
use crate::time::ConsensusTime;

/// What an enclave produced to prove what it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Evidence {
    /// An Intel DCAP quote (SGX enclave or TDX trust domain), as the quoting enclave wrote
    /// it.
    Dcap(Vec<u8>),
    /// An AMD SEV-SNP attestation report (1,184 bytes), as the AMD secure processor wrote it.
    Snp(Vec<u8>),
}

/// Which kind of evidence an attestation carries.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    /// An Intel DCAP quote (SGX or TDX; simulated enclaves write these), with the JSON a
    /// PCCS serves as collateral.
    Dcap,
    /// An AMD SEV-SNP report, with the chip's VCEK certificate (DER) as collateral.
    Snp,
}

/// What a verifier needs besides the evidence: the vendor's signed statements about
/// platforms, valid for a limited time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Collateral {
    /// Intel's TCB info, QE identity, revocation lists and their issuer chains.
    Dcap(Box<dcap_qvl::QuoteCollateralV3>),
    /// AMD's certificate of the chip's endorsement key (VCEK, DER) for the reported TCB, as
    /// AMD's key distribution service serves it.
    Snp {
        /// The VCEK certificate.
        vcek: Vec<u8>,
    },
}

impl Collateral {
    /// DCAP collateral in the JSON a PCCS serves.
    pub fn dcap_json(json: &[u8]) -> Result<Self, TeeError> {
        serde_json::from_slice(json)
            .map(|c| Collateral::Dcap(Box::new(c)))
            .map_err(|e| TeeError::Malformed { what: "DCAP collateral", reason: e.to_string() })
    }

    /// The collateral as an attestation carries it (what a host adds to its enclave's):
    /// DCAP, the JSON a PCCS serves; SEV-SNP, the VCEK certificate (DER).
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Collateral::Dcap(collateral) => {
                serde_json::to_vec(collateral).expect("collateral serializes")
            }
            Collateral::Snp { vcek } => vcek.clone(),
        }
    }

    /// Collateral for evidence of `kind`, as [`Collateral::encode`] wrote it.
    pub fn decode(kind: EvidenceKind, bytes: &[u8]) -> Result<Self, TeeError> {
        match kind {
            EvidenceKind::Dcap => Self::dcap_json(bytes),
            EvidenceKind::Snp => Ok(Collateral::Snp { vcek: bytes.to_vec() }),
        }
    }
}

/// What verified evidence establishes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The code (and its signer) that produced the evidence.
    pub identity: EnclaveIdentity,
    /// The 64 bytes the enclave bound into its evidence (a hash of its attestation key and
    /// a fresh nonce, when it registers).
    pub report_data: [u8; 64],
    /// The platform's TCB status.
    pub tcb: TcbStatus,
    /// Security advisories that apply to the platform.
    pub advisories: Vec<String>,
    /// The TCB evaluation the collateral reflects (Intel's `tcbEvaluationDataNumber`).
    pub tcb_evaluation: u32,
    /// The platform's id (Intel's PPID; empty when the quote does not carry it).
    pub platform: Vec<u8>,
    /// Whether the enclave runs in debug mode.
    pub debug: bool,
}

/// Checks evidence.
pub trait Verifier {
    /// Verifies `evidence` with `collateral` at `now`, then applies `policy`: the identity
    /// it proves, or why it is refused.
    fn verify(
        &self,
        evidence: &Evidence,
        collateral: &Collateral,
        now: ConsensusTime,
        policy: &QuotePolicy,
    ) -> Result<Verified, TeeError>;
}
