//! The dispatcher: runs batches, checks transactions and answers queries by routing
//! `module.Method` to the modules, with gas metering, fees, refunds and rollback.

use atoll_mkvs::{Mkvs, NodeDb, Root, RootKind, Tree, WriteLogEntry};
use atoll_runtime_host::{
    CheckOutcome, ExecuteBatch, ExecuteResult, ExecutionMode, RuntimeVersion, TxOutcome,
};
use std::sync::Mutex;

use atoll_crypto::BatchVerifier;
use atoll_types::{ChainContext, Hash, Round, RuntimeId};
use borsh::BorshDeserialize;

use crate::context::{Context, Mode};
use crate::error::{core_codes, RuntimeError};
use crate::module::{Module, Runtime};
use crate::modules::{accounts, consensus_accounts::ConsensusAccounts, core};
use crate::transaction::{
    runtime_chain_context, AuthProof, Transaction, UnverifiedTransaction, VerifyError,
};
use crate::verified::{Verified, VERIFIED_CAPACITY};

/// Decodes a call body or query argument, refusing malformed input with `core` code 6.
pub fn decode_body<T: BorshDeserialize>(bytes: &[u8]) -> Result<T, RuntimeError> {
    atoll_types::decode(bytes, atoll_mkvs::MAX_VALUE_LEN)
        .map_err(|e| RuntimeError::new("core", core_codes::MALFORMED_BODY, e.to_string()))
}

/// Routes work to a runtime's modules.
pub struct Dispatcher {
    id: RuntimeId,
    version: RuntimeVersion,
    known_answer: Option<Hash>,
    modules: Vec<Box<dyn Module>>,
    chain: ChainContext,
    /// Transactions this process authenticated, by hash.
    verified: Mutex<Verified>,
}

pub use atoll_runtime_host::io_key;

fn core_error(code: u32, message: impl Into<String>) -> RuntimeError {
    RuntimeError::new(core::NAME, code, message)
}

/// A transaction's envelope decoded: done with (taken from the cache, refused, or of a
/// module's scheme, which its module authenticates), or signed with SDK signatures to
/// verify.
enum Decoded {
    Done(Result<Transaction, RuntimeError>),
    Signed(UnverifiedTransaction),
}

fn verify_error(e: VerifyError) -> RuntimeError {
    let code = match e {
        VerifyError::InvalidSignature => core_codes::INVALID_SIGNATURE,
        VerifyError::Malformed(_) => core_codes::MALFORMED,
    };
    core_error(code, e.to_string())
}

impl Dispatcher {
    /// A dispatcher for `runtime` (the built-in modules first).
    pub fn new(runtime: Runtime) -> Self {
        let mut modules: Vec<Box<dyn Module>> = vec![
            Box::new(core::Core(runtime.core)),
            Box::new(accounts::Accounts(runtime.genesis_balances)),
            Box::new(ConsensusAccounts),
        ];
        modules.extend(runtime.modules);
        Self {
            id: runtime.id,
            version: runtime.version,
            known_answer: runtime.known_answer,
            modules,
            chain: ChainContext::from_hash(Hash::ZERO),
            verified: Mutex::new(Verified::new(VERIFIED_CAPACITY)),
        }
    }

    /// The runtime's id.
    pub fn id(&self) -> RuntimeId {
        self.id
    }

    /// The runtime's version.
    pub fn version(&self) -> RuntimeVersion {
        self.version
    }

    /// The answer of the runtime's known-answer test, if it has one.
    pub fn known_answer(&self) -> Option<Hash> {
        self.known_answer
    }

    /// Binds the dispatcher to a consensus chain (transactions are signed for it).
    pub fn set_consensus_chain(&mut self, consensus: &ChainContext) {
        self.chain = runtime_chain_context(consensus, &self.id);
        // Verdicts hold for the chain they were reached on.
        self.verified = Mutex::new(Verified::new(VERIFIED_CAPACITY));
    }

    /// The chain context transactions must be signed for.
    pub fn chain_context(&self) -> ChainContext {
        self.chain
    }

    fn root(&self, version: u64, hash: Hash) -> Root {
        Root { namespace: self.id, kind: RootKind::State, version, hash }
    }

