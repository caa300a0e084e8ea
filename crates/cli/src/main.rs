//! `atoll`: set up a node (`atoll init`), build a genesis document (`atoll genesis …`), run
//! the node (`atoll node`), manage keys (`atoll keys …`), send transactions (`atoll tx …`),
//! read the chain (`atoll query …`), use a ParaTime (`atoll paratime …`, `atoll timestamp
//! …`), load-test a network (`atoll bench transfers`) and run a whole local network
//! (`atoll devnet`).

mod bench;
mod bench_anchors;
mod bench_evm;
mod chain;
mod devnet;
mod evm;
mod fhe;
mod fhe_bench;
mod output;
mod paratime;
mod runtime_events;
mod wallet;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use atoll_consensus::Genesis;
use atoll_node::{genesis, run, NodeConfig, NodeIdentity, NodeKeys, Role};
use atoll_types::{Address, Amount};
use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(name = "atoll", version, about = "Atoll: a proof-of-stake chain with ParaTimes")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Output format of keys, tx, query and bench commands.
    #[arg(long, value_enum, default_value_t = output::Output::Text, global = true)]
    output: output::Output,
    /// Where account keys live (default `$ATOLL_KEYS_DIR` or `~/.atoll/keys`).
    #[arg(long, global = true)]
    keys_dir: Option<PathBuf>,
    #[command(flatten)]
    node: chain::NodeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Create a node's home directory: keys (owner-only files), config.toml, node.json.
    Init {
        /// The node's home directory.
        #[arg(long)]
        home: PathBuf,
        /// A name for logs and metrics.
        #[arg(long, default_value = "atoll-node")]
        moniker: String,
        /// P2P port; the API, metrics and transaction gossip use the next three ports.
        #[arg(long, default_value_t = 26656)]
        p2p_port: u16,
        /// Validator or full node.
        #[arg(long, value_enum, default_value_t = RoleArg::Validator)]
        role: RoleArg,
        /// A peer to stay connected to (`host:port` of its p2p port); repeat for several.
        /// Its transaction gossip is assumed at the p2p port + 3, as `init` sets it up.
        #[arg(long = "peer")]
        peers: Vec<String>,
        /// The address to listen on for peers (default `0.0.0.0`).
        #[arg(long, default_value = "0.0.0.0")]
        listen_host: String,
        /// The address other nodes reach this one at (default `127.0.0.1`).
        #[arg(long, default_value = "127.0.0.1")]
        external_host: String,
    },
    /// Build and check genesis documents.
    #[command(subcommand)]
    Genesis(GenesisCommand),
    /// Run a node (validator or full node, as its config says) until interrupted.
    Node {
        /// The node's home directory (keys/, config.toml, genesis.json, data/).
        #[arg(long)]
        home: PathBuf,
        /// The configuration file (default: <home>/config.toml).
        #[arg(long)]
        config: Option<PathBuf>,
        /// A new node: rebuild the state from a checkpoint served by this peer's API
        /// (repeat for several peers) instead of replaying every block. Trusts the block
        /// --trust names; without it, the latest checkpoint every peer (two or more) agrees
        /// on, if the genesis validators signed its block. Ignored once the data directory
        /// holds a chain.
        #[arg(long = "state-sync", value_name = "API_URL")]
        state_sync: Vec<String>,
        /// The block state sync trusts, HEIGHT:BLOCK_ID (from `GET /v1/checkpoints` on a
        /// node you trust: a checkpoint's trust_height and trust_block_id).
        #[arg(long, value_name = "HEIGHT:BLOCK_ID", requires = "state_sync")]
        trust: Option<String>,
    },
    /// Account keys.
    #[command(subcommand)]
    Keys(wallet::KeysCommand),
    /// Sign and send a transaction (waits for its block unless --no-wait).
    #[command(subcommand)]
    Tx(chain::TxCommand),
    /// Read the chain.
    #[command(subcommand)]
    Query(chain::QueryCommand),
    /// ParaTime accounts and blocks: deposit, withdraw, balance, status, transactions.
    #[command(subcommand)]
    Paratime(paratime::ParatimeCommand),
    /// The timestamping ParaTime: anchor a document, look one up.
    #[command(subcommand)]
    Timestamp(paratime::TimestampCommand),
    /// Load generators.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// The EVM ParaTime's tools (Ethereum state tests).
    #[command(subcommand)]
    Evm(evm::EvmCommand),
    /// The FHE ParaTime: key sets, confidential contracts, encrypted inputs, decryption.
    #[command(subcommand)]
    Fhe(fhe::FheCommand),
    /// A whole local network in one command: validators, compute nodes running the
    /// timestamping ParaTime, a client node and funded test accounts (Ctrl-C stops it; run
    /// it again to resume).
    Devnet(devnet::DevnetArgs),
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Transfers between many funded accounts: committed tx/s and finality latency.
    Transfers(bench::TransfersArgs),
    /// Anchors in the timestamping ParaTime: finalized tx/s, latency, rounds per block.
    Anchors(bench_anchors::AnchorsArgs),
    /// Ethereum transactions through an EVM ParaTime's JSON-RPC: included tx/s, gas/s,
    /// latency, rounds per block.
    Evm(bench_evm::EvmArgs),
}

