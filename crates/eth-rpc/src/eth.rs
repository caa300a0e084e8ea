//! The `eth`, `net` and `web3` namespaces: chain, blocks, transactions, receipts, state,
//! calls, fees and submission.

use alloy_primitives::{keccak256, Address, Bytes, B256, U256, U64};
use alloy_rpc_types_eth::{
    BlockId, BlockNumberOrTag, FeeHistory, Filter, FilterBlockOption, Log, TransactionRequest,
};
use atoll_evm::module::{self as evm, SimulateCall, SimulateResult, StorageQuery};
use jsonrpsee::types::{ErrorObjectOwned, Params};
use jsonrpsee::RpcModule;
use serde_json::Value;

use crate::convert;
use crate::error::{revert_reason, RpcError};
use crate::index::{IndexedBlock, LogQuery};
use crate::state::EthState;

type Answer = Result<Value, ErrorObjectOwned>;

fn json<T: serde::Serialize>(value: T) -> Answer {
    serde_json::to_value(value).map_err(|e| RpcError::Internal(e.to_string()).into())
}

/// Registers every method of the namespaces.
pub fn register(
    module: &mut RpcModule<EthState>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    module.register_method("web3_clientVersion", |_, _, _| {
        Ok::<_, ErrorObjectOwned>(format!("atoll/v{}", env!("CARGO_PKG_VERSION")))
    })?;
    module.register_method("web3_sha3", |params, _, _| {
        let data: Bytes = params.sequence().next()?;
        Ok::<_, ErrorObjectOwned>(keccak256(&data))
    })?;
    module.register_method("net_version", |_, s, _| {
        Ok::<_, ErrorObjectOwned>(s.chain_id.to_string())
    })?;
    module.register_method("net_listening", |_, _, _| Ok::<_, ErrorObjectOwned>(true))?;
    module.register_method("net_peerCount", |_, _, _| Ok::<_, ErrorObjectOwned>(U64::ZERO))?;
    module.register_method("eth_chainId", |_, s, _| {
        Ok::<_, ErrorObjectOwned>(U64::from(s.chain_id))
    })?;
    module.register_method("eth_syncing", |_, _, _| Ok::<_, ErrorObjectOwned>(false))?;
    module.register_method("eth_mining", |_, _, _| Ok::<_, ErrorObjectOwned>(false))?;
    module.register_method("eth_hashrate", |_, _, _| Ok::<_, ErrorObjectOwned>(U64::ZERO))?;
    module.register_method("eth_accounts", |_, _, _| {
        Ok::<_, ErrorObjectOwned>(Vec::<Address>::new())
    })?;
    module.register_method("eth_blockNumber", |_, s, _| -> Answer {
        json(U64::from(s.latest_number()?))
    })?;

    // Blocks.
    module.register_method("eth_getBlockByNumber", |params, s, _| -> Answer {
        let mut p = params.sequence();
        let tag: BlockNumberOrTag = p.next()?;
        let full: bool = p.optional_next()?.unwrap_or(false);
        block(s, BlockId::Number(tag), full)
    })?;
    module.register_method("eth_getBlockByHash", |params, s, _| -> Answer {
        let mut p = params.sequence();
        let hash: B256 = p.next()?;
        let full: bool = p.optional_next()?.unwrap_or(false);
        block(s, BlockId::from(hash), full)
    })?;
    module.register_method("eth_getBlockTransactionCountByNumber", |params, s, _| -> Answer {
        let tag: BlockNumberOrTag = params.sequence().next()?;
        json(s.block(BlockId::Number(tag))?.map(|(b, _)| U64::from(b.transactions.len())))
    })?;
    module.register_method("eth_getBlockTransactionCountByHash", |params, s, _| -> Answer {
        let hash: B256 = params.sequence().next()?;
        json(s.block(BlockId::from(hash))?.map(|(b, _)| U64::from(b.transactions.len())))
    })?;
    module.register_method("eth_getUncleCountByBlockNumber", |_, _, _| {
        Ok::<_, ErrorObjectOwned>(U64::ZERO)
    })?;
    module.register_method("eth_getUncleCountByBlockHash", |_, _, _| {
        Ok::<_, ErrorObjectOwned>(U64::ZERO)
    })?;
    module.register_method("eth_getBlockReceipts", |params, s, _| -> Answer {
        let id: BlockId = params.sequence().next()?;
        let Some((block, header)) = s.block(id)? else { return Ok(Value::Null) };
        let receipts: Vec<_> = s
            .transactions(&block)?
            .iter()
            .map(|tx| convert::receipt(tx, header.timestamp))
            .collect();
        json(receipts)
    })?;

    // Transactions.
    module.register_method("eth_getTransactionByHash", |params, s, _| -> Answer {
        let hash: B256 = params.sequence().next()?;
        match s.transaction(&hash)? {
            Some((tx, timestamp)) => json(convert::transaction(&tx, timestamp)?),
            None => Ok(Value::Null),
        }
    })?;
    module.register_method(
        "eth_getTransactionByBlockNumberAndIndex",
        |params, s, _| -> Answer {
            let mut p = params.sequence();
            let tag: BlockNumberOrTag = p.next()?;
            let index: U64 = p.next()?;
            transaction_at(s, BlockId::Number(tag), index)
        },
    )?;
    module.register_method("eth_getTransactionByBlockHashAndIndex", |params, s, _| -> Answer {
        let mut p = params.sequence();
        let hash: B256 = p.next()?;
        let index: U64 = p.next()?;
        transaction_at(s, BlockId::from(hash), index)
    })?;
    module.register_method("eth_getTransactionReceipt", |params, s, _| -> Answer {
        let hash: B256 = params.sequence().next()?;
        match s.transaction(&hash)? {
            Some((tx, timestamp)) => json(convert::receipt(&tx, timestamp)),
            None => Ok(Value::Null),
        }
    })?;
    module.register_async_method("eth_sendRawTransaction", |params, s, _| async move {
        let raw: Bytes = params.sequence().next()?;
        send_raw(&s, raw.to_vec()).await.map_err(ErrorObjectOwned::from)
    })?;

    // State.
    module.register_async_method("eth_getBalance", |params, s, _| async move {
        let (address, id) = address_and_block(&params)?;
        let wei: [u8; 32] = s.query(evm::BALANCE, &address.0 .0, id).await?;
        Ok::<_, ErrorObjectOwned>(U256::from_be_bytes(wei))
    })?;
    module.register_async_method("eth_getTransactionCount", |params, s, _| async move {
        let (address, id) = address_and_block(&params)?;
        let nonce: u64 = s.query(evm::NONCE, &address.0 .0, id).await?;
        let pending = matches!(id, Some(BlockId::Number(BlockNumberOrTag::Pending)));
        let pooled = if pending {
            s.compute.pool_next_nonce(&atoll_types::Address::from_eth(address.0 .0))
        } else {
            None
        };
        Ok::<_, ErrorObjectOwned>(U64::from(pooled.map_or(nonce, |p| p.max(nonce))))
    })?;
    module.register_async_method("eth_getCode", |params, s, _| async move {
        let (address, id) = address_and_block(&params)?;
        let code: Vec<u8> = s.query(evm::CODE, &address.0 .0, id).await?;
        Ok::<_, ErrorObjectOwned>(Bytes::from(code))
    })?;
    module.register_async_method("eth_getStorageAt", |params, s, _| async move {
        let mut p = params.sequence();
        let address: Address = p.next()?;
        let slot: U256 = p.next()?;
        let id: Option<BlockId> = p.optional_next()?;
        let query = StorageQuery { address: address.0 .0, slot: slot.to_be_bytes() };
        let value: [u8; 32] = s.query(evm::STORAGE, &query, id).await?;
        Ok::<_, ErrorObjectOwned>(B256::from(value))
    })?;
    module.register_async_method("eth_call", |params, s, _| async move {
        let (call, id) = call_params(&params)?;
        let result: SimulateResult = s.query(evm::SIMULATE_CALL, &call, id).await?;
        if !result.success {
            return Err(reverted(result).into());
        }
        Ok::<_, ErrorObjectOwned>(Bytes::from(result.output))
    })?;
    module.register_async_method("eth_estimateGas", |params, s, _| async move {
        let (call, id) = call_params(&params)?;
        // A run at the cap says whether the call can succeed at all, and why not.
        let result: SimulateResult = s.query(evm::SIMULATE_CALL, &call, id).await?;
        if !result.success {
            return Err(reverted(result).into());
        }
        let gas: u64 = s.query(evm::ESTIMATE_GAS, &call, id).await?;
        Ok::<_, ErrorObjectOwned>(U64::from(gas))
    })?;

    // Fees.
    module.register_async_method("eth_gasPrice", |_, s, _| async move {
        let base = base_fee(&s).await?;
        Ok::<_, ErrorObjectOwned>(U256::from(base + suggested_tip(&s)?))
    })?;
    module.register_method("eth_maxPriorityFeePerGas", |_, s, _| -> Answer {
        json(U256::from(suggested_tip(s)?))
    })?;
    module.register_method("eth_blobBaseFee", |_, _, _| {
        Ok::<_, ErrorObjectOwned>(U256::from(convert::BLOB_BASE_FEE))
    })?;
    module.register_method("eth_feeHistory", |params, s, _| -> Answer {
        let mut p = params.sequence();
        let count: U64 = p.next()?;
        let newest: BlockNumberOrTag = p.next()?;
        let percentiles: Option<Vec<f64>> = p.optional_next()?;
        json(fee_history(s, count.to::<u64>(), newest, percentiles)?)
    })?;

    // Logs.
    module.register_method("eth_getLogs", |params, s, _| -> Answer {
        let filter: Filter = params.sequence().next()?;
        json(logs(s, &filter)?)
    })?;
    Ok(())
}

