//! Status, blocks, transactions and events: reads of the block store and the node itself.

use atoll_client::model::{
    AccountTransactions, AccountTx, AccountTxsQuery, BlockResponse, ErrorBody, ErrorDetail,
    EventItem, EventsResponse, FinalityLatency, Status, TransactionResponse, TxOutcome, TxSummary,
};
use atoll_consensus::{chain, BlockResults, SignedTransaction, TxResult};
use atoll_engine::Block;
use atoll_types::{Address, Hash, Height};
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;

use super::error::{page_limit, ApiPath, ApiQuery};
use super::{ApiError, ApiState};

const DEFAULT_ACCOUNT_TXS: u32 = 20;
const MAX_ACCOUNT_TXS: u32 = 100;

/// Parses a hex hash from a path.
pub(crate) fn parse_hash(text: &str) -> Result<Hash, ApiError> {
    text.parse().map_err(|e| ApiError::bad_request(format!("invalid hash {text:?}: {e}")))
}

/// Parses a height from a path.
pub(crate) fn parse_height(text: &str) -> Result<u64, ApiError> {
    text.parse().map_err(|_| ApiError::bad_request(format!("invalid height {text:?}")))
}

/// The OpenAPI document of this API.
#[utoipa::path(get, path = "/openapi.json", tag = "chain",
    responses((status = 200, description = "the OpenAPI 3.1 document", body = Object)))]
pub(crate) async fn openapi_document(State(api): State<ApiState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], api.document)
}

/// The node's view of the chain: height, epoch, sync state, peers.
#[utoipa::path(get, path = "/v1/status", tag = "chain",
    responses((status = 200, body = Status), (status = 503, body = ErrorBody)))]
pub(crate) async fn status(State(api): State<ApiState>) -> Result<Json<Status>, ApiError> {
    let node = &api.node;
    let status = node.status();
    let state = node.state().clone();
    let (info, params) = tokio::task::spawn_blocking(move || {
        let root = state.latest().map_err(ApiError::internal)?;
        let root = root.ok_or_else(|| ApiError::unavailable("no state yet"))?;
        let tree = state.store().tree(&root).map_err(ApiError::internal)?;
        let info = chain::chain_info(&tree).map_err(ApiError::internal)?;
        let params = chain::parameters(&tree).map_err(ApiError::internal)?;
        Ok::<_, ApiError>((info, params))
    })
    .await
    .map_err(ApiError::internal)??;
    let earliest = node.blocks().earliest().map_err(ApiError::internal)?;
    Ok(Json(Status {
        chain_id: info.chain_id,
        chain_context: info.chain_context,
        token_symbol: info.token.symbol,
        token_exponent: info.token.exponent,
        height: status.height,
        block_id: status.block_id,
        app_hash: status.app_hash,
        block_time: status.block_time,
        epoch: params.epoch_of(Height(status.height)).0,
        earliest_height: earliest.map(|h| h.0),
        consensus_height: status.consensus_height,
        round: status.round,
        validators: status.validators as u64,
        peers: node.peers().await.map(|p| p as u64),
        catching_up: status.catching_up,
        mempool_size: node.mempool_len() as u64,
        finality: node.finality().map(|f| FinalityLatency {
            samples: f.samples as u64,
            p50_ms: f.p50.as_millis() as u64,
            p99_ms: f.p99.as_millis() as u64,
            latest_ms: f.latest.as_millis() as u64,
        }),
    }))
}

fn error_detail(error: &atoll_consensus::TxError) -> ErrorDetail {
    ErrorDetail {
        kind: "failed".into(),
        message: error.message.clone(),
        module: Some(error.module.clone()),
        code: Some(error.code),
    }
}

/// What a block's transaction shows: decoded fields when it decodes, and its result.
pub(crate) fn tx_summary(raw: &[u8], index: u32, result: Option<&TxResult>) -> TxSummary {
    let decoded = atoll_types::decode::<SignedTransaction>(raw, raw.len())
        .ok()
        .and_then(|signed| Some((*signed.signer(), signed.decode_verified_elsewhere().ok()?)));
    let outcome = result.map(|r| TxOutcome {
        ok: r.error.is_none(),
        gas_used: r.gas_used,
        error: r.error.as_ref().map(error_detail),
    });
    TxSummary {
        hash: Hash::digest(raw),
        index,
        sender: decoded.as_ref().map(|(signer, _)| Address::from_public_key(signer)),
        nonce: decoded.as_ref().map(|(_, tx)| tx.nonce),
        method: decoded.as_ref().map(|(_, tx)| tx.method.clone()),
        fee: decoded.as_ref().map(|(_, tx)| tx.fee.amount),
        gas: decoded.as_ref().map(|(_, tx)| tx.fee.gas),
        body: decoded.as_ref().map(|(_, tx)| hex::encode(&tx.body)),
        decoded: decoded
            .as_ref()
            .and_then(|(_, tx)| atoll_client::bodies::body_json(&tx.method, &tx.body)),
        result: outcome,
    }
}

