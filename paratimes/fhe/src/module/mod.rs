//! The `fhe` module: key sets, contracts and calls on ciphertexts.
//!
//! A key holder registers a key set (its id and public key; every worker fetches the bytes
//! by id and checks them); anyone deploys a program over a registered key set; callers send
//! inputs encrypted to the key set's public key with a proof bound to their transaction
//! ([`input_metadata`]). Every worker verifies the proofs and runs the call on ciphertexts;
//! the call's gas is fixed by its function and charged before it runs, so a failed proof or
//! a refused call costs what it would have.

pub mod calls;
pub mod keysets;
pub mod state;

use atoll_runtime_sdk::{
    decode_body, BlockHandler, Context, InvariantHandler, MethodHandler, Mode, Module,
    RuntimeError, Transaction, TransactionHandler,
};
use atoll_types::{Address, ChainContext, Hash};

use crate::cipher::{open_inputs, Encrypted};
use crate::exec::run;
use crate::keys::{decode_client_key, decode_public_key, Evaluation};
use crate::program::Function;
use crate::setup::ProofSetup;
use crate::{gas, FheError};
use calls::*;
use keysets::{KeySetError, KeySets};
use state::{contract_key, key_set_key, next_contract_key, reveal_key, setup_key, CallEnv};

/// What a call's inputs are bound to: the ParaTime's chain context (the consensus chain and
/// the runtime id), the contract, the sender and the transaction's nonce. A proof made for
/// one transaction verifies for no other.
pub fn input_metadata(
    chain: &ChainContext,
    contract: u64,
    sender: &Address,
    nonce: u64,
) -> Vec<u8> {
    Hash::digest_parts(&[
        b"atoll/fhe: inputs",
        chain.hash().as_bytes(),
        &contract.to_be_bytes(),
        sender.as_bytes(),
        &nonce.to_be_bytes(),
    ])
    .as_bytes()
    .to_vec()
}

fn fail(code: u32, message: impl Into<String>) -> RuntimeError {
    RuntimeError::new(NAME, code, message)
}

/// The function a call names, if the contract has it and the call names as many accounts
/// as it takes (with its index, which prices it).
fn target<'r>(
    record: &'r ContractRecord,
    body: &Call,
) -> Result<(usize, &'r Function), RuntimeError> {
    let (index, function) = record
        .program
        .function(&body.function)
        .ok_or_else(|| fail(codes::UNKNOWN_FUNCTION, format!("no function {:?}", body.function)))?;
    if body.accounts.len() != usize::from(function.accounts) {
        return Err(fail(
            codes::BAD_ARGUMENTS,
            format!("{} takes {} accounts", function.name, function.accounts),
        ));
    }
    Ok((index, function))
}

/// How an error of the building blocks fails a call.
fn call_error(e: FheError) -> RuntimeError {
    match e {
        FheError::Proof(_) => fail(codes::INVALID_PROOF, e.to_string()),
        FheError::Inputs(_) => fail(codes::BAD_ARGUMENTS, e.to_string()),
        FheError::Execution(_) => fail(codes::REFUSED, e.to_string()),
        FheError::Program(_) => fail(codes::INVALID_PROGRAM, e.to_string()),
        FheError::Storage(_) => RuntimeError::unavailable(e.to_string()),
        FheError::TooLarge { .. } | FheError::Malformed { .. } => {
            fail(codes::MALFORMED, e.to_string())
        }
        // Keys and encodings are the node's own (an opened key set, a ciphertext it made).
        FheError::Keys(_) | FheError::Encoding { .. } => RuntimeError::unavailable(e.to_string()),
    }
}

/// The `fhe` module: the ParaTime's proof setup and where its workers get key sets.
pub struct Fhe {
    setup: ProofSetup,
    key_sets: KeySets,
}

impl Fhe {
    /// A module verifying inputs against `setup`, with key sets from `key_sets`.
    pub fn new(setup: ProofSetup, key_sets: KeySets) -> Self {
        Self { setup, key_sets }
    }

