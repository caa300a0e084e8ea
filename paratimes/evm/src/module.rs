//! The `evm` runtime module: signed Ethereum transactions as runtime transactions (the
//! `evm.ethereum.v0` scheme), their authentication (nonce, fee cap, intrinsic gas, balance)
//! and execution by revm, receipts and logs, and state queries (balance, nonce, code,
//! storage, simulated calls, gas estimates).
//!
//! Fees follow the EVM's gas rules in wei: the sender pays `gas used × effective gas price`;
//! the priority fee goes to the block's coinbase, the fee collector [`fee_collector`], and
//! so does the base fee (it is not burnt: every token inside the ParaTime is backed by the
//! ParaTime's escrow on the consensus layer, so none may vanish).

use atoll_runtime_sdk::modules::{accounts, core};
use atoll_runtime_sdk::{
    decode_body, BlockHandler, Call, Context, Fee, InvariantHandler, MethodHandler, Mode, Module,
    ModuleAuth, RuntimeError, Transaction, TransactionHandler,
};
use atoll_types::Amount;
use borsh::{BorshDeserialize, BorshSerialize};
use revm::context::{BlockEnv, TxEnv};
use revm::handler::validation::validate_initial_tx_gas;
use revm::primitives::{keccak256, Address, B256, KECCAK_EMPTY, U256};

use crate::execute::{self, BlockInfo, Outcome, SPEC};
use crate::precompiles::Withdrawal;
use crate::state::{self, NAME};
use crate::transaction::{self, TxError};

/// Wei per base unit of the consensus layer: the EVM counts 18 decimals, the consensus
/// layer and the SDK (fees, gas prices, native accounts) 9.
pub const WEI_PER_BASE_UNIT: u128 = 1_000_000_000;

/// The scheme of raw signed Ethereum transactions
/// ([`atoll_runtime_sdk::AuthProof::Module`]).
pub const SCHEME: &str = "evm.ethereum.v0";
/// The call a decoded Ethereum transaction makes.
pub const ETHEREUM: &str = "evm.Ethereum";
/// `evm.Balance` (query): wei of an address.
pub const BALANCE: &str = "evm.Balance";
/// `evm.Nonce` (query).
pub const NONCE: &str = "evm.Nonce";
/// `evm.Code` (query).
pub const CODE: &str = "evm.Code";
/// `evm.Storage` (query).
pub const STORAGE: &str = "evm.Storage";
/// `evm.SimulateCall` (query): an `eth_call`.
pub const SIMULATE_CALL: &str = "evm.SimulateCall";
/// `evm.EstimateGas` (query).
pub const ESTIMATE_GAS: &str = "evm.EstimateGas";
/// `evm.ChainId` (query): the Ethereum chain id transactions must be signed for.
pub const CHAIN_ID: &str = "evm.ChainId";

/// Error codes.
pub mod codes {
    /// The Ethereum transaction does not decode or is not one this ParaTime runs.
    pub const INVALID_TRANSACTION: u32 = 1;
    /// `evm.Ethereum` called other than by a signed Ethereum transaction.
    pub const NOT_ETHEREUM: u32 = 2;
    /// The nonce is not the account's next one.
    pub const INVALID_NONCE: u32 = 3;
    /// The sender cannot pay `gas limit × fee cap + value`.
    pub const INSUFFICIENT_BALANCE: u32 = 4;
    /// The gas limit is below the intrinsic gas or above the block's.
    pub const GAS_LIMIT: u32 = 5;
    /// The fee cap is below the base fee, or the tip above the cap.
    pub const FEE_CAP: u32 = 6;
    /// The sender is a contract (EIP-3607).
    pub const SENDER_NOT_EOA: u32 = 7;
    /// A malformed query argument.
    pub const INVALID_ARGUMENT: u32 = 8;
    /// revm refused the transaction.
    pub const REFUSED: u32 = 9;
    /// A simulated call reverted (the data is the revert data, hex).
    pub const REVERTED: u32 = 10;
}

