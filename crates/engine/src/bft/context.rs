//! The Malachite [`Context`]: Atoll's heights, validator addresses, values, proposals and
//! votes as the BFT engine sees them.
//!
//! The value agreed on is a block id; the block itself travels as proposal parts. A
//! validator's address is its consensus public key, so a commit certificate from the engine
//! maps one to one onto [`crate::CommitCertificate`]: the precommit signed here is exactly
//! the [`crate::Vote`] that certificate verification reconstructs.

use std::fmt;

use atoll_consensus::scheduler::Validator as SchedulerValidator;
use atoll_types::{Hash, PublicKey, Signature};
use borsh::{BorshDeserialize, BorshSerialize};
use malachitebft_app_channel::app::types::core::{
    self as mc, LinearTimeouts, NilOrVal, Round, SignedExtension, VoteType,
};

use crate::certificate::{Vote as EngineVote, VoteKind};

/// The context type that ties Atoll's types to the engine.
#[derive(Clone, Copy, Debug, Default)]
pub struct AtollContext;

/// A validator as the engine names it: its consensus public key.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, BorshSerialize, BorshDeserialize,
)]
pub struct ValidatorAddress(pub PublicKey);

impl fmt::Display for ValidatorAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = self.0.to_string();
        f.write_str(&hex[..12])
    }
}

impl mc::Address for ValidatorAddress {}

/// A block height as the engine counts it.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Debug,
    Default,
    BorshSerialize,
    BorshDeserialize,
)]
pub struct BlockHeight(pub u64);

impl fmt::Display for BlockHeight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl mc::Height for BlockHeight {
    const ZERO: Self = Self(0);
    const INITIAL: Self = Self(1);

    fn increment_by(&self, n: u64) -> Self {
        Self(self.0.saturating_add(n))
    }

    fn decrement_by(&self, n: u64) -> Option<Self> {
        self.0.checked_sub(n).map(Self)
    }

    fn as_u64(&self) -> u64 {
        self.0
    }
}

impl From<atoll_types::Height> for BlockHeight {
    fn from(height: atoll_types::Height) -> Self {
        Self(height.0)
    }
}

impl From<BlockHeight> for atoll_types::Height {
    fn from(height: BlockHeight) -> Self {
        atoll_types::Height(height.0)
    }
}

/// The value consensus decides: the id of a block.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, BorshSerialize, BorshDeserialize,
)]
pub struct BlockId(pub Hash);

impl fmt::Display for BlockId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl mc::Value for BlockId {
    type Id = BlockId;

    fn id(&self) -> BlockId {
        *self
    }
}

/// A signed proposal: "at this height and round, I propose this block".
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct Proposal {
    /// Height.
    pub height: BlockHeight,
    /// Round.
    pub round: Round,
    /// The proposed block.
    pub value: BlockId,
    /// The round in which the proposer saw a polka for this block, or nil.
    pub pol_round: Round,
    /// The proposer.
    pub proposer: ValidatorAddress,
}

impl mc::Proposal<AtollContext> for Proposal {
    fn height(&self) -> BlockHeight {
        self.height
    }

    fn round(&self) -> Round {
        self.round
    }

    fn value(&self) -> &BlockId {
        &self.value
    }

    fn take_value(self) -> BlockId {
        self.value
    }

    fn pol_round(&self) -> Round {
        self.pol_round
    }

    fn validator_address(&self) -> &ValidatorAddress {
        &self.proposer
    }
}

/// A prevote or precommit as the engine handles it.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct ConsensusVote {
    /// Prevote or precommit.
    pub kind: VoteKind,
    /// Height.
    pub height: BlockHeight,
    /// Round.
    pub round: Round,
    /// The block voted for, or nil.
    pub value: NilOrVal<BlockId>,
    /// The voter.
    pub validator: ValidatorAddress,
}

impl ConsensusVote {
    /// The vote in the form that is signed and that certificates carry. `None` for a vote
    /// whose round is nil, which the engine never signs.
    pub fn to_signed_form(&self) -> Option<EngineVote> {
        Some(EngineVote {
            kind: self.kind,
            height: atoll_types::Height(self.height.0),
            round: self.round.as_u32()?,
            block_id: match self.value {
                NilOrVal::Nil => None,
                NilOrVal::Val(id) => Some(id.0),
            },
            validator: self.validator.0,
        })
    }
}

impl mc::Vote<AtollContext> for ConsensusVote {
    fn height(&self) -> BlockHeight {
        self.height
    }

    fn round(&self) -> Round {
        self.round
    }

    fn value(&self) -> &NilOrVal<BlockId> {
        &self.value
    }

