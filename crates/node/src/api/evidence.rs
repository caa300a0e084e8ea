//! Consensus offences of a node: the double signing its validator was proven to have done,
//! from the block store's offence index, with what each including block slashed and how
//! long it froze the node (from that block's begin-block events).

use atoll_client::model::{ErrorBody, NodeEvidence, Offence, OffenceSlash};
use atoll_consensus::events::{Event, StakingEvent};
use atoll_consensus::registry::{self, RegistryEvent};
use atoll_consensus::BlockResults;
use atoll_engine::VoteKind;
use atoll_types::PublicKey;
use axum::extract::State;
use axum::Json;

use super::error::ApiPath;
use super::queries::parse_key;
use super::rounds::slash_reason;
use super::{ApiError, ApiState};

/// The most offences one answer lists.
const MAX_OFFENCES: usize = 100;

/// The double-signing offences blocks proved against a node's validator (its current
/// consensus key), newest first, with the slash and freeze each including block applied.
#[utoipa::path(get, path = "/v1/nodes/{id}/evidence", tag = "chain",
    params(("id" = String, Path, pattern = "^[0-9a-fA-F]{64}$", description = "node public key, hex")),
    responses((status = 200, body = NodeEvidence), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub(crate) async fn node_evidence(
    State(api): State<ApiState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<NodeEvidence>, ApiError> {
    let id = parse_key(&id)?;
    let _permit = api.heavy.acquire().await.map_err(ApiError::internal)?;
    let node = api.node.clone();
    tokio::task::spawn_blocking(move || {
        let state = node.state();
        let root = state.latest().map_err(ApiError::internal)?;
        let root = root.ok_or_else(|| ApiError::unavailable("no state yet"))?;
        let tree = state.store().tree(&root).map_err(ApiError::internal)?;
        let descriptor = registry::node(&tree, &id).map_err(ApiError::internal)?;
        let descriptor = descriptor.ok_or_else(|| ApiError::not_found(format!("no node {id}")))?;
        let store = node.blocks();
        let found = store
            .offences_of(&descriptor.consensus_key, MAX_OFFENCES)
            .map_err(ApiError::internal)?;
        let mut offences = Vec::with_capacity(found.len());
        for (offence, included) in found {
            // A block slashes a node once, for the first of its offences the block carries.
            let block = store.block(included).map_err(ApiError::internal)?;
            let slashing = block.and_then(|b| {
                b.evidence.iter().find(|e| e.validator() == offence.validator).map(|e| e.offence())
            });
            let results = if slashing == Some(offence) {
                store.results(included).map_err(ApiError::internal)?
            } else {
                None
            };
            offences.push(Offence {
                height: offence.height.0,
                round: offence.round,
                step: match offence.kind {
                    VoteKind::Prevote => "prevote",
                    VoteKind::Precommit => "precommit",
                }
                .into(),
                included_at: included.0,
                slash: results.and_then(|r| slash_of(&r, &id)),
            });
        }
        Ok(Json(NodeEvidence { consensus_key: descriptor.consensus_key, offences }))
    })
    .await
    .map_err(ApiError::internal)?
}

/// What the begin-block events of a block's `results` slashed of `node`, and until when
/// they froze it (a node is slashed at most once per block).
fn slash_of(results: &BlockResults, node: &PublicKey) -> Option<OffenceSlash> {
    let begin = results.events.iter().filter(|e| e.tx_index.is_none());
    let mut slash = None;
    for record in begin {
        match &record.event {
            Event::Staking(StakingEvent::Slashed { node: Some(n), reason, amount, .. })
                if n == node =>
            {
                slash = Some(OffenceSlash {
                    reason: slash_reason(reason),
                    amount: *amount,
                    frozen_until: None,
                });
            }
            Event::Registry(RegistryEvent::NodeFrozen { id, until }) if id == node => {
                if let Some(s) = slash.as_mut() {
                    s.frozen_until = Some(until.0);
                }
            }
            _ => {}
        }
    }
    slash
}

#[cfg(test)]
mod tests {
    use super::*;
    use atoll_consensus::staking::SlashReason;
    use atoll_consensus::EventRecord;
    use atoll_types::{Address, Amount, Epoch};

    fn begin(event: Event) -> EventRecord {
        EventRecord { tx_index: None, event }
    }

    #[test]
    fn a_slash_is_read_with_its_freeze_and_only_for_its_node() {
        let (node, other) = (PublicKey::from_bytes([1; 32]), PublicKey::from_bytes([2; 32]));
        let owner = Address::from_public_key(&node);
        let slashed = |n: PublicKey, amount: u128| {
            begin(Event::Staking(StakingEvent::Slashed {
                owner,
                node: Some(n),
                reason: SlashReason::ConsensusEquivocation,
                amount: Amount::new(amount),
            }))
        };
        let frozen = |id: PublicKey, until: u64| {
            begin(Event::Registry(RegistryEvent::NodeFrozen { id, until: Epoch(until) }))
        };
        let results = BlockResults {
            results: Vec::new(),
            events: vec![slashed(other, 5), slashed(node, 7), frozen(other, 9), frozen(node, 12)],
        };
        let slash = slash_of(&results, &node).expect("a slash");
        assert_eq!(slash.amount, Amount::new(7));
        assert_eq!(slash.reason, "consensus_equivocation");
        assert_eq!(slash.frozen_until, Some(12));
        // Already frozen: frozen again, not slashed.
        let results = BlockResults { results: Vec::new(), events: vec![frozen(node, 12)] };
        assert_eq!(slash_of(&results, &node), None);
    }
}
