//! Epochs in the roothash: runtime genesis blocks, liveness evaluation of the ended epoch,
//! and the new committee with its `EpochTransition` (or `Suspended`) block.

use atoll_mkvs::Overlay;
use atoll_types::{Epoch, RuntimeId};

use super::pool::{CommitmentPool, PoolCommittee};
use super::round::append_block;
use super::slashing::slash_node;
use super::state::{put_block, runtime_state, set_runtime_state};
use super::types::{
    EpochCommittee, HeaderType, LivenessStatistics, RoundContext, RuntimeBlockHeader, RuntimeState,
};
use super::RoothashEvent;
use crate::context::Env;
use crate::error::StateError;
use crate::events::Event;
use crate::registry::types::{Runtime, RuntimeKind};
use crate::registry::{self};
use crate::scheduler;
use crate::staking::SlashReason;

/// Longest suspension after repeated liveness failures: `2^6` epochs.
const MAX_SUSPENSION_EXPONENT: u8 = 6;

/// The committee the roothash uses for `runtime` at `epoch`, if the scheduler elected one
/// and the runtime is not suspended.
fn current_committee(
    state: &Overlay<'_>,
    runtime: &Runtime,
    epoch: Epoch,
) -> Result<Option<EpochCommittee>, StateError> {
    let status = registry::runtime_status(state, &runtime.id)?;
    if status.suspended {
        return Ok(None);
    }
    let Some(committee) = scheduler::committee(state, &runtime.id)? else { return Ok(None) };
    if committee.epoch != epoch || committee.workers.is_empty() {
        return Ok(None);
    }
    let penalties = status.penalties.unwrap_or_else(|| runtime.penalties());
    Ok(Some(EpochCommittee {
        epoch,
        pool: PoolCommittee {
            workers: committee.workers,
            backups: committee.backup_workers,
            allowed_stragglers: runtime.executor.allowed_stragglers,
            round_timeout: runtime.executor.round_timeout.max(1),
        },
        max_messages: runtime.executor.max_messages,
        penalties,
    }))
}

fn fresh_liveness(committee: &Option<EpochCommittee>) -> LivenessStatistics {
    LivenessStatistics::new(committee.as_ref().map_or(0, |c| c.pool.workers.len()))
}

/// A runtime's state at its genesis block (round 0), served by `committee` if any.
fn genesis_state(
    runtime: RuntimeId,
    env: &Env,
    committee: Option<EpochCommittee>,
    entropy: atoll_types::Hash,
) -> RuntimeState {
    let block = RuntimeBlockHeader::genesis(runtime, env.time);
    let height = env.height;
    // Rounds 1 and 2 execute with the genesis block's context.
    let made = RoundContext { height, time: env.time, entropy, message_results: Vec::new() };
    RuntimeState {
        runtime,
        suspended: committee.is_none(),
        pool: committee.as_ref().map(|_| CommitmentPool::new(atoll_types::Round(1))),
        liveness: fresh_liveness(&committee),
        committee,
        last_block: block,
        last_block_height: height,
        last_normal_round: atoll_types::Round(0),
        last_normal_height: height,
        commitments: Vec::new(),
        early_commitments: Vec::new(),
        context: made.clone(),
        next_context: made,
        next_in_msg_id: 0,
    }
}

/// Gives every compute runtime without roothash state its genesis block (at genesis, and
/// for runtimes registered since, at the next epoch).
pub(super) fn init_runtimes(state: &mut Overlay<'_>, env: &Env) -> Result<(), StateError> {
    for runtime in registry::runtimes(state)? {
        if runtime.kind != RuntimeKind::Compute || runtime_state(state, &runtime.id)?.is_some() {
            continue;
        }
        let committee = current_committee(state, &runtime, env.epoch)?;
        let fresh = genesis_state(runtime.id, env, committee, super::round::entropy(state)?);
        put_block(state, &fresh.last_block)?;
        set_runtime_state(state, &fresh)?;
    }
    Ok(())
}

/// Closes the ended epoch before anything else in the first block of the next: every
/// runtime's workers are judged by the epoch's liveness statistics, so that the elections
/// that follow already leave out the suspended and frozen ones.
pub(super) fn close_epoch(
    state: &mut Overlay<'_>,
    env: &Env,
    events: &mut Vec<Event>,
) -> Result<(), StateError> {
    for rs in super::state::runtime_states(state)? {
        if let Some(committee) = &rs.committee {
            evaluate_liveness(state, env, &rs.runtime, committee, &rs.liveness, events)?;
        }
    }
    Ok(())
}