fn block(s: &EthState, id: BlockId, full: bool) -> Answer {
    let Some((block, header)) = s.block(id)? else { return Ok(Value::Null) };
    let txs = if full { Some(s.transactions(&block)?) } else { None };
    json(convert::block(&block, header, txs.as_deref())?)
}

fn transaction_at(s: &EthState, id: BlockId, index: U64) -> Answer {
    let Some((block, header)) = s.block(id)? else { return Ok(Value::Null) };
    let Some(hash) =
        usize::try_from(index.to::<u64>()).ok().and_then(|i| block.transactions.get(i))
    else {
        return Ok(Value::Null);
    };
    match s.transaction(&B256::from(*hash))? {
        Some((tx, _)) => json(convert::transaction(&tx, header.timestamp)?),
        None => Ok(Value::Null),
    }
}

fn address_and_block(
    params: &Params<'static>,
) -> Result<(Address, Option<BlockId>), ErrorObjectOwned> {
    let mut p = params.sequence();
    let address: Address = p.next()?;
    let id: Option<BlockId> = p.optional_next()?;
    Ok((address, id))
}

/// The call of `eth_call` / `eth_estimateGas` and the block it runs at.
fn call_params(
    params: &Params<'static>,
) -> Result<(SimulateCall, Option<BlockId>), ErrorObjectOwned> {
    let mut p = params.sequence();
    let request: TransactionRequest = p.next()?;
    let id: Option<BlockId> = p.optional_next()?;
    let overrides: Option<Value> = p.optional_next()?;
    if overrides.as_ref().is_some_and(|o| o.as_object().is_some_and(|o| !o.is_empty())) {
        return Err(RpcError::InvalidParams("state overrides are not supported".into()).into());
    }
    let to = match request.to {
        Some(alloy_primitives::TxKind::Call(to)) => Some(to.0 .0),
        Some(alloy_primitives::TxKind::Create) | None => None,
    };
    let gas_price = request.gas_price.or(request.max_fee_per_gas);
    Ok((
        SimulateCall {
            caller: request.from.map(|a| a.0 .0),
            to,
            value: request.value.unwrap_or_default().to_be_bytes(),
            data: request.input.input().map(|d| d.to_vec()).unwrap_or_default(),
            gas_limit: request.gas,
            gas_price,
        },
        id,
    ))
}

