//! The Ethereum JSON-RPC of the EVM ParaTimes this node serves, also on the API's port:
//! `POST /v1/runtimes/{id}/eth` takes one JSON-RPC request (no batches, no subscriptions:
//! those stay on the JSON-RPC's own HTTP and WebSocket address) and answers as the
//! JSON-RPC would. The explorer reads EVM blocks, transactions and accounts through it
//! without leaving the node's origin.

use atoll_client::model::{ErrorBody, EthEndpoint, EthEndpoints};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::error::{ApiJson, ApiPath};
use super::queries::parse_runtime;
use super::{ApiError, ApiState};

/// The Ethereum JSON-RPCs this node serves.
#[utoipa::path(get, path = "/v1/eth", tag = "paratimes",
    responses((status = 200, body = EthEndpoints)))]
pub(crate) async fn endpoints(State(api): State<ApiState>) -> Json<EthEndpoints> {
    let endpoints = api
        .eth
        .iter()
        .map(|rpc| EthEndpoint { runtime: rpc.runtime(), chain_id: rpc.chain_id() })
        .collect();
    Json(EthEndpoints { endpoints })
}

/// One Ethereum JSON-RPC request to an EVM ParaTime this node serves; the answer is the
/// JSON-RPC response (a JSON-RPC error is a 200 with an `error` member, as over HTTP).
#[utoipa::path(post, path = "/v1/runtimes/{id}/eth", tag = "paratimes",
    params(("id" = String, Path, pattern = "^[0-9a-fA-F]{64}$", description = "runtime id, hex")),
    request_body(content = Object, description = "one JSON-RPC 2.0 request object"),
    responses((status = 200, description = "the JSON-RPC response", body = Object),
        (status = 400, body = ErrorBody),
        (status = 404, description = "this node serves no Ethereum JSON-RPC for the runtime",
            body = ErrorBody),
        (status = 415, body = ErrorBody)))]
pub(crate) async fn call(
    State(api): State<ApiState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(request): ApiJson<serde_json::Value>,
) -> Result<Response, ApiError> {
    let id = parse_runtime(&id)?;
    let rpc = api.eth.iter().find(|rpc| rpc.runtime() == id).ok_or_else(|| {
        ApiError::not_found(format!("this node serves no Ethereum JSON-RPC for runtime {id}"))
    })?;
    if !request.is_object() {
        return Err(ApiError::bad_request(
            "one JSON-RPC request object (batches go to the JSON-RPC's own address)",
        ));
    }
    let answer = rpc.call(&request).await.map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], answer).into_response())
}
