//! The JSON shapes of the node API, shared by the server (which derives its OpenAPI document
//! from them, feature `openapi`) and this client.

use atoll_types::{Address, Amount, ChainContext, Hash, PublicKey};
use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::{IntoParams, ToSchema};

/// Every error response: `{"error": {…}}`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// An error: a stable kind, a message, and for refused transactions the module and code.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct ErrorDetail {
    /// `bad_request`, `not_found`, `no_route`, `method_not_allowed`, `too_large`,
    /// `unsupported_media_type`, `rejected`, `rate_limited`, `unavailable` or `internal`.
    pub kind: String,
    /// A human-readable explanation.
    pub message: String,
    /// For `rejected`: the module that refused the transaction (`core` for generic checks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    /// For `rejected`: the module's error code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u32>,
}

/// `GET /v1/status`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Status {
    /// The human-readable chain id.
    pub chain_id: String,
    /// The chain context every signature covers.
    pub chain_context: ChainContext,
    /// The native token's ticker.
    pub token_symbol: String,
    /// The native token's decimals.
    pub token_exponent: u8,
    /// Latest committed height (0 before the first block).
    pub height: u64,
    /// Its block id.
    pub block_id: Hash,
    /// The state root after it (the next block's app hash).
    pub app_hash: Hash,
    /// Its timestamp (unix seconds).
    pub block_time: u64,
    /// The epoch of the latest height.
    pub epoch: u64,
    /// The lowest height whose block this node still keeps.
    pub earliest_height: Option<u64>,
    /// The height being decided.
    pub consensus_height: u64,
    /// Its current round.
    pub round: i64,
    /// Validators of the height being decided.
    pub validators: u64,
    /// Connected consensus peers (absent if the network layer did not answer).
    pub peers: Option<u64>,
    /// The latest block came through block sync: the node is catching up.
    pub catching_up: bool,
    /// Transactions waiting in this node's mempool.
    pub mempool_size: u64,
    /// How long the latest transactions submitted to this node took from admission to the
    /// commit of their block (absent until one was committed since the node started).
    #[serde(default)]
    pub finality: Option<FinalityLatency>,
}

/// Finality latency measured by a node over the latest (at most 1,024) transactions
/// submitted to it: blocks are final when committed, so this is a submitter's whole wait.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct FinalityLatency {
    /// Transactions measured.
    pub samples: u64,
    /// Median, in milliseconds.
    pub p50_ms: u64,
    /// 99th percentile, in milliseconds.
    pub p99_ms: u64,
    /// The latest, in milliseconds.
    pub latest_ms: u64,
}

/// `?height=…&proof=…` of every state query.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct StateQuery {
    /// Read the state after this height (default: the latest).
    pub height: Option<u64>,
    /// Include a proof of every state entry the answer depends on.
    pub proof: Option<bool>,
}

/// `?height=…&proof=…&after=…` of list queries, which answer at most 1,000 entries: the
/// next page starts after the last entry of the previous one (its address, or its id for
/// proposals).
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Read the state after this height (default: the latest).
    pub height: Option<u64>,
    /// Include a proof of every state entry the answer depends on.
    pub proof: Option<bool>,
    /// Start after this entry (the last one of the previous page).
    pub after: Option<String>,
}

impl ListQuery {
    /// The height and proof options.
    pub fn state(&self) -> StateQuery {
        StateQuery { height: self.height, proof: self.proof }
    }
}

impl From<StateQuery> for ListQuery {
    fn from(query: StateQuery) -> Self {
        Self { height: query.height, proof: query.proof, after: None }
    }
}

/// A state query's answer, with the state root it was read at and optionally its proof.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct StateResponse<T> {
    /// The state after this height was read.
    pub height: u64,
    /// That state's root: the app hash of block `height + 1`.
    pub state_root: Hash,
    /// The answer.
    pub value: T,
    /// Hex of the borsh-encoded `atoll_mkvs::StateProof` of every entry read, if asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<String>,
}

