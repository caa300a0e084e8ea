//! Finality latency as this node's clients see it: from the admission of a transaction
//! submitted here to the commit of the block that holds it. Blocks are final when
//! committed (BFT, no reorganisations), so this is the whole wait of a submitter.
//!
//! The clock is given the instants, so it is deterministic under test; the node gives it
//! `Instant::now()`. Memory is bounded: at most [`MAX_PENDING`] submissions are timed at
//! once (the oldest forgotten first) and the latest [`WINDOW`] latencies are kept.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use atoll_types::Hash;

/// Submissions timed at once.
pub const MAX_PENDING: usize = 50_000;
/// Latencies the percentiles are computed over.
pub const WINDOW: usize = 1_024;

/// The latest latencies, summarized.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FinalitySummary {
    /// Latencies in the window.
    pub samples: usize,
    /// The median.
    pub p50: Duration,
    /// The 99th percentile.
    pub p99: Duration,
    /// The latest.
    pub latest: Duration,
}

#[derive(Default)]
struct Inner {
    pending: HashMap<Hash, Instant>,
    /// Submission order, for forgetting the oldest (may name hashes already committed).
    order: VecDeque<Hash>,
    latencies: VecDeque<Duration>,
}

/// Times submissions until their commit.
#[derive(Default)]
pub struct FinalityClock {
    inner: Mutex<Inner>,
}

impl FinalityClock {
    /// A transaction submitted here was admitted at `at`.
    pub fn submitted(&self, hash: Hash, at: Instant) {
        let Ok(mut inner) = self.inner.lock() else { return };
        if inner.pending.contains_key(&hash) {
            return;
        }
        inner.pending.insert(hash, at);
        inner.order.push_back(hash);
        while inner.pending.len() > MAX_PENDING || inner.order.len() > 2 * MAX_PENDING {
            let Some(oldest) = inner.order.pop_front() else { break };
            inner.pending.remove(&oldest);
        }
    }

    /// A block holding `hashes` was committed at `at`: returns the latencies of those that
    /// were submitted here.
    pub fn committed<'a>(
        &self,
        hashes: impl IntoIterator<Item = &'a Hash>,
        at: Instant,
    ) -> Vec<Duration> {
        let Ok(mut inner) = self.inner.lock() else { return Vec::new() };
        let mut found = Vec::new();
        for hash in hashes {
            if let Some(submitted) = inner.pending.remove(hash) {
                found.push(at.saturating_duration_since(submitted));
            }
        }
        if inner.pending.is_empty() {
            inner.order.clear();
        }
        for latency in &found {
            inner.latencies.push_back(*latency);
            if inner.latencies.len() > WINDOW {
                inner.latencies.pop_front();
            }
        }
        found
    }

    /// The latest latencies' median and 99th percentile (nearest rank), if any.
    pub fn summary(&self) -> Option<FinalitySummary> {
        let inner = self.inner.lock().ok()?;
        let latest = *inner.latencies.back()?;
        let mut sorted: Vec<Duration> = inner.latencies.iter().copied().collect();
        sorted.sort_unstable();
        let rank = |p: usize| sorted[(sorted.len() * p).div_ceil(100).max(1) - 1];
        Some(FinalitySummary { samples: sorted.len(), p50: rank(50), p99: rank(99), latest })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(i: u32) -> Hash {
        Hash::digest(&i.to_le_bytes())
    }

    #[test]
    fn only_submissions_made_here_are_timed_to_their_commit() {
        let clock = FinalityClock::default();
        let t0 = Instant::now();
        assert_eq!(clock.summary(), None);
        clock.submitted(hash(1), t0);
        clock.submitted(hash(2), t0 + Duration::from_millis(100));
        // A resubmission keeps the first admission time.
        clock.submitted(hash(1), t0 + Duration::from_millis(300));
        let found = clock.committed([hash(1), hash(3)].iter(), t0 + Duration::from_millis(500));
        assert_eq!(found, vec![Duration::from_millis(500)], "hash 3 came by gossip");
        let found = clock.committed([hash(2)].iter(), t0 + Duration::from_millis(1_100));
        assert_eq!(found, vec![Duration::from_millis(1_000)]);
        // Committed twice (a copy in a later block): timed once.
        assert!(clock.committed([hash(2)].iter(), t0 + Duration::from_secs(9)).is_empty());
        let summary = clock.summary().expect("two latencies");
        assert_eq!(summary.samples, 2);
        assert_eq!(summary.p50, Duration::from_millis(500));
        assert_eq!(summary.p99, Duration::from_millis(1_000));
        assert_eq!(summary.latest, Duration::from_millis(1_000));
    }

    #[test]
    fn percentiles_follow_the_nearest_rank_over_the_latest_window() {
        let clock = FinalityClock::default();
        let t0 = Instant::now();
        // WINDOW + 100 latencies of 1..=WINDOW+100 ms: the first 100 fall out.
        for i in 1..=(WINDOW as u32 + 100) {
            clock.submitted(hash(i), t0);
            clock.committed([hash(i)].iter(), t0 + Duration::from_millis(u64::from(i)));
        }
        let summary = clock.summary().expect("latencies");
        assert_eq!(summary.samples, WINDOW);
        let ms = |d: Duration| d.as_millis() as usize;
        assert_eq!(ms(summary.p50), 100 + WINDOW / 2);
        assert_eq!(ms(summary.p99), 100 + (WINDOW * 99).div_ceil(100));
        assert_eq!(ms(summary.latest), WINDOW + 100);
    }

    #[test]
    fn pending_submissions_are_bounded_oldest_first() {
        let clock = FinalityClock::default();
        let t0 = Instant::now();
        for i in 0..(MAX_PENDING as u32 + 10) {
            clock.submitted(hash(i), t0);
        }
        let at = t0 + Duration::from_secs(1);
        assert!(clock.committed([hash(0), hash(9)].iter(), at).is_empty(), "forgotten");
        assert_eq!(clock.committed([hash(10)].iter(), at).len(), 1, "kept");
    }
}