/// Event codes.
pub mod events {
    /// A log emitted by a contract ([`super::LogRecord`]).
    pub const LOG: u32 = 1;
}

fn error(code: u32, message: impl Into<String>) -> RuntimeError {
    RuntimeError::new(NAME, code, message)
}

/// The Ethereum address that collects fees: the coinbase of every block.
pub fn fee_collector() -> Address {
    Address::from_slice(&keccak256(b"atoll/evm: fee collector")[12..])
}

/// A contract log.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct LogRecord {
    /// The emitting contract.
    pub address: [u8; 20],
    /// Indexed topics.
    pub topics: Vec<[u8; 32]>,
    /// Data.
    pub data: Vec<u8>,
}

/// What an Ethereum transaction left: its output in the round's I/O (cumulative gas and
/// bloom follow from the round's receipts in order).
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct Receipt {
    /// The Ethereum transaction hash.
    pub hash: [u8; 32],
    /// Sender.
    pub from: [u8; 20],
    /// Recipient (none for a creation).
    pub to: Option<[u8; 20]>,
    /// The sender's nonce.
    pub nonce: u64,
    /// EIP-2718 type.
    pub tx_type: u8,
    /// Status 1 (true) or 0.
    pub success: bool,
    /// Gas used.
    pub gas_used: u64,
    /// Price paid per gas, in wei.
    pub effective_gas_price: u128,
    /// The created contract.
    pub contract_address: Option<[u8; 20]>,
    /// Logs (empty on failure).
    pub logs: Vec<LogRecord>,
    /// Return or revert data.
    pub output: Vec<u8>,
    /// Why it failed.
    pub error: Option<String>,
}

/// Arguments of `evm.Storage`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct StorageQuery {
    /// The contract.
    pub address: [u8; 20],
    /// The slot.
    pub slot: [u8; 32],
}

/// Arguments of `evm.SimulateCall` and `evm.EstimateGas`.
#[derive(Clone, PartialEq, Eq, Debug, Default, BorshSerialize, BorshDeserialize)]
pub struct SimulateCall {
    /// The caller (zero address if none).
    pub caller: Option<[u8; 20]>,
    /// The callee; none to simulate a creation.
    pub to: Option<[u8; 20]>,
    /// Value in wei, big-endian.
    pub value: [u8; 32],
    /// Call data.
    pub data: Vec<u8>,
    /// Gas limit (the block's if none).
    pub gas_limit: Option<u64>,
    /// Gas price in wei (zero if none: the caller needs no balance for gas).
    pub gas_price: Option<u128>,
}

/// The result of `evm.SimulateCall`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct SimulateResult {
    /// Whether the call succeeded.
    pub success: bool,
    /// Return data, or revert data.
    pub output: Vec<u8>,
    /// Gas used.
    pub gas_used: u64,
    /// Why it failed.
    pub error: Option<String>,
}

/// The EVM ParaTime's own settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvmConfig {
    /// The Ethereum chain id transactions must be signed for.
    pub chain_id: u64,
    /// Initial balances of Ethereum accounts, in wei (tests and devnets).
    pub genesis_balances: Vec<([u8; 20], U256)>,
}

/// The `evm` module.
pub struct Evm(pub EvmConfig);

fn total_key() -> Vec<u8> {
    atoll_runtime_sdk::storage::module_key(NAME, &[b"total"])
}

/// Every wei held by Ethereum accounts.
pub fn total_supply(ctx: &Context<'_>) -> Result<U256, RuntimeError> {
    Ok(ctx.get::<[u8; 32]>(&total_key())?.map_or(U256::ZERO, U256::from_be_bytes))
}

