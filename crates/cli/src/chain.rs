//! `atoll tx …` and `atoll query …`: the wallet's side of the node API. Amounts are read
//! and shown in tokens ("1.5"); the nonce and the gas come from the node.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use atoll_client::model::{StateQuery, TransactionResponse};
use atoll_client::tx::SendOptions;
use atoll_client::Client;
use atoll_consensus::governance::{self, CastVote, ProposalContent, SubmitProposal, Upgrade, Vote};
use atoll_consensus::registry::{self, types::roles, RegisterEntity, RegisterNode};
use atoll_consensus::staking::commission::{
    CommissionRateBoundStep, CommissionRateStep, CommissionSchedule,
};
use atoll_consensus::staking::methods::{
    self, AddEscrow, Allow, AmendCommissionSchedule, Burn, ReclaimEscrow, Transfer, Withdraw,
};
use atoll_consensus::staking::Shares;
use atoll_types::{Address, Amount, Epoch, Hash, MultiSigned, Signer};
use clap::{Args, Subcommand};
use serde_json::json;

use crate::output::{utc, Output};

/// Where the node is and how to print.
#[derive(Args, Clone)]
pub(crate) struct NodeArgs {
    /// The node's API (`host:port` or URL).
    #[arg(long = "api", env = "ATOLL_API", default_value = "127.0.0.1:26657", global = true)]
    pub api: String,
}

/// Options of every transaction.
#[derive(Args, Clone)]
pub(crate) struct TxArgs {
    /// The signing key: a name in the keys directory, or a key file path.
    #[arg(long)]
    pub from: String,
    /// Gas price in base units per gas unit.
    #[arg(long, default_value_t = 0)]
    gas_price: u128,
    /// Gas limit (default: the node's estimate).
    #[arg(long)]
    gas: Option<u64>,
    /// Nonce (default: the account's next one).
    #[arg(long)]
    nonce: Option<u64>,
    /// Return once the node admitted the transaction, without waiting for a block.
    #[arg(long)]
    no_wait: bool,
    /// How long to wait for inclusion, in seconds.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
}