    fn take_value(self) -> NilOrVal<BlockId> {
        self.value
    }

    fn vote_type(&self) -> VoteType {
        match self.kind {
            VoteKind::Prevote => VoteType::Prevote,
            VoteKind::Precommit => VoteType::Precommit,
        }
    }

    fn validator_address(&self) -> &ValidatorAddress {
        &self.validator
    }

    fn extension(&self) -> Option<&SignedExtension<AtollContext>> {
        None
    }

    fn take_extension(&mut self) -> Option<SignedExtension<AtollContext>> {
        None
    }

    fn extend(self, _extension: SignedExtension<AtollContext>) -> Self {
        // Vote extensions are disabled on Atoll: the height parameters never ask for them.
        self
    }
}

/// One validator with its voting power for a height.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct ConsensusValidator {
    /// Its address (consensus key).
    pub address: ValidatorAddress,
    /// Its consensus key.
    pub public_key: PublicKey,
    /// Its voting power (from escrowed stake).
    pub power: u64,
}

impl mc::Validator<AtollContext> for ConsensusValidator {
    fn address(&self) -> &ValidatorAddress {
        &self.address
    }

    fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    fn voting_power(&self) -> u64 {
        self.power
    }
}

/// The validators of one height, sorted by address.
#[derive(Clone, PartialEq, Eq, Debug, Default, BorshSerialize, BorshDeserialize)]
pub struct ValidatorSet {
    validators: Vec<ConsensusValidator>,
}

impl ValidatorSet {
    /// The set the scheduler elected. Zero-power entries are dropped; duplicate keys keep
    /// the first.
    pub fn from_scheduler(validators: &[SchedulerValidator]) -> Self {
        let mut list: Vec<ConsensusValidator> = validators
            .iter()
            .filter(|v| v.power > 0)
            .map(|v| ConsensusValidator {
                address: ValidatorAddress(v.consensus_key),
                public_key: v.consensus_key,
                power: v.power,
            })
            .collect();
        list.sort_by_key(|v| v.address);
        list.dedup_by_key(|v| v.address);
        Self { validators: list }
    }

    /// The validators, sorted by address.
    pub fn validators(&self) -> &[ConsensusValidator] {
        &self.validators
    }

    /// Whether the set is empty (the engine cannot run a height without validators).
    pub fn is_empty(&self) -> bool {
        self.validators.is_empty()
    }
}

impl mc::ValidatorSet<AtollContext> for ValidatorSet {
    fn count(&self) -> usize {
        self.validators.len()
    }

    fn total_voting_power(&self) -> u64 {
        self.validators.iter().map(|v| v.power).fold(0u64, u64::saturating_add)
    }

    fn get_by_address(&self, address: &ValidatorAddress) -> Option<&ConsensusValidator> {
        self.validators
            .binary_search_by_key(address, |v| v.address)
            .ok()
            .and_then(|i| self.validators.get(i))
    }

    fn get_by_index(&self, index: usize) -> Option<&ConsensusValidator> {
        self.validators.get(index)
    }
}

/// A piece of a streamed proposal.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub enum ProposalPart {
    /// Opens the stream: what is being proposed and by whom.
    Init(ProposalInit),
    /// A chunk of the encoded block.
    Data(Vec<u8>),
    /// Closes the stream: the proposer's signature over the assembled block's id.
    Fin(ProposalFin),
}

/// The first part of a proposal stream.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct ProposalInit {
    /// Height.
    pub height: BlockHeight,
    /// Round.
    pub round: Round,
    /// The round of the proof of lock, or nil.
    pub valid_round: Round,
    /// The proposer.
    pub proposer: ValidatorAddress,
    /// The proposer's signature over [`crate::bft::signing::StreamOpening`]: lets a
    /// receiver trust the stream before its block arrives.
    pub signature: Signature,
}

/// The last part of a proposal stream.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct ProposalFin {
    /// The proposer's signature over [`crate::bft::signing::ProposedBlock`].
    pub signature: Signature,
}

impl mc::ProposalPart<AtollContext> for ProposalPart {
    fn is_first(&self) -> bool {
        matches!(self, Self::Init(_))
    }

    fn is_last(&self) -> bool {
        matches!(self, Self::Fin(_))
    }
}

/// Atoll's signing scheme: Ed25519 with ZIP-215 verification ([`atoll_types::PublicKey`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Ed25519Scheme;

/// A key or signature of the wrong length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected} bytes, got {got}")]
pub struct KeyLengthError {
    /// Expected length.
    pub expected: usize,
    /// Actual length.
    pub got: usize,
}

