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

/// A commitment that passed [`verify`].
pub(super) enum Verified {
    /// For the round in progress: it goes to the pool.
    Now(PublicKey, ExecutorCommitmentBody),
    /// A primary worker's for the round after it, executed before the round in progress
    /// was decided: held until it is ([`hold`]), then verified again.
    Early(PublicKey, ExecutorCommitmentBody),
}

/// Checks everything about one commitment that does not depend on the pool: signature,
/// runtime, round, previous block, messages (only the scheduler may carry them, at most
/// `max_messages`, matching the header's hash), incoming messages (a prefix of the queue)
/// and the shape of a failure commitment. One for the round after the one in progress is
/// checked for all that does not depend on the round in progress (not its previous block
/// nor its incoming messages) and must be a primary worker's.
pub(super) fn verify(
    state: &dyn atoll_mkvs::KeyValueRead,
    chain: &ChainContext,
    runtime: &RuntimeState,
    committee: &EpochCommittee,
    signed: &SignedCommitment,
) -> Result<Result<Verified, RoothashError>, StateError> {
    let Ok(body) = signed.open(chain) else { return Ok(Err(RoothashError::InvalidSignature)) };
    let node = *signed.signer();
    if body.runtime != runtime.runtime {
        return Ok(Err(RoothashError::InvalidArgument("commitment for another runtime".into())));
    }
    let expected = runtime.last_block.round.0.saturating_add(1);
    let early = body.round.0 == expected.saturating_add(1);
    if body.round.0 != expected && !(early && committee.pool.workers.contains(&node)) {
        return Ok(Err(RoothashError::WrongRound { expected, got: body.round.0 }));
    }
    if let Err(e) = check_shape(committee, node, &body) {
        return Ok(Err(e));
    }
    let Some(header) = body.header.as_ref().filter(|_| !early) else {
        return Ok(Ok(if early { Verified::Early(node, body) } else { Verified::Now(node, body) }));
    };
    if header.previous_hash != runtime.last_block.hash() {
        return Ok(Err(RoothashError::WrongPreviousHash));
    }
    let count = header.in_msgs_count as usize;
    let queued = incoming_queue(state, &runtime.runtime, count)?;
    if queued.len() != count || in_messages_hash(&queued) != header.in_msgs_hash {
        return Ok(Err(RoothashError::InvalidIncomingMessages));
    }
    Ok(Ok(Verified::Now(node, body)))
}

/// The checks on a commitment that depend on nothing but the committee: its scheduler is
/// one of the round's, only the scheduler carries messages (at most `max_messages`,
/// matching the header's hash), a failure is no scheduler's and carries nothing, and the
/// header names the commitment's round.
fn check_shape(
    committee: &EpochCommittee,
    node: PublicKey,
    body: &ExecutorCommitmentBody,
) -> Result<(), RoothashError> {
    if committee.pool.rank(&body.scheduler, body.round).is_none() {
        return Err(RoothashError::UnknownScheduler);
    }
    let is_scheduler = node == body.scheduler;
    if !is_scheduler && !body.messages.is_empty() {
        return Err(RoothashError::InvalidMessages("only the scheduler carries messages"));
    }
    let Some(header) = &body.header else {
        // A scheduler failing its own batch could fail any round it likes.
        if is_scheduler {
            return Err(RoothashError::SchedulerFailure);
        }
        // A failure-indicating commitment says nothing else.
        if !body.messages.is_empty() {
            return Err(RoothashError::InvalidMessages("a failure carries no messages"));
        }
        return Ok(());
    };
    if header.round != body.round {
        return Err(RoothashError::WrongRound { expected: body.round.0, got: header.round.0 });
    }
    if is_scheduler {
        if body.messages.len() > committee.max_messages as usize {
            return Err(RoothashError::InvalidMessages("too many messages"));
        }
        if messages_hash(&body.messages) != header.messages_hash {
            return Err(RoothashError::InvalidMessages("messages do not match their hash"));
        }
    }
    Ok(())
}