/// Creates `amount` wei in `to` (deposits).
pub fn mint(ctx: &mut Context<'_>, to: &Address, amount: U256) -> Result<(), RuntimeError> {
    state::credit(ctx, to, amount)?;
    let total = total_supply(ctx)?
        .checked_add(amount)
        .ok_or_else(|| error(codes::INVALID_ARGUMENT, "supply overflow"))?;
    ctx.set(&total_key(), &total.to_be_bytes::<32>())
}

/// Destroys `amount` wei of `from` (withdrawals).
pub fn burn(ctx: &mut Context<'_>, from: &Address, amount: U256) -> Result<(), RuntimeError> {
    state::debit(ctx, from, amount)?
        .ok_or_else(|| error(codes::INSUFFICIENT_BALANCE, "balance below the amount"))?;
    let total = total_supply(ctx)?
        .checked_sub(amount)
        .ok_or_else(|| error(codes::INVALID_ARGUMENT, "supply underflow"))?;
    ctx.set(&total_key(), &total.to_be_bytes::<32>())
}

/// A withdrawal whose consensus-layer result has not come back yet.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct PendingWithdrawal {
    /// The Ethereum account refunded if the transfer fails.
    pub from: [u8; 20],
    /// The amount, in wei.
    pub wei: [u8; 32],
}

fn pending_key(round: atoll_types::Round, index: u32) -> Vec<u8> {
    atoll_runtime_sdk::storage::module_key(
        NAME,
        &[b"w", &round.0.to_be_bytes(), &index.to_be_bytes()],
    )
}

/// The sum of every Ethereum account's balance.
pub fn sum_of_balances(ctx: &Context<'_>) -> Result<U256, RuntimeError> {
    let prefix = state::accounts_prefix();
    let mut sum = U256::ZERO;
    for entry in ctx.scan(&prefix) {
        let (_, bytes) = entry?;
        let record: state::AccountRecord = atoll_types::decode(&bytes, 128)
            .map_err(|e| RuntimeError::new("storage", 2, format!("corrupt account: {e}")))?;
        sum = sum.saturating_add(record.balance());
    }
    Ok(sum)
}

impl Evm {
    /// The block a transaction of this round runs in.
    fn block(&self, ctx: &Context<'_>) -> Result<BlockInfo, RuntimeError> {
        let params = core::parameters(ctx)?;
        Ok(BlockInfo {
            number: ctx.round.0,
            timestamp: ctx.time,
            base_fee: u64::try_from(params.min_gas_price.saturating_mul(WEI_PER_BASE_UNIT))
                .unwrap_or(u64::MAX),
            gas_limit: params.max_batch_gas,
            // The round's randomness from the consensus beacon (zero in queries).
            prevrandao: B256::from(ctx.randomness.into_bytes()),
            coinbase: fee_collector(),
            chain_id: self.0.chain_id,
        })
    }

    /// The decoded Ethereum transaction of an `evm.Ethereum` call, with revm's view of it.
    fn ethereum_tx(&self, body: &[u8], sender: Address) -> Result<TxEnv, RuntimeError> {
        let envelope = transaction::envelope(body, self.0.chain_id)
            .map_err(|e| error(codes::INVALID_TRANSACTION, e.to_string()))?;
        Ok(transaction::tx_env(&envelope, sender))
    }

