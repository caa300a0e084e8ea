//! The FHE ParaTime: the SDK's built-in modules and the `fhe` module, with `core` limits
//! sized for FHE work.

use atoll_runtime_host::RuntimeVersion;
use atoll_runtime_sdk::modules::core::CoreParameters;
use atoll_runtime_sdk::Runtime;
use atoll_types::{Address, Amount, Hash, RuntimeId};

use crate::module::keysets::KeySets;
use crate::module::Fhe;
use crate::setup::ProofSetup;

/// The runtime id of the FHE ParaTime.
pub fn runtime_id() -> RuntimeId {
    RuntimeId::from_bytes(Hash::digest(b"atoll/paratime: fhe").into_bytes())
}

/// The `core` parameters: a round holds at most [`crate::gas::ROUND_GAS_LIMIT`] of FHE work
/// (so a committee finishes it within the round timeout), a transaction may carry a public
/// key or a full input list, and gas costs at least one base unit.
pub fn core_parameters() -> CoreParameters {
    CoreParameters {
        max_batch_gas: crate::gas::ROUND_GAS_LIMIT,
        max_tx_size: 160 * 1024,
        max_batch_size: 100,
        tx_base_gas: 1_000,
        tx_byte_gas: 1,
        min_gas_price: 1,
    }
}

/// How a node runs the ParaTime.
pub struct FheConfig {
    /// The proof setup inputs are verified against (the same on every node).
    pub setup: ProofSetup,
    /// Where this node gets key sets.
    pub key_sets: KeySets,
    /// Initial ParaTime balances (tests and devnets; otherwise deposits from consensus).
    pub genesis_balances: Vec<(Address, Amount)>,
    /// The known-answer test's hash on this machine (reported to the node, which registers
    /// it; `None` where the test was not run: unit tests).
    pub known_answer: Option<atoll_types::Hash>,
}

/// The FHE ParaTime.
pub fn runtime(config: FheConfig) -> Runtime {
    Runtime {
        id: runtime_id(),
        version: RuntimeVersion { major: 0, minor: 1, patch: 0 },
        modules: vec![Box::new(Fhe::new(config.setup, config.key_sets))],
        core: core_parameters(),
        genesis_balances: config.genesis_balances,
        known_answer: config.known_answer,
    }
}
