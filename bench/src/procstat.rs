//! Reads CPU time and memory of the server, of the generator itself and of the whole machine from /proc.

use std::path::{Path, PathBuf};
use std::time::Instant;

use thiserror::Error;

/// A /proc file that could not be read or understood.
#[derive(Debug, Error)]
pub enum ProcError {
    /// The file could not be read (process gone, or not Linux).
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file did not have the expected layout.
    #[error("unexpected layout in {0}")]
    Layout(PathBuf),
}

/// CPU and memory of one process at one instant.
#[derive(Debug, Clone, Copy)]
pub struct ProcessSample {
    /// When it was taken.
    pub at: Instant,
    /// User + system CPU seconds since the process started, all threads.
    pub cpu_s: f64,
    /// Resident set size now, KiB.
    pub rss_kb: u64,
    /// Peak resident set size since start (VmHWM), KiB.
    pub hwm_kb: u64,
}

/// Aggregate CPU counters of the machine.
#[derive(Debug, Clone, Copy)]
pub struct MachineSample {
    /// Busy CPU seconds summed over cores: not idle, not waiting for IO, and not spent in
    /// niced processes, which yield to the benchmark (a `nice` build next to it is not a limit).
    pub busy_s: f64,
    /// When it was taken.
    pub at: Instant,
}

/// Knows the clock-tick rate and reads samples.
#[derive(Debug, Clone, Copy)]
pub struct Proc {
    ticks_per_s: f64,
}

impl Proc {
    /// Asks `getconf` for the tick rate (100 on every common Linux when that fails).
    pub fn new() -> Self {
        let ticks = std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|t| *t > 0.0)
            .unwrap_or(100.0);
        Self { ticks_per_s: ticks }
    }

    /// Samples a process by pid, or this process when `pid` is `None`.
    pub fn process(&self, pid: Option<u32>) -> Result<ProcessSample, ProcError> {
        let dir = match pid {
            Some(p) => PathBuf::from(format!("/proc/{p}")),
            None => PathBuf::from("/proc/self"),
        };
        let at = Instant::now();
        let stat_path = dir.join("stat");
        let stat = read(&stat_path)?;
        // The command name may hold spaces and parentheses: fields are counted after the last ')'.
        let after = stat
            .rfind(')')
            .and_then(|i| stat.get(i + 1..))
            .ok_or_else(|| ProcError::Layout(stat_path.clone()))?;
        let fields: Vec<&str> = after.split_whitespace().collect();
        // utime and stime are fields 14 and 15 of stat(5); `after` starts at field 3.
        let tick = |i: usize| -> Result<f64, ProcError> {
            fields
                .get(i)
                .and_then(|f| f.parse::<f64>().ok())
                .ok_or_else(|| ProcError::Layout(stat_path.clone()))
        };
        let cpu_s = (tick(11)? + tick(12)?) / self.ticks_per_s;
        let status_path = dir.join("status");
        let status = read(&status_path)?;
        let kb = |key: &str| -> u64 {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        Ok(ProcessSample {
            at,
            cpu_s,
            rss_kb: kb("VmRSS:"),
            hwm_kb: kb("VmHWM:"),
        })
    }

    /// Samples the machine-wide CPU counters.
    pub fn machine(&self) -> Result<MachineSample, ProcError> {
        let path = Path::new("/proc/stat");
        let at = Instant::now();
        let text = read(path)?;
        let line = text
            .lines()
            .find(|l| l.starts_with("cpu "))
            .ok_or_else(|| ProcError::Layout(path.into()))?;
        let v: Vec<f64> = line
            .split_whitespace()
            .skip(1)
            .filter_map(|f| f.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal ...
        let total: f64 = v.iter().take(8).sum();
        let field = |i: usize| v.get(i).copied().unwrap_or(0.0);
        let idle = field(1) + field(3) + field(4);
        Ok(MachineSample {
            busy_s: (total - idle) / self.ticks_per_s,
            at,
        })
    }
}

impl Default for Proc {
    fn default() -> Self {
        Self::new()
    }
}

fn read(path: &Path) -> Result<String, ProcError> {
    std::fs::read_to_string(path).map_err(|source| ProcError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Host facts written into every result file.
pub fn machine_description() -> (usize, String) {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    (cores, model)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_readable_and_burns_cpu() {
        let p = Proc::new();
        let a = p.process(None).expect("own /proc entry");
        // Spin for a bounded number of iterations so the CPU counter can move.
        let mut x = 0u64;
        let start = Instant::now();
        while start.elapsed().as_millis() < 60 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        std::hint::black_box(x);
        let b = p.process(None).expect("own /proc entry");
        assert!(a.rss_kb > 0 && b.hwm_kb >= b.rss_kb);
        assert!(b.cpu_s >= a.cpu_s);
        assert!(p.machine().expect("/proc/stat").busy_s > 0.0);
    }

    #[test]
    fn missing_process_is_an_error() {
        assert!(Proc::new().process(Some(u32::MAX)).is_err());
    }
}