/// Transactions.
#[derive(Subcommand)]
pub(crate) enum TxCommand {
    /// Send tokens.
    Transfer {
        #[command(flatten)]
        tx: TxArgs,
        /// Recipient address.
        #[arg(long)]
        to: String,
        /// Amount in tokens, e.g. 1.5.
        #[arg(long)]
        amount: String,
    },
    /// Destroy tokens.
    Burn {
        #[command(flatten)]
        tx: TxArgs,
        /// Amount in tokens.
        #[arg(long)]
        amount: String,
    },
    /// Raise (or with --decrease lower) what a beneficiary may withdraw from you.
    Allow {
        #[command(flatten)]
        tx: TxArgs,
        /// Who may withdraw.
        #[arg(long)]
        beneficiary: String,
        /// By how much, in tokens.
        #[arg(long)]
        amount: String,
        /// Lower the allowance instead.
        #[arg(long)]
        decrease: bool,
    },
    /// Withdraw from an account that allowed you.
    Withdraw {
        #[command(flatten)]
        tx: TxArgs,
        /// The account to withdraw from.
        #[arg(long)]
        owner: String,
        /// Amount in tokens.
        #[arg(long)]
        amount: String,
    },
    /// Delegate tokens to an escrow account.
    Delegate {
        #[command(flatten)]
        tx: TxArgs,
        /// The escrow account (an entity).
        #[arg(long)]
        escrow: String,
        /// Amount in tokens.
        #[arg(long)]
        amount: String,
    },
    /// Undelegate shares; their tokens debond.
    Undelegate {
        #[command(flatten)]
        tx: TxArgs,
        /// The escrow account.
        #[arg(long)]
        escrow: String,
        /// Shares to give up (see `query delegations`).
        #[arg(long)]
        shares: u128,
    },
    /// Change your commission schedule.
    AmendCommission {
        #[command(flatten)]
        tx: TxArgs,
        /// A rate step `START_EPOCH:RATE` (rate in 1/100,000); repeat for several.
        #[arg(long = "rate")]
        rates: Vec<String>,
        /// A bound step `START_EPOCH:MIN:MAX`; repeat for several.
        #[arg(long = "bound")]
        bounds: Vec<String>,
    },
    /// Register (or update) your entity with the nodes it allows.
    RegisterEntity {
        #[command(flatten)]
        tx: TxArgs,
        /// A node id (hex) the entity allows; repeat for several.
        #[arg(long = "node")]
        nodes: Vec<String>,
    },
    /// Register a node from its home directory (signed by its node keys).
    RegisterNode {
        #[command(flatten)]
        tx: TxArgs,
        /// The node's home (its keys/ and config.toml are read).
        #[arg(long)]
        node_home: PathBuf,
        /// Roles: validator, compute, observer (comma-separated).
        #[arg(long, default_value = "validator")]
        roles: String,
        /// Epochs from now the registration stays valid.
        #[arg(long, default_value_t = 10)]
        expiration_epochs: u64,
    },
    /// Propose a network upgrade, cancel one, or change parameters.
    SubmitProposal {
        #[command(flatten)]
        tx: TxArgs,
        /// Deposit in tokens.
        #[arg(long)]
        deposit: String,
        /// Upgrade name.
        #[arg(long, required_unless_present_any = ["cancel", "module"])]
        upgrade: Option<String>,
        /// Upgrade epoch.
        #[arg(long, required_unless_present_any = ["cancel", "module"])]
        epoch: Option<u64>,
        /// Required node version, MAJOR.MINOR.PATCH.
        #[arg(long, required_unless_present_any = ["cancel", "module"])]
        version: Option<String>,
        /// Cancel the upgrade of this proposal instead.
        #[arg(long)]
        cancel: Option<u64>,
        /// Change parameters of this module instead (consensus, staking, registry,
        /// scheduler, governance, roothash) ...
        #[arg(long, requires = "set")]
        module: Option<String>,
        /// ... setting FIELD to a JSON value, e.g. `--set debonding_interval=3`
        /// (repeatable).
        #[arg(long, value_name = "FIELD=JSON")]
        set: Vec<String>,
    },
    /// Vote on a proposal.
    Vote {
        #[command(flatten)]
        tx: TxArgs,
        /// The proposal.
        #[arg(long)]
        proposal: u64,
        /// yes, no or abstain.
        #[arg(long)]
        vote: String,
    },
}

/// Reads.
#[derive(Subcommand)]
pub(crate) enum QueryCommand {
    /// The node's status.
    Status,
    /// The state checkpoints the node serves, and how a new node state-syncs from each.
    Checkpoints,
    /// An account (by address or key name).
    Account {
        /// Address or key name.
        who: String,
        /// At this height.
        #[arg(long)]
        height: Option<u64>,
    },
    /// Delegations made by an account.
    Delegations {
        /// Address or key name.
        who: String,
    },
    /// The validator set.
    Validators,
    /// Registered entities.
    Entities,
    /// Registered nodes.
    Nodes,
    /// Registered runtimes.
    Runtimes,
    /// Governance proposals.
    Proposals,
    /// A block (latest if no height).
    Block {
        /// Its height.
        height: Option<u64>,
    },
    /// A transaction by hash.
    Tx {
        /// Its hash.
        hash: String,
    },
}

pub(crate) fn tokens(amount: Amount, exponent: u8, symbol: &str) -> String {
    match amount.to_decimal(exponent) {
        Ok(text) => format!("{text} {symbol}"),
        Err(_) => format!("{} base units", amount.base_units()),
    }
}

fn address(text: &str, keys_dir: &std::path::Path) -> Result<Address> {
    if text.starts_with("atoll1") {
        return text.parse().with_context(|| format!("address {text:?}"));
    }
    let key = crate::wallet::load(keys_dir, text)?;
    Ok(Address::from_public_key(&key.public_key()))
}

