//! The proposals a compute node serves to workers that missed them, by round.
//!
//! With pipelining a node holds proposals for the round in progress, the round ahead and
//! the one after it, received in any order: remembering one round's proposal never pushes
//! out another open round's. Only rounds older than the latest [`ROUNDS`] are dropped.

use std::collections::BTreeMap;

use atoll_types::Round;

use crate::p2p::Proposal;

/// Rounds whose proposals are served: the round in progress, the one ahead and the one
/// after it.
const ROUNDS: usize = 3;

/// Proposals by round, for the latest [`ROUNDS`] rounds.
#[derive(Default)]
pub(crate) struct ServedProposals(BTreeMap<Round, Vec<Proposal>>);

impl ServedProposals {
    /// Keeps `proposal` among those served for `round`.
    pub(crate) fn remember(&mut self, round: Round, proposal: &Proposal) {
        self.0.entry(round).or_default().push(proposal.clone());
        while self.0.len() > ROUNDS {
            self.0.pop_first();
        }
    }

    /// The proposals kept for `round`.
    pub(crate) fn of(&self, round: Round) -> Vec<Proposal> {
        self.0.get(&round).cloned().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use atoll_consensus::roothash::ProposalHeader;
    use atoll_crypto::MemorySigner;
    use atoll_types::{ChainContext, Hash, Signed};

    fn proposal(round: u64) -> Proposal {
        let header = ProposalHeader {
            runtime: crate::fixtures::RUNTIME,
            round: Round(round),
            previous_hash: Hash::ZERO,
            batch_hash: Hash::ZERO,
            in_msgs_count: 0,
        };
        let chain = ChainContext::from_hash(Hash::digest(b"chain"));
        let signer = MemorySigner::from_seed([1; 32]);
        Proposal { header: Signed::sign(&signer, &chain, &header), tx_hashes: Vec::new() }
    }

    #[test]
    fn an_earlier_rounds_proposal_does_not_push_out_a_later_ones() {
        let mut served = ServedProposals::default();
        // A scheduler ahead proposes round 8, then a late proposal for round 7 comes.
        served.remember(Round(8), &proposal(8));
        served.remember(Round(7), &proposal(7));
        assert_eq!(served.of(Round(8)).len(), 1);
        assert_eq!(served.of(Round(7)).len(), 1);
        served.remember(Round(9), &proposal(9));
        served.remember(Round(9), &proposal(9));
        assert_eq!(served.of(Round(9)).len(), 2);
        // A fourth round drops the oldest.
        served.remember(Round(10), &proposal(10));
        assert!(served.of(Round(7)).is_empty());
        assert_eq!(served.of(Round(8)).len(), 1);
        assert!(served.of(Round(11)).is_empty());
    }
}