    /// Decodes, size-checks and authenticates transactions, one result each: a transaction
    /// this process authenticated before is taken as it was ([`crate::verified`]); the
    /// signatures of the others are verified in one batch, and each alone only if the batch
    /// fails (ZIP-215: both agree on every input), which names the bad ones.
    fn prepare_all(
        &self,
        raws: &[Vec<u8>],
        params: &core::CoreParameters,
    ) -> Vec<Result<Transaction, RuntimeError>> {
        let max = params.max_tx_size as usize;
        let hashes: Vec<Hash> = raws.iter().map(|raw| Hash::digest(raw)).collect();
        let cached: Vec<Option<Transaction>> = match self.verified.lock() {
            Ok(verified) => hashes.iter().map(|hash| verified.get(hash)).collect(),
            Err(_) => vec![None; raws.len()],
        };
        let decoded: Vec<Decoded> = raws
            .iter()
            .zip(cached)
            .map(|(raw, cached)| match cached {
                Some(tx) if raw.len() <= max => Decoded::Done(Ok(tx)),
                _ => match self.decode(raw, max) {
                    Ok(unverified) => match &unverified.proof {
                        AuthProof::Module(scheme) => {
                            Decoded::Done(self.decode_scheme(scheme, &unverified.body))
                        }
                        AuthProof::Signatures(_) => Decoded::Signed(unverified),
                    },
                    Err(e) => Decoded::Done(Err(e)),
                },
            })
            .collect();
        let mut batch = BatchVerifier::new();
        // Per transaction: its result so far, and the batch positions of its signatures.
        let mut opened: Vec<(Result<Transaction, RuntimeError>, std::ops::Range<usize>)> =
            Vec::with_capacity(raws.len());
        for decoded in decoded {
            let start = batch.len();
            let result = match decoded {
                Decoded::Done(result) => result,
                Decoded::Signed(unverified) => match unverified.open(&self.chain, max) {
                    Ok(open) => {
                        open.queue(&mut batch);
                        Ok(open.tx)
                    }
                    Err(e) => Err(verify_error(e)),
                },
            };
            opened.push((result, start..batch.len()));
        }
        let failed = batch.verify().map_or_else(|e| e.failed, |()| Vec::new());
        let results: Vec<Result<Transaction, RuntimeError>> = opened
            .into_iter()
            .map(|(result, queued)| match failed.iter().any(|i| queued.contains(i)) {
                true => Err(verify_error(VerifyError::InvalidSignature)),
                false => result,
            })
            .collect();
        if let Ok(mut verified) = self.verified.lock() {
            for (hash, result) in hashes.into_iter().zip(&results) {
                if let Ok(tx) = result {
                    verified.insert(hash, tx.clone());
                }
            }
        }
        results
    }

    /// Size-checks and decodes a transaction's envelope.
    fn decode(&self, raw: &[u8], max: usize) -> Result<UnverifiedTransaction, RuntimeError> {
        if raw.len() > max {
            return Err(core_error(
                core_codes::MALFORMED,
                format!("transaction of {} bytes, limit {max}", raw.len()),
            ));
        }
        atoll_types::decode(raw, max).map_err(|e| core_error(core_codes::MALFORMED, e.to_string()))
    }

    /// Hands a transaction of a module scheme to the module that claims it.
    fn decode_scheme(&self, scheme: &str, body: &[u8]) -> Result<Transaction, RuntimeError> {
        let (module, tx) = self
            .modules
            .iter()
            .find_map(|m| m.decode_tx(scheme, body).map(|tx| (m.name(), tx)))
            .ok_or_else(|| {
                core_error(core_codes::MALFORMED, format!("unknown transaction scheme {scheme:?}"))
            })?;
        let tx = tx?;
        if tx.auth.module.as_ref().is_none_or(|auth| auth.module != module) {
            return Err(core_error(
                core_codes::MALFORMED,
                format!("module {module} decoded a transaction it does not authenticate"),
            ));
        }
        Ok(tx)
    }

    fn dispatch_call(
        &self,
        ctx: &mut Context<'_>,
        tx: &Transaction,
    ) -> Result<Vec<u8>, RuntimeError> {
        if tx.call.format != 0 {
            return Err(core_error(core_codes::MALFORMED, "unsupported call format"));
        }
        for module in &self.modules {
            module.before_call(ctx, tx)?;
        }
        let output = self
            .modules
            .iter()
            .find_map(|m| m.call(ctx, &tx.call.method, &tx.call.body))
            .unwrap_or_else(|| {
                Err(core_error(
                    core_codes::UNKNOWN_METHOD,
                    format!("unknown method {:?}", tx.call.method),
                ))
            })?;
        for module in &self.modules {
            module.after_call(ctx, tx)?;
        }
        Ok(output)
    }

