//! `consensus_accounts`: tokens in from the consensus layer (deposits, as incoming
//! messages) and out to it (withdrawals, as runtime messages).

use atoll_runtime_host::{IncomingMessage, MessageResult, RuntimeMessage};
use atoll_types::{Address, Amount};
use borsh::{BorshDeserialize, BorshSerialize};

use super::accounts;
use crate::context::Context;
use crate::error::RuntimeError;
use crate::module::{BlockHandler, InvariantHandler, MethodHandler, Module, TransactionHandler};

/// The module's name.
pub const NAME: &str = "consensus_accounts";
/// `consensus_accounts.Withdraw`
pub const WITHDRAW: &str = "consensus_accounts.Withdraw";

/// Event codes.
pub mod events {
    /// A deposit was credited.
    pub const DEPOSIT: u32 = 1;
    /// A withdrawal was sent to the consensus layer.
    pub const WITHDRAW: u32 = 2;
    /// A withdrawal failed on the consensus layer and was refunded.
    pub const WITHDRAW_REFUNDED: u32 = 3;
}

/// A withdrawal whose consensus-layer result has not come back yet.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct PendingWithdrawal {
    /// The runtime account the tokens came from.
    pub account: Address,
    /// Amount.
    pub amount: Amount,
}

/// Where a pending withdrawal is kept: by the round and index of its message.
pub fn pending_key(round: atoll_types::Round, index: u32) -> Vec<u8> {
    crate::storage::module_key(NAME, &[&round.0.to_be_bytes(), &index.to_be_bytes()])
}

/// Gas of a withdrawal.
pub const WITHDRAW_GAS: u64 = 2_000;

/// Body of `consensus_accounts.Withdraw`: move `amount` to `to` on the consensus layer.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct Withdraw {
    /// Consensus-layer recipient.
    pub to: Address,
    /// Amount.
    pub amount: Amount,
}

/// Deposit and withdrawal events.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct MovementEvent {
    /// The runtime account.
    pub account: Address,
    /// The consensus-layer account.
    pub consensus: Address,
    /// Amount.
    pub amount: Amount,
}

/// The built-in `consensus_accounts` module.
pub struct ConsensusAccounts;

impl MethodHandler for ConsensusAccounts {
    fn call(
        &self,
        ctx: &mut Context<'_>,
        method: &str,
        body: &[u8],
    ) -> Option<Result<Vec<u8>, RuntimeError>> {
        if method != WITHDRAW {
            return None;
        }
        Some((|| {
            let body: Withdraw = crate::dispatcher::decode_body(body)?;
            ctx.use_gas(WITHDRAW_GAS)?;
            let from = ctx.require_caller()?;
            accounts::burn(ctx, &from, body.amount)?;
            let index = ctx
                .send_message(RuntimeMessage::StakingTransfer { to: body.to, amount: body.amount });
            // Kept until the consensus layer reports the transfer's result: a failed one is
            // refunded.
            let pending = PendingWithdrawal { account: from, amount: body.amount };
            ctx.set(&pending_key(ctx.round, index), &pending)?;
            ctx.emit(
                NAME,
                events::WITHDRAW,
                &MovementEvent { account: from, consensus: body.to, amount: body.amount },
            );
            Ok(Vec::new())
        })())
    }
}

impl TransactionHandler for ConsensusAccounts {}

impl BlockHandler for ConsensusAccounts {
    fn message_result(
        &self,
        ctx: &mut Context<'_>,
        result: &MessageResult,
    ) -> Result<(), RuntimeError> {
        let key = pending_key(result.round, result.index);
        let Some(pending) = ctx.get::<PendingWithdrawal>(&key)? else { return Ok(()) };
        ctx.remove(&key)?;
        if result.error.is_some() {
            accounts::mint(ctx, &pending.account, pending.amount)?;
            ctx.emit(
                NAME,
                events::WITHDRAW_REFUNDED,
                &MovementEvent {
                    account: pending.account,
                    consensus: pending.account,
                    amount: pending.amount,
                },
            );
        }
        Ok(())
    }

    fn incoming(
        &self,
        ctx: &mut Context<'_>,
        message: &IncomingMessage,
    ) -> Result<(), RuntimeError> {
        accounts::mint(ctx, &message.to, message.amount)?;
        ctx.emit(
            NAME,
            events::DEPOSIT,
            &MovementEvent { account: message.to, consensus: message.from, amount: message.amount },
        );
        Ok(())
    }
}

impl InvariantHandler for ConsensusAccounts {}

impl Module for ConsensusAccounts {
    fn name(&self) -> &'static str {
        NAME
    }
}