impl mc::SigningScheme for Ed25519Scheme {
    type DecodingError = KeyLengthError;
    type Signature = Signature;
    type PublicKey = PublicKey;
    /// Private keys never pass through the engine: signing goes through
    /// [`crate::bft::signing::ConsensusSigner`]. The type only names a seed.
    type PrivateKey = [u8; 32];

    fn decode_signature(bytes: &[u8]) -> Result<Signature, KeyLengthError> {
        let array: [u8; 64] =
            bytes.try_into().map_err(|_| KeyLengthError { expected: 64, got: bytes.len() })?;
        Ok(Signature::from_bytes(array))
    }

    fn encode_signature(signature: &Signature) -> Vec<u8> {
        signature.as_bytes().to_vec()
    }

    fn decode_public_key(bytes: &[u8]) -> Result<PublicKey, KeyLengthError> {
        let array: [u8; 32] =
            bytes.try_into().map_err(|_| KeyLengthError { expected: 32, got: bytes.len() })?;
        Ok(PublicKey::from_bytes(array))
    }

    fn encode_public_key(public_key: &PublicKey) -> Vec<u8> {
        public_key.as_bytes().to_vec()
    }
}

impl mc::Context for AtollContext {
    type Address = ValidatorAddress;
    type Height = BlockHeight;
    type ProposalPart = ProposalPart;
    type Proposal = Proposal;
    type Validator = ConsensusValidator;
    type ValidatorSet = ValidatorSet;
    type Timeouts = LinearTimeouts;
    type Value = BlockId;
    type Vote = ConsensusVote;
    type Extension = ();
    type SigningScheme = Ed25519Scheme;

    fn select_proposer<'a>(
        &self,
        validator_set: &'a ValidatorSet,
        height: BlockHeight,
        round: Round,
    ) -> &'a ConsensusValidator {
        let index = proposer_index(validator_set, height, round);
        &validator_set.validators[index]
    }

    fn new_proposal(
        &self,
        height: BlockHeight,
        round: Round,
        value: BlockId,
        pol_round: Round,
        address: ValidatorAddress,
    ) -> Proposal {
        Proposal { height, round, value, pol_round, proposer: address }
    }

    fn new_prevote(
        &self,
        height: BlockHeight,
        round: Round,
        value_id: NilOrVal<BlockId>,
        address: ValidatorAddress,
    ) -> ConsensusVote {
        ConsensusVote {
            kind: VoteKind::Prevote,
            height,
            round,
            value: value_id,
            validator: address,
        }
    }

    fn new_precommit(
        &self,
        height: BlockHeight,
        round: Round,
        value_id: NilOrVal<BlockId>,
        address: ValidatorAddress,
    ) -> ConsensusVote {
        ConsensusVote {
            kind: VoteKind::Precommit,
            height,
            round,
            value: value_id,
            validator: address,
        }
    }
}

/// Stake-weighted proposer choice: a hash of `(height, round)` picks a point in
/// `[0, total power)` and the validator whose cumulative power covers it proposes. Every
/// node computes the same answer; over many rounds each validator proposes in proportion
/// to its power, and a validator that is down costs only the rounds it is picked for.
pub fn proposer_index(set: &ValidatorSet, height: BlockHeight, round: Round) -> usize {
    let total: u128 = set.validators.iter().map(|v| u128::from(v.power)).sum();
    if total == 0 {
        return 0;
    }
    let seed = Hash::digest_parts(&[
        b"atoll/consensus: proposer",
        &height.0.to_be_bytes(),
        &round.as_i64().to_be_bytes(),
    ]);
    let mut wide = [0u8; 16];
    wide.copy_from_slice(&seed.as_bytes()[..16]);
    let mut point = u128::from_be_bytes(wide) % total;
    for (index, validator) in set.validators.iter().enumerate() {
        let power = u128::from(validator.power);
        if point < power {
            return index;
        }
        point -= power;
    }
    set.validators.len().saturating_sub(1)
}

/// Consensus timeouts: a base per step, growing linearly with the round.
pub type Timeouts = LinearTimeouts;

/// The engine's default timeouts, tuned for a LAN or local devnet: 1 s to propose, 500 ms
/// per voting step, growing by half of that each round.
pub fn default_timeouts() -> LinearTimeouts {
    use std::time::Duration;
    LinearTimeouts {
        propose: Duration::from_millis(1000),
        propose_delta: Duration::from_millis(500),
        prevote: Duration::from_millis(500),
        prevote_delta: Duration::from_millis(250),
        precommit: Duration::from_millis(500),
        precommit_delta: Duration::from_millis(250),
        rebroadcast: Duration::from_millis(2000),
        max_timeout: Duration::from_secs(30),
    }
}