    /// Runs one verified transaction: authentication (nonces, fee) is kept even if the call
    /// fails; the call's changes and events are rolled back on failure; unused gas is refunded.
    fn run_tx(
        &self,
        ctx: &mut Context<'_>,
        tx: &Transaction,
        raw_len: usize,
        params: &core::CoreParameters,
    ) -> Result<TxOutcome, RuntimeError> {
        let hash = Hash::ZERO;
        let mark = ctx.checkpoint();
        let authenticated = self.modules.iter().try_for_each(|m| m.authenticate(ctx, tx));
        if let Err(e) = authenticated {
            ctx.rollback(mark)?;
            return Ok(TxOutcome {
                hash,
                error: Some(e.failure()),
                gas_used: 0,
                events: Vec::new(),
                output: Vec::new(),
            });
        }
        ctx.release()?;
        ctx.begin_tx(
            tx.caller(),
            tx.auth.fee.gas,
            tx.auth.module.as_ref().map(|m| m.module.clone()),
        );
        ctx.tx_nonce = tx.nonce();
        let events_before = ctx.events.len();
        let mark = ctx.checkpoint();
        let size_gas =
            params.tx_base_gas.saturating_add(params.tx_byte_gas.saturating_mul(raw_len as u64));
        let result = ctx.use_gas(size_gas).and_then(|()| self.dispatch_call(ctx, tx));
        let (error, output) = match result {
            Ok(output) => {
                ctx.release()?;
                (None, output)
            }
            Err(e) if e.module == "storage" => return Err(e),
            Err(e) => {
                ctx.rollback(mark)?;
                (Some(e.failure()), Vec::new())
            }
        };
        let gas_used = ctx.gas_used();
        ctx.end_tx();
        for module in &self.modules {
            module.refund(ctx, tx, gas_used)?;
        }
        let events = ctx.events[events_before..].to_vec();
        Ok(TxOutcome { hash, error, gas_used, events, output })
    }

    /// Executes (or, in schedule mode, picks and executes) a batch on top of its state (and
    /// of the pending previous round, if any) and commits the new state and I/O tree to
    /// `store` as version `round`.
    pub fn execute<D: NodeDb>(
        &self,
        store: &Mkvs<D>,
        batch: &ExecuteBatch,
    ) -> Result<ExecuteResult, RuntimeError> {
        let (version, root) = self.base_state(store, batch)?;
        let base = store.tree(&self.root(version, root))?;
        let mut ctx =
            Context::new(&base, Some(&base), Mode::Execute, batch.round, batch.time, self.id);
        ctx.randomness = batch.randomness;
        ctx.base_root = root;
        ctx.chain_context = self.chain;
        if ctx.get::<bool>(&core::initialized_key())?.is_none() {
            for module in &self.modules {
                module.genesis(&mut ctx)?;
            }
        }
        let params = core::parameters(&ctx)?;
        for module in &self.modules {
            module.begin_block(&mut ctx)?;
        }
        for result in &batch.message_results {
            for module in &self.modules {
                module.message_result(&mut ctx, result)?;
            }
        }
        for message in &batch.incoming {
            for module in &self.modules {
                module.incoming(&mut ctx, message)?;
            }
        }
        let mut txs = Vec::new();
        let mut outcomes = Vec::new();
        let mut io = Vec::new();
        let mut batch_gas = 0u64;
        // Every transaction is decoded and its signature checked before any runs: checking
        // them one after another keeps the curve's tables in the cache (recovering an
        // Ethereum sender between two executions took a quarter longer).
        let prepared = self.prepare_all(&batch.txs, &params);
        for (raw, prepared) in batch.txs.iter().zip(prepared) {
            let hash = Hash::digest(raw);
            let prepared = prepared.and_then(|tx| {
                if batch.mode == ExecutionMode::Schedule
                    && tx.auth.fee.gas_price() < params.min_gas_price
                {
                    return Err(core_error(
                        core_codes::GAS_PRICE_TOO_LOW,
                        "gas price below the minimum",
                    ));
                }
                let after = batch_gas.saturating_add(tx.auth.fee.gas);
                if after > params.max_batch_gas || txs.len() >= params.max_batch_size as usize {
                    return Err(core_error(
                        core_codes::BATCH_GAS_LIMIT,
                        "batch gas or size limit reached",
                    ));
                }
                Ok(tx)
            });
            let mut outcome = match prepared {
                Ok(tx) => {
                    let outcome = self.run_tx(&mut ctx, &tx, raw.len(), &params)?;
                    // In schedule mode, transactions that cannot even authenticate are left out.
                    if batch.mode == ExecutionMode::Schedule
                        && outcome.error.is_some()
                        && outcome.gas_used == 0
                    {
                        continue;
                    }
                    batch_gas = batch_gas.saturating_add(tx.auth.fee.gas);
                    outcome
                }
                Err(_) if batch.mode == ExecutionMode::Schedule => continue,
                Err(e) => TxOutcome {
                    hash,
                    error: Some(e.failure()),
                    gas_used: 0,
                    events: Vec::new(),
                    output: Vec::new(),
                },
            };
            outcome.hash = hash;
            io.push(WriteLogEntry { key: io_key(&hash, 0), value: Some(raw.clone()) });
            io.push(WriteLogEntry {
                key: io_key(&hash, 1),
                value: Some(atoll_types::encode(&outcome)),
            });
            txs.push(raw.clone());
            outcomes.push(outcome);
        }
        for module in &self.modules {
            module.end_block(&mut ctx)?;
        }
        for module in &self.modules {
            module.check_invariants(&mut ctx)?;
        }
        let (state_write_log, _, messages) = ctx.into_parts();
        drop(base);
        let state = store.commit(
            self.id,
            RootKind::State,
            Some(version),
            batch.round.0,
            &state_write_log,
        )?;
        io.sort_by(|a, b| a.key.cmp(&b.key));
        let io_root = store.commit(self.id, RootKind::Io, None, batch.round.0, &io)?;
        Ok(ExecuteResult {
            txs,
            outcomes,
            state_write_log,
            state_root: state.hash,
            io_write_log: io,
            io_root: io_root.hash,
            messages,
        })
    }