/// A transaction's outcome in a block.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TxOutcome {
    /// It ran and its effects stand.
    pub ok: bool,
    /// Gas used.
    pub gas_used: u64,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDetail>,
}

/// A transaction as included in a block.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TxSummary {
    /// Its hash.
    pub hash: Hash,
    /// Its position in the block.
    pub index: u32,
    /// The signer's address (absent if the transaction does not decode).
    pub sender: Option<Address>,
    /// Its nonce.
    pub nonce: Option<u64>,
    /// `module.Method`.
    pub method: Option<String>,
    /// The fee paid.
    pub fee: Option<Amount>,
    /// The gas limit.
    pub gas: Option<u64>,
    /// Hex of the method's borsh-encoded body.
    pub body: Option<String>,
    /// The body decoded by method (absent for an unknown method or a body that does not
    /// decode as its method's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub decoded: Option<serde_json::Value>,
    /// What happened (absent while the block's results are not stored).
    pub result: Option<TxOutcome>,
}

/// `?before=…&limit=…` of `GET /v1/accounts/{address}/transactions`.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct AccountTxsQuery {
    /// Only transactions before this `<height>:<index>` (the last one of the previous page).
    #[cfg_attr(feature = "openapi", param(pattern = "^[0-9]{1,18}:[0-9]{1,9}$"))]
    pub before: Option<String>,
    /// How many (default 20, at most 100).
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 100))]
    pub limit: Option<u32>,
}

/// A transaction an account signed, with the block that included it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AccountTx {
    /// The block.
    pub height: u64,
    /// The transaction, with its result (a refused one shows its error).
    pub tx: TxSummary,
}

/// `GET /v1/accounts/{address}/transactions`: newest first.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct AccountTransactions {
    /// The transactions.
    pub transactions: Vec<AccountTx>,
}

/// `GET /v1/blocks/…`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct BlockResponse {
    /// The height.
    pub height: u64,
    /// The block id (hash of the header).
    pub id: Hash,
    /// The proposer's timestamp (unix seconds).
    pub time: u64,
    /// The epoch.
    pub epoch: u64,
    /// The previous block's id.
    pub previous_block_id: Hash,
    /// The state root after the previous block.
    pub app_hash: Hash,
    /// The transactions root.
    pub transactions_root: Hash,
    /// The proposer's consensus key.
    pub proposer: PublicKey,
    /// Validators whose signatures committed the previous block.
    pub last_commit_signers: Vec<PublicKey>,
    /// Double-signing offences the block proves.
    pub evidence: u64,
    /// The transactions.
    pub transactions: Vec<TxSummary>,
}

/// `GET /v1/transactions/{hash}`.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TransactionResponse {
    /// Its hash.
    pub hash: Hash,
    /// `committed` or `pending` (waiting in this node's mempool).
    pub status: String,
    /// The block that included it.
    pub height: Option<u64>,
    /// The transaction.
    pub tx: Option<TxSummary>,
    /// Hex of the signed transaction.
    pub raw: Option<String>,
    /// Its events.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<atoll_consensus::Event>))]
    pub events: Vec<serde_json::Value>,
}

/// `POST /v1/transactions`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SubmitRequest {
    /// Hex of the borsh-encoded signed transaction.
    pub tx: String,
}

/// The hash of an admitted transaction.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SubmitResponse {
    /// The transaction's hash.
    pub hash: Hash,
}

/// A blob a compute node stored: its id (SHA-256) and length.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct BlobResponse {
    /// The blob's SHA-256: the name the chain and the runtime know it by.
    pub id: Hash,
    /// Its length in bytes.
    pub size: u64,
}

/// `POST /v1/transactions/batch`: up to [`MAX_BATCH`] transactions.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BatchSubmitRequest {
    /// Hex of each signed transaction.
    pub txs: Vec<String>,
}