fn reverted(result: SimulateResult) -> RpcError {
    if result.output.is_empty() && result.error.as_deref() != Some("execution reverted") {
        return RpcError::Server(result.error.unwrap_or_else(|| "execution failed".into()));
    }
    RpcError::Reverted { reason: revert_reason(&result.output), data: result.output }
}

/// Submits a signed Ethereum transaction; answers its hash.
async fn send_raw(s: &EthState, raw: Vec<u8>) -> Result<B256, RpcError> {
    if raw.len() > s.limits.max_transaction_bytes {
        return Err(RpcError::Server("oversized data".into()));
    }
    let hash = keccak256(&raw);
    let wrapped = atoll_runtime_sdk::UnverifiedTransaction::of_scheme(evm::SCHEME, raw);
    match s.compute.submit(atoll_types::encode(&wrapped)).await {
        // The pool announces it to the pending filters and subscriptions (`feed::pending`).
        Ok(_) => Ok(hash),
        Err(atoll_compute::SubmitError::Rejected(failure)) => Err(RpcError::Server(geth_message(
            failure.module.as_str(),
            failure.code,
            &failure.message,
        ))),
        Err(atoll_compute::SubmitError::Pool(e)) => Err(RpcError::Server(pool_message(&e))),
        Err(atoll_compute::SubmitError::Unavailable(e)) => Err(RpcError::Internal(e.to_string())),
    }
}