    /// Everything revm checks before running a transaction, checked here first: a
    /// transaction that passes is charged when it runs (a refused one would be included
    /// without paying).
    fn validate(&self, ctx: &Context<'_>, env: &TxEnv) -> Result<(), RuntimeError> {
        let block = self.block(ctx)?;
        if env.gas_limit > block.gas_limit {
            return Err(error(
                codes::GAS_LIMIT,
                format!("gas limit {} above the block's {}", env.gas_limit, block.gas_limit),
            ));
        }
        validate_initial_tx_gas(env, SPEC, false, false, u64::MAX, None)
            .map_err(|e| error(codes::GAS_LIMIT, e.to_string()))?;
        let base_fee = u128::from(block.base_fee);
        if env.gas_price < base_fee {
            return Err(error(
                codes::FEE_CAP,
                format!("fee cap {} below the base fee {base_fee}", env.gas_price),
            ));
        }
        if env.gas_priority_fee.is_some_and(|tip| tip > env.gas_price) {
            return Err(error(codes::FEE_CAP, "priority fee above the fee cap"));
        }
        let account = state::account(ctx, &env.caller)?;
        let expected = account.map_or(0, |a| a.nonce);
        let nonce_ok = match ctx.mode {
            Mode::Check => env.nonce >= expected && env.nonce - expected < accounts::MAX_NONCE_GAP,
            _ => env.nonce == expected,
        };
        if !nonce_ok {
            return Err(error(
                codes::INVALID_NONCE,
                format!(
                    "nonce too {}: next nonce {expected}, tx nonce {}",
                    if env.nonce < expected { "low" } else { "high" },
                    env.nonce
                ),
            ));
        }
        if let Some(record) = account {
            let code_hash = B256::from(record.code_hash);
            if code_hash != KECCAK_EMPTY {
                let code = state::code(ctx, &env.caller)?;
                if !code.starts_with(&[0xef, 0x01, 0x00]) {
                    return Err(error(codes::SENDER_NOT_EOA, "the sender is a contract"));
                }
            }
        }
        let cost = U256::from(env.gas_limit)
            .saturating_mul(U256::from(env.gas_price))
            .saturating_add(env.value);
        let balance = account.map_or(U256::ZERO, |a| a.balance());
        if balance < cost {
            return Err(error(
                codes::INSUFFICIENT_BALANCE,
                format!("balance {balance} below gas limit × fee cap + value = {cost}"),
            ));
        }
        Ok(())
    }

    fn call_ethereum(&self, ctx: &mut Context<'_>, body: &[u8]) -> Result<Vec<u8>, RuntimeError> {
        if ctx.authenticated_by() != Some(NAME) {
            return Err(error(
                codes::NOT_ETHEREUM,
                "evm.Ethereum needs a signed Ethereum transaction",
            ));
        }
        let sender = ctx
            .caller()
            .and_then(|c| c.as_eth())
            .map(Address::from)
            .ok_or_else(|| error(codes::NOT_ETHEREUM, "no Ethereum sender"))?;
        let env = self.ethereum_tx(body, sender)?;
        let (nonce, tx_type, to) = (env.nonce, env.tx_type, env.kind.to().map(|a| a.0 .0));
        let info = self.block(ctx)?;
        let effective_gas_price = match env.gas_priority_fee {
            Some(tip) => env.gas_price.min(u128::from(info.base_fee).saturating_add(tip)),
            None => env.gas_price,
        };
        let hash = keccak256(body);
        let seed = keccak256([info.prevrandao.as_slice(), hash.as_slice()].concat());
        let outcome = execute::transact(
            ctx,
            execute::cfg(info.chain_id, SPEC),
            execute::block_env(&info, SPEC),
            env,
            Some(seed),
        )?
        .map_err(|invalid| error(codes::REFUSED, invalid.0))?;
        for withdrawal in outcome.logs.iter().filter_map(Withdrawal::from_log) {
            self.withdraw(ctx, &withdrawal)?;
        }
        // The base fee goes to the collector too (revm burns it).
        let base_fee = U256::from(info.base_fee).saturating_mul(U256::from(outcome.gas_used));
        state::credit(ctx, &info.coinbase, base_fee)?;
        ctx.use_gas(outcome.gas_used.saturating_sub(ctx.gas_used()))?;
        let logs: Vec<LogRecord> = outcome
            .logs
            .iter()
            .map(|log| LogRecord {
                address: log.address.0 .0,
                topics: log.topics().iter().map(|t| t.0).collect(),
                data: log.data.data.to_vec(),
            })
            .collect();
        for log in &logs {
            ctx.emit(NAME, events::LOG, log);
        }
        let Outcome { success, gas_used, output, contract_address, error, .. } = outcome;
        let receipt = Receipt {
            hash: hash.0,
            from: sender.0 .0,
            to,
            nonce,
            tx_type,
            success,
            gas_used,
            effective_gas_price,
            contract_address: contract_address.map(|a| a.0 .0),
            logs,
            output: output.to_vec(),
            error,
        };
        crate::block::record_transaction(ctx, body, &receipt)?;
        Ok(atoll_types::encode(&receipt))
    }

