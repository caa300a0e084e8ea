//! What a module is: a name and handlers for calls, queries, transaction hooks, block
//! hooks and invariants. A module implements the handlers it needs; the rest default to
//! doing nothing.

use atoll_runtime_host::{IncomingMessage, MessageResult, RuntimeVersion};
use atoll_types::RuntimeId;

use crate::context::Context;
use crate::error::RuntimeError;
use crate::transaction::Transaction;

/// Handles `module.Method` calls and queries.
pub trait MethodHandler {
    /// Runs a call; `None` if the method is not this module's.
    fn call(
        &self,
        _ctx: &mut Context<'_>,
        _method: &str,
        _body: &[u8],
    ) -> Option<Result<Vec<u8>, RuntimeError>> {
        None
    }

    /// Answers a query (its state changes are always dropped); `None` if not this module's.
    fn query(
        &self,
        _ctx: &mut Context<'_>,
        _method: &str,
        _args: &[u8],
    ) -> Option<Result<Vec<u8>, RuntimeError>> {
        None
    }
}

/// Hooks around every transaction.
pub trait TransactionHandler {
    /// Decodes a transaction sent in a scheme of this module's own (see
    /// [`crate::transaction::AuthProof::Module`]): checks its signature and returns it with
    /// [`crate::transaction::ModuleAuth`] naming this module. `None` if the scheme is not
    /// this module's.
    fn decode_tx(&self, _scheme: &str, _body: &[u8]) -> Option<Result<Transaction, RuntimeError>> {
        None
    }

    /// The nonce and balance of a transaction's sender, for a pool to order and budget its
    /// transactions: answered by the module that authenticates the transaction.
    fn sender_account(
        &self,
        _ctx: &Context<'_>,
        _tx: &Transaction,
    ) -> Option<Result<(u64, atoll_types::Amount), RuntimeError>> {
        None
    }

    /// Refunds what a transaction paid for gas it did not use (the module that took the fee
    /// does), after the call.
    fn refund(
        &self,
        _ctx: &mut Context<'_>,
        _tx: &Transaction,
        _gas_used: u64,
    ) -> Result<(), RuntimeError> {
        Ok(())
    }

    /// Accepts or rejects the transaction before its call runs (changes are kept only if
    /// the transaction is accepted). In [`crate::Mode::Check`] a nonce ahead of the
    /// account's may be accepted (the pool holds it until it can run).
    fn authenticate(&self, _ctx: &mut Context<'_>, _tx: &Transaction) -> Result<(), RuntimeError> {
        Ok(())
    }

    /// Runs before the call, inside its checkpoint.
    fn before_call(&self, _ctx: &mut Context<'_>, _tx: &Transaction) -> Result<(), RuntimeError> {
        Ok(())
    }

    /// Runs after a successful call, inside its checkpoint.
    fn after_call(&self, _ctx: &mut Context<'_>, _tx: &Transaction) -> Result<(), RuntimeError> {
        Ok(())
    }
}

/// Hooks around every batch.
pub trait BlockHandler {
    /// Initial state, written before the first batch.
    fn genesis(&self, _ctx: &mut Context<'_>) -> Result<(), RuntimeError> {
        Ok(())
    }

    /// Before the batch's transactions.
    fn begin_block(&self, _ctx: &mut Context<'_>) -> Result<(), RuntimeError> {
        Ok(())
    }

    /// Learns what became of a message the runtime sent in an earlier round (called before
    /// the deposits, once per message of the last finalized round).
    fn message_result(
        &self,
        _ctx: &mut Context<'_>,
        _result: &MessageResult,
    ) -> Result<(), RuntimeError> {
        Ok(())
    }

    /// Applies a deposit from the consensus layer (before the transactions).
    fn incoming(
        &self,
        _ctx: &mut Context<'_>,
        _message: &IncomingMessage,
    ) -> Result<(), RuntimeError> {
        Ok(())
    }

    /// After the batch's transactions.
    fn end_block(&self, _ctx: &mut Context<'_>) -> Result<(), RuntimeError> {
        Ok(())
    }
}

/// Checks that must hold after every batch (a failure aborts the batch).
pub trait InvariantHandler {
    /// Checks the module's invariants.
    fn check_invariants(&self, _ctx: &mut Context<'_>) -> Result<(), RuntimeError> {
        Ok(())
    }
}

/// A runtime module.
pub trait Module:
    MethodHandler + TransactionHandler + BlockHandler + InvariantHandler + Send + Sync
{
    /// The module's name: the prefix of its methods and its state keys.
    fn name(&self) -> &'static str;
}

/// A ParaTime: id, version and its modules in order (the built-in `core` and `accounts`
/// modules always run first).
pub struct Runtime {
    /// The runtime id registered on chain.
    pub id: RuntimeId,
    /// Its version.
    pub version: RuntimeVersion,
    /// Modules after the built-in ones.
    pub modules: Vec<Box<dyn Module>>,
    /// Parameters of the built-in `core` module.
    pub core: crate::modules::core::CoreParameters,
    /// Initial balances of the built-in `accounts` module.
    pub genesis_balances: Vec<(atoll_types::Address, atoll_types::Amount)>,
    /// The answer of the runtime's known-answer test, if its results are bit-exact only on
    /// some machines: told to the node in the handshake, which registers it.
    pub known_answer: Option<atoll_types::Hash>,
}
