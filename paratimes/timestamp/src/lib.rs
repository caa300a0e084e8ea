//! The timestamping ParaTime: anchor a document's hash and get back the round (and
//! consensus time) at which it was anchored; anyone can later prove it against the round's
//! state root.
//!
//! Built only on the runtime SDK: the `timestamp` module plus the SDK's built-in `core`,
//! `accounts` (balances, fees) and `consensus_accounts` (deposits and withdrawals).

use atoll_mkvs::Proof;
use atoll_runtime_host::RuntimeVersion;
use atoll_runtime_sdk::modules::core::CoreParameters;
use atoll_runtime_sdk::storage::module_key;
use atoll_runtime_sdk::{
    decode_body, BlockHandler, Context, InvariantHandler, MethodHandler, Module, Runtime,
    RuntimeError, TransactionHandler,
};
use atoll_types::{Address, Hash, Round, RuntimeId};
use borsh::{BorshDeserialize, BorshSerialize};

/// The module's name.
pub const NAME: &str = "timestamp";
/// `timestamp.Anchor`
pub const ANCHOR: &str = "timestamp.Anchor";
/// `timestamp.Get` (query)
pub const GET: &str = "timestamp.Get";
/// Gas of an anchor.
pub const ANCHOR_GAS: u64 = 5_000;
/// Longest metadata, in bytes.
pub const MAX_METADATA: usize = 256;

/// Error codes.
pub mod codes {
    /// The document is already anchored.
    pub const ALREADY_ANCHORED: u32 = 1;
    /// The metadata is too long.
    pub const METADATA_TOO_LONG: u32 = 2;
}

/// Event codes.
pub mod events {
    /// A document was anchored ([`super::Anchored`]).
    pub const ANCHORED: u32 = 1;
}

/// The runtime id of the timestamping ParaTime.
pub fn runtime_id() -> RuntimeId {
    RuntimeId::from_bytes(Hash::digest(b"atoll/paratime: timestamp").into_bytes())
}

/// Body of `timestamp.Anchor`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct Anchor {
    /// The document's hash (computed by the client; the document never leaves it).
    pub document: Hash,
    /// Optional metadata (at most 256 bytes), e.g. a file name.
    pub metadata: Option<String>,
}

/// What is stored for an anchored document.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct AnchorRecord {
    /// The document's hash.
    pub document: Hash,
    /// The round it was anchored in.
    pub round: Round,
    /// The consensus block time of that round.
    pub time: u64,
    /// Who anchored it.
    pub owner: Address,
    /// Its metadata.
    pub metadata: Option<String>,
}

/// The `timestamp.Anchored` event.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct Anchored {
    /// The document's hash.
    pub document: Hash,
    /// The round.
    pub round: Round,
}

/// Arguments of `timestamp.Get`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct Get {
    /// The document's hash.
    pub document: Hash,
}

/// Answer of `timestamp.Get`: the record (if any), with a proof of the state key against
/// the queried state root.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct GetResult {
    /// The record, if the document is anchored.
    pub record: Option<AnchorRecord>,
    /// The state key of the record.
    pub key: Vec<u8>,
    /// Proof of the key's value (or absence) against the state root.
    pub proof: Proof,
}

/// The state key of a document's record.
pub fn record_key(document: &Hash) -> Vec<u8> {
    module_key(NAME, &[b"doc", document.as_bytes()])
}

/// The `timestamp` module.
pub struct Timestamp;

impl MethodHandler for Timestamp {
    fn call(
        &self,
        ctx: &mut Context<'_>,
        method: &str,
        body: &[u8],
    ) -> Option<Result<Vec<u8>, RuntimeError>> {
        if method != ANCHOR {
            return None;
        }
        Some((|| {
            let body: Anchor = decode_body(body)?;
            ctx.use_gas(ANCHOR_GAS)?;
            if body.metadata.as_ref().is_some_and(|m| m.len() > MAX_METADATA) {
                return Err(RuntimeError::new(
                    NAME,
                    codes::METADATA_TOO_LONG,
                    format!("metadata over {MAX_METADATA} bytes"),
                ));
            }
            let key = record_key(&body.document);
            if ctx.get::<AnchorRecord>(&key)?.is_some() {
                return Err(RuntimeError::new(
                    NAME,
                    codes::ALREADY_ANCHORED,
                    "document already anchored",
                ));
            }
            let record = AnchorRecord {
                document: body.document,
                round: ctx.round,
                time: ctx.time,
                owner: ctx.require_caller()?,
                metadata: body.metadata,
            };
            ctx.set(&key, &record)?;
            ctx.emit(
                NAME,
                events::ANCHORED,
                &Anchored { document: record.document, round: record.round },
            );
            Ok(atoll_types::encode(&record.round))
        })())
    }

    fn query(
        &self,
        ctx: &mut Context<'_>,
        method: &str,
        args: &[u8],
    ) -> Option<Result<Vec<u8>, RuntimeError>> {
        if method != GET {
            return None;
        }
        Some((|| {
            let args: Get = decode_body(args)?;
            let key = record_key(&args.document);
            let record = ctx.get::<AnchorRecord>(&key)?;
            let proof = ctx.prove(&key)?;
            Ok(atoll_types::encode(&GetResult { record, key, proof }))
        })())
    }
}

impl TransactionHandler for Timestamp {}
impl BlockHandler for Timestamp {}
impl InvariantHandler for Timestamp {}

impl Module for Timestamp {
    fn name(&self) -> &'static str {
        NAME
    }
}

/// The timestamping ParaTime.
pub fn runtime() -> Runtime {
    Runtime {
        id: runtime_id(),
        version: RuntimeVersion { major: 0, minor: 1, patch: 0 },
        modules: vec![Box::new(Timestamp)],
        core: CoreParameters::default(),
        genesis_balances: Vec::new(),
        known_answer: None,
    }
}