    /// Sends a withdrawal the [`WITHDRAW`](crate::precompiles::WITHDRAW) precompile
    /// recorded to the consensus layer: its wei leave the precompile's account and the
    /// supply, and come back to the sender if the consensus layer refuses the transfer.
    fn withdraw(&self, ctx: &mut Context<'_>, withdrawal: &Withdrawal) -> Result<(), RuntimeError> {
        let base_units = withdrawal.wei / U256::from(WEI_PER_BASE_UNIT);
        let amount = Amount::new(
            u128::try_from(base_units).map_err(|_| error(codes::INVALID_ARGUMENT, "amount"))?,
        );
        burn(ctx, &crate::precompiles::WITHDRAW, withdrawal.wei)?;
        let to = atoll_types::Address::from_bytes(withdrawal.to);
        let index =
            ctx.send_message(atoll_runtime_host::RuntimeMessage::StakingTransfer { to, amount });
        let pending =
            PendingWithdrawal { from: withdrawal.from.0 .0, wei: withdrawal.wei.to_be_bytes() };
        ctx.set(&pending_key(ctx.round, index), &pending)
    }

    /// revm's view of a simulated call.
    fn simulated_tx(&self, ctx: &Context<'_>, call: &SimulateCall, gas_limit: u64) -> TxEnv {
        let caller = Address::from(call.caller.unwrap_or([0; 20]));
        TxEnv {
            caller,
            gas_limit,
            gas_price: call.gas_price.unwrap_or(0),
            kind: match call.to {
                Some(to) => revm::primitives::TxKind::Call(Address::from(to)),
                None => revm::primitives::TxKind::Create,
            },
            value: U256::from_be_bytes(call.value),
            data: call.data.clone().into(),
            nonce: state::nonce(ctx, &caller).unwrap_or(0),
            chain_id: Some(self.0.chain_id),
            ..Default::default()
        }
    }

    fn simulate(
        &self,
        ctx: &Context<'_>,
        call: &SimulateCall,
        gas_limit: u64,
    ) -> Result<Outcome, RuntimeError> {
        let info = self.block(ctx)?;
        let mut cfg = execute::cfg(info.chain_id, SPEC);
        cfg.disable_nonce_check = true;
        let mut block: BlockEnv = execute::block_env(&info, SPEC);
        // A call is not a transaction: no base fee is due unless it names a gas price.
        block.basefee = 0;
        let seed = keccak256([info.prevrandao.as_slice(), b"simulate"].concat());
        execute::simulate(ctx, cfg, block, self.simulated_tx(ctx, call, gas_limit), Some(seed))?
            .map_err(|invalid| error(codes::REFUSED, invalid.0))
    }

    /// The least gas limit with which `call` succeeds: found by bisection between the gas
    /// a run at the cap used and the cap.
    fn estimate_gas(&self, ctx: &Context<'_>, call: &SimulateCall) -> Result<u64, RuntimeError> {
        let cap = call.gas_limit.unwrap_or(self.block(ctx)?.gas_limit);
        let first = self.simulate(ctx, call, cap)?;
        if !first.success {
            return Err(reverted(&first));
        }
        let (mut low, mut high) = (first.gas_used.saturating_sub(1), cap);
        if self.simulate(ctx, call, first.gas_used).is_ok_and(|o| o.success) {
            return Ok(first.gas_used);
        }
        low = low.max(first.gas_used);
        while low + 1 < high {
            let mid = low + (high - low) / 2;
            match self.simulate(ctx, call, mid) {
                Ok(o) if o.success => high = mid,
                _ => low = mid,
            }
        }
        Ok(high)
    }
}