fn block_on<F: std::future::Future<Output = Result<()>>>(future: F) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(future)
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Validator,
    Full,
}

#[derive(Subcommand)]
enum GenesisCommand {
    /// Write a new, empty genesis document.
    New {
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
        /// The chain id.
        #[arg(long)]
        chain_id: String,
        /// The token symbol.
        #[arg(long, default_value = "ATL")]
        symbol: String,
        /// Decimals of the token.
        #[arg(long, default_value_t = 9)]
        exponent: u8,
        /// Blocks per epoch.
        #[arg(long, default_value_t = 30)]
        epoch_interval: u64,
    },
    /// Credit tokens to an account.
    AddBalance {
        /// The genesis document.
        #[arg(long)]
        genesis: PathBuf,
        /// The account (atoll1…).
        #[arg(long)]
        address: String,
        /// Amount in tokens, e.g. 1.5.
        #[arg(long)]
        amount: String,
    },
    /// Add a node (initialised with `atoll init`) as a validator.
    AddValidator {
        /// The genesis document.
        #[arg(long)]
        genesis: PathBuf,
        /// The node's home directory (its node.json is read).
        #[arg(long)]
        node: PathBuf,
        /// Escrow the entity self-delegates, in tokens.
        #[arg(long)]
        escrow: String,
        /// Liquid balance for the entity and for the node (fees), in tokens.
        #[arg(long, default_value = "1000")]
        balance: String,
        /// Also give the node the compute role.
        #[arg(long)]
        compute: bool,
    },
    /// Register a compute ParaTime, owned by a validator's entity, served by every node
    /// added with `--compute`.
    AddRuntime {
        /// The genesis document.
        #[arg(long)]
        genesis: PathBuf,
        /// The runtime id (64 hex digits; `atoll-timestamp --id` prints the timestamping one).
        #[arg(long)]
        id: String,
        /// The home of the node whose entity owns the runtime.
        #[arg(long)]
        owner: PathBuf,
        /// The runtime version compute nodes must run.
        #[arg(long, default_value = "0.1.0")]
        version: String,
        /// Primary workers per round.
        #[arg(long, default_value_t = 3)]
        group: u16,
        /// Backup workers (they resolve discrepancies).
        #[arg(long, default_value_t = 3)]
        backups: u16,
        /// Primary workers allowed to miss a round.
        #[arg(long, default_value_t = 0)]
        stragglers: u16,
        /// Round timeout, in consensus blocks.
        #[arg(long, default_value_t = 6)]
        round_timeout: u64,
        /// The runtime's results are bit-exact only on some machines: nodes must register
        /// this known answer (64 hex digits) to be elected. `--known-answer fhe` takes the
        /// FHE ParaTime's answer and CPU requirement.
        #[arg(long)]
        known_answer: Option<String>,
        /// With `--known-answer`: the CPU it is computed on, `<arch>[+feature…]`
        /// (e.g. `x86_64+avx2+fma`).
        #[arg(long, requires = "known_answer")]
        cpu: Option<String>,
    },
    /// Check a genesis document and print its chain context.
    Validate {
        /// The genesis document.
        file: PathBuf,
    },
}

/// A deployment's determinism requirement from `--known-answer` and `--cpu`.
fn determinism(
    answer: &str,
    cpu: Option<&str>,
) -> Result<atoll_consensus::registry::types::Determinism> {
    if answer == "fhe" {
        if cpu.is_some() {
            bail!("--known-answer fhe brings its own CPU requirement: drop --cpu");
        }
        return devnet::fhe_determinism();
    }
    let known_answer =
        answer.parse().with_context(|| format!("known answer {answer:?} (64 hex digits)"))?;
    let cpu = cpu.context("--known-answer needs --cpu <arch>[+feature…]")?;
    let mut parts = cpu.split('+').map(str::to_owned);
    let arch = parts.next().filter(|a| !a.is_empty()).context("--cpu names no architecture")?;
    Ok(atoll_consensus::registry::types::Determinism {
        arch,
        cpu_features: parts.collect(),
        known_answer,
    })
}