/// The epoch transition: the new committee and the block that starts the epoch's rounds.
pub(super) fn transition(
    state: &mut Overlay<'_>,
    env: &Env,
    events: &mut Vec<Event>,
) -> Result<(), StateError> {
    init_runtimes(state, env)?;
    for runtime in registry::runtimes(state)? {
        if runtime.kind != RuntimeKind::Compute {
            continue;
        }
        let Some(mut rs) = runtime_state(state, &runtime.id)? else { continue };
        let committee = current_committee(state, &runtime, env.epoch)?;
        let was_suspended = rs.suspended;
        rs.liveness = fresh_liveness(&committee);
        // Held commitments were signed for the ended epoch's rounds and committee.
        rs.early_commitments.clear();
        rs.suspended = committee.is_none();
        rs.committee = committee;
        // A suspended runtime gets one `Suspended` block, not one per epoch.
        let header_type = match (rs.suspended, was_suspended) {
            (true, true) => None,
            (true, false) => Some(HeaderType::Suspended),
            (false, _) => Some(HeaderType::EpochTransition),
        };
        match header_type {
            Some(kind) => {
                let block = rs
                    .last_block
                    .successor(kind, env.time)
                    .ok_or(StateError::Overflow("runtime round"))?;
                append_block(state, env, &mut rs, block, Vec::new(), events)?;
            }
            None => {
                rs.pool = None;
                rs.commitments.clear();
            }
        }
        set_runtime_state(state, &rs)?;
    }
    Ok(())
}

/// Judges each primary worker as the reference does: with at least `min_live_rounds_eval`
/// finalized rounds, a worker is live if its good rounds reach `min_live_rounds_percent` of
/// them and it missed at most `max_missed_proposals_percent` of its proposals. A faulty
/// worker is suspended for `2^failures` epochs (at most 64); once its failures reach
/// `max_liveness_fails` (0: never) it is slashed and frozen, on every further failure too.
/// A live epoch forgives one earlier failure.
fn evaluate_liveness(
    state: &mut Overlay<'_>,
    env: &Env,
    runtime: &RuntimeId,
    committee: &EpochCommittee,
    stats: &LivenessStatistics,
    events: &mut Vec<Event>,
) -> Result<(), StateError> {
    let rule = &committee.penalties;
    if stats.total_rounds < rule.min_live_rounds_eval {
        return Ok(());
    }
    let min_live = u128::from(stats.total_rounds) * u128::from(rule.min_live_rounds_percent) / 100;
    for (index, node) in committee.pool.workers.iter().enumerate() {
        let count = |v: &[u64]| u128::from(v.get(index).copied().unwrap_or(0));
        let live_rounds = count(&stats.live_rounds);
        let missed = count(&stats.missed_proposals);
        let proposals = missed + count(&stats.finalized_proposals);
        let max_missed = match rule.max_missed_proposals_percent {
            0 => missed,
            percent => proposals * u128::from(percent) / 100,
        };
        let live = live_rounds >= min_live && missed <= max_missed;
        let mut status = registry::node_status(state, node)?;
        let fault = status.faults.entry(*runtime).or_default();
        if live {
            fault.failures = fault.failures.saturating_sub(1);
        } else {
            fault.failures = fault.failures.saturating_add(1);
            let exponent = fault.failures.min(MAX_SUSPENSION_EXPONENT);
            fault.suspended_until = Epoch(env.epoch.0.saturating_add(1u64 << exponent));
            events.push(Event::Roothash(RoothashEvent::LivenessFault {
                runtime: *runtime,
                node: *node,
                failures: fault.failures,
                suspended_until: fault.suspended_until,
            }));
        }
        let slash =
            !live && rule.max_liveness_fails > 0 && fault.failures >= rule.max_liveness_fails;
        if fault.failures == 0 && fault.suspended_until <= env.epoch {
            status.faults.remove(runtime);
        }
        registry::set_node_status(state, node, &status)?;
        if slash {
            slash_node(
                state,
                env,
                runtime,
                &committee.penalties,
                node,
                SlashReason::RuntimeLiveness,
                events,
            )?;
        }
    }
    Ok(())
}
