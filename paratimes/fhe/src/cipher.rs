//! The encrypted backend: every operation evaluated by tfhe on ciphertexts with the contract's
//! server key, plus the encodings of ciphertexts in state and of users' proven inputs.

use std::panic::{catch_unwind, AssertUnwindSafe};

use borsh::{BorshDeserialize, BorshSerialize};
use tfhe::prelude::*;
use tfhe::zk::{CompactPkeCrs, ZkComputeLoad};
use tfhe::{
    ClientKey, CompactPublicKey, FheBool, FheUint16, FheUint32, FheUint64, FheUint8,
    ProvenCompactCiphertextList, Seed, ServerKey,
};

use crate::codec::{decode, decode_conformant, encode};
use crate::exec::Backend;
use crate::keys::Evaluation;
use crate::params::{public_key_parameters, MAX_CIPHERTEXT_BYTES, MAX_CRS_BYTES, MAX_INPUT_BYTES};
use crate::program::{BinOp, CmpOp, ShiftOp, Ty};
use crate::FheError;

/// An encrypted value of one of the contract model's types.
#[derive(Clone)]
pub enum Cipher {
    /// A boolean.
    Bool(FheBool),
    /// 8 bits.
    U8(FheUint8),
    /// 16 bits.
    U16(FheUint16),
    /// 32 bits.
    U32(FheUint32),
    /// 64 bits.
    U64(FheUint64),
}

/// Applies `$body` to the integer inside `$v` whatever its width, re-wrapping the result in
/// the same variant; `$bool` handles a boolean.
macro_rules! on_int {
    ($v:expr, |$x:ident| $body:expr, |$b:ident| $bool:expr) => {
        match $v {
            Cipher::Bool($b) => $bool,
            Cipher::U8($x) => Cipher::U8($body),
            Cipher::U16($x) => Cipher::U16($body),
            Cipher::U32($x) => Cipher::U32($body),
            Cipher::U64($x) => Cipher::U64($body),
        }
    };
}

/// Applies `$body` to two values of the same width (`$bool`, giving a result, to two
/// booleans).
macro_rules! on_pair {
    ($a:expr, $b:expr, |$x:ident, $y:ident| $body:expr, |$p:ident, $q:ident| $bool:expr) => {
        match ($a, $b) {
            (Cipher::Bool($p), Cipher::Bool($q)) => $bool,
            (Cipher::U8($x), Cipher::U8($y)) => Ok(Cipher::U8($body)),
            (Cipher::U16($x), Cipher::U16($y)) => Ok(Cipher::U16($body)),
            (Cipher::U32($x), Cipher::U32($y)) => Ok(Cipher::U32($body)),
            (Cipher::U64($x), Cipher::U64($y)) => Ok(Cipher::U64($body)),
            _ => Err(mismatch()),
        }
    };
}

/// Applies `$body` (giving a boolean) to two values of the same width.
macro_rules! compare_pair {
    ($a:expr, $b:expr, |$x:ident, $y:ident| $body:expr) => {
        match ($a, $b) {
            (Cipher::U8($x), Cipher::U8($y)) => Ok(Cipher::Bool($body)),
            (Cipher::U16($x), Cipher::U16($y)) => Ok(Cipher::Bool($body)),
            (Cipher::U32($x), Cipher::U32($y)) => Ok(Cipher::Bool($body)),
            (Cipher::U64($x), Cipher::U64($y)) => Ok(Cipher::Bool($body)),
            _ => Err(mismatch()),
        }
    };
}

fn mismatch() -> FheError {
    FheError::Execution("operands of different types".into())
}

fn needs_integer() -> FheError {
    FheError::Execution("needs an integer".into())
}

impl Cipher {
    /// Its type.
    pub fn ty(&self) -> Ty {
        match self {
            Cipher::Bool(_) => Ty::Bool,
            Cipher::U8(_) => Ty::U8,
            Cipher::U16(_) => Ty::U16,
            Cipher::U32(_) => Ty::U32,
            Cipher::U64(_) => Ty::U64,
        }
    }

    /// A public value as a (trivial) ciphertext.
    pub fn trivial(ty: Ty, v: u64) -> Self {
        let v = v & ty.max();
        match ty {
            Ty::Bool => Cipher::Bool(FheBool::encrypt_trivial(v != 0)),
            Ty::U8 => Cipher::U8(FheUint8::encrypt_trivial(v as u8)),
            Ty::U16 => Cipher::U16(FheUint16::encrypt_trivial(v as u16)),
            Ty::U32 => Cipher::U32(FheUint32::encrypt_trivial(v as u32)),
            Ty::U64 => Cipher::U64(FheUint64::encrypt_trivial(v)),
        }
    }

