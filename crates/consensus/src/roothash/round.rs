//! Ending rounds: applying the pool's verdicts, finalization, round failure, timeouts, and
//! appending runtime blocks.

use atoll_mkvs::Overlay;
use atoll_types::{Hash, MessageResult, Round};

use super::pool::{CommitmentPool, Finalization, Verdict};
use super::state::{delete_block, parameters, put_block, runtime_states, set_runtime_state};
use super::types::{HeaderType, RoundContext, RuntimeBlockHeader, RuntimeState};
use super::{messages, slashing, RoothashEvent};
use crate::beacon::{beacon_key, BeaconState};
use crate::context::Env;
use crate::error::StateError;
use crate::events::Event;

/// Applies `verdict` to `runtime`; returns whether the round was decided (a new block was
/// appended).
pub(super) fn apply_verdict(
    state: &mut Overlay<'_>,
    env: &Env,
    runtime: &mut RuntimeState,
    verdict: Verdict,
    timeout: bool,
    events: &mut Vec<Event>,
) -> Result<bool, StateError> {
    match verdict {
        Verdict::Pending => Ok(false),
        Verdict::DiscrepancyDetected => {
            let pool = runtime.pool.as_ref();
            if let Some((pool, (rank, scheduler))) =
                pool.and_then(|p| p.best_scheduler().map(|best| (p, best)))
            {
                events.push(Event::Roothash(RoothashEvent::ExecutionDiscrepancyDetected {
                    runtime: runtime.runtime,
                    round: pool.round(),
                    scheduler,
                    rank,
                    timeout,
                }));
            }
            Ok(false)
        }
        Verdict::Finalized(finalization) => {
            finalize(state, env, runtime, *finalization, events)?;
            Ok(true)
        }
        Verdict::Failed => {
            fail_round(state, env, runtime, events)?;
            Ok(true)
        }
    }
}

/// Evaluates every pool whose timeout has come (timeouts are counted in blocks).
pub(super) fn process_timeouts(
    state: &mut Overlay<'_>,
    env: &Env,
    events: &mut Vec<Event>,
) -> Result<(), StateError> {
    for mut runtime in runtime_states(state)? {
        let Some(committee) = runtime.committee.clone() else { continue };
        let Some(pool) = runtime.pool.as_mut() else { continue };
        if pool.timeout().is_none_or(|t| env.height < t) {
            continue;
        }
        let verdict = pool.check(&committee.pool, env.height);
        if verdict == Verdict::Pending {
            continue;
        }
        apply_verdict(state, env, &mut runtime, verdict, true, events)?;
        set_runtime_state(state, &runtime)?;
    }
    Ok(())
}

fn finalize(
    state: &mut Overlay<'_>,
    env: &Env,
    runtime: &mut RuntimeState,
    finalization: Finalization,
    events: &mut Vec<Event>,
) -> Result<(), StateError> {
    let Finalization { scheduler, rank, header, good, bad, discrepancy } = finalization;
    // The scheduler's commitment carries the round's messages (checked against the
    // header's messages hash when it was added).
    let runtime_messages = runtime
        .commitment_bodies()
        .find(|(node, body)| {
            *node == scheduler
                && body.scheduler == scheduler
                && body.header.as_ref() == Some(&header)
        })
        .map(|(_, body)| body.messages)
        .unwrap_or_default();
    let message_results =
        messages::execute(state, env, &runtime.runtime, header.round, &runtime_messages, events)?;
    messages::consume_incoming(state, &runtime.runtime, header.in_msgs_count)?;

    if let Some(committee) = &runtime.committee {
        let stats = &mut runtime.liveness;
        stats.total_rounds = stats.total_rounds.saturating_add(1);
        let workers = &committee.pool.workers;
        for (index, worker) in workers.iter().enumerate() {
            if good.contains(worker) {
                bump(&mut stats.live_rounds, index);
            }
            match committee.pool.rank(worker, header.round) {
                Some(r) if r == rank => bump(&mut stats.finalized_proposals, index),
                // Better-ranked proposers whose batches were not finalized missed theirs.
                Some(r) if r < rank => bump(&mut stats.missed_proposals, index),
                _ => {}
            }
        }
        if discrepancy && !bad.is_empty() {
            let penalties = committee.penalties.clone();
            slashing::punish_incorrect_results(
                state,
                env,
                &runtime.runtime,
                &penalties,
                &good,
                &bad,
                events,
            )?;
        }
    }
    events.push(Event::Roothash(RoothashEvent::Finalized {
        runtime: runtime.runtime,
        round: header.round,
        discrepancy,
        good,
        bad,
    }));
    let block = RuntimeBlockHeader::normal(runtime.runtime, &header, runtime.context.time);
    append_block(state, env, runtime, block, message_results, events)
}

