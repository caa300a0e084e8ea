//! `atoll fhe bench`: load on the FHE ParaTime, with one of the demo programs deployed over a
//! key set the sender registered. `token`: the sender mints itself one unit per transfer,
//! then sends that many encrypted transfers of one unit (consecutive nonces). `vote` and
//! `auction` (one call per account): the sender funds that many fresh accounts in the
//! ParaTime, and each casts one encrypted ballot or sealed bid. Every transaction is proven
//! and signed (each input's proof bound to its transaction) before the first is sent; then
//! all are submitted at once and finalized rounds are followed to time each from submission
//! to the round that finalized it. Reports the client's proving time, finalized
//! transactions per second, latency percentiles, rounds and transactions per round (a
//! round holds at most the ParaTime's batch gas: `fhe::gas::ROUND_GAS_LIMIT`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use atoll_client::model::StateQuery;
use atoll_crypto::MemorySigner;
use atoll_fhe::cipher::prove_inputs;
use atoll_fhe::keys::decode_public_key;
use atoll_fhe::module::calls::*;
use atoll_fhe::module::input_metadata;
use atoll_fhe::program::Ty;
use atoll_fhe::setup::ProofSetup;
use atoll_runtime_sdk::modules::accounts;
use atoll_runtime_sdk::transaction::runtime_chain_context;
use atoll_runtime_sdk::Fee;
use atoll_types::{Address, Amount, ChainContext, Hash, RuntimeId, Signer};
use clap::{Args, ValueEnum};
use serde_json::json;

use crate::bench::{follow_rounds, percentile};
use crate::chain::Session;
use crate::fhe::{contract, runtime_id, size_gas};
use crate::paratime::{query, runtime_nonce, send_signed, signed_runtime_tx};

/// Options of `atoll fhe bench`.
#[derive(Args)]
pub(crate) struct BenchArgs {
    /// The sender: it registered the key set, deploys the program and pays for the load.
    #[arg(long)]
    from: String,
    /// A key set the sender registered.
    #[arg(long)]
    key_set: String,
    /// The ParaTime's proof setup file (the devnet writes it to `<dir>/fhe/setup.crs`).
    #[arg(long, env = "ATOLL_FHE_SETUP")]
    setup: std::path::PathBuf,
    /// The demo program whose transactions make the load.
    #[arg(long, value_enum, default_value_t = BenchProgram::Token)]
    program: BenchProgram,
    /// Transactions to send.
    #[arg(long, default_value_t = 24)]
    txs: u32,
    /// The FHE ParaTime's runtime id (default: the bundled one's).
    #[arg(long)]
    runtime: Option<String>,
    /// Seconds to wait for the last transactions after submitting.
    #[arg(long, default_value_t = 900)]
    drain_timeout: u64,
}

/// The demo program a benchmark loads.
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
enum BenchProgram {
    /// Encrypted transfers of one unit of a confidential token, all from the sender.
    Token,
    /// Encrypted ballots in a three-candidate vote, one per fresh account.
    Vote,
    /// Sealed bids in an auction, one per fresh account.
    Auction,
}

impl BenchProgram {
    fn name(self) -> &'static str {
        match self {
            Self::Token => "token transfers",
            Self::Vote => "ballots",
            Self::Auction => "sealed bids",
        }
    }
}

/// What every step of a run needs: the session, the ParaTime, the sender and its key set.
struct Bench<'a> {
    cx: &'a Session<'a>,
    runtime: RuntimeId,
    key: &'a dyn Signer,
    public: atoll_fhe::CompactPublicKey,
    crs: atoll_fhe::CompactPkeCrs,
    chain: ChainContext,
    key_set: Hash,
    wait: Option<Duration>,
}

/// A deployed program: its id and the gas of each of its functions.
struct Deployed {
    id: u64,
    record: ContractRecord,
}

