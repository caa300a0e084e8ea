//! The FHE ParaTime binary. A compute node starts it with `--socket <path>` after its
//! `binary_args`: the proof setup (`--setup <file>`, or `--insecure-setup-seed <text>` on a
//! devnet: anyone who knows the seed can forge input proofs) and the directory of key sets
//! this node has (`--key-sets <dir>`, files `<id>.keyset`). `--id` prints its runtime id (for
//! the genesis); `--setup-id` prints the id of the setup the other arguments name.

use atoll_fhe::module::keysets::{Directory, KeySets, NoKeySets};
use atoll_fhe::setup::ProofSetup;
use atoll_fhe::{runtime, runtime_id, FheConfig};

fn value(args: &[String], flag: &str) -> Result<Option<String>, String> {
    match args.iter().position(|a| a == flag) {
        None => Ok(None),
        Some(i) => {
            args.get(i + 1).cloned().map(Some).ok_or_else(|| format!("{flag} needs a value"))
        }
    }
}

fn setup(args: &[String]) -> Result<ProofSetup, String> {
    match (value(args, "--setup")?, value(args, "--insecure-setup-seed")?) {
        (Some(path), None) => {
            let bytes = std::fs::read(&path).map_err(|e| format!("{path}: {e}"))?;
            ProofSetup::from_bytes(&bytes).map_err(|e| format!("{path}: {e}"))
        }
        (None, Some(seed)) => {
            ProofSetup::insecure_from_seed(seed.as_bytes()).map_err(|e| e.to_string())
        }
        _ => Err("give exactly one of --setup <file> and --insecure-setup-seed <text>".into()),
    }
}

fn config(args: &[String]) -> Result<FheConfig, String> {
    let setup = setup(args)?;
    if setup.insecure {
        eprintln!("atoll-fhe: INSECURE proof setup {} (from a public seed)", setup.id);
    }
    let key_sets = match value(args, "--key-sets")? {
        Some(dir) => KeySets::new(Box::new(Directory::new(dir))),
        None => KeySets::new(Box::new(NoKeySets)),
    };
    Ok(FheConfig { setup, key_sets, genesis_balances: Vec::new() })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--id") {
        println!("{}", runtime_id());
        return;
    }
    let config = match config(&args) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("atoll-fhe: {e}");
            std::process::exit(2);
        }
    };
    if args.iter().any(|a| a == "--setup-id") {
        println!("{}", config.setup.id);
        return;
    }
    std::process::exit(atoll_runtime_sdk::serve::run(runtime(config)));
}
