//! `atoll bench transfers`: the load generator. It funds many accounts from one key, signs
//! transfers between them up front, submits them in batches (binary, or JSON with `--json`) at a target rate (or flat out)
//! and follows the WebSocket block stream to time each one from submission to its finalized
//! block. Reports committed transfers per second, latency percentiles and block times.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use atoll_client::model::{StreamMessage, StreamQuery};
use atoll_client::tx::sign;
use atoll_client::Client;
use atoll_consensus::staking::methods::{self, Transfer};
use atoll_consensus::{Fee, Transaction};
use atoll_crypto::MemorySigner;
use atoll_types::{Address, Amount, Hash, Signer};
use clap::Args;
use serde_json::json;

use crate::chain::NodeArgs;
use crate::output::Output;

/// What each load transfer moves: a thousandth of a token at 9 decimals, the least a
/// default genesis allows.
const TRANSFER_AMOUNT: Amount = Amount::new(1_000_000);

/// Options of `atoll bench transfers`.
#[derive(Args)]
pub(crate) struct TransfersArgs {
    /// The funding key (name or file); it pays for every account.
    #[arg(long)]
    from: String,
    /// Accounts sending transfers to each other.
    #[arg(long, default_value_t = 500)]
    accounts: usize,
    /// Transfers to send in all.
    #[arg(long, default_value_t = 20_000)]
    txs: usize,
    /// Target submission rate in transfers per second (0: as fast as the node admits).
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Transfers per submission request.
    #[arg(long, default_value_t = 250)]
    batch: usize,
    /// Submit JSON batches of hex (`/v1/transactions/batch`) instead of binary ones
    /// (`/v1/transactions/batch/binary`).
    #[arg(long)]
    json: bool,
    /// Extra API nodes to spread submissions over (host:port); repeat for several.
    #[arg(long = "also")]
    also: Vec<String>,
    /// Seconds to wait for the last transfers after submitting.
    #[arg(long, default_value_t = 60)]
    drain_timeout: u64,
}

/// What the run measured.
struct Tracker {
    submitted: HashMap<Hash, Instant>,
    latencies: Vec<Duration>,
    blocks: Vec<(Instant, usize)>,
    first_commit: Option<Instant>,
    last_commit: Option<Instant>,
}

