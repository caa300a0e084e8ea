//! `atoll evm`: tools for the EVM ParaTime. `statetest` runs Ethereum `GeneralStateTests`
//! fixtures through the ParaTime's own transaction path and state backend.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use atoll_evm::statetest::{run_dir, Verdict};
use clap::Subcommand;

/// `atoll evm …`
#[derive(Subcommand, Debug)]
pub(crate) enum EvmCommand {
    /// Run a directory of Ethereum state test fixtures (e.g. `GeneralStateTests`): prints
    /// each failure with its reason, a line per folder, then `N passed, M failed`.
    Statetest {
        /// The fixture directory (searched recursively for `.json` files).
        dir: PathBuf,
    },
}

/// Runs an `atoll evm` command.
pub(crate) fn run(command: EvmCommand) -> Result<()> {
    match command {
        EvmCommand::Statetest { dir } => statetest(dir),
    }
}

fn statetest(dir: PathBuf) -> Result<()> {
    if !dir.is_dir() {
        bail!("{} is not a directory", dir.display());
    }
    let report = run_dir(&dir).with_context(|| format!("reading {}", dir.display()))?;
    for failure in &report.failures {
        if let Verdict::Fail(reason) = &failure.verdict {
            let file = failure.file.strip_prefix(&dir).unwrap_or(&failure.file);
            println!(
                "FAIL {} {} {}[{}]: {reason}",
                file.display(),
                failure.name,
                failure.fork,
                failure.index
            );
        }
    }
    for (folder, tally) in &report.folders {
        let run = tally.passed + tally.failed;
        let rate = if run == 0 { 100.0 } else { 100.0 * tally.passed as f64 / run as f64 };
        println!(
            "{folder}: {} passed, {} failed, {} skipped ({rate:.1}%)",
            tally.passed, tally.failed, tally.skipped
        );
    }
    let total = report.total();
    println!("{} passed, {} failed", total.passed, total.failed);
    if total.failed > 0 {
        bail!("{} state test variants failed", total.failed);
    }
    Ok(())
}
