//! Tokens between the consensus layer and runtimes: deposits queued as incoming messages,
//! and runtime messages executed at finalization with the runtime's account as caller.

use atoll_mkvs::Overlay;
use atoll_types::{Address, IncomingMessage, MessageResult, Round, RuntimeId, RuntimeMessage};

use super::state::{
    incoming_queue, incoming_queue_len, parameters, push_incoming, remove_incoming, runtime_state,
    set_runtime_state,
};
use super::{RoothashError, RoothashEvent, SubmitMsg};
use crate::context::Env;
use crate::error::{CallError, StateError};
use crate::events::Event;
use crate::staking::{self, methods, Shares, StakingMessage};

/// Runs `roothash.SubmitMsg`: moves the tokens to the runtime's account and queues a
/// deposit for the named address (or the caller's) in the runtime.
pub(super) fn submit_msg(
    state: &mut Overlay<'_>,
    caller: &Address,
    body: &SubmitMsg,
    events: &mut Vec<Event>,
) -> Result<(), CallError> {
    let params = parameters(state)?;
    let mut runtime = runtime_state(state, &body.runtime)?.ok_or(RoothashError::NoSuchRuntime)?;
    if body.amount < params.min_deposit {
        return Err(RoothashError::DepositTooSmall.into());
    }
    if incoming_queue_len(state, &body.runtime)? >= params.max_in_messages as usize {
        return Err(RoothashError::QueueFull.into());
    }
    let to = Address::from_runtime_id(&body.runtime);
    methods::transfer(state, caller, &methods::Transfer { to, amount: body.amount }, events)?;
    let message = IncomingMessage {
        id: runtime.next_in_msg_id,
        from: *caller,
        to: body.to.unwrap_or(*caller),
        amount: body.amount,
    };
    runtime.next_in_msg_id =
        runtime.next_in_msg_id.checked_add(1).ok_or(StateError::Overflow("message id"))?;
    push_incoming(state, &body.runtime, &message)?;
    set_runtime_state(state, &runtime)?;
    events.push(Event::Roothash(RoothashEvent::IncomingMessageQueued {
        runtime: body.runtime,
        message,
    }));
    Ok(())
}

/// Removes the first `count` queued incoming messages (a finalized round consumed them).
pub(super) fn consume_incoming(
    state: &mut Overlay<'_>,
    runtime: &RuntimeId,
    count: u32,
) -> Result<(), StateError> {
    for message in incoming_queue(state, runtime, count as usize)? {
        remove_incoming(state, runtime, message.id)?;
    }
    Ok(())
}

fn staking_message(message: &RuntimeMessage) -> StakingMessage {
    match message {
        RuntimeMessage::StakingTransfer { to, amount } => {
            StakingMessage::Transfer(methods::Transfer { to: *to, amount: *amount })
        }
        RuntimeMessage::StakingWithdraw { from, amount } => {
            StakingMessage::Withdraw(methods::Withdraw { from: *from, amount: *amount })
        }
        RuntimeMessage::StakingAddEscrow { escrow, amount } => {
            StakingMessage::AddEscrow(methods::AddEscrow { escrow: *escrow, amount: *amount })
        }
        RuntimeMessage::StakingReclaimEscrow { escrow, shares } => {
            StakingMessage::ReclaimEscrow(methods::ReclaimEscrow {
                escrow: *escrow,
                shares: Shares(*shares),
            })
        }
    }
}

/// Executes a finalized round's messages in order, each in its own checkpoint (a failing
/// message changes nothing and does not stop the others), and returns their results.
pub(super) fn execute(
    state: &mut Overlay<'_>,
    env: &Env,
    runtime: &RuntimeId,
    round: Round,
    messages: &[RuntimeMessage],
    events: &mut Vec<Event>,
) -> Result<Vec<MessageResult>, StateError> {
    let caller = Address::from_runtime_id(runtime);
    let mut results = Vec::with_capacity(messages.len());
    for (index, message) in messages.iter().enumerate() {
        state.checkpoint();
        let mut message_events = Vec::new();
        let error = match staking::handle_message(
            state,
            env,
            &caller,
            &staking_message(message),
            &mut message_events,
        ) {
            Ok(()) => {
                state.release()?;
                events.append(&mut message_events);
                None
            }
            Err(CallError::Tx(e)) => {
                state.rollback()?;
                Some((e.module, e.code))
            }
            Err(CallError::Fatal(e)) => return Err(e),
        };
        let result = MessageResult { round, index: index as u32, error };
        events.push(Event::Roothash(RoothashEvent::Message {
            runtime: *runtime,
            result: result.clone(),
        }));
        results.push(result);
    }
    Ok(results)
}
