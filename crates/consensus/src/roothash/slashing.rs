//! Punishing compute nodes: incorrect results (after a resolved discrepancy), equivocation
//! (two different signed commitments or proposals for one round) and liveness.
//!
//! The amounts and freeze intervals are the runtime descriptor's `slashing` rules, falling
//! back to the staking parameters' rule for the same reason.

use std::collections::BTreeSet;

use atoll_mkvs::{KeyValueRead, Overlay};
use atoll_types::runtime_message::messages_hash;
use atoll_types::{
    Address, Amount, ChainContext, Epoch, Hash, PublicKey, Round, RuntimeId, Signable, Signed,
};

use super::state::{mark_punished, parameters, runtime_state, was_punished};
use super::types::{ExecutorCommitmentBody, ProposalHeader, RuntimeState};
use super::{EquivocationEvidence, Evidence, RoothashError, RoothashEvent};
use crate::context::Env;
use crate::error::{CallError, StateError};
use crate::events::Event;
use crate::registry::types::RuntimePenalties;
use crate::registry::{self, RegistryEvent};
use crate::sharemath::mul_div_floor;
use crate::staking::{self, Slash, SlashReason};

fn rule(
    state: &dyn KeyValueRead,
    penalties: &RuntimePenalties,
    reason: SlashReason,
) -> Result<Option<Slash>, StateError> {
    Ok(match penalties.slashing.get(&reason) {
        Some(rule) => Some(*rule),
        None => staking::parameters(state)?.slashing.get(&reason).copied(),
    })
}

/// The penalties in force for `runtime`: its epoch committee's snapshot, or (with no
/// committee) the registry's rules in force.
pub(super) fn penalties_in_force(
    state: &dyn KeyValueRead,
    runtime: &RuntimeState,
) -> Result<RuntimePenalties, StateError> {
    if let Some(committee) = &runtime.committee {
        return Ok(committee.penalties.clone());
    }
    let status = registry::runtime_status(state, &runtime.runtime)?;
    Ok(match status.penalties {
        Some(p) => p,
        None => match registry::runtime(state, &runtime.runtime)? {
            Some(descriptor) => descriptor.penalties(),
            None => return Err(StateError::Missing("runtime descriptor")),
        },
    })
}

/// Slashes `node`'s entity for `reason` by the rule of `penalties`; a liveness slash also
/// freezes the node (incorrect results and equivocation do not, as in the reference: a
/// validator that also computes stays a validator). Returns the entity's address and what
/// was taken (nothing if the node is unknown or no rule applies).
pub(super) fn slash_node(
    state: &mut Overlay<'_>,
    env: &Env,
    runtime: &RuntimeId,
    penalties: &RuntimePenalties,
    node: &PublicKey,
    reason: SlashReason,
    events: &mut Vec<Event>,
) -> Result<Option<(Address, Amount)>, StateError> {
    let Some(descriptor) = registry::node(state, node)? else { return Ok(None) };
    let Some(rule) = rule(state, penalties, reason)? else { return Ok(None) };
    let entity = Address::from_public_key(&descriptor.entity_id);
    let taken = staking::take_escrow(state, &entity, rule.amount, events)?;
    if reason == SlashReason::RuntimeLiveness && rule.freeze_interval > 0 {
        let until = Epoch(env.epoch.0.saturating_add(rule.freeze_interval));
        let mut status = registry::node_status(state, node)?;
        status.frozen_until = Some(status.frozen_until.map_or(until, |u| u.max(until)));
        registry::set_node_status(state, node, &status)?;
        events.push(Event::Registry(RegistryEvent::NodeFrozen { id: *node, until }));
    }
    events.push(Event::Roothash(RoothashEvent::NodeSlashed {
        runtime: *runtime,
        node: *node,
        reason,
        amount: taken,
    }));
    Ok(Some((entity, taken)))
}

fn percent(amount: Amount, percent: u8) -> Amount {
    let part = mul_div_floor(amount.base_units(), u128::from(percent.min(100)), 100);
    Amount::new(part.unwrap_or(0))
}

/// After a resolved discrepancy: slashes the entities of `bad` nodes and pays
/// `slash_reward_percent` of what was taken, in equal parts, into the escrow of the
/// entities of `good` nodes (the remainder stays in the common pool).
pub(super) fn punish_incorrect_results(
    state: &mut Overlay<'_>,
    env: &Env,
    runtime: &RuntimeId,
    penalties: &RuntimePenalties,
    good: &[PublicKey],
    bad: &[PublicKey],
    events: &mut Vec<Event>,
) -> Result<(), StateError> {
    let mut taken = Amount::ZERO;
    for node in bad {
        if let Some((_, amount)) = slash_node(
            state,
            env,
            runtime,
            penalties,
            node,
            SlashReason::RuntimeIncorrectResults,
            events,
        )? {
            taken = taken.checked_add(amount).map_err(|_| StateError::Overflow("slash"))?;
        }
    }
    let mut entities = BTreeSet::new();
    for node in good {
        if let Some(descriptor) = registry::node(state, node)? {
            entities.insert(Address::from_public_key(&descriptor.entity_id));
        }
    }
    let reward = percent(taken, parameters(state)?.slash_reward_percent);
    if entities.is_empty() || reward.is_zero() {
        return Ok(());
    }
    let each = Amount::new(reward.base_units() / entities.len() as u128);
    for entity in entities {
        staking::reward_escrow_from_common_pool(state, &entity, each, events)?;
    }
    Ok(())
}

