//! `atoll fhe …`: the FHE ParaTime from the key holder's and the caller's side. A key holder
//! generates a key set (`keygen`: the client key and the key set stay in the keys
//! directory), registers it (`register` uploads the key set to the node, from which the
//! compute nodes fetch it), deploys a demo program over it and
//! decrypts what the contract reveals; callers encrypt their inputs to the contract's public
//! key with a proof bound to their transaction (`call`). Nothing here trusts the node with a
//! secret: encryption and decryption happen in this process.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use atoll_fhe::cipher::{prove_inputs, Cipher};
use atoll_fhe::keys::{decode_client_key, decode_public_key, encode_client_key, generate};
use atoll_fhe::module::calls::*;
use atoll_fhe::module::input_metadata;
use atoll_fhe::program::{Program, Ty};
use atoll_fhe::setup::ProofSetup;
use atoll_runtime_sdk::transaction::runtime_chain_context;
use atoll_runtime_sdk::Fee;
use atoll_types::{Address, Amount, Hash, RuntimeId, Signer};
use clap::{Args, Subcommand, ValueEnum};
use rand_core::RngCore;
use serde_json::json;

use crate::chain::{self, NodeArgs, Session};
use crate::output::Output;
use crate::paratime::{query, runtime_nonce, send_signed};

/// Transaction size gas of the FHE ParaTime (`core_parameters`): base plus one per byte,
/// with room for the signature and encoding around the call.
pub(crate) fn size_gas(body_len: usize) -> u64 {
    let params = atoll_fhe::core_parameters();
    params.tx_base_gas + params.tx_byte_gas * (body_len as u64 + 512)
}

/// Options of every FHE transaction.
#[derive(Args, Clone)]
pub(crate) struct FheTxArgs {
    /// The signing key: a name in the keys directory, or a key file path.
    #[arg(long)]
    from: String,
    /// The FHE ParaTime's runtime id (default: the bundled one's).
    #[arg(long)]
    runtime: Option<String>,
    /// Gas limit (default: what the call costs); the fee is one base unit per gas.
    #[arg(long)]
    gas: Option<u64>,
    /// How long to wait for the round, in seconds.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
}

/// Where the proof setup is.
#[derive(Args, Clone)]
pub(crate) struct SetupArg {
    /// The ParaTime's proof setup file (the devnet writes it to `<dir>/fhe/setup.crs`).
    #[arg(long, env = "ATOLL_FHE_SETUP")]
    setup: PathBuf,
}

/// Which ParaTime.
#[derive(Args, Clone)]
pub(crate) struct FheRuntimeArg {
    /// The FHE ParaTime's runtime id (default: the bundled one's).
    #[arg(long)]
    runtime: Option<String>,
}

pub(crate) fn runtime_id(text: Option<&str>) -> Result<RuntimeId> {
    match text {
        Some(text) => text.parse().with_context(|| format!("runtime id {text:?}")),
        None => Ok(atoll_fhe::runtime_id()),
    }
}

/// A demo program.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub(crate) enum Demo {
    /// A private vote: `vote` (one encrypted ballot per account), `close` (owner: reveals
    /// each candidate's tally, label = candidate).
    Vote,
    /// A sealed-bid auction: `bid` (one encrypted u32 bid per account), `close` (owner:
    /// reveals the highest bid, label 0, and the winner's tag, label 1).
    Auction,
    /// A confidential token audited by the key holder: `mint` (owner) and `transfer` (an
    /// encrypted u32 amount to `--account`), `audit` (owner: reveals `--account`'s
    /// balance, label 0).
    Token,
}

