//! The module framework: a fixed list of modules, run in a fixed order.
//!
//! The order is the protocol's: beacon, staking, registry, scheduler, governance,
//! keymanager, roothash. Each module owns a key prefix, its parameters, its methods
//! (`module.Method`) and its events; modules talk through typed calls into each other's
//! public functions (e.g. [`crate::staking::handle_message`]).

use atoll_mkvs::{KeyValueRead, Overlay};
use atoll_types::{Address, Epoch};

use crate::context::{BlockContext, Env};
use crate::error::{CallError, StateError};
use crate::events::Event;

/// One consensus module.
pub trait Module: Sync {
    /// The module's name: the prefix of its methods.
    fn name(&self) -> &'static str;

    /// Runs first in the first block of a new epoch, for every module and before any
    /// `begin_block`: closes the ended epoch (liveness of its committees), so that the
    /// elections that follow already see the outcome.
    fn end_epoch(
        &self,
        _state: &mut Overlay<'_>,
        _env: &Env,
        _events: &mut Vec<Event>,
    ) -> Result<(), StateError> {
        Ok(())
    }

    /// Runs at the start of every block, before transactions. `epoch_changed` is the epoch
    /// that just ended when this block starts a new one.
    fn begin_block(
        &self,
        _state: &mut Overlay<'_>,
        _env: &Env,
        _ctx: &BlockContext,
        _epoch_changed: Option<Epoch>,
        _events: &mut Vec<Event>,
    ) -> Result<(), StateError> {
        Ok(())
    }

    /// Runs at the end of every block, after transactions.
    fn end_block(
        &self,
        _state: &mut Overlay<'_>,
        _env: &Env,
        _events: &mut Vec<Event>,
    ) -> Result<(), StateError> {
        Ok(())
    }

    /// The gas `method` costs, or `None` if the module has no such method.
    fn gas_cost(&self, state: &dyn KeyValueRead, method: &str) -> Result<Option<u64>, StateError>;

    /// Gas `method` costs on top of [`Module::gas_cost`] for what `body` asks (e.g. the
    /// runtime messages a commitment carries, executed when its round is finalized).
    fn body_gas(
        &self,
        _state: &dyn KeyValueRead,
        _method: &str,
        _body: &[u8],
    ) -> Result<u64, StateError> {
        Ok(0)
    }

    /// Executes `method` for `caller` with the encoded `body`.
    fn deliver(
        &self,
        state: &mut Overlay<'_>,
        env: &Env,
        caller: &Address,
        method: &str,
        body: &[u8],
        events: &mut Vec<Event>,
    ) -> Result<(), CallError>;
}

/// The modules, in begin/end-block order.
pub fn modules() -> [&'static dyn Module; 6] {
    [
        &crate::beacon::Beacon,
        &crate::staking::Staking,
        &crate::registry::Registry,
        &crate::scheduler::Scheduler,
        &crate::governance::Governance,
        &crate::roothash::Roothash,
    ]
}

/// The module that owns `method` (by its `module.` prefix).
pub fn module_for(method: &str) -> Option<&'static dyn Module> {
    let (name, _) = method.split_once('.')?;
    modules().into_iter().find(|m| m.name() == name)
}

/// Decodes a method's body, refusing it with `core` code 10 if it is malformed.
pub(crate) fn decode_body<T: borsh::BorshDeserialize>(bytes: &[u8]) -> Result<T, CallError> {
    atoll_types::decode(bytes, crate::transaction::MAX_TRANSACTION_SIZE)
        .map_err(|e| crate::error::CoreError::MalformedBody(e.to_string()).into())
}
