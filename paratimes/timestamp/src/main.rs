//! The timestamping ParaTime binary. A compute node starts it with `--socket <path>`.

fn main() {
    std::process::exit(atoll_runtime_sdk::serve::run(atoll_timestamp::runtime()));
}
