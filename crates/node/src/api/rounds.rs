//! ParaTime round history, from the block store's round index: the latest rounds of a
//! runtime summarized (outcome, latency, commitments, discrepancy, slashes) and one round
//! block by block — what the explorer's round timeline draws. Any node serves it, whether
//! or not it runs the ParaTime.

use atoll_client::model::{
    BlockMark, ErrorBody, RoundDiscrepancy, RoundEventsResponse, RoundSlash, RoundStep,
    RoundSummary, RoundsQuery, RoundsResponse,
};
use atoll_consensus::roothash::{HeaderType, RoothashEvent};
use atoll_engine::rounds::RoundEntry;
use atoll_types::{Height, Round, RuntimeId};
use axum::extract::State;
use axum::Json;

use super::error::{page_limit, ApiPath, ApiQuery};
use super::queries::parse_runtime;
use super::{ApiError, ApiState};

const DEFAULT_ROUNDS: u32 = 20;

/// A slash reason as the API names it (`runtime_incorrect_results`, …).
pub(super) fn slash_reason(reason: &atoll_consensus::staking::SlashReason) -> String {
    serde_json::to_value(reason)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}
const MAX_ROUNDS: u32 = 100;

/// The latest rounds of a runtime, newest first, as the consensus blocks recorded them.
#[utoipa::path(get, path = "/v1/runtimes/{id}/rounds", tag = "paratimes",
    params(("id" = String, Path, pattern = "^[0-9a-fA-F]{64}$", description = "runtime id, hex"), RoundsQuery),
    responses((status = 200, body = RoundsResponse), (status = 400, body = ErrorBody)))]