impl Deployed {
    fn call_gas(&self, function: &str) -> Result<u64> {
        let (index, _) =
            self.record.program.function(function).ok_or_else(|| anyhow!("no {function}"))?;
        Ok(self.record.gas.get(index).copied().unwrap_or_default())
    }
}

/// A fee of `gas` at one base unit per gas (the ParaTime's minimum price).
fn fee(gas: u64) -> Fee {
    Fee { amount: Amount::new(u128::from(gas)), gas }
}

impl Bench<'_> {
    fn sender(&self) -> Address {
        Address::from_public_key(&self.key.public_key())
    }

    async fn deploy(&self, program: atoll_fhe::program::Program) -> Result<Deployed> {
        let deploy = Deploy { key_set: self.key_set, program };
        let gas = atoll_fhe::gas::DEPLOY + size_gas(atoll_types::encode(&deploy).len());
        let status = send_signed(
            self.cx,
            &self.runtime,
            (self.key, None),
            fee(gas),
            self.wait,
            (DEPLOY, &deploy),
        )
        .await?;
        let output = hex::decode(status.outcome.map(|o| o.output).unwrap_or_default())?;
        let id: u64 = atoll_types::decode(&output, 8).context("the contract id")?;
        Ok(Deployed { id, record: contract(self.cx, &self.runtime, id).await? })
    }

    /// `function` of `contract` called by `signer` with `nonce` on one proven input: the
    /// signed transaction.
    fn call(
        &self,
        contract: &Deployed,
        (signer, nonce): (&dyn Signer, u64),
        (function, accounts): (&str, Vec<Address>),
        input: (Ty, u64),
    ) -> Result<Vec<u8>> {
        let caller = Address::from_public_key(&signer.public_key());
        let chain = runtime_chain_context(&self.chain, &self.runtime);
        let metadata = input_metadata(&chain, contract.id, &caller, nonce);
        let call = Call {
            contract: contract.id,
            function: function.into(),
            accounts,
            inputs: prove_inputs(&self.public, &self.crs, &metadata, &[input])?,
        };
        let gas = contract.call_gas(function)? + size_gas(atoll_types::encode(&call).len());
        Ok(signed_runtime_tx(signer, &self.chain, &self.runtime, (CALL, &call), nonce, fee(gas)))
    }

    /// The token transfers: a token of the sender's minted with one unit per transfer.
    /// With the seconds spent proving and signing them.
    async fn transfers(&self, txs: u32) -> Result<(Vec<Vec<u8>>, f64)> {
        let token = self.deploy(atoll_fhe::demos::token()).await?;
        let sender = self.sender();
        let nonce = runtime_nonce(&self.cx.client, &self.runtime, self.key).await?;
        let mint =
            self.call(&token, (self.key, nonce), ("mint", vec![sender]), (Ty::U32, txs.into()))?;
        let hash = self.cx.client.submit_runtime_tx(&self.runtime, &mint).await?;
        self.finalized(hash, "minting").await?;
        let receiver = derived_key(b"atoll fhe bench receiver", &sender, token.id, 0);
        let receiver = Address::from_public_key(&receiver.public_key());
        let proving = Instant::now();
        let transfers = (0..u64::from(txs))
            .map(|i| {
                let accounts = vec![receiver];
                self.call(&token, (self.key, nonce + 1 + i), ("transfer", accounts), (Ty::U32, 1))
            })
            .collect::<Result<_>>()?;
        Ok((transfers, proving.elapsed().as_secs_f64()))
    }

    /// One ballot or bid from each of `txs` fresh accounts, funded by the sender first.
    /// With the seconds spent proving and signing them.
    async fn one_per_account(
        &self,
        program: BenchProgram,
        txs: u32,
    ) -> Result<(Vec<Vec<u8>>, f64)> {
        let (deployed, function) = match program {
            BenchProgram::Vote => (self.deploy(atoll_fhe::demos::vote(3)).await?, "vote"),
            _ => (self.deploy(atoll_fhe::demos::auction()).await?, "bid"),
        };
        let sender = self.sender();
        let callers: Vec<MemorySigner> = (0..txs)
            .map(|i| derived_key(b"atoll fhe bench caller", &sender, deployed.id, i))
            .collect();
        // The calls first: their fees say how much each account needs.
        let proving = Instant::now();
        let calls: Vec<Vec<u8>> = callers
            .iter()
            .zip(0u64..)
            .map(|(caller, i)| {
                let input = match program {
                    BenchProgram::Vote => (Ty::U8, i % 3),
                    _ => (Ty::U32, 100 + (i * 37) % 1000),
                };
                self.call(&deployed, (caller, 0), (function, Vec::new()), input)
            })
            .collect::<Result<_>>()?;
        let prove_secs = proving.elapsed().as_secs_f64();
        let gas = deployed.call_gas(function)?;
        let size = calls.iter().map(Vec::len).max().unwrap_or_default();
        let need = Amount::new(u128::from(gas + size_gas(size)) * 2);
        let first = runtime_nonce(&self.cx.client, &self.runtime, self.key).await?;
        let mut last = None;
        for (caller, i) in callers.iter().zip(0u64..) {
            let transfer = accounts::Transfer {
                to: Address::from_public_key(&caller.public_key()),
                amount: need,
            };
            let body = (accounts::TRANSFER, &transfer);
            let gas = accounts::TRANSFER_GAS + size_gas(atoll_types::encode(&transfer).len());
            let raw =
                signed_runtime_tx(self.key, &self.chain, &self.runtime, body, first + i, fee(gas));
            last = Some(self.cx.client.submit_runtime_tx(&self.runtime, &raw).await?);
        }
        // The sender's transfers run in nonce order: the last one finalized, all were.
        if let Some(last) = last {
            self.finalized(last, "funding the callers").await?;
        }
        Ok((calls, prove_secs))
    }

    /// Waits for `hash` to be finalized without an error.
    async fn finalized(&self, hash: Hash, what: &str) -> Result<()> {
        let wait = self.wait.unwrap_or(Duration::from_secs(60));
        let status = self.cx.client.wait_for_runtime_tx(&self.runtime, &hash, wait).await?;
        if let Some(error) = status.outcome.and_then(|o| o.error) {
            bail!("{what} failed: {}", error.message);
        }
        Ok(())
    }
}

