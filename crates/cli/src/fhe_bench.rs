//! `atoll fhe bench`: load on the FHE ParaTime. The sender deploys a confidential token over
//! a key set it registered, mints itself one unit per transfer, then proves and signs that
//! many encrypted transfers of one unit (consecutive nonces; each input's proof bound to its
//! transaction) before submitting them all at once, and follows finalized rounds to time
//! each one from submission to the round that finalized it. Reports the client's proving
//! time, finalized transfers per second, latency percentiles, rounds and transfers per
//! round (a round holds at most the ParaTime's batch gas: `fhe::gas::ROUND_GAS_LIMIT`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use atoll_client::model::StateQuery;
use atoll_fhe::cipher::prove_inputs;
use atoll_fhe::keys::decode_public_key;
use atoll_fhe::module::calls::*;
use atoll_fhe::module::input_metadata;
use atoll_fhe::program::Ty;
use atoll_fhe::setup::ProofSetup;
use atoll_runtime_sdk::transaction::runtime_chain_context;
use atoll_runtime_sdk::Fee;
use atoll_types::{Address, Amount, Hash, RuntimeId, Signer};
use clap::Args;
use serde_json::json;

use crate::bench::{follow_rounds, percentile};
use crate::chain::Session;
use crate::fhe::{contract, runtime_id, size_gas};
use crate::paratime::{query, runtime_nonce, send_signed, signed_runtime_tx};

/// Options of `atoll fhe bench`.
#[derive(Args)]
pub(crate) struct BenchArgs {
    /// The sender: it registered the key set, and owns and funds the token.
    #[arg(long)]
    from: String,
    /// A key set the sender registered.
    #[arg(long)]
    key_set: String,
    /// The ParaTime's proof setup file (the devnet writes it to `<dir>/fhe/setup.crs`).
    #[arg(long, env = "ATOLL_FHE_SETUP")]
    setup: std::path::PathBuf,
    /// Transfers to send.
    #[arg(long, default_value_t = 24)]
    txs: u32,
    /// The FHE ParaTime's runtime id (default: the bundled one's).
    #[arg(long)]
    runtime: Option<String>,
    /// Seconds to wait for the last transfers after submitting.
    #[arg(long, default_value_t = 900)]
    drain_timeout: u64,
}

/// Runs the benchmark.
pub(crate) async fn run(cx: &Session<'_>, args: BenchArgs) -> Result<()> {
    if args.txs == 0 {
        bail!("need at least one transfer");
    }
    let runtime = runtime_id(args.runtime.as_deref())?;
    let key = crate::wallet::load(cx.keys_dir, &args.from)?;
    let sender = Address::from_public_key(&key.public_key());
    let key_set: Hash =
        args.key_set.parse().map_err(|e| anyhow!("{:?} is not a key set id: {e}", args.key_set))?;
    let (_, record): (u64, Option<KeySetRecord>) =
        query(&cx.client, &runtime, QUERY_KEY_SET, &KeySetQuery { id: key_set }).await?;
    let public =
        decode_public_key(&record.ok_or_else(|| anyhow!("no key set {key_set}"))?.public_key)?;
    let bytes =
        std::fs::read(&args.setup).with_context(|| format!("reading {}", args.setup.display()))?;
    let crs = ProofSetup::from_bytes(&bytes)?.crs;
    let chain = runtime_chain_context(&cx.chain, &runtime);
    let wait = Some(Duration::from_secs(args.drain_timeout));
    let fee = |gas: u64| Fee { amount: Amount::new(u128::from(gas)), gas };

    // A token of the sender's, holding one unit per transfer for the sender.
    let deploy = Deploy { key_set, program: atoll_fhe::demos::token() };
    let gas = atoll_fhe::gas::DEPLOY + size_gas(atoll_types::encode(&deploy).len());
    let status = send_signed(cx, &runtime, (&key, None), fee(gas), wait, (DEPLOY, &deploy)).await?;
    let output = hex::decode(status.outcome.map(|o| o.output).unwrap_or_default())?;
    let token: u64 = atoll_types::decode(&output, 8).context("the contract id")?;
    let record = contract(cx, &runtime, token).await?;
    let call_gas = |function: &str| -> Result<u64> {
        let (index, _) =
            record.program.function(function).ok_or_else(|| anyhow!("no {function}"))?;
        Ok(record.gas.get(index).copied().unwrap_or_default())
    };
    let prove = |nonce: u64, amount: u64| {
        let metadata = input_metadata(&chain, token, &sender, nonce);
        prove_inputs(&public, &crs, &metadata, &[(Ty::U32, amount)])
    };
    let nonce = runtime_nonce(&cx.client, &runtime, &key).await?;
    let mint = Call {
        contract: token,
        function: "mint".into(),
        accounts: vec![sender],
        inputs: prove(nonce, u64::from(args.txs))?,
    };
    let gas = call_gas("mint")? + size_gas(atoll_types::encode(&mint).len());
    let status =
        send_signed(cx, &runtime, (&key, Some(nonce)), fee(gas), wait, (CALL, &mint)).await?;
    if let Some(error) = status.outcome.and_then(|o| o.error) {
        bail!("minting failed: {}", error.message);
    }

    // Every transfer proven and signed before the first is sent.
    let receiver = Address::from_public_key(
        &atoll_crypto::MemorySigner::from_seed(
            Hash::digest_parts(&[b"atoll fhe bench receiver", sender.as_bytes()]).into_bytes(),
        )
        .public_key(),
    );
    let first = runtime_nonce(&cx.client, &runtime, &key).await?;
    let proving = Instant::now();
    let mut signed = Vec::with_capacity(args.txs as usize);
    for i in 0..u64::from(args.txs) {
        let call = Call {
            contract: token,
            function: "transfer".into(),
            accounts: vec![receiver],
            inputs: prove(first + i, 1)?,
        };
        let gas = call_gas("transfer")? + size_gas(atoll_types::encode(&call).len());
        let raw = signed_runtime_tx(&key, &cx.chain, &runtime, (CALL, &call), first + i, fee(gas));
        signed.push((Hash::digest(&raw), raw));
    }
    let prove_secs = proving.elapsed().as_secs_f64();

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
        "transfers": args.txs,
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
        "transfers_per_round": per_round,
        "consensus_blocks": m.blocks,
    });
    cx.out.show(&report, |r| {
        format!(
            "FHE token transfers: {} sent ({} refused), {finalized} finalized, {} lost\n\
             proving on the client: {:.2} s per transfer\n\
             finalized {tps:.3} transfers/s; latency submit -> finalized round: p50 {} s, p90 {} s, max {} s\n\
             rounds: {} ({per_round:.1} transfers per round) over {} consensus blocks",
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
