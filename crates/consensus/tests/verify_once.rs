//! Verify once per node: a block applied with its admitted transactions' signatures taken
//! as verified has exactly the outcome of one whose every signature is verified again; a
//! forged transaction (which no mempool admits) is still refused.

mod common;

use std::collections::HashSet;

use atoll_consensus::staking::methods::{self, Transfer};
use atoll_consensus::{apply_block, apply_block_verified, BlockContext, Transaction};
use atoll_types::{encode, Amount, Hash, Height, Signed, Signer};
use common::{TestChain, FEE};

#[test]
fn skipping_admitted_signatures_changes_no_outcome() {
    let chain = TestChain::new(8, 1_000_000_000);
    let mut txs: Vec<Vec<u8>> = (0..8)
        .flat_map(|i| {
            let to = chain.addr((i + 1) % 8);
            let body = Transfer { to, amount: Amount::new(1_000 + i as u128) };
            (0..3).map(move |n| (i, n, body.clone()))
        })
        .map(|(i, n, body)| chain.tx_with(i, n, FEE, methods::TRANSFER, &body))
        .collect();
    let admitted: HashSet<Hash> = txs.iter().map(|tx| Hash::digest(tx)).collect();
    // Account 0's next transaction signed by account 1's key under account 0's name.
    let forged = {
        let body = Transfer { to: chain.addr(2), amount: Amount::new(5) };
        let tx = Transaction::new(3, FEE, methods::TRANSFER, &body);
        let real: Signed<Transaction> =
            Signed::sign(&common::signer(1), &chain.chain_context(), &tx);
        let entry = atoll_types::SignerEntry {
            public_key: common::signer(0).public_key(),
            signature: real.signature().signature,
        };
        encode(&Signed::<Transaction>::from_parts(real.body().to_vec(), entry))
    };
    txs.push(forged);
    let ctx = BlockContext { height: Height(1), ..BlockContext::default() };
    let tree = chain.state.tree_at(Height(0)).expect("tree");
    let again = apply_block(&tree, &ctx, &txs).expect("apply");
    let once = apply_block_verified(&tree, &ctx, &txs, &|h| admitted.contains(h)).expect("apply");
    assert_eq!(once.results, again.results);
    assert_eq!(once.events, again.events);
    assert_eq!(once.write_log, again.write_log);
    assert!(once.results[..24].iter().all(|r| r.error.is_none()));
    assert!(once.results[24].error.is_some(), "the forged transaction is refused");
}