/// The `i`th key a run derives from `sender` and the contract it deployed (fresh accounts
/// on every run: a new contract each time).
fn derived_key(purpose: &[u8], sender: &Address, contract: u64, i: u32) -> MemorySigner {
    let seed = Hash::digest_parts(&[
        purpose,
        sender.as_bytes(),
        &contract.to_le_bytes(),
        &i.to_le_bytes(),
    ]);
    MemorySigner::from_seed(seed.into_bytes())
}

/// Runs the benchmark.
pub(crate) async fn run(cx: &Session<'_>, args: BenchArgs) -> Result<()> {
    if args.txs == 0 {
        bail!("need at least one transaction");
    }
    let runtime = runtime_id(args.runtime.as_deref())?;
    let key = crate::wallet::load(cx.keys_dir, &args.from)?;
    let key_set: Hash =
        args.key_set.parse().map_err(|e| anyhow!("{:?} is not a key set id: {e}", args.key_set))?;
    let (_, record): (u64, Option<KeySetRecord>) =
        query(&cx.client, &runtime, QUERY_KEY_SET, &KeySetQuery { id: key_set }).await?;
    let public =
        decode_public_key(&record.ok_or_else(|| anyhow!("no key set {key_set}"))?.public_key)?;
    let bytes =
        std::fs::read(&args.setup).with_context(|| format!("reading {}", args.setup.display()))?;
    let bench = Bench {
        cx,
        runtime,
        key: &key,
        public,
        crs: ProofSetup::from_bytes(&bytes)?.crs,
        chain: cx.chain,
        key_set,
        wait: Some(Duration::from_secs(args.drain_timeout)),
    };

    let (signed, prove_secs) = match args.program {
        BenchProgram::Token => bench.transfers(args.txs).await?,
        program => bench.one_per_account(program, args.txs).await?,
    };
    let signed: Vec<(Hash, Vec<u8>)> =
        signed.into_iter().map(|raw| (Hash::digest(&raw), raw)).collect();

    let start_round = cx.client.roothash(&runtime, StateQuery::default()).await?.value.round;
    let start_height = cx.client.status().await?.height;
    let started = Instant::now();
    let mut submitted: HashMap<Hash, Instant> = HashMap::new();
    let mut refused = Vec::new();
    for (hash, raw) in &signed {
        match cx.client.submit_runtime_tx(&runtime, raw).await {
            Ok(_) => {
                submitted.insert(*hash, Instant::now());
            }
            Err(e) => refused.push(e.to_string()),
        }
    }
    let deadline = Instant::now() + Duration::from_secs(args.drain_timeout);
    let (mut latencies, last_final) =
        follow_rounds(&cx.client, &runtime, &mut submitted, start_round, deadline).await?;
    let end_round = cx.client.roothash(&runtime, StateQuery::default()).await?.value.round;
    let end_height = cx.client.status().await?.height;
    report(
        cx,
        &args,
        Measured {
            prove_secs,
            refused,
            lost: submitted.len(),
            window: last_final.map_or(0.0, |last| last.duration_since(started).as_secs_f64()),
            rounds: end_round.saturating_sub(start_round),
            blocks: end_height.saturating_sub(start_height).max(1),
            latencies: {
                latencies.sort();
                latencies
            },
            runtime,
        },
    );
    Ok(())
}

