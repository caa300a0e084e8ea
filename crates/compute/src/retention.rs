//! Which finalized rounds a compute node keeps: all of them (an archive, the default), or
//! a window of the last `retain_rounds`.
//!
//! A reader that follows the stored rounds (the Ethereum JSON-RPC's index) may hold the
//! pruning back from the rounds it has not read yet, so a node that fell behind on indexing
//! never loses a round before its index saw it.

use std::sync::atomic::{AtomicU64, Ordering};

use atoll_mkvs::{MkvsError, PruneStats};

use crate::storage::RuntimeStorage;

/// No reader holds the pruning back.
const NO_HOLD: u64 = u64::MAX;

/// The retention rule of one runtime's storage.
#[derive(Debug)]
pub(crate) struct Retention {
    rounds: Option<u64>,
    hold: AtomicU64,
}

impl Retention {
    /// Keeps the last `rounds` rounds (`None`: every round).
    pub(crate) fn new(rounds: Option<u64>) -> Self {
        Self { rounds, hold: AtomicU64::new(NO_HOLD) }
    }

    /// How many rounds are kept, if not all.
    pub(crate) fn rounds(&self) -> Option<u64> {
        self.rounds
    }

    /// A reader still needs every round from `round` on.
    pub(crate) fn hold_from(&self, round: u64) {
        self.hold.store(round, Ordering::Relaxed);
    }

    /// No reader holds the pruning back any more.
    pub(crate) fn release(&self) {
        self.hold.store(NO_HOLD, Ordering::Relaxed);
    }

    /// The first round to keep once `latest` is stored, if any round is to go.
    pub(crate) fn keep_from(&self, latest: u64) -> Option<u64> {
        let rounds = self.rounds?;
        let window = latest.saturating_add(1).saturating_sub(rounds);
        Some(window.min(self.hold.load(Ordering::Relaxed))).filter(|round| *round > 0)
    }

    /// Forgets what falls out of the window once `latest` is stored.
    pub(crate) fn prune(
        &self,
        storage: &RuntimeStorage,
        latest: u64,
    ) -> Result<PruneStats, MkvsError> {
        match self.keep_from(latest) {
            Some(round) => storage.prune_before(round),
            None => Ok(PruneStats::default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_ends_at_the_latest_round_and_a_reader_holds_it_back() {
        let all = Retention::new(None);
        assert_eq!(all.keep_from(1_000), None);
        let window = Retention::new(Some(10));
        assert_eq!(window.keep_from(5), None, "fewer rounds than the window");
        assert_eq!(window.keep_from(9), None);
        assert_eq!(window.keep_from(10), Some(1));
        assert_eq!(window.keep_from(100), Some(91));
        window.hold_from(40);
        assert_eq!(window.keep_from(100), Some(40));
        window.hold_from(95);
        assert_eq!(window.keep_from(100), Some(91), "a hold never widens the window");
        window.hold_from(0);
        assert_eq!(window.keep_from(100), None);
        window.release();
        assert_eq!(window.keep_from(100), Some(91));
    }
}
