//! The messages of the runtime host protocol.

use atoll_mkvs::node::NodeId;
use atoll_mkvs::WriteLog;
use atoll_types::{Address, Amount, ChainContext, Hash, PublicKey, Round, RuntimeId};
pub use atoll_types::{IncomingMessage, MessageResult, RuntimeMessage};
use borsh::{BorshDeserialize, BorshSerialize};

/// The protocol version both sides must speak.
pub const PROTOCOL_VERSION: u32 = 5;

/// A runtime version.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Default, BorshSerialize, BorshDeserialize,
)]
pub struct RuntimeVersion {
    /// Major.
    pub major: u16,
    /// Minor.
    pub minor: u16,
    /// Patch.
    pub patch: u16,
}

/// What a runtime says about itself in the handshake.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct RuntimeInfo {
    /// The runtime's id.
    pub runtime_id: RuntimeId,
    /// Its version.
    pub version: RuntimeVersion,
    /// The protocol version it speaks.
    pub protocol_version: u32,
    /// The answer of its known-answer test, computed in this process at start-up (a runtime
    /// whose results are bit-exact only on some machines; the node registers it).
    pub known_answer: Option<Hash>,
}

/// A committed state tree the runtime should read: its version, root hash and root node
/// (a locator only: every node is checked against `hash`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, BorshSerialize, BorshDeserialize)]
pub struct StateRoot {
    /// The version (round) of the state.
    pub version: u64,
    /// The root hash.
    pub hash: Hash,
    /// The root node's id in the host's store, or `None` for an empty tree.
    pub node: Option<NodeId>,
}

/// The I/O-tree key of a transaction's input (`tag = 0`, its bytes) or output (`tag = 1`,
/// its encoded [`TxOutcome`]); the transaction hash is SHA-256 of its bytes.
pub fn io_key(hash: &Hash, tag: u8) -> Vec<u8> {
    let mut key = hash.as_bytes().to_vec();
    key.push(tag);
    key
}

/// How to execute a batch.
#[derive(Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub enum ExecutionMode {
    /// Execute exactly these transactions (every worker).
    Execute,
    /// Pick the transactions that are valid and fit the batch gas limit (the proposer).
    Schedule,
}

/// Execute a batch on top of a state.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct ExecuteBatch {
    /// Execute or schedule.
    pub mode: ExecutionMode,
    /// The round being executed: the new state's version.
    pub round: Round,
    /// The time of the round's context block (informational): the block that made the
    /// runtime block before the previous one, so it is known before the previous round is
    /// finalized.
    pub time: u64,
    /// The round's randomness: derived from the consensus beacon's entropy in the round's
    /// context block (the one that made the runtime block before the previous one), the
    /// runtime id and the round, so every worker and backup of the round gets the same value
    /// and no proposer chooses it.
    pub randomness: Hash,
    /// The state the batch applies to.
    pub state: StateRoot,
    /// The transactions.
    pub txs: Vec<Vec<u8>>,
    /// Deposits from the consensus layer, applied before the transactions.
    pub incoming: Vec<IncomingMessage>,
    /// What became of runtime messages, as the round's context block executed them (the
    /// messages of the round before the previous one, and of failed rounds' contexts before
    /// it), handed to the runtime's modules before the deposits.
    pub message_results: Vec<MessageResult>,
    /// The previous round, when it is not finalized yet: the batch then executes on the
    /// state its changes make on top of `state` (how the next round is executed while the
    /// previous one's commitments are on their way to the chain).
    pub pending: Option<PendingRound>,
}

/// A round executed and not finalized yet, which the next batch builds on.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct PendingRound {
    /// The round.
    pub round: Round,
    /// Its state changes on top of the batch's `state`.
    pub state_write_log: WriteLog,
    /// The state root they make (the round's results say so).
    pub state_root: Hash,
}

/// An error reported by a runtime module.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct ModuleFailure {
    /// The module.
    pub module: String,
    /// Its stable code.
    pub code: u32,
    /// A message.
    pub message: String,
}

/// A runtime event: module, code and encoded data.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct RuntimeEvent {
    /// The module.
    pub module: String,
    /// The event's code within the module.
    pub code: u32,
    /// The encoded event.
    pub data: Vec<u8>,
}

/// What happened to one transaction.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct TxOutcome {
    /// The transaction's hash (SHA-256 of its bytes).
    pub hash: Hash,
    /// Its error, if it failed.
    pub error: Option<ModuleFailure>,
    /// Gas used (after refunds).
    pub gas_used: u64,
    /// Its events.
    pub events: Vec<RuntimeEvent>,
    /// The call's encoded result.
    pub output: Vec<u8>,
}

/// The result of executing a batch.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct ExecuteResult {
    /// The transactions executed, in order (in schedule mode: the ones picked).
    pub txs: Vec<Vec<u8>>,
    /// One outcome per executed transaction.
    pub outcomes: Vec<TxOutcome>,
    /// The state changes.
    pub state_write_log: WriteLog,
    /// The new state root.
    pub state_root: Hash,
    /// The I/O tree's contents: each transaction's input and output, keyed by its hash.
    pub io_write_log: WriteLog,
    /// The I/O root.
    pub io_root: Hash,
    /// Messages for the consensus layer.
    pub messages: Vec<RuntimeMessage>,
}

