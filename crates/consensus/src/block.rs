//! Applying a block: `(state, block context, transactions) → (write log, results, events)`.
//!
//! Pure and deterministic: the result depends only on the previous state, the context and
//! the transactions. Signatures of the whole block are verified in one batch.

use atoll_crypto::BatchVerifier;
use atoll_mkvs::{KeyValueRead, Overlay, WriteLog};
use atoll_types::{decode, Address, ChainContext, Hash};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::chain::{self, ConsensusParameters};
use crate::context::{BlockContext, Env};
use crate::error::{CallError, CoreError, ModuleError, StateError, TxError};
use crate::events::{Event, EventRecord};
use crate::module::{module_for, modules};
use crate::staking;
use crate::transaction::{transaction_hash, Fee, SignedTransaction, Transaction};

/// What happened to one transaction.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct TxResult {
    /// The transaction's hash.
    pub hash: Hash,
    /// Why it failed, if it did. A failed transaction that paid its fee still advanced the
    /// sender's nonce; one rejected before that changed nothing.
    pub error: Option<TxError>,
    /// Gas used.
    pub gas_used: u64,
}

impl TxResult {
    /// Whether the transaction executed: it paid its fee and used its nonce (whether or not
    /// its call then failed), as opposed to being refused before that.
    pub fn executed(&self) -> bool {
        self.error.is_none() || self.gas_used > 0
    }
}

/// The result of applying a block.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct BlockOutcome {
    /// The state changes, to commit as the block's version.
    pub write_log: WriteLog,
    /// One result per transaction, in block order.
    pub results: Vec<TxResult>,
    /// Every event, in order (begin block, transactions, end block).
    pub events: Vec<EventRecord>,
    /// Gas used by the block's transactions.
    pub gas_used: u64,
    /// The new validator set, if this block changed it (the engine uses it from the next
    /// height on).
    pub validator_updates: Option<Vec<crate::scheduler::Validator>>,
}

/// What a committed block did, as kept by nodes for clients: one result per transaction and
/// every event.
#[derive(Clone, PartialEq, Eq, Debug, Default, BorshSerialize, BorshDeserialize)]
pub struct BlockResults {
    /// One result per transaction, in block order.
    pub results: Vec<TxResult>,
    /// Every event, in order.
    pub events: Vec<EventRecord>,
}

impl BlockOutcome {
    /// The part of the outcome clients read back.
    pub fn results(&self) -> BlockResults {
        BlockResults { results: self.results.clone(), events: self.events.clone() }
    }
}

/// Why a block could not be applied at all.
#[derive(Debug, Error)]
pub enum BlockError {
    /// The block's height does not follow the state's last height.
    #[error("block height {got} does not follow the last height {last}")]
    WrongHeight {
        /// The state's last height.
        last: u64,
        /// The block's height.
        got: u64,
    },
    /// State access failed.
    #[error(transparent)]
    State(#[from] StateError),
}

/// A transaction that passed validation: who sent it and what it costs.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CheckedTx {
    /// The transaction's hash.
    pub hash: Hash,
    /// The sender's account address.
    pub sender: Address,
    /// The decoded transaction.
    pub tx: Transaction,
    /// Gas the transaction needs.
    pub gas_needed: u64,
    /// Its encoded size.
    pub size: usize,
}

/// How strictly [`check_tx`] checks (mempool policy, not consensus rules).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct CheckPolicy {
    /// The lowest gas price accepted.
    pub min_gas_price: u128,
    /// Accept nonces above the account's next nonce (the mempool orders them).
    pub allow_future_nonce: bool,
}

struct Chain {
    context: ChainContext,
    params: ConsensusParameters,
}

fn load_chain(state: &dyn KeyValueRead) -> Result<Chain, StateError> {
    Ok(Chain {
        context: chain::chain_info(state)?.chain_context,
        params: chain::parameters(state)?,
    })
}

fn decode_signed(raw: &[u8], params: &ConsensusParameters) -> Result<SignedTransaction, CoreError> {
    let max = params.max_tx_size as usize;
    if raw.len() > max {
        return Err(CoreError::TooLarge { size: raw.len(), max });
    }
    decode(raw, max).map_err(|e| CoreError::Malformed(e.to_string()))
}

