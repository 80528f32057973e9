//! Prometheus metrics (`GET /metrics`, text exposition format 0.0.4): the chain height, peers, mempool, the
//! miner's hash rate, block validation and sync timings, and the latency of every HTTP route.
//!
//! Each `Node` owns one [`Metrics`] with its own [`prometheus::Registry`] (no process-global registry), so
//! several nodes in one process — tests, an embedding program — keep separate figures.
//!
//! - **Gauges read at scrape time** from the node: `ferrochain_chain_height`, `ferrochain_peers`,
//!   `ferrochain_mempool_transactions`, `ferrochain_mempool_bytes`, `ferrochain_miner_hash_rate`,
//!   `ferrochain_miner_running`, `ferrochain_uptime_seconds`, and the counter `ferrochain_miner_hashes_total`.
//! - **Histograms recorded as things happen**: `ferrochain_block_validation_seconds{outcome}` (every
//!   `Node::submit_block`: mined, received from a peer, imported), `ferrochain_sync_seconds{result}` (a sync
//!   with one peer, through [`Metrics::observe_sync`]) and `ferrochain_http_request_duration_seconds{method,
//!   route, status}` (the [`track_http`] middleware; `route` is the route's pattern such as
//!   `/api/v1/blocks/:id`, or `unmatched`, so URLs cannot blow up the label set).
//! - `ferrochain_build_info{version, network}` is always 1.
//!
//! A scrape configuration for Prometheus:
//! ```yaml
//! scrape_configs:
//!   - job_name: ferrochain
//!     static_configs: [{ targets: ["127.0.0.1:5000"] }]
//! ```

use std::time::{Duration, Instant};

use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounter, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

/// The figures read from the node at scrape time ([`crate::Node::metrics_text`] gathers them).
#[derive(Debug, Clone, Copy, Default)]
pub struct Gauges {
    /// Height of the active tip.
    pub height: u64,
    /// Transactions in the mempool.
    pub mempool_txs: usize,
    /// Bytes of the mempool.
    pub mempool_bytes: usize,
    /// Known peers.
    pub peers: usize,
    /// The miner's hash rate (hashes per second).
    pub hash_rate: f64,
    /// Hashes computed since start.
    pub total_hashes: u64,
    /// Whether continuous mining runs.
    pub mining: bool,
}

/// Buckets of block validation and sync timings, in seconds (1 ms to 60 s).
const SLOW_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];
/// Buckets of HTTP latencies, in seconds (0.5 ms to 30 s, the default request time limit).
const HTTP_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The values of the `outcome` label of `ferrochain_block_validation_seconds`.
const OUTCOMES: [&str; 5] = [
    "connected",
    "side_chain",
    "orphan",
    "already_known",
    "invalid",
];

/// The node's metrics and their registry.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    started: Instant,
    height: IntGauge,
    peers: IntGauge,
    mempool_txs: IntGauge,
    mempool_bytes: IntGauge,
    hash_rate: Gauge,
    hashes: IntCounter,
    mining: IntGauge,
    uptime: Gauge,
    validation: HistogramVec,
    sync: HistogramVec,
    http: HistogramVec,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// Registers `metric` and hands it back. Registration only fails for a duplicate or malformed name, which
/// the fixed names here never are; the test below builds them all.
fn register<M: prometheus::core::Collector + Clone + 'static>(registry: &Registry, metric: M) -> M {
    if let Err(e) = registry.register(Box::new(metric.clone())) {
        tracing::error!(error = %e, "a metric could not be registered");
    }
    metric
}

fn histogram(name: &str, help: &str, buckets: &[f64], labels: &[&str]) -> HistogramVec {
    HistogramVec::new(
        HistogramOpts::new(name, help).buckets(buckets.to_vec()),
        labels,
    )
    .expect("fixed histogram names, labels and buckets are valid")
}

