//! Runs the known-answer test and prints its hash, and whether it is the known answer:
//! `cargo run --release -p atoll-fhe --example kat`. Built with tfhe's AVX-512 code paths
//! (`--features tfhe/avx512`) it shows whether those compute the same bytes.

fn main() {
    match atoll_fhe::kat::run() {
        Ok(hash) => {
            let known = hash.to_string() == atoll_fhe::kat::KNOWN_ANSWER;
            println!(
                "{hash} {}",
                if known { "(the known answer)" } else { "(NOT the known answer)" }
            );
            std::process::exit(if known { 0 } else { 1 });
        }
        Err(e) => {
            eprintln!("known-answer test failed: {e}");
            std::process::exit(2);
        }
    }
}
