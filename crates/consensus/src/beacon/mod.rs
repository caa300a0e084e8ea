//! The beacon module: epochs and the randomness that drives elections.
//!
//! With the VRF backend, registered nodes submit VRF proofs over the epoch's input `alpha`
//! once `proof_delay` blocks of the epoch have passed. The proofs collected in epoch `E`
//! drive the elections for `E + 1`: only nodes that submitted one are electable to ParaTime
//! committees, ordered by their outputs, and the next `alpha` hashes the outputs in node-id
//! order. Fewer proofs than `min_proofs` make the next epoch's beacon *weak*: no ParaTime
//! committees are elected for it. The insecure backend (devnets) takes its entropy from the
//! previous block id, which a proposer can bias.

use atoll_crypto::{VrfOutput, VrfProof};
use atoll_mkvs::{KeyValueRead, Overlay};
use atoll_types::{Address, ChainContext, Epoch, Hash, Height, PublicKey};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::context::{BlockContext, Env};
use crate::error::{CallError, CoreError, ModuleError, StateError};
use crate::events::Event;
use crate::module::{decode_body, Module};
use crate::registry;
use crate::state::{self, key, prefix};

/// The module's name.
pub const MODULE_NAME: &str = "beacon";
/// `beacon.VrfProve`
pub const VRF_PROVE: &str = "beacon.VrfProve";

const STATE: [u8; 2] = [prefix::BEACON, 0x01];
const SUBMISSIONS: [u8; 2] = [prefix::BEACON, 0x02];
const PARAMETERS: [u8; 2] = [prefix::BEACON, 0x03];
const ELECTABLE: [u8; 2] = [prefix::BEACON, 0x04];
/// Each registered node's VRF key as fixed at the start of the epoch: `node id -> key`.
const EPOCH_VRF_KEYS: [u8; 2] = [prefix::BEACON, 0x05];

/// Fixes every registered node's VRF key for the epoch that starts now, when its alpha is
/// fixed too: a node that registers a new key later cannot have chosen it for this alpha,
/// so grinding keys offline for a better output gains nothing until the next epoch, whose
/// alpha is not known yet.
pub(crate) fn snapshot_vrf_keys(state: &mut Overlay<'_>) -> Result<(), StateError> {
    for entry in state.prefix(&EPOCH_VRF_KEYS).collect::<Result<Vec<_>, _>>()? {
        state::delete(state, &entry.0)?;
    }
    for node in crate::registry::nodes(state)? {
        state::put(state, &key(&[&EPOCH_VRF_KEYS, node.id.as_bytes()]), &node.vrf_key)?;
    }
    Ok(())
}

/// Where randomness comes from.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BeaconBackend {
    /// Entropy from the previous block id: biasable, for devnets only.
    Insecure,
    /// VRF proofs from registered nodes.
    Vrf {
        /// Blocks into the epoch before proofs are accepted.
        proof_delay: u64,
        /// Proofs needed for a strong beacon.
        min_proofs: u32,
    },
}

/// Beacon parameters.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BeaconParameters {
    /// The backend.
    pub backend: BeaconBackend,
    /// Gas cost of `beacon.VrfProve`.
    pub gas_cost: u64,
}

impl Default for BeaconParameters {
    fn default() -> Self {
        Self { backend: BeaconBackend::Insecure, gas_cost: 1_000 }
    }
}

/// The beacon of the current epoch.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BeaconState {
    /// The current epoch.
    pub epoch: Epoch,
    /// The first height of the current epoch.
    pub epoch_start: Height,
    /// The VRF input of this epoch.
    pub alpha: Hash,
    /// Randomness for this epoch's elections.
    pub entropy: Hash,
    /// Too few proofs were collected for this epoch: no ParaTime committees.
    pub weak: bool,
}

/// A node's VRF proof for an epoch.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VrfProve {
    /// The epoch the proof is for (must be the current one).
    pub epoch: Epoch,
    /// The proof over that epoch's `alpha`.
    pub proof: VrfProof,
}

