//! Gas of the FHE ParaTime: one unit is one microsecond of evaluation on the reference
//! machine (2 cores, the tfhe build this crate pins, release profile), measured per operation
//! and width by `cargo run --release -p atoll-fhe --example calibrate` and written down here.
//! A call's gas is fixed by its function (no data-dependent paths), so a batch's FHE work is
//! known before it runs: [`ROUND_GAS_LIMIT`] caps what one round may hold, so a committee
//! finishes a round well within the ParaTime's round timeout.

use crate::program::{BinOp, CmpOp, Ty};

/// The most FHE gas one round (batch) may spend: 30 s of reference work.
pub const ROUND_GAS_LIMIT: u64 = 30_000_000;
/// Every call: decoding, the state overlay, the events.
pub const CALL_BASE: u64 = 5_000;
/// Expanding one verified input (its share of the proof check and key switch).
pub const INPUT: u64 = 470_000;
/// A public constant (a trivial ciphertext: no evaluation).
pub const CONST: u64 = 100;
/// Reading or writing a state slot (decoding/encoding a ciphertext).
pub const STATE: u64 = 3_000;
/// A reveal request (encoding the ciphertext into the event).
pub const REVEAL: u64 = 3_000;
/// A public check.
pub const CHECK: u64 = 100;
/// Registering a key set: every worker hashes, decodes and decompresses it (about 60 MB).
pub const KEY_SET: u64 = 2_000_000;
/// Deploying a program (validation and storage).
pub const DEPLOY: u64 = 20_000;
/// Publishing a revealed plaintext.
pub const PUBLISH: u64 = 5_000;
/// Publishing a client key (decoding it).
pub const PUBLISH_KEY: u64 = 50_000;

/// Index of a width in the tables below.
fn w(ty: Ty) -> usize {
    match ty {
        Ty::Bool => 0,
        Ty::U8 => 1,
        Ty::U16 => 2,
        Ty::U32 => 3,
        Ty::U64 => 4,
    }
}

// Measured figures (µs, rounded up) per width: bool, 8, 16, 32, 64 bits, from the calibrate
// example on the reference machine (docs/BENCHMARKS.md, "FHE ParaTime"). Addition and
// subtraction share the slower of the two; 64-bit multiplication is not in the model.
const ADD: [u64; 5] = [0, 210_000, 415_000, 740_000, 1_800_000];
const MUL: [u64; 5] = [0, 720_000, 2_750_000, 9_100_000, u64::MAX / 4];
const BITWISE: [u64; 5] = [42_000, 90_000, 250_000, 335_000, 740_000];
const MINMAX: [u64; 5] = [0, 410_000, 940_000, 1_760_000, 3_630_000];
const COMPARE: [u64; 5] = [42_000, 155_000, 260_000, 510_000, 1_090_000];
const EQ: [u64; 5] = [42_000, 155_000, 275_000, 420_000, 940_000];
const SELECT: [u64; 5] = [93_000, 320_000, 545_000, 1_010_000, 2_260_000];
const SHIFT: [u64; 5] = [0, 87_000, 175_000, 330_000, 740_000];
const NOT: [u64; 5] = [100; 5];
const CAST: [u64; 5] = [10_000; 5];
const RANDOM: [u64; 5] = [0, 70_000, 150_000, 300_000, 500_000];

/// Gas of `a op b` at width `ty` (also of `a op constant`: the two-operand figure is an upper
/// bound).
pub fn binary(op: BinOp, ty: Ty) -> u64 {
    let t = match op {
        BinOp::Add | BinOp::Sub => &ADD,
        BinOp::Mul => &MUL,
        BinOp::And | BinOp::Or | BinOp::Xor => &BITWISE,
        BinOp::Min | BinOp::Max => &MINMAX,
    };
    t[w(ty)]
}

/// Gas of a shift by a public amount.
pub fn shift(ty: Ty) -> u64 {
    SHIFT[w(ty)]
}

/// Gas of a comparison at width `ty`.
pub fn compare(op: CmpOp, ty: Ty) -> u64 {
    match op {
        CmpOp::Eq | CmpOp::Ne => EQ[w(ty)],
        _ => COMPARE[w(ty)],
    }
}

/// Gas of a negation.
pub fn not(ty: Ty) -> u64 {
    NOT[w(ty)]
}

/// Gas of a select between two values of `ty`.
pub fn select(ty: Ty) -> u64 {
    SELECT[w(ty)]
}

/// Gas of a cast (the wider side's cost).
pub fn cast(from: Ty, to: Ty) -> u64 {
    CAST[w(from).max(w(to))]
}

/// Gas of a random value of `ty`.
pub fn random(ty: Ty) -> u64 {
    RANDOM[w(ty)]
}