/// The message geth gives for the same refusal (clients and people match on them).
fn geth_message(module: &str, code: u32, message: &str) -> String {
    use evm::codes;
    if module != "evm" {
        return format!("{module} error {code}: {message}");
    }
    match code {
        codes::INSUFFICIENT_BALANCE => {
            format!("insufficient funds for gas * price + value: {message}")
        }
        codes::GAS_LIMIT => format!("intrinsic gas too low or above block gas limit: {message}"),
        codes::FEE_CAP => format!("max fee per gas less than block base fee: {message}"),
        codes::INVALID_TRANSACTION => format!("invalid transaction: {message}"),
        // Nonce refusals the module already words as geth does ("nonce too low: ...").
        _ => message.to_owned(),
    }
}

fn pool_message(e: &atoll_compute::TxPoolError) -> String {
    let text = e.to_string();
    if text.contains("already") {
        "already known".to_owned()
    } else if text.contains("below the account's next nonce") {
        format!("nonce too low: {text}")
    } else {
        format!("transaction pool: {text}")
    }
}

/// The base fee: the latest block's, or the ParaTime's minimum gas price in wei.
async fn base_fee(s: &EthState) -> Result<u128, RpcError> {
    if let Some((_, header)) = s.block(BlockId::Number(BlockNumberOrTag::Latest))? {
        if let Some(fee) = header.base_fee_per_gas {
            return Ok(u128::from(fee));
        }
    }
    let params: atoll_runtime_sdk::modules::core::CoreParameters =
        s.query("core.Parameters", &(), None).await?;
    Ok(params.min_gas_price.saturating_mul(evm::WEI_PER_BASE_UNIT))
}

/// How many recent blocks the tip suggestion looks at.
const TIP_BLOCKS: u64 = 20;

/// The median tip paid in recent blocks (zero when nobody tipped).
fn suggested_tip(s: &EthState) -> Result<u128, RpcError> {
    let latest = s.latest_number()?;
    let mut tips = Vec::new();
    for number in latest.saturating_sub(TIP_BLOCKS - 1)..=latest {
        let Some(block) = s.index.block(number)?.filter(|b| !b.transactions.is_empty()) else {
            continue;
        };
        let base = u128::from(block.header()?.base_fee_per_gas.unwrap_or(0));
        for tx in s.transactions(&block)? {
            tips.push(tx.receipt.effective_gas_price.saturating_sub(base));
        }
    }
    tips.sort_unstable();
    Ok(tips.get(tips.len() / 2).copied().unwrap_or(0))
}

/// Most blocks one `eth_feeHistory` covers.
const MAX_FEE_HISTORY: u64 = 1024;

fn fee_history(
    s: &EthState,
    count: u64,
    newest: BlockNumberOrTag,
    percentiles: Option<Vec<f64>>,
) -> Result<FeeHistory, RpcError> {
    if let Some(p) = &percentiles {
        let ordered = p.windows(2).all(|w| w[0] <= w[1]);
        if p.len() > 100 || !ordered || p.iter().any(|x| !(0.0..=100.0).contains(x)) {
            return Err(RpcError::InvalidParams("invalid reward percentiles".into()));
        }
    }
    let newest = s.number_of(newest)?.ok_or_else(|| RpcError::Server("header not found".into()))?;
    let count = count.clamp(1, MAX_FEE_HISTORY).min(newest + 1);
    let oldest = newest + 1 - count;
    let mut history = FeeHistory { oldest_block: oldest, ..Default::default() };
    let mut rewards = Vec::new();
    let mut base = 0u128;
    for number in oldest..=newest {
        let block =
            s.index.block(number)?.ok_or_else(|| RpcError::Server("header not found".into()))?;
        let header = block.header()?;
        base = u128::from(header.base_fee_per_gas.unwrap_or(0));
        history.base_fee_per_gas.push(base);
        history.base_fee_per_blob_gas.push(convert::BLOB_BASE_FEE);
        history.blob_gas_used_ratio.push(0.0);
        history.gas_used_ratio.push(if header.gas_limit == 0 {
            0.0
        } else {
            header.gas_used as f64 / header.gas_limit as f64
        });
        if let Some(p) = &percentiles {
            rewards.push(block_rewards(&s.transactions(&block)?, base, p));
        }
    }
    // The base fee never changes from block to block here: the next one is the same.
    history.base_fee_per_gas.push(base);
    history.base_fee_per_blob_gas.push(convert::BLOB_BASE_FEE);
    history.reward = percentiles.map(|_| rewards);
    Ok(history)
}

