//! Measures what the FHE ParaTime's gas table prices, on this machine: every operation of the
//! contract model at every width through the interpreter's encrypted backend, beside the bare
//! tfhe-rs call, plus key-set, proof and ciphertext sizes and times. Run it in release:
//! `cargo run --release -p atoll-fhe --example calibrate` (about two minutes); the gas table
//! in `src/gas.rs` and docs/BENCHMARKS.md are written from its output.

use std::time::{Duration, Instant};

use atoll_fhe::cipher::{open_inputs, prove_inputs, Cipher, Encrypted};
use atoll_fhe::exec::Backend;
use atoll_fhe::keys::{generate, key_set_id, Evaluation};
use atoll_fhe::params::{config, MAX_PROVEN_BITS};
use atoll_fhe::program::{BinOp, CmpOp, ShiftOp, Ty};
use tfhe::prelude::*;
use tfhe::zk::CompactPkeCrs;

/// Median of `runs` timings of `f`.
fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(f());
            start.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e3)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(3usize);
    let start = Instant::now();
    let keys = generate(rand_seed())?;
    println!(
        "key generation: {} ms; key set {} B; public key {} B",
        ms(start.elapsed()),
        keys.key_set.len(),
        keys.public_key.len()
    );
    let start = Instant::now();
    let evaluation = Evaluation::open(&key_set_id(&keys.key_set), &keys.key_set, &keys.public_key)?;
    println!("key set check + decompression: {} ms", ms(start.elapsed()));
    let start = Instant::now();
    let crs = CompactPkeCrs::from_config(config(), MAX_PROVEN_BITS)?;
    println!(
        "proof setup ({MAX_PROVEN_BITS} bits): {} ms, {} B",
        ms(start.elapsed()),
        atoll_fhe::cipher::encode_crs(&crs)?.len()
    );
    let mut backend = Encrypted::new(&evaluation.server);
    let start = Instant::now();
    let proven = prove_inputs(&evaluation.public, &crs, b"calibrate", &[(Ty::U32, 5)])?;
    println!("prove one 32-bit input: {} ms, {} B", ms(start.elapsed()), proven.len());
    let verify = time(runs, || open_inputs(&proven, &evaluation, &crs, b"calibrate", &[Ty::U32]));
    println!("verify + expand one 32-bit input: {} ms", ms(verify));

    println!("\n| operation | width | tfhe-rs ms | ParaTime ms | ratio |");
    println!("|---|---|---|---|---|");
    for ty in [Ty::Bool, Ty::U8, Ty::U16, Ty::U32, Ty::U64] {
        let a = Cipher::encrypt(ty, 0x5a5a_5a5a_5a5a_5a5a, &keys.client);
        let b = Cipher::encrypt(ty, 0x1234_5678_9abc_def0, &keys.client);
        let cond = Cipher::encrypt(Ty::Bool, 1, &keys.client);
        let row = |name: &str, bare: Duration, ours: Duration| {
            println!(
                "| {name} | {ty:?} | {} | {} | {:.2} |",
                ms(bare),
                ms(ours),
                ours.as_secs_f64() / bare.as_secs_f64().max(1e-9)
            );
        };
        let enc = a.encode()?;
        println!("| (stored ciphertext) | {ty:?} | | {} B | |", enc.len());
        if ty == Ty::Bool {
            let (Cipher::Bool(x), Cipher::Bool(y), Cipher::Bool(c)) = (&a, &b, &cond) else {
                unreachable!()
            };
            row("and", time(runs, || x & y), time(runs, || backend.binary(BinOp::And, &a, &b)));
            row("eq", time(runs, || x.eq(y)), time(runs, || backend.compare(CmpOp::Eq, &a, &b)));
            row(
                "select",
                time(runs, || c.select(x, y)),
                time(runs, || backend.select(&cond, &a, &b)),
            );
            row("not", time(runs, || !x), time(runs, || backend.not(&a)));
            continue;
        }
        macro_rules! bare {
            ($x:ident, $y:ident, $c:ident) => {{
                row(
                    "add",
                    time(runs, || $x + $y),
                    time(runs, || backend.binary(BinOp::Add, &a, &b)),
                );
                row(
                    "sub",
                    time(runs, || $x - $y),
                    time(runs, || backend.binary(BinOp::Sub, &a, &b)),
                );
                if ty != Ty::U64 {
                    row(
                        "mul",
                        time(runs, || $x * $y),
                        time(runs, || backend.binary(BinOp::Mul, &a, &b)),
                    );
                }
                row(
                    "and",
                    time(runs, || $x & $y),
                    time(runs, || backend.binary(BinOp::And, &a, &b)),
                );
                row(
                    "min",
                    time(runs, || $x.min($y)),
                    time(runs, || backend.binary(BinOp::Min, &a, &b)),
                );
                row(
                    "eq",
                    time(runs, || $x.eq($y)),
                    time(runs, || backend.compare(CmpOp::Eq, &a, &b)),
                );
                row(
                    "gt",
                    time(runs, || $x.gt($y)),
                    time(runs, || backend.compare(CmpOp::Gt, &a, &b)),
                );
                row(
                    "select",
                    time(runs, || $c.select($x, $y)),
                    time(runs, || backend.select(&cond, &a, &b)),
                );
                row(
                    "shl 3",
                    time(runs, || $x << 3u8),
                    time(runs, || backend.shift(ShiftOp::Left, &a, 3)),
                );
                row("not", time(runs, || !$x), time(runs, || backend.not(&a)));
                row(
                    "cast to 8",
                    time(runs, || tfhe::FheUint8::cast_from($x.clone())),
                    time(runs, || backend.cast(&a, Ty::U8)),
                );
            }};
        }
        let random = time(runs, || backend.random(ty, 42));
        println!("| random (ParaTime only) | {ty:?} | | {} | |", ms(random));
        let Cipher::Bool(c) = &cond else { unreachable!() };
        match (&a, &b) {
            (Cipher::U8(x), Cipher::U8(y)) => bare!(x, y, c),
            (Cipher::U16(x), Cipher::U16(y)) => bare!(x, y, c),
            (Cipher::U32(x), Cipher::U32(y)) => bare!(x, y, c),
            (Cipher::U64(x), Cipher::U64(y)) => bare!(x, y, c),
            _ => unreachable!(),
        }
    }
    Ok(())
}

fn rand_seed() -> [u8; 32] {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut seed = [0u8; 32];
    seed[..16].copy_from_slice(&nanos.to_le_bytes());
    seed
}
