//! Bad input never panics and never changes state: arbitrary bytes as transactions, and
//! arbitrary (but well-signed) bodies for every method.

mod common;

use atoll_consensus::{beacon, governance, registry, staking};
use common::{TestChain, FEE};
use proptest::prelude::*;

const METHODS: &[&str] = &[
    staking::methods::TRANSFER,
    staking::methods::BURN,
    staking::methods::ALLOW,
    staking::methods::WITHDRAW,
    staking::methods::ADD_ESCROW,
    staking::methods::RECLAIM_ESCROW,
    staking::methods::AMEND_COMMISSION_SCHEDULE,
    registry::REGISTER_ENTITY,
    registry::DEREGISTER_ENTITY,
    registry::REGISTER_NODE,
    registry::UNFREEZE_NODE,
    registry::REGISTER_RUNTIME,
    beacon::VRF_PROVE,
    governance::SUBMIT_PROPOSAL,
    governance::CAST_VOTE,
];

/// Raw bytes passed through as a method body.
struct Raw(Vec<u8>);

impl borsh::BorshSerialize for Raw {
    fn serialize<W: std::io::Write>(&self, writer: &mut W) -> std::io::Result<()> {
        writer.write_all(&self.0)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn arbitrary_transaction_bytes_are_rejected_without_effect(txs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..8)) {
        let mut chain = TestChain::new(2, 1_000);
        let before = chain.account(&chain.addr(0));
        let outcome = chain.block(txs);
        prop_assert!(outcome.results.iter().all(|r| r.error.is_some() && r.gas_used == 0));
        prop_assert_eq!(chain.account(&chain.addr(0)), before);
    }

    #[test]
    fn arbitrary_bodies_fail_cleanly(method in proptest::sample::select(METHODS), body in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut chain = TestChain::new(2, 1_000);
        let (sum, supply) = chain.accounted_supply();
        prop_assert_eq!(sum, supply);
        let tx = chain.tx_with(0, 0, FEE, method, &Raw(body));
        let _ = chain.run(tx);
        let (sum, supply) = chain.accounted_supply();
        prop_assert_eq!(sum, supply);
    }
}
