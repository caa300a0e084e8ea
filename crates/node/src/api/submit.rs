//! Submitting transactions and estimating their gas.

use atoll_client::model::{
    BatchItem, BatchSubmitRequest, BatchSubmitResponse, ErrorBody, EstimateGasRequest,
    EstimateGasResponse, SubmitRequest, SubmitResponse, MAX_BATCH,
};
use atoll_consensus::{simulate, CallError, Fee, Transaction};
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
    if request.txs.len() > MAX_BATCH {
        return Err(ApiError::bad_request(format!(
            "{} transactions in one batch; at most {MAX_BATCH}",
            request.txs.len()
        )));
    }
    let node = api.node.clone();
    let results = tokio::task::spawn_blocking(move || {
        request
            .txs
            .iter()
            .map(|text| match decode_hex("tx", text).and_then(|raw| Ok(node.submit(raw)?)) {
                Ok(hash) => BatchItem { hash: Some(hash), error: None },
                Err(e) => BatchItem { hash: None, error: Some(e.into_detail()) },
            })
            .collect()
    })
    .await
    .map_err(ApiError::internal)?;
    Ok(Json(BatchSubmitResponse { results }))
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
