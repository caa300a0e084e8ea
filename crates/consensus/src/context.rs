//! What the engine tells the state machine about a block: everything that is not in the
//! transactions themselves. The state machine reads time and randomness only from here.

use atoll_types::{Address, Hash, Height, PublicKey};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

/// The block being applied.
#[derive(
    Clone, PartialEq, Eq, Debug, Default, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub struct BlockContext {
    /// Its height.
    pub height: Height,
    /// Its timestamp (unix seconds): stamped on runtime blocks, and the time TEE collateral
    /// is judged at (see [`Env::time`]).
    pub time: u64,
    /// The entity whose validator proposed this block.
    pub proposer: Option<Address>,
    /// The entity whose validator proposed the previous block.
    pub previous_proposer: Option<Address>,
    /// Entities whose validators signed the previous block, with their voting power.
    pub signers: Vec<(Address, u64)>,
    /// Misbehaviour the engine proved (e.g. double signing), to be slashed in this block.
    pub evidence: Vec<Misbehavior>,
    /// The previous block's id (entropy for the insecure beacon).
    pub previous_block_id: Hash,
}

/// Proven misbehaviour of an entity's node.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Misbehavior {
    /// The entity whose escrow is slashed.
    pub entity: Address,
    /// The offending node, which is frozen (if known).
    pub node: Option<PublicKey>,
    /// What it did.
    pub reason: crate::staking::SlashReason,
}

/// Where in the chain a call executes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Env {
    /// The block's height.
    pub height: Height,
    /// The epoch of that height.
    pub epoch: atoll_types::Epoch,
    /// The block's timestamp, as the proposer set it and the validators accepted it (no
    /// earlier than its parent's, not ahead of their clocks by more than the allowed
    /// drift): stamped on runtime blocks, and the time TEE collateral is judged at.
    pub time: u64,
}

impl Env {
    /// The block's height and time, as TEE evidence is judged at.
    pub fn consensus_time(&self) -> atoll_tee::ConsensusTime {
        atoll_tee::ConsensusTime::of_block(self.height.0, self.time)
    }
}
