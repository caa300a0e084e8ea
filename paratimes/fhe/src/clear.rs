//! The clear backend: the same operations on plain numbers, with the meaning tfhe gives them
//! (wrapping arithmetic modulo 2^width, truncating casts). It is the oracle the encrypted
//! backend is tested against, and what `atoll fhe` uses to show what a program computes.

use crate::exec::Backend;
use crate::program::{BinOp, CmpOp, ShiftOp, Ty};
use crate::FheError;

/// A clear value: its type and its number (always within the type's range).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ClearValue {
    /// The type.
    pub ty: Ty,
    /// The number (0 or 1 for a boolean).
    pub value: u64,
}

/// The clear backend.
#[derive(Default)]
pub struct Clear;

fn value(ty: Ty, v: u64) -> ClearValue {
    ClearValue { ty, value: v & ty.max() }
}

impl Backend for Clear {
    type Value = ClearValue;

    fn constant(&mut self, ty: Ty, v: u64) -> Result<ClearValue, FheError> {
        Ok(value(ty, v))
    }

    fn binary(
        &mut self,
        op: BinOp,
        a: &ClearValue,
        b: &ClearValue,
    ) -> Result<ClearValue, FheError> {
        self.binary_const(op, a, b.value)
    }

    fn binary_const(&mut self, op: BinOp, a: &ClearValue, b: u64) -> Result<ClearValue, FheError> {
        let x = a.value;
        let v = match op {
            BinOp::Add => x.wrapping_add(b),
            BinOp::Sub => x.wrapping_sub(b),
            BinOp::Mul => x.wrapping_mul(b),
            BinOp::And => x & b,
            BinOp::Or => x | b,
            BinOp::Xor => x ^ b,
            BinOp::Min => x.min(b),
            BinOp::Max => x.max(b),
        };
        Ok(value(a.ty, v))
    }

    fn shift(&mut self, op: ShiftOp, a: &ClearValue, amount: u8) -> Result<ClearValue, FheError> {
        let v = match op {
            ShiftOp::Left => a.value.checked_shl(u32::from(amount)).unwrap_or(0),
            ShiftOp::Right => a.value.checked_shr(u32::from(amount)).unwrap_or(0),
        };
        Ok(value(a.ty, v))
    }

    fn compare(
        &mut self,
        op: CmpOp,
        a: &ClearValue,
        b: &ClearValue,
    ) -> Result<ClearValue, FheError> {
        let (x, y) = (a.value, b.value);
        let r = match op {
            CmpOp::Eq => x == y,
            CmpOp::Ne => x != y,
            CmpOp::Lt => x < y,
            CmpOp::Le => x <= y,
            CmpOp::Gt => x > y,
            CmpOp::Ge => x >= y,
        };
        Ok(value(Ty::Bool, u64::from(r)))
    }

    fn not(&mut self, a: &ClearValue) -> Result<ClearValue, FheError> {
        Ok(value(a.ty, !a.value))
    }

    fn select(
        &mut self,
        cond: &ClearValue,
        a: &ClearValue,
        b: &ClearValue,
    ) -> Result<ClearValue, FheError> {
        Ok(if cond.value != 0 { *a } else { *b })
    }

    fn cast(&mut self, a: &ClearValue, ty: Ty) -> Result<ClearValue, FheError> {
        Ok(value(ty, a.value))
    }

    fn random(&mut self, ty: Ty, seed: u128) -> Result<ClearValue, FheError> {
        // Not the encrypted backend's value (nobody can know that one): a stand-in with the
        // same range, so programs using randomness still run in the clear.
        Ok(value(ty, seed as u64))
    }
}
