//! The contract model: a program is a few functions, each a straight-line list of
//! instructions over typed registers holding ciphertexts. Nothing branches on an encrypted
//! value — a choice between two encrypted values is a [`Instr::Select`], computed both ways —
//! so what a call costs and which state it touches are public, known before it runs, and the
//! same on every worker. The only checks that stop a call are on public facts (who calls,
//! whether they called before).
//!
//! [`Program::validate`] type-checks every function and prices it; a program that fails is
//! refused at deployment, so execution never meets an ill-typed instruction.

use borsh::{BorshDeserialize, BorshSerialize};

use crate::gas;
use crate::FheError;

/// Most registers a function may use.
pub const MAX_REGISTERS: usize = 32;
/// Most instructions in a function.
pub const MAX_INSTRUCTIONS: usize = 256;
/// Most functions in a program.
pub const MAX_FUNCTIONS: usize = 16;
/// Most state slots a program declares.
pub const MAX_SLOTS: usize = 64;
/// Most encrypted inputs a call carries.
pub const MAX_INPUTS: usize = 4;
/// Most clear account arguments a call carries.
pub const MAX_ACCOUNT_ARGS: usize = 4;
/// Most reveal requests in one function.
pub const MAX_REVEALS: usize = 16;
/// Longest function name.
pub const MAX_NAME: usize = 32;
/// The most gas one call may cost (so one call fits in a round: see [`crate::gas`]).
pub const MAX_CALL_GAS: u64 = gas::ROUND_GAS_LIMIT;

/// The type of an encrypted value.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash, BorshSerialize, BorshDeserialize)]
pub enum Ty {
    /// An encrypted boolean.
    Bool,
    /// An encrypted 8-bit unsigned integer.
    U8,
    /// 16 bits.
    U16,
    /// 32 bits.
    U32,
    /// 64 bits.
    U64,
}

impl Ty {
    /// Width in bits.
    pub fn bits(self) -> u32 {
        match self {
            Ty::Bool => 1,
            Ty::U8 => 8,
            Ty::U16 => 16,
            Ty::U32 => 32,
            Ty::U64 => 64,
        }
    }

    /// The largest value of the type.
    pub fn max(self) -> u64 {
        match self {
            Ty::U64 => u64::MAX,
            t => (1u64 << t.bits()) - 1,
        }
    }

    /// Whether it is an integer type.
    pub fn is_integer(self) -> bool {
        self != Ty::Bool
    }
}

/// A register number.
pub type Reg = u8;

/// Where a state value lives.
#[derive(Clone, Copy, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub enum Slot {
    /// Slot `slot` of the contract.
    Global(u16),
    /// Slot `slot` of the calling account (e.g. its balance).
    Caller(u16),
    /// Slot `slot` of the account the call names in clear account argument `arg` (e.g. the
    /// recipient of a transfer).
    Account {
        /// The slot.
        slot: u16,
        /// Which account argument.
        arg: u8,
    },
}

impl Slot {
    /// The declared slot number.
    pub fn index(self) -> u16 {
        match self {
            Slot::Global(s) | Slot::Caller(s) | Slot::Account { slot: s, .. } => s,
        }
    }
}

/// Two-operand integer and boolean operations.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash, BorshSerialize, BorshDeserialize)]
pub enum BinOp {
    /// Wrapping addition.
    Add,
    /// Wrapping subtraction.
    Sub,
    /// Wrapping multiplication (at most 32 bits wide).
    Mul,
    /// Bitwise (or logical) and.
    And,
    /// Bitwise (or logical) or.
    Or,
    /// Bitwise (or logical) exclusive or.
    Xor,
    /// The smaller.
    Min,
    /// The larger.
    Max,
}

/// Comparisons; the result is an encrypted boolean.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash, BorshSerialize, BorshDeserialize)]
pub enum CmpOp {
    /// Equal.
    Eq,
    /// Not equal.
    Ne,
    /// Less than.
    Lt,
    /// Less than or equal.
    Le,
    /// Greater than.
    Gt,
    /// Greater than or equal.
    Ge,
}

