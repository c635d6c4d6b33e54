//! Latency summaries: percentiles and a compact CDF kept in the result files for the plot.

use serde::{Deserialize, Serialize};

/// Percentiles of a set of latencies, in milliseconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Latency {
    /// Number of samples.
    pub count: u64,
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Largest sample.
    pub max_ms: f64,
    /// Arithmetic mean.
    pub mean_ms: f64,
    /// `(fraction, ms)` points of the cumulative distribution, fraction ascending.
    pub cdf: Vec<(f64, f64)>,
}

/// Summarises latencies given in microseconds (the slice is sorted in place).
pub fn summarize(samples_us: &mut [u32]) -> Latency {
    if samples_us.is_empty() {
        return Latency::default();
    }
    samples_us.sort_unstable();
    let n = samples_us.len();
    let ms = |us: u32| f64::from(us) / 1000.0;
    let at = |q: f64| ms(nearest_rank(samples_us, q));
    let sum: f64 = samples_us.iter().map(|&v| f64::from(v)).sum();
    Latency {
        count: n as u64,
        p50_ms: at(0.50),
        p90_ms: at(0.90),
        p99_ms: at(0.99),
        max_ms: at(1.0),
        mean_ms: sum / n as f64 / 1000.0,
        cdf: cdf_points(samples_us),
    }
}

/// Nearest-rank percentile of a sorted, non-empty slice.
fn nearest_rank(sorted: &[u32], q: f64) -> u32 {
    let n = sorted.len();
    let rank = (q * n as f64).ceil() as usize;
    let idx = rank.clamp(1, n) - 1;
    sorted.get(idx).copied().unwrap_or(0)
}

/// About 120 points, denser in the tail where servers differ most.
fn cdf_points(sorted: &[u32]) -> Vec<(f64, f64)> {
    let mut qs: Vec<f64> = (1..=90).map(|i| f64::from(i) / 100.0).collect();
    qs.extend((1..=18).map(|i| 0.90 + f64::from(i) * 0.005));
    qs.extend([0.995, 0.998, 0.999, 0.9995, 0.9999, 1.0]);
    qs.iter()
        .map(|&q| (q, f64::from(nearest_rank(sorted, q)) / 1000.0))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let mut v: Vec<u32> = (1..=1000).rev().map(|i| i * 1000).collect();
        let l = summarize(&mut v);
        assert_eq!(l.count, 1000);
        assert_eq!(l.p50_ms, 500.0);
        assert_eq!(l.p99_ms, 990.0);
        assert_eq!(l.max_ms, 1000.0);
        assert!((l.mean_ms - 500.5).abs() < 1e-9);
        assert_eq!(l.cdf.last(), Some(&(1.0, 1000.0)));
        assert!(l
            .cdf
            .windows(2)
            .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1));
    }

    #[test]
    fn empty_and_single() {
        assert_eq!(summarize(&mut []).count, 0);
        let l = summarize(&mut [2500]);
        assert_eq!((l.p50_ms, l.p99_ms, l.max_ms), (2.5, 2.5, 2.5));
    }
}
