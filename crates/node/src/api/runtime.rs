//! ParaTime endpoints: runtime blocks and roothash state (any node, provable like every
//! state read), and — on a node that runs the ParaTime — submitting runtime transactions,
//! their results, finalized rounds, runtime queries and storing blobs.

use atoll_client::model::{
    BlobResponse, ErrorBody, RuntimeEventItem, RuntimeFailure, RuntimeOutcome, RuntimeQueryRequest,
    RuntimeQueryResponse, RuntimeRoundResponse, RuntimeTxStatus, StateQuery, StateResponse,
    SubmitRequest, SubmitResponse,
};
use atoll_client::queries as shared;
use atoll_compute::blobs::BlobError;
use atoll_compute::{ComputeHandle, SubmitError};
use atoll_consensus::roothash::{self, RuntimeBlockHeader};
use atoll_types::{Round, RuntimeId};
use axum::body::Body;
use axum::extract::State;
use axum::Json;

use super::error::{ApiJson, ApiPath, ApiQuery};
use super::queries::parse_runtime;
use super::read::parse_hash;
use super::submit::decode_hex;
use super::{ApiError, ApiState};

type Answer = Result<Json<StateResponse<serde_json::Value>>, ApiError>;

/// The compute role for `id`, or 404 if this node does not run that ParaTime.
fn compute(api: &ApiState, id: &RuntimeId) -> Result<ComputeHandle, ApiError> {
    api.compute
        .iter()
        .find(|handle| handle.runtime() == *id)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("this node does not run runtime {id}")))
}

fn outcome(o: atoll_runtime_host::TxOutcome) -> RuntimeOutcome {
    RuntimeOutcome {
        hash: o.hash,
        error: o.error.map(|e| RuntimeFailure {
            module: e.module,
            code: e.code,
            message: e.message,
        }),
        gas_used: o.gas_used,
        events: o
            .events
            .into_iter()
            .map(|e| RuntimeEventItem { module: e.module, code: e.code, data: hex::encode(e.data) })
            .collect(),
        output: hex::encode(o.output),
    }
}

/// The latest block of a runtime (the consensus layer's record of its last round).
#[utoipa::path(get, path = "/v1/runtimes/{id}/blocks/latest", tag = "paratimes",
    params(("id" = String, Path, pattern = "^[0-9a-fA-F]{64}$", description = "runtime id, hex"), StateQuery),
    responses((status = 200, body = StateResponse<RuntimeBlockHeader>), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn latest_block(
    State(api): State<ApiState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<StateQuery>,
) -> Answer {
    let id = parse_runtime(&id)?;
    api.query(q, format!("no runtime {id}"), move |s| shared::runtime_latest_block(s, &id)).await
}

/// A runtime block by round (the consensus layer keeps the latest `max_past_blocks`).
#[utoipa::path(get, path = "/v1/runtimes/{id}/blocks/{round}", tag = "paratimes",
    params(("id" = String, Path, pattern = "^[0-9a-fA-F]{64}$", description = "runtime id, hex"),
        ("round" = u64, Path, description = "runtime round"), StateQuery),
    responses((status = 200, body = StateResponse<RuntimeBlockHeader>), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn block(
    State(api): State<ApiState>,
    ApiPath((id, round)): ApiPath<(String, u64)>,
    ApiQuery(q): ApiQuery<StateQuery>,
) -> Answer {
    let id = parse_runtime(&id)?;
    api.query(q, format!("no block {round} of runtime {id}"), move |s| {
        roothash::block(s, &id, Round(round))
    })
    .await
}

/// Where a runtime stands: latest round, committee, discrepancy, queued deposits.
#[utoipa::path(get, path = "/v1/runtimes/{id}/roothash", tag = "paratimes",
    params(("id" = String, Path, pattern = "^[0-9a-fA-F]{64}$", description = "runtime id, hex"), StateQuery),
    responses((status = 200, body = StateResponse<atoll_client::model::RoothashSummary>),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn roothash_state(
    State(api): State<ApiState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<StateQuery>,
) -> Answer {
    let id = parse_runtime(&id)?;
    api.query(q, format!("no runtime {id}"), move |s| shared::roothash_summary(s, &id)).await
}

/// Submits a signed runtime transaction: checked by the ParaTime, pooled and gossiped to
/// the compute nodes.
#[utoipa::path(post, path = "/v1/runtimes/{id}/transactions", tag = "paratimes",
    params(("id" = String, Path, pattern = "^[0-9a-fA-F]{64}$", description = "runtime id, hex")),
    request_body = SubmitRequest,
    responses((status = 200, body = SubmitResponse), (status = 400, body = ErrorBody),
        (status = 422, description = "refused by the runtime", body = ErrorBody),
        (status = 404, description = "this node does not run the runtime", body = ErrorBody),
        (status = 503, description = "the pool is full or the runtime is down", body = ErrorBody)))]
pub(crate) async fn submit(
    State(api): State<ApiState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<SubmitRequest>,
) -> Result<Json<SubmitResponse>, ApiError> {
    let id = parse_runtime(&id)?;
    let compute = compute(&api, &id)?;
    let raw = decode_hex("tx", &request.tx)?;
    match compute.submit(raw).await {
        Ok(hash) => Ok(Json(SubmitResponse { hash })),
        Err(SubmitError::Rejected(f)) => Err(ApiError::rejected(atoll_consensus::TxError {
            module: f.module,
            code: f.code,
            message: f.message,
        })),
        Err(SubmitError::Pool(e)) => Err(ApiError::unavailable(e.to_string())),
        Err(SubmitError::Unavailable(e)) => Err(ApiError::unavailable(e.to_string())),
    }
}

/// Stores a blob on this compute node: bytes the ParaTime needs that are too large for the
/// chain (an FHE key set), named by their SHA-256. The node serves them to its runtime and
/// to the other compute nodes of the runtime, which fetch them when their runtime asks.
#[utoipa::path(put, path = "/v1/runtimes/{id}/blobs", tag = "paratimes",
    params(("id" = String, Path, pattern = "^[0-9a-fA-F]{64}$", description = "runtime id, hex")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "the blob's bytes (at most 256 MiB)"),
    responses((status = 200, body = BlobResponse), (status = 400, body = ErrorBody),
        (status = 404, description = "this node does not run the runtime", body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 507, description = "the node's blob store is full", body = ErrorBody)))]
