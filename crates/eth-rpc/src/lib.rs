//! The Ethereum JSON-RPC of an EVM ParaTime: what ethers, viem, web3.py, cast and wallets
//! talk to, over HTTP and WebSocket on one listen address.
//!
//! A node that runs an EVM ParaTime (its compute role) serves it when its `[[compute]]`
//! section names an `eth_rpc_listen` address (docs/EVM.md). The parts, laid out like the
//! `eth` namespace of other Ethereum nodes:
//!
//! - [`index`]: blocks, transactions and receipts in redb, derived from the runtime's
//!   finalized rounds by [`feed`] (rebuilt from them if missing);
//! - [`eth`]: the `eth`, `net` and `web3` methods;
//! - [`filter`]: polled filters; [`pubsub`]: WebSocket subscriptions;
//! - [`convert`]: index records to alloy's RPC types;
//! - [`state`]: what the methods read; [`error`]: the error codes clients expect;
//!   [`unknown`]: unknown methods in geth's words.
//!
//! One Ethereum block per runtime round: rounds that did not execute are empty blocks, so
//! numbers have no gaps; every block is final when it is served.

pub mod convert;
pub mod error;
pub mod eth;
pub mod feed;
pub mod filter;
pub mod index;
pub mod pubsub;
pub mod state;
pub mod unknown;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use atoll_compute::ComputeHandle;
use jsonrpsee::core::middleware::RpcServiceBuilder;
use jsonrpsee::server::{BatchRequestConfig, Server, ServerConfig, ServerHandle};
use jsonrpsee::RpcModule;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use crate::index::Index;
use crate::state::EthState;

/// Limits on what one client may ask.
#[derive(Clone, Debug)]
pub struct RpcLimits {
    /// Largest request body (a batch counts as one).
    pub max_request_bytes: u32,
    /// Largest response body.
    pub max_response_bytes: u32,
    /// Open connections at once.
    pub max_connections: u32,
    /// Requests in one batch.
    pub max_batch: u32,
    /// Subscriptions per WebSocket connection.
    pub max_subscriptions: u32,
    /// Blocks one `eth_getLogs` may span.
    pub max_log_blocks: u64,
    /// Logs one `eth_getLogs` may return.
    pub max_logs: usize,
    /// Largest raw transaction accepted.
    pub max_transaction_bytes: usize,
}

impl Default for RpcLimits {
    fn default() -> Self {
        Self {
            max_request_bytes: 5 << 20,
            max_response_bytes: 50 << 20,
            max_connections: 256,
            max_batch: 1_000,
            max_subscriptions: 256,
            max_log_blocks: 10_000,
            max_logs: 10_000,
            max_transaction_bytes: 128 << 10,
        }
    }
}

/// How to serve the JSON-RPC of one EVM ParaTime.
#[derive(Clone, Debug)]
pub struct EthRpcConfig {
    /// Where to listen (HTTP and WebSocket on the same port).
    pub listen: SocketAddr,
    /// The index file.
    pub index_path: PathBuf,
    /// Limits.
    pub limits: RpcLimits,
}

/// Why the JSON-RPC did not start.
#[derive(Debug, thiserror::Error)]
pub enum EthRpcError {
    /// The index could not be opened.
    #[error(transparent)]
    Index(#[from] error::IndexError),
    /// The ParaTime did not say its chain id.
    #[error("asking the EVM ParaTime for its chain id: {0}")]
    ChainId(String),
    /// The listen address could not be bound.
    #[error("binding {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    /// A method was registered twice.
    #[error("registering methods: {0}")]
    Register(String),
}

/// A running JSON-RPC endpoint.
pub struct EthRpc {
    addr: SocketAddr,
    chain_id: u64,
    server: ServerHandle,
    feed: JoinHandle<()>,
    handle: EthRpcHandle,
}

/// The methods of a running JSON-RPC, callable in-process: what the node API serves at
/// `POST /v1/runtimes/{id}/eth` (one request at a time, no subscriptions), so that the
/// node's own pages reach the EVM ParaTime from the API's origin.
#[derive(Clone)]
pub struct EthRpcHandle {
    runtime: atoll_types::RuntimeId,
    chain_id: u64,
    methods: jsonrpsee::Methods,
}

/// Why an in-process call was refused before reaching a method.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// Not one JSON-RPC request object.
    #[error("not a JSON-RPC request: {0}")]
    Invalid(String),
    /// A subscription method, which needs a WebSocket.
    #[error("{0} needs a WebSocket connection: use the JSON-RPC endpoint's ws:// address")]
    Subscription(String),
}

