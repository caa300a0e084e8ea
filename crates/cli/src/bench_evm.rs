//! `atoll bench evm`: load on an EVM ParaTime through its Ethereum JSON-RPC, sent as any
//! Ethereum client sends it. One funded key funds many accounts (and, for ERC-20 load,
//! deploys the example token and hands it out); every load transaction is signed up front
//! (EIP-1559, each account sending to the next), submitted in `eth_sendRawTransaction`
//! batches, and timed from its batch's submission to the first block seen that includes it.
//! Reports included tx/s, gas/s, latency percentiles and ParaTime rounds per consensus
//! block.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy_consensus::{TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{keccak256, Address, Bytes, TxKind, B256, U256};
use anyhow::{anyhow, bail, Context, Result};
use atoll_client::model::StateQuery;
use atoll_evm::erc20;
use atoll_evm::transaction::{address_of, sign};
use clap::{Args, ValueEnum};
use k256::ecdsa::SigningKey;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use crate::bench::{percentile, progress, settle};
use crate::chain::NodeArgs;
use crate::output::Output;

/// Transactions the funding key sends before waiting for them (the pool holds at most 64
/// of one sender's transactions behind a gap).
const FUNDING_CHUNK: usize = 50;
/// How long funding and deployment transactions may take to be included.
const INCLUSION_LIMIT: Duration = Duration::from_secs(120);

/// What the load transactions do.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Load {
    /// Native value transfers (21,000 gas each).
    Native,
    /// `transfer` calls on the example ERC-20 (`paratimes/evm/contracts/Token.sol`).
    Erc20,
}

/// Options of `atoll bench evm`.
#[derive(Args)]
pub(crate) struct EvmArgs {
    /// The EVM ParaTime's Ethereum JSON-RPC (HTTP).
    #[arg(long, default_value = "http://127.0.0.1:8545")]
    rpc: String,
    /// The funding key (0x… private key of an Ethereum account with a balance); default:
    /// `atoll devnet`'s first development account.
    #[arg(long)]
    key: Option<String>,
    /// What the load transactions do.
    #[arg(long, value_enum, default_value = "native")]
    load: Load,
    /// Accounts sending transactions to each other.
    #[arg(long, default_value_t = 100)]
    accounts: usize,
    /// Load transactions in all.
    #[arg(long, default_value_t = 2_000)]
    txs: usize,
    /// Transactions per JSON-RPC batch.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Target submission rate in transactions per second (0: as fast as the node takes them).
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Seconds to wait for the last transactions after submitting.
    #[arg(long, default_value_t = 120)]
    drain_timeout: u64,
}

/// A JSON-RPC endpoint.
struct Rpc {
    http: reqwest::Client,
    url: String,
}

impl Rpc {
    /// One call; its result or its error as an error.
    async fn call<T: DeserializeOwned>(&self, method: &str, params: Value) -> Result<T> {
        let body = json!({"jsonrpc": "2.0", "id": 0, "method": method, "params": params});
        let answer: Value = self.http.post(&self.url).json(&body).send().await?.json().await?;
        if let Some(error) = answer.get("error") {
            bail!("{method}: {error}");
        }
        serde_json::from_value(answer["result"].clone()).with_context(|| method.to_owned())
    }

    /// One batch; each call's result or error message, in the calls' order.
    async fn batch(&self, calls: &[(&str, Value)]) -> Result<Vec<Result<Value, String>>> {
        let body: Vec<Value> = calls
            .iter()
            .enumerate()
            .map(|(i, (method, params))| {
                json!({"jsonrpc": "2.0", "id": i, "method": method, "params": params})
            })
            .collect();
        let answer: Value = self.http.post(&self.url).json(&body).send().await?.json().await?;
        let Value::Array(items) = answer else { bail!("the batch was refused: {answer}") };
        let mut out = vec![Err("no answer".to_owned()); calls.len()];
        for item in items {
            let Some(slot) = item["id"].as_u64().and_then(|i| out.get_mut(i as usize)) else {
                continue;
            };
            *slot = match item.get("error") {
                Some(error) => Err(error["message"].as_str().unwrap_or_default().to_owned()),
                None => Ok(item["result"].clone()),
            };
        }
        Ok(out)
    }

    /// Sends signed transactions in one batch; the refusals' messages.
    async fn send(&self, txs: &[Signed]) -> Result<Vec<Option<String>>> {
        let calls: Vec<(&str, Value)> = txs
            .iter()
            .map(|tx| ("eth_sendRawTransaction", json!([Bytes::copy_from_slice(&tx.raw)])))
            .collect();
        Ok(self.batch(&calls).await?.into_iter().map(Result::err).collect())
    }