/// Holds an early commitment (see [`Verified::Early`]) until its round is in progress:
/// one per worker and scheduler (a second is a duplicate, whatever it says: whether it
/// equivocates is judged once the previous block is known). Returns whether it was new.
fn hold(
    runtime: &mut RuntimeState,
    node: PublicKey,
    body: &ExecutorCommitmentBody,
    signed: &SignedCommitment,
) -> bool {
    let held = runtime.early_commitments.iter().any(|c| {
        *c.signer() == node
            && c.decode_verified_elsewhere()
                .is_ok_and(|b| b.round == body.round && b.scheduler == body.scheduler)
    });
    if !held {
        runtime.early_commitments.push(signed.clone());
    }
    !held
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
/// submitted its own meanwhile). A primary worker's commitment for the round after the one
/// in progress is held until that round is decided (pipelining: the next round executed
/// while this one's commitments are on their way), then verified again and added. Once a
/// round is decided, the held commitments for the next go first, and the rest of the
/// transaction's are judged against the next round. The transaction fails, changing
/// nothing, only if it added, held or punished nothing: with the first refusal's error, or
/// as a duplicate.
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
    // Commitments held for the round now in progress go first (it may have been decided
    // without a commitment, at a timeout).
    let mut acted = replay_early(state, env, &chain, &mut runtime, &committee, events)?;
    // Why the first refused commitment was refused.
    let mut refused: Option<RoothashError> = None;
    for signed in &body.commitments {
        match verify(state, &chain, &runtime, &committee, signed)? {
            Ok(Verified::Now(node, commitment)) => {
                match add(state, env, &mut runtime, &committee, (node, commitment, signed), events)?
                {
                    Ok(Outcome::Decided) => {
                        acted = true;
                        // The next round is in progress: its held commitments count now,
                        // and the rest of this transaction's are judged against it.
                        replay_early(state, env, &chain, &mut runtime, &committee, events)?;
                    }
                    Ok(Outcome::Counted) => acted = true,
                    Ok(Outcome::Duplicate) => {}
                    Err(e) => {
                        refused.get_or_insert(e);
                    }
                }
            }
            Ok(Verified::Early(node, commitment)) => {
                acted |= hold(&mut runtime, node, &commitment, signed);
            }
            Err(e) => {
                refused.get_or_insert(e);
            }
        }
    }
    if !acted {
        return Err(refused.unwrap_or(RoothashError::Duplicate).into());
    }
    set_runtime_state(state, &runtime)?;
    Ok(())
}

/// What adding a verified commitment to the pool did.
enum Outcome {
    /// Added (or punished as equivocation); the round goes on.
    Counted,
    /// Added, and the round was decided.
    Decided,
    /// The pool holds it already.
    Duplicate,
}

/// Adds a verified commitment for the round in progress to its pool (punishing an
/// equivocating one instead) and applies the pool's verdict.
fn add(
    state: &mut Overlay<'_>,
    env: &Env,
    runtime: &mut RuntimeState,
    committee: &EpochCommittee,
    (node, commitment, signed): (PublicKey, ExecutorCommitmentBody, &SignedCommitment),
    events: &mut Vec<Event>,
) -> Result<Result<Outcome, RoothashError>, StateError> {
    let round = commitment.round;
    let Some(pool) = runtime.pool.as_mut() else { return Ok(Err(RoothashError::RoundDecided)) };
    let entry = ExecutorCommitment {
        node,
        scheduler: commitment.scheduler,
        header: commitment.header.clone(),
    };
    match pool.add(&committee.pool, entry, env.height) {
        Ok(()) => {}
        Err(PoolError::Duplicate) => return Ok(Ok(Outcome::Duplicate)),
        Err(PoolError::Equivocation) => {
            slashing::punish_equivocation(
                state,
                env,
                &runtime.runtime,
                &committee.penalties,
                (&node, round),
                None,
                events,
            )?;
            return Ok(Ok(Outcome::Counted));
        }
        Err(e) => return Ok(Err(pool_error(e))),
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
    Ok(Ok(if round::apply_verdict(state, env, runtime, verdict, false, events)? {
        Outcome::Decided
    } else {
        Outcome::Counted
    }))
}

/// Feeds the held early commitments whose round is now in progress to its pool (verified
/// again, now against its previous block); drops those for rounds that passed and keeps
/// those still early. Returns whether any was added or punished.
fn replay_early(
    state: &mut Overlay<'_>,
    env: &Env,
    chain: &ChainContext,
    runtime: &mut RuntimeState,
    committee: &EpochCommittee,
    events: &mut Vec<Event>,
) -> Result<bool, StateError> {
    let held = std::mem::take(&mut runtime.early_commitments);
    let mut acted = false;
    for signed in held {
        match verify(state, chain, runtime, committee, &signed)? {
            Ok(Verified::Now(node, commitment)) => {
                match add(state, env, runtime, committee, (node, commitment, &signed), events)? {
                    Ok(Outcome::Decided) => {
                        // What is left was for the round just decided.
                        runtime.early_commitments.clear();
                        return Ok(true);
                    }
                    Ok(Outcome::Counted) => acted = true,
                    Ok(Outcome::Duplicate) | Err(_) => {}
                }
            }
            Ok(Verified::Early(..)) => runtime.early_commitments.push(signed),
            // Built on a block that did not come, or stale: dropped.
            Err(_) => {}
        }
    }
    Ok(acted)
}
