//! Node metrics in Prometheus form, registered next to the engine's own (rounds, steps,
//! peers) and exported together by [`export`].

use malachitebft_app_channel::app::metrics::prometheus::metrics::counter::Counter;
use malachitebft_app_channel::app::metrics::prometheus::metrics::gauge::Gauge;
use malachitebft_app_channel::app::metrics::prometheus::metrics::histogram::Histogram;
use malachitebft_app_channel::app::metrics::SharedRegistry;

/// The chain-level metrics of one node.
#[derive(Clone)]
pub struct EngineMetrics {
    /// Latest committed height.
    pub height: Gauge,
    /// Current consensus round.
    pub round: Gauge,
    /// Transactions waiting in the mempool.
    pub mempool_size: Gauge,
    /// Transactions committed (rate = committed tx/s).
    pub committed_txs: Counter,
    /// Seconds between consecutive commits.
    pub block_interval: Histogram,
    /// Double-signing evidence observed.
    pub evidence_observed: Counter,
    /// Seconds from the admission of a transaction submitted to this node to its commit.
    pub finality_latency: Histogram,
}

impl EngineMetrics {
    /// Creates the metrics and registers them under `atoll_` with the node's moniker.
    pub fn register(moniker: &str) -> Self {
        let metrics = Self {
            height: Gauge::default(),
            round: Gauge::default(),
            mempool_size: Gauge::default(),
            committed_txs: Counter::default(),
            block_interval: Histogram::new([0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0]),
            evidence_observed: Counter::default(),
            finality_latency: Histogram::new([0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0]),
        };
        SharedRegistry::global().with_moniker(moniker).with_prefix("atoll", |registry| {
            registry.register("height", "Latest committed height", metrics.height.clone());
            registry.register("round", "Current consensus round", metrics.round.clone());
            registry.register(
                "mempool_size",
                "Transactions waiting in the mempool",
                metrics.mempool_size.clone(),
            );
            registry.register(
                "committed_txs",
                "Transactions committed",
                metrics.committed_txs.clone(),
            );
            registry.register(
                "block_interval_seconds",
                "Seconds between consecutive commits",
                metrics.block_interval.clone(),
            );
            registry.register(
                "evidence_observed",
                "Double-signing evidence observed",
                metrics.evidence_observed.clone(),
            );
            registry.register(
                "finality_latency_seconds",
                "Seconds from the admission of a transaction submitted here to its commit",
                metrics.finality_latency.clone(),
            );
        });
        metrics
    }
}

/// Every registered metric (Atoll's and the engine's) in the Prometheus text format.
pub fn export() -> String {
    let mut out = String::new();
    malachitebft_app_channel::app::metrics::export(&mut out);
    out
}