/// Checks everything about a transaction except its signature (verified by the caller):
/// size, method, gas, nonce and the sender's ability to pay.
fn validate(
    state: &dyn KeyValueRead,
    chain: &Chain,
    raw: &[u8],
    signed: &SignedTransaction,
    tx: &Transaction,
    allow_future_nonce: bool,
) -> Result<Result<(Address, u64), CoreError>, StateError> {
    let Some(module) = module_for(&tx.method) else {
        return Ok(Err(CoreError::UnknownMethod(tx.method.clone())));
    };
    let Some(method_gas) = module.gas_cost(state, &tx.method)? else {
        return Ok(Err(CoreError::UnknownMethod(tx.method.clone())));
    };
    let gas_needed = method_gas
        .saturating_add(module.body_gas(state, &tx.method, &tx.body)?)
        .saturating_add(chain.params.tx_byte_gas.saturating_mul(raw.len() as u64));
    let sender = Address::from_public_key(signed.signer());
    let account = staking::account(state, &sender)?;
    let nonce_ok = if allow_future_nonce {
        tx.nonce >= account.general.nonce
    } else {
        tx.nonce == account.general.nonce
    };
    if !nonce_ok {
        return Ok(Err(CoreError::InvalidNonce { expected: account.general.nonce, got: tx.nonce }));
    }
    let minimum_fee = u128::from(tx.fee.gas).saturating_mul(chain.params.min_gas_price);
    if tx.fee.amount.base_units() < minimum_fee {
        return Ok(Err(CoreError::GasPriceTooLow { minimum: chain.params.min_gas_price }));
    }
    let min_balance = staking::parameters(state)?.min_transact_balance;
    let can_pay =
        account.general.balance.checked_sub(tx.fee.amount).is_ok_and(|rest| rest >= min_balance);
    if !can_pay {
        return Ok(Err(CoreError::InsufficientFeeBalance));
    }
    Ok(Ok((sender, gas_needed)))
}

/// Checks a transaction for the mempool: everything a block would check before running it,
/// plus the node's gas-price policy. Changes nothing.
pub fn check_tx(
    state: &dyn KeyValueRead,
    raw: &[u8],
    policy: &CheckPolicy,
) -> Result<CheckedTx, CallError> {
    let chain = load_chain(state)?;
    let signed = decode_signed(raw, &chain.params)?;
    let tx = signed.open(&chain.context).map_err(|e| match e {
        atoll_types::OpenError::Decode(d) => CoreError::Malformed(d.to_string()),
        _ => CoreError::InvalidSignature,
    })?;
    check_opened(state, &chain, raw, &signed, tx, policy)
}

/// [`check_tx`] for many transactions against one state: the chain's parameters read once
/// and every signature verified in one batch (about twice as fast per signature as one by
/// one). Each transaction gets the answer `check_tx` would give it.
pub fn check_txs(
    state: &dyn KeyValueRead,
    raws: &[Vec<u8>],
    policy: &CheckPolicy,
) -> Result<Vec<Result<CheckedTx, CallError>>, StateError> {
    let chain = load_chain(state)?;
    let verified = decode_and_verify(raws, &chain, &|_| false);
    Ok(raws
        .iter()
        .zip(verified)
        .map(|(raw, signed)| {
            let signed = signed?;
            let tx = signed
                .decode_verified_elsewhere()
                .map_err(|e| CoreError::Malformed(e.to_string()))?;
            check_opened(state, &chain, raw, &signed, tx, policy)
        })
        .collect())
}

/// Decodes every transaction and verifies, in one batch, the signatures of those
/// `verified_before` does not vouch for; a bad signature is [`CoreError::InvalidSignature`].
fn decode_and_verify(
    raws: &[Vec<u8>],
    chain: &Chain,
    verified_before: &dyn Fn(&[u8]) -> bool,
) -> Vec<Result<SignedTransaction, CoreError>> {
    let mut decoded: Vec<Result<SignedTransaction, CoreError>> =
        raws.iter().map(|raw| decode_signed(raw, &chain.params)).collect();
    let mut batch = BatchVerifier::with_capacity(raws.len());
    let mut batch_index = Vec::with_capacity(raws.len());
    for (i, signed) in decoded.iter().enumerate() {
        if let Ok(signed) = signed {
            if verified_before(&raws[i]) {
                continue;
            }
            let digest = signed.signing_digest(&chain.context);
            batch.queue(signed.signer(), digest.as_bytes(), &signed.signature().signature);
            batch_index.push(i);
        }
    }
    if let Err(failed) = batch.verify() {
        for position in failed.failed {
            decoded[batch_index[position]] = Err(CoreError::InvalidSignature);
        }
    }
    decoded
}

