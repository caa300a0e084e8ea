//! The EVM ParaTime: Ethereum transactions and Solidity contracts executed by revm over the
//! ParaTime's verified state, replicated on the compute committee and verified by
//! discrepancy detection like every round.
//!
//! - [`transaction`]: raw signed Ethereum transactions, decoded and checked.
//! - [`state`]: Ethereum accounts, code and storage in the ParaTime's MKVS state.
//! - [`execute`]: one transaction through revm, under the fixed hard fork.
//! - [`module`]: the `evm` runtime module: authentication, execution, receipts, queries.
//! - [`block`]: the Ethereum block of every round, its header and hash.
//! - [`precompiles`]: Atoll's precompiles (random bytes, withdrawal) beside Ethereum's.
//! - [`predeploys`]: the CREATE2 deployer and Multicall3 at their canonical addresses.
//! - [`statetest`]: the Ethereum `GeneralStateTests` run through that same path.
//! - [`erc20`]: the example ERC-20 and its ABI encoding (tests, benchmarks).

pub mod block;
pub mod erc20;
pub mod execute;
pub mod module;
pub mod precompiles;
pub mod predeploys;
pub mod state;
pub mod statetest;
pub mod transaction;

use atoll_runtime_host::RuntimeVersion;
use atoll_runtime_sdk::modules::core::CoreParameters;
use atoll_runtime_sdk::Runtime;
use atoll_types::{Hash, RuntimeId};

pub use module::{Evm, EvmConfig};

/// The Ethereum chain id of the EVM ParaTime unless configured otherwise (0xa70, "ATO").
pub const DEFAULT_CHAIN_ID: u64 = 0xa70;

/// The runtime id of the EVM ParaTime.
pub fn runtime_id() -> RuntimeId {
    RuntimeId::from_bytes(Hash::digest(b"atoll/paratime: evm").into_bytes())
}

/// The `core` parameters of the EVM ParaTime: a block gas limit of 30 million, room for a
/// full-size contract creation in one transaction, and a minimum gas price of one base unit
/// (a base fee of 1 gwei).
pub fn core_parameters() -> CoreParameters {
    CoreParameters {
        max_batch_gas: 30_000_000,
        max_tx_size: 160 * 1024,
        max_batch_size: 1_000,
        tx_base_gas: 100,
        tx_byte_gas: 1,
        min_gas_price: 1,
    }
}

/// The EVM ParaTime.
pub fn runtime(config: EvmConfig) -> Runtime {
    Runtime {
        id: runtime_id(),
        version: RuntimeVersion { major: 0, minor: 1, patch: 0 },
        modules: vec![Box::new(Evm(config))],
        core: core_parameters(),
        genesis_balances: Vec::new(),
        known_answer: None,
    }
}
