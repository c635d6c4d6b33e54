//! Counters and the commit-latency histogram of the SQLite store: written by the writer thread,
//! read lock-free by anyone through [`StoreStats`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds, in seconds, of the commit-latency histogram buckets (`+Inf` comes after them).
pub const COMMIT_LATENCY_BOUNDS: [f64; 10] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];

const BUCKETS: usize = COMMIT_LATENCY_BOUNDS.len() + 1;

/// Live counters shared between the store handle and its writer thread.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    commits: AtomicU64,
    failed_batches: AtomicU64,
    rows_appended: AtomicU64,
    bytes_appended: AtomicU64,
    compactions: AtomicU64,
    /// Per-bucket (not cumulative) counts; the last one is `+Inf`.
    latency_buckets: [AtomicU64; BUCKETS],
    latency_sum_nanos: AtomicU64,
}

impl Counters {
    /// Records one committed transaction.
    pub(crate) fn record_commit(&self, latency: Duration, rows: u64, bytes: u64, compactions: u64) {
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.rows_appended.fetch_add(rows, Ordering::Relaxed);
        self.bytes_appended.fetch_add(bytes, Ordering::Relaxed);
        self.compactions.fetch_add(compactions, Ordering::Relaxed);
        let seconds = latency.as_secs_f64();
        let bucket = COMMIT_LATENCY_BOUNDS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(BUCKETS - 1);
        if let Some(slot) = self.latency_buckets.get(bucket) {
            slot.fetch_add(1, Ordering::Relaxed);
        }
        let nanos = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        self.latency_sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Records a batch whose transaction was rolled back.
    pub(crate) fn record_failed_batch(&self) {
        self.failed_batches.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> StoreStats {
        let mut cumulative = 0;
        let buckets = COMMIT_LATENCY_BOUNDS
            .iter()
            .copied()
            .chain(std::iter::once(f64::INFINITY))
            .zip(&self.latency_buckets)
            .map(|(bound, count)| {
                cumulative += count.load(Ordering::Relaxed);
                (bound, cumulative)
            })
            .collect();
        StoreStats {
            commits: self.commits.load(Ordering::Relaxed),
            failed_batches: self.failed_batches.load(Ordering::Relaxed),
            rows_appended: self.rows_appended.load(Ordering::Relaxed),
            bytes_appended: self.bytes_appended.load(Ordering::Relaxed),
            compactions: self.compactions.load(Ordering::Relaxed),
            commit_latency: LatencyHistogram {
                buckets,
                // Derived from the buckets rather than a counter of its own so that
                // `count` always equals the `+Inf` bucket, as Prometheus expects.
                count: cumulative,
                sum_seconds: Duration::from_nanos(self.latency_sum_nanos.load(Ordering::Relaxed))
                    .as_secs_f64(),
            },
        }
    }
}

/// A point-in-time copy of the store's counters, for `/metrics`.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreStats {
    /// Transactions committed (one per group commit that wrote something).
    pub commits: u64,
    /// Group commits that failed and were rolled back (their waiters got an error).
    pub failed_batches: u64,
    /// Log entries durably appended.
    pub rows_appended: u64,
    /// Bytes of update payload durably appended.
    pub bytes_appended: u64,
    /// Compactions committed.
    pub compactions: u64,
    /// Time from `BEGIN` to the end of `COMMIT` (fsync included) of each committed transaction.
    pub commit_latency: LatencyHistogram,
}

/// A Prometheus-style histogram: cumulative counts per upper bound.
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyHistogram {
    /// `(upper bound in seconds, observations <= bound)`, ascending; the last bound is `f64::INFINITY`.
    pub buckets: Vec<(f64, u64)>,
    /// Sum of all observations, in seconds.
    pub sum_seconds: f64,
    /// Number of observations (equal to the `+Inf` bucket).
    pub count: u64,
}