/// A connection to a node, with what the wallet needs to know about its chain.
pub(crate) struct Session<'a> {
    pub client: Client,
    pub chain: atoll_types::ChainContext,
    pub exponent: u8,
    pub symbol: String,
    pub keys_dir: &'a std::path::Path,
    pub out: Output,
}

impl Session<'_> {
    /// How this chain writes amounts.
    pub(crate) fn denomination(&self) -> crate::runtime_events::Denomination<'_> {
        crate::runtime_events::Denomination { exponent: self.exponent, symbol: &self.symbol }
    }

    pub(crate) fn amount(&self, text: &str) -> Result<Amount> {
        Amount::from_decimal(text, self.exponent).with_context(|| format!("amount {text:?}"))
    }

    pub(crate) fn address(&self, text: &str) -> Result<Address> {
        address(text, self.keys_dir)
    }
}

pub(crate) fn spinner(out: Output, message: String) -> indicatif::ProgressBar {
    let bar = if out == Output::Text {
        indicatif::ProgressBar::new_spinner()
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_message(message);
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

fn print_tx(out: Output, hash: &Hash, included: Option<&TransactionResponse>) -> Result<()> {
    let Some(tx) = included else {
        out.show(&json!({ "hash": hash, "status": "submitted" }), |_| {
            format!("submitted {hash} (not waiting for inclusion)")
        });
        return Ok(());
    };
    let result = tx.tx.as_ref().and_then(|t| t.result.clone());
    let value = serde_json::to_value(tx)?;
    out.show(&value, |_| {
        let mut lines =
            vec![format!("transaction {hash}"), format!("  height: {}", tx.height.unwrap_or(0))];
        match &result {
            Some(r) if r.ok => lines.push(format!("  result: ok (gas used {})", r.gas_used)),
            Some(r) => lines.push(format!(
                "  result: FAILED {}",
                r.error.as_ref().map_or(String::new(), |e| format!(
                    "({} error {}): {}",
                    e.module.as_deref().unwrap_or("?"),
                    e.code.unwrap_or(0),
                    e.message
                ))
            )),
            None => lines.push("  result: unknown".into()),
        }
        for event in &tx.events {
            lines.push(format!("  event: {event}"));
        }
        lines.join("\n")
    });
    match result.filter(|r| !r.ok).map(|r| r.error) {
        None => Ok(()),
        Some(None) => bail!("transaction failed in block"),
        Some(Some(e)) => bail!(
            "transaction failed in block: {} error {}: {}",
            e.module.unwrap_or_default(),
            e.code.unwrap_or(0),
            e.message
        ),
    }
}

fn parse_version(text: &str) -> Result<registry::types::Version> {
    let parts: Vec<u16> = text
        .split('.')
        .map(|p| p.parse::<u16>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("version {text:?}"))?;
    let [major, minor, patch] = parts[..] else { bail!("version {text:?}: MAJOR.MINOR.PATCH") };
    Ok(registry::types::Version { major, minor, patch })
}

pub(crate) async fn connect<'a>(
    node: &NodeArgs,
    keys_dir: &'a std::path::Path,
    out: Output,
) -> Result<Session<'a>> {
    let client = Client::new(&node.api)?;
    let info = client.chain(StateQuery::default()).await?.value;
    Ok(Session {
        client,
        chain: info.chain_context,
        exponent: info.token.exponent,
        symbol: info.token.symbol,
        keys_dir,
        out,
    })
}

