//! `atoll`: set up a node (`atoll init`) and build a genesis document (`atoll genesis …`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use atoll_consensus::Genesis;
use atoll_node::{genesis, NodeConfig, NodeIdentity, NodeKeys, Role};
use atoll_types::{Address, Amount};
use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(name = "atoll", version, about = "Atoll: a proof-of-stake chain with ParaTimes")]
struct Cli {
    #[command(subcommand)]
    command: Command,
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
        /// P2P port; the API and metrics use the next two ports.
        #[arg(long, default_value_t = 26656)]
        p2p_port: u16,
        /// Validator or full node.
        #[arg(long, value_enum, default_value_t = RoleArg::Validator)]
        role: RoleArg,
    },
    /// Build and check genesis documents.
    #[command(subcommand)]
    Genesis(GenesisCommand),
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
    /// Check a genesis document and print its chain context.
    Validate {
        /// The genesis document.
        file: PathBuf,
    },
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

fn init(home: &Path, moniker: &str, p2p_port: u16, role: RoleArg) -> Result<()> {
    let config_path = home.join("config.toml");
    if config_path.exists() {
        bail!("{} already exists: this home is initialised", config_path.display());
    }
    std::fs::create_dir_all(home).with_context(|| format!("creating {}", home.display()))?;
    let keys = NodeKeys::generate(home)?;
    let role = match role {
        RoleArg::Validator => Role::Validator,
        RoleArg::Full => Role::Full,
    };
    let config = NodeConfig::new(moniker, role, p2p_port);
    config.save(&config_path)?;
    let identity = keys.identity(&config.p2p.external);
    std::fs::write(home.join("node.json"), serde_json::to_string_pretty(&identity)?)?;
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
            let file = node.join("node.json");
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let identity: NodeIdentity = serde_json::from_str(&text)
                .with_context(|| format!("parsing {}", file.display()))?;
            let (escrow, balance) = (tokens(&escrow, &genesis)?, tokens(&balance, &genesis)?);
            genesis::add_validator(&mut genesis, &identity, escrow, balance, compute)?;
            write_genesis(&path, &genesis)?;
            println!("added validator {} (entity {})", identity.node_id, identity.entity_address);
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Init { home, moniker, p2p_port, role } => init(&home, &moniker, p2p_port, role),
        Command::Genesis(command) => genesis_command(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