    /// Sends signed transactions in one batch; an error names the first refusal.
    async fn send_all(&self, txs: &[Signed]) -> Result<()> {
        match self.send(txs).await?.into_iter().flatten().next() {
            Some(refusal) => bail!("refused: {refusal}"),
            None => Ok(()),
        }
    }

    /// Waits until `hash` is included and succeeded.
    async fn included(&self, hash: B256) -> Result<Value> {
        let deadline = Instant::now() + INCLUSION_LIMIT;
        loop {
            let receipt: Value = self.call("eth_getTransactionReceipt", json!([hash])).await?;
            if !receipt.is_null() {
                if receipt["status"] != json!("0x1") {
                    bail!("transaction {hash} failed: {receipt}");
                }
                return Ok(receipt);
            }
            if Instant::now() > deadline {
                bail!("transaction {hash} not included within {INCLUSION_LIMIT:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Fee caps of every transaction the benchmark signs.
#[derive(Clone, Copy)]
struct Fees {
    max_fee: u128,
    tip: u128,
}

/// One transaction, signed.
struct Signed {
    hash: B256,
    raw: Vec<u8>,
}

/// A call or transfer from `key` at `nonce`, signed.
fn signed(
    key: &SigningKey,
    chain_id: u64,
    nonce: u64,
    (to, value, input): (TxKind, U256, Vec<u8>),
    gas: u64,
    fees: Fees,
) -> Signed {
    let tx = TxEip1559 {
        chain_id,
        nonce,
        gas_limit: gas,
        max_fee_per_gas: fees.max_fee,
        max_priority_fee_per_gas: fees.tip,
        to,
        value,
        access_list: Default::default(),
        input: Bytes::from(input),
    };
    let raw = TxEnvelope::from(sign(tx, key)).encoded_2718();
    Signed { hash: keccak256(&raw), raw }
}

/// The funding key's transactions, sent in chunks, each chunk included before the next.
async fn send_from_funder(
    rpc: &Rpc,
    signed: &[Signed],
    bar: &indicatif::ProgressBar,
) -> Result<()> {
    for chunk in signed.chunks(FUNDING_CHUNK) {
        rpc.send_all(chunk).await?;
        if let Some(last) = chunk.last() {
            rpc.included(last.hash).await?;
        }
        bar.inc(chunk.len() as u64);
    }
    Ok(())
}

/// What the block follower saw.
#[derive(Default)]
struct Tracker {
    submitted: HashMap<B256, Instant>,
    latencies: Vec<Duration>,
    /// Blocks that included load transactions: when seen, how many, their gas.
    busy: Vec<(Instant, usize, u64)>,
    blocks: u64,
}

/// Follows new blocks from `from` on, timing the load transactions they include.
async fn follow(rpc: Arc<Rpc>, tracker: Arc<Mutex<Tracker>>, from: u64) {
    let mut next = from;
    loop {
        let head = rpc.call::<U256>("eth_blockNumber", json!([])).await.map_or(0, |n| n.to());
        while next <= head {
            let block: Result<Value> =
                rpc.call("eth_getBlockByNumber", json!([format!("{next:#x}"), false])).await;
            let Ok(block) = block else { break };
            let now = Instant::now();
            let gas = block["gasUsed"]
                .as_str()
                .and_then(|g| u64::from_str_radix(g.trim_start_matches("0x"), 16).ok())
                .unwrap_or(0);
            let hashes: Vec<B256> =
                serde_json::from_value(block["transactions"].clone()).unwrap_or_default();
            let Ok(mut t) = tracker.lock() else { return };
            let t = &mut *t;
            let ours = settle(&mut t.submitted, &mut t.latencies, &hashes, now);
            if ours > 0 {
                t.busy.push((now, ours, gas));
            }
            t.blocks += 1;
            next += 1;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The ParaTime's round and the consensus height, from the node's API (if it answers).
async fn rounds_and_height(api: &atoll_client::Client) -> Option<(u64, u64)> {
    let runtime = atoll_evm::runtime_id();
    let round = api.roothash(&runtime, StateQuery::default()).await.ok()?.value.round;
    let height = api.status().await.ok()?.height;
    Some((round, height))
}

/// The funding key: `--key`, or the devnet's first development account.
fn funding_key(key: Option<&str>) -> Result<SigningKey> {
    let bytes = match key {
        Some(hex_key) => hex::decode(hex_key.trim_start_matches("0x"))
            .context("--key: a 0x-prefixed hex private key")?,
        None => crate::devnet::dev_accounts::accounts(1)
            .first()
            .map(|a| a.key.to_vec())
            .ok_or_else(|| anyhow!("deriving the first development account"))?,
    };
    SigningKey::from_slice(&bytes).context("--key: not a secp256k1 private key")
}

/// Runs the EVM benchmark.
pub(crate) async fn evm(node: &NodeArgs, out: Output, args: EvmArgs) -> Result<()> {
    if args.accounts < 2 || args.batch == 0 || args.txs == 0 {
        bail!("need at least 2 accounts, a positive batch and at least one transaction");
    }
    let rpc = Arc::new(Rpc { http: reqwest::Client::new(), url: args.rpc.clone() });
    let api = atoll_client::Client::new(&node.api)?;
    let chain_id = rpc.call::<U256>("eth_chainId", json!([])).await?.to::<u64>();
    let gas_price: U256 = rpc.call("eth_gasPrice", json!([])).await?;
    let tip: U256 = rpc.call("eth_maxPriorityFeePerGas", json!([])).await?;
    let fees = Fees { max_fee: gas_price.to::<u128>() * 2, tip: tip.to::<u128>() };
    let funder = funding_key(args.key.as_deref())?;
    let me = address_of(&funder);
    let mut funder_nonce =
        rpc.call::<U256>("eth_getTransactionCount", json!([me, "pending"])).await?.to::<u64>();
    let seed = keccak256(format!("{:?}{}", std::time::SystemTime::now(), std::process::id()));
    let accounts: Vec<SigningKey> = (0..args.accounts as u64)
        .map(|i| {
            let key = keccak256([seed.as_slice(), &i.to_le_bytes()].concat());
            SigningKey::from_slice(key.as_slice()).context("a derived load key")
        })
        .collect::<Result<_>>()?;
    let addresses: Vec<Address> = accounts.iter().map(address_of).collect();
    let per_account = args.txs.div_ceil(args.accounts) as u64;

    // The token, for ERC-20 load: deployed by the funder, who holds its whole supply.
    let token = if args.load == Load::Erc20 {
        let supply = U256::from(per_account * args.accounts as u64);
        let creation = erc20::token_creation("Bench", "BNCH", supply);
        let deploy = signed(
            &funder,
            chain_id,
            funder_nonce,
            (TxKind::Create, U256::ZERO, creation),
            2_000_000,
            fees,
        );
        funder_nonce += 1;
        rpc.send_all(std::slice::from_ref(&deploy)).await.context("deploying the token")?;
        let receipt = rpc.included(deploy.hash).await.context("deploying the token")?;
        Some(serde_json::from_value::<Address>(receipt["contractAddress"].clone())?)
    } else {
        None
    };
    // Each load transaction: account i sends to account i + 1 (one wei, or one token unit).
    let load_call = |to: Address| match token {
        Some(token) => (TxKind::Call(token), U256::ZERO, erc20::transfer_data(to, U256::from(1))),
        None => (TxKind::Call(to), U256::from(1), Vec::new()),
    };
    let gas = match token {
        // A transfer to a fresh account: the dearest storage write a load transfer makes.
        Some(_) => {
            let (to, value, data) = load_call(addresses[0]);
            let call =
                json!([{"from": me, "to": to.to(), "value": value, "data": Bytes::from(data)}]);
            let estimate: U256 = rpc.call("eth_estimateGas", call).await?;
            estimate.to::<u64>() * 5 / 4
        }
        None => 21_000,
    };

    // Funding: gas and value for every load transaction, and the tokens they move.
    let wei_each =
        U256::from(per_account) * (U256::from(gas) * U256::from(fees.max_fee) + U256::from(1));
    let mut funding = Vec::new();
    for to in &addresses {
        funding.push(signed(
            &funder,
            chain_id,
            funder_nonce,
            (TxKind::Call(*to), wei_each, Vec::new()),
            21_000,
            fees,
        ));
        funder_nonce += 1;
        if let Some(token) = token {
            let data = erc20::transfer_data(*to, U256::from(per_account));
            funding.push(signed(
                &funder,
                chain_id,
                funder_nonce,
                (TxKind::Call(token), U256::ZERO, data),
                gas,
                fees,
            ));
            funder_nonce += 1;
        }
    }
    let bar = progress(out, funding.len() as u64, "funding");
    send_from_funder(&rpc, &funding, &bar).await.context("funding the accounts")?;
    bar.finish_and_clear();

    // Sign everything up front, so signing does not compete with the nodes while measured.
    let mut nonces = vec![0u64; args.accounts];
    let load: Vec<Signed> = (0..args.txs)
        .map(|i| {
            let from = i % args.accounts;
            let to = addresses[(from + 1) % args.accounts];
            let tx = signed(&accounts[from], chain_id, nonces[from], load_call(to), gas, fees);
            nonces[from] += 1;
            tx
        })
        .collect();

    let tracker = Arc::new(Mutex::new(Tracker::default()));
    let first_block = rpc.call::<U256>("eth_blockNumber", json!([])).await?.to::<u64>() + 1;
    let follower = tokio::spawn(follow(rpc.clone(), tracker.clone(), first_block));
    let before = rounds_and_height(&api).await;
    let bar = progress(out, args.txs as u64, "included");
    let started = Instant::now();
    let interval =
        (args.rate > 0).then(|| Duration::from_secs_f64(args.batch as f64 / args.rate as f64));
    let mut next_send = Instant::now();
    let mut refused: HashMap<String, usize> = HashMap::new();
    for chunk in load.chunks(args.batch) {
        if let Some(interval) = interval {
            tokio::time::sleep_until(next_send.into()).await;
            next_send += interval;
        }
        let now = Instant::now();
        if let Ok(mut t) = tracker.lock() {
            t.submitted.extend(chunk.iter().map(|s| (s.hash, now)));
        }
        for (sent, refusal) in chunk.iter().zip(rpc.send(chunk).await?) {
            let Some(refusal) = refusal else { continue };
            *refused.entry(refusal).or_default() += 1;
            if let Ok(mut t) = tracker.lock() {
                t.submitted.remove(&sent.hash);
            }
        }
        bar.set_position(tracker.lock().map_or(0, |t| t.latencies.len() as u64));
    }
    let submit_secs = started.elapsed().as_secs_f64();
    let deadline = Instant::now() + Duration::from_secs(args.drain_timeout);
    loop {
        let (pending, included) =
            tracker.lock().map_or((0, 0), |t| (t.submitted.len(), t.latencies.len()));
        bar.set_position(included as u64);
        if pending == 0 || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bar.finish_and_clear();
    follower.abort();
    let after = rounds_and_height(&api).await;

    let t = tracker.lock().map_err(|_| anyhow!("tracker poisoned"))?;
    let mut latencies = t.latencies.clone();
    latencies.sort();
    let included = latencies.len();
    let window = t.busy.last().map_or(0.0, |last| last.0.duration_since(started).as_secs_f64());
    let per_sec = |n: f64| if window > 0.0 { n / window } else { 0.0 };
    let gas_used: u64 = t.busy.iter().map(|b| b.2).sum();
    let largest = t.busy.iter().map(|b| b.1).max().unwrap_or(0);
    let ms = |d: Duration| (d.as_secs_f64() * 10_000.0).round() / 10.0;
    let rounds = match (before, after) {
        (Some((r0, h0)), Some((r1, h1))) => {
            let (rounds, blocks) = (r1.saturating_sub(r0), h1.saturating_sub(h0).max(1));
            json!({"rounds": rounds, "consensus_blocks": blocks, "per_block": rounds as f64 / blocks as f64})
        }
        _ => Value::Null,
    };
    let report = json!({
        "load": match args.load { Load::Native => "native", Load::Erc20 => "erc20" },
        "accounts": args.accounts,
        "batch": args.batch,
        "gas_per_tx_limit": gas,
        "submitted": args.txs,
        "refused": refused,
        "included": included,
        "lost": t.submitted.len(),
        "submit_seconds": submit_secs,
        "included_tps": per_sec(included as f64),
        "gas_per_second": per_sec(gas_used as f64),
        "latency_ms": {
            "p50": ms(percentile(&latencies, 50.0)),
            "p90": ms(percentile(&latencies, 90.0)),
            "p99": ms(percentile(&latencies, 99.0)),
            "max": ms(latencies.last().copied().unwrap_or_default()),
        },
        "ethereum_blocks": t.blocks,
        "blocks_with_load": t.busy.len(),
        "largest_block_txs": largest,
        "paratime_rounds": rounds,
    });
    out.show(&report, |r| {
        let rounds = &r["paratime_rounds"];
        format!(
            "evm {}: {} submitted ({} refused), {} included, {} lost\n\
             submitted in {:.2} s; included {:.0} tx/s, {:.1} Mgas/s\n\
             latency submit -> block: p50 {} ms, p90 {} ms, p99 {} ms, max {} ms\n\
             blocks: {} seen, {} with load, largest {} txs\n\
             rounds: {} over {} consensus blocks ({:.2} per block)\n\
             refused: {}",
            r["load"].as_str().unwrap_or_default(),
            args.txs,
            refused.values().sum::<usize>(),
            included,
            r["lost"],
            submit_secs,
            r["included_tps"].as_f64().unwrap_or(0.0),
            r["gas_per_second"].as_f64().unwrap_or(0.0) / 1e6,
            r["latency_ms"]["p50"],
            r["latency_ms"]["p90"],
            r["latency_ms"]["p99"],
            r["latency_ms"]["max"],
            r["ethereum_blocks"],
            r["blocks_with_load"],
            largest,
            rounds["rounds"],
            rounds["consensus_blocks"],
            rounds["per_block"].as_f64().unwrap_or(0.0),
            r["refused"]
        )
    });
    Ok(())
}
