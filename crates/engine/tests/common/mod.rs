//! Helpers shared by the engine's integration tests.

#![allow(dead_code, unreachable_pub)]

use atoll_consensus::scheduler::Validator;
use atoll_crypto::MemorySigner;
use atoll_types::Signer;

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