fn block_response(block: &Block, results: Option<&BlockResults>) -> BlockResponse {
    let header = &block.header;
    BlockResponse {
        height: header.height.0,
        id: block.id(),
        time: header.time,
        epoch: header.epoch.0,
        previous_block_id: header.previous_block_id,
        app_hash: header.app_hash,
        transactions_root: header.transactions_root,
        proposer: header.proposer,
        last_commit_signers: block
            .last_commit
            .iter()
            .flat_map(|c| c.signatures.iter().map(|s| s.validator))
            .collect(),
        evidence: block.evidence.len() as u64,
        transactions: block
            .transactions
            .iter()
            .enumerate()
            .map(|(i, raw)| tx_summary(raw, i as u32, results.and_then(|r| r.results.get(i))))
            .collect(),
    }
}

/// The block at `height` with its results. A block is stored just before its state is
/// applied; until the status shows that height it is not served, so that whoever sees a
/// block (or "committed" for one of its transactions) reads state that includes it.
/// A whole block (up to 16 MiB) is read and decoded on a blocking thread, at most
/// [`super::HEAVY_READS`] at a time, so block requests never stall the async workers that
/// serve everything else.
async fn load_block(
    api: &ApiState,
    height: u64,
) -> Result<(Block, Option<BlockResults>), ApiError> {
    let missing = move || ApiError::not_found(format!("no block at height {height} on this node"));
    if height > api.node.status().height {
        return Err(missing());
    }
    let _permit = api.heavy.acquire().await.map_err(ApiError::internal)?;
    let node = api.node.clone();
    tokio::task::spawn_blocking(move || {
        let store = node.blocks();
        let block = store.block(Height(height)).map_err(ApiError::internal)?.ok_or_else(missing)?;
        let results = store.results(Height(height)).map_err(ApiError::internal)?;
        Ok((block, results))
    })
    .await
    .map_err(ApiError::internal)?
}

/// The latest committed block.
#[utoipa::path(get, path = "/v1/blocks/latest", tag = "chain",
    responses((status = 200, body = BlockResponse), (status = 404, body = ErrorBody)))]
pub(crate) async fn latest_block(
    State(api): State<ApiState>,
) -> Result<Json<BlockResponse>, ApiError> {
    let height = api.node.status().height;
    if height == 0 {
        return Err(ApiError::not_found("no block yet"));
    }
    let (block, results) = load_block(&api, height).await?;
    Ok(Json(block_response(&block, results.as_ref())))
}

