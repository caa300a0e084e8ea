//! The FHE ParaTime binary. A compute node starts it with `--socket <path>` after its
//! `binary_args`: the proof setup file (`--setup <file>`, with `--setup-insecure` for a
//! devnet's, derived from a public seed) and the directory of key sets this node has
//! (`--key-sets <dir>`, files `<id>.keyset`). It runs the known-answer test before it
//! serves. `--id` prints its runtime id (for the genesis).

use atoll_fhe::node::{prepare, NodeOptions};
use atoll_fhe::{runtime, runtime_id};

fn value(args: &[String], flag: &str) -> Result<Option<String>, String> {
    match args.iter().position(|a| a == flag) {
        None => Ok(None),
        Some(i) => {
            args.get(i + 1).cloned().map(Some).ok_or_else(|| format!("{flag} needs a value"))
        }
    }
}

fn options(args: &[String]) -> Result<NodeOptions, String> {
    Ok(NodeOptions {
        setup: value(args, "--setup")?.ok_or("--setup <file> is required")?.into(),
        setup_insecure: args.iter().any(|a| a == "--setup-insecure"),
        key_sets: value(args, "--key-sets")?.map(Into::into),
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--id") {
        println!("{}", runtime_id());
        return;
    }
    match options(&args).and_then(|options| prepare(&options)) {
        Ok(config) => std::process::exit(atoll_runtime_sdk::serve::run(runtime(config))),
        Err(e) => {
            eprintln!("atoll-fhe: {e}");
            std::process::exit(2);
        }
    }
}
