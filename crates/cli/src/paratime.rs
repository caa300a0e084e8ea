//! `atoll paratime …` and `atoll timestamp …`: the wallet's side of a ParaTime. Deposits
//! are consensus transactions (`roothash.SubmitMsg`); everything else is a runtime
//! transaction or query sent to a node that runs the ParaTime (a compute node or a client
//! node with a `[compute]` section). The runtime defaults to the timestamping ParaTime.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use atoll_client::model::{RuntimeTxStatus, StateQuery};
use atoll_client::Client;
use atoll_consensus::roothash::{SubmitMsg, SUBMIT_MSG};
use atoll_consensus::StateError;
use atoll_runtime_sdk::modules::{accounts, consensus_accounts};
use atoll_runtime_sdk::transaction::runtime_chain_context;
use atoll_runtime_sdk::{Fee, SignerInfo, Transaction};
use atoll_timestamp::{Anchor, Get, GetResult};
use atoll_types::{Address, Amount, Hash, Round, RuntimeId, Signer};
use clap::{Args, Subcommand};
use serde_json::json;

use crate::chain::{self, NodeArgs, Session, TxArgs};
use crate::output::{utc, Output};
use crate::runtime_events::{self, Denomination};

/// Which ParaTime.
#[derive(Args, Clone)]
pub(crate) struct RuntimeArg {
    /// The runtime id (64 hex digits; default: the timestamping ParaTime).
    #[arg(long)]
    runtime: Option<String>,
}

impl RuntimeArg {
    fn id(&self) -> Result<RuntimeId> {
        match &self.runtime {
            Some(text) => text.parse().with_context(|| format!("runtime id {text:?}")),
            None => Ok(atoll_timestamp::runtime_id()),
        }
    }
}

/// Options of every runtime transaction.
#[derive(Args, Clone)]
pub(crate) struct RuntimeTxArgs {
    /// The signing key: a name in the keys directory, or a key file path.
    #[arg(long)]
    from: String,
    #[command(flatten)]
    runtime: RuntimeArg,
    /// Fee in base units, paid from the sender's balance inside the ParaTime.
    #[arg(long, default_value_t = 20_000)]
    fee: u128,
    /// Gas limit.
    #[arg(long, default_value_t = 20_000)]
    gas: u64,
    /// Return once the node accepted the transaction, without waiting for its round.
    #[arg(long)]
    no_wait: bool,
    /// How long to wait for the round, in seconds.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
}

/// ParaTime accounts and blocks.
#[derive(Subcommand)]
pub(crate) enum ParatimeCommand {
    /// Move tokens from your consensus account into the ParaTime (credited when a round
    /// takes the deposit).
    Deposit {
        #[command(flatten)]
        tx: TxArgs,
        #[command(flatten)]
        runtime: RuntimeArg,
        /// Amount in tokens.
        #[arg(long)]
        amount: String,
        /// The ParaTime account to credit (default: the sender's own): a key name, an
        /// `atoll1…` address, or a `0x…` Ethereum address of an EVM ParaTime.
        #[arg(long)]
        to: Option<String>,
    },
    /// Move tokens from the ParaTime back to a consensus account.
    Withdraw {
        #[command(flatten)]
        tx: RuntimeTxArgs,
        /// Amount in tokens.
        #[arg(long)]
        amount: String,
        /// The consensus account to credit (default: the sender's own).
        #[arg(long)]
        to: Option<String>,
    },
    /// An account's balance and nonce inside the ParaTime.
    Balance {
        /// Address or key name.
        who: String,
        #[command(flatten)]
        runtime: RuntimeArg,
    },
    /// The ParaTime's latest block and its standing on the consensus layer.
    Status {
        #[command(flatten)]
        runtime: RuntimeArg,
    },
    /// A runtime transaction by hash.
    Tx {
        /// Its hash.
        hash: String,
        #[command(flatten)]
        runtime: RuntimeArg,
    },
    /// Run a ParaTime bundled with this binary (`timestamp`, `evm`, `fhe`); compute nodes
    /// start it.
    #[command(hide = true)]
    Serve {
        /// The bundled ParaTime.
        name: String,
        /// The host's socket.
        #[arg(long)]
        socket: PathBuf,
        /// FHE ParaTime: the proof setup file.
        #[arg(long)]
        setup: Option<PathBuf>,
        /// FHE ParaTime: the setup was derived from a public seed (a devnet's).
        #[arg(long)]
        setup_insecure: bool,
        /// FHE ParaTime: the directory of key sets this node has.
        #[arg(long)]
        key_sets: Option<PathBuf>,
    },
}

