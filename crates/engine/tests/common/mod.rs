//! Helpers shared by the engine's integration tests.

#![allow(dead_code, unreachable_pub)]

use atoll_consensus::scheduler::Validator;
use atoll_consensus::staking::methods::{self, Transfer};
use atoll_consensus::{Fee, Genesis, Transaction};
use atoll_crypto::MemorySigner;
use atoll_engine::block::commit_and_evidence_hash;
use atoll_engine::merkle::transactions_root;
use atoll_engine::{Block, BlockHeader, CommitCertificate};
use atoll_types::{encode, Address, Amount, ChainContext, Epoch, Hash, Height, Signed, Signer};

/// A validator set of `keys` with `powers`, each key serving as node, entity and consensus
/// key.
pub fn validators(keys: &[MemorySigner], powers: &[u64]) -> Vec<Validator> {
    keys.iter()
        .zip(powers)
        .map(|(k, p)| Validator {
            node_id: k.public_key(),
            entity: k.public_key(),
            consensus_key: k.public_key(),
            power: *p,
        })
        .collect()
}

/// The key of test account `i`.
pub fn key(i: u8) -> MemorySigner {
    MemorySigner::from_seed([i + 1; 32])
}

/// A genesis with `accounts` accounts of 1,000,000 base units each and no validators.
pub fn genesis(accounts: u8) -> Genesis {
    let accounts = (0..accounts).map(|i| Address::from_public_key(&key(i).public_key()));
    Genesis::funded("engine-test", accounts, Amount::new(1_000_000))
}

/// A signed transfer of 1 base unit from account `from` at `nonce`, paying `price` per gas.
#[allow(dead_code)] // not every test file uses it
pub fn transfer(g: &Genesis, from: u8, nonce: u64, price: u128) -> Vec<u8> {
    let to = Address::from_public_key(&key(200).public_key());
    let fee = Fee { amount: Amount::new(price * 10_000), gas: 10_000 };
    let tx =
        Transaction::new(nonce, fee, methods::TRANSFER, &Transfer { to, amount: Amount::new(1) });
    encode(&Signed::sign(&key(from), &g.chain_context(), &tx))
}

/// A block at `height` after `previous` (with an unsigned commit of it), claiming
/// `app_hash`, holding `txs`, proposed by key 0.
pub fn block_after(
    chain: &ChainContext,
    height: u64,
    previous: Option<&Block>,
    app_hash: Hash,
    txs: Vec<Vec<u8>>,
) -> Block {
    let header = BlockHeader {
        chain_context: *chain,
        height: Height(height),
        time: 1_700_000_000 + height,
        previous_block_id: previous.map_or(Hash::ZERO, Block::id),
        app_hash,
        transactions_root: transactions_root(&txs),
        proposer: key(0).public_key(),
        epoch: Epoch(0),
        commit_and_evidence_hash: Hash::ZERO,
    };
    let last_commit = previous.map(|p| CommitCertificate {
        height: p.header.height,
        round: 0,
        block_id: p.id(),
        signatures: vec![],
    });
    let mut block = Block { header, transactions: txs, last_commit, evidence: vec![] };
    block.header.commit_and_evidence_hash =
        commit_and_evidence_hash(&block.last_commit, &block.evidence);
    block
}
