//! `atoll bench anchors`: load on the timestamping ParaTime. One key with a ParaTime
//! balance signs `timestamp.Anchor` transactions for random documents up front (consecutive
//! nonces), submits them to one or more nodes that run the ParaTime, and follows finalized
//! rounds to time each one from submission to the round that finalized it. Reports
//! finalized anchors per second, latency percentiles and rounds per consensus block.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use atoll_client::model::StateQuery;
use atoll_runtime_sdk::Fee;
use atoll_timestamp::Anchor;
use atoll_types::{Amount, Hash};
use clap::Args;
use serde_json::json;

use crate::bench::{follow_rounds, percentile};
use crate::chain::NodeArgs;
use crate::output::Output;
use crate::paratime::{runtime_nonce, signed_runtime_tx};

/// Options of `atoll bench anchors`.
#[derive(Args)]
pub(crate) struct AnchorsArgs {
    /// The signing key (name or file); it needs a ParaTime balance for the fees.
    #[arg(long)]
    from: String,
    /// Anchors to send in all.
    #[arg(long, default_value_t = 2_000)]
    txs: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Extra nodes running the ParaTime to spread submissions over (host:port).
    #[arg(long = "also")]
    also: Vec<String>,
    /// Seconds to wait for the last anchors after submitting.
    #[arg(long, default_value_t = 120)]
    drain_timeout: u64,
}

/// Runs the anchor benchmark.
pub(crate) async fn anchors(
    node: &NodeArgs,
    keys_dir: &std::path::Path,
    out: Output,
    args: AnchorsArgs,
) -> Result<()> {
    if args.txs == 0 || args.concurrency == 0 {
        bail!("need at least one anchor and a positive concurrency");
    }
    let clients = crate::bench::api_clients(&node.api, &args.also)?;
    let client = clients[0].clone();
    let runtime = atoll_timestamp::runtime_id();
    let chain = client.chain(StateQuery::default()).await?.value.chain_context;
    let key = crate::wallet::load(keys_dir, &args.from)?;
    let first_nonce = runtime_nonce(&client, &runtime, &key).await?;
    let salt = Hash::digest(
        &std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_nanos()
            .to_le_bytes(),
    );
    let signed: Vec<(Hash, Vec<u8>)> = (0..args.txs as u64)
        .map(|i| {
            let document = Hash::digest_parts(&[salt.as_bytes(), &i.to_le_bytes()]);
            let raw = signed_runtime_tx(
                &key,
                &chain,
                &runtime,
                (atoll_timestamp::ANCHOR, &Anchor { document, metadata: None }),
                first_nonce + i,
                Fee { amount: Amount::new(20_000), gas: 20_000 },
            );
            (Hash::digest(&raw), raw)
        })
        .collect();

    let start_round = client.roothash(&runtime, StateQuery::default()).await?.value.round;
    let start_height = client.status().await?.height;
    let started = Instant::now();
    let mut submitted: HashMap<Hash, Instant> = HashMap::with_capacity(args.txs);
    let mut refused = 0usize;
    // Submit with a bounded number of requests in flight (the pool takes future nonces).
    for (n, chunk) in signed.chunks(args.concurrency).enumerate() {
        let target = &clients[n % clients.len()];
        let tasks: Vec<_> = chunk
            .iter()
            .map(|(hash, raw)| {
                let (target, hash, raw) = (target.clone(), *hash, raw.clone());
                tokio::spawn(async move { (hash, target.submit_runtime_tx(&runtime, &raw).await) })
            })
            .collect();
        for task in tasks {
            match task.await {
                Ok((hash, Ok(_))) => {
                    submitted.insert(hash, Instant::now());
                }
                _ => refused += 1,
            }
        }
    }
    let submit_secs = started.elapsed().as_secs_f64();

    // Follow finalized rounds until every admitted anchor is in one (or the drain ends).
    let deadline = Instant::now() + Duration::from_secs(args.drain_timeout);
    let (mut latencies, last_final) =
        follow_rounds(&client, &runtime, &mut submitted, start_round, deadline).await?;
    let end_round = client.roothash(&runtime, StateQuery::default()).await?.value.round;
    let end_height = client.status().await?.height;
    latencies.sort();
    let finalized = latencies.len();
    let window = last_final.map_or(0.0, |last| last.duration_since(started).as_secs_f64());
    let tps = if window > 0.0 { finalized as f64 / window } else { 0.0 };
    let blocks = end_height.saturating_sub(start_height).max(1);
    let rounds = end_round.saturating_sub(start_round);
    let ms = |d: Duration| (d.as_secs_f64() * 10_000.0).round() / 10.0;
    let report = json!({
        "submitted": args.txs,
        "refused": refused,
        "finalized": finalized,
        "lost": submitted.len(),
        "submit_seconds": submit_secs,
        "finalized_tps": tps,
        "latency_ms": {
            "p50": ms(percentile(&latencies, 50.0)),
            "p90": ms(percentile(&latencies, 90.0)),
            "p99": ms(percentile(&latencies, 99.0)),
            "max": ms(latencies.last().copied().unwrap_or_default()),
        },
        "rounds": rounds,
        "consensus_blocks": blocks,
        "rounds_per_block": rounds as f64 / blocks as f64,
    });
    out.show(&report, |r| {
        format!(
            "anchors: {} submitted ({} refused), {} finalized, {} lost\n\
             submitted in {:.2} s; finalized {:.0} tx/s\n\
             latency submit -> finalized round: p50 {} ms, p90 {} ms, p99 {} ms, max {} ms\n\
             rounds: {} over {} consensus blocks ({:.2} per block)",
            args.txs,
            refused,
            finalized,
            r["lost"],
            submit_secs,
            tps,
            r["latency_ms"]["p50"],
            r["latency_ms"]["p90"],
            r["latency_ms"]["p99"],
            r["latency_ms"]["max"],
            rounds,
            blocks,
            r["rounds_per_block"].as_f64().unwrap_or(0.0)
        )
    });
    Ok(())
}