/// Why a VRF proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BeaconError {
    /// The proof is for another epoch, or sent before the proof delay.
    #[error("proof is early or late: {0}")]
    WrongTime(&'static str),
    /// The sender is not a registered node.
    #[error("sender is not a registered node")]
    NotANode,
    /// The node already submitted this proof.
    #[error("duplicate proof")]
    Duplicate,
    /// The node already submitted a different proof.
    #[error("conflicting proof")]
    Conflicting,
    /// The proof does not verify.
    #[error("invalid VRF proof")]
    InvalidProof,
    /// The chain uses the insecure beacon.
    #[error("VRF proofs are not used by this chain's beacon")]
    NotVrf,
}

impl ModuleError for BeaconError {
    fn module(&self) -> &'static str {
        MODULE_NAME
    }

    fn code(&self) -> u32 {
        match self {
            BeaconError::WrongTime(_) => 1,
            BeaconError::NotANode => 2,
            BeaconError::Duplicate => 3,
            BeaconError::Conflicting => 4,
            BeaconError::InvalidProof => 5,
            BeaconError::NotVrf => 6,
        }
    }
}

/// The state key of the current beacon (for proofs).
pub fn beacon_key() -> Vec<u8> {
    STATE.to_vec()
}

/// The beacon parameters.
pub fn parameters(state: &dyn KeyValueRead) -> Result<BeaconParameters, StateError> {
    state::require(state, &PARAMETERS, "beacon parameters")
}

/// The current beacon.
pub fn beacon(state: &dyn KeyValueRead) -> Result<BeaconState, StateError> {
    state::require(state, &STATE, "beacon state")
}

/// VRF proofs submitted so far this epoch, by node id.
pub fn submissions(
    state: &dyn KeyValueRead,
) -> Result<Vec<(PublicKey, VrfProve, VrfOutput)>, StateError> {
    state::scan::<(VrfProve, VrfOutput)>(state, &SUBMISSIONS)?
        .into_iter()
        .map(|(k, (p, o))| Ok((node_id_at(&k)?, p, o)))
        .collect()
}

/// The election output of each node electable to ParaTime committees this epoch. With the
/// insecure backend every node is electable, with an output derived from the entropy.
pub fn electable_output(
    state: &dyn KeyValueRead,
    node: &PublicKey,
) -> Result<Option<VrfOutput>, StateError> {
    match parameters(state)?.backend {
        BeaconBackend::Insecure => {
            let entropy = beacon(state)?.entropy;
            Ok(Some(VrfOutput(
                Hash::digest_parts(&[entropy.as_bytes(), node.as_bytes()]).into_bytes(),
            )))
        }
        BeaconBackend::Vrf { .. } => state::get(state, &key(&[&ELECTABLE, node.as_bytes()])),
    }
}

fn node_id_at(k: &[u8]) -> Result<PublicKey, StateError> {
    k.get(2..)
        .and_then(|b| PublicKey::try_from(b).ok())
        .ok_or_else(|| StateError::Corrupt { key: state::hex(k), reason: "beacon key".into() })
}

/// The genesis beacon.
pub(crate) fn init_genesis(
    state: &mut Overlay<'_>,
    params: &BeaconParameters,
    chain: &ChainContext,
    epoch: Epoch,
    start: Height,
) -> Result<(), StateError> {
    state::put(state, &PARAMETERS, params)?;
    let alpha = Hash::digest_parts(&[b"atoll/beacon: genesis", chain.hash().as_bytes()]);
    let weak = matches!(params.backend, BeaconBackend::Vrf { .. });
    state::put(
        state,
        &STATE,
        &BeaconState { epoch, epoch_start: start, alpha, entropy: alpha, weak },
    )
}

fn vrf_prove(
    state: &mut Overlay<'_>,
    env: &Env,
    caller: &Address,
    body: &VrfProve,
) -> Result<(), CallError> {
    let BeaconBackend::Vrf { proof_delay, .. } = parameters(state)?.backend else {
        return Err(BeaconError::NotVrf.into());
    };
    let current = beacon(state)?;
    if body.epoch != current.epoch {
        return Err(BeaconError::WrongTime("not the current epoch").into());
    }
    if env.height.0 < current.epoch_start.0.saturating_add(proof_delay) {
        return Err(BeaconError::WrongTime("before the proof delay").into());
    }
    let node = registry::node_by_address(state, caller)?.ok_or(BeaconError::NotANode)?;
    let k = key(&[&SUBMISSIONS, node.id.as_bytes()]);
    if let Some((previous, _)) = state::get::<(VrfProve, VrfOutput)>(state, &k)? {
        return Err(if previous == *body {
            BeaconError::Duplicate
        } else {
            BeaconError::Conflicting
        }
        .into());
    }
    let vrf_key: atoll_crypto::VrfPublicKey =
        state::get(state, &key(&[&EPOCH_VRF_KEYS, node.id.as_bytes()]))?
            .ok_or(BeaconError::WrongTime("the node registered after this epoch began"))?;
    let output = vrf_key
        .verify(current.alpha.as_bytes(), &body.proof)
        .map_err(|_| BeaconError::InvalidProof)?;
    state::put(state, &k, &(*body, output))?;
    Ok(())
}