    /// The setup's id must be the one the ParaTime was created with: a worker started with
    /// another setup would refuse valid proofs, so it stops every batch (a straggler)
    /// instead of diverging.
    fn check_setup(&self, ctx: &Context<'_>) -> Result<(), RuntimeError> {
        match ctx.get::<Hash>(&setup_key())? {
            Some(id) if id == self.setup.id => Ok(()),
            Some(id) => Err(RuntimeError::unavailable(format!(
                "this node's proof setup is {}, the ParaTime's is {id}",
                self.setup.id
            ))),
            None => Err(RuntimeError::unavailable("the ParaTime has no proof setup recorded")),
        }
    }

    fn key_set(&self, ctx: &Context<'_>, id: &Hash) -> Result<KeySetRecord, RuntimeError> {
        ctx.get::<KeySetRecord>(&key_set_key(id))?
            .ok_or_else(|| fail(codes::UNKNOWN_KEY_SET, format!("no key set {id}")))
    }

    fn contract(&self, ctx: &Context<'_>, contract: u64) -> Result<ContractRecord, RuntimeError> {
        ctx.get::<ContractRecord>(&contract_key(contract))?
            .ok_or_else(|| fail(codes::UNKNOWN_CONTRACT, format!("no contract {contract}")))
    }

    /// The opened key set: a copy this node cannot get, or one that does not open, is this
    /// node's failure (the key set was checked when it was registered).
    fn evaluation(
        &self,
        id: &Hash,
        public_key: &[u8],
    ) -> Result<std::sync::Arc<Evaluation>, RuntimeError> {
        self.key_sets.open(id, public_key).map_err(|e| RuntimeError::unavailable(e.to_string()))
    }

    fn register_key_set(
        &self,
        ctx: &mut Context<'_>,
        body: RegisterKeySet,
    ) -> Result<Vec<u8>, RuntimeError> {
        ctx.use_gas(gas::KEY_SET)?;
        let owner = ctx.require_caller()?;
        decode_public_key(&body.public_key).map_err(|e| fail(codes::MALFORMED, e.to_string()))?;
        if ctx.get::<KeySetRecord>(&key_set_key(&body.id))?.is_some() {
            return Err(fail(codes::KEY_SET_EXISTS, format!("key set {} exists", body.id)));
        }
        match self.key_sets.open(&body.id, &body.public_key) {
            Ok(_) => {}
            Err(KeySetError::Invalid(_, e)) => return Err(fail(codes::MALFORMED, e.to_string())),
            Err(e @ KeySetError::Unavailable(..)) => {
                return Err(RuntimeError::unavailable(e.to_string()))
            }
        }
        let record =
            KeySetRecord { owner, public_key: body.public_key, published_client_key: None };
        ctx.set(&key_set_key(&body.id), &record)?;
        ctx.emit(NAME, events::KEY_SET_REGISTERED, &KeySetRegistered { id: body.id, owner });
        Ok(Vec::new())
    }

    fn deploy(&self, ctx: &mut Context<'_>, body: Deploy) -> Result<Vec<u8>, RuntimeError> {
        ctx.use_gas(gas::DEPLOY)?;
        let owner = ctx.require_caller()?;
        let checked =
            body.program.validate().map_err(|e| fail(codes::INVALID_PROGRAM, e.to_string()))?;
        self.key_set(ctx, &body.key_set)?;
        let contract = ctx.get::<u64>(&next_contract_key())?.unwrap_or(0);
        let next = contract
            .checked_add(1)
            .ok_or_else(|| RuntimeError::unavailable("contract ids are exhausted"))?;
        ctx.set(&next_contract_key(), &next)?;
        let record = ContractRecord {
            owner,
            key_set: body.key_set,
            program: body.program,
            gas: checked.iter().map(|c| c.gas).collect(),
            round: ctx.round,
        };
        ctx.set(&contract_key(contract), &record)?;
        ctx.emit(NAME, events::DEPLOYED, &Deployed { contract, key_set: body.key_set });
        Ok(atoll_types::encode(&contract))
    }

