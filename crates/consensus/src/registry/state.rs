//! Where the registry keeps its state.
//!
//! | key | value |
//! |---|---|
//! | `03 01 ‖ entity id` | [`Entity`] |
//! | `03 02 ‖ node id` | [`Node`] |
//! | `03 03 ‖ node id` | [`NodeStatus`] |
//! | `03 04 ‖ runtime id` | [`Runtime`] |
//! | `03 05 ‖ runtime id` | [`RuntimeStatus`] |
//! | `03 06 ‖ consensus key` | node id (uniqueness index) |
//! | `03 07` | [`RegistryParameters`] |
//! | `03 08 ‖ node address` | node id (who signs as this node) |

use atoll_mkvs::{KeyValueRead, Overlay};
use atoll_types::{Address, PublicKey, RuntimeId};

use super::types::{Entity, Node, NodeStatus, Runtime, RuntimeStatus};
use super::RegistryParameters;
use crate::error::StateError;
use crate::state::{self, key, prefix};

pub(crate) const ENTITIES: [u8; 2] = [prefix::REGISTRY, 0x01];
pub(crate) const NODES: [u8; 2] = [prefix::REGISTRY, 0x02];
pub(crate) const NODE_STATUS: [u8; 2] = [prefix::REGISTRY, 0x03];
pub(crate) const RUNTIMES: [u8; 2] = [prefix::REGISTRY, 0x04];
pub(crate) const RUNTIME_STATUS: [u8; 2] = [prefix::REGISTRY, 0x05];
pub(crate) const CONSENSUS_KEYS: [u8; 2] = [prefix::REGISTRY, 0x06];
pub(crate) const PARAMETERS: [u8; 2] = [prefix::REGISTRY, 0x07];
pub(crate) const NODE_ADDRESSES: [u8; 2] = [prefix::REGISTRY, 0x08];
pub(crate) const VRF_KEYS: [u8; 2] = [prefix::REGISTRY, 0x09];

/// The node registered with this VRF key.
pub fn node_by_vrf_key(
    state: &dyn KeyValueRead,
    vrf_key: &atoll_crypto::VrfPublicKey,
) -> Result<Option<PublicKey>, StateError> {
    state::get(state, &key(&[&VRF_KEYS, &vrf_key.0]))
}

/// The registry parameters.
pub fn parameters(state: &dyn KeyValueRead) -> Result<RegistryParameters, StateError> {
    state::require(state, &PARAMETERS, "registry parameters")
}

/// An entity.
pub fn entity(state: &dyn KeyValueRead, id: &PublicKey) -> Result<Option<Entity>, StateError> {
    state::get(state, &key(&[&ENTITIES, id.as_bytes()]))
}

pub(crate) fn set_entity(
    state: &mut Overlay<'_>,
    entity: Option<&Entity>,
    id: &PublicKey,
) -> Result<(), StateError> {
    let k = key(&[&ENTITIES, id.as_bytes()]);
    match entity {
        Some(e) => state::put(state, &k, e),
        None => state::delete(state, &k),
    }
}

/// A node.
pub fn node(state: &dyn KeyValueRead, id: &PublicKey) -> Result<Option<Node>, StateError> {
    state::get(state, &key(&[&NODES, id.as_bytes()]))
}

/// The node that signs transactions as `address`, if any.
pub fn node_by_address(
    state: &dyn KeyValueRead,
    address: &Address,
) -> Result<Option<Node>, StateError> {
    match state::get::<PublicKey>(state, &key(&[&NODE_ADDRESSES, address.as_bytes()]))? {
        Some(id) => node(state, &id),
        None => Ok(None),
    }
}

/// The node using `consensus_key`, if any.
pub fn node_by_consensus_key(
    state: &dyn KeyValueRead,
    consensus_key: &PublicKey,
) -> Result<Option<PublicKey>, StateError> {
    state::get(state, &key(&[&CONSENSUS_KEYS, consensus_key.as_bytes()]))
}

