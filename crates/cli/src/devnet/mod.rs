//! `atoll devnet`: a whole local network in one command. The first run creates keys,
//! entities, funded test accounts and a genesis in the data directory ([`layout`]); every
//! run starts the validators, the compute nodes and the client node as separate `atoll node`
//! processes ([`children`]), waits until blocks are made and the timestamping and EVM
//! ParaTimes have finalized a round, prints the endpoints and the accounts (with the EVM
//! ParaTime's Ethereum JSON-RPC and development accounts, [`dev_accounts`]), then shows a
//! live status line until Ctrl-C (or SIGTERM), when it stops every node cleanly. Running it
//! again resumes the same chain; `--reset` starts over.

mod children;
pub(crate) mod dev_accounts;
mod layout;
mod tee;
mod watch;

pub(crate) use layout::fhe_determinism;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use atoll_client::tx::SendOptions;
use atoll_client::Client;
use atoll_consensus::roothash::{SubmitMsg, SUBMIT_MSG};
use atoll_crypto::FileSigner;
use atoll_node::{run as node_run, NodeConfig};
use atoll_runtime_sdk::modules::accounts;
use atoll_types::{Address, Amount, Signer};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use children::Running;
use layout::{Kind, Manifest, NodeSpec, Shape};

/// Tokens each test account deposits into the ParaTime when the devnet is created.
const DEPOSIT_TOKENS: u128 = 1_000;
/// Development accounts funded in the EVM ParaTime.
const DEV_ACCOUNTS: u32 = 10;
/// Tokens each development account gets in the EVM ParaTime (deposited by `alice`).
const DEV_TOKENS: u128 = 10_000;
/// How long a node may take to answer after it was started.
const START_LIMIT: Duration = Duration::from_secs(120);
/// How long the network may take to make its first block and ParaTime round.
const READY_LIMIT: Duration = Duration::from_secs(300);
/// How long nodes get to stop cleanly before they are killed.
const STOP_GRACE: Duration = Duration::from_secs(30);
/// The pid file of a running devnet.
const PID_FILE: &str = "devnet.pid";
/// Blocks per epoch of a devnet without the FHE ParaTime (unless asked otherwise).
const DEFAULT_EPOCH_INTERVAL: u64 = 100;

/// `atoll devnet` options.
#[derive(Args)]
pub(crate) struct DevnetArgs {
    /// The data directory (default: `~/.atoll/devnet`).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Validators (default 4; only when the devnet is created).
    #[arg(long)]
    validators: Option<usize>,
    /// Compute nodes running the timestamping ParaTime (default 4; only when created).
    #[arg(long)]
    compute: Option<usize>,
    /// Funded test accounts (default 4; only when created).
    #[arg(long)]
    accounts: Option<usize>,
    /// First port; node k uses base + 10k … base + 10k + 4 (default 27000; only when created).
    #[arg(long)]
    base_port: Option<u16>,
    /// Blocks per epoch (default 100, with --fhe 600: an epoch transition ends the round in
    /// progress; only when created).
    #[arg(long)]
    epoch_interval: Option<u64>,
    /// The EVM ParaTime's Ethereum JSON-RPC port on 127.0.0.1 (default 8545; only when
    /// created).
    #[arg(long)]
    eth_rpc_port: Option<u16>,
    /// Run compute-0 in a byzantine test mode (dishonest, straggler, runaway-proposer,
    /// bogus-batch, invalid-batch-hash, failure-indicating, equivocation,
    /// withholding-scheduler) in the timestamping ParaTime, to watch discrepancy detection
    /// deal with it. A devnet created
    /// with it makes every compute node a primary worker of that ParaTime, so the fault
    /// shows from the first round (and the ParaTime pauses while compute-0 is suspended
    /// for its liveness failures); on a devnet created without it, compute-0 misbehaves
    /// in the epochs it is elected (the view says when).
    #[arg(long)]
    byzantine: Option<String>,
    /// Run the timestamping ParaTime in a SIMULATED TEE (no enclave hardware: its enclaves
    /// are ordinary processes; their attestations are verified for real under a devnet-only
    /// root). Only when created.
    #[arg(long)]
    tee: bool,
    /// Also run the FHE ParaTime (confidential contracts on TFHE ciphertexts, no key
    /// manager) on the compute nodes, with an INSECURE devnet proof setup. Each ParaTime
    /// process runs a known-answer test of about 15 s of CPU when it starts. Only when
    /// created.
    #[arg(long)]
    fhe: bool,
    /// Delete the data directory and start a new network.
    #[arg(long)]
    reset: bool,
}