/// The document to anchor or look up.
#[derive(Args, Clone)]
#[group(required = true, multiple = false)]
pub(crate) struct Document {
    /// A file (its SHA-256 is anchored; the file never leaves this machine).
    #[arg(long)]
    file: Option<PathBuf>,
    /// A document hash (64 hex digits).
    #[arg(long)]
    hash: Option<String>,
}

impl Document {
    fn hash(&self) -> Result<Hash> {
        match (&self.file, &self.hash) {
            (Some(path), _) => {
                let bytes =
                    std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
                Ok(Hash::digest(&bytes))
            }
            (None, Some(text)) => text.parse().with_context(|| format!("document hash {text:?}")),
            (None, None) => bail!("give --file or --hash"),
        }
    }
}

/// The timestamping ParaTime.
#[derive(Subcommand)]
pub(crate) enum TimestampCommand {
    /// Anchor a document: proof that it existed by the round that takes it.
    Anchor {
        #[command(flatten)]
        tx: RuntimeTxArgs,
        #[command(flatten)]
        document: Document,
        /// Metadata stored with it (at most 256 bytes), e.g. a file name.
        #[arg(long)]
        metadata: Option<String>,
    },
    /// Look a document up; the answer is checked against the round's state root.
    Get {
        #[command(flatten)]
        document: Document,
        #[command(flatten)]
        runtime: RuntimeArg,
        /// A consensus state root you trust, as HEIGHT:ROOT (the `height` and `app_hash` that
        /// `atoll query status` prints on a node you run yourself): the round's runtime block
        /// is then proven against it, so the node answering cannot make up its state root.
        #[arg(long, value_name = "HEIGHT:ROOT")]
        trust: Option<String>,
    },
}

/// Parses `HEIGHT:ROOT`.
fn trusted_root(text: &str) -> Result<(u64, Hash)> {
    let (height, root) = text
        .split_once(':')
        .ok_or_else(|| anyhow::anyhow!("--trust takes HEIGHT:ROOT, e.g. 1200:4f1c…"))?;
    let height = height.parse().context("--trust: the height is not a number")?;
    let root = root.parse().map_err(|e| anyhow::anyhow!("--trust: the root is not a hash: {e}"))?;
    Ok((height, root))
}

/// Runs a bundled ParaTime in this process (the compute node's child); returns its exit code.
pub(crate) fn serve(name: &str, fhe: Option<atoll_fhe::node::NodeOptions>) -> Result<i32> {
    match name {
        "timestamp" => Ok(atoll_runtime_sdk::serve::run(atoll_timestamp::runtime())),
        "evm" => {
            let config = atoll_evm::EvmConfig {
                chain_id: atoll_evm::DEFAULT_CHAIN_ID,
                genesis_balances: Vec::new(),
            };
            Ok(atoll_runtime_sdk::serve::run(atoll_evm::runtime(config)))
        }
        "fhe" => {
            let options = fhe.ok_or_else(|| anyhow::anyhow!("the FHE ParaTime needs --setup"))?;
            let config = atoll_fhe::node::prepare(&options).map_err(|e| anyhow::anyhow!(e))?;
            Ok(atoll_runtime_sdk::serve::run(atoll_fhe::runtime(config)))
        }
        other => bail!("no bundled ParaTime {other:?} (bundled: timestamp, evm, fhe)"),
    }
}