fn parse_version(text: &str) -> Result<atoll_consensus::registry::types::Version> {
    let parts: Vec<u16> = text
        .split('.')
        .map(|p| p.parse::<u16>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("version {text:?} is not major.minor.patch"))?;
    match parts.as_slice() {
        [major, minor, patch] => Ok(atoll_consensus::registry::types::Version {
            major: *major,
            minor: *minor,
            patch: *patch,
        }),
        _ => bail!("version {text:?} is not major.minor.patch"),
    }
}

fn read_genesis(path: &Path) -> Result<Genesis> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Genesis::from_json(&text).with_context(|| format!("in {}", path.display()))
}

fn write_genesis(path: &Path, genesis: &Genesis) -> Result<()> {
    genesis.validate().context("the result would be invalid")?;
    std::fs::write(path, genesis.to_json()).with_context(|| format!("writing {}", path.display()))
}

fn tokens(text: &str, genesis: &Genesis) -> Result<Amount> {
    Amount::from_decimal(text, genesis.token.exponent).with_context(|| format!("amount {text:?}"))
}

struct InitArgs {
    moniker: String,
    p2p_port: u16,
    role: RoleArg,
    peers: Vec<String>,
    listen_host: String,
    external_host: String,
}

fn init(home: &Path, args: InitArgs) -> Result<()> {
    let InitArgs { moniker, p2p_port, role, peers, listen_host, external_host } = args;
    let config_path = home.join("config.toml");
    if config_path.exists() {
        bail!("{} already exists: this home is initialised", config_path.display());
    }
    std::fs::create_dir_all(home).with_context(|| format!("creating {}", home.display()))?;
    let role = match role {
        RoleArg::Validator => Role::Validator,
        RoleArg::Full => Role::Full,
    };
    let mut config = NodeConfig::new(&moniker, role, p2p_port);
    config.p2p.listen = format!("{listen_host}:{p2p_port}");
    config.p2p.external = format!("{external_host}:{p2p_port}");
    config.p2p.tx_gossip_listen = format!("{listen_host}:{}", p2p_port.saturating_add(3));
    config.p2p.tx_gossip_peers = peers
        .iter()
        .map(|peer| match peer.rsplit_once(':').map(|(h, p)| (h, p.parse::<u16>())) {
            Some((host, Ok(port))) => Ok(format!("{host}:{}", port.saturating_add(3))),
            _ => Err(anyhow::anyhow!("peer {peer:?} is not host:port")),
        })
        .collect::<Result<_>>()?;
    config.p2p.persistent_peers = peers;
    config.validate()?;
    let keys = NodeKeys::generate(home)?;
    config.save(&config_path)?;
    let identity = keys.identity(&config.p2p.external);
    identity.save(home)?;
    println!("initialised {}", home.display());
    println!("  node id:        {}", identity.node_id);
    println!("  entity account: {}", identity.entity_address);
    println!("  config:         {}", config_path.display());
    Ok(())
}

