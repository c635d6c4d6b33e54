//! Cluster mode's relay counters and state: `cluster` writes them, `/metrics` renders them and
//! `/healthz` reads whether updates are being relayed. Owned here, below both, so the counters
//! point one way: the cluster depends on metrics, never the reverse.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Counters for `/metrics` and the state `/healthz` reports.
#[derive(Debug, Default)]
pub struct ClusterStatus {
    /// 1 while the relay's Redis connection works, else 0.
    pub redis_up: AtomicU64,
    /// Updates appended to a stream.
    pub published: AtomicU64,
    /// Updates that could not be appended (Redis down): peers catch up from PostgreSQL.
    pub publish_failures: AtomicU64,
    /// Other nodes' updates applied here.
    pub applied: AtomicU64,
    /// Catch-ups from PostgreSQL (doc opened, reconnect, trimmed position, peer resync).
    pub catchups: AtomicU64,
    /// Age, in milliseconds, of the last remote update when it was applied here (stream
    /// entry time to apply: the cross-node relay lag).
    pub lag_ms_last: AtomicU64,
    /// Sum and count of those ages, for a mean.
    pub lag_ms_sum: AtomicU64,
    /// Documents this node reads streams for.
    pub docs_followed: AtomicU64,
    node: String,
}

impl ClusterStatus {
    /// The counters of node `node`, all zero.
    pub fn new(node: String) -> Self {
        ClusterStatus {
            node,
            ..ClusterStatus::default()
        }
    }

    /// This node's id in the streams.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Whether updates are being relayed between nodes right now.
    pub fn relaying(&self) -> bool {
        self.redis_up.load(Relaxed) == 1
    }

    /// Prometheus text for `/metrics`.
    pub fn render(&self) -> String {
        let applied = self.applied.load(Relaxed);
        let lag_sum = self.lag_ms_sum.load(Relaxed) as f64 / 1000.0;
        format!(
            "# HELP palabre_cluster_redis_up Whether this node's relay reaches Redis.\n\
             # TYPE palabre_cluster_redis_up gauge\n\
             palabre_cluster_redis_up{{node=\"{node}\"}} {up}\n\
             # HELP palabre_cluster_published_total Durable updates appended to a stream.\n\
             # TYPE palabre_cluster_published_total counter\n\
             palabre_cluster_published_total {published}\n\
             # HELP palabre_cluster_publish_failures_total Updates not appended (peers catch up from PostgreSQL).\n\
             # TYPE palabre_cluster_publish_failures_total counter\n\
             palabre_cluster_publish_failures_total {failures}\n\
             # HELP palabre_cluster_applied_total Other nodes' updates applied and relayed here.\n\
             # TYPE palabre_cluster_applied_total counter\n\
             palabre_cluster_applied_total {applied}\n\
             # HELP palabre_cluster_catchups_total Catch-ups from PostgreSQL.\n\
             # TYPE palabre_cluster_catchups_total counter\n\
             palabre_cluster_catchups_total {catchups}\n\
             # HELP palabre_cluster_docs_followed Documents whose stream this node reads.\n\
             # TYPE palabre_cluster_docs_followed gauge\n\
             palabre_cluster_docs_followed {followed}\n\
             # HELP palabre_cluster_lag_seconds Cross-node lag: stream entry to applied here.\n\
             # TYPE palabre_cluster_lag_seconds summary\n\
             palabre_cluster_lag_seconds_sum {lag_sum}\n\
             palabre_cluster_lag_seconds_count {applied}\n\
             # HELP palabre_cluster_lag_last_seconds Lag of the last remote update applied.\n\
             # TYPE palabre_cluster_lag_last_seconds gauge\n\
             palabre_cluster_lag_last_seconds {lag_last}\n",
            node = self.node,
            up = self.redis_up.load(Relaxed),
            published = self.published.load(Relaxed),
            failures = self.publish_failures.load(Relaxed),
            catchups = self.catchups.load(Relaxed),
            followed = self.docs_followed.load(Relaxed),
            lag_last = self.lag_ms_last.load(Relaxed) as f64 / 1000.0,
        )
    }
}