    /// Encrypts `v` with a client key (tests and the key holder's tools).
    pub fn encrypt(ty: Ty, v: u64, key: &ClientKey) -> Self {
        let v = v & ty.max();
        match ty {
            Ty::Bool => Cipher::Bool(FheBool::encrypt(v != 0, key)),
            Ty::U8 => Cipher::U8(FheUint8::encrypt(v as u8, key)),
            Ty::U16 => Cipher::U16(FheUint16::encrypt(v as u16, key)),
            Ty::U32 => Cipher::U32(FheUint32::encrypt(v as u32, key)),
            Ty::U64 => Cipher::U64(FheUint64::encrypt(v, key)),
        }
    }

    /// Decrypts with the client key (only its holder can).
    pub fn decrypt(&self, key: &ClientKey) -> u64 {
        match self {
            Cipher::Bool(c) => u64::from(FheDecrypt::<bool>::decrypt(c, key)),
            Cipher::U8(c) => u64::from(FheDecrypt::<u8>::decrypt(c, key)),
            Cipher::U16(c) => u64::from(FheDecrypt::<u16>::decrypt(c, key)),
            Cipher::U32(c) => u64::from(FheDecrypt::<u32>::decrypt(c, key)),
            Cipher::U64(c) => FheDecrypt::<u64>::decrypt(c, key),
        }
    }

    /// The state encoding: the type, then tfhe's safe serialization of the ciphertext.
    pub fn encode(&self) -> Result<Vec<u8>, FheError> {
        let body = match self {
            Cipher::Bool(c) => encode(c, MAX_CIPHERTEXT_BYTES)?,
            Cipher::U8(c) => encode(c, MAX_CIPHERTEXT_BYTES)?,
            Cipher::U16(c) => encode(c, MAX_CIPHERTEXT_BYTES)?,
            Cipher::U32(c) => encode(c, MAX_CIPHERTEXT_BYTES)?,
            Cipher::U64(c) => encode(c, MAX_CIPHERTEXT_BYTES)?,
        };
        Ok(atoll_types::encode(&Stored { ty: self.ty(), body }))
    }

    /// Decodes a ciphertext this ParaTime stored.
    pub fn decode(bytes: &[u8]) -> Result<Self, FheError> {
        let stored: Stored =
            atoll_types::decode(bytes, MAX_CIPHERTEXT_BYTES as usize + 16).map_err(|e| {
                FheError::Malformed { what: "stored ciphertext", reason: e.to_string() }
            })?;
        let body = &stored.body;
        Ok(match stored.ty {
            Ty::Bool => Cipher::Bool(decode(body, MAX_CIPHERTEXT_BYTES)?),
            Ty::U8 => Cipher::U8(decode(body, MAX_CIPHERTEXT_BYTES)?),
            Ty::U16 => Cipher::U16(decode(body, MAX_CIPHERTEXT_BYTES)?),
            Ty::U32 => Cipher::U32(decode(body, MAX_CIPHERTEXT_BYTES)?),
            Ty::U64 => Cipher::U64(decode(body, MAX_CIPHERTEXT_BYTES)?),
        })
    }
}

#[derive(BorshSerialize, BorshDeserialize)]
struct Stored {
    ty: Ty,
    body: Vec<u8>,
}

/// The encrypted backend. Creating it installs the contract's server key on this thread
/// (tfhe evaluates with the thread's key).
pub struct Encrypted;

impl Encrypted {
    /// A backend evaluating with `server`.
    pub fn new(server: &ServerKey) -> Self {
        tfhe::set_server_key(server.clone());
        Self
    }
}

impl Backend for Encrypted {
    type Value = Cipher;

    fn constant(&mut self, ty: Ty, v: u64) -> Result<Cipher, FheError> {
        Ok(Cipher::trivial(ty, v))
    }

    fn binary(&mut self, op: BinOp, a: &Cipher, b: &Cipher) -> Result<Cipher, FheError> {
        match op {
            BinOp::Add => on_pair!(a, b, |x, y| x + y, |_p, _q| Err(needs_integer())),
            BinOp::Sub => on_pair!(a, b, |x, y| x - y, |_p, _q| Err(needs_integer())),
            BinOp::Mul => on_pair!(a, b, |x, y| x * y, |_p, _q| Err(needs_integer())),
            BinOp::And => on_pair!(a, b, |x, y| x & y, |p, q| Ok(Cipher::Bool(p & q))),
            BinOp::Or => on_pair!(a, b, |x, y| x | y, |p, q| Ok(Cipher::Bool(p | q))),
            BinOp::Xor => on_pair!(a, b, |x, y| x ^ y, |p, q| Ok(Cipher::Bool(p ^ q))),
            BinOp::Min => on_pair!(a, b, |x, y| x.min(y), |_p, _q| Err(needs_integer())),
            BinOp::Max => on_pair!(a, b, |x, y| x.max(y), |_p, _q| Err(needs_integer())),
        }
    }

