//! What the block store indexes of each ParaTime round: for every block that recorded
//! something of a round, the roothash events of that round — commitments, the discrepancy,
//! finalization or failure, the runtime block made, and the slashes finalization imposed —
//! with the block's time. Explorers and operators read a round's history from it without
//! scanning blocks.

use std::collections::BTreeMap;

use atoll_consensus::roothash::RoothashEvent;
use atoll_consensus::{BlockResults, Event};
use atoll_types::{Round, RuntimeId};
use borsh::{BorshDeserialize, BorshSerialize};

/// What one block recorded of one round.
#[derive(Clone, PartialEq, Debug, BorshSerialize, BorshDeserialize)]
pub struct RoundEntry {
    /// The block's time (unix seconds).
    pub time: u64,
    /// The round's roothash events in that block, in order.
    pub events: Vec<RoothashEvent>,
}

/// The runtime and round an event belongs to, for the events that name one.
pub fn round_of(event: &RoothashEvent) -> Option<(RuntimeId, Round)> {
    match event {
        RoothashEvent::Block { header } => Some((header.runtime, header.round)),
        RoothashEvent::ExecutorCommitted { runtime, round, .. }
        | RoothashEvent::ExecutionDiscrepancyDetected { runtime, round, .. }
        | RoothashEvent::Finalized { runtime, round, .. }
        | RoothashEvent::RoundFailed { runtime, round } => Some((*runtime, *round)),
        _ => None,
    }
}

/// Groups a block's roothash events by round. A slash goes with the round of its runtime
/// that the same block finalized (finalization imposes incorrect-result slashes, and emits
/// them before its `Finalized` event); slashes in other blocks (evidence submitted on its
/// own) and epoch-level liveness faults name no round and are left out.
pub fn entries(time: u64, results: &BlockResults) -> BTreeMap<(RuntimeId, Round), RoundEntry> {
    let roothash = || {
        results.events.iter().filter_map(|record| match &record.event {
            Event::Roothash(event) => Some(event),
            _ => None,
        })
    };
    let finalized: BTreeMap<RuntimeId, Round> = roothash()
        .filter_map(|event| match event {
            RoothashEvent::Finalized { runtime, round, .. } => Some((*runtime, *round)),
            _ => None,
        })
        .collect();
    let mut grouped: BTreeMap<(RuntimeId, Round), RoundEntry> = BTreeMap::new();
    for event in roothash() {
        let key = match (round_of(event), event) {
            (Some(key), _) => key,
            (None, RoothashEvent::NodeSlashed { runtime, .. }) => {
                let Some(round) = finalized.get(runtime) else { continue };
                (*runtime, *round)
            }
            _ => continue,
        };
        grouped
            .entry(key)
            .or_insert_with(|| RoundEntry { time, events: Vec::new() })
            .events
            .push(event.clone());
    }
    grouped
}

#[cfg(test)]
mod tests {
    use atoll_consensus::staking::SlashReason;
    use atoll_consensus::EventRecord;
    use atoll_types::{Amount, PublicKey};

    use super::*;

    fn record(event: RoothashEvent) -> EventRecord {
        EventRecord { tx_index: Some(0), event: Event::Roothash(event) }
    }

    fn key(byte: u8) -> PublicKey {
        PublicKey::from_bytes([byte; 32])
    }

    #[test]
    fn events_are_grouped_by_round_and_slashes_follow_finalization() {
        let a = RuntimeId::from_bytes([1; 32]);
        let b = RuntimeId::from_bytes([2; 32]);
        let committed = |runtime, round, node| RoothashEvent::ExecutorCommitted {
            runtime,
            round: Round(round),
            node: key(node),
            scheduler: key(9),
            failure: false,
        };
        let slashed = |runtime| RoothashEvent::NodeSlashed {
            runtime,
            node: key(3),
            reason: SlashReason::RuntimeIncorrectResults,
            amount: Amount::new(5),
        };
        let results = BlockResults {
            results: Vec::new(),
            events: vec![
                record(committed(a, 7, 1)),
                // Emitted by finalization, before its `Finalized` event.
                record(slashed(a)),
                record(RoothashEvent::Finalized {
                    runtime: a,
                    round: Round(7),
                    discrepancy: true,
                    good: vec![key(1)],
                    bad: vec![key(3)],
                }),
                // No round of `b` is finalized in this block.
                record(slashed(b)),
                record(committed(b, 3, 2)),
                record(committed(a, 8, 1)),
            ],
        };
        let grouped = entries(42, &results);
        assert_eq!(grouped.len(), 3);
        let seven = &grouped[&(a, Round(7))];
        assert_eq!(seven.time, 42);
        assert_eq!(seven.events.len(), 3, "commitment, the slash, finalization");
        assert!(matches!(seven.events[1], RoothashEvent::NodeSlashed { .. }));
        assert_eq!(grouped[&(a, Round(8))].events.len(), 1);
        assert_eq!(grouped[&(b, Round(3))].events.len(), 1, "the slash of b is left out");
    }
}
