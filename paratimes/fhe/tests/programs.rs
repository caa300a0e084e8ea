//! The contract model without encryption: validation refuses what breaks its rules, and the
//! demo programs compute what they promise on the clear backend (the oracle the encrypted
//! backend is held to in `encrypted.rs`).

mod common;

use atoll_fhe::clear::{Clear, ClearValue};
use atoll_fhe::demos::{auction, token, vote};
use atoll_fhe::program::{BinOp, Function, Instr, Program, ShiftOp, Slot, Ty, MAX_INSTRUCTIONS};
use common::Memory;

fn v(ty: Ty, value: u64) -> ClearValue {
    ClearValue { ty, value }
}

fn one(body: Vec<Instr>, inputs: Vec<Ty>) -> Program {
    Program {
        slots: vec![Ty::U32, Ty::U64],
        functions: vec![Function { name: "f".into(), inputs, accounts: 1, body }],
    }
}

fn refused(program: Program, why: &str) {
    let err = program.validate().expect_err("refused").to_string();
    assert!(err.contains(why), "{err} does not say {why}");
}

#[test]
fn the_demo_programs_validate_with_a_fixed_price_per_call() {
    for program in [vote(3), vote(8), auction(), token()] {
        let checked = program.validate().expect("valid");
        assert_eq!(checked.len(), program.functions.len());
        assert!(checked.iter().all(|c| c.gas > 0 && c.gas <= atoll_fhe::program::MAX_CALL_GAS));
    }
    // A ballot over more candidates costs more.
    let ballot = |n| vote(n).validate().expect("valid")[0].gas;
    assert!(ballot(8) > ballot(3));
}

#[test]
fn validation_refuses_what_breaks_the_rules() {
    refused(one(vec![Instr::Store { slot: Slot::Global(0), src: 1 }], vec![]), "read before");
    refused(
        one(
            vec![Instr::Input { dst: 0, index: 0 }, Instr::Store { slot: Slot::Global(1), src: 0 }],
            vec![Ty::U32],
        ),
        "holds U64",
    );
    refused(
        one(
            vec![
                Instr::Load { dst: 0, slot: Slot::Global(1) },
                Instr::Binary { op: BinOp::Mul, dst: 1, a: 0, b: 0 },
            ],
            vec![],
        ),
        "at most 32 bits",
    );
    refused(
        one(
            vec![
                Instr::Load { dst: 0, slot: Slot::Global(0) },
                Instr::Shift { op: ShiftOp::Left, dst: 0, a: 0, amount: 32 },
            ],
            vec![],
        ),
        "shift amount",
    );
    refused(one(vec![Instr::Const { dst: 0, ty: Ty::U8, value: 256 }], vec![]), "does not fit");
    refused(one(vec![Instr::Load { dst: 0, slot: Slot::Global(9) }], vec![]), "no slot 9");
    refused(
        one(vec![Instr::Load { dst: 0, slot: Slot::Account { slot: 0, arg: 1 } }], vec![]),
        "no account argument 1",
    );
    refused(one(vec![Instr::Input { dst: 0, index: 1 }], vec![Ty::U8]), "no input 1");
    refused(one(vec![Instr::Const { dst: 40, ty: Ty::U8, value: 1 }], vec![]), "register 40");
    refused(
        one(
            vec![
                Instr::Const { dst: 0, ty: Ty::Bool, value: 1 },
                Instr::Const { dst: 1, ty: Ty::U8, value: 1 },
                Instr::Select { dst: 2, cond: 1, a: 0, b: 0 },
            ],
            vec![],
        ),
        "must be a boolean",
    );
    refused(one(vec![Instr::OnlyOwner; MAX_INSTRUCTIONS + 1], vec![]), "instructions");
    // Over the per-call gas: many 32-bit multiplications.
    let mut heavy = vec![Instr::Load { dst: 0, slot: Slot::Global(0) }];
    heavy.extend((0..100).map(|_| Instr::Binary { op: BinOp::Mul, dst: 0, a: 0, b: 0 }));
    refused(one(heavy, vec![]), "gas");
    let mut twice = token();
    twice.functions[1].name = "mint".into();
    refused(twice, "two functions named mint");
}

#[test]
fn a_private_vote_counts_every_ballot_once() {
    let program = vote(3);
    let mut memory = Memory::new(1);
    let ballots = [(10, 2), (11, 0), (12, 2), (13, 1), (14, 2)];
    for (voter, choice) in ballots {
        memory
            .call(&mut Clear, &program, "vote", voter, &[], &[v(Ty::U8, choice)])
            .expect("counted");
    }
    // A second ballot from the same voter is refused and changes nothing.
    let err =
        memory.call(&mut Clear, &program, "vote", 10, &[], &[v(Ty::U8, 0)]).expect_err("once");
    assert!(err.to_string().contains("already"));
    // Only the owner closes.
    assert!(memory.call(&mut Clear, &program, "close", 10, &[], &[]).is_err());
    let tallies = memory.call(&mut Clear, &program, "close", 1, &[], &[]).expect("closed");
    let counted: Vec<(u16, u64)> = tallies.iter().map(|r| (r.label, r.value.value)).collect();
    assert_eq!(counted, vec![(0, 1), (1, 1), (2, 3)]);
}

#[test]
fn a_sealed_bid_auction_finds_the_highest_bid_and_its_bidder() {
    let program = auction();
    let mut memory = Memory::new(1);
    for (bidder, bid) in [(21, 500), (22, 900), (23, 900), (24, 100)] {
        memory.call(&mut Clear, &program, "bid", bidder, &[], &[v(Ty::U32, bid)]).expect("bid");
    }
    let result = memory.call(&mut Clear, &program, "close", 1, &[], &[]).expect("closed");
    assert_eq!(result[0].value.value, 900);
    assert_eq!(result[1].value.value, 22, "the first of two equal bids stands");
}

#[test]
fn a_confidential_token_cannot_be_overdrawn() {
    let program = token();
    let mut memory = Memory::new(1);
    let (alice, bob) = (31, 32);
    memory.call(&mut Clear, &program, "mint", 1, &[alice], &[v(Ty::U32, 100)]).expect("minted");
    assert!(memory.call(&mut Clear, &program, "mint", alice, &[alice], &[v(Ty::U32, 5)]).is_err());
    memory.call(&mut Clear, &program, "transfer", alice, &[bob], &[v(Ty::U32, 30)]).expect("sent");
    // An overdraft moves nothing (and is not an error: nobody may learn it was tried).
    memory.call(&mut Clear, &program, "transfer", bob, &[alice], &[v(Ty::U32, 31)]).expect("ran");
    // Sending to oneself changes nothing.
    memory.call(&mut Clear, &program, "transfer", alice, &[alice], &[v(Ty::U32, 50)]).expect("ran");
    let balance = |memory: &mut Memory<ClearValue>, who| {
        memory.call(&mut Clear, &program, "audit", 1, &[who], &[]).expect("audited")[0].value.value
    };
    assert_eq!(balance(&mut memory, alice), 70);
    assert_eq!(balance(&mut memory, bob), 30);
}