    fn binary_const(&mut self, op: BinOp, a: &Cipher, v: u64) -> Result<Cipher, FheError> {
        // tfhe has scalar forms of the arithmetic and bitwise operations; min, max and
        // booleans take the constant as a trivial ciphertext.
        macro_rules! scalar {
            ($x:ident, $t:ty) => {{
                let s = v as $t;
                match op {
                    BinOp::Add => $x + s,
                    BinOp::Sub => $x - s,
                    BinOp::Mul => $x * s,
                    BinOp::And => $x & s,
                    BinOp::Or => $x | s,
                    BinOp::Xor => $x ^ s,
                    BinOp::Min | BinOp::Max => {
                        return self.binary(op, a, &Cipher::trivial(a.ty(), v))
                    }
                }
            }};
        }
        Ok(match a {
            Cipher::Bool(_) => return self.binary(op, a, &Cipher::trivial(Ty::Bool, v)),
            Cipher::U8(x) => Cipher::U8(scalar!(x, u8)),
            Cipher::U16(x) => Cipher::U16(scalar!(x, u16)),
            Cipher::U32(x) => Cipher::U32(scalar!(x, u32)),
            Cipher::U64(x) => Cipher::U64(scalar!(x, u64)),
        })
    }

    fn shift(&mut self, op: ShiftOp, a: &Cipher, amount: u8) -> Result<Cipher, FheError> {
        if a.ty() == Ty::Bool || u32::from(amount) >= a.ty().bits() {
            return Err(FheError::Execution("bad shift".into()));
        }
        Ok(on_int!(
            a,
            |x| match op {
                ShiftOp::Left => x << amount,
                ShiftOp::Right => x >> amount,
            },
            |_b| return Err(needs_integer())
        ))
    }

    fn compare(&mut self, op: CmpOp, a: &Cipher, b: &Cipher) -> Result<Cipher, FheError> {
        if let (Cipher::Bool(p), Cipher::Bool(q)) = (a, b) {
            return match op {
                CmpOp::Eq => Ok(Cipher::Bool(p.eq(q))),
                CmpOp::Ne => Ok(Cipher::Bool(p.ne(q))),
                _ => Err(needs_integer()),
            };
        }
        match op {
            CmpOp::Eq => compare_pair!(a, b, |x, y| x.eq(y)),
            CmpOp::Ne => compare_pair!(a, b, |x, y| x.ne(y)),
            CmpOp::Lt => compare_pair!(a, b, |x, y| x.lt(y)),
            CmpOp::Le => compare_pair!(a, b, |x, y| x.le(y)),
            CmpOp::Gt => compare_pair!(a, b, |x, y| x.gt(y)),
            CmpOp::Ge => compare_pair!(a, b, |x, y| x.ge(y)),
        }
    }

    fn not(&mut self, a: &Cipher) -> Result<Cipher, FheError> {
        Ok(on_int!(a, |x| !x, |b| Cipher::Bool(!b)))
    }

    fn select(&mut self, cond: &Cipher, a: &Cipher, b: &Cipher) -> Result<Cipher, FheError> {
        let Cipher::Bool(c) = cond else {
            return Err(FheError::Execution("the condition must be a boolean".into()));
        };
        on_pair!(a, b, |x, y| c.select(x, y), |p, q| Ok(Cipher::Bool(c.select(p, q))))
    }

    fn cast(&mut self, a: &Cipher, ty: Ty) -> Result<Cipher, FheError> {
        macro_rules! to {
            ($t:ty) => {
                match a {
                    Cipher::Bool(x) => <$t>::cast_from(x.clone()),
                    Cipher::U8(x) => <$t>::cast_from(x.clone()),
                    Cipher::U16(x) => <$t>::cast_from(x.clone()),
                    Cipher::U32(x) => <$t>::cast_from(x.clone()),
                    Cipher::U64(x) => <$t>::cast_from(x.clone()),
                }
            };
        }
        if a.ty() == ty {
            return Ok(a.clone());
        }
        Ok(match ty {
            Ty::Bool => return Err(needs_integer()),
            Ty::U8 => Cipher::U8(to!(FheUint8)),
            Ty::U16 => Cipher::U16(to!(FheUint16)),
            Ty::U32 => Cipher::U32(to!(FheUint32)),
            Ty::U64 => Cipher::U64(to!(FheUint64)),
        })
    }