    /// The state a batch executes on, as `(version, root)`: its `state`, or the pending
    /// round's changes committed on top of it (refused, storing nothing, unless they make
    /// the pending round's root and the rounds are in order).
    fn base_state<D: NodeDb>(
        &self,
        store: &Mkvs<D>,
        batch: &ExecuteBatch,
    ) -> Result<(u64, Hash), RuntimeError> {
        let Some(pending) = &batch.pending else {
            return Ok((batch.state.version, batch.state.hash));
        };
        if pending.round.0 <= batch.state.version || pending.round >= batch.round {
            return Err(core_error(
                core_codes::MALFORMED,
                format!(
                    "pending round {} is not between the state's version {} and round {}",
                    pending.round.0, batch.state.version, batch.round.0
                ),
            ));
        }
        store
            .commit_expecting(
                self.id,
                RootKind::State,
                Some(batch.state.version),
                pending.round.0,
                &pending.state_write_log,
                pending.state_root,
            )
            .map_err(|e| {
                core_error(core_codes::MALFORMED, format!("pending round {}: {e}", pending.round.0))
            })?;
        Ok((pending.round.0, pending.state_root))
    }

    /// Checks transactions for the pool: valid, signed, nonce not in the past, fee payable,
    /// gas price at least the minimum. Nothing is written.
    pub fn check<D: NodeDb>(
        &self,
        store: &Mkvs<D>,
        version: u64,
        root: Hash,
        txs: &[Vec<u8>],
    ) -> Result<Vec<CheckOutcome>, RuntimeError> {
        let base = store.tree(&self.root(version, root))?;
        let ctx = Context::new(&base, Some(&base), Mode::Check, Round(version), 0, self.id);
        let params = core::parameters(&ctx)?;
        let mut outcomes = Vec::with_capacity(txs.len());
        for (raw, prepared) in txs.iter().zip(self.prepare_all(txs, &params)) {
            let hash = Hash::digest(raw);
            let mut ctx = Context::new(&base, None, Mode::Check, Round(version), 0, self.id);
            ctx.chain_context = self.chain;
            let checked = prepared.and_then(|tx| {
                if tx.auth.fee.gas_price() < params.min_gas_price {
                    return Err(core_error(
                        core_codes::GAS_PRICE_TOO_LOW,
                        "gas price below the minimum",
                    ));
                }
                let (account_nonce, balance) = self
                    .modules
                    .iter()
                    .find_map(|m| m.sender_account(&ctx, &tx))
                    .transpose()?
                    .unwrap_or((0, atoll_types::Amount::ZERO));
                self.modules.iter().try_for_each(|m| m.authenticate(&mut ctx, &tx))?;
                Ok((tx, account_nonce, balance))
            });
            outcomes.push(match checked {
                Ok((tx, account_nonce, balance)) => CheckOutcome {
                    hash,
                    error: None,
                    gas_price: tx.auth.fee.gas_price(),
                    sender: tx.caller().zip(tx.nonce()),
                    account_nonce,
                    fee: tx.auth.fee.amount,
                    balance,
                },
                Err(e) => CheckOutcome {
                    hash,
                    error: Some(e.failure()),
                    gas_price: 0,
                    sender: None,
                    account_nonce: 0,
                    fee: atoll_types::Amount::ZERO,
                    balance: atoll_types::Amount::ZERO,
                },
            });
        }
        Ok(outcomes)
    }

    /// Answers a query against a committed state; its changes are dropped.
    pub fn query<D: NodeDb>(
        &self,
        store: &Mkvs<D>,
        version: u64,
        root: Hash,
        method: &str,
        args: &[u8],
    ) -> Result<Vec<u8>, RuntimeError> {
        let base: Tree<'_> = store.tree(&self.root(version, root))?;
        let mut ctx = Context::new(&base, Some(&base), Mode::Query, Round(version), 0, self.id);
        ctx.chain_context = self.chain;
        self.modules.iter().find_map(|m| m.query(&mut ctx, method, args)).unwrap_or_else(|| {
            Err(core_error(core_codes::UNKNOWN_METHOD, format!("unknown query {method:?}")))
        })
    }
}
