//! The EVM ParaTime binary. A compute node starts it with `--socket <path>` (its
//! `binary_args` come first: `--chain-id <n>` sets the Ethereum chain id, which must be the
//! same on every compute node of the ParaTime); `--id` prints its runtime id (for the
//! genesis).

use atoll_evm::{runtime, runtime_id, EvmConfig, DEFAULT_CHAIN_ID};

fn chain_id() -> Result<u64, String> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == "--chain-id") {
        None => Ok(DEFAULT_CHAIN_ID),
        Some(i) => {
            let value = args.get(i + 1).ok_or("--chain-id needs a value")?;
            value.parse().map_err(|_| format!("--chain-id {value:?} is not a number"))
        }
    }
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("--id") {
        println!("{}", runtime_id());
        return;
    }
    let chain_id = match chain_id() {
        Ok(id) => id,
        Err(e) => {
            eprintln!("atoll-evm: {e}");
            std::process::exit(2);
        }
    };
    let config = EvmConfig { chain_id, genesis_balances: Vec::new() };
    std::process::exit(atoll_runtime_sdk::serve::run(runtime(config)));
}
