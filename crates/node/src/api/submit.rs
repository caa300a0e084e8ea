//! Submitting transactions and estimating their gas.

use atoll_client::model::{
    BatchItem, BatchSubmitRequest, BatchSubmitResponse, ErrorBody, EstimateGasRequest,
    EstimateGasResponse, SubmitRequest, SubmitResponse, MAX_BATCH,
};
use atoll_consensus::{simulate, CallError, Fee, Transaction};
use axum::body::Bytes;
use axum::extract::State;
use axum::Json;

use super::error::ApiJson;
use super::{ApiError, ApiState};

pub(super) fn decode_hex(what: &str, text: &str) -> Result<Vec<u8>, ApiError> {
    hex::decode(text).map_err(|e| ApiError::bad_request(format!("{what} is not hex: {e}")))
}

/// Submits a signed transaction: its hash once admitted to the mempool (and gossiped), or
/// why it was refused (422 with the module and code).
#[utoipa::path(post, path = "/v1/transactions", tag = "transactions",
    request_body = SubmitRequest,
    responses((status = 200, body = SubmitResponse),
        (status = 400, description = "malformed request", body = ErrorBody),
        (status = 413, description = "body too large", body = ErrorBody),
        (status = 422, description = "refused by the chain's checks", body = ErrorBody),
        (status = 503, description = "mempool full", body = ErrorBody)))]
pub(crate) async fn submit(
    State(api): State<ApiState>,
    ApiJson(request): ApiJson<SubmitRequest>,
) -> Result<Json<SubmitResponse>, ApiError> {
    let raw = decode_hex("tx", &request.tx)?;
    let node = api.node.clone();
    let hash = tokio::task::spawn_blocking(move || node.submit(raw))
        .await
        .map_err(ApiError::internal)??;
    Ok(Json(SubmitResponse { hash }))
}

/// Submits up to 1,000 signed transactions; each gets its hash or its refusal.
#[utoipa::path(post, path = "/v1/transactions/batch", tag = "transactions",
    request_body = BatchSubmitRequest,
    responses((status = 200, body = BatchSubmitResponse),
        (status = 400, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub(crate) async fn submit_batch(
    State(api): State<ApiState>,
    ApiJson(request): ApiJson<BatchSubmitRequest>,
) -> Result<Json<BatchSubmitResponse>, ApiError> {
    check_batch_size(request.txs.len())?;
    let raws = request.txs.iter().map(|text| decode_hex("tx", text)).collect();
    admit_batch(&api, raws).await
}

/// Submits up to 1,000 signed transactions in binary: the body is the borsh encoding of a
/// list of byte strings (a little-endian `u32` count, then each transaction as a `u32`
/// length and its bytes), with no hex or JSON to decode. Each gets its hash or its refusal.
#[utoipa::path(post, path = "/v1/transactions/batch/binary", tag = "transactions",
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "borsh `Vec<Vec<u8>>` of signed transactions"),
    responses((status = 200, body = BatchSubmitResponse),
        (status = 400, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub(crate) async fn submit_batch_binary(
    State(api): State<ApiState>,
    body: Bytes,
) -> Result<Json<BatchSubmitResponse>, ApiError> {
    let raws: Vec<Vec<u8>> = atoll_types::decode(&body, body.len())
        .map_err(|e| ApiError::bad_request(format!("not a borsh list of transactions: {e}")))?;
    check_batch_size(raws.len())?;
    admit_batch(&api, raws.into_iter().map(Ok).collect()).await
}

fn check_batch_size(count: usize) -> Result<(), ApiError> {
    if count > MAX_BATCH {
        return Err(ApiError::bad_request(format!(
            "{count} transactions in one batch; at most {MAX_BATCH}"
        )));
    }
    Ok(())
}

/// Admits the transactions that decoded, in one batch (checked on every core), and answers
/// for each in the request's order.
async fn admit_batch(
    api: &ApiState,
    raws: Vec<Result<Vec<u8>, ApiError>>,
) -> Result<Json<BatchSubmitResponse>, ApiError> {
    let node = api.node.clone();
    let results = tokio::task::spawn_blocking(move || {
        let mut decoded = Vec::with_capacity(raws.len());
        let slots: Vec<Result<(), ApiError>> =
            raws.into_iter().map(|raw| raw.map(|raw| decoded.push(raw))).collect();
        let mut admitted = node.submit_batch(decoded).into_iter();
        slots
            .into_iter()
            .map(|slot| match slot.and_then(|()| Ok(admitted.next().ok_or_else(lost)??)) {
                Ok(hash) => BatchItem { hash: Some(hash), error: None },
                Err(e) => BatchItem { hash: None, error: Some(e.into_detail()) },
            })
            .collect()
    })
    .await
    .map_err(ApiError::internal)?;
    Ok(Json(BatchSubmitResponse { results }))
}

fn lost() -> ApiError {
    ApiError::internal("a batch answer went missing")
}

/// The gas a call needs when signed by `signer`, and the error a dry run against the latest
/// state gives (if any).
#[utoipa::path(post, path = "/v1/transactions/estimate-gas", tag = "transactions",
    request_body = EstimateGasRequest,
    responses((status = 200, body = EstimateGasResponse),
        (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(crate) async fn estimate_gas(
    State(api): State<ApiState>,
    ApiJson(request): ApiJson<EstimateGasRequest>,
) -> Result<Json<EstimateGasResponse>, ApiError> {
    let body = decode_hex("body", &request.body)?;
    let state = api.node.state().clone();
    let tx = Transaction { nonce: 0, fee: Fee::default(), method: request.method, body };
    let simulation = tokio::task::spawn_blocking(move || {
        let root = state.latest().map_err(ApiError::internal)?;
        let root = root.ok_or_else(|| ApiError::unavailable("no state yet"))?;
        let tree = state.store().tree(&root).map_err(ApiError::internal)?;
        match simulate(&tree, &request.signer, &tx) {
            Ok(simulation) => Ok(simulation),
            Err(CallError::Tx(e)) => Err(ApiError::rejected(e)),
            Err(CallError::Fatal(e)) => Err(ApiError::internal(e)),
        }
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(Json(EstimateGasResponse {
        gas: simulation.gas,
        min_gas_price: simulation.min_gas_price,
        error: simulation.error.map(|e| ApiError::rejected(e).into_detail()),
    }))
}