fn default_dir() -> PathBuf {
    std::env::var_os("HOME")
        .map_or_else(|| PathBuf::from("."), PathBuf::from)
        .join(".atoll")
        .join("devnet")
}

/// A pid file naming a process that still runs.
fn running_pid(dir: &Path) -> Option<u32> {
    let pid: u32 = std::fs::read_to_string(dir.join(PID_FILE)).ok()?.trim().parse().ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    (pid != std::process::id() && cmdline.windows(6).any(|w| w == b"devnet")).then_some(pid)
}

/// Refuses counts that differ from an existing devnet's.
fn check_resume(manifest: &Manifest, args: &DevnetArgs) -> Result<()> {
    let asked = [
        ("validators", args.validators.map(|v| v as u64), manifest.validators as u64),
        ("compute", args.compute.map(|v| v as u64), manifest.compute as u64),
        ("accounts", args.accounts.map(|v| v as u64), manifest.accounts.len() as u64),
        ("base-port", args.base_port.map(u64::from), u64::from(manifest.base_port)),
        ("epoch-interval", args.epoch_interval, manifest.epoch_interval),
        (
            "eth-rpc-port",
            args.eth_rpc_port.map(u64::from),
            manifest.evm.as_ref().map_or(0, |e| u64::from(e.rpc_port)),
        ),
    ];
    if args.tee && !manifest.tee {
        bail!("this devnet was created without --tee; add --reset to start a new one");
    }
    if args.fhe && manifest.fhe.is_none() {
        bail!("this devnet was created without --fhe; add --reset to start a new one");
    }
    for (flag, asked, existing) in asked {
        if asked.is_some_and(|a| a != existing) {
            bail!(
                "this devnet was created with --{flag} {existing}; add --reset to start a new one"
            );
        }
    }
    Ok(())
}

/// Points every ParaTime node's `[compute]` section at this binary and sets (or clears)
/// the byzantine mode of compute-0 in the timestamping ParaTime (the EVM ParaTime stays
/// honest, for the Ethereum tools); the rest of each config.toml is left as the user made
/// it.
fn refresh_configs(
    dir: &Path,
    nodes: &[NodeSpec],
    manifest: &Manifest,
    exe: &Path,
    byzantine: Option<&str>,
) -> Result<()> {
    let evm = manifest.evm.as_ref().map(|e| e.runtime.to_string());
    let fhe = manifest.fhe.as_ref().map(|f| f.runtime.to_string());
    for spec in nodes.iter().filter(|s| s.kind != Kind::Validator) {
        let path = spec.home.join(node_run::CONFIG_FILE);
        let mut config = NodeConfig::load(&path)?;
        for compute in &mut config.compute {
            compute.binary = exe.display().to_string();
            compute.binary_args = if Some(&compute.runtime) == evm.as_ref() {
                layout::evm_args()
            } else if Some(&compute.runtime) == fhe.as_ref() {
                layout::fhe_args(dir)
            } else {
                paratime_args()
            };
            let timestamp = compute.runtime == manifest.runtime.to_string();
            compute.byzantine = (spec.name == "compute-0" && timestamp)
                .then(|| byzantine.map(str::to_owned))
                .flatten();
        }
        config.save(&path)?;
    }
    Ok(())
}

fn paratime_args() -> Vec<String> {
    ["paratime", "serve", "timestamp"].map(str::to_owned).to_vec()
}

fn check_ports(nodes: &[NodeSpec], manifest: &Manifest) -> Result<()> {
    for spec in nodes {
        let rpc = manifest.evm.as_ref().filter(|_| spec.kind == Kind::Client).map(|e| e.rpc_port);
        for port in spec.ports().into_iter().chain(rpc) {
            if std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
                bail!(
                    "port {port} (for {}) is in use: is another devnet or node running? \
                     (a new devnet can use --base-port)",
                    spec.name
                );
            }
        }
    }
    Ok(())
}

fn progress(total: u64) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:20}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