/// The block at a height.
#[utoipa::path(get, path = "/v1/blocks/{height}", tag = "chain",
    params(("height" = u64, Path, description = "block height")),
    responses((status = 200, body = BlockResponse), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn block(
    State(api): State<ApiState>,
    ApiPath(height): ApiPath<String>,
) -> Result<Json<BlockResponse>, ApiError> {
    let (block, results) = load_block(&api, parse_height(&height)?).await?;
    Ok(Json(block_response(&block, results.as_ref())))
}

/// The block with an id.
#[utoipa::path(get, path = "/v1/blocks/by-id/{id}", tag = "chain",
    params(("id" = String, Path, pattern = "^[0-9a-fA-F]{64}$", description = "block id, hex")),
    responses((status = 200, body = BlockResponse), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn block_by_id(
    State(api): State<ApiState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<BlockResponse>, ApiError> {
    let id = parse_hash(&id)?;
    let height = api.node.blocks().height_of(&id).map_err(ApiError::internal)?;
    let height = height.ok_or_else(|| ApiError::not_found(format!("no block {id}")))?;
    let (block, results) = load_block(&api, height.0).await?;
    Ok(Json(block_response(&block, results.as_ref())))
}

/// The events of a block, in order, each with its transaction.
pub(crate) fn event_items(height: u64, block: &Block, results: &BlockResults) -> Vec<EventItem> {
    results
        .events
        .iter()
        .map(|record| EventItem {
            height,
            tx_index: record.tx_index,
            tx_hash: record
                .tx_index
                .and_then(|i| block.transactions.get(i as usize))
                .map(|raw| Hash::digest(raw)),
            event: serde_json::to_value(&record.event).unwrap_or_default(),
        })
        .collect()
}

/// Every event of the block at a height.
#[utoipa::path(get, path = "/v1/blocks/{height}/events", tag = "chain",
    params(("height" = u64, Path, description = "block height")),
    responses((status = 200, body = EventsResponse), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn block_events(
    State(api): State<ApiState>,
    ApiPath(height): ApiPath<String>,
) -> Result<Json<EventsResponse>, ApiError> {
    let height = parse_height(&height)?;
    let (block, results) = load_block(&api, height).await?;
    let results = results
        .ok_or_else(|| ApiError::not_found(format!("results of block {height} are not kept")))?;
    Ok(Json(EventsResponse { height, events: event_items(height, &block, &results) }))
}

/// A transaction by hash: committed (with its result and events) or pending here.
#[utoipa::path(get, path = "/v1/transactions/{hash}", tag = "chain",
    params(("hash" = String, Path, pattern = "^[0-9a-fA-F]{64}$", description = "transaction hash, hex")),
    responses((status = 200, body = TransactionResponse), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub(crate) async fn transaction(
    State(api): State<ApiState>,
    ApiPath(hash): ApiPath<String>,
) -> Result<Json<TransactionResponse>, ApiError> {
    let hash = parse_hash(&hash)?;
    // Pending until its block's state is applied (see `load_block`).
    let applied = api.node.status().height;
    let included = api.node.blocks().transaction(&hash).map_err(ApiError::internal)?;
    let Some((height, index)) = included.filter(|(h, _)| h.0 <= applied) else {
        if included.is_some() || api.node.in_mempool(&hash) {
            return Ok(Json(TransactionResponse {
                hash,
                status: "pending".into(),
                height: None,
                tx: None,
                raw: None,
                events: Vec::new(),
            }));
        }
        return Err(ApiError::not_found(format!("transaction {hash} is not known here")));
    };
    let (block, results) = load_block(&api, height.0).await?;
    let raw = block
        .transactions
        .get(index as usize)
        .ok_or_else(|| ApiError::internal("transaction index outside its block"))?;
    let result = results.as_ref().and_then(|r| r.results.get(index as usize));
    let events = results
        .as_ref()
        .map(|r| {
            event_items(height.0, &block, r)
                .into_iter()
                .filter(|e| e.tx_index == Some(index))
                .map(|e| e.event)
                .collect()
        })
        .unwrap_or_default();
    Ok(Json(TransactionResponse {
        hash,
        status: "committed".into(),
        height: Some(height.0),
        tx: Some(tx_summary(raw, index, result)),
        raw: Some(hex::encode(raw)),
        events,
    }))
}

/// The transactions an account signed that blocks included, newest first, with their
/// results: a page of at most 100 (`before` = `<height>:<index>` of the last one).
#[utoipa::path(get, path = "/v1/accounts/{address}/transactions", tag = "chain",
    params(("address" = String, Path, pattern = "^(atoll1[02-9ac-hj-np-z]{6,}|[0-9a-fA-F]{64})$",
        description = "bech32 address, or a hex public key standing for its address"),
        AccountTxsQuery),
    responses((status = 200, body = AccountTransactions), (status = 400, body = ErrorBody)))]
pub(crate) async fn account_transactions(
    State(api): State<ApiState>,
    ApiPath(address): ApiPath<String>,
    ApiQuery(q): ApiQuery<AccountTxsQuery>,
) -> Result<Json<AccountTransactions>, ApiError> {
    let address = super::queries::parse_address(&address)?;
    let limit = page_limit(q.limit, DEFAULT_ACCOUNT_TXS, MAX_ACCOUNT_TXS)?;
    let before = match q.before.as_deref() {
        None => None,
        Some(text) => {
            let bad =
                || ApiError::bad_request(format!("before must be <height>:<index>, not {text:?}"));
            let (height, index) = text.split_once(':').ok_or_else(bad)?;
            Some((Height(height.parse().map_err(|_| bad())?), index.parse().map_err(|_| bad())?))
        }
    };
    let node = api.node.clone();
    let found = tokio::task::spawn_blocking(move || node.blocks().sent_by(&address, before, limit))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let mut transactions = Vec::with_capacity(found.len());
    let mut loaded: Option<(u64, Block, Option<BlockResults>)> = None;
    for (height, index, _) in found {
        if loaded.as_ref().is_none_or(|(h, _, _)| *h != height.0) {
            let (block, results) = load_block(&api, height.0).await?;
            loaded = Some((height.0, block, results));
        }
        let Some((_, block, results)) = loaded.as_ref() else { continue };
        let Some(raw) = block.transactions.get(index as usize) else { continue };
        let result = results.as_ref().and_then(|r| r.results.get(index as usize));
        transactions.push(AccountTx { height: height.0, tx: tx_summary(raw, index, result) });
    }
    Ok(Json(AccountTransactions { transactions }))
}