impl EthRpcHandle {
    /// The runtime it serves.
    pub fn runtime(&self) -> atoll_types::RuntimeId {
        self.runtime
    }

    /// The ParaTime's Ethereum chain id.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// Answers one JSON-RPC request (a JSON object): the JSON-RPC response, which may be an
    /// error response as over HTTP.
    pub async fn call(&self, request: &serde_json::Value) -> Result<String, CallError> {
        let method = request
            .get("method")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| CallError::Invalid("no method".into()))?;
        if pubsub::SUBSCRIPTION_METHODS.contains(&method) {
            return Err(CallError::Subscription(method.to_owned()));
        }
        let (response, _) = self
            .methods
            .raw_json_request(&request.to_string(), 1)
            .await
            .map_err(|e| CallError::Invalid(e.to_string()))?;
        Ok(response.get().to_owned())
    }
}

impl EthRpc {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The ParaTime's Ethereum chain id.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// Its methods, callable in-process.
    pub fn handle(&self) -> EthRpcHandle {
        self.handle.clone()
    }

    /// Stops serving and indexing.
    pub async fn stop(self) {
        let _ = self.server.stop();
        self.server.stopped().await;
        self.feed.abort();
        let _ = self.feed.await;
    }
}

/// Starts the JSON-RPC of the EVM ParaTime `compute` runs.
pub async fn start(config: EthRpcConfig, compute: ComputeHandle) -> Result<EthRpc, EthRpcError> {
    let index = Arc::new(Index::open(&config.index_path)?);
    let chain_id = chain_id(&compute).await?;
    let (heads, _) = broadcast::channel(1024);
    let (pending, _) = broadcast::channel(4096);
    let filters = Arc::new(filter::Filters::default());
    let state = EthState {
        compute: compute.clone(),
        index: index.clone(),
        chain_id,
        limits: config.limits.clone(),
        heads: heads.clone(),
        pending: pending.clone(),
        filters: filters.clone(),
    };
    let mut module = RpcModule::new(state);
    let register = |e: jsonrpsee::core::RegisterMethodError| EthRpcError::Register(e.to_string());
    eth::register(&mut module).map_err(register)?;
    filter::register(&mut module).map_err(register)?;
    pubsub::register(&mut module).map_err(register)?;
    let limits = &config.limits;
    let server_config = ServerConfig::builder()
        .max_request_body_size(limits.max_request_bytes)
        .max_response_body_size(limits.max_response_bytes)
        .max_connections(limits.max_connections)
        .max_subscriptions_per_connection(limits.max_subscriptions)
        .set_batch_request_config(BatchRequestConfig::Limit(limits.max_batch))
        .set_id_provider(pubsub::HexIds)
        .build();
    // Any origin may call it, as any Ethereum node's public endpoint: browser dapps talk to
    // it directly (it holds no keys and no cookies).
    let cors = tower_http::cors::CorsLayer::new()
        .allow_origin(tower_http::cors::Any)
        .allow_methods(tower_http::cors::Any)
        .allow_headers(tower_http::cors::Any);
    let known: Arc<std::collections::HashSet<_>> = Arc::new(module.method_names().collect());
    let handle = EthRpcHandle { runtime: compute.runtime(), chain_id, methods: module.clone() };
    let unknown = RpcServiceBuilder::new()
        .layer_fn(move |service| unknown::GethUnknownMethods::new(known.clone(), service));
    let server = Server::builder()
        .set_config(server_config)
        .set_http_middleware(tower::ServiceBuilder::new().layer(cors))
        .set_rpc_middleware(unknown)
        .build(config.listen)
        .await
        .map_err(|e| EthRpcError::Bind(config.listen, e))?;
    let addr = server.local_addr().map_err(|e| EthRpcError::Bind(config.listen, e))?;
    let server = server.start(module);
    let pool = feed::pending(compute.pooled_transactions(), filters, pending);
    let feed = tokio::spawn(async move {
        tokio::join!(feed::run(compute, index, heads), pool);
    });
    tracing::info!(%addr, chain_id, "Ethereum JSON-RPC listening");
    Ok(EthRpc { addr, chain_id, server, feed, handle })
}

/// The ParaTime's chain id, from its `evm.ChainId` query.
async fn chain_id(compute: &ComputeHandle) -> Result<u64, EthRpcError> {
    let bytes = compute
        .query(atoll_evm::module::CHAIN_ID.to_owned(), atoll_types::encode(&()))
        .await
        .map_err(|e| EthRpcError::ChainId(e.to_string()))?;
    atoll_types::decode(&bytes, 8).map_err(|e| EthRpcError::ChainId(e.to_string()))
}