    fn call(&self, ctx: &mut Context<'_>, body: Call) -> Result<Vec<u8>, RuntimeError> {
        ctx.use_gas(gas::CALL_BASE)?;
        let caller = ctx.require_caller()?;
        let nonce = ctx.tx_nonce.unwrap_or(0);
        let record = self.contract(ctx, body.contract)?;
        let (index, function) = target(&record, &body)?;
        if function.inputs.is_empty() != body.inputs.is_empty() {
            return Err(fail(
                codes::BAD_ARGUMENTS,
                format!("{} takes {} inputs", function.name, function.inputs.len()),
            ));
        }
        // The whole call's price, before any of it runs: a forged proof costs what an honest
        // call would have.
        let cost = record.gas.get(index).copied().unwrap_or(u64::MAX);
        ctx.use_gas(cost.saturating_sub(gas::CALL_BASE))?;
        let key_set = self.key_set(ctx, &record.key_set)?;
        let evaluation = self.evaluation(&record.key_set, &key_set.public_key)?;
        let inputs = if function.inputs.is_empty() {
            Vec::new()
        } else {
            let metadata = input_metadata(&ctx.chain_context, body.contract, &caller, nonce);
            open_inputs(&body.inputs, &evaluation, &self.setup.crs, &metadata, &function.inputs)
                .map_err(call_error)?
        };
        let seed = Hash::digest_parts(&[
            b"atoll/fhe: randomness",
            ctx.randomness.as_bytes(),
            &body.contract.to_be_bytes(),
            caller.as_bytes(),
            &nonce.to_be_bytes(),
        ]);
        let mut backend = Encrypted::new(&evaluation.server);
        let function_index = index as u16;
        let mut env = CallEnv {
            ctx,
            contract: body.contract,
            function: function_index,
            owner: record.owner,
            caller,
            accounts: &body.accounts,
            seed,
        };
        let reveals = run(&mut backend, &mut env, &record.program.slots, function, &inputs)
            .map_err(call_error)?;
        env.mark_called()?;
        for reveal in reveals {
            let ciphertext = reveal.value.encode().map_err(call_error)?;
            let hash = Hash::digest(&ciphertext);
            let stored = RevealRecord { round: ctx.round, ciphertext, published: None };
            ctx.set(&reveal_key(body.contract, reveal.label), &stored)?;
            ctx.emit(
                NAME,
                events::REVEALED,
                &Revealed { contract: body.contract, label: reveal.label, ciphertext: hash },
            );
        }
        Ok(Vec::new())
    }

    fn publish(&self, ctx: &mut Context<'_>, body: Publish) -> Result<Vec<u8>, RuntimeError> {
        ctx.use_gas(gas::PUBLISH)?;
        let caller = ctx.require_caller()?;
        let record = self.contract(ctx, body.contract)?;
        if caller != record.owner {
            return Err(fail(codes::NOT_OWNER, "only the contract's owner publishes"));
        }
        let key = reveal_key(body.contract, body.label);
        let mut reveal = ctx.get::<RevealRecord>(&key)?.ok_or_else(|| {
            fail(codes::BAD_ARGUMENTS, format!("nothing revealed under label {}", body.label))
        })?;
        reveal.published = Some(body.value);
        ctx.set(&key, &reveal)?;
        ctx.emit(
            NAME,
            events::PUBLISHED,
            &Published { contract: body.contract, label: body.label, value: body.value },
        );
        Ok(Vec::new())
    }

    fn publish_key(
        &self,
        ctx: &mut Context<'_>,
        body: PublishKey,
    ) -> Result<Vec<u8>, RuntimeError> {
        ctx.use_gas(gas::PUBLISH_KEY)?;
        let caller = ctx.require_caller()?;
        let mut record = self.key_set(ctx, &body.key_set)?;
        if caller != record.owner {
            return Err(fail(codes::NOT_OWNER, "only the key set's holder publishes its key"));
        }
        decode_client_key(&body.client_key).map_err(|e| fail(codes::MALFORMED, e.to_string()))?;
        record.published_client_key = Some(body.client_key);
        ctx.set(&key_set_key(&body.key_set), &record)?;
        ctx.emit(NAME, events::KEY_PUBLISHED, &KeyPublished { key_set: body.key_set });
        Ok(Vec::new())
    }