/// Runs a runtime query on a node that runs the ParaTime: the round that answered and the
/// decoded answer.
pub(crate) async fn query<T: borsh::BorshDeserialize>(
    client: &Client,
    runtime: &RuntimeId,
    method: &str,
    args: &impl borsh::BorshSerialize,
) -> Result<(u64, T)> {
    let answer = client.runtime_query(runtime, method, &atoll_types::encode(args)).await?;
    let bytes = hex::decode(&answer.result).context("query result is not hex")?;
    // Room for the largest answers: an FHE slot's ciphertext (up to 1 MiB) with its proof,
    // which holds the value again.
    let value = atoll_types::decode(&bytes, 8 << 20).context("decoding the query result")?;
    Ok((answer.round, value))
}

/// An account's next nonce inside the ParaTime.
pub(crate) async fn runtime_nonce(
    client: &Client,
    runtime: &RuntimeId,
    signer: &dyn Signer,
) -> Result<u64> {
    let sender = Address::from_public_key(&signer.public_key());
    Ok(query::<u64>(client, runtime, accounts::NONCE, &sender).await?.1)
}

/// A runtime transaction signed by `signer` with `nonce`, encoded for submission.
pub(crate) fn signed_runtime_tx<B: borsh::BorshSerialize>(
    signer: &dyn Signer,
    chain: &atoll_types::ChainContext,
    runtime: &RuntimeId,
    (method, body): (&str, &B),
    nonce: u64,
    fee: Fee,
) -> Vec<u8> {
    let tx = Transaction::new(
        method,
        body,
        vec![SignerInfo { public_key: signer.public_key(), nonce }],
        fee,
    );
    atoll_types::encode(&tx.sign(&[signer], &runtime_chain_context(chain, runtime)))
}

fn show_runtime_tx(
    out: Output,
    status: &RuntimeTxStatus,
    denomination: Denomination<'_>,
) -> Result<()> {
    let mut value = serde_json::to_value(status)?;
    // Each known event also as JSON fields (`decoded`), beside its hex.
    if let (Some(events), Some(outcome)) =
        (value["outcome"]["events"].as_array_mut(), status.outcome.as_ref())
    {
        for (json, event) in events.iter_mut().zip(&outcome.events) {
            json["decoded"] = runtime_events::decode(event).unwrap_or(serde_json::Value::Null);
        }
    }
    out.show(&value, |_| {
        let mut lines = vec![format!("runtime transaction {}", status.hash)];
        match (&status.round, &status.outcome) {
            (Some(round), Some(outcome)) => {
                lines.push(format!("  finalized in round {round}"));
                match &outcome.error {
                    None => lines.push(format!("  result: ok (gas used {})", outcome.gas_used)),
                    Some(e) => lines.push(format!(
                        "  result: FAILED ({} error {}): {}",
                        e.module, e.code, e.message
                    )),
                }
                for event in &outcome.events {
                    lines.push(format!(
                        "  event: {}",
                        runtime_events::describe(event, denomination)
                    ));
                }
            }
            _ => lines.push(format!("  status: {}", status.status)),
        }
        lines.join("\n")
    });
    match status.outcome.as_ref().and_then(|o| o.error.as_ref()) {
        Some(e) => {
            bail!("runtime transaction failed: {} error {}: {}", e.module, e.code, e.message)
        }
        None => Ok(()),
    }
}

/// Signs and submits a runtime transaction, then waits for its round unless told not to.
async fn send_runtime<B: borsh::BorshSerialize>(
    cx: &Session<'_>,
    args: &RuntimeTxArgs,
    method: &str,
    body: &B,
) -> Result<RuntimeTxStatus> {
    let key = crate::wallet::load(cx.keys_dir, &args.from)?;
    let fee = Fee { amount: Amount::new(args.fee), gas: args.gas };
    let wait = (!args.no_wait).then_some(Duration::from_secs(args.timeout));
    send_signed(cx, &args.runtime.id()?, (&key, None), fee, wait, (method, body)).await
}