    fn random(&mut self, ty: Ty, seed: u128) -> Result<Cipher, FheError> {
        let seed = Seed(seed);
        Ok(match ty {
            Ty::Bool => return Err(needs_integer()),
            Ty::U8 => Cipher::U8(FheUint8::generate_oblivious_pseudo_random(seed)),
            Ty::U16 => Cipher::U16(FheUint16::generate_oblivious_pseudo_random(seed)),
            Ty::U32 => Cipher::U32(FheUint32::generate_oblivious_pseudo_random(seed)),
            Ty::U64 => Cipher::U64(FheUint64::generate_oblivious_pseudo_random(seed)),
        })
    }
}

/// Encrypts `values` to a contract's public key with a proof of well-formed encryption bound
/// to `metadata` (what the user's transaction commits to: chain, ParaTime, contract, sender,
/// nonce). What a user's wallet does.
pub fn prove_inputs(
    public: &CompactPublicKey,
    crs: &CompactPkeCrs,
    metadata: &[u8],
    values: &[(Ty, u64)],
) -> Result<Vec<u8>, FheError> {
    let mut builder = ProvenCompactCiphertextList::builder(public);
    for &(ty, v) in values {
        let v = v & ty.max();
        if ty == Ty::Bool {
            builder.push(v != 0);
        } else {
            builder
                .push_with_num_bits(v, ty.bits() as usize)
                .map_err(|e| FheError::Inputs(e.to_string()))?;
        }
    }
    let list = builder
        .build_with_proof_packed(crs, metadata, ZkComputeLoad::Proof)
        .map_err(|e| FheError::Proof(e.to_string()))?;
    encode(&list, MAX_INPUT_BYTES)
}

/// Verifies a user's proven inputs against the contract's key set (its public key), the ParaTime's proof
/// setup and `metadata` (recomputed from the transaction), and expands them into
/// ciphertexts of exactly the `types` the function declares. What every worker does before
/// running a call.
pub fn open_inputs(
    bytes: &[u8],
    keys: &Evaluation,
    crs: &CompactPkeCrs,
    metadata: &[u8],
    types: &[Ty],
) -> Result<Vec<Cipher>, FheError> {
    let conformance = tfhe::integer::ciphertext::IntegerProvenCompactCiphertextListConformanceParams::from_crs_and_parameters(
        public_key_parameters(),
        crs,
    );
    let list: ProvenCompactCiphertextList =
        decode_conformant(bytes, MAX_INPUT_BYTES, &conformance)?;
    if list.len() != types.len() {
        return Err(FheError::Inputs(format!(
            "{} values, the function takes {}",
            list.len(),
            types.len()
        )));
    }
    // Expansion key-switches into the computation parameters: it needs the server key.
    tfhe::set_server_key(keys.server.clone());
    let expanded =
        catch_unwind(AssertUnwindSafe(|| list.verify_and_expand(crs, &keys.public, metadata)))
            .map_err(|_| FheError::Proof("rejected".into()))?
            .map_err(|e| FheError::Proof(e.to_string()))?;
    let wrong = |i: usize| FheError::Inputs(format!("value {i} is not of the declared type"));
    types
        .iter()
        .enumerate()
        .map(|(i, ty)| {
            let got = |e: tfhe::Error| FheError::Inputs(e.to_string());
            Ok(match ty {
                Ty::Bool => {
                    Cipher::Bool(expanded.get::<FheBool>(i).map_err(got)?.ok_or_else(|| wrong(i))?)
                }
                Ty::U8 => {
                    Cipher::U8(expanded.get::<FheUint8>(i).map_err(got)?.ok_or_else(|| wrong(i))?)
                }
                Ty::U16 => {
                    Cipher::U16(expanded.get::<FheUint16>(i).map_err(got)?.ok_or_else(|| wrong(i))?)
                }
                Ty::U32 => {
                    Cipher::U32(expanded.get::<FheUint32>(i).map_err(got)?.ok_or_else(|| wrong(i))?)
                }
                Ty::U64 => {
                    Cipher::U64(expanded.get::<FheUint64>(i).map_err(got)?.ok_or_else(|| wrong(i))?)
                }
            })
        })
        .collect()
}

/// Encodes a proof setup (CRS).
pub fn encode_crs(crs: &CompactPkeCrs) -> Result<Vec<u8>, FheError> {
    encode(crs, MAX_CRS_BYTES)
}

/// Decodes a proof setup from the ParaTime's parameters.
pub fn decode_crs(bytes: &[u8]) -> Result<CompactPkeCrs, FheError> {
    decode(bytes, MAX_CRS_BYTES)
}
