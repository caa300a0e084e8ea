//! `roothash.ExecutorCommit`: verifying executor commitments and feeding them to the pool.

use atoll_mkvs::Overlay;
use atoll_types::runtime_message::{in_messages_hash, messages_hash};
use atoll_types::{ChainContext, PublicKey};

use super::pool::{ExecutorCommitment, PoolError};
use super::state::{incoming_queue, runtime_state, set_runtime_state};
use super::types::{EpochCommittee, ExecutorCommitmentBody, RuntimeState, SignedCommitment};
use super::{
    round, slashing, ExecutorCommit, RoothashError, RoothashEvent, MAX_COMMITMENTS_PER_TX,
};
use crate::context::Env;
use crate::error::{CallError, StateError};
use crate::events::Event;

/// Checks everything about one commitment that does not depend on the pool: signature,
/// runtime, round, previous block, messages (only the scheduler may carry them, at most
/// `max_messages`, matching the header's hash), incoming messages (a prefix of the queue)
/// and the shape of a failure commitment.
pub(super) fn verify(
    state: &dyn atoll_mkvs::KeyValueRead,
    chain: &ChainContext,
    runtime: &RuntimeState,
    committee: &EpochCommittee,
    signed: &SignedCommitment,
) -> Result<Result<(PublicKey, ExecutorCommitmentBody), RoothashError>, StateError> {
    let Ok(body) = signed.open(chain) else { return Ok(Err(RoothashError::InvalidSignature)) };
    let node = *signed.signer();
    if body.runtime != runtime.runtime {
        return Ok(Err(RoothashError::InvalidArgument("commitment for another runtime".into())));
    }
    let expected = runtime.last_block.round.0.saturating_add(1);
    if body.round.0 != expected {
        return Ok(Err(RoothashError::WrongRound { expected, got: body.round.0 }));
    }
    if committee.pool.rank(&body.scheduler, body.round).is_none() {
        return Ok(Err(RoothashError::UnknownScheduler));
    }
    let is_scheduler = node == body.scheduler;
    if !is_scheduler && !body.messages.is_empty() {
        return Ok(Err(RoothashError::InvalidMessages("only the scheduler carries messages")));
    }
    let Some(header) = &body.header else {
        // A scheduler failing its own batch could fail any round it likes.
        if is_scheduler {
            return Ok(Err(RoothashError::SchedulerFailure));
        }
        // A failure-indicating commitment says nothing else.
        if !body.messages.is_empty() {
            return Ok(Err(RoothashError::InvalidMessages("a failure carries no messages")));
        }
        return Ok(Ok((node, body)));
    };
    if header.round != body.round {
        return Ok(Err(RoothashError::WrongRound { expected, got: header.round.0 }));
    }
    if header.previous_hash != runtime.last_block.hash() {
        return Ok(Err(RoothashError::WrongPreviousHash));
    }
    if is_scheduler {
        if body.messages.len() > committee.max_messages as usize {
            return Ok(Err(RoothashError::InvalidMessages("too many messages")));
        }
        if messages_hash(&body.messages) != header.messages_hash {
            return Ok(Err(RoothashError::InvalidMessages("messages do not match their hash")));
        }
    }
    let count = header.in_msgs_count as usize;
    let queued = incoming_queue(state, &runtime.runtime, count)?;
    if queued.len() != count || in_messages_hash(&queued) != header.in_msgs_hash {
        return Ok(Err(RoothashError::InvalidIncomingMessages));
    }
    Ok(Ok((node, body)))
}

fn pool_error(e: PoolError) -> RoothashError {
    match e {
        PoolError::WrongRound { expected, got } => RoothashError::WrongRound { expected, got },
        PoolError::UnknownScheduler => RoothashError::UnknownScheduler,
        PoolError::NotInCommittee => RoothashError::NotInCommittee,
        PoolError::Duplicate => RoothashError::Duplicate,
        // Handled by the caller; kept total for safety.
        PoolError::Equivocation => RoothashError::InvalidEvidence("equivocation"),
        PoolError::Decided => RoothashError::RoundDecided,
        PoolError::SchedulerFailure => RoothashError::SchedulerFailure,
    }
}

/// Runs `roothash.ExecutorCommit`. Each commitment is judged on its own: one the chain
/// refuses (invalid, stale, from a node that may not vote now) is skipped, an equivocating
/// one is punished instead of added, and one the pool already holds is skipped (a
/// scheduler brings its workers' commitments on chain together, and a worker may have
/// submitted its own meanwhile). The transaction fails, changing nothing, only if it added
/// or punished nothing: with the first refusal's error, or as a duplicate. Once the round
/// is decided, the rest of the transaction's commitments (for the decided round) are
/// ignored.
pub(super) fn executor_commit(
    state: &mut Overlay<'_>,
    env: &Env,
    body: &ExecutorCommit,
    events: &mut Vec<Event>,
) -> Result<(), CallError> {
    if body.commitments.is_empty() || body.commitments.len() > MAX_COMMITMENTS_PER_TX {
        return Err(RoothashError::InvalidArgument(format!(
            "between 1 and {MAX_COMMITMENTS_PER_TX} commitments"
        ))
        .into());
    }
    let mut runtime = runtime_state(state, &body.runtime)?.ok_or(RoothashError::NoSuchRuntime)?;
    let committee = match (&runtime.committee, runtime.suspended) {
        (Some(c), false) => c.clone(),
        _ => return Err(RoothashError::RuntimeSuspended.into()),
    };
    let chain = crate::chain::chain_info(state)?.chain_context;
    // Whether a commitment was added or punished (the transaction changed something).
    let mut acted = false;
    // Why the first refused commitment was refused.
    let mut refused: Option<RoothashError> = None;
    for signed in &body.commitments {
        let (node, commitment) = match verify(state, &chain, &runtime, &committee, signed)? {
            Ok(opened) => opened,
            Err(e) => {
                refused.get_or_insert(e);
                continue;
            }
        };
        let round = commitment.round;
        let Some(pool) = runtime.pool.as_mut() else {
            refused.get_or_insert(RoothashError::RoundDecided);
            break;
        };
        let entry = ExecutorCommitment {
            node,
            scheduler: commitment.scheduler,
            header: commitment.header.clone(),
        };
        match pool.add(&committee.pool, entry, env.height) {
            Ok(()) => acted = true,
            Err(PoolError::Duplicate) => continue,
            Err(PoolError::Equivocation) => {
                acted = true;
                slashing::punish_equivocation(
                    state,
                    env,
                    &runtime.runtime,
                    &committee.penalties,
                    (&node, round),
                    None,
                    events,
                )?;
                continue;
            }
            Err(e) => {
                refused.get_or_insert(pool_error(e));
                continue;
            }
        }
        runtime.commitments.push(signed.clone());
        events.push(Event::Roothash(RoothashEvent::ExecutorCommitted {
            runtime: runtime.runtime,
            round,
            node,
            scheduler: commitment.scheduler,
            failure: commitment.header.is_none(),
        }));
        let verdict = pool.check(&committee.pool, env.height);
        if round::apply_verdict(state, env, &mut runtime, verdict, false, events)? {
            break;
        }
    }
    if !acted {
        return Err(refused.unwrap_or(RoothashError::Duplicate).into());
    }
    set_runtime_state(state, &runtime)?;
    Ok(())
}