fn genesis_command(command: GenesisCommand) -> Result<()> {
    match command {
        GenesisCommand::New { out, chain_id, symbol, exponent, epoch_interval } => {
            if out.exists() {
                bail!("{} already exists", out.display());
            }
            write_genesis(
                &out,
                &genesis::new_genesis(&chain_id, &symbol, exponent, epoch_interval),
            )?;
            println!("wrote {}", out.display());
        }
        GenesisCommand::AddBalance { genesis: path, address, amount } => {
            let mut genesis = read_genesis(&path)?;
            let address: Address =
                address.parse().with_context(|| format!("address {address:?}"))?;
            let amount = tokens(&amount, &genesis)?;
            genesis::add_balance(&mut genesis, address, amount)?;
            write_genesis(&path, &genesis)?;
        }
        GenesisCommand::AddValidator { genesis: path, node, escrow, balance, compute } => {
            let mut genesis = read_genesis(&path)?;
            let identity = NodeIdentity::load(&node)?;
            let (escrow, balance) = (tokens(&escrow, &genesis)?, tokens(&balance, &genesis)?);
            genesis::add_validator(&mut genesis, &identity, escrow, balance, compute)?;
            write_genesis(&path, &genesis)?;
            println!("added validator {} (entity {})", identity.node_id, identity.entity_address);
        }
        GenesisCommand::AddRuntime {
            genesis: path,
            id,
            owner,
            version,
            group,
            backups,
            stragglers,
            round_timeout,
            known_answer,
            cpu,
        } => {
            let mut genesis = read_genesis(&path)?;
            let id: atoll_types::RuntimeId =
                id.parse().with_context(|| format!("runtime id {id:?}"))?;
            let identity = NodeIdentity::load(&owner)?;
            let version = parse_version(&version)?;
            let shape = genesis::RuntimeShape {
                group_size: group,
                backup_size: backups,
                allowed_stragglers: stragglers,
                round_timeout,
                propose_batch_timeout: (round_timeout / 3).max(1),
            };
            genesis::add_compute_runtime(&mut genesis, id, version, identity.entity_id, shape)?;
            if let Some(answer) = known_answer {
                let determinism = determinism(&answer, cpu.as_deref())?;
                genesis::require_determinism(&mut genesis, id, determinism)?;
            }
            write_genesis(&path, &genesis)?;
            println!("added runtime {id}");
        }
        GenesisCommand::Validate { file } => {
            let genesis = read_genesis(&file)?;
            println!(
                "valid: chain {} with context {}, {} accounts, {} validator nodes",
                genesis.chain_id,
                genesis.chain_context(),
                genesis.staking.accounts.len(),
                genesis.registry.nodes.len()
            );
        }
    }
    Ok(())
}

fn node(
    home: &Path,
    config: Option<PathBuf>,
    sources: Vec<String>,
    trust: Option<String>,
) -> Result<()> {
    let config_path = config.unwrap_or_else(|| home.join(run::CONFIG_FILE));
    let config = NodeConfig::load(&config_path)?;
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(
            |_| tracing_subscriber::EnvFilter::new("info,libp2p=warn,arc_malachitebft=warn"),
        ))
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init()
        .map_err(|e| anyhow::anyhow!("logging: {e}"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    if !sources.is_empty() {
        let trust = trust.map(|t| atoll_node::state_sync::parse_trust(&t)).transpose()?;
        runtime.block_on(run::state_sync(home, sources, trust))?;
    }
    runtime.block_on(run::run_until_signal(home, &config))?;
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Paratime(paratime::ParatimeCommand::Serve {
        name,
        setup,
        setup_insecure,
        key_sets,
        ..
    }) = &cli.command
    {
        let fhe = setup.as_ref().map(|setup| atoll_fhe::node::NodeOptions {
            setup: setup.clone(),
            setup_insecure: *setup_insecure,
            key_sets: key_sets.clone(),
        });
        return match paratime::serve(name, fhe) {
            Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    let keys_dir = cli.keys_dir.clone().unwrap_or_else(wallet::default_dir);
    let result = match cli.command {
        Command::Init { home, moniker, p2p_port, role, peers, listen_host, external_host } => {
            init(&home, InitArgs { moniker, p2p_port, role, peers, listen_host, external_host })
        }
        Command::Genesis(command) => genesis_command(command),
        Command::Node { home, config, state_sync, trust } => node(&home, config, state_sync, trust),
        Command::Keys(command) => wallet::run(&keys_dir, command, cli.output),
        Command::Tx(command) => block_on(chain::tx(&cli.node, &keys_dir, cli.output, command)),
        Command::Query(command) => {
            block_on(chain::query(&cli.node, &keys_dir, cli.output, command))
        }
        Command::Paratime(command) => {
            block_on(paratime::paratime(&cli.node, &keys_dir, cli.output, command))
        }
        Command::Timestamp(command) => {
            block_on(paratime::timestamp(&cli.node, &keys_dir, cli.output, command))
        }
        Command::Devnet(args) => block_on(devnet::run(args)),
        Command::Evm(command) => evm::run(command),
        Command::Fhe(command) => block_on(fhe::run(&cli.node, &keys_dir, cli.output, command)),
        Command::Bench(BenchCommand::Anchors(args)) => {
            block_on(bench_anchors::anchors(&cli.node, &keys_dir, cli.output, args))
        }
        Command::Bench(BenchCommand::Evm(args)) => {
            block_on(bench_evm::evm(&cli.node, cli.output, args))
        }
        Command::Bench(BenchCommand::Transfers(args)) => {
            block_on(bench::transfers(&cli.node, &keys_dir, cli.output, args))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
