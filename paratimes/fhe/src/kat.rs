//! The known-answer test. Determinism is a consensus property of this ParaTime: every worker
//! must compute the same ciphertext bytes, or discrepancy detection fails honest nodes. tfhe's
//! arithmetic is deterministic only on machines that compute its FFT the same way, so every
//! compute node runs this test at start-up: a key set from a fixed seed, inputs encrypted with
//! a fixed seed, a fixed sequence of the contract model's operations, and the SHA-256 of every
//! output ciphertext's encoding. A node whose answer is not [`KNOWN_ANSWER`] must not serve the
//! ParaTime.

use atoll_types::Hash;
use tfhe::prelude::*;
use tfhe::{CompactCiphertextList, FheUint32};

use crate::cipher::{Cipher, Encrypted};
use crate::exec::Backend;
use crate::keys::generate;
use crate::program::{BinOp, CmpOp, ShiftOp, Ty};
use crate::FheError;

/// The answer on a conforming machine (x86-64 with AVX2 and FMA, tfhe 1.8.2 as pinned).
pub const KNOWN_ANSWER: &str = "d39bb5bc7b506c2f6fc0ce4573f8eeb1c4f41b28630f141d30fb51147c4f917c";

/// The CPU architecture the answer is computed on (as Rust names it).
pub const CPU_ARCH: &str = "x86_64";
/// The CPU features tfhe's FFT uses there: the runtime descriptor names them.
pub const CPU_FEATURES: [&str; 2] = ["avx2", "fma"];

/// Runs the test; returns the hash of its outputs. Takes a few seconds (key generation).
pub fn run() -> Result<Hash, FheError> {
    let keys = generate([0x4b; 32])?;
    let evaluation = crate::keys::Evaluation::open(
        &crate::keys::key_set_id(&keys.key_set),
        &keys.key_set,
        &keys.public_key,
    )?;
    let mut backend = Encrypted::new(&evaluation.server);
    let list = CompactCiphertextList::builder(&evaluation.public)
        .push(1_234_567u32)
        .push(89_012u32)
        .build_packed_seeded(b"atoll/fhe: known-answer inputs")
        .map_err(|e| FheError::Inputs(e.to_string()))?;
    let expanded = list.expand().map_err(|e| FheError::Inputs(e.to_string()))?;
    let input = |i: usize| -> Result<Cipher, FheError> {
        expanded
            .get::<FheUint32>(i)
            .map_err(|e| FheError::Inputs(e.to_string()))?
            .map(Cipher::U32)
            .ok_or_else(|| FheError::Inputs("missing".into()))
    };
    let (a, b) = (input(0)?, input(1)?);
    let sum = backend.binary(BinOp::Add, &a, &b)?;
    let diff = backend.binary(BinOp::Sub, &a, &b)?;
    let gt = backend.compare(CmpOp::Gt, &a, &b)?;
    let chosen = backend.select(&gt, &diff, &sum)?;
    let narrow = backend.cast(&chosen, Ty::U16)?;
    let three = backend.constant(Ty::U16, 3)?;
    let product = backend.binary(BinOp::Mul, &narrow, &three)?;
    let shifted = backend.shift(ShiftOp::Right, &product, 3)?;
    let random = backend.random(Ty::U8, 0x5eed)?;
    let outputs = [sum, diff, gt, chosen, narrow, product, shifted, random];
    let mut encoded = Vec::new();
    for output in &outputs {
        encoded.extend_from_slice(Hash::digest(&output.encode()?).as_bytes());
    }
    // The arithmetic must also be right, not only repeatable.
    let plain: Vec<u64> = outputs[..7].iter().map(|c| c.decrypt(&keys.client)).collect();
    let narrow = 1_145_555 & 0xffff;
    let product = (narrow * 3) & 0xffff;
    let expected = [1_323_579, 1_145_555, 1, 1_145_555, narrow, product, product >> 3];
    if plain != expected {
        return Err(FheError::Execution(format!("known-answer arithmetic is wrong: {plain:?}")));
    }
    Ok(Hash::digest(&encoded))
}