/// The checks of [`check_tx`] after the signature.
fn check_opened(
    state: &dyn KeyValueRead,
    chain: &Chain,
    raw: &[u8],
    signed: &SignedTransaction,
    tx: Transaction,
    policy: &CheckPolicy,
) -> Result<CheckedTx, CallError> {
    let (sender, gas_needed) =
        validate(state, chain, raw, signed, &tx, policy.allow_future_nonce)??;
    if tx.fee.gas < gas_needed {
        return Err(CoreError::OutOfGas { needed: gas_needed, limit: tx.fee.gas }.into());
    }
    let minimum = u128::from(tx.fee.gas).saturating_mul(policy.min_gas_price);
    if tx.fee.amount.base_units() < minimum {
        return Err(CoreError::GasPriceTooLow { minimum: policy.min_gas_price }.into());
    }
    Ok(CheckedTx { hash: transaction_hash(raw), sender, tx, gas_needed, size: raw.len() })
}

/// What a dry run of a transaction found.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Simulation {
    /// Gas the transaction needs: its method's cost plus its signed size.
    pub gas: u64,
    /// Why it would fail if sent now (with its nonce set to the sender's next one).
    pub error: Option<TxError>,
    /// The lowest gas price the chain accepts.
    pub min_gas_price: u128,
}

/// Estimates the gas `tx` needs when signed by `signer` and runs it on top of `state` as
/// the next transaction of the sender, keeping nothing. The fee and nonce in `tx` are
/// ignored (they do not change the signed size: both are fixed-width).
pub fn simulate(
    state: &dyn KeyValueRead,
    signer: &atoll_types::PublicKey,
    tx: &Transaction,
) -> Result<Simulation, CallError> {
    let chain = load_chain(state)?;
    let Some(module) = module_for(&tx.method) else {
        return Err(CoreError::UnknownMethod(tx.method.clone()).into());
    };
    let Some(method_gas) = module.gas_cost(state, &tx.method)? else {
        return Err(CoreError::UnknownMethod(tx.method.clone()).into());
    };
    let entry = atoll_types::SignerEntry {
        public_key: *signer,
        signature: atoll_types::Signature::from_bytes([0; 64]),
    };
    let signed = SignedTransaction::from_parts(atoll_types::encode(tx), entry);
    let size = atoll_types::encode(&signed).len();
    if size > chain.params.max_tx_size as usize {
        return Err(CoreError::TooLarge { size, max: chain.params.max_tx_size as usize }.into());
    }
    let gas = method_gas
        .saturating_add(module.body_gas(state, &tx.method, &tx.body)?)
        .saturating_add(chain.params.tx_byte_gas.saturating_mul(size as u64));
    let sender = Address::from_public_key(signer);
    let height = atoll_types::Height(chain::last_height(state)?.0.saturating_add(1));
    let env = Env { height, epoch: chain.params.epoch_of(height), time: 0 };
    let mut overlay = Overlay::new(state);
    let mut events = Vec::new();
    let error = match module.deliver(&mut overlay, &env, &sender, &tx.method, &tx.body, &mut events)
    {
        Ok(()) => None,
        Err(CallError::Tx(e)) => Some(e),
        Err(CallError::Fatal(e)) => return Err(CallError::Fatal(e)),
    };
    Ok(Simulation { gas, error, min_gas_price: chain.params.min_gas_price })
}

/// Applies a block to `base` (the state after the previous block).
pub fn apply_block(
    base: &dyn KeyValueRead,
    ctx: &BlockContext,
    txs: &[Vec<u8>],
) -> Result<BlockOutcome, BlockError> {
    apply_block_verified(base, ctx, txs, &|_| false)
}