pub(crate) async fn send<B: borsh::BorshSerialize>(
    cx: &Session<'_>,
    args: &TxArgs,
    method: &str,
    body: &B,
) -> Result<()> {
    let key = crate::wallet::load(cx.keys_dir, &args.from)?;
    let options =
        SendOptions { gas_price: args.gas_price, gas: args.gas, nonce: args.nonce, wait: None };
    let sent = cx.client.send(&key, method, body, options).await?;
    if args.no_wait {
        return print_tx(cx.out, &sent.hash, None);
    }
    let bar = spinner(cx.out, format!("waiting for {} to be included", sent.hash));
    let included =
        cx.client.wait_for_transaction(&sent.hash, Duration::from_secs(args.timeout)).await;
    bar.finish_and_clear();
    print_tx(cx.out, &sent.hash, Some(&included?))
}

/// Runs a `tx` command.
pub(crate) async fn tx(
    node: &NodeArgs,
    keys_dir: &std::path::Path,
    out: Output,
    command: TxCommand,
) -> Result<()> {
    let cx = connect(node, keys_dir, out).await?;
    match command {
        TxCommand::Transfer { tx, to, amount } => {
            let body = Transfer { to: cx.address(&to)?, amount: cx.amount(&amount)? };
            send(&cx, &tx, methods::TRANSFER, &body).await
        }
        TxCommand::Burn { tx, amount } => {
            send(&cx, &tx, methods::BURN, &Burn { amount: cx.amount(&amount)? }).await
        }
        TxCommand::Allow { tx, beneficiary, amount, decrease } => {
            let body = Allow {
                beneficiary: cx.address(&beneficiary)?,
                negative: decrease,
                amount_change: cx.amount(&amount)?,
            };
            send(&cx, &tx, methods::ALLOW, &body).await
        }
        TxCommand::Withdraw { tx, owner, amount } => {
            let body = Withdraw { from: cx.address(&owner)?, amount: cx.amount(&amount)? };
            send(&cx, &tx, methods::WITHDRAW, &body).await
        }
        TxCommand::Delegate { tx, escrow, amount } => {
            let body = AddEscrow { escrow: cx.address(&escrow)?, amount: cx.amount(&amount)? };
            send(&cx, &tx, methods::ADD_ESCROW, &body).await
        }
        TxCommand::Undelegate { tx, escrow, shares } => {
            let body = ReclaimEscrow { escrow: cx.address(&escrow)?, shares: Shares(shares) };
            send(&cx, &tx, methods::RECLAIM_ESCROW, &body).await
        }
        TxCommand::AmendCommission { tx, rates, bounds } => {
            let number = |s: &str| s.parse::<u64>().with_context(|| format!("number {s:?}"));
            let rates = rates
                .iter()
                .map(|r| match r.split(':').collect::<Vec<_>>()[..] {
                    [start, rate] => {
                        Ok(CommissionRateStep { start: Epoch(number(start)?), rate: number(rate)? })
                    }
                    _ => bail!("rate {r:?}: START_EPOCH:RATE"),
                })
                .collect::<Result<Vec<_>>>()?;
            let bounds = bounds
                .iter()
                .map(|b| match b.split(':').collect::<Vec<_>>()[..] {
                    [start, min, max] => Ok(CommissionRateBoundStep {
                        start: Epoch(number(start)?),
                        rate_min: number(min)?,
                        rate_max: number(max)?,
                    }),
                    _ => bail!("bound {b:?}: START_EPOCH:MIN:MAX"),
                })
                .collect::<Result<Vec<_>>>()?;
            let body = AmendCommissionSchedule { amendment: CommissionSchedule { rates, bounds } };
            send(&cx, &tx, methods::AMEND_COMMISSION_SCHEDULE, &body).await
        }
        TxCommand::RegisterEntity { tx, nodes } => {
            let key = crate::wallet::load(keys_dir, &tx.from)?;
            let nodes = nodes
                .iter()
                .map(|n| n.parse().with_context(|| format!("node id {n:?}")))
                .collect::<Result<Vec<_>>>()?;
            let body =
                RegisterEntity { entity: registry::types::Entity { id: key.public_key(), nodes } };
            send(&cx, &tx, registry::REGISTER_ENTITY, &body).await
        }
        TxCommand::RegisterNode { tx, node_home, roles: role_names, expiration_epochs } => {
            let keys = atoll_node::NodeKeys::load(&node_home)?;
            let config = atoll_node::NodeConfig::load(&node_home.join("config.toml"))?;
            let mut role_bits = 0;
            for name in role_names.split(',').map(str::trim) {
                role_bits |= match name {
                    "validator" => roles::VALIDATOR,
                    "compute" => roles::COMPUTE,
                    "observer" => roles::OBSERVER,
                    other => bail!("unknown role {other:?}"),
                };
            }
            let epoch = cx.client.epoch(StateQuery::default()).await?.value.epoch;
            let identity = keys.identity(&config.p2p.external);
            let descriptor = registry::types::Node {
                id: identity.node_id,
                entity_id: identity.entity_id,
                expiration: Epoch(epoch.saturating_add(expiration_epochs)),
                consensus_key: identity.consensus_key,
                p2p_key: identity.p2p_key,
                addresses: vec![identity.address.clone()],
                vrf_key: identity.vrf_key,
                vrf_possession: identity.vrf_possession,
                roles: role_bits,
                runtimes: Vec::new(),
            };
            let signers: [&dyn Signer; 3] = [&keys.identity, &keys.consensus, &keys.p2p];
            let body = RegisterNode { node: MultiSigned::sign(&signers, &cx.chain, &descriptor) };
            send(&cx, &tx, registry::REGISTER_NODE, &body).await
        }
        TxCommand::SubmitProposal { tx, deposit, upgrade, epoch, version, cancel, module, set } => {
            let content = match (cancel, upgrade, epoch, version) {
                _ if module.is_some() => parameter_change(module.as_deref(), &set)?,
                (Some(proposal_id), _, _, _) => ProposalContent::CancelUpgrade { proposal_id },
                (None, Some(name), Some(epoch), Some(version)) => {
                    ProposalContent::Upgrade(Upgrade {
                        name,
                        epoch: Epoch(epoch),
                        version: parse_version(&version)?,
                    })
                }
                _ => bail!("give --upgrade, --epoch and --version, or --cancel"),
            };
            let body = SubmitProposal { content, deposit: cx.amount(&deposit)? };
            send(&cx, &tx, governance::SUBMIT_PROPOSAL, &body).await
        }
        TxCommand::Vote { tx, proposal, vote } => {
            let vote = match vote.as_str() {
                "yes" => Vote::Yes,
                "no" => Vote::No,
                "abstain" => Vote::Abstain,
                other => bail!("vote {other:?}: yes, no or abstain"),
            };
            send(&cx, &tx, governance::CAST_VOTE, &CastVote { proposal_id: proposal, vote }).await
        }
    }
}