/// `atoll fhe …`
#[derive(Subcommand)]
pub(crate) enum FheCommand {
    /// Derive an INSECURE proof setup from a public seed (devnets and tests: whoever knows
    /// the seed can forge input proofs) and write it to a file; prints its id.
    Setup {
        /// The public seed.
        #[arg(long)]
        insecure_seed: String,
        /// The file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Generate a key set: the client key (which decrypts everything encrypted to the key
    /// set) stays in the keys directory (`fhe/<id>.client`), beside the key set for the
    /// compute nodes (`fhe/<id>.keyset`, which `register` uploads). Prints its id.
    Keygen {
        /// Also write the key set to this directory (compute nodes started with
        /// `--key-sets <dir>` read it from there).
        #[arg(long, env = "ATOLL_FHE_KEY_SETS")]
        key_sets: Option<PathBuf>,
    },
    /// Register a key set generated here: uploads the key set to the node (the other
    /// compute nodes fetch it from there by its id), then puts its id and public key on
    /// chain.
    Register {
        #[command(flatten)]
        tx: FheTxArgs,
        /// The key set's id.
        #[arg(long)]
        key_set: String,
    },
    /// Deploy a demo program over a registered key set; prints the contract id.
    Deploy {
        #[command(flatten)]
        tx: FheTxArgs,
        /// The key set whose holder can decrypt the contract's state.
        #[arg(long)]
        key_set: String,
        /// The program.
        #[arg(value_enum)]
        program: Demo,
        /// Candidates of a vote (2 to 8).
        #[arg(long, default_value_t = 2)]
        candidates: u8,
    },
    /// Call a contract function with inputs encrypted here, proven and bound to this
    /// transaction.
    Call {
        #[command(flatten)]
        tx: FheTxArgs,
        #[command(flatten)]
        setup: SetupArg,
        /// The contract.
        #[arg(long)]
        contract: u64,
        /// The function.
        #[arg(long)]
        function: String,
        /// An input as TYPE:VALUE (`bool`, `u8`, `u16`, `u32`, `u64`), encrypted before it
        /// leaves this machine; repeat in the function's order.
        #[arg(long = "input")]
        inputs: Vec<String>,
        /// An account argument (key name or `atoll1…` address); repeat in order.
        #[arg(long = "account")]
        accounts: Vec<String>,
    },
    /// The latest value a contract revealed under a label, decrypted with the client key
    /// if it is in the keys directory (or was published).
    Reveal {
        #[command(flatten)]
        runtime: FheRuntimeArg,
        /// The contract.
        #[arg(long)]
        contract: u64,
        /// The label.
        #[arg(long)]
        label: u16,
    },
    /// Publish the plaintext of a revealed value (contract owner; default: decrypted here).
    Publish {
        #[command(flatten)]
        tx: FheTxArgs,
        /// The contract.
        #[arg(long)]
        contract: u64,
        /// The label.
        #[arg(long)]
        label: u16,
        /// The plaintext (default: the reveal decrypted with the local client key).
        #[arg(long)]
        value: Option<u64>,
    },
    /// Publish a key set's client key, so anyone can check everything computed under it
    /// (and read every input).
    PublishKey {
        #[command(flatten)]
        tx: FheTxArgs,
        /// The key set.
        #[arg(long)]
        key_set: String,
    },
    /// Load: a token over your key set, then many encrypted transfers at once; reports
    /// finalized transfers per second and latency.
    Bench(crate::fhe_bench::BenchArgs),
    /// A contract state slot's ciphertext, decrypted if the client key is here.
    Value {
        #[command(flatten)]
        runtime: FheRuntimeArg,
        /// The contract.
        #[arg(long)]
        contract: u64,
        /// The slot.
        #[arg(long)]
        slot: u16,
        /// For a per-account slot: the account (key name or `atoll1…`).
        #[arg(long)]
        account: Option<String>,
    },
}

/// Where the key holder keeps a key set's client and public keys.
fn key_path(keys_dir: &Path, id: &Hash, kind: &str) -> PathBuf {
    keys_dir.join("fhe").join(format!("{id}.{kind}"))
}

/// Writes `bytes` to a new owner-only file.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(bytes).with_context(|| format!("writing {}", path.display()))
}

fn parse_hash(text: &str) -> Result<Hash> {
    text.parse().map_err(|e| anyhow!("{text:?} is not a key set id: {e}"))
}

fn parse_input(text: &str) -> Result<(Ty, u64)> {
    let (ty, value) =
        text.split_once(':').ok_or_else(|| anyhow!("an input is TYPE:VALUE, got {text:?}"))?;
    let ty = match ty {
        "bool" => Ty::Bool,
        "u8" => Ty::U8,
        "u16" => Ty::U16,
        "u32" => Ty::U32,
        "u64" => Ty::U64,
        other => bail!("unknown input type {other:?} (bool, u8, u16, u32, u64)"),
    };
    let value: u64 = match (ty, value) {
        (Ty::Bool, "true") => 1,
        (Ty::Bool, "false") => 0,
        _ => value.parse().with_context(|| format!("input value {value:?}"))?,
    };
    if value > ty.max() {
        bail!("{value} does not fit {ty:?}");
    }
    Ok((ty, value))
}