/// Signs a call with `key` and `nonce` (default: its next nonce in `runtime`) and submits
/// it; waits up to `wait` for its round (`None`: returns once the node accepted it). Shows
/// the outcome.
pub(crate) async fn send_signed<B: borsh::BorshSerialize>(
    cx: &Session<'_>,
    runtime: &RuntimeId,
    (key, nonce): (&dyn Signer, Option<u64>),
    fee: Fee,
    wait: Option<Duration>,
    (method, body): (&str, &B),
) -> Result<RuntimeTxStatus> {
    let nonce = match nonce {
        Some(nonce) => nonce,
        None => runtime_nonce(&cx.client, runtime, key).await?,
    };
    let raw = signed_runtime_tx(key, &cx.chain, runtime, (method, body), nonce, fee);
    let hash = cx.client.submit_runtime_tx(runtime, &raw).await?;
    let Some(wait) = wait else {
        let status = RuntimeTxStatus { hash, status: "pending".into(), round: None, outcome: None };
        show_runtime_tx(cx.out, &status, cx.denomination())?;
        return Ok(status);
    };
    let bar = chain::spinner(cx.out, format!("waiting for a round to finalize {hash}"));
    let status = cx.client.wait_for_runtime_tx(runtime, &hash, wait).await;
    bar.finish_and_clear();
    let status = status?;
    show_runtime_tx(cx.out, &status, cx.denomination())?;
    Ok(status)
}

/// Runs a `paratime` command.
pub(crate) async fn paratime(
    node: &NodeArgs,
    keys_dir: &std::path::Path,
    out: Output,
    command: ParatimeCommand,
) -> Result<()> {
    let cx = chain::connect(node, keys_dir, out).await?;
    match command {
        ParatimeCommand::Deposit { tx, runtime, amount, to } => {
            let to = match to.as_deref() {
                Some(text) => Some(runtime_account(&cx, text)?),
                None => None,
            };
            let body = SubmitMsg { runtime: runtime.id()?, amount: cx.amount(&amount)?, to };
            chain::send(&cx, &tx, SUBMIT_MSG, &body).await
        }
        ParatimeCommand::Withdraw { tx, amount, to } => {
            let to = match to {
                Some(to) => cx.address(&to)?,
                None => cx.address(&tx.from)?,
            };
            let body = consensus_accounts::Withdraw { to, amount: cx.amount(&amount)? };
            send_runtime(&cx, &tx, consensus_accounts::WITHDRAW, &body).await.map(drop)
        }
        ParatimeCommand::Balance { who, runtime } => {
            let (runtime, address) = (runtime.id()?, cx.address(&who)?);
            let (round, balance): (u64, Amount) =
                query(&cx.client, &runtime, accounts::BALANCE, &address).await?;
            let (_, nonce): (u64, u64) =
                query(&cx.client, &runtime, accounts::NONCE, &address).await?;
            let shown = chain::tokens(balance, cx.exponent, &cx.symbol);
            out.show(
                &json!({ "address": address, "round": round, "balance": shown,
                    "balance_base_units": balance.base_units().to_string(), "nonce": nonce }),
                |_| format!("{address} in ParaTime {runtime} at round {round}\n  balance: {shown}\n  nonce: {nonce}"),
            );
            Ok(())
        }
        ParatimeCommand::Status { runtime } => {
            let runtime = runtime.id()?;
            let summary = cx.client.roothash(&runtime, Default::default()).await?;
            let block = cx.client.runtime_latest_block(&runtime, Default::default()).await?.value;
            let s = &summary.value;
            out.show(&json!({ "height": summary.height, "roothash": s, "block": block }), |_| {
                format!(
                    "ParaTime {runtime} at consensus height {}\n  round: {} ({})\n  state root: {}\n  time: {}",
                    summary.height, s.round, s.header_type, block.state_root, utc(block.timestamp)
                )
            });
            Ok(())
        }
        ParatimeCommand::Tx { hash, runtime } => {
            let hash: Hash = hash.parse().with_context(|| format!("hash {hash:?}"))?;
            let status = cx.client.runtime_transaction(&runtime.id()?, &hash).await?;
            show_runtime_tx(out, &status, cx.denomination())
        }
        ParatimeCommand::Serve { .. } => bail!("`paratime serve` is started by a compute node"),
    }
}