/// Moves to a new epoch: derives the next alpha and entropy and the electable set.
fn transition(
    state: &mut Overlay<'_>,
    env: &Env,
    ctx: &BlockContext,
    events: &mut Vec<Event>,
) -> Result<(), StateError> {
    let params = parameters(state)?;
    let previous = beacon(state)?;
    let epoch_bytes = env.epoch.0.to_le_bytes();
    let next = match params.backend {
        BeaconBackend::Insecure => {
            let entropy = Hash::digest_parts(&[
                b"atoll/beacon: insecure",
                ctx.previous_block_id.as_bytes(),
                &epoch_bytes,
            ]);
            BeaconState {
                epoch: env.epoch,
                epoch_start: env.height,
                alpha: entropy,
                entropy,
                weak: false,
            }
        }
        BeaconBackend::Vrf { min_proofs, .. } => {
            let proofs = submissions(state)?;
            for entry in state.prefix(&ELECTABLE).collect::<Result<Vec<_>, _>>()? {
                state::delete(state, &entry.0)?;
            }
            for (node, _, _) in &proofs {
                state::delete(state, &key(&[&SUBMISSIONS, node.as_bytes()]))?;
            }
            let weak = proofs.len() < min_proofs as usize;
            let alpha = if weak {
                Hash::digest_parts(&[
                    b"atoll/beacon: weak",
                    &epoch_bytes,
                    previous.alpha.as_bytes(),
                ])
            } else {
                let mut parts: Vec<&[u8]> = vec![b"atoll/beacon: alpha", &epoch_bytes];
                for (_, _, output) in &proofs {
                    parts.push(&output.0);
                }
                Hash::digest_parts(&parts)
            };
            if !weak {
                for (node, _, output) in &proofs {
                    state::put(state, &key(&[&ELECTABLE, node.as_bytes()]), output)?;
                }
            }
            snapshot_vrf_keys(state)?;
            BeaconState { epoch: env.epoch, epoch_start: env.height, alpha, entropy: alpha, weak }
        }
    };
    state::put(state, &STATE, &next)?;
    events.push(Event::Beacon(BeaconEvent::Epoch { epoch: next.epoch, weak: next.weak }));
    Ok(())
}

/// Beacon events.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BeaconEvent {
    /// A new epoch started.
    Epoch {
        /// The epoch.
        epoch: Epoch,
        /// Its beacon is weak: no ParaTime committees this epoch.
        weak: bool,
    },
}

/// The beacon module.
pub struct Beacon;

impl Module for Beacon {
    fn name(&self) -> &'static str {
        MODULE_NAME
    }

    fn begin_block(
        &self,
        state: &mut Overlay<'_>,
        env: &Env,
        ctx: &BlockContext,
        epoch_changed: Option<Epoch>,
        events: &mut Vec<Event>,
    ) -> Result<(), StateError> {
        if epoch_changed.is_some() {
            transition(state, env, ctx, events)?;
        }
        Ok(())
    }

    fn gas_cost(&self, state: &dyn KeyValueRead, method: &str) -> Result<Option<u64>, StateError> {
        Ok((method == VRF_PROVE).then_some(parameters(state)?.gas_cost))
    }

    fn deliver(
        &self,
        state: &mut Overlay<'_>,
        env: &Env,
        caller: &Address,
        method: &str,
        bytes: &[u8],
        _events: &mut Vec<Event>,
    ) -> Result<(), CallError> {
        match method {
            VRF_PROVE => vrf_prove(state, env, caller, &decode_body(bytes)?),
            other => Err(CoreError::UnknownMethod(other.to_owned()).into()),
        }
    }
}
