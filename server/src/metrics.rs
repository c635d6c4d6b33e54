//! Process-wide counters rendered in the Prometheus text format at `GET /metrics`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use dashmap::DashMap;

use crate::store::StoreStats;

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
    /// Rejected frames, connections and requests, by reason.
    rejected: DashMap<&'static str, AtomicU64>,
    /// Cluster mode's relay state, rendered after the rest (set once at start).
    pub cluster: std::sync::OnceLock<std::sync::Arc<crate::cluster::ClusterStatus>>,
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
        let mut out = String::with_capacity(2048);
        let gauges: [(&str, &str, &AtomicU64); 2] = [
            (
                "palabre_connections",
                "Open WebSocket connections.",
                &self.connections,
            ),
            (
                "palabre_rooms_loaded",
                "Documents loaded in memory.",
                &self.rooms_loaded,
            ),
        ];
        for (name, help, value) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {}",
                value.load(Relaxed)
            );
        }
        let counters: [(&str, &str, &AtomicU64); 8] = [
            (
                "palabre_connections_total",
                "WebSocket connections accepted.",
                &self.connections_total,
            ),
            (
                "palabre_evictions_total",
                "Idle documents evicted from memory.",
                &self.evictions,
            ),
            (
                "palabre_updates_in_total",
                "Document updates received.",
                &self.updates_in,
            ),
            (
                "palabre_frames_relayed_total",
                "Update frames sent to clients.",
                &self.frames_relayed,
            ),
            (
                "palabre_bytes_in_total",
                "Bytes received in WebSocket messages.",
                &self.bytes_in,
            ),
            (
                "palabre_bytes_out_total",
                "Bytes queued to clients.",
                &self.bytes_out,
            ),
            (
                "palabre_compactions_total",
                "Update logs folded into snapshots.",
                &self.compactions,
            ),
            (
                "palabre_slow_disconnects_total",
                "Connections dropped for falling behind.",
                &self.slow_disconnects,
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                value.load(Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP palabre_rejected_total Frames, connections and requests rejected, by reason.\n# TYPE palabre_rejected_total counter"
        );
        let mut reasons: Vec<(&'static str, u64)> = self
            .rejected
            .iter()
            .map(|e| (*e.key(), e.value().load(Relaxed)))
            .collect();
        reasons.sort_unstable();
        for (reason, n) in reasons {
            let _ = writeln!(out, "palabre_rejected_total{{reason=\"{reason}\"}} {n}");
        }
        let store_counters = [
            (
                "palabre_store_commits_total",
                "Group commits written.",
                store.commits,
            ),
            (
                "palabre_store_failed_batches_total",
                "Group commits rolled back.",
                store.failed_batches,
            ),
            (
                "palabre_store_rows_total",
                "Log entries durably appended.",
                store.rows_appended,
            ),
            (
                "palabre_store_bytes_total",
                "Update bytes durably appended.",
                store.bytes_appended,
            ),
        ];
        for (name, help, value) in store_counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        }
        let commit_latency = &store.commit_latency;
        let name = "palabre_commit_latency_seconds";
        let _ = writeln!(out, "# HELP {name} Time from queueing a write to its durable commit.\n# TYPE {name} histogram");
        for (le, n) in &commit_latency.buckets {
            let le = if le.is_infinite() {
                "+Inf".to_string()
            } else {
                le.to_string()
            };
            let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "{name}_sum {}\n{name}_count {}",
            commit_latency.sum_seconds, commit_latency.count
        );
        out
    }
}
