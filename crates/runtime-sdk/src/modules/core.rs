//! `core`: gas, limits and the runtime's parameters.

use borsh::{BorshDeserialize, BorshSerialize};

use crate::context::Context;
use crate::error::RuntimeError;
use crate::module::{BlockHandler, InvariantHandler, MethodHandler, Module, TransactionHandler};
use crate::storage::module_key;

/// The module's name.
pub const NAME: &str = "core";

/// Limits and gas costs of a runtime.
#[derive(Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct CoreParameters {
    /// Gas a batch may use (sum of transaction gas limits).
    pub max_batch_gas: u64,
    /// Largest transaction, in bytes.
    pub max_tx_size: u32,
    /// Most transactions in a batch.
    pub max_batch_size: u32,
    /// Gas every transaction costs.
    pub tx_base_gas: u64,
    /// Gas per transaction byte.
    pub tx_byte_gas: u64,
    /// Lowest gas price accepted in check and schedule mode.
    pub min_gas_price: u128,
}

impl Default for CoreParameters {
    fn default() -> Self {
        Self {
            max_batch_gas: 10_000_000,
            max_tx_size: 32 * 1024,
            max_batch_size: 1_000,
            tx_base_gas: 100,
            tx_byte_gas: 1,
            min_gas_price: 0,
        }
    }
}

pub(crate) fn initialized_key() -> Vec<u8> {
    module_key(NAME, &[b"initialized"])
}

fn parameters_key() -> Vec<u8> {
    module_key(NAME, &[b"parameters"])
}

/// The runtime's core parameters (defaults before genesis).
pub fn parameters(ctx: &Context<'_>) -> Result<CoreParameters, RuntimeError> {
    Ok(ctx.get(&parameters_key())?.unwrap_or_default())
}

/// The built-in `core` module.
pub struct Core(pub CoreParameters);

impl MethodHandler for Core {
    fn query(
        &self,
        ctx: &mut Context<'_>,
        method: &str,
        _args: &[u8],
    ) -> Option<Result<Vec<u8>, RuntimeError>> {
        (method == "core.Parameters").then(|| parameters(ctx).map(|p| atoll_types::encode(&p)))
    }
}

impl TransactionHandler for Core {}

impl BlockHandler for Core {
    fn genesis(&self, ctx: &mut Context<'_>) -> Result<(), RuntimeError> {
        ctx.set(&parameters_key(), &self.0)?;
        ctx.set(&initialized_key(), &true)
    }
}

impl InvariantHandler for Core {}

impl Module for Core {
    fn name(&self) -> &'static str {
        NAME
    }
}