/// What a run measured.
struct Measured {
    prove_secs: f64,
    refused: Vec<String>,
    lost: usize,
    window: f64,
    rounds: u64,
    blocks: u64,
    latencies: Vec<Duration>,
    runtime: RuntimeId,
}

fn report(cx: &Session<'_>, args: &BenchArgs, m: Measured) {
    let finalized = m.latencies.len();
    let tps = if m.window > 0.0 { finalized as f64 / m.window } else { 0.0 };
    let secs = |d: Duration| (d.as_secs_f64() * 10.0).round() / 10.0;
    let per_round = if m.rounds > 0 { finalized as f64 / m.rounds as f64 } else { 0.0 };
    let report = json!({
        "runtime": m.runtime,
        "program": args.program.name(),
        "transactions": args.txs,
        "refused": m.refused.len(),
        "first_refusal": m.refused.first(),
        "finalized": finalized,
        "lost": m.lost,
        "client_prove_seconds_per_tx": m.prove_secs / f64::from(args.txs),
        "finalized_tps": tps,
        "latency_s": {
            "p50": secs(percentile(&m.latencies, 50.0)),
            "p90": secs(percentile(&m.latencies, 90.0)),
            "max": secs(m.latencies.last().copied().unwrap_or_default()),
        },
        "rounds": m.rounds,
        "transactions_per_round": per_round,
        "consensus_blocks": m.blocks,
    });
    cx.out.show(&report, |r| {
        format!(
            "FHE {}: {} sent ({} refused), {finalized} finalized, {} lost\n\
             proving and signing on the client: {:.2} s per transaction\n\
             finalized {tps:.3} transactions/s; latency submit -> finalized round: p50 {} s, p90 {} s, max {} s\n\
             rounds: {} ({per_round:.1} transactions per round) over {} consensus blocks",
            args.program.name(),
            args.txs,
            m.refused.len(),
            m.lost,
            r["client_prove_seconds_per_tx"].as_f64().unwrap_or(0.0),
            r["latency_s"]["p50"],
            r["latency_s"]["p90"],
            r["latency_s"]["max"],
            m.rounds,
            m.blocks,
        )
    });
}