fn fail_round(
    state: &mut Overlay<'_>,
    env: &Env,
    runtime: &mut RuntimeState,
    events: &mut Vec<Event>,
) -> Result<(), StateError> {
    // A failed round does not count against the workers: its scheduler missed a proposal.
    let scheduler = runtime.pool.as_ref().and_then(CommitmentPool::best_scheduler);
    if let (Some(committee), Some((_, scheduler))) = (&runtime.committee, scheduler) {
        if let Some(index) = committee.pool.workers.iter().position(|w| *w == scheduler) {
            bump(&mut runtime.liveness.missed_proposals, index);
        }
    }
    let Some(block) = runtime.last_block.successor(HeaderType::RoundFailed, env.time) else {
        return Err(StateError::Overflow("runtime round"));
    };
    events.push(Event::Roothash(RoothashEvent::RoundFailed {
        runtime: runtime.runtime,
        round: block.round,
    }));
    append_block(state, env, runtime, block, Vec::new(), events)
}

fn bump(counts: &mut [u64], index: usize) {
    if let Some(count) = counts.get_mut(index) {
        *count = count.saturating_add(1);
    }
}

/// Appends `block`, made in this consensus block with `message_results` from its round's
/// messages, as the runtime's latest; keeps it among the past blocks (pruning the oldest),
/// moves the round contexts on and opens the next round's pool if the runtime is served.
pub(super) fn append_block(
    state: &mut Overlay<'_>,
    env: &Env,
    runtime: &mut RuntimeState,
    block: RuntimeBlockHeader,
    message_results: Vec<MessageResult>,
    events: &mut Vec<Event>,
) -> Result<(), StateError> {
    let height = env.height;
    let made = RoundContext { height, time: env.time, entropy: entropy(state)?, message_results };
    let mut context = std::mem::replace(&mut runtime.next_context, made);
    if block.header_type != HeaderType::Normal {
        // The round did not execute: the results it was to read go to the next one.
        let mut unread = std::mem::take(&mut runtime.context.message_results);
        unread.append(&mut context.message_results);
        context.message_results = unread;
    }
    runtime.context = context;
    let keep = parameters(state)?.max_past_blocks.max(1);
    put_block(state, &block)?;
    if let Some(old) = block.round.0.checked_sub(keep) {
        delete_block(state, &block.runtime, Round(old))?;
    }
    if block.header_type == HeaderType::Normal {
        runtime.last_normal_round = block.round;
        runtime.last_normal_height = height;
    }
    let next = block.round.checked_next().ok_or(StateError::Overflow("runtime round"))?;
    runtime.pool =
        (runtime.committee.is_some() && !runtime.suspended).then(|| CommitmentPool::new(next));
    runtime.commitments.clear();
    runtime.last_block = block.clone();
    runtime.last_block_height = height;
    events.push(Event::Roothash(RoothashEvent::Block { header: block }));
    Ok(())
}

/// The beacon's entropy in the current block (zero before the beacon's genesis).
pub(super) fn entropy(state: &dyn atoll_mkvs::KeyValueRead) -> Result<Hash, StateError> {
    let beacon = crate::state::get::<BeaconState>(state, &beacon_key())?;
    Ok(beacon.map_or(Hash::ZERO, |b| b.entropy))
}