pub(crate) async fn put_blob(
    State(api): State<ApiState>,
    ApiPath(id): ApiPath<String>,
    body: Body,
) -> Result<Json<BlobResponse>, ApiError> {
    let id = parse_runtime(&id)?;
    let compute = compute(&api, &id)?;
    // Its own limit: a blob is far over the API's body limit for everything else.
    let limit = atoll_runtime_host::MAX_BLOB as usize;
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|e| ApiError::too_large(format!("a blob is at most {limit} bytes: {e}")))?;
    let size = bytes.len() as u64;
    match compute.put_blob(bytes).await {
        Ok(id) => Ok(Json(BlobResponse { id, size })),
        Err(e @ BlobError::TooLarge(_)) => Err(ApiError::too_large(e.to_string())),
        Err(e @ BlobError::Full { .. }) => Err(ApiError::insufficient_storage(e.to_string())),
        Err(e @ BlobError::Io(_)) => Err(ApiError::internal(e)),
    }
}

/// A runtime transaction: pending in this node's pool, or finalized with its round and
/// outcome.
#[utoipa::path(get, path = "/v1/runtimes/{id}/transactions/{hash}", tag = "paratimes",
    params(("id" = String, Path, pattern = "^[0-9a-fA-F]{64}$", description = "runtime id, hex"),
        ("hash" = String, Path, pattern = "^[0-9a-fA-F]{64}$", description = "transaction hash, hex")),
    responses((status = 200, body = RuntimeTxStatus), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn transaction(
    State(api): State<ApiState>,
    ApiPath((id, hash)): ApiPath<(String, String)>,
) -> Result<Json<RuntimeTxStatus>, ApiError> {
    let id = parse_runtime(&id)?;
    let hash = parse_hash(&hash)?;
    let compute = compute(&api, &id)?;
    let lookup = compute.clone();
    let found = tokio::task::spawn_blocking(move || lookup.result(&hash))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    if let Some(found) = found {
        return Ok(Json(RuntimeTxStatus {
            hash,
            status: "finalized".into(),
            round: Some(found.round.0),
            outcome: Some(outcome(found.outcome)),
        }));
    }
    if compute.pending(&hash) {
        return Ok(Json(RuntimeTxStatus {
            hash,
            status: "pending".into(),
            round: None,
            outcome: None,
        }));
    }
    Err(ApiError::not_found(format!("no runtime transaction {hash}")))
}

/// The transactions of a finalized round this node stores (404 for a round it has not
/// stored yet, so that an empty round is never confused with a missing one).
#[utoipa::path(get, path = "/v1/runtimes/{id}/rounds/{round}", tag = "paratimes",
    params(("id" = String, Path, pattern = "^[0-9a-fA-F]{64}$", description = "runtime id, hex"),
        ("round" = u64, Path, description = "runtime round")),
    responses((status = 200, body = RuntimeRoundResponse), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn round(
    State(api): State<ApiState>,
    ApiPath((id, round)): ApiPath<(String, u64)>,
) -> Result<Json<RuntimeRoundResponse>, ApiError> {
    let id = parse_runtime(&id)?;
    let compute = compute(&api, &id)?;
    let stored = tokio::task::spawn_blocking(move || {
        let latest = compute.latest_round()?;
        if round > latest.0 {
            return Ok(None);
        }
        compute.outcomes(Round(round)).map(Some)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    let Some(outcomes) = stored else {
        return Err(ApiError::not_found(format!(
            "round {round} is not finalized and stored on this node yet"
        )));
    };
    Ok(Json(RuntimeRoundResponse { round, outcomes: outcomes.into_iter().map(outcome).collect() }))
}

/// Runs a runtime query against the latest finalized state this node stores.
#[utoipa::path(post, path = "/v1/runtimes/{id}/query", tag = "paratimes",
    params(("id" = String, Path, pattern = "^[0-9a-fA-F]{64}$", description = "runtime id, hex")),
    request_body = RuntimeQueryRequest,
    responses((status = 200, body = RuntimeQueryResponse), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, description = "the query failed", body = ErrorBody)))]
pub(crate) async fn query(
    State(api): State<ApiState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<RuntimeQueryRequest>,
) -> Result<Json<RuntimeQueryResponse>, ApiError> {
    let id = parse_runtime(&id)?;
    let compute = compute(&api, &id)?;
    let args = decode_hex("args", &request.args)?;
    let round = compute.latest_round().map_err(ApiError::internal)?;
    match compute.query(request.method, args).await {
        Ok(result) => {
            Ok(Json(RuntimeQueryResponse { round: round.0, result: hex::encode(result) }))
        }
        Err(atoll_compute::ComputeError::Runtime(
            atoll_runtime_host::host::HostError::Protocol(e),
        )) => Err(ApiError::rejected(atoll_consensus::TxError {
            module: "runtime".into(),
            code: e.code,
            message: e.message,
        })),
        Err(e) => Err(ApiError::internal(e)),
    }
}