/// Runs a `timestamp` command.
pub(crate) async fn timestamp(
    node: &NodeArgs,
    keys_dir: &std::path::Path,
    out: Output,
    command: TimestampCommand,
) -> Result<()> {
    let cx = chain::connect(node, keys_dir, out).await?;
    match command {
        TimestampCommand::Anchor { tx, document, metadata } => {
            let document = document.hash()?;
            out.show(&json!({ "document": document }), |_| {
                format!("anchoring document {document}")
            });
            send_runtime(&cx, &tx, atoll_timestamp::ANCHOR, &Anchor { document, metadata })
                .await
                .map(drop)
        }
        TimestampCommand::Get { document, runtime, trust } => {
            let (runtime, document) = (runtime.id()?, document.hash()?);
            let trust = trust.as_deref().map(trusted_root).transpose()?;
            let (round, answer): (u64, GetResult) =
                query(&cx.client, &runtime, atoll_timestamp::GET, &Get { document }).await?;
            let block = match trust {
                None => cx.client.runtime_block(&runtime, round, Default::default()).await?.value,
                Some((height, root)) => {
                    let proven = StateQuery { height: Some(height), proof: Some(true) };
                    let response = cx.client.runtime_block(&runtime, round, proven).await?;
                    atoll_client::verify(&response, &root, |state| {
                        atoll_consensus::roothash::block(state, &runtime, Round(round))?.ok_or(
                            StateError::Corrupt {
                                key: format!("runtime block {round}"),
                                reason: format!("not committed at height {height}"),
                            },
                        )
                    })
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "round {round}'s runtime block does not verify against the trusted \
                             root at height {height} (a later trusted height may be needed): {e}"
                        )
                    })?;
                    response.value
                }
            };
            let proven = atoll_mkvs::verify_key(&block.state_root, &answer.key, &answer.proof)
                .map_err(|e| anyhow::anyhow!("the node's proof does not verify: {e}"))?;
            let expected = answer.record.as_ref().map(atoll_types::encode);
            if proven != expected {
                bail!(
                    "the node's answer does not match its proof against round {round}'s state root"
                );
            }
            let value = json!({
                "document": document,
                "anchored": answer.record.is_some(),
                "round": answer.record.as_ref().map(|r| r.round.0),
                "time": answer.record.as_ref().map(|r| r.time),
                "owner": answer.record.as_ref().map(|r| r.owner.to_string()),
                "metadata": answer.record.as_ref().and_then(|r| r.metadata.clone()),
                "proven_at_round": round,
                "state_root": block.state_root,
                "trusted_height": trust.map(|(height, _)| height),
            });
            let anchor = match trust {
                Some((height, root)) => {
                    format!("the trusted consensus root {root} at height {height}")
                }
                None => "this node's own consensus state (pass --trust HEIGHT:ROOT from a node \
                         you run to check it independently)"
                    .to_owned(),
            };
            out.show(&value, |_| match &answer.record {
                Some(r) => format!(
                    "document {document}\n  anchored in round {} at {} by {}\n  metadata: {}\n  proven against round {round}'s state root {}, itself taken from {anchor}",
                    r.round.0,
                    utc(r.time),
                    r.owner,
                    r.metadata.as_deref().unwrap_or("-"),
                    block.state_root
                ),
                None => format!(
                    "document {document} is not anchored (absence proven against round {round}'s state root {}, itself taken from {anchor})",
                    block.state_root
                ),
            });
            Ok(())
        }
    }
}

/// A ParaTime account: a `0x…` Ethereum address (of an EVM ParaTime), or whatever names a
/// consensus account (key name, `atoll1…`).
fn runtime_account(cx: &chain::Session<'_>, text: &str) -> Result<atoll_types::Address> {
    if let Some(hex_digits) = text.strip_prefix("0x") {
        let bytes = hex::decode(hex_digits).with_context(|| format!("address {text:?}"))?;
        let eth: [u8; 20] = bytes
            .try_into()
            .map_err(|_| anyhow::anyhow!("an Ethereum address has 20 bytes: {text:?}"))?;
        return Ok(atoll_types::Address::from_eth(eth));
    }
    cx.address(text)
}