/// Follows the finalized rounds of `runtime` after `start_round` until every transaction
/// in `submitted` (by hash, with when it was submitted) is in one or `deadline` passes;
/// removes the finalized ones. Each one's latency to its finalized round, and when the last
/// was seen.
pub(crate) async fn follow_rounds(
    client: &Client,
    runtime: &atoll_types::RuntimeId,
    submitted: &mut HashMap<Hash, Instant>,
    start_round: u64,
    deadline: Instant,
) -> Result<(Vec<Duration>, Option<Instant>)> {
    let mut latencies = Vec::with_capacity(submitted.len());
    let mut next_round = start_round + 1;
    let mut last_final = None;
    while !submitted.is_empty() && Instant::now() < deadline {
        let latest =
            client.roothash(runtime, atoll_client::model::StateQuery::default()).await?.value.round;
        while next_round <= latest {
            // A round the consensus layer finalized may not be stored by the node yet: ask
            // again on the next poll rather than skip it.
            let Ok(round) = client.runtime_round(runtime, next_round).await else { break };
            let now = Instant::now();
            for outcome in round.outcomes {
                if let Some(at) = submitted.remove(&outcome.hash) {
                    latencies.push(now.duration_since(at));
                    last_final = Some(now);
                }
            }
            next_round += 1;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok((latencies, last_final))
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Funds `accounts` from `funder` and waits until the funding is committed.
async fn fund(
    client: &Client,
    funder: &dyn Signer,
    chain: &atoll_types::ChainContext,
    accounts: &[MemorySigner],
    each: Amount,
    fee: Fee,
    bar: &indicatif::ProgressBar,
) -> Result<()> {
    let funder_address = Address::from_public_key(&funder.public_key());
    let mut nonce = client.account(&funder_address, Default::default()).await?.value.general.nonce;
    let mut last = None;
    for chunk in accounts.chunks(60) {
        let txs: Vec<Vec<u8>> = chunk
            .iter()
            .map(|a| {
                let tx = Transaction::new(
                    nonce,
                    fee,
                    methods::TRANSFER,
                    &Transfer { to: Address::from_public_key(&a.public_key()), amount: each },
                );
                nonce += 1;
                sign(funder, chain, &tx)
            })
            .collect();
        for item in client.submit_batch(&txs).await? {
            match (item.hash, item.error) {
                (Some(hash), _) => last = Some(hash),
                (None, Some(e)) => bail!("funding refused: {} {:?}: {}", e.kind, e.code, e.message),
                (None, None) => bail!("funding: empty answer"),
            }
        }
        // Stay inside the mempool's nonce window: wait for this chunk before the next.
        if let Some(hash) = last {
            client.wait_for_transaction(&hash, Duration::from_secs(60)).await?;
        }
        bar.inc(chunk.len() as u64);
    }
    Ok(())
}

/// Moves the transactions of a block seen at `now` from `submitted` to their latencies;
/// how many of them were there.
pub(crate) fn settle<H: std::hash::Hash + Eq>(
    submitted: &mut HashMap<H, Instant>,
    latencies: &mut Vec<Duration>,
    included: &[H],
    now: Instant,
) -> usize {
    let mut ours = 0;
    for hash in included {
        if let Some(at) = submitted.remove(hash) {
            latencies.push(now.duration_since(at));
            ours += 1;
        }
    }
    ours
}

/// A progress bar on the terminal for text output, hidden otherwise.
pub(crate) fn progress(out: Output, len: u64, what: &str) -> indicatif::ProgressBar {
    let bar = if out == Output::Text {
        indicatif::ProgressBar::new(len)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} {per_sec}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_message(what.to_owned());
    bar
}

/// Clients of the node's API and of each extra API (`--also`), the node's first.
pub(crate) fn api_clients(api: &str, also: &[String]) -> Result<Vec<Client>> {
    std::iter::once(api)
        .chain(also.iter().map(String::as_str))
        .map(|a| Ok(Client::new(a)?))
        .collect()
}

/// Runs the transfer benchmark.
pub(crate) async fn transfers(
    node: &NodeArgs,
    keys_dir: &std::path::Path,
    out: Output,
    args: TransfersArgs,
) -> Result<()> {
    if args.accounts < 2 || args.batch == 0 || args.txs == 0 {
        bail!("need at least 2 accounts, a positive batch and at least one transfer");
    }
    let clients = api_clients(&node.api, &args.also)?;
    let client = clients[0].clone();
    let chain = client.chain(Default::default()).await?.value.chain_context;
    let funder = crate::wallet::load(keys_dir, &args.from)?;
    let seed: [u8; 32] = rand_seed();
    let accounts: Vec<MemorySigner> = (0..args.accounts)
        .map(|i| {
            let mut s = seed;
            s[..8].copy_from_slice(&(i as u64).to_le_bytes());
            MemorySigner::from_seed(s)
        })
        .collect();
    let probe = client
        .estimate_gas(
            &accounts[0].public_key(),
            methods::TRANSFER,
            &atoll_types::encode(&Transfer {
                to: Address::from_public_key(&accounts[1].public_key()),
                amount: Amount::new(1),
            }),
        )
        .await?;
    let (gas, price) = (probe.gas, probe.min_gas_price);
    let fee = Amount::new(u128::from(gas).saturating_mul(price));
    let per_account = (args.txs / args.accounts + 2) as u128;
    let each = Amount::new(
        per_account.saturating_mul(fee.base_units().saturating_add(TRANSFER_AMOUNT.base_units())),
    );

    let bar = progress(out, args.accounts as u64, "funding");
    fund(&client, &funder, &chain, &accounts, each, Fee { amount: fee, gas }, &bar)
        .await
        .context("funding the accounts")?;
    bar.finish_and_clear();

    // Sign everything up front so that signing does not compete with the nodes for CPU
    // during the measured window.
    let bar = progress(out, args.txs as u64, "signing");
    let mut nonces = vec![0u64; args.accounts];
    let mut signed = Vec::with_capacity(args.txs);
    for i in 0..args.txs {
        let from = i % args.accounts;
        let to = Address::from_public_key(&accounts[(from + 1) % args.accounts].public_key());
        let tx = Transaction::new(
            nonces[from],
            Fee { amount: fee, gas },
            methods::TRANSFER,
            &Transfer { to, amount: TRANSFER_AMOUNT },
        );
        nonces[from] += 1;
        let raw = sign(&accounts[from], &chain, &tx);
        signed.push((Hash::digest(&raw), raw));
        bar.inc(1);
    }
    bar.finish_and_clear();

    let tracker = Arc::new(Mutex::new(Tracker {
        submitted: HashMap::with_capacity(args.txs),
        latencies: Vec::with_capacity(args.txs),
        blocks: Vec::new(),
        first_commit: None,
        last_commit: None,
    }));
    let mut stream = client
        .stream(&StreamQuery { blocks: Some(true), events: Some(false), ..Default::default() })
        .await?;
    let committed_bar = progress(out, args.txs as u64, "committed");
    let watcher = {
        let tracker = Arc::clone(&tracker);
        let bar = committed_bar.clone();
        tokio::spawn(async move {
            while let Some(message) = stream.next().await {
                let Ok(StreamMessage::Block { tx_hashes, .. }) = message else { continue };
                let now = Instant::now();
                let Ok(mut t) = tracker.lock() else { return };
                let t = &mut *t;
                let ours = settle(&mut t.submitted, &mut t.latencies, &tx_hashes, now);
                if ours > 0 {
                    t.first_commit.get_or_insert(now);
                    t.last_commit = Some(now);
                }
                t.blocks.push((now, tx_hashes.len()));
                bar.inc(ours as u64);
            }
        })
    };

    let started = Instant::now();
    let mut refused: HashMap<String, usize> = HashMap::new();
    let mut admitted = 0usize;
    let interval = if args.rate > 0 {
        Some(Duration::from_secs_f64(args.batch as f64 / args.rate as f64))
    } else {
        None
    };
    let mut next_send = Instant::now();
    for (n, chunk) in signed.chunks(args.batch).enumerate() {
        if let Some(interval) = interval {
            tokio::time::sleep_until(next_send.into()).await;
            next_send += interval;
        }
        let now = Instant::now();
        if let Ok(mut t) = tracker.lock() {
            for (hash, _) in chunk {
                t.submitted.insert(*hash, now);
            }
        }
        let raws: Vec<Vec<u8>> = chunk.iter().map(|(_, raw)| raw.clone()).collect();
        let target = &clients[n % clients.len()];
        let send = || async {
            if args.json {
                target.submit_batch(&raws).await
            } else {
                target.submit_batch_binary(&raws).await
            }
        };
        let mut answer = send().await;
        while let Err(e) = &answer {
            // A full mempool or the rate limit: back off and retry the batch.
            if matches!(e.status(), Some(429 | 503)) {
                tokio::time::sleep(Duration::from_millis(50)).await;
                answer = send().await;
            } else {
                break;
            }
        }
        for ((hash, _), item) in chunk.iter().zip(answer?) {
            match item.error {
                None => admitted += 1,
                Some(e) => {
                    *refused.entry(format!("{} {:?}", e.kind, e.message)).or_default() += 1;
                    if let Ok(mut t) = tracker.lock() {
                        t.submitted.remove(hash);
                    }
                }
            }
        }
    }
    let submit_secs = started.elapsed().as_secs_f64();
    let deadline = Instant::now() + Duration::from_secs(args.drain_timeout);
    loop {
        let pending = tracker.lock().map_or(0, |t| t.submitted.len());
        if pending == 0 || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    committed_bar.finish_and_clear();
    watcher.abort();

    let t = tracker.lock().map_err(|_| anyhow::anyhow!("tracker poisoned"))?;
    let mut latencies = t.latencies.clone();
    latencies.sort();
    let committed = latencies.len();
    let window = match (t.first_commit, t.last_commit) {
        (Some(_), Some(last)) => last.duration_since(started).as_secs_f64(),
        _ => 0.0,
    };
    let tps = if window > 0.0 { committed as f64 / window } else { 0.0 };
    let intervals: Vec<f64> =
        t.blocks.windows(2).map(|w| w[1].0.duration_since(w[0].0).as_secs_f64()).collect();
    let mean_interval = if intervals.is_empty() {
        0.0
    } else {
        intervals.iter().sum::<f64>() / intervals.len() as f64
    };
    let busy_blocks: Vec<usize> = t.blocks.iter().map(|b| b.1).filter(|n| *n > 0).collect();
    let max_block = busy_blocks.iter().copied().max().unwrap_or(0);
    let ms = |d: Duration| (d.as_secs_f64() * 1_000.0 * 10.0).round() / 10.0;
    let report = json!({
        "accounts": args.accounts,
        "target_rate": args.rate,
        "batch": args.batch,
        "encoding": if args.json { "json" } else { "binary" },
        "submitted": args.txs,
        "admitted": admitted,
        "refused": refused,
        "committed": committed,
        "lost": t.submitted.len(),
        "submit_seconds": submit_secs,
        "offered_rate": args.txs as f64 / submit_secs.max(1e-9),
        "committed_tps": tps,
        "latency_ms": {
            "p50": ms(percentile(&latencies, 50.0)),
            "p90": ms(percentile(&latencies, 90.0)),
            "p99": ms(percentile(&latencies, 99.0)),
            "max": ms(latencies.last().copied().unwrap_or_default()),
        },
        "blocks": t.blocks.len(),
        "mean_block_interval_ms": (mean_interval * 1_000.0 * 10.0).round() / 10.0,
        "largest_block_txs": max_block,
    });
    out.show(&report, |r| {
        format!(
            "transfers: {} submitted ({} admitted), {} committed, {} lost\n\
             offered {:.0} tx/s over {:.2} s; committed {:.0} tx/s\n\
             latency submit -> finalized block: p50 {} ms, p90 {} ms, p99 {} ms, max {} ms\n\
             blocks: {} seen, mean interval {} ms, largest {} txs\n\
             refused: {}",
            args.txs,
            admitted,
            committed,
            r["lost"],
            r["offered_rate"].as_f64().unwrap_or(0.0),
            submit_secs,
            tps,
            r["latency_ms"]["p50"],
            r["latency_ms"]["p90"],
            r["latency_ms"]["p99"],
            r["latency_ms"]["max"],
            r["blocks"],
            r["mean_block_interval_ms"],
            max_block,
            r["refused"]
        )
    });
    Ok(())
}

fn rand_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    seed[8..24].copy_from_slice(&nanos.to_le_bytes());
    seed[24..28].copy_from_slice(&std::process::id().to_le_bytes());
    seed
}