fn reverted(outcome: &Outcome) -> RuntimeError {
    let why = outcome.error.clone().unwrap_or_else(|| "execution reverted".to_owned());
    error(codes::REVERTED, format!("{why}: 0x{}", alloy_primitives::hex::encode(&outcome.output)))
}

impl MethodHandler for Evm {
    fn call(
        &self,
        ctx: &mut Context<'_>,
        method: &str,
        body: &[u8],
    ) -> Option<Result<Vec<u8>, RuntimeError>> {
        (method == ETHEREUM).then(|| self.call_ethereum(ctx, body))
    }

    fn query(
        &self,
        ctx: &mut Context<'_>,
        method: &str,
        args: &[u8],
    ) -> Option<Result<Vec<u8>, RuntimeError>> {
        let address = || decode_body::<[u8; 20]>(args).map(Address::from);
        Some(match method {
            BALANCE => address()
                .and_then(|a| state::balance(ctx, &a))
                .map(|b| atoll_types::encode(&b.to_be_bytes::<32>())),
            NONCE => address().and_then(|a| state::nonce(ctx, &a)).map(|n| atoll_types::encode(&n)),
            CODE => address().and_then(|a| state::code(ctx, &a)).map(|c| atoll_types::encode(&c)),
            STORAGE => decode_body::<StorageQuery>(args)
                .and_then(|q| {
                    state::storage(ctx, &Address::from(q.address), &U256::from_be_bytes(q.slot))
                })
                .map(|v| atoll_types::encode(&v.to_be_bytes::<32>())),
            SIMULATE_CALL => decode_body::<SimulateCall>(args).and_then(|call| {
                let gas = match call.gas_limit {
                    Some(gas) => gas,
                    None => self.block(ctx)?.gas_limit,
                };
                let outcome = self.simulate(ctx, &call, gas)?;
                Ok(atoll_types::encode(&SimulateResult {
                    success: outcome.success,
                    output: outcome.output.to_vec(),
                    gas_used: outcome.gas_used,
                    error: outcome.error,
                }))
            }),
            CHAIN_ID => Ok(atoll_types::encode(&self.0.chain_id)),
            ESTIMATE_GAS => decode_body::<SimulateCall>(args)
                .and_then(|call| self.estimate_gas(ctx, &call))
                .map(|g| atoll_types::encode(&g)),
            _ => return None,
        })
    }
}

impl TransactionHandler for Evm {
    fn decode_tx(&self, scheme: &str, body: &[u8]) -> Option<Result<Transaction, RuntimeError>> {
        if scheme != SCHEME {
            return None;
        }
        Some(
            transaction::decode(body, self.0.chain_id)
                .map_err(|e: TxError| error(codes::INVALID_TRANSACTION, e.to_string()))
                .map(|tx| Transaction {
                    call: Call { format: 0, method: ETHEREUM.to_owned(), body: body.to_vec() },
                    auth: atoll_runtime_sdk::transaction::AuthInfo {
                        signers: Vec::new(),
                        // The most it pays, in base units (rounded up), so the SDK's
                        // minimum gas price applies as the base fee.
                        fee: Fee {
                            amount: Amount::new(
                                u128::from(tx.gas_limit())
                                    .saturating_mul(tx.max_fee_per_gas())
                                    .div_ceil(WEI_PER_BASE_UNIT),
                            ),
                            gas: tx.gas_limit(),
                        },
                        module: Some(ModuleAuth {
                            module: NAME.to_owned(),
                            sender: atoll_types::Address::from_eth(tx.sender.0 .0),
                            nonce: tx.nonce(),
                        }),
                    },
                }),
        )
    }