/// Fails if a node stopped, quoting the end of its log.
fn check_alive(nodes: &mut [Running]) -> Result<()> {
    for node in nodes.iter_mut() {
        if !node.alive() {
            bail!(
                "{} stopped ({}); the end of {}:\n{}",
                node.spec.name,
                node.exit_status().map_or("?".into(), |s| s.to_string()),
                node.spec.log().display(),
                children::log_tail(&node.spec, 15)
            );
        }
    }
    Ok(())
}

/// Waits until `ready` returns `Some`, checking the nodes meanwhile.
async fn wait_until<T, F, Fut>(
    nodes: &mut [Running],
    limit: Duration,
    what: &str,
    mut ready: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        check_alive(nodes)?;
        if let Some(value) = ready().await {
            return Ok(value);
        }
        if Instant::now() >= deadline {
            bail!("timed out waiting for {what} (logs: <node home>/node.log)");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Each test account deposits into `runtime`; waits until the ParaTime credited them.
async fn fund_paratime(
    client: &Client,
    nodes: &mut [Running],
    dir: &Path,
    manifest: &Manifest,
    runtime: atoll_types::RuntimeId,
) -> Result<()> {
    let amount = Amount::new(DEPOSIT_TOKENS * 1_000_000_000);
    let mut keys = Vec::new();
    for name in &manifest.accounts {
        let key = FileSigner::load(&Manifest::key_file(dir, name))?;
        let options = SendOptions { wait: None, ..SendOptions::default() };
        let body = SubmitMsg { runtime, amount, to: None };
        client.send(&key, SUBMIT_MSG, &body, options).await.context("depositing")?;
        keys.push(key);
    }
    for key in keys {
        let address = Address::from_public_key(&key.public_key());
        wait_until(nodes, READY_LIMIT, "the ParaTime's first round", || async {
            let balance =
                crate::paratime::query::<Amount>(client, &runtime, accounts::BALANCE, &address)
                    .await;
            balance.ok().filter(|(_, b)| !b.is_zero()).map(drop)
        })
        .await?;
    }
    Ok(())
}

/// `alice` deposits into the EVM ParaTime for each development account; waits until the
/// first one holds its tokens.
async fn fund_evm(
    client: &Client,
    nodes: &mut [Running],
    dir: &Path,
    manifest: &Manifest,
) -> Result<()> {
    let (Some(evm), Some(funder)) = (&manifest.evm, manifest.accounts.first()) else {
        return Ok(());
    };
    let key = FileSigner::load(&Manifest::key_file(dir, funder))?;
    let amount = Amount::new(DEV_TOKENS * 1_000_000_000);
    let accounts = dev_accounts::accounts(DEV_ACCOUNTS);
    // The funder's earlier deposit is included (fund_paratime waited for it): its next nonce
    // is in state, and the ones after it follow.
    let mut nonce = None;
    for account in &accounts {
        let to = Some(Address::from_eth(account.address.0 .0));
        let body = SubmitMsg { runtime: evm.runtime, amount, to };
        let options = SendOptions { wait: None, nonce, ..SendOptions::default() };
        let sent = client.send(&key, SUBMIT_MSG, &body, options).await.context("depositing")?;
        nonce = Some(sent.nonce + 1);
    }
    let last = accounts.last().context("no development accounts")?.address;
    wait_until(nodes, READY_LIMIT, "the EVM ParaTime's first round", || async {
        let wei = crate::paratime::query::<[u8; 32]>(
            client,
            &evm.runtime,
            atoll_evm::module::BALANCE,
            &last.0 .0,
        )
        .await;
        wei.ok().filter(|(_, w)| w.iter().any(|b| *b != 0)).map(drop)
    })
    .await
}

/// The Ethereum part of the summary, printed as anvil prints it.
fn evm_summary(evm: &layout::EvmNet) -> Vec<String> {
    let mut lines = vec![
        format!(
            "  Ethereum JSON-RPC  http://127.0.0.1:{port}  ws://127.0.0.1:{port}  chain id {} ({:#x}), EVM ParaTime {}",
            evm.chain_id,
            evm.chain_id,
            evm.runtime,
            port = evm.rpc_port
        ),
        String::new(),
        format!(
            "  Development accounts ({DEV_TOKENS} ATL each in the EVM ParaTime; mnemonic \"{}\", m/44'/60'/0'/0/i):",
            dev_accounts::MNEMONIC
        ),
    ];
    for (i, account) in dev_accounts::accounts(DEV_ACCOUNTS).iter().enumerate() {
        lines.push(format!("  ({i}) {}  0x{}", account.address, hex::encode(account.key)));
    }
    lines
}

fn summary(dir: &Path, manifest: &Manifest, nodes: &[NodeSpec], byzantine: Option<&str>) -> String {
    let client = nodes.iter().find(|n| n.kind == Kind::Client).unwrap_or(&nodes[0]);
    let api = client.api();
    let mut lines = vec![
        format!("Atoll devnet `{}` is running from {}", manifest.chain_id, dir.display()),
        String::new(),
        format!("  REST API     http://{api}/v1   (client node; any node's API works)"),
        format!("  WebSocket    ws://{api}/v1/ws"),
        format!("  OpenAPI      http://{api}/openapi.json"),
        format!("  Explorer     http://{api}/explorer   (blocks, validators, ParaTimes, live)"),
        format!("  ParaTime     timestamp {} (transactions and queries on the client and compute nodes)", manifest.runtime),
        if manifest.tee {
            format!(
                "  TEE          SIMULATED: the timestamping ParaTime runs in simulated enclaves (ordinary \
                 processes, no hardware isolation); attestations are verified for real under the \
                 devnet-only root {}",
                dir.join("tee/root.der").display()
            )
        } else {
            "  TEE          none".to_owned()
        },
        match &manifest.fhe {
            Some(fhe) => format!(
                "  FHE          ParaTime {} with an INSECURE proof setup {} (from the public seed {:?}); key sets travel between the compute nodes",
                fhe.runtime,
                fhe.setup,
                layout::FHE_SETUP_SEED,
            ),
            None => "  FHE          off (atoll devnet --reset --fhe)".to_owned(),
        },
        String::new(),
        "  node          API               metrics                         log".to_owned(),
    ];
    for n in nodes {
        let role = if n.name == "compute-0" && byzantine.is_some() {
            format!("{} (BYZANTINE: {})", n.name, byzantine.unwrap_or_default())
        } else {
            n.name.clone()
        };
        lines.push(format!(
            "  {role:<13} {:<17} http://{}/metrics  {}",
            n.api(),
            n.metrics(),
            n.log().display()
        ));
    }
    lines.push(String::new());
    lines.push(
        "  Validator entities (escrow accounts for `atoll tx delegate --escrow`):".to_owned(),
    );
    for n in nodes.iter().filter(|n| n.kind == Kind::Validator) {
        let entity = atoll_node::NodeIdentity::load(&n.home)
            .map_or_else(|e| format!("({e})"), |i| i.entity_address.to_string());
        lines.push(format!("  {:<13} {entity}", n.name));
    }
    lines.push(String::new());
    let (deposits, where_to) = if manifest.fhe.is_some() {
        (2, "the timestamping and FHE ParaTimes each")
    } else {
        (1, "the ParaTime")
    };
    lines.push(format!(
        "  Test accounts ({} ATL each on the consensus layer, {} ATL deposited in {where_to}):",
        layout::ACCOUNT_TOKENS - deposits * DEPOSIT_TOKENS,
        DEPOSIT_TOKENS
    ));
    for name in &manifest.accounts {
        let path = Manifest::key_file(dir, name);
        let address = FileSigner::load(&path)
            .map(|k| Address::from_public_key(&k.public_key()).to_string())
            .unwrap_or_else(|e| format!("(unreadable: {e})"));
        lines.push(format!("  {name:<8} {address}  {}", path.display()));
    }
    if let Some(evm) = &manifest.evm {
        lines.push(String::new());
        lines.extend(evm_summary(evm));
    }
    lines.push(String::new());
    lines.push("  Try, in another terminal:".to_owned());
    lines.push(format!("    export ATOLL_API={api} ATOLL_KEYS_DIR={}", dir.join("keys").display()));
    lines.push("    atoll tx transfer --from alice --to bob --amount 10".to_owned());
    lines.push("    atoll timestamp anchor --from alice --file README.md".to_owned());
    if manifest.fhe.is_some() {
        lines.push(format!("    export ATOLL_FHE_SETUP={}", layout::fhe_setup_file(dir).display()));
        lines.push("    atoll fhe keygen          # then: atoll fhe register / deploy / call (docs/FHE.md)".to_owned());
    }
    lines.push(String::new());
    lines.join("\n")
}

/// Blocks per epoch of a new devnet: as asked, or the default (longer with the FHE
/// ParaTime, whose rounds an epoch must outlast).
fn epoch_interval(asked: Option<u64>, fhe: bool) -> Result<u64> {
    let default = if fhe { layout::FHE_EPOCH_INTERVAL } else { DEFAULT_EPOCH_INTERVAL };
    let interval = asked.unwrap_or(default);
    if fhe && interval < layout::FHE_MIN_EPOCH_INTERVAL {
        bail!(
            "--epoch-interval {interval} is too short for --fhe: an epoch transition ends the \
             round in progress, and FHE rounds are long; use at least {}",
            layout::FHE_MIN_EPOCH_INTERVAL
        );
    }
    Ok(interval)
}

/// Runs `atoll devnet`.
pub(crate) async fn run(args: DevnetArgs) -> Result<()> {
    let dir = args.dir.clone().unwrap_or_else(default_dir);
    if let Some(mode) = &args.byzantine {
        mode.parse::<atoll_compute::ByzantineMode>().map_err(|e| anyhow::anyhow!(e))?;
    }
    if let Some(pid) = running_pid(&dir) {
        bail!("a devnet already runs from {} (pid {pid})", dir.display());
    }
    if args.reset && dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    let exe = std::env::current_exe().context("locating the atoll binary")?;
    let (manifest, created) = match layout::load(&dir)? {
        Some(manifest) => {
            check_resume(&manifest, &args)?;
            (manifest, false)
        }
        None => {
            let epoch_interval = epoch_interval(args.epoch_interval, args.fhe)?;
            let shape = Shape {
                validators: args.validators.unwrap_or(4),
                compute: args.compute.unwrap_or(4),
                accounts: args.accounts.unwrap_or(4),
                base_port: args.base_port.unwrap_or(27_000),
                epoch_interval,
                eth_rpc_port: args.eth_rpc_port.unwrap_or(8545),
                tee: args.tee,
                fhe: args.fhe,
                byzantine: args.byzantine.is_some(),
            };
            let bar = ProgressBar::new_spinner();
            bar.set_message("creating keys, entities, test accounts and the genesis");
            bar.enable_steady_tick(Duration::from_millis(100));
            let manifest = layout::create(&dir, &shape, &(exe.clone(), paratime_args()));
            bar.finish_and_clear();
            (manifest?, true)
        }
    };
    let specs = manifest.nodes(&dir);
    refresh_configs(&dir, &specs, &manifest, &exe, args.byzantine.as_deref())?;
    check_ports(&specs, &manifest)?;
    std::fs::write(dir.join(PID_FILE), std::process::id().to_string())?;
    let mut nodes = Vec::new();
    let result = start_and_watch(&dir, &manifest, &specs, &exe, &args, created, &mut nodes).await;
    if !nodes.is_empty() {
        eprintln!("stopping {} nodes…", nodes.len());
        let killed = children::stop_all(&mut nodes, STOP_GRACE);
        if killed.is_empty() {
            eprintln!("every node stopped cleanly; run `atoll devnet` again to resume");
        } else {
            eprintln!("had to kill: {}", killed.join(", "));
        }
    }
    let _ = std::fs::remove_file(dir.join(PID_FILE));
    result
}

/// Prints a line of the live view above the status line (on stdout when the status line is
/// hidden: no terminal).
/// Shows `line`; false once standard output is gone (its reader exited: the devnet
/// stops its nodes rather than run on unwatched, or die and leave them behind).
fn say(status: &ProgressBar, plain: bool, line: &str) -> bool {
    status.println(line);
    !plain || print_line(line)
}

/// Writes `line` to standard output; false if that fails (a closed pipe).
fn print_line(line: &str) -> bool {
    use std::io::Write as _;
    writeln!(std::io::stdout().lock(), "{line}").is_ok()
}

/// Starts the nodes (pushed into `nodes` as they start, so the caller can always stop
/// them), waits until the network works, prints the summary and shows the status until a
/// signal arrives.
async fn start_and_watch(
    dir: &Path,
    manifest: &Manifest,
    specs: &[NodeSpec],
    exe: &Path,
    args: &DevnetArgs,
    created: bool,
    nodes: &mut Vec<Running>,
) -> Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    // One listener for the whole run: a Ctrl-C arriving while the loop below is busy (not
    // inside its select) is kept, not lost as it would be with a listener per iteration.
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let bar = progress(specs.len() as u64 + 2);
    let startup = async {
        for spec in specs {
            bar.set_message(format!("starting {}", spec.name));
            nodes.push(children::spawn(exe, spec)?);
        }
        for spec in specs {
            bar.set_message(format!("waiting for {} to answer", spec.name));
            let client = Client::new(&spec.api())?;
            wait_until(nodes, START_LIMIT, &format!("{}'s API", spec.name), || async {
                client.status().await.ok()
            })
            .await?;
            bar.inc(1);
        }
        let client = Client::new(&specs[specs.len() - 1].api())?;
        let start = client.status().await?.height;
        bar.set_message("waiting for new blocks");
        wait_until(nodes, READY_LIMIT, "new blocks", || async {
            client.status().await.ok().filter(|s| s.height > start + 1)
        })
        .await?;
        bar.inc(1);
        if manifest.tee {
            bar.set_message("allowing this binary's simulated enclave");
            let owner = &specs[0].home;
            if tee::allow_binary(&client, owner, &manifest.runtime, exe).await? {
                bar.println("the atoll binary changed: the TEE runtime now allows its enclave");
            }
        }
        if created {
            bar.set_message("funding the test accounts in the ParaTime (its first round)");
            fund_paratime(&client, nodes, dir, manifest, manifest.runtime).await?;
            bar.set_message("funding the development accounts in the EVM ParaTime");
            fund_evm(&client, nodes, dir, manifest).await?;
            if let Some(fhe) = &manifest.fhe {
                bar.set_message("funding the test accounts in the FHE ParaTime (its first round)");
                fund_paratime(&client, nodes, dir, manifest, fhe.runtime).await?;
            }
        }
        bar.inc(1);
        anyhow::Ok((client, start))
    };
    let client = tokio::select! {
        client = startup => client,
        _ = interrupt.recv() => {
            bar.finish_and_clear();
            eprintln!("interrupted while starting");
            return Ok(());
        }
        _ = terminate.recv() => {
            bar.finish_and_clear();
            return Ok(());
        }
    };
    bar.finish_and_clear();
    let (client, start) = client?;
    if !print_line(&summary(dir, manifest, specs, args.byzantine.as_deref())) {
        return Ok(());
    }
    // From the height this run started at: what happened while it got ready is shown too.
    let mut watch = watch::Watch::new(client, start, manifest, specs, args.byzantine.as_deref());
    let status = ProgressBar::new_spinner();
    status.enable_steady_tick(Duration::from_millis(200));
    let plain = status.is_hidden();
    let mut last_plain = Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    let mut reported = std::collections::BTreeSet::new();
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            line = watch.next_line() => {
                if !say(&status, plain, &line) {
                    break;
                }
                continue;
            }
            _ = interrupt.recv() => break,
            _ = terminate.recv() => break,
        }
        for node in nodes.iter_mut() {
            if !node.alive() && reported.insert(node.spec.name.clone()) {
                status.println(format!(
                    "warning: {} stopped; see {}",
                    node.spec.name,
                    node.spec.log().display()
                ));
            }
        }
        if let Some(line) = watch.epoch_line().await {
            if !say(&status, plain, &line) {
                break;
            }
        }
        let line = watch.status(nodes).await;
        if plain && last_plain.elapsed() >= Duration::from_secs(10) {
            if !print_line(&line) {
                break;
            }
            last_plain = Instant::now();
        }
        status.set_message(line);
    }
    status.finish_and_clear();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_fhe_devnet_gets_epochs_its_rounds_outlast() {
        assert_eq!(epoch_interval(None, false).expect("default"), DEFAULT_EPOCH_INTERVAL);
        assert_eq!(epoch_interval(None, true).expect("default"), layout::FHE_EPOCH_INTERVAL);
        assert_eq!(epoch_interval(Some(40), false).expect("asked"), 40);
        let min = layout::FHE_MIN_EPOCH_INTERVAL;
        assert_eq!(epoch_interval(Some(min), true).expect("asked"), min);
        let refused = epoch_interval(Some(min - 1), true).expect_err("too short");
        assert!(refused.to_string().contains("too short for --fhe"), "{refused}");
    }
}
