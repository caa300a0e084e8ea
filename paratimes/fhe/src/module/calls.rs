//! The `fhe` module's method names, call bodies, stored records, events and queries.

use atoll_mkvs::Proof;
use atoll_types::{Address, Hash, Round};
use borsh::{BorshDeserialize, BorshSerialize};

use crate::program::Program;

/// The module's name.
pub const NAME: &str = "fhe";

/// `fhe.RegisterKeySet` ([`RegisterKeySet`]).
pub const REGISTER_KEY_SET: &str = "fhe.RegisterKeySet";
/// `fhe.Deploy` ([`Deploy`]).
pub const DEPLOY: &str = "fhe.Deploy";
/// `fhe.Call` ([`Call`]).
pub const CALL: &str = "fhe.Call";
/// `fhe.Publish` ([`Publish`]).
pub const PUBLISH: &str = "fhe.Publish";
/// `fhe.PublishKey` ([`PublishKey`]).
pub const PUBLISH_KEY: &str = "fhe.PublishKey";

/// Query `fhe.Setup`: the ParaTime's proof setup ([`SetupInfo`]).
pub const QUERY_SETUP: &str = "fhe.Setup";
/// Query `fhe.KeySet` ([`KeySetQuery`] → `Option<KeySetRecord>`).
pub const QUERY_KEY_SET: &str = "fhe.KeySet";
/// Query `fhe.Contract` ([`ContractQuery`] → `Option<ContractRecord>`).
pub const QUERY_CONTRACT: &str = "fhe.Contract";
/// Query `fhe.Value` ([`ValueQuery`] → [`ValueResult`]).
pub const QUERY_VALUE: &str = "fhe.Value";
/// Query `fhe.Revealed` ([`RevealedQuery`] → `Option<RevealRecord>`).
pub const QUERY_REVEALED: &str = "fhe.Revealed";

/// Error codes of the `fhe` module.
pub mod codes {
    /// A body, key, program or input list is malformed or over a limit.
    pub const MALFORMED: u32 = 1;
    /// No such key set.
    pub const UNKNOWN_KEY_SET: u32 = 2;
    /// The key set is already registered.
    pub const KEY_SET_EXISTS: u32 = 3;
    /// No such contract.
    pub const UNKNOWN_CONTRACT: u32 = 4;
    /// The contract has no such function.
    pub const UNKNOWN_FUNCTION: u32 = 5;
    /// The call's inputs or accounts do not match the function.
    pub const BAD_ARGUMENTS: u32 = 6;
    /// The input proof does not verify (forged, or bound to another contract, sender,
    /// nonce, chain or ParaTime).
    pub const INVALID_PROOF: u32 = 7;
    /// The call stopped on a public check (owner only, once per caller).
    pub const REFUSED: u32 = 8;
    /// Only the key set's or contract's owner may do this.
    pub const NOT_OWNER: u32 = 9;
    /// The program breaks a rule of the contract model.
    pub const INVALID_PROGRAM: u32 = 10;
    /// The transaction's gas limit is below what the call costs.
    pub const GAS_LIMIT_TOO_LOW: u32 = 11;
}

/// Event codes of the `fhe` module.
pub mod events {
    /// A key set was registered ([`super::KeySetRegistered`]).
    pub const KEY_SET_REGISTERED: u32 = 1;
    /// A contract was deployed ([`super::Deployed`]).
    pub const DEPLOYED: u32 = 2;
    /// A call asked the key holder to reveal a value ([`super::Revealed`]).
    pub const REVEALED: u32 = 3;
    /// The owner published a revealed value's plaintext ([`super::Published`]).
    pub const PUBLISHED: u32 = 4;
    /// The key holder published the client key ([`super::KeyPublished`]).
    pub const KEY_PUBLISHED: u32 = 5;
}

/// Body of `fhe.RegisterKeySet`: a key set's id and its compact public key. The key set's
/// bytes are fetched by id and checked before the registration is accepted.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct RegisterKeySet {
    /// SHA-256 of the encoded key set.
    pub id: Hash,
    /// Its compact public key, encoded.
    pub public_key: Vec<u8>,
}

/// Body of `fhe.Deploy`: a program over a registered key set (its holder can decrypt the
/// contract's state). Answers the contract id (`u64`).
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct Deploy {
    /// The key set.
    pub key_set: Hash,
    /// The program.
    pub program: Program,
}

