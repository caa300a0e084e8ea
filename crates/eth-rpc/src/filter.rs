//! Polled filters: `eth_newFilter`, `eth_newBlockFilter`, `eth_newPendingTransactionFilter`,
//! `eth_getFilterChanges`, `eth_getFilterLogs`, `eth_uninstallFilter` — what ethers'
//! `contract.on` and viem's `watch*` poll over HTTP.
//!
//! A filter remembers where its last poll stopped; one not polled for
//! [`FILTER_TIMEOUT`] is removed (geth's rule), and a node holds at most
//! [`MAX_FILTERS`]. Ids are random, so one client cannot poll or remove another's.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use alloy_primitives::{B256, U64};
use alloy_rpc_types_eth::{BlockNumberOrTag, Filter, FilterBlockOption};
use jsonrpsee::types::ErrorObjectOwned;
use jsonrpsee::RpcModule;
use rand_core::RngCore;
use serde_json::Value;

use crate::error::RpcError;
use crate::state::EthState;

/// A filter not polled for this long is removed.
pub const FILTER_TIMEOUT: Duration = Duration::from_secs(300);
/// Filters one node holds at most.
pub const MAX_FILTERS: usize = 1_000;
/// Pending transaction hashes a filter keeps between polls at most.
const MAX_PENDING: usize = 10_000;

enum Kind {
    Logs { filter: Box<Filter>, next_block: u64 },
    Blocks { next_block: u64 },
    Pending { hashes: Vec<B256> },
}

struct Installed {
    kind: Kind,
    polled: Instant,
}

/// The installed filters.
#[derive(Default)]
pub struct Filters {
    installed: Mutex<HashMap<u64, Installed>>,
}

impl Filters {
    fn install(&self, kind: Kind) -> Result<U64, RpcError> {
        let mut installed = self.lock()?;
        let now = Instant::now();
        installed.retain(|_, f| now.duration_since(f.polled) < FILTER_TIMEOUT);
        if installed.len() >= MAX_FILTERS {
            return Err(RpcError::LimitExceeded(format!("more than {MAX_FILTERS} filters")));
        }
        let mut id = rand_core::OsRng.next_u64();
        while installed.contains_key(&id) {
            id = rand_core::OsRng.next_u64();
        }
        installed.insert(id, Installed { kind, polled: now });
        Ok(U64::from(id))
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, HashMap<u64, Installed>>, RpcError> {
        self.installed.lock().map_err(|_| RpcError::Internal("filters lock".into()))
    }

    /// Records a transaction that entered the node's pool, for the pending-transaction
    /// filters.
    pub fn pending(&self, hash: B256) {
        if let Ok(mut installed) = self.installed.lock() {
            for filter in installed.values_mut() {
                if let Kind::Pending { hashes } = &mut filter.kind {
                    if hashes.len() < MAX_PENDING {
                        hashes.push(hash);
                    }
                }
            }
        }
    }
}

fn not_found() -> RpcError {
    RpcError::Server("filter not found".into())
}

/// Registers the filter methods.
pub fn register(
    module: &mut RpcModule<EthState>,
) -> Result<(), jsonrpsee::core::RegisterMethodError> {
    module.register_method("eth_newFilter", |params, s, _| {
        let filter: Filter = params.sequence().next()?;
        let next_block = s.latest_number()? + 1;
        Ok::<_, ErrorObjectOwned>(
            s.filters.install(Kind::Logs { filter: Box::new(filter), next_block })?,
        )
    })?;
    module.register_method("eth_newBlockFilter", |_, s, _| {
        let next_block = s.latest_number()? + 1;
        Ok::<_, ErrorObjectOwned>(s.filters.install(Kind::Blocks { next_block })?)
    })?;
    module.register_method("eth_newPendingTransactionFilter", |_, s, _| {
        Ok::<_, ErrorObjectOwned>(s.filters.install(Kind::Pending { hashes: Vec::new() })?)
    })?;
    module.register_method("eth_uninstallFilter", |params, s, _| {
        let id: U64 = params.sequence().next()?;
        Ok::<_, ErrorObjectOwned>(s.filters.lock()?.remove(&id.to::<u64>()).is_some())
    })?;
    module.register_method("eth_getFilterChanges", |params, s, _| {
        let id: U64 = params.sequence().next()?;
        changes(s, id.to::<u64>()).map_err(ErrorObjectOwned::from)
    })?;
    module.register_method(
        "eth_getFilterLogs",
        |params, s, _| -> Result<Value, ErrorObjectOwned> {
            let id: U64 = params.sequence().next()?;
            let filter = {
                let mut installed = s.filters.lock()?;
                let entry = installed.get_mut(&id.to::<u64>()).ok_or_else(not_found)?;
                entry.polled = Instant::now();
                match &entry.kind {
                    Kind::Logs { filter, .. } => filter.clone(),
                    _ => return Err(RpcError::Server("filter is not a log filter".into()).into()),
                }
            };
            Ok(to_json(&crate::eth::logs(s, &filter)?)?)
        },
    )?;
    Ok(())
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<Value, RpcError> {
    serde_json::to_value(value).map_err(|e| RpcError::Internal(e.to_string()))
}

/// What happened since the filter's last poll.
fn changes(s: &EthState, id: u64) -> Result<Value, RpcError> {
    let latest = s.latest_number()?;
    let mut installed = s.filters.lock()?;
    let entry = installed.get_mut(&id).ok_or_else(not_found)?;
    entry.polled = Instant::now();
    match &mut entry.kind {
        Kind::Pending { hashes } => to_json(&std::mem::take(hashes)),
        Kind::Blocks { next_block } => {
            let from = *next_block;
            // Nothing new: the same answer as geth (an empty list).
            let mut hashes = Vec::new();
            for number in from..=latest {
                if let Some(block) = s.index.block(number)? {
                    hashes.push(B256::from(block.hash));
                }
            }
            *next_block = (latest + 1).max(from);
            to_json(&hashes)
        }
        Kind::Logs { filter, next_block } => {
            let from = *next_block;
            if from > latest {
                return to_json(&Vec::<Value>::new());
            }
            // The filter's own range bounds what it ever reports.
            let mut window = (**filter).clone();
            if let FilterBlockOption::Range { from_block, to_block } = filter.block_option {
                let lower = match from_block {
                    Some(BlockNumberOrTag::Number(n)) => from.max(n),
                    _ => from,
                };
                let upper = match to_block {
                    Some(BlockNumberOrTag::Number(n)) => latest.min(n),
                    _ => latest,
                };
                window.block_option = FilterBlockOption::Range {
                    from_block: Some(BlockNumberOrTag::Number(lower)),
                    to_block: Some(BlockNumberOrTag::Number(upper)),
                };
            }
            *next_block = latest + 1;
            drop(installed);
            to_json(&crate::eth::logs(s, &window)?)
        }
    }
}