/// The tips at the given percentiles of a block's gas, cheapest first (geth's method).
fn block_rewards(txs: &[crate::index::IndexedTx], base: u128, percentiles: &[f64]) -> Vec<u128> {
    let mut tips: Vec<(u128, u64)> = txs
        .iter()
        .map(|t| (t.receipt.effective_gas_price.saturating_sub(base), t.receipt.gas_used))
        .collect();
    if tips.is_empty() {
        return vec![0; percentiles.len()];
    }
    tips.sort_unstable();
    let total: u64 = tips.iter().map(|t| t.1).sum();
    percentiles
        .iter()
        .map(|p| {
            let threshold = (total as f64 * p / 100.0) as u64;
            let mut sum = 0u64;
            for (tip, gas) in &tips {
                sum += gas;
                if sum >= threshold {
                    return *tip;
                }
            }
            tips.last().map_or(0, |t| t.0)
        })
        .collect()
}

/// The logs a filter selects, over a bounded range of blocks.
pub fn logs(s: &EthState, filter: &Filter) -> Result<Vec<Log>, RpcError> {
    let (from, to) = match filter.block_option {
        FilterBlockOption::AtBlockHash(hash) => match s.index.block_number(&hash)? {
            Some(n) => (n, n),
            None => return Err(RpcError::Server("unknown block".into())),
        },
        FilterBlockOption::Range { from_block, to_block } => {
            let latest = s.latest_number()?;
            let resolve = |tag: Option<BlockNumberOrTag>| match tag {
                None | Some(BlockNumberOrTag::Latest | BlockNumberOrTag::Pending) => latest,
                Some(BlockNumberOrTag::Earliest) => 0,
                Some(BlockNumberOrTag::Safe | BlockNumberOrTag::Finalized) => latest,
                Some(BlockNumberOrTag::Number(n)) => n,
            };
            (resolve(from_block), resolve(to_block).min(latest))
        }
    };
    if from > to {
        return Ok(Vec::new());
    }
    if to - from >= s.limits.max_log_blocks {
        return Err(RpcError::LimitExceeded(format!(
            "query exceeds max block range {}",
            s.limits.max_log_blocks
        )));
    }
    let query = LogQuery {
        addresses: filter.address.iter().map(|a| a.0 .0).collect(),
        topics: std::array::from_fn(|i| filter.topics[i].iter().map(|t| t.0).collect()),
    };
    let mut out = Vec::new();
    for number in s.index.log_blocks(from, to, &query)? {
        let Some(block) = s.index.block(number)? else { break };
        out.extend(block_logs(s, &block, filter)?);
        if out.len() > s.limits.max_logs {
            return Err(RpcError::LimitExceeded(format!(
                "query returned more than {} results",
                s.limits.max_logs
            )));
        }
    }
    Ok(out)
}

/// The logs of `block` a filter selects (none read when its bloom cannot match).
pub fn block_logs(
    s: &EthState,
    block: &IndexedBlock,
    filter: &Filter,
) -> Result<Vec<Log>, RpcError> {
    if block.transactions.is_empty() {
        return Ok(Vec::new());
    }
    let header = block.header()?;
    if !filter.matches_bloom(header.logs_bloom) {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for tx in s.transactions(block)? {
        out.extend(
            convert::logs(&tx, header.timestamp).into_iter().filter(|l| filter.matches(&l.inner)),
        );
    }
    Ok(out)
}
