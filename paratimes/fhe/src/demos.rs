//! The three programs that show why FHE contracts matter, as the CLI deploys them: a private
//! vote, a sealed-bid auction and a confidential token with an auditor key.

use crate::program::{BinOp, CmpOp, Function, Instr, Program, Slot, Ty};

/// Most candidates a [`vote`] may have.
pub const MAX_CANDIDATES: u8 = 8;

/// A private vote among `candidates` (2 to 8): each account casts one encrypted ballot (the
/// candidate's number); the tallies are computed on ciphertext — a ballot adds an encrypted 1
/// to its candidate and an encrypted 0 to every other, so nobody can tell which it chose — and
/// only the election's key holder can decrypt them. `close` (owner only) emits the tallies
/// as reveal requests labelled by candidate.
pub fn vote(candidates: u8) -> Program {
    let n = candidates.clamp(2, MAX_CANDIDATES);
    let mut cast = vec![Instr::OncePerCaller, Instr::Input { dst: 0, index: 0 }];
    let mut close = vec![Instr::OnlyOwner];
    for i in 0..n {
        let slot = Slot::Global(u16::from(i));
        cast.extend([
            Instr::Const { dst: 1, ty: Ty::U8, value: u64::from(i) },
            Instr::Compare { op: CmpOp::Eq, dst: 2, a: 0, b: 1 },
            Instr::Cast { dst: 3, ty: Ty::U16, a: 2 },
            Instr::Load { dst: 4, slot },
            Instr::Binary { op: BinOp::Add, dst: 4, a: 4, b: 3 },
            Instr::Store { slot, src: 4 },
        ]);
        close.extend([Instr::Load { dst: 0, slot }, Instr::Reveal { label: u16::from(i), src: 0 }]);
    }
    Program {
        slots: vec![Ty::U16; usize::from(n)],
        functions: vec![
            Function { name: "vote".into(), inputs: vec![Ty::U8], accounts: 0, body: cast },
            Function { name: "close".into(), inputs: vec![], accounts: 0, body: close },
        ],
    }
}

/// Slot of the auction's highest bid.
pub const HIGHEST: u16 = 0;
/// Slot of the auction's leading bidder's tag.
pub const LEADER: u16 = 1;

/// A sealed-bid auction: each account bids once, encrypted; the highest bid and its bidder's
/// tag ([`crate::module::state::account_tag`]) are kept on ciphertext — a bid replaces them only if
/// it is higher, computed with an encrypted comparison and two selects, so nobody learns
/// whether it did. `close` (owner only) reveals the highest bid (label 0) and the winner's tag
/// (label 1). Equal bids: the first one stands.
pub fn auction() -> Program {
    let bid = vec![
        Instr::OncePerCaller,
        Instr::Input { dst: 0, index: 0 },
        Instr::Load { dst: 1, slot: Slot::Global(HIGHEST) },
        Instr::Compare { op: CmpOp::Gt, dst: 2, a: 0, b: 1 },
        Instr::Select { dst: 3, cond: 2, a: 0, b: 1 },
        Instr::Store { slot: Slot::Global(HIGHEST), src: 3 },
        Instr::CallerTag { dst: 4 },
        Instr::Load { dst: 5, slot: Slot::Global(LEADER) },
        Instr::Select { dst: 6, cond: 2, a: 4, b: 5 },
        Instr::Store { slot: Slot::Global(LEADER), src: 6 },
    ];
    let close = vec![
        Instr::OnlyOwner,
        Instr::Load { dst: 0, slot: Slot::Global(HIGHEST) },
        Instr::Reveal { label: 0, src: 0 },
        Instr::Load { dst: 1, slot: Slot::Global(LEADER) },
        Instr::Reveal { label: 1, src: 1 },
    ];
    Program {
        slots: vec![Ty::U32, Ty::U64],
        functions: vec![
            Function { name: "bid".into(), inputs: vec![Ty::U32], accounts: 0, body: bid },
            Function { name: "close".into(), inputs: vec![], accounts: 0, body: close },
        ],
    }
}

/// Slot of an account's token balance.
pub const BALANCE: u16 = 0;
/// Slot of the token's total supply.
pub const SUPPLY: u16 = 1;

/// A confidential token whose key holder is its auditor: balances and amounts are encrypted;
/// `mint` (owner only) credits an account; `transfer` moves an encrypted amount to the named
/// account — if the sender's balance is lower, an encrypted comparison and select make it move
/// nothing, so an overdraft is impossible and nobody but the auditor learns it was tried;
/// `audit` (owner only) reveals an account's balance (label 0).
pub fn token() -> Program {
    let to = Slot::Account { slot: BALANCE, arg: 0 };
    let mint = vec![
        Instr::OnlyOwner,
        Instr::Input { dst: 0, index: 0 },
        Instr::Load { dst: 1, slot: to },
        Instr::Binary { op: BinOp::Add, dst: 1, a: 1, b: 0 },
        Instr::Store { slot: to, src: 1 },
        Instr::Load { dst: 2, slot: Slot::Global(SUPPLY) },
        Instr::Binary { op: BinOp::Add, dst: 2, a: 2, b: 0 },
        Instr::Store { slot: Slot::Global(SUPPLY), src: 2 },
    ];
    let transfer = vec![
        Instr::Input { dst: 0, index: 0 },
        Instr::Load { dst: 1, slot: Slot::Caller(BALANCE) },
        Instr::Compare { op: CmpOp::Ge, dst: 2, a: 1, b: 0 },
        Instr::Const { dst: 3, ty: Ty::U32, value: 0 },
        Instr::Select { dst: 4, cond: 2, a: 0, b: 3 },
        Instr::Binary { op: BinOp::Sub, dst: 1, a: 1, b: 4 },
        Instr::Store { slot: Slot::Caller(BALANCE), src: 1 },
        Instr::Load { dst: 5, slot: to },
        Instr::Binary { op: BinOp::Add, dst: 5, a: 5, b: 4 },
        Instr::Store { slot: to, src: 5 },
    ];
    let audit = vec![
        Instr::OnlyOwner,
        Instr::Load { dst: 0, slot: to },
        Instr::Reveal { label: 0, src: 0 },
    ];
    Program {
        slots: vec![Ty::U32, Ty::U32],
        functions: vec![
            Function { name: "mint".into(), inputs: vec![Ty::U32], accounts: 1, body: mint },
            Function {
                name: "transfer".into(),
                inputs: vec![Ty::U32],
                accounts: 1,
                body: transfer,
            },
            Function { name: "audit".into(), inputs: vec![], accounts: 1, body: audit },
        ],
    }
}
