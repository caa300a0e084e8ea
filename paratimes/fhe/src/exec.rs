//! The interpreter: runs one function of a checked program over a [`Backend`] — the
//! encrypted one ([`crate::cipher::Encrypted`]) on workers, the clear one
//! ([`crate::clear::Clear`]) as the oracle tests compare it with. The interpreter only moves
//! values between registers, state and the backend; every operation's meaning is the
//! backend's.

use crate::program::{BinOp, CmpOp, Function, Instr, ShiftOp, Slot, Ty, MAX_REGISTERS};
use crate::FheError;

/// The operations a backend provides; each value knows its own type.
pub trait Backend {
    /// A value (a ciphertext, or a clear number in the oracle).
    type Value: Clone;

    /// A public constant.
    fn constant(&mut self, ty: Ty, value: u64) -> Result<Self::Value, FheError>;
    /// `a op b`.
    fn binary(
        &mut self,
        op: BinOp,
        a: &Self::Value,
        b: &Self::Value,
    ) -> Result<Self::Value, FheError>;
    /// `a op value`.
    fn binary_const(
        &mut self,
        op: BinOp,
        a: &Self::Value,
        value: u64,
    ) -> Result<Self::Value, FheError>;
    /// `a` shifted by `amount` bits.
    fn shift(&mut self, op: ShiftOp, a: &Self::Value, amount: u8) -> Result<Self::Value, FheError>;
    /// `a op b` as a boolean.
    fn compare(
        &mut self,
        op: CmpOp,
        a: &Self::Value,
        b: &Self::Value,
    ) -> Result<Self::Value, FheError>;
    /// `!a`.
    fn not(&mut self, a: &Self::Value) -> Result<Self::Value, FheError>;
    /// `cond ? a : b`.
    fn select(
        &mut self,
        cond: &Self::Value,
        a: &Self::Value,
        b: &Self::Value,
    ) -> Result<Self::Value, FheError>;
    /// `a` as `ty`.
    fn cast(&mut self, a: &Self::Value, ty: Ty) -> Result<Self::Value, FheError>;
    /// A random value of `ty` from `seed`.
    fn random(&mut self, ty: Ty, seed: u128) -> Result<Self::Value, FheError>;
}

/// Where the interpreter reads and writes contract state, and what it knows of the call.
pub trait Environment<V> {
    /// The value in `slot` (resolved for this call), if ever stored.
    fn load(&mut self, slot: Slot) -> Result<Option<V>, FheError>;
    /// Stores `value` in `slot`.
    fn store(&mut self, slot: Slot, value: V) -> Result<(), FheError>;
    /// Whether the caller is the contract's owner.
    fn caller_is_owner(&self) -> bool;
    /// Whether the caller already called this function successfully.
    fn caller_called_before(&mut self) -> Result<bool, FheError>;
    /// The caller's public tag.
    fn caller_tag(&self) -> u64;
    /// The seed of the `n`-th random value of this call.
    fn random_seed(&self, n: u32) -> u128;
}

/// A reveal request the call made.
#[derive(Clone, Debug)]
pub struct Reveal<V> {
    /// Its label.
    pub label: u16,
    /// The value.
    pub value: V,
}

/// Runs `function` of a validated program (whose state slots have types `slots`) with `inputs` (already checked against the
/// function's input types); returns the reveal requests. State writes go to `env` as they
/// happen: the caller runs the call on a state overlay it discards if this fails.
pub fn run<B: Backend, E: Environment<B::Value>>(
    backend: &mut B,
    env: &mut E,
    slots: &[Ty],
    function: &Function,
    inputs: &[B::Value],
) -> Result<Vec<Reveal<B::Value>>, FheError> {
    let mut regs: Vec<Option<B::Value>> = vec![None; MAX_REGISTERS];
    let mut reveals = Vec::new();
    let mut randoms = 0u32;
    // Operands are borrowed (a ciphertext is up to half a megabyte): only a stored or
    // revealed value is copied.
    fn reg<V>(regs: &[Option<V>], r: u8) -> Result<&V, FheError> {
        regs.get(usize::from(r))
            .and_then(Option::as_ref)
            .ok_or_else(|| FheError::Execution(format!("register {r} is empty")))
    }
    for instr in &function.body {
        let (dst, value) = match *instr {
            Instr::Input { dst, index } => {
                let value = inputs
                    .get(usize::from(index))
                    .cloned()
                    .ok_or_else(|| FheError::Execution(format!("no input {index}")))?;
                (dst, value)
            }
            Instr::Const { dst, ty, value } => (dst, backend.constant(ty, value)?),
            Instr::CallerTag { dst } => (dst, backend.constant(Ty::U64, env.caller_tag())?),
            Instr::Load { dst, slot } => {
                let value = match env.load(slot)? {
                    Some(v) => v,
                    None => {
                        let ty = slots
                            .get(usize::from(slot.index()))
                            .copied()
                            .ok_or_else(|| FheError::Execution("no such slot".into()))?;
                        backend.constant(ty, 0)?
                    }
                };
                (dst, value)
            }
            Instr::Store { slot, src } => {
                env.store(slot, reg(&regs, src)?.clone())?;
                continue;
            }
            Instr::Binary { op, dst, a, b } => {
                (dst, backend.binary(op, reg(&regs, a)?, reg(&regs, b)?)?)
            }
            Instr::BinaryConst { op, dst, a, value } => {
                (dst, backend.binary_const(op, reg(&regs, a)?, value)?)
            }
            Instr::Shift { op, dst, a, amount } => {
                (dst, backend.shift(op, reg(&regs, a)?, amount)?)
            }
            Instr::Compare { op, dst, a, b } => {
                (dst, backend.compare(op, reg(&regs, a)?, reg(&regs, b)?)?)
            }
            Instr::Not { dst, a } => (dst, backend.not(reg(&regs, a)?)?),
            Instr::Select { dst, cond, a, b } => {
                (dst, backend.select(reg(&regs, cond)?, reg(&regs, a)?, reg(&regs, b)?)?)
            }
            Instr::Cast { dst, ty, a } => (dst, backend.cast(reg(&regs, a)?, ty)?),
            Instr::Random { dst, ty } => {
                let seed = env.random_seed(randoms);
                randoms += 1;
                (dst, backend.random(ty, seed)?)
            }
            Instr::Reveal { label, src } => {
                reveals.push(Reveal { label, value: reg(&regs, src)?.clone() });
                continue;
            }
            Instr::OnlyOwner => {
                if !env.caller_is_owner() {
                    return Err(FheError::Execution(
                        "only the contract's owner may call this".into(),
                    ));
                }
                continue;
            }
            Instr::OncePerCaller => {
                if env.caller_called_before()? {
                    return Err(FheError::Execution(
                        "the caller already called this function".into(),
                    ));
                }
                continue;
            }
        };
        let slot = regs
            .get_mut(usize::from(dst))
            .ok_or_else(|| FheError::Execution(format!("no register {dst}")))?;
        *slot = Some(value);
    }
    Ok(reveals)
}
