//! `accounts`: balances and nonces inside the ParaTime, transfers, and fee payment.

use atoll_types::{Address, Amount};
use borsh::{BorshDeserialize, BorshSerialize};

use crate::context::Context;
use crate::error::RuntimeError;
use crate::module::{BlockHandler, InvariantHandler, MethodHandler, Module, TransactionHandler};
use crate::storage::module_key;
use crate::transaction::Transaction;

/// The module's name.
pub const NAME: &str = "accounts";
/// `accounts.Transfer`
pub const TRANSFER: &str = "accounts.Transfer";
/// `accounts.Balance` (query)
pub const BALANCE: &str = "accounts.Balance";
/// `accounts.Nonce` (query)
pub const NONCE: &str = "accounts.Nonce";

/// Error codes.
pub mod codes {
    /// Balance too low.
    pub const INSUFFICIENT_BALANCE: u32 = 1;
    /// The signer's nonce is not the account's next nonce.
    pub const INVALID_NONCE: u32 = 2;
    /// The fee cannot be paid.
    pub const INSUFFICIENT_FEE_BALANCE: u32 = 3;
    /// A malformed argument.
    pub const INVALID_ARGUMENT: u32 = 4;
}

/// Event codes.
pub mod events {
    /// A transfer ([`super::Transfer`] with the sender).
    pub const TRANSFER: u32 = 1;
}

/// Body of `accounts.Transfer`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct Transfer {
    /// Recipient.
    pub to: Address,
    /// Amount.
    pub amount: Amount,
}

/// The transfer event.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct TransferEvent {
    /// Sender.
    pub from: Address,
    /// Recipient.
    pub to: Address,
    /// Amount.
    pub amount: Amount,
}

/// Gas of a transfer.
pub const TRANSFER_GAS: u64 = 1_000;

fn balance_key(address: &Address) -> Vec<u8> {
    module_key(NAME, &[b"balance", address.as_bytes()])
}

fn nonce_key(address: &Address) -> Vec<u8> {
    module_key(NAME, &[b"nonce", address.as_bytes()])
}

fn total_key() -> Vec<u8> {
    module_key(NAME, &[b"total"])
}

/// The account that collects fees.
pub fn fee_accumulator() -> Address {
    Address::reserved("runtime-fee-accumulator")
}

/// An account's balance.
pub fn balance(ctx: &Context<'_>, address: &Address) -> Result<Amount, RuntimeError> {
    Ok(ctx.get(&balance_key(address))?.unwrap_or(Amount::ZERO))
}

/// An account's next nonce.
pub fn nonce(ctx: &Context<'_>, address: &Address) -> Result<u64, RuntimeError> {
    Ok(ctx.get(&nonce_key(address))?.unwrap_or(0))
}

/// All tokens inside the runtime.
pub fn total_supply(ctx: &Context<'_>) -> Result<Amount, RuntimeError> {
    Ok(ctx.get(&total_key())?.unwrap_or(Amount::ZERO))
}

fn set_balance(
    ctx: &mut Context<'_>,
    address: &Address,
    amount: Amount,
) -> Result<(), RuntimeError> {
    if amount.is_zero() {
        return ctx.remove(&balance_key(address));
    }
    ctx.set(&balance_key(address), &amount)
}

fn error(code: u32, message: &str) -> RuntimeError {
    RuntimeError::new(NAME, code, message)
}

/// Moves tokens between accounts.
pub fn transfer(
    ctx: &mut Context<'_>,
    from: &Address,
    to: &Address,
    amount: Amount,
) -> Result<(), RuntimeError> {
    let source = balance(ctx, from)?
        .checked_sub(amount)
        .map_err(|_| error(codes::INSUFFICIENT_BALANCE, "insufficient balance"))?;
    set_balance(ctx, from, source)?;
    let target = balance(ctx, to)?
        .checked_add(amount)
        .map_err(|_| error(codes::INVALID_ARGUMENT, "balance overflow"))?;
    set_balance(ctx, to, target)
}

/// Creates tokens in `to` (deposits from the consensus layer).
pub fn mint(ctx: &mut Context<'_>, to: &Address, amount: Amount) -> Result<(), RuntimeError> {
    let overflow = || error(codes::INVALID_ARGUMENT, "supply overflow");
    let target = balance(ctx, to)?.checked_add(amount).map_err(|_| overflow())?;
    set_balance(ctx, to, target)?;
    let total = total_supply(ctx)?.checked_add(amount).map_err(|_| overflow())?;
    ctx.set(&total_key(), &total)
}

/// Destroys tokens of `from` (withdrawals to the consensus layer).
pub fn burn(ctx: &mut Context<'_>, from: &Address, amount: Amount) -> Result<(), RuntimeError> {
    let source = balance(ctx, from)?
        .checked_sub(amount)
        .map_err(|_| error(codes::INSUFFICIENT_BALANCE, "insufficient balance"))?;
    set_balance(ctx, from, source)?;
    let total = total_supply(ctx)?
        .checked_sub(amount)
        .map_err(|_| error(codes::INVALID_ARGUMENT, "supply underflow"))?;
    ctx.set(&total_key(), &total)
}

/// How far ahead of an account's next nonce a transaction may be to enter a pool (a burst
/// of a sender's transactions in a row fits; further ahead it could not run for a long
/// time). The pool itself holds few of a sender's transactions that cannot run yet.
pub const MAX_NONCE_GAP: u64 = 4_096;