/// Shifts by a clear amount.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash, BorshSerialize, BorshDeserialize)]
pub enum ShiftOp {
    /// Left.
    Left,
    /// Right (logical).
    Right,
}

/// One instruction.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub enum Instr {
    /// `dst` ← encrypted input `index` of the call (its type is the function's declared one).
    Input {
        /// Destination.
        dst: Reg,
        /// Which input.
        index: u8,
    },
    /// `dst` ← a public constant (a trivial encryption).
    Const {
        /// Destination.
        dst: Reg,
        /// Its type.
        ty: Ty,
        /// Its value (must fit the type).
        value: u64,
    },
    /// `dst` ← the caller's tag (a 64-bit public value: the first 8 bytes of its address),
    /// e.g. to record an auction's leading bidder under encryption.
    CallerTag {
        /// Destination (a 64-bit register).
        dst: Reg,
    },
    /// `dst` ← a state value (an encrypted zero of the slot's type if never stored).
    Load {
        /// Destination.
        dst: Reg,
        /// Where.
        slot: Slot,
    },
    /// A state value ← `src` (of the slot's type).
    Store {
        /// Where.
        slot: Slot,
        /// Source.
        src: Reg,
    },
    /// `dst` ← `a op b` (same types).
    Binary {
        /// The operation.
        op: BinOp,
        /// Destination.
        dst: Reg,
        /// Left operand.
        a: Reg,
        /// Right operand.
        b: Reg,
    },
    /// `dst` ← `a op value` with a public right operand.
    BinaryConst {
        /// The operation.
        op: BinOp,
        /// Destination.
        dst: Reg,
        /// Left operand (an integer).
        a: Reg,
        /// The public operand (must fit the type).
        value: u64,
    },
    /// `dst` ← `a` shifted by a public amount (less than the width).
    Shift {
        /// Direction.
        op: ShiftOp,
        /// Destination.
        dst: Reg,
        /// Operand (an integer).
        a: Reg,
        /// Amount in bits.
        amount: u8,
    },
    /// `dst` ← `a op b` as an encrypted boolean.
    Compare {
        /// The comparison.
        op: CmpOp,
        /// Destination.
        dst: Reg,
        /// Left operand.
        a: Reg,
        /// Right operand.
        b: Reg,
    },
    /// `dst` ← `!a` (logical for booleans, bitwise for integers).
    Not {
        /// Destination.
        dst: Reg,
        /// Operand.
        a: Reg,
    },
    /// `dst` ← `cond ? a : b` (both computed; nothing about `cond` leaks).
    Select {
        /// Destination.
        dst: Reg,
        /// An encrypted boolean.
        cond: Reg,
        /// Taken if true.
        a: Reg,
        /// Taken if false.
        b: Reg,
    },
    /// `dst` ← `a` as type `ty` (truncating, zero-extending; a boolean becomes 0 or 1).
    Cast {
        /// Destination.
        dst: Reg,
        /// Target type (an integer).
        ty: Ty,
        /// Operand.
        a: Reg,
    },
    /// `dst` ← an encrypted random value nobody knows, seeded by the round and the
    /// transaction (so every worker computes the same ciphertext).
    Random {
        /// Destination.
        dst: Reg,
        /// Its type (an integer).
        ty: Ty,
    },
    /// Emits a reveal request: an event carrying `src`'s ciphertext under `label`, for the
    /// key holder to decrypt (and publish, if they choose).
    Reveal {
        /// A label the program's users agree on (e.g. a candidate number).
        label: u16,
        /// What to reveal.
        src: Reg,
    },
    /// Stops the call unless the caller is the contract's owner.
    OnlyOwner,
    /// Stops the call if the caller already made a successful call to this function (a
    /// public record: e.g. one ballot per voter).
    OncePerCaller,
}

/// A function of a program.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct Function {
    /// Its name (what callers name).
    pub name: String,
    /// Types of the encrypted inputs a call must carry, in order.
    pub inputs: Vec<Ty>,
    /// How many clear account arguments a call must carry.
    pub accounts: u8,
    /// The body.
    pub body: Vec<Instr>,
}