/// The client key for `key_set`: the local one, else the one its holder published.
async fn client_key(
    cx: &Session<'_>,
    runtime: &RuntimeId,
    key_set: &Hash,
) -> Result<Option<(atoll_fhe::keys::ClientKey, &'static str)>> {
    let path = key_path(cx.keys_dir, key_set, "client");
    if path.exists() {
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        return Ok(Some((decode_client_key(&bytes)?, "the local client key")));
    }
    let (_, record): (u64, Option<KeySetRecord>) =
        query(&cx.client, runtime, QUERY_KEY_SET, &KeySetQuery { id: *key_set }).await?;
    match record.and_then(|r| r.published_client_key) {
        Some(bytes) => Ok(Some((decode_client_key(&bytes)?, "the published client key"))),
        None => Ok(None),
    }
}

pub(crate) async fn contract(
    cx: &Session<'_>,
    runtime: &RuntimeId,
    contract: u64,
) -> Result<ContractRecord> {
    let (_, record): (u64, Option<ContractRecord>) =
        query(&cx.client, runtime, QUERY_CONTRACT, &ContractQuery { contract }).await?;
    record.ok_or_else(|| anyhow!("no contract {contract}"))
}

/// The latest reveal of `contract` under `label` (and the round that answered), decrypted
/// if a client key for its key set is here or published (with which one).
async fn decrypt_reveal(
    cx: &Session<'_>,
    runtime: &RuntimeId,
    id: u64,
    label: u16,
) -> Result<(u64, RevealRecord, Option<(u64, &'static str)>)> {
    let record = contract(cx, runtime, id).await?;
    let (round, reveal): (u64, Option<RevealRecord>) =
        query(&cx.client, runtime, QUERY_REVEALED, &RevealedQuery { contract: id, label }).await?;
    let reveal =
        reveal.ok_or_else(|| anyhow!("contract {id} revealed nothing under label {label}"))?;
    let decrypted = match client_key(cx, runtime, &record.key_set).await? {
        Some((key, how)) => Some((Cipher::decode(&reveal.ciphertext)?.decrypt(&key), how)),
        None => None,
    };
    Ok((round, reveal, decrypted))
}

/// Signs, submits and waits for an FHE transaction; its outcome's output.
async fn send<B: borsh::BorshSerialize>(
    cx: &Session<'_>,
    tx: &FheTxArgs,
    nonce: Option<u64>,
    gas: u64,
    (method, body): (&str, &B),
) -> Result<Vec<u8>> {
    let runtime = runtime_id(tx.runtime.as_deref())?;
    let key = crate::wallet::load(cx.keys_dir, &tx.from)?;
    let gas = tx.gas.unwrap_or(gas + size_gas(atoll_types::encode(body).len()));
    let fee = Fee { amount: Amount::new(u128::from(gas)), gas };
    let wait = Some(Duration::from_secs(tx.timeout));
    let status = send_signed(cx, &runtime, (&key, nonce), fee, wait, (method, body)).await?;
    let output = status.outcome.map(|o| o.output).unwrap_or_default();
    hex::decode(&output).context("the call's output is not hex")
}

fn demo(program: Demo, candidates: u8) -> Result<Program> {
    Ok(match program {
        Demo::Vote => {
            if !(2..=atoll_fhe::demos::MAX_CANDIDATES).contains(&candidates) {
                bail!("a vote has 2 to {} candidates", atoll_fhe::demos::MAX_CANDIDATES);
            }
            atoll_fhe::demos::vote(candidates)
        }
        Demo::Auction => atoll_fhe::demos::auction(),
        Demo::Token => atoll_fhe::demos::token(),
    })
}

/// Runs an `atoll fhe` command.
pub(crate) async fn run(
    node: &NodeArgs,
    keys_dir: &Path,
    out: Output,
    command: FheCommand,
) -> Result<()> {
    match command {
        FheCommand::Setup { insecure_seed, out: path } => {
            let setup = ProofSetup::insecure_from_seed(insecure_seed.as_bytes())?;
            std::fs::write(&path, setup.to_bytes()?)
                .with_context(|| format!("writing {}", path.display()))?;
            out.show(&json!({ "setup": setup.id, "file": path, "insecure": true }), |_| {
                format!("INSECURE proof setup {} written to {}", setup.id, path.display())
            });
            return Ok(());
        }
        FheCommand::Keygen { key_sets } => {
            let mut seed = [0u8; 32];
            rand_core::OsRng.fill_bytes(&mut seed);
            let generated = generate(seed)?;
            let id = atoll_fhe::keys::key_set_id(&generated.key_set);
            let file = key_path(keys_dir, &id, "keyset");
            write_private(&file, &generated.key_set)?;
            if let Some(dir) = &key_sets {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
                let copy = atoll_fhe::module::keysets::Directory::new(dir).path(&id);
                std::fs::write(&copy, &generated.key_set)
                    .with_context(|| format!("writing {}", copy.display()))?;
            }
            write_private(
                &key_path(keys_dir, &id, "client"),
                &encode_client_key(&generated.client)?,
            )?;
            write_private(&key_path(keys_dir, &id, "public"), &generated.public_key)?;
            out.show(
                &json!({ "key_set": id, "key_set_file": file, "key_set_bytes": generated.key_set.len(),
                    "client_key": key_path(keys_dir, &id, "client") }),
                |_| {
                    format!(
                        "key set {id}\n  key set ({} MB) for compute nodes: {}\n  client key (keep it: it decrypts everything encrypted to this key set): {}",
                        generated.key_set.len() >> 20,
                        file.display(),
                        key_path(keys_dir, &id, "client").display()
                    )
                },
            );
            return Ok(());
        }
        _ => {}
    }
    let cx = chain::connect(node, keys_dir, out).await?;
    match command {
        FheCommand::Setup { .. } | FheCommand::Keygen { .. } => Ok(()),
        FheCommand::Bench(args) => crate::fhe_bench::run(&cx, args).await,
        FheCommand::Register { tx, key_set } => {
            let id = parse_hash(&key_set)?;
            let path = key_path(keys_dir, &id, "public");
            let public_key =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            let path = key_path(keys_dir, &id, "keyset");
            let bytes =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            let runtime = runtime_id(tx.runtime.as_deref())?;
            let stored = cx
                .client
                .put_blob(&runtime, bytes)
                .await
                .context("uploading the key set to the node")?;
            if stored.id != id {
                bail!("the node stored the key set as {}, not {id}", stored.id);
            }
            send(
                &cx,
                &tx,
                None,
                atoll_fhe::gas::KEY_SET,
                (REGISTER_KEY_SET, &RegisterKeySet { id, public_key }),
            )
            .await
            .map(drop)
        }
        FheCommand::Deploy { tx, key_set, program, candidates } => {
            let body =
                Deploy { key_set: parse_hash(&key_set)?, program: demo(program, candidates)? };
            let output = send(&cx, &tx, None, atoll_fhe::gas::DEPLOY, (DEPLOY, &body)).await?;
            let contract: u64 = atoll_types::decode(&output, 8).context("the contract id")?;
            out.show(&json!({ "contract": contract }), |_| format!("contract {contract}"));
            Ok(())
        }
        FheCommand::Call { tx, setup, contract: id, function, inputs, accounts } => {
            let runtime = runtime_id(tx.runtime.as_deref())?;
            let record = contract(&cx, &runtime, id).await?;
            let (index, declared) = record
                .program
                .function(&function)
                .ok_or_else(|| anyhow!("contract {id} has no function {function:?}"))?;
            let values = inputs.iter().map(|i| parse_input(i)).collect::<Result<Vec<_>>>()?;
            let types: Vec<Ty> = values.iter().map(|(ty, _)| *ty).collect();
            if types != declared.inputs {
                bail!("{function} takes inputs {:?}, given {types:?}", declared.inputs);
            }
            let accounts =
                accounts.iter().map(|a| cx.address(a)).collect::<Result<Vec<Address>>>()?;
            let key = crate::wallet::load(cx.keys_dir, &tx.from)?;
            let nonce = runtime_nonce(&cx.client, &runtime, &key).await?;
            let encrypted = if values.is_empty() {
                Vec::new()
            } else {
                let (_, key_set): (u64, Option<KeySetRecord>) =
                    query(&cx.client, &runtime, QUERY_KEY_SET, &KeySetQuery { id: record.key_set })
                        .await?;
                let key_set =
                    key_set.ok_or_else(|| anyhow!("key set {} is gone", record.key_set))?;
                let public = decode_public_key(&key_set.public_key)?;
                let bytes = std::fs::read(&setup.setup)
                    .with_context(|| format!("reading {}", setup.setup.display()))?;
                let crs = ProofSetup::from_bytes(&bytes)?;
                let sender = Address::from_public_key(&key.public_key());
                let chain = runtime_chain_context(&cx.chain, &runtime);
                let metadata = input_metadata(&chain, id, &sender, nonce);
                prove_inputs(&public, &crs.crs, &metadata, &values)?
            };
            let gas = record.gas.get(index).copied().unwrap_or_default();
            let body = Call { contract: id, function, accounts, inputs: encrypted };
            send(&cx, &tx, Some(nonce), gas, (CALL, &body)).await.map(drop)
        }
        FheCommand::Reveal { runtime, contract: id, label } => {
            let runtime = runtime_id(runtime.runtime.as_deref())?;
            let (round, reveal, decrypted) = decrypt_reveal(&cx, &runtime, id, label).await?;
            out.show(
                &json!({ "contract": id, "label": label, "revealed_in_round": reveal.round.0,
                    "value": decrypted.map(|d| d.0), "decrypted_with": decrypted.map(|d| d.1),
                    "published": reveal.published, "ciphertext_bytes": reveal.ciphertext.len(),
                    "queried_round": round }),
                |_| {
                    let value = match decrypted {
                        Some((v, how)) => format!("{v} (decrypted with {how})"),
                        None => "encrypted (no client key here, none published)".into(),
                    };
                    let published =
                        reveal.published.map_or_else(|| "nothing".to_owned(), |v| v.to_string());
                    format!(
                        "contract {id}, label {label}, revealed in round {}\n  value: {value}\n  published by the owner: {published}",
                        reveal.round.0
                    )
                },
            );
            Ok(())
        }
        FheCommand::Publish { tx, contract: id, label, value } => {
            let value = match value {
                Some(v) => v,
                None => {
                    let runtime = runtime_id(tx.runtime.as_deref())?;
                    let (_, _, decrypted) = decrypt_reveal(&cx, &runtime, id, label).await?;
                    decrypted.map(|(v, _)| v).ok_or_else(|| {
                        anyhow!("no client key here for contract {id}'s key set, none published")
                    })?
                }
            };
            let body = Publish { contract: id, label, value };
            send(&cx, &tx, None, atoll_fhe::gas::PUBLISH, (PUBLISH, &body)).await.map(drop)
        }
        FheCommand::PublishKey { tx, key_set } => {
            let id = parse_hash(&key_set)?;
            let path = key_path(keys_dir, &id, "client");
            let client_key =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            let body = PublishKey { key_set: id, client_key };
            send(&cx, &tx, None, atoll_fhe::gas::PUBLISH_KEY, (PUBLISH_KEY, &body)).await.map(drop)
        }
        FheCommand::Value { runtime, contract: id, slot, account } => {
            let runtime = runtime_id(runtime.runtime.as_deref())?;
            let record = contract(&cx, &runtime, id).await?;
            let account = account.as_deref().map(|a| cx.address(a)).transpose()?;
            let (round, value): (u64, ValueResult) = query(
                &cx.client,
                &runtime,
                QUERY_VALUE,
                &ValueQuery { contract: id, slot, account },
            )
            .await?;
            let decrypted =
                match (&value.ciphertext, client_key(&cx, &runtime, &record.key_set).await?) {
                    (Some(ct), Some((key, _))) => Some(Cipher::decode(ct)?.decrypt(&key)),
                    _ => None,
                };
            out.show(
                &json!({ "contract": id, "slot": slot, "round": round,
                    "stored": value.ciphertext.is_some(),
                    "ciphertext_bytes": value.ciphertext.as_ref().map(Vec::len),
                    "value": decrypted }),
                |_| match (&value.ciphertext, decrypted) {
                    (None, _) => format!("contract {id}, slot {slot}: never written (reads as 0)"),
                    (Some(ct), Some(v)) => {
                        format!(
                            "contract {id}, slot {slot}: {v} ({} bytes of ciphertext)",
                            ct.len()
                        )
                    }
                    (Some(ct), None) => format!(
                        "contract {id}, slot {slot}: {} bytes of ciphertext (no client key here)",
                        ct.len()
                    ),
                },
            );
            Ok(())
        }
    }
}