pub(crate) fn put_node(
    state: &mut Overlay<'_>,
    node: &Node,
    previous: Option<&Node>,
) -> Result<(), StateError> {
    if let Some(old) = previous {
        state::delete(state, &key(&[&CONSENSUS_KEYS, old.consensus_key.as_bytes()]))?;
        state::delete(state, &key(&[&VRF_KEYS, &old.vrf_key.0]))?;
    }
    state::put(state, &key(&[&NODES, node.id.as_bytes()]), node)?;
    state::put(state, &key(&[&CONSENSUS_KEYS, node.consensus_key.as_bytes()]), &node.id)?;
    state::put(state, &key(&[&VRF_KEYS, &node.vrf_key.0]), &node.id)?;
    state::put(
        state,
        &key(&[&NODE_ADDRESSES, Address::from_public_key(&node.id).as_bytes()]),
        &node.id,
    )
}

pub(crate) fn remove_node(state: &mut Overlay<'_>, node: &Node) -> Result<(), StateError> {
    state::delete(state, &key(&[&NODES, node.id.as_bytes()]))?;
    state::delete(state, &key(&[&NODE_STATUS, node.id.as_bytes()]))?;
    state::delete(state, &key(&[&CONSENSUS_KEYS, node.consensus_key.as_bytes()]))?;
    state::delete(state, &key(&[&VRF_KEYS, &node.vrf_key.0]))?;
    state::delete(state, &key(&[&NODE_ADDRESSES, Address::from_public_key(&node.id).as_bytes()]))
}

/// A node's status (default if never frozen).
pub fn node_status(state: &dyn KeyValueRead, id: &PublicKey) -> Result<NodeStatus, StateError> {
    Ok(state::get(state, &key(&[&NODE_STATUS, id.as_bytes()]))?.unwrap_or_default())
}

pub(crate) fn set_node_status(
    state: &mut Overlay<'_>,
    id: &PublicKey,
    status: &NodeStatus,
) -> Result<(), StateError> {
    state::put(state, &key(&[&NODE_STATUS, id.as_bytes()]), status)
}

/// Every node, in id order.
pub fn nodes(state: &dyn KeyValueRead) -> Result<Vec<Node>, StateError> {
    Ok(state::scan::<Node>(state, &NODES)?.into_iter().map(|(_, n)| n).collect())
}

/// Every entity, in id order.
pub fn entities(state: &dyn KeyValueRead) -> Result<Vec<Entity>, StateError> {
    Ok(state::scan::<Entity>(state, &ENTITIES)?.into_iter().map(|(_, e)| e).collect())
}

/// A runtime.
pub fn runtime(state: &dyn KeyValueRead, id: &RuntimeId) -> Result<Option<Runtime>, StateError> {
    state::get(state, &key(&[&RUNTIMES, id.as_bytes()]))
}

pub(crate) fn put_runtime(state: &mut Overlay<'_>, runtime: &Runtime) -> Result<(), StateError> {
    state::put(state, &key(&[&RUNTIMES, runtime.id.as_bytes()]), runtime)
}

/// Every runtime, in id order.
pub fn runtimes(state: &dyn KeyValueRead) -> Result<Vec<Runtime>, StateError> {
    Ok(state::scan::<Runtime>(state, &RUNTIMES)?.into_iter().map(|(_, r)| r).collect())
}

/// A runtime's status.
pub fn runtime_status(
    state: &dyn KeyValueRead,
    id: &RuntimeId,
) -> Result<RuntimeStatus, StateError> {
    Ok(state::get(state, &key(&[&RUNTIME_STATUS, id.as_bytes()]))?.unwrap_or_default())
}

pub(crate) fn set_runtime_status(
    state: &mut Overlay<'_>,
    id: &RuntimeId,
    status: &RuntimeStatus,
) -> Result<(), StateError> {
    state::put(state, &key(&[&RUNTIME_STATUS, id.as_bytes()]), status)
}

/// The state key of an entity (for proofs).
pub fn entity_key(id: &PublicKey) -> Vec<u8> {
    key(&[&ENTITIES, id.as_bytes()])
}

/// The state key of a node (for proofs).
pub fn node_key(id: &PublicKey) -> Vec<u8> {
    key(&[&NODES, id.as_bytes()])
}

/// The state key of a runtime (for proofs).
pub fn runtime_key(id: &RuntimeId) -> Vec<u8> {
    key(&[&RUNTIMES, id.as_bytes()])
}