/// Body of `fhe.Call`: runs a contract function on encrypted inputs.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct Call {
    /// The contract.
    pub contract: u64,
    /// The function's name.
    pub function: String,
    /// The clear account arguments the function takes.
    pub accounts: Vec<Address>,
    /// The inputs, encrypted to the contract's key set with a proof bound to
    /// [`crate::module::input_metadata`] (empty when the function takes none).
    pub inputs: Vec<u8>,
}

/// Body of `fhe.Publish` (contract owner only): the plaintext of a revealed value, as the
/// key holder decrypted it. Trusted unless the key is published ([`PublishKey`]).
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct Publish {
    /// The contract.
    pub contract: u64,
    /// The reveal's label.
    pub label: u16,
    /// The plaintext.
    pub value: u64,
}

/// Body of `fhe.PublishKey` (key set owner only): the client key, so anyone can decrypt
/// every value computed under the key set and check what was published.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct PublishKey {
    /// The key set.
    pub key_set: Hash,
    /// The encoded client key.
    pub client_key: Vec<u8>,
}

/// A registered key set.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct KeySetRecord {
    /// Who registered it (its holder).
    pub owner: Address,
    /// The compact public key inputs are encrypted to.
    pub public_key: Vec<u8>,
    /// The client key, once the holder published it.
    pub published_client_key: Option<Vec<u8>>,
}

/// A deployed contract.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct ContractRecord {
    /// Who deployed it (`OnlyOwner` checks against it).
    pub owner: Address,
    /// The key set its values are encrypted under.
    pub key_set: Hash,
    /// The program.
    pub program: Program,
    /// The gas one call of each function costs, in the program's order.
    pub gas: Vec<u64>,
    /// The round it was deployed in.
    pub round: Round,
}

/// The latest value revealed under a label, and its plaintext once published.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct RevealRecord {
    /// The round of the reveal.
    pub round: Round,
    /// The ciphertext (the ParaTime's stored encoding: decrypt with the key set's client key).
    pub ciphertext: Vec<u8>,
    /// The plaintext the owner published for it, if any.
    pub published: Option<u64>,
}

/// The `fhe.KeySetRegistered` event.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct KeySetRegistered {
    /// The key set.
    pub id: Hash,
    /// Its holder.
    pub owner: Address,
}

/// The `fhe.Deployed` event.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct Deployed {
    /// The new contract.
    pub contract: u64,
    /// Its key set.
    pub key_set: Hash,
}

/// The `fhe.Revealed` event: the ciphertext is in state ([`QUERY_REVEALED`]).
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct Revealed {
    /// The contract.
    pub contract: u64,
    /// The label.
    pub label: u16,
    /// SHA-256 of the stored ciphertext.
    pub ciphertext: Hash,
}

/// The `fhe.Published` event.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct Published {
    /// The contract.
    pub contract: u64,
    /// The label.
    pub label: u16,
    /// The plaintext.
    pub value: u64,
}

/// The `fhe.KeyPublished` event.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct KeyPublished {
    /// The key set.
    pub key_set: Hash,
}

/// Answer of `fhe.Setup`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct SetupInfo {
    /// The id of the proof setup the ParaTime verifies inputs against.
    pub setup: Hash,
    /// Whether it is a devnet setup derived from a public seed (anyone can forge proofs).
    pub insecure: bool,
    /// The tfhe version every worker must run.
    pub tfhe_version: String,
    /// The known-answer hash every worker's machine must compute.
    pub known_answer: String,
}

/// Arguments of `fhe.KeySet`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct KeySetQuery {
    /// The key set.
    pub id: Hash,
}

/// Arguments of `fhe.Contract`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct ContractQuery {
    /// The contract.
    pub contract: u64,
}

/// Arguments of `fhe.Value`: a state slot's ciphertext.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct ValueQuery {
    /// The contract.
    pub contract: u64,
    /// The slot.
    pub slot: u16,
    /// The account, for a per-account slot; `None` for a contract slot.
    pub account: Option<Address>,
}

/// Answer of `fhe.Value`: the stored ciphertext (if ever written) with a proof against the
/// queried state root.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct ValueResult {
    /// The stored ciphertext.
    pub ciphertext: Option<Vec<u8>>,
    /// Its state key.
    pub key: Vec<u8>,
    /// Proof of the key's value (or absence).
    pub proof: Proof,
}

/// Arguments of `fhe.Revealed`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct RevealedQuery {
    /// The contract.
    pub contract: u64,
    /// The label.
    pub label: u16,
}
