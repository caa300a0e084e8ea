//! Where the roothash keeps its state.
//!
//! | key | value |
//! |---|---|
//! | `07 01` | [`RoothashParameters`] |
//! | `07 02 ‖ runtime id` | [`RuntimeState`] |
//! | `07 03 ‖ runtime id ‖ round (u64 BE)` | past [`RuntimeBlockHeader`]s |
//! | `07 04 ‖ runtime id ‖ id (u64 BE)` | queued [`IncomingMessage`]s |
//! | `07 05 ‖ runtime id ‖ node id ‖ round (u64 BE)` | `()`: equivocation already punished |

use atoll_mkvs::{KeyValueRead, Overlay};
use atoll_types::{IncomingMessage, PublicKey, Round, RuntimeId};

use super::types::{RoothashParameters, RuntimeBlockHeader, RuntimeState};
use crate::error::StateError;
use crate::state::{self, key, prefix};

pub(crate) const PARAMETERS: [u8; 2] = [prefix::ROOTHASH, 0x01];
const RUNTIMES: [u8; 2] = [prefix::ROOTHASH, 0x02];
const BLOCKS: [u8; 2] = [prefix::ROOTHASH, 0x03];
const IN_MSGS: [u8; 2] = [prefix::ROOTHASH, 0x04];
const PUNISHED: [u8; 2] = [prefix::ROOTHASH, 0x05];

/// The roothash parameters.
pub fn parameters(state: &dyn KeyValueRead) -> Result<RoothashParameters, StateError> {
    state::require(state, &PARAMETERS, "roothash parameters")
}

/// The state key of a runtime's roothash state (for proofs).
pub fn runtime_state_key(runtime: &RuntimeId) -> Vec<u8> {
    key(&[&RUNTIMES, runtime.as_bytes()])
}

/// A runtime's roothash state, if the runtime has had a genesis block.
pub fn runtime_state(
    state: &dyn KeyValueRead,
    runtime: &RuntimeId,
) -> Result<Option<RuntimeState>, StateError> {
    state::get(state, &runtime_state_key(runtime))
}

/// Every runtime's roothash state, in runtime id order.
pub fn runtime_states(state: &dyn KeyValueRead) -> Result<Vec<RuntimeState>, StateError> {
    Ok(state::scan(state, &RUNTIMES)?.into_iter().map(|(_, v)| v).collect())
}

pub(crate) fn set_runtime_state(
    state: &mut Overlay<'_>,
    runtime: &RuntimeState,
) -> Result<(), StateError> {
    state::put(state, &runtime_state_key(&runtime.runtime), runtime)
}

/// The state key of a past runtime block (for proofs).
pub fn block_key(runtime: &RuntimeId, round: Round) -> Vec<u8> {
    key(&[&BLOCKS, runtime.as_bytes(), &round.0.to_be_bytes()])
}

/// The runtime block of `round`, if it is still kept.
pub fn block(
    state: &dyn KeyValueRead,
    runtime: &RuntimeId,
    round: Round,
) -> Result<Option<RuntimeBlockHeader>, StateError> {
    state::get(state, &block_key(runtime, round))
}

pub(crate) fn put_block(
    state: &mut Overlay<'_>,
    block: &RuntimeBlockHeader,
) -> Result<(), StateError> {
    state::put(state, &block_key(&block.runtime, block.round), block)
}

pub(crate) fn delete_block(
    state: &mut Overlay<'_>,
    runtime: &RuntimeId,
    round: Round,
) -> Result<(), StateError> {
    state::delete(state, &block_key(runtime, round))
}

fn in_msg_key(runtime: &RuntimeId, id: u64) -> Vec<u8> {
    key(&[&IN_MSGS, runtime.as_bytes(), &id.to_be_bytes()])
}

/// The first `limit` queued incoming messages of a runtime, oldest first.
pub fn incoming_queue(
    state: &dyn KeyValueRead,
    runtime: &RuntimeId,
    limit: usize,
) -> Result<Vec<IncomingMessage>, StateError> {
    let prefix = key(&[&IN_MSGS, runtime.as_bytes()]);
    let mut out = Vec::new();
    for entry in state.prefix(&prefix) {
        if out.len() >= limit {
            break;
        }
        let (k, bytes) = entry?;
        let message = atoll_types::decode(&bytes, state::MAX_STATE_VALUE)
            .map_err(|e| StateError::Corrupt { key: state::hex(&k), reason: e.to_string() })?;
        out.push(message);
    }
    Ok(out)
}

/// How many incoming messages a runtime has queued.
pub fn incoming_queue_len(
    state: &dyn KeyValueRead,
    runtime: &RuntimeId,
) -> Result<usize, StateError> {
    let prefix = key(&[&IN_MSGS, runtime.as_bytes()]);
    let mut count = 0;
    for entry in state.prefix(&prefix) {
        entry?;
        count += 1;
    }
    Ok(count)
}

pub(crate) fn push_incoming(
    state: &mut Overlay<'_>,
    runtime: &RuntimeId,
    message: &IncomingMessage,
) -> Result<(), StateError> {
    state::put(state, &in_msg_key(runtime, message.id), message)
}

pub(crate) fn remove_incoming(
    state: &mut Overlay<'_>,
    runtime: &RuntimeId,
    id: u64,
) -> Result<(), StateError> {
    state::delete(state, &in_msg_key(runtime, id))
}

fn punished_key(runtime: &RuntimeId, node: &PublicKey, round: Round) -> Vec<u8> {
    key(&[&PUNISHED, runtime.as_bytes(), node.as_bytes(), &round.0.to_be_bytes()])
}

pub(crate) fn was_punished(
    state: &dyn KeyValueRead,
    runtime: &RuntimeId,
    node: &PublicKey,
    round: Round,
) -> Result<bool, StateError> {
    Ok(state.get(&punished_key(runtime, node, round))?.is_some())
}

pub(crate) fn mark_punished(
    state: &mut Overlay<'_>,
    runtime: &RuntimeId,
    node: &PublicKey,
    round: Round,
) -> Result<(), StateError> {
    state::put(state, &punished_key(runtime, node, round), &())
}