/// A program: its state slots' types and its functions.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize)]
pub struct Program {
    /// Type of each state slot (a slot is per contract or per account by how it is used).
    pub slots: Vec<Ty>,
    /// The functions.
    pub functions: Vec<Function>,
}

/// What validation learns about a function.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Checked {
    /// The gas one call costs (fixed: no data-dependent path).
    pub gas: u64,
}

fn err(function: &str, at: usize, what: impl std::fmt::Display) -> FheError {
    FheError::Program(format!("{function}, instruction {at}: {what}"))
}

impl Program {
    /// The function named `name`, with its index.
    pub fn function(&self, name: &str) -> Option<(usize, &Function)> {
        self.functions.iter().enumerate().find(|(_, f)| f.name == name)
    }

    /// Type-checks and prices every function; the checked summary of each, in order.
    pub fn validate(&self) -> Result<Vec<Checked>, FheError> {
        if self.slots.len() > MAX_SLOTS {
            return Err(FheError::Program(format!("more than {MAX_SLOTS} slots")));
        }
        if self.functions.is_empty() || self.functions.len() > MAX_FUNCTIONS {
            return Err(FheError::Program(format!("1 to {MAX_FUNCTIONS} functions")));
        }
        let mut names = std::collections::BTreeSet::new();
        self.functions
            .iter()
            .map(|f| {
                if !names.insert(f.name.as_str()) {
                    return Err(FheError::Program(format!("two functions named {}", f.name)));
                }
                self.check_function(f)
            })
            .collect()
    }

