//! Consensus-wide state: the chain's identity and the consensus parameters.

use atoll_mkvs::KeyValueRead;
use atoll_types::{ChainContext, Epoch, Height};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::error::StateError;
use crate::state::{self, prefix};

pub(crate) const CHAIN_INFO: [u8; 2] = [prefix::CONSENSUS, 0x01];
pub(crate) const PARAMETERS: [u8; 2] = [prefix::CONSENSUS, 0x02];
pub(crate) const LAST_HEIGHT: [u8; 2] = [prefix::CONSENSUS, 0x03];

/// The native token.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenInfo {
    /// Ticker, e.g. `ATL`.
    pub symbol: String,
    /// Decimals: one token is `10^exponent` base units.
    pub exponent: u8,
}

/// The chain's identity, written at genesis.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChainInfo {
    /// Human-readable chain id.
    pub chain_id: String,
    /// Hash of the canonical genesis document: every signature covers it.
    pub chain_context: ChainContext,
    /// The native token.
    pub token: TokenInfo,
    /// The first block's height.
    pub initial_height: Height,
}

/// Parameters of the consensus layer as a whole.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsensusParameters {
    /// Blocks per epoch.
    pub epoch_interval: u64,
    /// Largest transaction, in bytes.
    pub max_tx_size: u64,
    /// Gas a block may use (sum of transaction gas limits).
    pub max_block_gas: u64,
    /// Gas per transaction byte.
    pub tx_byte_gas: u64,
    /// The lowest gas price (base units per gas) any transaction may pay: a consensus rule,
    /// so a block of free transactions is refused by every validator. Nodes may ask more
    /// for admission to their mempool.
    #[serde(default)]
    pub min_gas_price: u128,
}

impl Default for ConsensusParameters {
    fn default() -> Self {
        Self {
            epoch_interval: 30,
            max_tx_size: 32 * 1024,
            max_block_gas: 100_000_000,
            tx_byte_gas: 1,
            min_gas_price: 0,
        }
    }
}

impl ConsensusParameters {
    /// Checks the parameters are usable (at genesis and for a governance change).
    pub fn validate(&self) -> Result<(), String> {
        if self.epoch_interval == 0 {
            return Err("epoch_interval must be at least 1".into());
        }
        let max = crate::transaction::MAX_TRANSACTION_SIZE as u64;
        if self.max_tx_size < 256 || self.max_tx_size > max {
            return Err(format!("max_tx_size must be in 256..={max}"));
        }
        if self.max_block_gas == 0 {
            return Err("max_block_gas must be positive".into());
        }
        Ok(())
    }

    /// The epoch of `height`: heights `1..=interval` are epoch 0, and so on.
    pub fn epoch_of(&self, height: Height) -> Epoch {
        Epoch(height.0.saturating_sub(1) / self.epoch_interval.max(1))
    }
}

/// The chain's identity.
pub fn chain_info(state: &dyn KeyValueRead) -> Result<ChainInfo, StateError> {
    state::require(state, &CHAIN_INFO, "chain info")
}

/// The consensus parameters.
pub fn parameters(state: &dyn KeyValueRead) -> Result<ConsensusParameters, StateError> {
    state::require(state, &PARAMETERS, "consensus parameters")
}

/// The height of the last applied block (the initial height minus one after genesis).
pub fn last_height(state: &dyn KeyValueRead) -> Result<Height, StateError> {
    state::require(state, &LAST_HEIGHT, "last height")
}