    /// What the pool checks before admitting a transaction: everything public and cheap
    /// (the body decodes, the contract and function exist, the arguments line up, the gas
    /// limit covers the call, a key set to register is available here). Proofs are checked
    /// only when the call runs.
    fn precheck(&self, ctx: &Context<'_>, tx: &Transaction) -> Result<(), RuntimeError> {
        let gas_limit = tx.auth.fee.gas;
        let low = |needed: u64| {
            fail(
                codes::GAS_LIMIT_TOO_LOW,
                format!("the call costs {needed} gas, limit {gas_limit}"),
            )
        };
        match tx.call.method.as_str() {
            REGISTER_KEY_SET => {
                let body: RegisterKeySet = decode_body(&tx.call.body)?;
                if gas_limit < gas::KEY_SET {
                    return Err(low(gas::KEY_SET));
                }
                if !self.key_sets.has(&body.id) {
                    return Err(fail(
                        codes::UNKNOWN_KEY_SET,
                        format!("key set {} is not available on this node", body.id),
                    ));
                }
            }
            CALL => {
                let body: Call = decode_body(&tx.call.body)?;
                let record = self.contract(ctx, body.contract)?;
                let (index, _) = target(&record, &body)?;
                let cost = record.gas.get(index).copied().unwrap_or(u64::MAX);
                if gas_limit < cost {
                    return Err(low(cost));
                }
            }
            _ => {}
        }
        Ok(())
    }
}

impl MethodHandler for Fhe {
    fn call(
        &self,
        ctx: &mut Context<'_>,
        method: &str,
        body: &[u8],
    ) -> Option<Result<Vec<u8>, RuntimeError>> {
        let result = match method {
            REGISTER_KEY_SET => decode_body(body).and_then(|b| self.register_key_set(ctx, b)),
            DEPLOY => decode_body(body).and_then(|b| self.deploy(ctx, b)),
            CALL => decode_body(body).and_then(|b| self.call(ctx, b)),
            PUBLISH => decode_body(body).and_then(|b| self.publish(ctx, b)),
            PUBLISH_KEY => decode_body(body).and_then(|b| self.publish_key(ctx, b)),
            _ => return None,
        };
        Some(result)
    }

    fn query(
        &self,
        ctx: &mut Context<'_>,
        method: &str,
        args: &[u8],
    ) -> Option<Result<Vec<u8>, RuntimeError>> {
        let result = match method {
            QUERY_SETUP => Ok(atoll_types::encode(&SetupInfo {
                setup: self.setup.id,
                insecure: self.setup.insecure,
                tfhe_version: crate::params::TFHE_VERSION.to_owned(),
                known_answer: crate::kat::KNOWN_ANSWER.to_owned(),
            })),
            QUERY_KEY_SET => decode_body::<KeySetQuery>(args)
                .and_then(|q| ctx.get::<KeySetRecord>(&key_set_key(&q.id)))
                .map(|r| atoll_types::encode(&r)),
            QUERY_CONTRACT => decode_body::<ContractQuery>(args)
                .and_then(|q| ctx.get::<ContractRecord>(&contract_key(q.contract)))
                .map(|r| atoll_types::encode(&r)),
            QUERY_VALUE => decode_body::<ValueQuery>(args).and_then(|q| {
                let key = state::value_key(q.contract, q.slot, q.account.as_ref());
                let ciphertext = ctx.get::<Vec<u8>>(&key)?;
                let proof = ctx.prove(&key)?;
                Ok(atoll_types::encode(&ValueResult { ciphertext, key, proof }))
            }),
            QUERY_REVEALED => decode_body::<RevealedQuery>(args)
                .and_then(|q| ctx.get::<RevealRecord>(&reveal_key(q.contract, q.label)))
                .map(|r| atoll_types::encode(&r)),
            _ => return None,
        };
        Some(result)
    }
}

impl TransactionHandler for Fhe {
    fn authenticate(&self, ctx: &mut Context<'_>, tx: &Transaction) -> Result<(), RuntimeError> {
        if ctx.mode == Mode::Check && tx.call.method.starts_with("fhe.") {
            self.precheck(ctx, tx)?;
        }
        Ok(())
    }
}

impl BlockHandler for Fhe {
    fn genesis(&self, ctx: &mut Context<'_>) -> Result<(), RuntimeError> {
        ctx.set(&setup_key(), &self.setup.id)
    }

    fn begin_block(&self, ctx: &mut Context<'_>) -> Result<(), RuntimeError> {
        self.check_setup(ctx)
    }
}

impl InvariantHandler for Fhe {}

impl Module for Fhe {
    fn name(&self) -> &'static str {
        NAME
    }
}