/// The most transactions one batch may carry.
pub const MAX_BATCH: usize = 1_000;

/// One transaction's fate in a batch: its hash, or why it was refused.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct BatchItem {
    /// The hash, if admitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<Hash>,
    /// Why not, if refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDetail>,
}

/// The answer to a batch, one item per transaction in order.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct BatchSubmitResponse {
    /// One per transaction.
    pub results: Vec<BatchItem>,
}

/// `POST /v1/transactions/estimate-gas`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EstimateGasRequest {
    /// Who will sign.
    pub signer: PublicKey,
    /// `module.Method`.
    pub method: String,
    /// Hex of the borsh-encoded body.
    pub body: String,
}

/// The gas a transaction needs, and why it would fail if sent now.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct EstimateGasResponse {
    /// Gas needed.
    pub gas: u64,
    /// The lowest gas price (base units per gas) the chain accepts.
    #[serde(default)]
    pub min_gas_price: u128,
    /// The error a dry run against the latest state gave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorDetail>,
}

/// One event with where it happened.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct EventItem {
    /// The block.
    pub height: u64,
    /// The transaction's index, absent for begin/end-block events.
    pub tx_index: Option<u32>,
    /// The transaction's hash.
    pub tx_hash: Option<Hash>,
    /// `{"module": …, "event": …}`.
    #[cfg_attr(feature = "openapi", schema(value_type = atoll_consensus::Event))]
    pub event: serde_json::Value,
}

/// `GET /v1/blocks/{height}/events`.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct EventsResponse {
    /// The block.
    pub height: u64,
    /// Every event, in order.
    pub events: Vec<EventItem>,
}

/// Filters of `GET /v1/ws`.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    /// Send new blocks (default true).
    pub blocks: Option<bool>,
    /// Send events (default true).
    pub events: Option<bool>,
    /// Only events of this module (`staking`, `registry`, …).
    pub module: Option<String>,
    /// Only events that mention this address or key.
    pub involving: Option<String>,
}

/// A message of the `GET /v1/ws` stream.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StreamMessage {
    /// A block was committed.
    Block {
        /// Its height.
        height: u64,
        /// Its id.
        id: Hash,
        /// Its timestamp.
        time: u64,
        /// Its transactions.
        tx_hashes: Vec<Hash>,
    },
    /// An event of a committed block.
    Event(EventItem),
}

/// `GET /v1/epoch`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct EpochInfo {
    /// The height the state was read at.
    pub height: u64,
    /// Its epoch.
    pub epoch: u64,
    /// Blocks per epoch.
    pub epoch_interval: u64,
    /// The first height of the next epoch.
    pub next_epoch_height: u64,
}

/// A runtime module's error, as a runtime transaction's outcome reports it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RuntimeFailure {
    /// The module.
    pub module: String,
    /// Its stable code.
    pub code: u32,
    /// What went wrong.
    pub message: String,
}

/// A runtime event: module, code and the borsh-encoded event (hex).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RuntimeEventItem {
    /// The module.
    pub module: String,
    /// The event's code within the module.
    pub code: u32,
    /// Hex of the encoded event.
    pub data: String,
}

/// What a runtime transaction did.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RuntimeOutcome {
    /// The transaction's hash.
    pub hash: Hash,
    /// Its error, if it failed.
    pub error: Option<RuntimeFailure>,
    /// Gas used.
    pub gas_used: u64,
    /// Its events.
    pub events: Vec<RuntimeEventItem>,
    /// Hex of the call's encoded result.
    pub output: String,
}

/// `GET /v1/runtimes/{id}/transactions/{hash}`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RuntimeTxStatus {
    /// The transaction's hash.
    pub hash: Hash,
    /// `pending` (in this node's pool) or `finalized`.
    pub status: String,
    /// The round that finalized it.
    pub round: Option<u64>,
    /// Its outcome, once finalized.
    pub outcome: Option<RuntimeOutcome>,
}