/// Checks every signer's nonce (exactly, or in check mode at most [`MAX_NONCE_GAP`]
/// ahead), advances them, and takes the fee from the first signer into the fee accumulator.
/// Transactions a module authenticates are that module's business.
fn authenticate(ctx: &mut Context<'_>, tx: &Transaction) -> Result<(), RuntimeError> {
    if tx.auth.module.is_some() {
        return Ok(());
    }
    let allow_future = ctx.mode == crate::Mode::Check;
    for signer in &tx.auth.signers {
        let address = Address::from_public_key(&signer.public_key);
        let expected = nonce(ctx, &address)?;
        let ok = if allow_future {
            signer.nonce >= expected && signer.nonce - expected < MAX_NONCE_GAP
        } else {
            signer.nonce == expected
        };
        if !ok {
            return Err(error(
                codes::INVALID_NONCE,
                &format!("nonce {} but the account's next nonce is {expected}", signer.nonce),
            ));
        }
        ctx.set(&nonce_key(&address), &(expected + 1))?;
    }
    let payer = tx.caller().ok_or_else(|| error(codes::INVALID_ARGUMENT, "no signer"))?;
    transfer(ctx, &payer, &fee_accumulator(), tx.auth.fee.amount)
        .map_err(|_| error(codes::INSUFFICIENT_FEE_BALANCE, "cannot pay the fee"))
}

/// Refunds unused gas at the transaction's gas price.
fn refund(ctx: &mut Context<'_>, tx: &Transaction, gas_used: u64) -> Result<(), RuntimeError> {
    if tx.auth.module.is_some() {
        return Ok(());
    }
    let unused = tx.auth.fee.gas.saturating_sub(gas_used);
    let amount = Amount::new(tx.auth.fee.gas_price().saturating_mul(u128::from(unused)));
    if amount.is_zero() {
        return Ok(());
    }
    let payer = tx.caller().ok_or_else(|| error(codes::INVALID_ARGUMENT, "no signer"))?;
    transfer(ctx, &fee_accumulator(), &payer, amount)
}

/// Genesis balances.
pub struct Accounts(pub Vec<(Address, Amount)>);

impl MethodHandler for Accounts {
    fn call(
        &self,
        ctx: &mut Context<'_>,
        method: &str,
        body: &[u8],
    ) -> Option<Result<Vec<u8>, RuntimeError>> {
        if method != TRANSFER {
            return None;
        }
        Some((|| {
            let body: Transfer = crate::dispatcher::decode_body(body)?;
            ctx.use_gas(TRANSFER_GAS)?;
            if body.to.as_eth().is_some() {
                // Nobody signs native transactions for an Ethereum address: tokens sent
                // there would be stranded (an EVM ParaTime's Ethereum accounts take
                // deposits and value transfers instead).
                return Err(error(
                    codes::INVALID_ARGUMENT,
                    "an Ethereum address cannot hold native tokens",
                ));
            }
            let from = ctx.require_caller()?;
            transfer(ctx, &from, &body.to, body.amount)?;
            ctx.emit(
                NAME,
                events::TRANSFER,
                &TransferEvent { from, to: body.to, amount: body.amount },
            );
            Ok(Vec::new())
        })())
    }

    fn query(
        &self,
        ctx: &mut Context<'_>,
        method: &str,
        args: &[u8],
    ) -> Option<Result<Vec<u8>, RuntimeError>> {
        match method {
            BALANCE => Some(
                crate::dispatcher::decode_body::<Address>(args)
                    .and_then(|a| balance(ctx, &a))
                    .map(|b| atoll_types::encode(&b)),
            ),
            NONCE => Some(
                crate::dispatcher::decode_body::<Address>(args)
                    .and_then(|a| nonce(ctx, &a))
                    .map(|n| atoll_types::encode(&n)),
            ),
            _ => None,
        }
    }
}

impl TransactionHandler for Accounts {
    fn sender_account(
        &self,
        ctx: &Context<'_>,
        tx: &Transaction,
    ) -> Option<Result<(u64, Amount), RuntimeError>> {
        if tx.auth.module.is_some() {
            return None;
        }
        let caller = tx.caller()?;
        Some(nonce(ctx, &caller).and_then(|n| Ok((n, balance(ctx, &caller)?))))
    }

    fn authenticate(&self, ctx: &mut Context<'_>, tx: &Transaction) -> Result<(), RuntimeError> {
        authenticate(ctx, tx)
    }

    fn refund(
        &self,
        ctx: &mut Context<'_>,
        tx: &Transaction,
        gas_used: u64,
    ) -> Result<(), RuntimeError> {
        refund(ctx, tx, gas_used)
    }
}

impl BlockHandler for Accounts {
    fn genesis(&self, ctx: &mut Context<'_>) -> Result<(), RuntimeError> {
        for (address, amount) in &self.0 {
            mint(ctx, address, *amount)?;
        }
        Ok(())
    }
}

impl InvariantHandler for Accounts {
    fn check_invariants(&self, ctx: &mut Context<'_>) -> Result<(), RuntimeError> {
        let mut sum = Amount::ZERO;
        let prefix = module_key(NAME, &[b"balance"]);
        for entry in ctx.scan(&prefix) {
            let (_, bytes) = entry?;
            let amount: Amount = atoll_types::decode(&bytes, 64)
                .map_err(|e| error(codes::INVALID_ARGUMENT, &e.to_string()))?;
            sum =
                sum.checked_add(amount).map_err(|_| error(codes::INVALID_ARGUMENT, "overflow"))?;
        }
        if sum != total_supply(ctx)? {
            return Err(error(codes::INVALID_ARGUMENT, "balances do not sum to the total supply"));
        }
        Ok(())
    }
}

impl Module for Accounts {
    fn name(&self) -> &'static str {
        NAME
    }
}
