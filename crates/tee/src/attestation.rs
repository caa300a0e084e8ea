//! How an enclave's evidence is bound to the node that registers it, and how that binding
//! is checked.
//!
//! Inside the enclave, the runtime generates its **runtime attestation key** (RAK, Ed25519)
//! and its encryption key (REK, X25519); neither leaves it. Its evidence binds the RAK and a
//! fresh nonce in its report data (`SHA-256("atoll/tee: rak" ‖ RAK) ‖ nonce`), and the RAK
//! signs an [`AttestationStatement`] — the node id, the runtime, the consensus height it
//! attests at, the REK and the nonce — under the chain's context. A verifier that accepts
//! the evidence therefore knows that this code, on this platform, holds this RAK, that the
//! RAK vouches for this node serving this runtime on this chain, and how old that is: the
//! evidence cannot be replayed for another node, another RAK, another chain or after its
//! maximum age.

use atoll_types::{
    encode, signing_digest, ChainContext, PublicKey, RuntimeId, Signable, Signature,
    SignatureContext, Signer,
};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::enclave::Enclave;
use crate::error::TeeError;
use crate::identity::EnclaveIdentity;
use crate::policy::QuotePolicy;
use crate::time::ConsensusTime;
use crate::verifier::{Collateral, Evidence, EvidenceKind, Verified, Verifier};

/// An enclave's attestation for one node and runtime: its keys, its evidence and the
/// collateral to judge the evidence with, and the RAK's signature binding them.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attestation {
    /// What the evidence is.
    pub kind: EvidenceKind,
    /// The runtime attestation key (Ed25519), generated inside the enclave.
    pub rak: PublicKey,
    /// The enclave's X25519 encryption key.
    #[serde(with = "atoll_types::hex_serde::array")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub rek: [u8; 32],
    /// The consensus height the attestation was made at (its age is counted from it).
    pub height: u64,
    /// The fresh nonce in the evidence's report data.
    #[serde(with = "atoll_types::hex_serde::array")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub nonce: [u8; 32],
    /// The evidence (a DCAP quote or an SEV-SNP report).
    #[serde(with = "atoll_types::hex_serde::bytes")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub evidence: Vec<u8>,
    /// The collateral (DCAP: the JSON a PCCS serves; SEV-SNP: the VCEK certificate), added
    /// by the host.
    #[serde(with = "atoll_types::hex_serde::bytes")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub collateral: Vec<u8>,
    /// The RAK's signature over the [`AttestationStatement`].
    pub signature: Signature,
}

/// What the RAK signs.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct AttestationStatement {
    /// The node the enclave serves.
    pub node: PublicKey,
    /// The runtime it runs.
    pub runtime: RuntimeId,
    /// The consensus height it attests at.
    pub height: u64,
    /// Its X25519 encryption key.
    pub rek: [u8; 32],
    /// The nonce in its report data.
    pub nonce: [u8; 32],
}

impl Signable for AttestationStatement {
    const CONTEXT: SignatureContext = SignatureContext::new("atoll/tee: attestation");
    const MAX_SIZE: usize = 256;
}

/// The report data binding `rak` and `nonce`.
pub fn report_data(rak: &PublicKey, nonce: &[u8; 32]) -> [u8; 64] {
    let mut data = [0u8; 64];
    data[..32].copy_from_slice(
        &Sha256::new().chain_update(b"atoll/tee: rak").chain_update(rak.as_bytes()).finalize(),
    );
    data[32..].copy_from_slice(nonce);
    data
}

fn statement_digest(chain: &ChainContext, statement: &AttestationStatement) -> atoll_types::Hash {
    signing_digest(&AttestationStatement::CONTEXT, chain, &encode(statement))
}

/// The enclave side: `enclave`'s evidence binding `rak`, and `rak`'s signature over
/// `statement`. The collateral is left empty for the host to add.
pub fn attest(
    enclave: &dyn Enclave,
    rak: &dyn Signer,
    chain: &ChainContext,
    statement: &AttestationStatement,
) -> Result<Attestation, TeeError> {
    let rak_public = rak.public_key();
    let (kind, evidence) = match enclave.attest(&report_data(&rak_public, &statement.nonce))? {
        Evidence::Dcap(quote) => (EvidenceKind::Dcap, quote),
        Evidence::Snp(report) => (EvidenceKind::Snp, report),
    };
    Ok(Attestation {
        kind,
        rak: rak_public,
        rek: statement.rek,
        height: statement.height,
        nonce: statement.nonce,
        evidence,
        collateral: Vec::new(),
        signature: rak.sign_raw(statement_digest(chain, statement).as_bytes()),
    })
}

/// What a verifier expects of an attestation.
pub struct Expected<'a> {
    /// The chain it is for.
    pub chain: &'a ChainContext,
    /// The node that presents it.
    pub node: PublicKey,
    /// The runtime it is for.
    pub runtime: RuntimeId,
    /// The runtime's quote policy.
    pub policy: &'a QuotePolicy,
    /// The enclave identities the runtime allows (for the version the node runs).
    pub enclaves: &'a [EnclaveIdentity],
    /// How many blocks old an attestation may be.
    pub max_age: u64,
}

impl Attestation {
    /// Checks the attestation at `now`: not from the future nor older than the maximum
    /// age, signed by its RAK for this node, runtime and chain, its evidence verified (with
    /// its collateral, under `verifier`'s root and the policy), its report data binding
    /// this RAK and nonce, its identity one the runtime allows.
    pub fn verify(
        &self,
        verifier: &dyn Verifier,
        expected: &Expected<'_>,
        now: ConsensusTime,
    ) -> Result<Verified, TeeError> {
        if self.height > now.height() {
            return Err(TeeError::Stale(format!(
                "made at height {}, after the current height {}",
                self.height,
                now.height()
            )));
        }
        if now.height() - self.height > expected.max_age {
            return Err(TeeError::Stale(format!(
                "made at height {}, more than {} blocks before height {}",
                self.height,
                expected.max_age,
                now.height()
            )));
        }
        let statement = AttestationStatement {
            node: expected.node,
            runtime: expected.runtime,
            height: self.height,
            rek: self.rek,
            nonce: self.nonce,
        };
        self.rak
            .verify(statement_digest(expected.chain, &statement).as_bytes(), &self.signature)
            .map_err(|_| {
            TeeError::Binding("the RAK's signature does not cover this node, runtime and chain")
        })?;
        let evidence = match self.kind {
            EvidenceKind::Dcap => Evidence::Dcap(self.evidence.clone()),
            EvidenceKind::Snp => Evidence::Snp(self.evidence.clone()),
        };
        let collateral = Collateral::decode(self.kind, &self.collateral)?;
        let verified = verifier.verify(&evidence, &collateral, now, expected.policy)?;
        if verified.report_data != report_data(&self.rak, &self.nonce) {
            return Err(TeeError::Binding(
                "the evidence's report data does not bind this RAK and nonce",
            ));
        }
        if !expected.enclaves.contains(&verified.identity) {
            return Err(TeeError::Identity(format!("{:?}", verified.identity)));
        }
        Ok(verified)
    }
}