/// `GET /v1/runtimes/{id}/rounds/{round}`: a finalized round's transactions.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RuntimeRoundResponse {
    /// The round.
    pub round: u64,
    /// Every transaction outcome, in hash order.
    pub outcomes: Vec<RuntimeOutcome>,
}

/// `?before=…&limit=…` of `GET /v1/runtimes/{id}/rounds`.
#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(IntoParams), into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct RoundsQuery {
    /// Only rounds below this one (the next page starts at the last round of the previous).
    pub before: Option<u64>,
    /// How many rounds (default 20, at most 100).
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 100))]
    pub limit: Option<u32>,
}

/// A consensus block's height and time.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct BlockMark {
    /// The height.
    pub height: u64,
    /// Its time (unix seconds).
    pub time: u64,
}

/// What one consensus block recorded of a ParaTime round.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RoundStep {
    /// The block.
    pub height: u64,
    /// Its time (unix seconds).
    pub time: u64,
    /// The round's roothash events in it, in order (`{"executor_committed": {…}}`,
    /// `{"execution_discrepancy_detected": {…}}`, `{"finalized": {…}}`,
    /// `{"round_failed": {…}}`, `{"block": {…}}`, `{"node_slashed": {…}}`).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<atoll_consensus::roothash::RoothashEvent>))]
    pub events: Vec<serde_json::Value>,
}

/// A node slashed when a round was finalized.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RoundSlash {
    /// The node.
    pub node: PublicKey,
    /// Why (`runtime_incorrect_results`, …).
    pub reason: String,
    /// Tokens taken from its entity's escrow.
    pub amount: Amount,
}

/// `GET /v1/nodes/{id}/evidence`: the double-signing offences blocks proved against a
/// node's validator (by its current consensus key), newest first.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct NodeEvidence {
    /// The consensus key the offences were signed with.
    pub consensus_key: PublicKey,
    /// The offences (at most 100).
    pub offences: Vec<Offence>,
}

/// Conflicting votes by one validator at one height, round and step, and what the block
/// that carried the proof did about them.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct Offence {
    /// The height it double-signed at.
    pub height: u64,
    /// The round.
    pub round: u32,
    /// `prevote` or `precommit`.
    pub step: String,
    /// The block that carried the proof (and slashed, at its start).
    pub included_at: u64,
    /// What that block took for it: absent when the node was already frozen (a node is
    /// slashed once per freeze), when the block carried an earlier offence of the node (it
    /// is slashed once per block, for the first), or when the block was pruned.
    pub slash: Option<OffenceSlash>,
}

/// A consensus slash.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct OffenceSlash {
    /// Why (`consensus_equivocation`).
    pub reason: String,
    /// Tokens taken from its entity's escrow.
    pub amount: Amount,
    /// The epoch until which the node is frozen.
    pub frozen_until: Option<u64>,
}

/// How the backups were called in.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RoundDiscrepancy {
    /// The block that declared it.
    pub height: u64,
    /// Whether the round timeout declared it (rather than disagreeing commitments).
    pub timeout: bool,
    /// Whose batch the backups executed.
    pub scheduler: PublicKey,
    /// That scheduler's rank.
    pub rank: u64,
}

/// One ParaTime round as the consensus layer recorded it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RoundSummary {
    /// The round.
    pub round: u64,
    /// `finalized`, `failed`, `epoch_transition`, `suspended` or `in_progress`.
    pub outcome: String,
    /// The block that made the previous round's runtime block (the round opened there), if
    /// this node still keeps it.
    pub opened: Option<BlockMark>,
    /// The block that made this round's runtime block.
    pub closed: Option<BlockMark>,
    /// Seconds from opening to closing.
    pub latency_seconds: Option<u64>,
    /// Consensus blocks from opening to closing.
    pub latency_blocks: Option<u64>,
    /// The schedulers whose batches workers committed to.
    pub schedulers: Vec<PublicKey>,
    /// Commitments to results.
    pub commitments: u32,
    /// Commitments indicating failure.
    pub failure_indications: u32,
    /// The discrepancy, if the backups were called in.
    pub discrepancy: Option<RoundDiscrepancy>,
    /// Workers whose results were accepted.
    pub good: Vec<PublicKey>,
    /// Workers whose results disagreed.
    pub bad: Vec<PublicKey>,
    /// Slashes finalization imposed.
    pub slashed: Vec<RoundSlash>,
}

