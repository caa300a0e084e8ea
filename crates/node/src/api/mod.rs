//! The node's REST/JSON and WebSocket API, with its OpenAPI document at `/openapi.json`.
//!
//! Routes are registered through `utoipa-axum`, so the document is built from the very
//! router that serves: a route cannot be served without being documented. Every error is a
//! JSON body (see [`error`]); bodies are bounded by `api.max_body_bytes` and each client IP
//! by a token bucket (`api.rate_limit_per_second`, `api.rate_limit_burst`). The same port
//! serves the block explorer at `/explorer` ([`explorer`]), built on this API.

mod checkpoints;
mod document;
pub mod error;
mod eth;
mod evidence;
mod explorer;
mod limit;
mod pairs;
mod queries;
mod read;
mod rounds;
mod runtime;
mod submit;
mod ws;

use std::net::SocketAddr;
use std::sync::Arc;

use atoll_engine::bft::NodeView;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::Router;
use tokio::task::JoinHandle;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::ApiConfig;
pub use error::ApiError;

/// What every handler shares.
#[derive(Clone)]
pub struct ApiState {
    node: NodeView,
    /// The compute role of each ParaTime this node runs.
    compute: Vec<atoll_compute::ComputeHandle>,
    /// The Ethereum JSON-RPC of each EVM ParaTime this node serves one for.
    eth: Vec<atoll_eth_rpc::EthRpcHandle>,
    /// The OpenAPI document, serialized once.
    document: Bytes,
    /// Permits for open WebSocket streams.
    streams: Arc<tokio::sync::Semaphore>,
    /// What recent heights produce for streams, decoded once for every subscriber.
    heights: Arc<ws::HeightCache>,
    /// Permits for whole-block reads.
    heavy: Arc<tokio::sync::Semaphore>,
}

/// Whole-block reads served at once; more wait for a permit.
pub(crate) const HEAVY_READS: usize = 4;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Atoll node API",
        description = "Status, blocks, transactions and state of an Atoll consensus node. \
            State reads take `height` and `proof`; errors are `{\"error\": {kind, message, \
            module?, code?}}`."
    ),
    tags(
        (name = "chain", description = "status, blocks, transactions, events"),
        (name = "transactions", description = "submit and estimate"),
        (name = "state", description = "state queries, optionally proven"),
        (name = "stream", description = "WebSocket stream"),
        (name = "paratimes", description = "runtime blocks, transactions and queries")
    )
)]
struct ApiDoc;

fn api_routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(read::openapi_document))
        .routes(routes!(read::status))
        .routes(routes!(read::latest_block))
        .routes(routes!(read::block))
        .routes(routes!(read::block_by_id))
        .routes(routes!(read::block_events))
        .routes(routes!(read::transaction))
        .routes(routes!(submit::submit))
        .routes(routes!(submit::submit_batch))
        .routes(routes!(submit::submit_batch_binary))
        .routes(routes!(submit::estimate_gas))
        .routes(routes!(queries::chain))
        .routes(routes!(queries::account))
        .routes(routes!(read::account_transactions))
        .routes(routes!(queries::delegations))
        .routes(routes!(queries::delegators))
        .routes(routes!(queries::debonding_delegations))
        .routes(routes!(queries::validators))
        .routes(routes!(queries::entities))
        .routes(routes!(queries::entity))
        .routes(routes!(queries::nodes))
        .routes(routes!(queries::node))
        .routes(routes!(queries::node_status))
        .routes(routes!(evidence::node_evidence))
        .routes(routes!(queries::runtimes))
        .routes(routes!(queries::runtime))
        .routes(routes!(queries::committee))
        .routes(routes!(queries::epoch))
        .routes(routes!(queries::beacon))
        .routes(routes!(queries::proposals))
        .routes(routes!(queries::proposal))
        .routes(routes!(queries::votes))
        .routes(routes!(ws::stream))
        .routes(routes!(runtime::latest_block))
        .routes(routes!(runtime::block))
        .routes(routes!(runtime::roothash_state))
        .routes(routes!(runtime::submit))
        .routes(routes!(runtime::put_blob))
        .routes(routes!(runtime::transaction))
        .routes(routes!(runtime::round))
        .routes(routes!(rounds::rounds))
        .routes(routes!(rounds::round_events))
        .routes(routes!(eth::endpoints))
        .routes(routes!(eth::call))
        .routes(routes!(runtime::query))
        .routes(routes!(checkpoints::checkpoints))
        .routes(routes!(checkpoints::checkpoint_manifest))
        .routes(routes!(checkpoints::checkpoint_chunk))
        .routes(routes!(checkpoints::checkpoint_next))
        .routes(routes!(checkpoints::raw_block))
}

/// The router of every documented route and its OpenAPI document.
fn documented() -> (Router<ApiState>, utoipa::openapi::OpenApi) {
    let (router, mut document) = api_routes().split_for_parts();
    document::complete(&mut document);
    (router, document)
}

/// The OpenAPI document of every route the API serves.
pub fn openapi() -> utoipa::openapi::OpenApi {
    documented().1
}

/// The API's router over `node` (and the compute role of each ParaTime it runs, and the
/// Ethereum JSON-RPC of each EVM ParaTime it serves one for).
pub fn router(
    node: NodeView,
    compute: Vec<atoll_compute::ComputeHandle>,
    eth: Vec<atoll_eth_rpc::EthRpcHandle>,
    config: &ApiConfig,
) -> Router {
    let (router, document) = documented();
    let document = Bytes::from(serde_json::to_vec(&document).unwrap_or_default());
    let state = ApiState {
        node,
        compute,
        eth,
        document,
        streams: Arc::new(tokio::sync::Semaphore::new(config.max_streams)),
        heights: Arc::new(ws::HeightCache::default()),
        heavy: Arc::new(tokio::sync::Semaphore::new(HEAVY_READS)),
    };
    let limiter = limit::RateLimiter::new(config.rate_limit_per_second, config.rate_limit_burst);
    router
        .merge(explorer::routes())
        .fallback(|| async { ApiError::no_route() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(limiter, limit::limit))
        .with_state(state)
}

/// Serves the API on `listen` until the task is aborted.
pub async fn serve(
    listen: &str,
    node: NodeView,
    compute: Vec<atoll_compute::ComputeHandle>,
    eth: Vec<atoll_eth_rpc::EthRpcHandle>,
    config: &ApiConfig,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let address = listener.local_addr()?;
    let app =
        router(node, compute, eth, config).into_make_service_with_connect_info::<SocketAddr>();
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "API server stopped");
        }
    });
    Ok((address, task))
}
