//! TEE attestation of the nodes that serve TEE runtimes, checked when a node registers and
//! again at every election, under the chain's trust roots and the runtime's policy as they
//! are then: a policy raised by the runtime's owner (a TCB recovery) or collateral that
//! expired takes nodes out of the committee at the next epoch.

use atoll_mkvs::KeyValueRead;
use atoll_tee::{ConsensusTime, EvidenceKind, Expected, SnpVerifier, TeeError, Verified, Verifier};

use super::types::{Node, NodeRuntime, Runtime, TeeHardware};
use crate::error::StateError;

/// Whether `served` (one of `node`'s runtimes) carries the attestation `runtime` requires,
/// valid at `now`: `Ok(Err(why))` when it does not. A runtime without a TEE requires none
/// (and accepts none).
pub(crate) fn check_attestation(
    state: &dyn KeyValueRead,
    now: ConsensusTime,
    runtime: &Runtime,
    node: &Node,
    served: &NodeRuntime,
) -> Result<Result<Option<Verified>, String>, StateError> {
    let capability = match (runtime.tee_hardware, &served.tee) {
        (TeeHardware::None, None) => return Ok(Ok(None)),
        (TeeHardware::None, Some(_)) => {
            return Ok(Err("the runtime does not run in a TEE; the node attests one".into()))
        }
        (hardware, None) => {
            return Ok(Err(format!("the runtime requires {hardware:?}; the node attests none")))
        }
        (hardware, Some(capability)) if capability.hardware != hardware => {
            return Ok(Err(format!(
                "the runtime requires {hardware:?}; the node attests {:?}",
                capability.hardware
            )))
        }
        (_, Some(capability)) => capability,
    };
    let Some(policy) = &runtime.tee_policy else {
        return Ok(Err("the runtime has no TEE policy".into()));
    };
    let Some(deployment) = runtime.deployments.iter().find(|d| d.version == served.version) else {
        return Ok(Err(format!("the runtime has no version {:?}", served.version)));
    };
    let roots = super::parameters(state)?.tee;
    // The hardware says which evidence to expect and which root judges it.
    let trusted: Result<(EvidenceKind, Box<dyn Verifier>), TeeError> = match runtime.tee_hardware {
        TeeHardware::Simulated => roots.simulated().map(|v| (EvidenceKind::Dcap, boxed(v))),
        TeeHardware::SevSnp => SnpVerifier::amd().map(|v| (EvidenceKind::Snp, boxed(v))),
        _ => Ok((EvidenceKind::Dcap, boxed(roots.hardware()))),
    };
    let (kind, verifier) = match trusted {
        Ok(trusted) => trusted,
        Err(e) => return Ok(Err(e.to_string())),
    };
    if capability.attestation.kind != kind {
        return Ok(Err(format!(
            "the runtime requires {kind:?} evidence; the node presents {:?}",
            capability.attestation.kind
        )));
    }
    let chain = crate::chain::chain_info(state)?.chain_context;
    let expected = Expected {
        chain: &chain,
        node: node.id,
        runtime: runtime.id,
        policy: &policy.quote,
        enclaves: &deployment.enclaves,
        max_age: policy.max_attestation_age,
    };
    Ok(capability
        .attestation
        .verify(verifier.as_ref(), &expected, now)
        .map(Some)
        .map_err(|e| e.to_string()))
}

fn boxed(verifier: impl Verifier + 'static) -> Box<dyn Verifier> {
    Box::new(verifier)
}

/// The RAKs registered in a consensus state: what an enclave checks a peer's key against
/// before it accepts an attested session (`atoll_tee::session`).
pub struct RegisteredRaks<'a>(pub &'a dyn KeyValueRead);

impl atoll_tee::session::RegisteredKeys for RegisteredRaks<'_> {
    fn rak(
        &self,
        node: &atoll_types::PublicKey,
        runtime: &atoll_types::RuntimeId,
    ) -> Option<atoll_types::PublicKey> {
        let node = super::node(self.0, node).ok()??;
        node.runtimes.iter().find(|r| r.id == *runtime)?.tee.as_ref().map(|tee| tee.rak())
    }
}