/// `GET /v1/runtimes/{id}/rounds`: the latest rounds, newest first.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RoundsResponse {
    /// The rounds.
    pub rounds: Vec<RoundSummary>,
}

/// `GET /v1/runtimes/{id}/rounds/{round}/events`: a round block by block.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RoundEventsResponse {
    /// The round, summarized.
    pub summary: RoundSummary,
    /// What each block recorded of it, in height order.
    pub steps: Vec<RoundStep>,
}

/// An Ethereum JSON-RPC this node serves for an EVM ParaTime.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct EthEndpoint {
    /// The EVM ParaTime.
    pub runtime: atoll_types::RuntimeId,
    /// Its Ethereum chain id.
    pub chain_id: u64,
}

/// `GET /v1/eth`: the Ethereum JSON-RPCs reachable at `POST /v1/runtimes/{id}/eth`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct EthEndpoints {
    /// One per EVM ParaTime this node serves.
    pub endpoints: Vec<EthEndpoint>,
}

/// `POST /v1/runtimes/{id}/query`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RuntimeQueryRequest {
    /// The query method, e.g. `accounts.Balance`.
    pub method: String,
    /// Hex of the borsh-encoded arguments.
    pub args: String,
}

/// A runtime query's answer.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RuntimeQueryResponse {
    /// The finalized round whose state answered.
    pub round: u64,
    /// Hex of the borsh-encoded result.
    pub result: String,
}

/// `GET /v1/runtimes/{id}/roothash`: where a runtime stands on the consensus layer.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RoothashSummary {
    /// The latest runtime block's round.
    pub round: u64,
    /// Its kind (`normal`, `round_failed`, `epoch_transition`, `suspended`).
    pub header_type: String,
    /// Its hash.
    pub block_hash: Hash,
    /// The runtime's state root.
    pub state_root: Hash,
    /// The latest `Normal` round.
    pub last_normal_round: u64,
    /// Whether the runtime is suspended.
    pub suspended: bool,
    /// The epoch's primary workers.
    pub workers: Vec<PublicKey>,
    /// The epoch's backup workers.
    pub backups: Vec<PublicKey>,
    /// The workers in proposer-rank order for the round in progress (rank 0 first: the
    /// scheduler whose batch is expected; rank `r` may propose after `r` proposer timeouts).
    #[serde(default)]
    pub schedulers: Vec<PublicKey>,
    /// Whether the round in progress is being resolved by the backups.
    pub discrepancy: bool,
    /// Deposits waiting for a round.
    pub incoming_queue: u64,
}

/// `GET /v1/checkpoints`: one state checkpoint a node serves for state sync (see
/// `atoll_mkvs::checkpoint` and `atoll node --state-sync`).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct CheckpointInfo {
    /// The height whose state it holds (the state after that block).
    pub height: u64,
    /// The state root: the app hash in the header of the block at `height + 1`.
    pub root: Hash,
    /// How many chunks it is cut into.
    pub chunks: u64,
    /// The block a node syncing from this checkpoint is told to trust: `height + 2` (the
    /// state after `height + 1` is rebuilt too, from the write log of that block).
    pub trust_height: u64,
    /// That block's id, if this node has it: check it against a source you trust, then
    /// pass `--trust TRUST_HEIGHT:ID`.
    pub trust_block_id: Option<Hash>,
}
