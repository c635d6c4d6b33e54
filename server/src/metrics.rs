//! Process-wide counters, rendered at `GET /metrics` in the Prometheus text format (0.0.4) by
//! `prometheus-client`, the official Rust client.
//!
//! The counters stay plain atomics that any task bumps without a lock; at each scrape a
//! [`Collector`] copies them, with the store's statistics, into the client's encoder, which
//! writes the names, help, types, labels and histogram buckets.

mod cluster;

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use dashmap::DashMap;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::store::StoreStats;

pub use cluster::ClusterStatus;

/// The `Content-Type` of what [`Metrics::render`] writes.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Counters shared by every part of the server. Cheap to update from any task.
#[derive(Debug, Default)]
pub struct Metrics {
    /// WebSocket connections currently open.
    pub connections: AtomicU64,
    /// WebSocket connections accepted since start.
    pub connections_total: AtomicU64,
    /// Documents currently loaded in memory.
    pub rooms_loaded: AtomicU64,
    /// Documents evicted from memory after being idle.
    pub evictions: AtomicU64,
    /// Document updates received from clients.
    pub updates_in: AtomicU64,
    /// Update frames sent to clients (one frame may carry several coalesced updates).
    pub frames_relayed: AtomicU64,
    /// Bytes received in WebSocket messages.
    pub bytes_in: AtomicU64,
    /// Bytes queued for sending to clients.
    pub bytes_out: AtomicU64,
    /// Log compactions into snapshots.
    pub compactions: AtomicU64,
    /// Connections disconnected because they could not keep up.
    pub slow_disconnects: AtomicU64,
    /// Workshop credentials cached in memory (set by the `/metrics` handler).
    pub credentials_cached: AtomicU64,
    /// Bytes the store's writer holds accepted and not yet durable (set by the `/metrics`
    /// handler from [`crate::store::Backlog`]).
    pub store_backlog_bytes: AtomicU64,
    /// Writes the store's writer holds accepted and not yet durable (likewise).
    pub store_backlog_writes: AtomicU64,
    /// 1 while that backlog is past its high-water mark and update bytes are not read.
    pub store_saturated: AtomicU64,
    /// Room tasks that panicked (each was dropped and reloads from storage on the next join).
    pub room_panics: AtomicU64,
    /// Whether storage takes writes (what `/healthz` reports).
    pub health: crate::health::Health,
    /// Rejected frames, connections and requests, by reason.
    rejected: DashMap<&'static str, AtomicU64>,
    /// Cluster mode's relay state, rendered after the rest (set once at start).
    pub cluster: std::sync::OnceLock<std::sync::Arc<ClusterStatus>>,
}

impl Metrics {
    /// Counts one rejection for `reason` (a stable snake_case label).
    pub fn reject(&self, reason: &'static str) {
        self.rejected
            .entry(reason)
            .or_default()
            .fetch_add(1, Relaxed);
    }

    /// How many rejections were counted for `reason`.
    pub fn rejected(&self, reason: &str) -> u64 {
        self.rejected.get(reason).map_or(0, |c| c.load(Relaxed))
    }

