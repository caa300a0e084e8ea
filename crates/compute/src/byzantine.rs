//! Byzantine compute-node modes, for fault-injection tests and for watching discrepancy
//! detection on a devnet. A node in any mode other than `honest` logs a warning at start:
//! these exist to prove the protocol survives them, never for production.

use std::str::FromStr;

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

    #[test]
    fn names_round_trip_and_unknown_ones_are_refused() {
        for (name, mode) in ByzantineMode::ALL {
            assert_eq!(name.parse::<ByzantineMode>(), Ok(mode));
            assert_eq!(mode.to_string(), name);
        }
        assert!("sneaky".parse::<ByzantineMode>().is_err());
    }
}
