//! Consensus transaction bodies as JSON, by method: what the API shows beside the hex and
//! the explorer shows on a transaction's page. Signed parts (node descriptors, executor
//! commitments, equivocation evidence) are shown with their signers; their signatures were
//! checked when the transaction executed, not here.

use atoll_consensus::roothash::{self, EquivocationEvidence};
use atoll_consensus::staking::methods as staking;
use atoll_consensus::{beacon, governance, registry, MAX_TRANSACTION_SIZE};
use atoll_types::decode;
use borsh::BorshDeserialize;
use serde::Serialize;
use serde_json::{json, Value};

fn typed<T: BorshDeserialize + Serialize>(body: &[u8]) -> Option<Value> {
    serde_json::to_value(decode::<T>(body, MAX_TRANSACTION_SIZE).ok()?).ok()
}

fn commitment(c: &roothash::SignedCommitment) -> Value {
    json!({ "signer": c.signer(), "body": c.decode_verified_elsewhere().ok() })
}

/// The body of a `method` transaction as JSON; `None` for an unknown method or a body that
/// does not decode as that method's.
pub fn body_json(method: &str, body: &[u8]) -> Option<Value> {
    let limit = MAX_TRANSACTION_SIZE;
    match method {
        staking::TRANSFER => typed::<staking::Transfer>(body),
        staking::BURN => typed::<staking::Burn>(body),
        staking::ALLOW => typed::<staking::Allow>(body),
        staking::WITHDRAW => typed::<staking::Withdraw>(body),
        staking::ADD_ESCROW => typed::<staking::AddEscrow>(body),
        staking::RECLAIM_ESCROW => typed::<staking::ReclaimEscrow>(body),
        staking::AMEND_COMMISSION_SCHEDULE => typed::<staking::AmendCommissionSchedule>(body),
        governance::SUBMIT_PROPOSAL => typed::<governance::SubmitProposal>(body),
        governance::CAST_VOTE => typed::<governance::CastVote>(body),
        roothash::SUBMIT_MSG => typed::<roothash::SubmitMsg>(body),
        beacon::VRF_PROVE => typed::<beacon::VrfProve>(body),
        registry::DEREGISTER_ENTITY => body.is_empty().then(|| json!({})),
        registry::REGISTER_ENTITY => {
            let b: registry::RegisterEntity = decode(body, limit).ok()?;
            Some(json!({ "entity": b.entity }))
        }
        registry::REGISTER_RUNTIME => {
            let b: registry::RegisterRuntime = decode(body, limit).ok()?;
            Some(json!({ "runtime": b.runtime }))
        }
        registry::UNFREEZE_NODE => {
            let b: registry::UnfreezeNode = decode(body, limit).ok()?;
            Some(json!({ "node_id": b.node_id }))
        }
        registry::REGISTER_NODE => {
            let b: registry::RegisterNode = decode(body, limit).ok()?;
            let node: registry::types::Node = decode(b.node.body(), limit).ok()?;
            let signers: Vec<_> = b.node.signatures().iter().map(|s| s.public_key).collect();
            Some(json!({ "node": node, "signers": signers }))
        }
        roothash::EXECUTOR_COMMIT => {
            let b: roothash::ExecutorCommit = decode(body, limit).ok()?;
            let commitments: Vec<Value> = b.commitments.iter().map(commitment).collect();
            Some(json!({ "runtime": b.runtime, "commitments": commitments }))
        }
        roothash::EVIDENCE => {
            let b: roothash::Evidence = decode(body, limit).ok()?;
            let (kind, signer) = match &b.evidence {
                EquivocationEvidence::Commitments(a, _) => ("commitments", *a.signer()),
                EquivocationEvidence::Proposals(a, _) => ("proposals", *a.signer()),
            };
            Some(json!({ "runtime": b.runtime, "equivocation": kind, "signer": signer }))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use atoll_types::{encode, Address, Amount};

    use super::*;

    #[test]
    fn known_bodies_decode_and_the_rest_does_not() {
        let to = Address::from_public_key(&atoll_types::PublicKey::from_bytes([3; 32]));
        let transfer = staking::Transfer { to, amount: Amount::new(5) };
        let shown = body_json(staking::TRANSFER, &encode(&transfer)).expect("decoded");
        assert_eq!(shown["amount"], "5");
        assert_eq!(shown["to"], to.to_string());
        assert_eq!(body_json("staking.Nope", &encode(&transfer)), None);
        assert_eq!(body_json(staking::TRANSFER, b"\x01"), None);
        assert_eq!(body_json(governance::CAST_VOTE, &[]), None);
    }
}