pub(crate) async fn rounds(
    State(api): State<ApiState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<RoundsQuery>,
) -> Result<Json<RoundsResponse>, ApiError> {
    let id = parse_runtime(&id)?;
    let limit = page_limit(q.limit, DEFAULT_ROUNDS, MAX_ROUNDS)?;
    let node = api.node.clone();
    let rounds = tokio::task::spawn_blocking(move || {
        let store = node.blocks();
        // One more than asked: the oldest round's opening is the close of the one before.
        let found =
            store.recent_rounds(&id, q.before.map(Round), limit + 1).map_err(ApiError::internal)?;
        let mut rounds = Vec::with_capacity(found.len());
        for (i, (round, history)) in found.iter().enumerate().take(limit) {
            let previous = match found.get(i + 1) {
                Some((r, h)) if r.0 + 1 == round.0 => closed(h),
                _ if round.0 == 0 => None,
                _ => closed(
                    &store.round_history(&id, Round(round.0 - 1)).map_err(ApiError::internal)?,
                ),
            };
            rounds.push(summarize(*round, history, previous));
        }
        Ok::<_, ApiError>(rounds)
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(Json(RoundsResponse { rounds }))
}

/// One round block by block: commitments, the discrepancy, the backups' commitments,
/// finalization or failure and the slashes it imposed, with heights and times.
#[utoipa::path(get, path = "/v1/runtimes/{id}/rounds/{round}/events", tag = "paratimes",
    params(("id" = String, Path, pattern = "^[0-9a-fA-F]{64}$", description = "runtime id, hex"),
        ("round" = u64, Path, description = "runtime round")),
    responses((status = 200, body = RoundEventsResponse), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn round_events(
    State(api): State<ApiState>,
    ApiPath((id, round)): ApiPath<(String, u64)>,
) -> Result<Json<RoundEventsResponse>, ApiError> {
    let id: RuntimeId = parse_runtime(&id)?;
    let node = api.node.clone();
    let (history, previous) = tokio::task::spawn_blocking(move || {
        let store = node.blocks();
        let history = store.round_history(&id, Round(round))?;
        let previous = match round.checked_sub(1) {
            Some(r) => closed(&store.round_history(&id, Round(r))?),
            None => None,
        };
        Ok::<_, atoll_engine::StoreError>((history, previous))
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    if history.is_empty() {
        return Err(ApiError::not_found(format!(
            "no block this node keeps recorded anything of round {round} of runtime {id}"
        )));
    }
    let summary = summarize(Round(round), &history, previous);
    let steps = history
        .into_iter()
        .map(|(height, entry)| RoundStep {
            height: height.0,
            time: entry.time,
            events: entry
                .events
                .iter()
                .map(|e| serde_json::to_value(e).unwrap_or_default())
                .collect(),
        })
        .collect();
    Ok(Json(RoundEventsResponse { summary, steps }))
}

/// Where a round's runtime block was made, if it was.
fn closed(history: &[(Height, RoundEntry)]) -> Option<BlockMark> {
    history.iter().rev().find_map(|(height, entry)| {
        entry
            .events
            .iter()
            .any(|e| matches!(e, RoothashEvent::Block { .. }))
            .then_some(BlockMark { height: height.0, time: entry.time })
    })
}

/// A round's summary from what the blocks recorded of it; `opened` is where the previous
/// round closed.
fn summarize(
    round: Round,
    history: &[(Height, RoundEntry)],
    opened: Option<BlockMark>,
) -> RoundSummary {
    let mut summary = RoundSummary {
        round: round.0,
        outcome: "in_progress".into(),
        opened,
        closed: closed(history),
        latency_seconds: None,
        latency_blocks: None,
        schedulers: Vec::new(),
        commitments: 0,
        failure_indications: 0,
        discrepancy: None,
        good: Vec::new(),
        bad: Vec::new(),
        slashed: Vec::new(),
    };
    for (height, entry) in history {
        for event in &entry.events {
            match event {
                RoothashEvent::ExecutorCommitted { scheduler, failure, .. } => {
                    if *failure {
                        summary.failure_indications += 1;
                    } else {
                        summary.commitments += 1;
                    }
                    if !summary.schedulers.contains(scheduler) {
                        summary.schedulers.push(*scheduler);
                    }
                }
                RoothashEvent::ExecutionDiscrepancyDetected {
                    scheduler, rank, timeout, ..
                } => {
                    summary.discrepancy = Some(RoundDiscrepancy {
                        height: height.0,
                        timeout: *timeout,
                        scheduler: *scheduler,
                        rank: *rank,
                    });
                }
                RoothashEvent::Finalized { good, bad, .. } => {
                    summary.outcome = "finalized".into();
                    summary.good.clone_from(good);
                    summary.bad.clone_from(bad);
                }
                RoothashEvent::RoundFailed { .. } => summary.outcome = "failed".into(),
                RoothashEvent::Block { header } => {
                    let outcome = match header.header_type {
                        HeaderType::Normal => "finalized",
                        HeaderType::RoundFailed => "failed",
                        HeaderType::EpochTransition => "epoch_transition",
                        HeaderType::Suspended => "suspended",
                    };
                    summary.outcome = outcome.into();
                }
                RoothashEvent::NodeSlashed { node, reason, amount, .. } => {
                    summary.slashed.push(RoundSlash {
                        node: *node,
                        reason: slash_reason(reason),
                        amount: *amount,
                    });
                }
                _ => {}
            }
        }
    }
    if let (Some(o), Some(c)) = (summary.opened, summary.closed) {
        summary.latency_seconds = Some(c.time.saturating_sub(o.time));
        summary.latency_blocks = Some(c.height.saturating_sub(o.height));
    }
    summary
}

#[cfg(test)]
mod tests {
    use atoll_consensus::roothash::RuntimeBlockHeader;
    use atoll_types::PublicKey;

    use super::*;

    fn key(b: u8) -> PublicKey {
        PublicKey::from_bytes([b; 32])
    }

    #[test]
    fn a_round_with_a_discrepancy_is_summarized_from_its_blocks() {
        let runtime = RuntimeId::from_bytes([1; 32]);
        let round = Round(5);
        let committed = |node, failure| RoothashEvent::ExecutorCommitted {
            runtime,
            round,
            node: key(node),
            scheduler: key(1),
            failure,
        };
        let mut header = RuntimeBlockHeader::genesis(runtime, 130);
        header.round = round;
        let history = vec![
            (Height(10), RoundEntry { time: 110, events: vec![committed(1, false)] }),
            (
                Height(11),
                RoundEntry {
                    time: 111,
                    events: vec![
                        committed(2, false),
                        RoothashEvent::ExecutionDiscrepancyDetected {
                            runtime,
                            round,
                            scheduler: key(1),
                            rank: 0,
                            timeout: false,
                        },
                    ],
                },
            ),
            (
                Height(14),
                RoundEntry {
                    time: 130,
                    events: vec![
                        committed(3, false),
                        RoothashEvent::Finalized {
                            runtime,
                            round,
                            discrepancy: true,
                            good: vec![key(1), key(3)],
                            bad: vec![key(2)],
                        },
                        RoothashEvent::NodeSlashed {
                            runtime,
                            node: key(2),
                            reason: atoll_consensus::staking::SlashReason::RuntimeIncorrectResults,
                            amount: atoll_types::Amount::new(7),
                        },
                        RoothashEvent::Block { header },
                    ],
                },
            ),
        ];
        let opened = Some(BlockMark { height: 9, time: 100 });
        let s = summarize(round, &history, opened);
        assert_eq!(s.outcome, "finalized");
        assert_eq!(s.commitments, 3);
        assert_eq!(s.schedulers, [key(1)]);
        assert_eq!(s.closed, Some(BlockMark { height: 14, time: 130 }));
        assert_eq!((s.latency_seconds, s.latency_blocks), (Some(30), Some(5)));
        let d = s.discrepancy.expect("discrepancy");
        assert_eq!((d.height, d.timeout, d.rank), (11, false, 0));
        assert_eq!(s.bad, [key(2)]);
        assert_eq!(s.slashed.len(), 1);
        assert_eq!(s.slashed[0].reason, "runtime_incorrect_results");
        // Without its closing block the round is still in progress.
        let open = summarize(round, &history[..2], opened);
        assert_eq!((open.outcome.as_str(), open.latency_seconds), ("in_progress", None));
    }
}
