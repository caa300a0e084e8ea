//! The timestamping ParaTime binary. A compute node starts it with `--socket <path>`;
//! `--id` prints its runtime id (for the genesis).

fn main() {
    if std::env::args().nth(1).as_deref() == Some("--id") {
        println!("{}", atoll_timestamp::runtime_id());
        return;
    }
    std::process::exit(atoll_runtime_sdk::serve::run(atoll_timestamp::runtime()));
}