/// The result of checking one transaction for the pool.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct CheckOutcome {
    /// The transaction's hash.
    pub hash: Hash,
    /// Why it is invalid, if it is.
    pub error: Option<ModuleFailure>,
    /// The gas price it offers (for pool priority).
    pub gas_price: u128,
    /// Its sender (first signer's address) and nonce, for pool ordering.
    pub sender: Option<(Address, u64)>,
    /// The sender's next nonce in the checked state: the pool batches each sender's
    /// transactions from there, in an unbroken run.
    pub account_nonce: u64,
    /// The fee it pays.
    pub fee: Amount,
    /// The fee payer's balance in the checked state: the pool holds no more of a sender's
    /// transactions than its balance pays the fees of.
    pub balance: Amount,
}

/// Requests from the host to the runtime.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub enum HostRequest {
    /// Handshake: which chain, which runtime the host expects.
    Info {
        /// The consensus chain's context.
        chain_context: ChainContext,
        /// The runtime the host expects.
        runtime_id: RuntimeId,
    },
    /// Check transactions against a state (nothing is written).
    CheckTx {
        /// The state.
        state: StateRoot,
        /// The transactions.
        txs: Vec<Vec<u8>>,
    },
    /// Execute a batch.
    ExecuteBatch(ExecuteBatch),
    /// Run a query against a state (always rolled back).
    Query {
        /// The state.
        state: StateRoot,
        /// The query method, e.g. `accounts.Balance`.
        method: String,
        /// Encoded arguments.
        args: Vec<u8>,
    },
    /// Attest: evidence that this runtime's enclave holds its runtime attestation key,
    /// bound to `node` at consensus `height` (a TEE runtime only). The answer carries
    /// public keys and evidence only: the keys themselves never leave the enclave.
    Attest {
        /// The node the enclave serves.
        node: PublicKey,
        /// A recent consensus height (the attestation's age is counted from it).
        height: u64,
    },
    /// Stop what you are doing (the runtime answers once idle).
    Abort,
}

/// Responses from the runtime to the host.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub enum HostResponse {
    /// Handshake answer.
    Info(RuntimeInfo),
    /// One outcome per checked transaction.
    CheckTx(Vec<CheckOutcome>),
    /// The executed batch.
    ExecuteBatch(ExecuteResult),
    /// The query's encoded result.
    Query(Vec<u8>),
    /// The enclave's attestation (without collateral: the host adds it).
    Attestation(Box<atoll_tee::Attestation>),
    /// Aborted.
    Aborted,
}

/// Requests from the runtime to the host, while a host request is being served.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub enum RuntimeRequest {
    /// The stored bytes of a state-tree node.
    GetNode {
        /// The node's id.
        id: NodeId,
    },
    /// A part of a blob: bytes too large for the chain (an FHE key set), named by their
    /// SHA-256. The host answers from its node's blob store, which gets a blob it lacks
    /// from its peers.
    GetBlob {
        /// The blob's SHA-256.
        id: Hash,
        /// Where the part starts (at or past the end: the answer has the length and no
        /// bytes).
        offset: u64,
    },
}

/// Replies from the host to the runtime.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub enum RuntimeReply {
    /// The node's bytes, if the host has it.
    Node(Option<Vec<u8>>),
    /// The blob's part, if the host has (or got) the blob.
    Blob(Option<BlobChunk>),
}

/// The largest blob a runtime may ask for.
pub const MAX_BLOB: u64 = 256 << 20;
/// The most bytes of a blob one reply carries (well inside a frame).
pub const BLOB_CHUNK: usize = 8 << 20;

/// A part of a blob.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct BlobChunk {
    /// The blob's whole length.
    pub total: u64,
    /// Its bytes from the asked offset: [`BLOB_CHUNK`] of them, or up to the end.
    pub bytes: Vec<u8>,
}

/// A protocol-level error.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct ProtocolError {
    /// 1 malformed request, 2 runtime failure, 3 wrong runtime or chain, 4 unexpected message.
    pub code: u32,
    /// What went wrong.
    pub message: String,
}

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "runtime host protocol error {}: {}", self.code, self.message)
    }
}

impl std::error::Error for ProtocolError {}

/// One frame on the socket.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub enum Frame {
    /// Host → runtime.
    HostRequest {
        /// Request id, echoed in the response.
        id: u64,
        /// The request.
        request: HostRequest,
    },
    /// Runtime → host.
    HostResponse {
        /// The request's id (0 if the request could not be read).
        id: u64,
        /// The response.
        response: Result<HostResponse, ProtocolError>,
    },
    /// Runtime → host, during a host request.
    RuntimeRequest {
        /// Request id.
        id: u64,
        /// The request.
        request: RuntimeRequest,
    },
    /// Host → runtime.
    RuntimeReply {
        /// The request's id.
        id: u64,
        /// The reply.
        reply: Result<RuntimeReply, ProtocolError>,
    },
}