    fn check_function(&self, f: &Function) -> Result<Checked, FheError> {
        let name = f.name.as_str();
        if name.is_empty()
            || name.len() > MAX_NAME
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(FheError::Program(format!("bad function name {name:?}")));
        }
        if f.inputs.len() > MAX_INPUTS || usize::from(f.accounts) > MAX_ACCOUNT_ARGS {
            return Err(err(name, 0, "too many inputs or account arguments"));
        }
        if f.body.len() > MAX_INSTRUCTIONS {
            return Err(err(name, 0, format!("more than {MAX_INSTRUCTIONS} instructions")));
        }
        let mut regs: [Option<Ty>; MAX_REGISTERS] = [None; MAX_REGISTERS];
        // Every declared input is verified and expanded, used or not.
        let mut gas =
            gas::CALL_BASE.saturating_add(gas::INPUT.saturating_mul(f.inputs.len() as u64));
        let mut reveals = 0usize;
        for (at, instr) in f.body.iter().enumerate() {
            let read = |r: Reg| -> Result<Ty, FheError> {
                regs.get(usize::from(r))
                    .copied()
                    .flatten()
                    .ok_or_else(|| err(name, at, format!("register {r} read before it is written")))
            };
            let slot_ty = |slot: Slot| -> Result<Ty, FheError> {
                if let Slot::Account { arg, .. } = slot {
                    if arg >= f.accounts {
                        return Err(err(name, at, format!("no account argument {arg}")));
                    }
                }
                self.slots
                    .get(usize::from(slot.index()))
                    .copied()
                    .ok_or_else(|| err(name, at, format!("no slot {}", slot.index())))
            };
            let integer = |t: Ty| -> Result<Ty, FheError> {
                if t.is_integer() {
                    Ok(t)
                } else {
                    Err(err(name, at, "needs an integer"))
                }
            };
            let (written, cost) = match *instr {
                Instr::Input { dst, index } => {
                    let ty = f
                        .inputs
                        .get(usize::from(index))
                        .copied()
                        .ok_or_else(|| err(name, at, format!("no input {index}")))?;
                    (Some((dst, ty)), gas::CONST)
                }
                Instr::Const { dst, ty, value } => {
                    if value > ty.max() {
                        return Err(err(name, at, format!("{value} does not fit {ty:?}")));
                    }
                    (Some((dst, ty)), gas::CONST)
                }
                Instr::CallerTag { dst } => (Some((dst, Ty::U64)), gas::CONST),
                Instr::Load { dst, slot } => (Some((dst, slot_ty(slot)?)), gas::STATE),
                Instr::Store { slot, src } => {
                    let ty = slot_ty(slot)?;
                    if read(src)? != ty {
                        return Err(err(name, at, format!("slot {} holds {ty:?}", slot.index())));
                    }
                    (None, gas::STATE)
                }
                Instr::Binary { op, dst, a, b } => {
                    let ty = read(a)?;
                    if read(b)? != ty {
                        return Err(err(name, at, "operands of different types"));
                    }
                    check_binary(op, ty).map_err(|e| err(name, at, e))?;
                    (Some((dst, ty)), gas::binary(op, ty))
                }
                Instr::BinaryConst { op, dst, a, value } => {
                    let ty = integer(read(a)?)?;
                    check_binary(op, ty).map_err(|e| err(name, at, e))?;
                    if value > ty.max() {
                        return Err(err(name, at, format!("{value} does not fit {ty:?}")));
                    }
                    (Some((dst, ty)), gas::binary(op, ty))
                }
                Instr::Shift { dst, a, amount, .. } => {
                    let ty = integer(read(a)?)?;
                    if u32::from(amount) >= ty.bits() {
                        return Err(err(name, at, "shift amount not below the width"));
                    }
                    (Some((dst, ty)), gas::shift(ty))
                }
                Instr::Compare { op, dst, a, b } => {
                    let ty = read(a)?;
                    if read(b)? != ty {
                        return Err(err(name, at, "operands of different types"));
                    }
                    if !ty.is_integer() && !matches!(op, CmpOp::Eq | CmpOp::Ne) {
                        return Err(err(name, at, "booleans compare only for equality"));
                    }
                    (Some((dst, Ty::Bool)), gas::compare(op, ty))
                }
                Instr::Not { dst, a } => {
                    let ty = read(a)?;
                    (Some((dst, ty)), gas::not(ty))
                }
                Instr::Select { dst, cond, a, b } => {
                    if read(cond)? != Ty::Bool {
                        return Err(err(name, at, "the condition must be a boolean"));
                    }
                    let ty = read(a)?;
                    if read(b)? != ty {
                        return Err(err(name, at, "branches of different types"));
                    }
                    (Some((dst, ty)), gas::select(ty))
                }
                Instr::Cast { dst, ty, a } => {
                    let from = read(a)?;
                    integer(ty)?;
                    (Some((dst, ty)), gas::cast(from, ty))
                }
                Instr::Random { dst, ty } => (Some((dst, integer(ty)?)), gas::random(ty)),
                Instr::Reveal { src, .. } => {
                    reveals += 1;
                    if reveals > MAX_REVEALS {
                        return Err(err(name, at, format!("more than {MAX_REVEALS} reveals")));
                    }
                    read(src)?;
                    (None, gas::REVEAL)
                }
                Instr::OnlyOwner | Instr::OncePerCaller => (None, gas::CHECK),
            };
            if let Some((dst, ty)) = written {
                let slot = regs
                    .get_mut(usize::from(dst))
                    .ok_or_else(|| err(name, at, format!("register {dst} over {MAX_REGISTERS}")))?;
                *slot = Some(ty);
            }
            gas = gas.saturating_add(cost);
        }
        if gas > MAX_CALL_GAS {
            return Err(FheError::Program(format!(
                "{name} costs {gas} gas, over the {MAX_CALL_GAS} a call may cost"
            )));
        }
        Ok(Checked { gas })
    }
}

fn check_binary(op: BinOp, ty: Ty) -> Result<(), &'static str> {
    match op {
        BinOp::And | BinOp::Or | BinOp::Xor => Ok(()),
        _ if !ty.is_integer() => Err("needs an integer"),
        BinOp::Mul if ty == Ty::U64 => Err("multiplication is at most 32 bits wide"),
        _ => Ok(()),
    }
}