/// Slashes the `(node, round)` offender for equivocating (once per node and round) and
/// pays `evidence_reward_percent` of it to `reporter`, if any.
pub(super) fn punish_equivocation(
    state: &mut Overlay<'_>,
    env: &Env,
    runtime: &RuntimeId,
    penalties: &RuntimePenalties,
    (node, round): (&PublicKey, Round),
    reporter: Option<&Address>,
    events: &mut Vec<Event>,
) -> Result<bool, StateError> {
    if was_punished(state, runtime, node, round)? {
        return Ok(false);
    }
    mark_punished(state, runtime, node, round)?;
    let slashed =
        slash_node(state, env, runtime, penalties, node, SlashReason::RuntimeEquivocation, events)?;
    if let (Some(reporter), Some((entity, taken))) = (reporter, slashed) {
        // Reporting oneself earns nothing: not the offending entity, nor any of its nodes
        // (the offender's own account among them), which would turn a slash into a refund.
        let reporter_entity = match registry::node_by_address(state, reporter)? {
            Some(node) => Address::from_public_key(&node.entity_id),
            None => *reporter,
        };
        if reporter_entity != entity {
            let reward = percent(taken, parameters(state)?.evidence_reward_percent);
            staking::pay_from_common_pool(state, reporter, reward, events)?;
        }
    }
    Ok(true)
}

/// Something a node signs once per round (per batch, for commitments).
trait RoundSigned: Signable + PartialEq {
    fn runtime(&self) -> RuntimeId;
    fn round(&self) -> Round;
    /// What else two of them must share to conflict: the batch a commitment is about.
    fn slot(&self) -> Option<PublicKey>;
    /// The runtime block it builds on, if it names one. Two built on different blocks do
    /// not conflict: the chain can only ever take the one on the block that came (a worker
    /// that executed a round ahead on the block it expected signs again on another).
    fn parent(&self) -> Option<Hash>;
    /// Whether the chain would have accepted it from `signer`: only well-formed things
    /// prove anything (a malformed one can be told apart from an honest re-send).
    fn well_formed(&self, signer: &PublicKey) -> bool;
}

impl RoundSigned for ExecutorCommitmentBody {
    fn runtime(&self) -> RuntimeId {
        self.runtime
    }
    fn round(&self) -> Round {
        self.round
    }
    fn slot(&self) -> Option<PublicKey> {
        Some(self.scheduler)
    }
    fn parent(&self) -> Option<Hash> {
        self.header.as_ref().map(|h| h.previous_hash)
    }
    fn well_formed(&self, signer: &PublicKey) -> bool {
        match &self.header {
            None => self.messages.is_empty() && *signer != self.scheduler,
            Some(header) => {
                header.round == self.round
                    && if *signer == self.scheduler {
                        messages_hash(&self.messages) == header.messages_hash
                    } else {
                        self.messages.is_empty()
                    }
            }
        }
    }
}

impl RoundSigned for ProposalHeader {
    fn runtime(&self) -> RuntimeId {
        self.runtime
    }
    fn round(&self) -> Round {
        self.round
    }
    fn slot(&self) -> Option<PublicKey> {
        None
    }
    fn parent(&self) -> Option<Hash> {
        Some(self.previous_hash)
    }
    fn well_formed(&self, _signer: &PublicKey) -> bool {
        true
    }
}

/// The signer and round if `a` and `b` are two different, validly signed things by one
/// node for the same round (and batch) of `runtime`, on the same runtime block.
fn conflict<T: RoundSigned>(
    a: &Signed<T>,
    b: &Signed<T>,
    chain: &ChainContext,
    runtime: &RuntimeId,
) -> Result<(PublicKey, Round), &'static str> {
    if a.signer() != b.signer() {
        return Err("signed by different nodes");
    }
    let (Ok(x), Ok(y)) = (a.open(chain), b.open(chain)) else {
        return Err("a signature does not verify");
    };
    if x.runtime() != *runtime || y.runtime() != *runtime {
        return Err("for another runtime");
    }
    if x.round() != y.round() || x.slot() != y.slot() {
        return Err("not for the same round and batch");
    }
    if let (Some(p), Some(q)) = (x.parent(), y.parent()) {
        if p != q {
            return Err("built on different runtime blocks");
        }
    }
    if !x.well_formed(a.signer()) || !y.well_formed(b.signer()) {
        return Err("not well-formed");
    }
    if x == y {
        return Err("the two are the same");
    }
    Ok((*a.signer(), x.round()))
}

/// Runs `roothash.Evidence`: two different things signed by one node for one round of the
/// runtime, not older than the past blocks kept.
pub(super) fn evidence(
    state: &mut Overlay<'_>,
    env: &Env,
    caller: &Address,
    body: &Evidence,
    events: &mut Vec<Event>,
) -> Result<(), CallError> {
    let runtime = runtime_state(state, &body.runtime)?.ok_or(RoothashError::NoSuchRuntime)?;
    let chain = crate::chain::chain_info(state)?.chain_context;
    let invalid = |why| CallError::from(RoothashError::InvalidEvidence(why));
    let proven = match &body.evidence {
        EquivocationEvidence::Commitments(a, b) => conflict(a, b, &chain, &body.runtime),
        EquivocationEvidence::Proposals(a, b) => conflict(a, b, &chain, &body.runtime),
    };
    let (node, round) = proven.map_err(invalid)?;
    let keep = parameters(state)?.max_past_blocks;
    let current = runtime.last_block.round.0.saturating_add(1);
    if round.0 > current || round.0.saturating_add(keep) < current {
        return Err(invalid("round too old or in the future"));
    }
    if registry::node(state, &node)?.is_none() {
        return Err(invalid("unknown node"));
    }
    let penalties = penalties_in_force(state, &runtime)?;
    if !punish_equivocation(
        state,
        env,
        &body.runtime,
        &penalties,
        (&node, round),
        Some(caller),
        events,
    )? {
        return Err(invalid("already punished"));
    }
    Ok(())
}
