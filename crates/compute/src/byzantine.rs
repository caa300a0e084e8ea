//! Byzantine compute-node modes, for fault-injection tests and for watching discrepancy
//! detection on a devnet. A node in any mode other than `honest` logs a warning at start:
//! these exist to prove the protocol survives them, never for production.
//!
//! What a mode changes is decided here, on plain values (the honest commitment body, the
//! honest batch), so every mode's behaviour is tested without a network; the worker signs
//! and sends what these return.

use std::str::FromStr;

use atoll_consensus::roothash::{batch_hash, ExecutorCommitmentBody};
use atoll_types::Hash;

/// How a compute node misbehaves.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum ByzantineMode {
    /// Follows the protocol.
    #[default]
    Honest,
    /// Commits a wrong state root for other proposers' batches.
    Dishonest,
    /// Never proposes and never commits.
    Straggler,
    /// Publishes proposals but never commits anything.
    RunawayProposer,
    /// Proposes a batch naming a transaction nobody else has (and commits to it).
    BogusBatch,
    /// Proposes a batch whose header's batch hash does not match its transactions (and
    /// commits honest results for it).
    InvalidBatchHash,
    /// Commits failure for other proposers' batches.
    FailureIndicating,
    /// Signs and submits a second, conflicting commitment after each honest one.
    Equivocation,
    /// As scheduler, keeps the workers' commitments on its batch to itself (submits only
    /// its own).
    WithholdingScheduler,
}

impl ByzantineMode {
    /// Every mode, by name.
    pub const ALL: [(&'static str, ByzantineMode); 9] = [
        ("honest", ByzantineMode::Honest),
        ("dishonest", ByzantineMode::Dishonest),
        ("straggler", ByzantineMode::Straggler),
        ("runaway-proposer", ByzantineMode::RunawayProposer),
        ("bogus-batch", ByzantineMode::BogusBatch),
        ("invalid-batch-hash", ByzantineMode::InvalidBatchHash),
        ("failure-indicating", ByzantineMode::FailureIndicating),
        ("equivocation", ByzantineMode::Equivocation),
        ("withholding-scheduler", ByzantineMode::WithholdingScheduler),
    ];

    /// The mode's name.
    pub fn name(self) -> &'static str {
        Self::ALL.iter().find(|(_, m)| *m == self).map_or("honest", |(n, _)| n)
    }

    /// Whether this node submits commitments at all.
    pub(crate) fn commits(self) -> bool {
        !matches!(self, ByzantineMode::Straggler | ByzantineMode::RunawayProposer)
    }

    /// Whether this node proposes batches.
    pub(crate) fn proposes(self) -> bool {
        self != ByzantineMode::Straggler
    }

    /// Whether this node, as scheduler or leading backup, submits the commitments others
    /// gossip to it.
    pub(crate) fn gathers(self) -> bool {
        self != ByzantineMode::WithholdingScheduler
    }

    /// The commitment bodies this node signs where an honest node signs `honest`, in the
    /// order they go to the chain (`own_batch`: the batch is this node's own proposal).
    /// Empty for a node that never commits; two for an equivocating one (the honest body
    /// first).
    pub(crate) fn commitment_bodies(
        self,
        honest: ExecutorCommitmentBody,
        own_batch: bool,
    ) -> Vec<ExecutorCommitmentBody> {
        if !self.commits() {
            return Vec::new();
        }
        let mut body = honest;
        match self {
            ByzantineMode::Dishonest if !own_batch => {
                if let Some(h) = body.header.as_mut() {
                    h.state_root = Hash::digest_parts(&[b"dishonest", h.state_root.as_bytes()]);
                }
            }
            ByzantineMode::FailureIndicating if !own_batch => body.header = None,
            ByzantineMode::Equivocation => {
                let Some(mut other) = body.header.clone() else { return vec![body] };
                other.state_root =
                    Hash::digest_parts(&[b"equivocation", other.state_root.as_bytes()]);
                let second = ExecutorCommitmentBody {
                    header: Some(other),
                    messages: Vec::new(),
                    ..body.clone()
                };
                return vec![body, second];
            }
            _ => {}
        }
        vec![body]
    }