/// Runs a `query` command.
pub(crate) async fn query(
    node: &NodeArgs,
    keys_dir: &std::path::Path,
    out: Output,
    command: QueryCommand,
) -> Result<()> {
    let cx = connect(node, keys_dir, out).await?;
    let latest = StateQuery::default();
    let pretty =
        |v: &serde_json::Value| -> String { serde_json::to_string_pretty(v).unwrap_or_default() };
    match command {
        QueryCommand::Checkpoints => {
            let list = cx.client.checkpoints().await?;
            let api = cx.client.base().to_owned();
            out.show(&serde_json::to_value(&list)?, |_| {
                if list.is_empty() {
                    return "no checkpoints yet ([checkpoints] interval in config.toml)".to_owned();
                }
                list.iter()
                    .map(|c| {
                        let how = match c.trust_block_id {
                            Some(id) => format!(
                                "\n  atoll node --home NEW_HOME --state-sync {api} --trust {}:{id}",
                                c.trust_height
                            ),
                            None => {
                                format!("\n  (usable once block {} is committed)", c.trust_height)
                            }
                        };
                        format!(
                            "height {}: state root {}, {} chunks{how}",
                            c.height, c.root, c.chunks
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        QueryCommand::Status => {
            let status = cx.client.status().await?;
            out.show(&serde_json::to_value(&status)?, |_| {
                format!(
                    "chain {} ({})\n  height: {} (epoch {}, round {})\n  validators: {}, peers: {}\n  catching up: {}\n  mempool: {}\n  finality: {}",
                    status.chain_id,
                    status.chain_context,
                    status.height,
                    status.epoch,
                    status.round,
                    status.validators,
                    status.peers.map_or("?".into(), |p| p.to_string()),
                    status.catching_up,
                    status.mempool_size,
                    status.finality.map_or("no transaction submitted here committed yet".into(), |f| {
                        format!(
                            "p50 {} ms, p99 {} ms over the latest {} submitted here",
                            f.p50_ms, f.p99_ms, f.samples
                        )
                    })
                )
            });
        }
        QueryCommand::Account { who, height } => {
            let address = cx.address(&who)?;
            let account = cx.client.account(&address, StateQuery { height, proof: None }).await?;
            let a = &account.value;
            let (e, s) = (cx.exponent, cx.symbol.as_str());
            let value = json!({
                "address": address,
                "height": account.height,
                "balance": tokens(a.general.balance, e, s),
                "nonce": a.general.nonce,
                "escrow_active": tokens(a.escrow.active.balance, e, s),
                "escrow_debonding": tokens(a.escrow.debonding.balance, e, s),
                "account": a,
            });
            out.show(&value, |_| {
                format!(
                    "{address} at height {}\n  balance: {}\n  nonce: {}\n  escrow: {} active, {} debonding",
                    account.height,
                    tokens(a.general.balance, e, s),
                    a.general.nonce,
                    tokens(a.escrow.active.balance, e, s),
                    tokens(a.escrow.debonding.balance, e, s)
                )
            });
        }
        QueryCommand::Delegations { who } => {
            let address = cx.address(&who)?;
            let delegations = cx.client.delegations(&address, latest).await?.value;
            let debonding = cx.client.debonding_delegations(&address, latest).await?.value;
            let epoch = cx.client.status().await?.epoch;
            let (e, s) = (cx.exponent, cx.symbol.as_str());
            // What the shares are worth now, from each escrow account's pools.
            let mut active = Vec::new();
            for (escrow, d) in &delegations {
                let pool = cx.client.account(escrow, latest).await?.value.escrow.active;
                active.push((escrow, d.shares, pool.amount_for(d.shares).ok()));
            }
            let mut leaving = Vec::new();
            for (escrow, d) in &debonding {
                let pool = cx.client.account(escrow, latest).await?.value.escrow.debonding;
                leaving.push((escrow, d.shares, pool.amount_for(d.shares).ok(), d.debond_end));
            }
            let worth = |amount: Option<Amount>| amount.map(|a| tokens(a, e, s));
            let value = json!({
                "epoch": epoch,
                "delegations": active
                    .iter()
                    .map(|(escrow, shares, amount)| json!({
                        "escrow": escrow, "shares": shares, "amount": worth(*amount)
                    }))
                    .collect::<Vec<_>>(),
                "debonding": leaving
                    .iter()
                    .map(|(escrow, shares, amount, end)| json!({
                        "escrow": escrow, "shares": shares, "amount": worth(*amount),
                        "debond_end": end
                    }))
                    .collect::<Vec<_>>(),
            });
            out.show(&value, |_| {
                let mut lines = vec![format!("delegations of {address} (epoch {epoch})")];
                if active.is_empty() && leaving.is_empty() {
                    lines.push("  none".to_owned());
                }
                for (escrow, shares, amount) in &active {
                    lines.push(format!(
                        "  to {escrow}: {} ({} shares)",
                        worth(*amount).unwrap_or_else(|| "?".to_owned()),
                        shares.0
                    ));
                }
                for (escrow, shares, amount, end) in &leaving {
                    let when = if end.0 <= epoch {
                        format!("paid out at the end of epoch {}", end.0)
                    } else {
                        format!("paid out at epoch {} (in {} epochs)", end.0, end.0 - epoch)
                    };
                    lines.push(format!(
                        "  debonding from {escrow}: {} ({} shares), {when}",
                        worth(*amount).unwrap_or_else(|| "?".to_owned()),
                        shares.0
                    ));
                }
                lines.join("\n")
            });
        }
        QueryCommand::Validators => {
            out.show(&serde_json::to_value(cx.client.validators(latest).await?.value)?, pretty)
        }
        QueryCommand::Entities => {
            out.show(&serde_json::to_value(cx.client.entities(latest).await?.value)?, pretty)
        }
        QueryCommand::Nodes => {
            out.show(&serde_json::to_value(cx.client.nodes(latest).await?.value)?, pretty)
        }
        QueryCommand::Runtimes => {
            out.show(&serde_json::to_value(cx.client.runtimes(latest).await?.value)?, pretty)
        }
        QueryCommand::Proposals => {
            out.show(&serde_json::to_value(cx.client.proposals(latest).await?.value)?, pretty)
        }
        QueryCommand::Block { height } => {
            let block = match height {
                Some(h) => cx.client.block(h).await?,
                None => cx.client.latest_block().await?,
            };
            out.show(&serde_json::to_value(&block)?, |_| {
                let mut lines = vec![
                    format!("block {} ({})", block.height, block.id),
                    format!("  time: {}", utc(block.time)),
                    format!("  epoch: {}", block.epoch),
                    format!("  proposer: {}", block.proposer),
                    format!("  app hash before it: {}", block.app_hash),
                    format!(
                        "  previous block signed by {} validators",
                        block.last_commit_signers.len()
                    ),
                    format!("  transactions: {}", block.transactions.len()),
                ];
                for tx in &block.transactions {
                    let outcome = match &tx.result {
                        Some(r) if r.ok => "ok".to_owned(),
                        Some(r) => format!(
                            "FAILED: {}",
                            r.error.as_ref().map_or("?", |e| e.message.as_str())
                        ),
                        None => "result unknown".to_owned(),
                    };
                    lines.push(format!(
                        "    {} {} from {} ({outcome})",
                        tx.hash,
                        tx.method.as_deref().unwrap_or("(undecodable)"),
                        tx.sender.map_or_else(|| "?".to_owned(), |a| a.to_string()),
                    ));
                }
                if block.evidence > 0 {
                    lines.push(format!("  double-signing evidence: {}", block.evidence));
                }
                lines.join("\n")
            });
        }
        QueryCommand::Tx { hash } => {
            let hash: Hash = hash.parse().with_context(|| format!("hash {hash:?}"))?;
            let tx = cx.client.transaction(&hash).await?;
            out.show(&serde_json::to_value(&tx)?, pretty);
        }
    }
    Ok(())
}

/// A `change_parameters` proposal from `--module` and `--set FIELD=JSON` arguments.
fn parameter_change(module: Option<&str>, set: &[String]) -> Result<ProposalContent> {
    let module: governance::ParametersModule =
        serde_json::from_value(serde_json::Value::String(module.unwrap_or_default().to_owned()))
            .map_err(|_| {
                anyhow::anyhow!(
                    "--module must be consensus, staking, registry, scheduler, governance or \
                     roothash"
                )
            })?;
    let mut changes = std::collections::BTreeMap::new();
    for item in set {
        let Some((field, value)) = item.split_once('=') else {
            bail!("--set takes FIELD=JSON, got {item:?}");
        };
        serde_json::from_str::<serde_json::Value>(value)
            .map_err(|e| anyhow::anyhow!("--set {field}: the value is not JSON ({e})"))?;
        changes.insert(field.to_owned(), value.to_owned());
    }
    Ok(ProposalContent::ChangeParameters(governance::ParameterChange { module, changes }))
}
