//! WebSocket subscriptions: `eth_subscribe` / `eth_unsubscribe` with `newHeads`, `logs`
//! and `newPendingTransactions`, notified as `eth_subscription`.
//!
//! Heads and logs follow the index: each block it takes is announced once, in order. A
//! subscriber too slow to keep up with the announcements misses blocks (the broadcast
//! channel drops the oldest) rather than holding the node's memory.

use alloy_primitives::B256;
use alloy_rpc_types_eth::{Filter, Header as RpcHeader};
use jsonrpsee::core::SubscriptionResult;
use jsonrpsee::types::ErrorObjectOwned;
use jsonrpsee::{PendingSubscriptionSink, RpcModule, SubscriptionMessage, SubscriptionSink};
use serde_json::value::to_raw_value;
use tokio::sync::broadcast::error::RecvError;

use crate::error::RpcError;
use crate::state::EthState;

/// Subscription ids as geth gives them: `0x` and 32 random hex digits.
#[derive(Debug)]
pub struct HexIds;

impl jsonrpsee::server::IdProvider for HexIds {
    fn next_id(&self) -> jsonrpsee::types::SubscriptionId<'static> {
        use rand_core::RngCore;
        let mut bytes = [0u8; 16];
        rand_core::OsRng.fill_bytes(&mut bytes);
        jsonrpsee::types::SubscriptionId::Str(alloy_primitives::hex::encode_prefixed(bytes).into())
    }
}

/// The methods that only work over a WebSocket.
pub const SUBSCRIPTION_METHODS: [&str; 2] = ["eth_subscribe", "eth_unsubscribe"];

/// Registers `eth_subscribe` and `eth_unsubscribe`.
pub fn register(
    module: &mut RpcModule<EthState>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    module.register_subscription(
        SUBSCRIPTION_METHODS[0],
        "eth_subscription",
        SUBSCRIPTION_METHODS[1],
        |params, pending, s, _| async move {
            let mut p = params.sequence();
            let kind: String = match p.next() {
                Ok(kind) => kind,
                Err(e) => {
                    pending.reject(e).await;
                    return Ok(());
                }
            };
            match kind.as_str() {
                "newHeads" => heads(pending, &s).await,
                "logs" => {
                    let filter: Filter = match p.optional_next() {
                        Ok(filter) => filter.unwrap_or_default(),
                        Err(e) => {
                            pending.reject(e).await;
                            return Ok(());
                        }
                    };
                    logs(pending, &s, filter).await
                }
                "newPendingTransactions" => transactions(pending, &s).await,
                other => {
                    let error: ErrorObjectOwned =
                        RpcError::InvalidParams(format!("unknown subscription {other:?}")).into();
                    pending.reject(error).await;
                    Ok(())
                }
            }
        },
    )?;
    Ok(())
}

async fn send<T: serde::Serialize>(sink: &SubscriptionSink, value: &T) -> SubscriptionResult {
    let message: SubscriptionMessage = to_raw_value(value)?.into();
    sink.send(message).await?;
    Ok(())
}

/// The next announcement (a block number, a pending hash), or `None` once the feed is gone
/// or the client left; what a slow client missed is skipped.
async fn next_announced<T: Clone>(
    sink: &SubscriptionSink,
    announced: &mut tokio::sync::broadcast::Receiver<T>,
) -> Option<T> {
    loop {
        tokio::select! {
            _ = sink.closed() => return None,
            next = announced.recv() => match next {
                Ok(value) => return Some(value),
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return None,
            },
        }
    }
}

async fn heads(pending: PendingSubscriptionSink, s: &EthState) -> SubscriptionResult {
    let mut heads = s.heads.subscribe();
    let sink = pending.accept().await?;
    while let Some(number) = next_announced(&sink, &mut heads).await {
        let Some(block) = s.index.block(number)? else { continue };
        let header = RpcHeader {
            hash: B256::from(block.hash),
            inner: block.header()?,
            total_difficulty: None,
            size: None,
        };
        send(&sink, &header).await?;
    }
    Ok(())
}

async fn logs(
    pending: PendingSubscriptionSink,
    s: &EthState,
    filter: Filter,
) -> SubscriptionResult {
    let mut heads = s.heads.subscribe();
    let sink = pending.accept().await?;
    while let Some(number) = next_announced(&sink, &mut heads).await {
        let Some(block) = s.index.block(number)? else { continue };
        for log in crate::eth::block_logs(s, &block, &filter)? {
            send(&sink, &log).await?;
        }
    }
    Ok(())
}

async fn transactions(pending: PendingSubscriptionSink, s: &EthState) -> SubscriptionResult {
    let mut hashes = s.pending.subscribe();
    let sink = pending.accept().await?;
    while let Some(hash) = next_announced(&sink, &mut hashes).await {
        send(&sink, &hash).await?;
    }
    Ok(())
}