impl Metrics {
    /// Metrics of a node on `network` (the value of the `network` label of `ferrochain_build_info`).
    pub fn new(network: &str) -> Metrics {
        let registry = Registry::new();
        let gauge = |name: &str, help: &str| {
            register(
                &registry,
                IntGauge::new(name, help).expect("fixed gauge names are valid"),
            )
        };
        let info = register(
            &registry,
            IntGaugeVec::new(
                Opts::new(
                    "ferrochain_build_info",
                    "Always 1; the labels give the ferrochain version and the network.",
                ),
                &["version", "network"],
            )
            .expect("fixed gauge names are valid"),
        );
        info.with_label_values(&[env!("CARGO_PKG_VERSION"), network])
            .set(1);
        let metrics = Metrics {
            height: gauge(
                "ferrochain_chain_height",
                "Height of the active chain's tip (genesis is 0).",
            ),
            peers: gauge("ferrochain_peers", "Known peers."),
            mempool_txs: gauge(
                "ferrochain_mempool_transactions",
                "Transactions waiting in the mempool.",
            ),
            mempool_bytes: gauge(
                "ferrochain_mempool_bytes",
                "Encoded size of the mempool's transactions, in bytes.",
            ),
            hash_rate: register(
                &registry,
                Gauge::new(
                    "ferrochain_miner_hash_rate",
                    "Header hashes per second over the last window of at least one second (0 when idle).",
                )
                .expect("fixed gauge names are valid"),
            ),
            hashes: register(
                &registry,
                IntCounter::new(
                    "ferrochain_miner_hashes_total",
                    "Header hashes computed by the miner since the node started.",
                )
                .expect("fixed counter names are valid"),
            ),
            mining: gauge(
                "ferrochain_miner_running",
                "1 while continuous mining runs, else 0.",
            ),
            uptime: register(
                &registry,
                Gauge::new(
                    "ferrochain_uptime_seconds",
                    "Seconds since the node started.",
                )
                .expect("fixed gauge names are valid"),
            ),
            validation: register(
                &registry,
                histogram(
                    "ferrochain_block_validation_seconds",
                    "Time to validate and store a submitted block, by outcome (connected, side_chain, orphan, \
                     already_known, invalid).",
                    SLOW_BUCKETS,
                    &["outcome"],
                ),
            ),
            sync: register(
                &registry,
                histogram(
                    "ferrochain_sync_seconds",
                    "Time of a sync with one peer (headers first, then bodies), by result (ok, error).",
                    SLOW_BUCKETS,
                    &["result"],
                ),
            ),
            http: register(
                &registry,
                histogram(
                    "ferrochain_http_request_duration_seconds",
                    "Time to answer an HTTP request, by method, route pattern and status code.",
                    HTTP_BUCKETS,
                    &["method", "route", "status"],
                ),
            ),
            registry,
            started: Instant::now(),
        };
        // Known label values are shown from the start (at 0), so rates and alerts work before the first event.
        for outcome in OUTCOMES {
            metrics.validation.with_label_values(&[outcome]);
        }
        for result in ["ok", "error"] {
            metrics.sync.with_label_values(&[result]);
        }
        metrics
    }

    /// The registry, to add an embedding program's own metrics to the same scrape.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Records the validation of one block: how long `Node::submit_block` took and what became of it
    /// (`connected`, `side_chain`, `orphan`, `already_known` or `invalid`).
    pub fn observe_block_validation(&self, elapsed: Duration, outcome: &str) {
        self.validation
            .with_label_values(&[outcome])
            .observe(elapsed.as_secs_f64());
    }

    /// Records a sync with one peer: how long it took and whether it succeeded. The peer-to-peer layer calls
    /// this at the end of each sync.
    pub fn observe_sync(&self, elapsed: Duration, ok: bool) {
        self.sync
            .with_label_values(&[if ok { "ok" } else { "error" }])
            .observe(elapsed.as_secs_f64());
    }

    /// Records one HTTP request.
    pub fn observe_http(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.http
            .with_label_values(&[method, route, &status.to_string()])
            .observe(elapsed.as_secs_f64());
    }

    /// Sets the gauges read at scrape time and renders every metric in the Prometheus text format.
    pub fn render(&self, gauges: &Gauges) -> String {
        self.height.set(gauges.height as i64);
        self.mempool_txs.set(gauges.mempool_txs as i64);
        self.mempool_bytes.set(gauges.mempool_bytes as i64);
        self.peers.set(gauges.peers as i64);
        self.hash_rate.set(gauges.hash_rate);
        self.hashes
            .inc_by(gauges.total_hashes.saturating_sub(self.hashes.get()));
        self.mining.set(i64::from(gauges.mining));
        self.uptime.set(self.started.elapsed().as_secs_f64());
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!(error = %e, "metrics could not be encoded");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

/// The `outcome` label of a block submission's result.
pub fn outcome_label<E>(result: &Result<ferrochain_state::BlockOutcome, E>) -> &'static str {
    use ferrochain_state::BlockOutcome;
    match result {
        Ok(BlockOutcome::Connected(_)) => "connected",
        Ok(BlockOutcome::SideChain) => "side_chain",
        Ok(BlockOutcome::HeaderOnly) => "header_only",
        Ok(BlockOutcome::Orphan { .. }) => "orphan",
        Ok(BlockOutcome::AlreadyKnown) => "already_known",
        Err(_) => "invalid",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_metric_registers_and_renders() {
        let m = Metrics::new("dev");
        m.observe_block_validation(Duration::from_millis(3), "connected");
        m.observe_sync(Duration::from_millis(20), true);
        m.observe_http("GET", "/chain", 200, Duration::from_micros(700));
        let families = m.registry().gather();
        let names: Vec<&str> = families.iter().map(|f| f.name()).collect();
        for name in [
            "ferrochain_build_info",
            "ferrochain_chain_height",
            "ferrochain_peers",
            "ferrochain_mempool_transactions",
            "ferrochain_mempool_bytes",
            "ferrochain_miner_hash_rate",
            "ferrochain_miner_hashes_total",
            "ferrochain_miner_running",
            "ferrochain_uptime_seconds",
            "ferrochain_block_validation_seconds",
            "ferrochain_sync_seconds",
            "ferrochain_http_request_duration_seconds",
        ] {
            assert!(names.contains(&name), "{name} missing from {names:?}");
        }
    }
}