/// [`apply_block`] for a node that has already verified some of the transactions'
/// signatures (at admission to its mempool): those for which `verified(hash)` holds are not
/// verified again. The hash covers the signature, so the outcome is the same as
/// [`apply_block`]'s as long as `verified` holds only for transactions whose signature
/// verified under this chain.
pub fn apply_block_verified(
    base: &dyn KeyValueRead,
    ctx: &BlockContext,
    txs: &[Vec<u8>],
    verified: &dyn Fn(&Hash) -> bool,
) -> Result<BlockOutcome, BlockError> {
    let mut state = Overlay::new(base);
    let chain = load_chain(&state)?;
    let last = chain::last_height(&state)?;
    if ctx.height.0 != last.0.wrapping_add(1) {
        return Err(BlockError::WrongHeight { last: last.0, got: ctx.height.0 });
    }
    let initial = chain::chain_info(&state)?.initial_height;
    let env = Env { height: ctx.height, epoch: chain.params.epoch_of(ctx.height), time: ctx.time };
    let previous_epoch = chain.params.epoch_of(last);
    let epoch_changed =
        (ctx.height > initial && previous_epoch != env.epoch).then_some(previous_epoch);

    let validators_before = crate::scheduler::validators(&state)?;
    let mut events = Vec::new();
    let mut block_events = Vec::new();
    if epoch_changed.is_some() {
        for module in modules() {
            module.end_epoch(&mut state, &env, &mut block_events)?;
        }
    }
    for module in modules() {
        module.begin_block(&mut state, &env, ctx, epoch_changed, &mut block_events)?;
    }
    events.extend(block_events.drain(..).map(|event| EventRecord { tx_index: None, event }));

    let decoded = decode_and_verify(txs, &chain, &|raw| verified(&Hash::digest(raw)));
    let mut results = Vec::with_capacity(txs.len());
    let mut block_gas = 0u64;
    for (i, (raw, verified)) in txs.iter().zip(decoded).enumerate() {
        let mut tx_events = Vec::new();
        let result =
            deliver_tx(&mut state, &env, &chain, raw, verified, &mut block_gas, &mut tx_events)?;
        events.extend(
            tx_events.into_iter().map(|event| EventRecord { tx_index: Some(i as u32), event }),
        );
        results.push(result);
    }

    for module in modules() {
        module.end_block(&mut state, &env, &mut block_events)?;
    }
    events.extend(block_events.into_iter().map(|event| EventRecord { tx_index: None, event }));
    crate::state::put(&mut state, &chain::LAST_HEIGHT, &ctx.height)?;
    let validators_after = crate::scheduler::validators(&state)?;
    let validator_updates = (validators_after != validators_before).then_some(validators_after);
    Ok(BlockOutcome {
        write_log: state.into_write_log(),
        results,
        events,
        gas_used: block_gas,
        validator_updates,
    })
}

/// Runs one transaction whose signature has been checked.
fn deliver_tx(
    state: &mut Overlay<'_>,
    env: &Env,
    chain: &Chain,
    raw: &[u8],
    signed: Result<SignedTransaction, CoreError>,
    block_gas: &mut u64,
    events: &mut Vec<Event>,
) -> Result<TxResult, StateError> {
    let hash = transaction_hash(raw);
    let rejected = |e: CoreError| TxResult { hash, error: Some(e.to_tx_error()), gas_used: 0 };
    let signed = match signed {
        Ok(s) => s,
        Err(e) => return Ok(rejected(e)),
    };
    let tx = match signed.decode_verified_elsewhere() {
        Ok(tx) => tx,
        Err(e) => return Ok(rejected(CoreError::Malformed(e.to_string()))),
    };
    let (sender, gas_needed) = match validate(state, chain, raw, &signed, &tx, false)? {
        Ok(v) => v,
        Err(e) => return Ok(rejected(e)),
    };
    let Some(gas_after) =
        block_gas.checked_add(tx.fee.gas).filter(|g| *g <= chain.params.max_block_gas)
    else {
        return Ok(rejected(CoreError::BlockGasLimit));
    };
    *block_gas = gas_after;
    charge_fee(state, &sender, &tx.fee)?;
    if tx.fee.gas < gas_needed {
        let e = CoreError::OutOfGas { needed: gas_needed, limit: tx.fee.gas };
        return Ok(TxResult { hash, error: Some(e.to_tx_error()), gas_used: tx.fee.gas });
    }
    let Some(module) = module_for(&tx.method) else {
        return Ok(rejected(CoreError::UnknownMethod(tx.method)));
    };
    state.checkpoint();
    let mut call_events = Vec::new();
    match module.deliver(state, env, &sender, &tx.method, &tx.body, &mut call_events) {
        Ok(()) => {
            state.release()?;
            events.append(&mut call_events);
            Ok(TxResult { hash, error: None, gas_used: gas_needed })
        }
        Err(CallError::Tx(e)) => {
            state.rollback()?;
            Ok(TxResult { hash, error: Some(e), gas_used: gas_needed })
        }
        Err(CallError::Fatal(e)) => Err(e),
    }
}

/// Takes the fee into the fee accumulator and advances the nonce: this stays even if the
/// call then fails.
fn charge_fee(state: &mut Overlay<'_>, sender: &Address, fee: &Fee) -> Result<(), StateError> {
    staking::charge_fee(state, sender, fee.amount)
}
