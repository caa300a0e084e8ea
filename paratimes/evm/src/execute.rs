//! Running one Ethereum transaction with revm over the ParaTime state: the block
//! environment, the fixed hard fork, and the receipt of what happened.

use std::cell::RefCell;

use atoll_runtime_sdk::{Context, RuntimeError};
use revm::context::evm::Evm;
use revm::context::{BlockEnv, CfgEnv, TxEnv};
use revm::context_interface::block::BlobExcessGasAndPrice;
use revm::context_interface::result::{EVMError, ExecutionResult, Output};
use revm::context_interface::FrameStack;
use revm::database_interface::WrapDatabaseRef;
use revm::handler::instructions::EthInstructions;
use revm::handler::EthFrame;
use revm::primitives::hardfork::SpecId;
use revm::primitives::{Address, AddressMap, Bytes, Log, B256, U256};
use revm::state::Account;
use revm::{ExecuteEvm, MainContext};

use crate::precompiles::AtollPrecompiles;
use crate::state::{self, EvmDb};

/// The hard fork the EVM ParaTime runs: Prague (EIP-7702 set-code transactions, the BLS12-381
/// precompiles, EIP-7623 calldata pricing), fixed here, never the crate's default.
pub const SPEC: SpecId = SpecId::PRAGUE;

/// The block a transaction runs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockInfo {
    /// Block number (the runtime round).
    pub number: u64,
    /// Timestamp in seconds.
    pub timestamp: u64,
    /// Base fee per gas, in wei.
    pub base_fee: u64,
    /// Block gas limit.
    pub gas_limit: u64,
    /// `PREVRANDAO`.
    pub prevrandao: B256,
    /// `COINBASE`: who receives the priority fees.
    pub coinbase: Address,
    /// The chain id (`CHAINID`; transactions for others are refused).
    pub chain_id: u64,
}

/// What happened to a transaction that was included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Success (1) or failure (0) as receipts report it.
    pub success: bool,
    /// Gas charged.
    pub gas_used: u64,
    /// Logs (empty on failure).
    pub logs: Vec<Log>,
    /// Return data, or the revert data.
    pub output: Bytes,
    /// The address of a contract created by the transaction.
    pub contract_address: Option<Address>,
    /// Why it failed (`None` on success).
    pub error: Option<String>,
}

/// A transaction revm refused before running it (it is not included: nonce, balance,
/// gas limit, fee cap…).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

/// Runs the transaction in `ctx`; its state changes are written to `ctx` if it is valid.
/// Errors: `Ok(Err(_))` for an invalid transaction (nothing changed), `Err(_)` for a
/// storage failure (the batch aborts).
/// `seed` is the transaction's randomness; with it Atoll's precompiles are on
/// ([`crate::precompiles`]), without it the EVM is Ethereum's own (the state tests).
pub fn transact(
    ctx: &mut Context<'_>,
    cfg: CfgEnv,
    block: BlockEnv,
    tx: TxEnv,
    seed: Option<B256>,
) -> Result<Result<Outcome, Invalid>, RuntimeError> {
    let (result, changes) = match run(ctx, cfg, block, tx, seed)? {
        Ok(run) => run,
        Err(invalid) => return Ok(Err(invalid)),
    };
    state::apply(ctx, changes)?;
    Ok(Ok(outcome(result)))
}

/// Runs the transaction against `ctx` and returns what happened without writing anything
/// (queries: calls and gas estimates).
pub fn simulate(
    ctx: &Context<'_>,
    cfg: CfgEnv,
    block: BlockEnv,
    tx: TxEnv,
    seed: Option<B256>,
) -> Result<Result<Outcome, Invalid>, RuntimeError> {
    Ok(run(ctx, cfg, block, tx, seed)?.map(|(result, _)| outcome(result)))
}

type Run = (ExecutionResult, AddressMap<Account>);

fn run(
    ctx: &Context<'_>,
    cfg: CfgEnv,
    block: BlockEnv,
    tx: TxEnv,
    seed: Option<B256>,
) -> Result<Result<Run, Invalid>, RuntimeError> {
    let spec = cfg.spec;
    let mut evm = Evm {
        ctx: revm::Context::mainnet()
            .with_db(WrapDatabaseRef(EvmDb::new(ctx)))
            .with_cfg(cfg)
            .with_block(block),
        inspector: (),
        instruction: EthInstructions::new_mainnet_with_spec(spec),
        precompiles: AtollPrecompiles::new(spec, seed),
        frame_stack: FRAMES.with(RefCell::take),
    };
    let result = evm.transact(tx);
    let mut frames = std::mem::take(&mut evm.frame_stack);
    frames.clear();
    FRAMES.with(|kept| kept.replace(frames));
    match result {
        Ok(result) => Ok(Ok((result.result, result.state))),
        Err(EVMError::Database(e)) => Err(e.0),
        Err(e) => Ok(Err(Invalid(e.to_string()))),
    }
}

thread_local! {
    /// revm's call frames, each with its 1,024-word stack, kept from one transaction to the
    /// next on this thread: allocating them was most of what building an EVM per
    /// transaction cost. A frame holds nothing from one transaction into the next (revm
    /// initialises each one as it is entered, as when it runs several transactions).
    static FRAMES: RefCell<FrameStack<EthFrame>> = RefCell::new(FrameStack::new_prealloc(8));
}

/// revm's configuration for `spec` on `chain_id`.
pub fn cfg(chain_id: u64, spec: SpecId) -> CfgEnv {
    let mut cfg = CfgEnv::new_with_spec(spec);
    cfg.chain_id = chain_id;
    cfg
}

/// revm's block environment under `spec`.
pub fn block_env(block: &BlockInfo, spec: SpecId) -> BlockEnv {
    BlockEnv {
        number: U256::from(block.number),
        beneficiary: block.coinbase,
        timestamp: U256::from(block.timestamp),
        gas_limit: block.gas_limit,
        basefee: block.base_fee,
        difficulty: U256::ZERO,
        prevrandao: Some(block.prevrandao),
        // No blob transactions run here: the blob base fee is the minimum.
        blob_excess_gas_and_price: Some(BlobExcessGasAndPrice::new_with_spec(0, spec)),
        ..Default::default()
    }
}

fn outcome(result: ExecutionResult) -> Outcome {
    let gas_used = result.tx_gas_used();
    match result {
        ExecutionResult::Success { logs, output, .. } => {
            let contract_address = match &output {
                Output::Create(_, address) => *address,
                Output::Call(_) => None,
            };
            Outcome {
                success: true,
                gas_used,
                logs,
                output: output.into_data(),
                contract_address,
                error: None,
            }
        }
        ExecutionResult::Revert { output, .. } => Outcome {
            success: false,
            gas_used,
            logs: Vec::new(),
            output,
            contract_address: None,
            error: Some("execution reverted".to_owned()),
        },
        ExecutionResult::Halt { reason, .. } => Outcome {
            success: false,
            gas_used,
            logs: Vec::new(),
            output: Bytes::new(),
            contract_address: None,
            error: Some(format!("{reason:?}")),
        },
    }
}