    fn sender_account(
        &self,
        ctx: &Context<'_>,
        tx: &Transaction,
    ) -> Option<Result<(u64, Amount), RuntimeError>> {
        let sender = ethereum_sender(tx)?;
        Some(state::account(ctx, &sender).map(|a| {
            a.map_or((0, Amount::ZERO), |a| {
                let base_units = a.balance() / U256::from(WEI_PER_BASE_UNIT);
                (a.nonce, Amount::new(u128::try_from(base_units).unwrap_or(u128::MAX)))
            })
        }))
    }

    fn authenticate(&self, ctx: &mut Context<'_>, tx: &Transaction) -> Result<(), RuntimeError> {
        let Some(sender) = ethereum_sender(tx) else { return Ok(()) };
        let env = self.ethereum_tx(&tx.call.body, sender)?;
        self.validate(ctx, &env)
    }
}

/// The Ethereum sender of a transaction this module authenticates.
fn ethereum_sender(tx: &Transaction) -> Option<Address> {
    let auth = tx.auth.module.as_ref().filter(|a| a.module == NAME)?;
    auth.sender.as_eth().map(Address::from)
}

impl BlockHandler for Evm {
    fn genesis(&self, ctx: &mut Context<'_>) -> Result<(), RuntimeError> {
        for (address, code) in crate::predeploys::all() {
            let code = alloy_primitives::hex::decode(code.trim())
                .map_err(|_| error(codes::INVALID_ARGUMENT, "predeploy bytecode is not hex"))?;
            let bytecode = revm::bytecode::Bytecode::new_raw(code.into());
            let info = revm::state::AccountInfo::from_bytecode(bytecode);
            state::set_account(ctx, &address, &info)?;
        }
        for (address, amount) in &self.0.genesis_balances {
            mint(ctx, &Address::from(*address), *amount)?;
        }
        Ok(())
    }

    /// What became of a withdrawal: a refused one is refunded to its Ethereum account.
    fn message_result(
        &self,
        ctx: &mut Context<'_>,
        result: &atoll_runtime_host::MessageResult,
    ) -> Result<(), RuntimeError> {
        let key = pending_key(result.round, result.index);
        let Some(pending) = ctx.get::<PendingWithdrawal>(&key)? else { return Ok(()) };
        ctx.remove(&key)?;
        if result.error.is_some() {
            mint(ctx, &Address::from(pending.from), U256::from_be_bytes(pending.wei))?;
        }
        Ok(())
    }

    /// A deposit to an Ethereum address: `consensus_accounts` credited it to that address's
    /// native account (in base units); it moves into the Ethereum account, in wei.
    fn incoming(
        &self,
        ctx: &mut Context<'_>,
        message: &atoll_runtime_host::IncomingMessage,
    ) -> Result<(), RuntimeError> {
        let Some(eth) = message.to.as_eth() else { return Ok(()) };
        accounts::burn(ctx, &message.to, message.amount)?;
        let wei = U256::from(message.amount.base_units()) * U256::from(WEI_PER_BASE_UNIT);
        mint(ctx, &Address::from(eth), wei)
    }

    fn end_block(&self, ctx: &mut Context<'_>) -> Result<(), RuntimeError> {
        let info = self.block(ctx)?;
        crate::block::finish(ctx, &info, B256::from(ctx.base_root.into_bytes()))
    }
}

impl InvariantHandler for Evm {
    fn check_invariants(&self, ctx: &mut Context<'_>) -> Result<(), RuntimeError> {
        if sum_of_balances(ctx)? != total_supply(ctx)? {
            return Err(error(codes::INVALID_ARGUMENT, "balances do not sum to the total supply"));
        }
        Ok(())
    }
}

impl Module for Evm {
    fn name(&self) -> &'static str {
        NAME
    }
}