    /// The transaction hashes a proposal at consensus `height` names and the batch hash its
    /// header claims, where an honest scheduler proposes `tx_hashes`.
    pub(crate) fn proposed_batch(self, mut tx_hashes: Vec<Hash>, height: u64) -> (Vec<Hash>, Hash) {
        let claimed = match self {
            ByzantineMode::BogusBatch => {
                // A transaction nobody has (committed to as if it were there).
                tx_hashes.push(Hash::digest_parts(&[b"bogus", &height.to_le_bytes()]));
                batch_hash(&tx_hashes)
            }
            ByzantineMode::InvalidBatchHash => Hash::digest(b"not this batch"),
            _ => batch_hash(&tx_hashes),
        };
        (tx_hashes, claimed)
    }
}

impl FromStr for ByzantineMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL.iter().find(|(n, _)| *n == s).map(|(_, m)| *m).ok_or_else(|| {
            let names: Vec<&str> = Self::ALL.iter().map(|(n, _)| *n).collect();
            format!("unknown byzantine mode {s:?}; one of {}", names.join(", "))
        })
    }
}

impl std::fmt::Display for ByzantineMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{body, results};
    use atoll_types::{PublicKey, Round};

    fn honest() -> ExecutorCommitmentBody {
        let scheduler = PublicKey::from_bytes([2; 32]);
        body(Round(7), scheduler, Some(results(Round(7), Hash::digest(b"state"))))
    }

    fn state_root(body: &ExecutorCommitmentBody) -> Option<Hash> {
        body.header.as_ref().map(|h| h.state_root)
    }

    #[test]
    fn each_mode_signs_what_it_claims_on_others_batches_and_honestly_on_its_own() {
        let right = state_root(&honest());
        for (name, mode) in ByzantineMode::ALL {
            let others = mode.commitment_bodies(honest(), false);
            let own = mode.commitment_bodies(honest(), true);
            let roots: Vec<Option<Hash>> = others.iter().map(state_root).collect();
            match mode {
                ByzantineMode::Straggler | ByzantineMode::RunawayProposer => {
                    assert!(others.is_empty() && own.is_empty(), "{name} commits nothing");
                    continue;
                }
                ByzantineMode::Dishonest => {
                    assert_eq!(roots.len(), 1, "{name}");
                    assert!(roots[0].is_some() && roots[0] != right, "{name}: a wrong root");
                }
                ByzantineMode::FailureIndicating => assert_eq!(roots, vec![None], "{name}"),
                ByzantineMode::Equivocation => {
                    assert_eq!(roots.len(), 2, "{name}: two commitments");
                    assert_eq!(roots[0], right, "{name}: the honest one first");
                    assert!(roots[1].is_some() && roots[1] != right, "{name}: then another");
                    assert_eq!(own.len(), 2, "{name}: on its own batch too");
                    continue;
                }
                _ => assert_eq!(others, vec![honest()], "{name} commits honestly"),
            }
            assert_eq!(own, vec![honest()], "{name} is honest on its own batch");
        }
    }

    #[test]
    fn only_the_batch_modes_tamper_with_proposals() {
        let txs = vec![Hash::digest(b"a"), Hash::digest(b"b")];
        for (name, mode) in ByzantineMode::ALL {
            let (named, claimed) = mode.proposed_batch(txs.clone(), 9);
            match mode {
                ByzantineMode::BogusBatch => {
                    assert_eq!(named.len(), 3, "{name}: one transaction more");
                    assert_eq!(claimed, batch_hash(&named), "{name}: consistent with itself");
                }
                ByzantineMode::InvalidBatchHash => {
                    assert_eq!(named, txs, "{name}");
                    assert_ne!(claimed, batch_hash(&named), "{name}: a hash of nothing it names");
                }
                _ => assert_eq!((named, claimed), (txs.clone(), batch_hash(&txs)), "{name}"),
            }
        }
    }

    #[test]
    fn only_the_withholding_scheduler_keeps_others_commitments_to_itself() {
        for (name, mode) in ByzantineMode::ALL {
            assert_eq!(mode.gathers(), mode != ByzantineMode::WithholdingScheduler, "{name}");
        }
    }

    #[test]
    fn names_round_trip_and_unknown_ones_are_refused() {
        for (name, mode) in ByzantineMode::ALL {
            assert_eq!(name.parse::<ByzantineMode>(), Ok(mode));
            assert_eq!(mode.to_string(), name);
        }
        assert!("sneaky".parse::<ByzantineMode>().is_err());
    }
}