    /// Renders every counter, plus the storage statistics, as Prometheus text.
    pub fn render(&self, store: &StoreStats) -> String {
        let mut rejected: Vec<(&'static str, u64)> = self
            .rejected
            .iter()
            .map(|e| (*e.key(), e.value().load(Relaxed)))
            .collect();
        rejected.sort_unstable();
        let scrape = Scrape {
            gauges: vec![
                (
                    "palabre_connections",
                    "Open WebSocket connections.",
                    self.connections.load(Relaxed),
                ),
                (
                    "palabre_rooms_loaded",
                    "Documents loaded in memory.",
                    self.rooms_loaded.load(Relaxed),
                ),
                (
                    "palabre_credentials_cached",
                    "Workshop credentials cached in memory.",
                    self.credentials_cached.load(Relaxed),
                ),
                (
                    "palabre_store_backlog_bytes",
                    "Bytes the store's writer accepted and has not made durable yet.",
                    self.store_backlog_bytes.load(Relaxed),
                ),
                (
                    "palabre_store_backlog_writes",
                    "Writes the store's writer accepted and has not made durable yet.",
                    self.store_backlog_writes.load(Relaxed),
                ),
                (
                    "palabre_store_saturated",
                    "1 while the store's backlog is past its high-water mark: update bytes are not read.",
                    self.store_saturated.load(Relaxed),
                ),
            ],
            // Names without `_total`: the encoder appends it to every counter.
            counters: vec![
                (
                    "palabre_room_panics",
                    "Rooms that panicked and were dropped (reloaded on the next join).",
                    self.room_panics.load(Relaxed),
                ),
                (
                    "palabre_connections",
                    "WebSocket connections accepted.",
                    self.connections_total.load(Relaxed),
                ),
                (
                    "palabre_evictions",
                    "Idle documents evicted from memory.",
                    self.evictions.load(Relaxed),
                ),
                (
                    "palabre_updates_in",
                    "Document updates received.",
                    self.updates_in.load(Relaxed),
                ),
                (
                    "palabre_frames_relayed",
                    "Update frames sent to clients.",
                    self.frames_relayed.load(Relaxed),
                ),
                (
                    "palabre_bytes_in",
                    "Bytes received in WebSocket messages.",
                    self.bytes_in.load(Relaxed),
                ),
                (
                    "palabre_bytes_out",
                    "Bytes queued to clients.",
                    self.bytes_out.load(Relaxed),
                ),
                (
                    "palabre_compactions",
                    "Update logs folded into snapshots.",
                    self.compactions.load(Relaxed),
                ),
                (
                    "palabre_slow_disconnects",
                    "Connections dropped for falling behind.",
                    self.slow_disconnects.load(Relaxed),
                ),
                (
                    "palabre_store_commits",
                    "Group commits written.",
                    store.commits,
                ),
                (
                    "palabre_store_failed_batches",
                    "Group commits rolled back.",
                    store.failed_batches,
                ),
                (
                    "palabre_store_rows",
                    "Log entries durably appended.",
                    store.rows_appended,
                ),
                (
                    "palabre_store_bytes",
                    "Update bytes durably appended.",
                    store.bytes_appended,
                ),
            ],
            rejected,
            latency: store.clone(),
        };
        let mut registry = Registry::default();
        registry.register_collector(Box::new(scrape));
        let mut out = String::with_capacity(4096);
        if let Err(e) = prometheus_client::encoding::prometheus_text::encode(&mut out, &registry) {
            tracing::error!(error = %e, "cannot encode metrics");
        }
        out
    }
}

/// One scrape's values, handed to the client's encoder.
#[derive(Debug)]
struct Scrape {
    gauges: Vec<(&'static str, &'static str, u64)>,
    counters: Vec<(&'static str, &'static str, u64)>,
    rejected: Vec<(&'static str, u64)>,
    latency: StoreStats,
}

impl Collector for Scrape {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for (name, help, value) in &self.gauges {
            let gauge = ConstGauge::new(i64::try_from(*value).unwrap_or(i64::MAX));
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        for (name, help, value) in &self.counters {
            let counter = ConstCounter::new(*value);
            counter.encode(encoder.encode_descriptor(
                name,
                help,
                None,
                counter.metric_type(),
            )?)?;
        }
        let mut family = encoder.encode_descriptor(
            "palabre_rejected",
            "Frames, connections and requests rejected, by reason.",
            None,
            MetricType::Counter,
        )?;
        for (reason, n) in &self.rejected {
            let labels = [("reason", *reason)];
            family
                .encode_family(&labels)?
                .encode_counter::<NoLabelSet, _, u64>(n, None)?;
        }
        // The store keeps cumulative counts per bound; the encoder wants them per bucket.
        let h = &self.latency.commit_latency;
        let mut below = 0;
        let buckets: Vec<(f64, u64)> = h
            .buckets
            .iter()
            .map(|(le, cumulative)| {
                let n = cumulative.saturating_sub(below);
                below = *cumulative;
                (*le, n)
            })
            .collect();
        encoder
            .encode_descriptor(
                "palabre_commit_latency_seconds",
                "Time from queueing a write to its durable commit.",
                None,
                MetricType::Histogram,
            )?
            .encode_histogram::<NoLabelSet>(h.sum_seconds, h.count, &buckets, None)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::LatencyHistogram;

    #[test]
    fn renders_the_same_series_names_as_before() {
        let m = Metrics::default();
        m.connections.fetch_add(2, Relaxed);
        m.connections_total.fetch_add(5, Relaxed);
        m.reject("text_frame");
        m.reject("text_frame");
        m.store_backlog_bytes.store(4096, Relaxed);
        let stats = StoreStats {
            commits: 3,
            failed_batches: 0,
            rows_appended: 4,
            bytes_appended: 100,
            compactions: 1,
            commit_latency: LatencyHistogram {
                buckets: vec![(0.001, 2), (0.01, 3), (f64::INFINITY, 3)],
                sum_seconds: 0.012,
                count: 3,
            },
        };
        let text = m.render(&stats);
        for line in [
            "# TYPE palabre_connections gauge",
            "palabre_connections 2",
            "# TYPE palabre_connections_total counter",
            "palabre_connections_total 5",
            "palabre_rejected_total{reason=\"text_frame\"} 2",
            "palabre_store_commits_total 3",
            "# TYPE palabre_store_backlog_bytes gauge",
            "palabre_store_backlog_bytes 4096",
            "palabre_store_saturated 0",
            "palabre_commit_latency_seconds_bucket{le=\"0.001\"} 2",
            "palabre_commit_latency_seconds_bucket{le=\"0.01\"} 3",
            "palabre_commit_latency_seconds_bucket{le=\"+Inf\"} 3",
            "palabre_commit_latency_seconds_count 3",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }
}
