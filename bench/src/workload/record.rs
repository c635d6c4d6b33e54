//! What a workload writes: the run's identity, the CPU and memory of its measurement window,
//! and the result record saved as JSON.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{attack, fullboard, w1, w2, w3, w4, Ctx, WorkloadError};
use crate::client::Mode;
use crate::procstat::{MachineSample, ProcessSample};

/// Identifies a result: which run, which server, which workload, on what machine.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunInfo {
    /// Shared by every result of one `bench.sh` run.
    pub run_id: String,
    /// Server name.
    pub server: String,
    /// `w1` … `w4`.
    pub workload: String,
    /// Protocol behaviour used.
    pub mode: Mode,
    /// WebSocket URL template.
    pub url_template: String,
    /// The generator's command line.
    pub command: String,
    /// When the result was written.
    pub unix_time: u64,
    /// Cores of the machine.
    pub cores: usize,
    /// CPU model from /proc/cpuinfo.
    pub cpu_model: String,
    /// `quick` or `full`.
    pub size: String,
}

/// CPU and memory over a measurement window, and who was the limit.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Resources {
    /// Length of the window.
    pub wall_s: f64,
    /// Server CPU seconds in the window.
    pub server_cpu_s: Option<f64>,
    /// Server CPU in cores (CPU seconds per second).
    pub server_cores: Option<f64>,
    /// Server RSS at the end of the window, KiB.
    pub server_rss_kb: Option<u64>,
    /// Server peak RSS since it started (VmHWM), KiB.
    pub server_peak_rss_kb: Option<u64>,
    /// Generator CPU seconds in the window.
    pub generator_cpu_s: f64,
    /// Generator CPU in cores.
    pub generator_cores: f64,
    /// All busy CPU of the machine, in cores.
    pub machine_busy_cores: f64,
    /// Busy CPU that was neither the server nor the generator (other users of the machine).
    pub other_cores: f64,
    /// The generator used at least 0.9 of a core: it may have been the limit.
    pub generator_limited: bool,
    /// The machine's cores were at least 90 % busy.
    pub machine_saturated: bool,
}

impl Resources {
    /// One line saying what limited the measurement.
    pub fn verdict(&self) -> String {
        let mut parts = Vec::new();
        if self.generator_limited {
            parts.push(format!("generator {:.2} cores", self.generator_cores));
        }
        if self.machine_saturated {
            parts.push(format!(
                "machine saturated ({:.2} cores busy, {:.2} from others)",
                self.machine_busy_cores, self.other_cores
            ));
        }
        if let Some(s) = self.server_cores.filter(|c| *c >= 0.9) {
            parts.push(format!("server {s:.2} cores"));
        }
        if parts.is_empty() {
            "no CPU limit reached".into()
        } else {
            parts.join("; ")
        }
    }
}

/// Samples taken at the start of a measurement window.
pub struct Window {
    server: Option<ProcessSample>,
    generator: ProcessSample,
    machine: MachineSample,
}

impl Window {
    /// Starts a window now.
    pub fn start(ctx: &Ctx) -> Result<Self, WorkloadError> {
        Ok(Self {
            server: ctx.server_sample()?,
            generator: ctx.proc.process(None)?,
            machine: ctx.proc.machine()?,
        })
    }

    /// Ends the window now.
    pub fn finish(&self, ctx: &Ctx) -> Result<Resources, WorkloadError> {
        let server = ctx.server_sample()?;
        let generator = ctx.proc.process(None)?;
        let machine = ctx.proc.machine()?;
        let wall_s = generator
            .at
            .duration_since(self.generator.at)
            .as_secs_f64()
            .max(1e-6);
        let server_cpu_s = match (&self.server, &server) {
            (Some(a), Some(b)) => Some(b.cpu_s - a.cpu_s),
            _ => None,
        };
        let generator_cpu_s = generator.cpu_s - self.generator.cpu_s;
        let machine_busy_cores = (machine.busy_s - self.machine.busy_s) / wall_s;
        let generator_cores = generator_cpu_s / wall_s;
        let server_cores = server_cpu_s.map(|s| s / wall_s);
        let cores = crate::procstat::machine_description().0 as f64;
        Ok(Resources {
            wall_s,
            server_cpu_s,
            server_cores,
            server_rss_kb: server.map(|s| s.rss_kb),
            server_peak_rss_kb: server.map(|s| s.hwm_kb),
            generator_cpu_s,
            generator_cores,
            machine_busy_cores,
            other_cores: (machine_busy_cores - generator_cores - server_cores.unwrap_or(0.0))
                .max(0.0),
            generator_limited: generator_cores >= 0.9,
            machine_saturated: machine_busy_cores >= 0.9 * cores,
        })
    }
}

/// One result file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    /// Which run, server and workload.
    pub info: RunInfo,
    /// What was measured.
    pub outcome: Outcome,
}

/// The measurements of one workload.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Outcome {
    /// Plenary.
    W1(w1::W1Result),
    /// Many rooms.
    W2(w2::W2Result),
    /// Join storm.
    W3(w3::W3Result),
    /// Durable writes.
    W4(w4::W4Result),
    /// Honest clients with and without an attack (issue 13).
    Attack(attack::AttackResult),
    /// Honest participants on a full board, alone and beside checked hostile updates.
    FullBoard(fullboard::FullBoardResult),
    /// Not measured for this server, and why.
    Skipped {
        /// Why.
        reason: String,
    },
}

/// Writes a record as pretty JSON.
pub fn save(record: &Record, path: &Path) -> Result<(), WorkloadError> {
    let json = serde_json::to_string_pretty(record)?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| WorkloadError::Write {
            path: dir.display().to_string(),
            source,
        })?;
    }
    std::fs::write(path, json + "\n").map_err(|source| WorkloadError::Write {
        path: path.display().to_string(),
        source,
    })
}

/// A record saying this workload was not measured for this server, and why.
pub fn skipped(ctx: &Ctx, workload: &str, reason: &str) -> Record {
    Record {
        info: ctx.info(workload),
        outcome: Outcome::Skipped {
            reason: reason.into(),
        },
    }
}

/// One line per result for the console.
pub fn summary(r: &Record) -> String {
    let who = &r.info.server;
    match &r.outcome {
        Outcome::W1(x) => format!(
            "w1 {who}: p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms, {:.0} deliveries/s, {:.1} % delivered, {} µs CPU/delivery, generator {:.2} cores — {}",
            x.latency.p50_ms,
            x.latency.p99_ms,
            x.latency.max_ms,
            x.deliveries_per_s,
            x.delivered_pct,
            x.server_us_per_delivery.map(|v| format!("{v:.1}")).unwrap_or_else(|| "n/a".into()),
            x.resources.generator_cores,
            x.resources.verdict()
        ),
        Outcome::W2(x) => format!(
            "w2 {who}: {} connected, {} KB/connection, idle CPU {} % of a core, p99 {:.2} ms, {:.1} % delivered — {}",
            x.connected,
            x.kb_per_connection.map(|v| format!("{v:.1}")).unwrap_or_else(|| "n/a".into()),
            x.server_idle_cpu_pct.map(|v| format!("{v:.1}")).unwrap_or_else(|| "n/a".into()),
            x.latency.p99_ms,
            x.delivered_pct,
            x.resources.verdict()
        ),
        Outcome::W3(x) => format!(
            "w3 {who}: {}/{} synced, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, doc {} bytes — {}",
            x.synced,
            x.joiners,
            x.time_to_sync.p50_ms,
            x.time_to_sync.p99_ms,
            x.time_to_sync.max_ms,
            x.doc_bytes,
            x.resources.verdict()
        ),
        Outcome::W4(x) => format!(
            "w4 {who}: {:.0} updates/s acked, p50 {:.2} ms, p99 {:.2} ms, {} unacked — {}",
            x.updates_per_s,
            x.ack_latency.p50_ms,
            x.ack_latency.p99_ms,
            x.unacked,
            x.resources.verdict()
        ),
        Outcome::Attack(x) => format!(
            "attack {:?} {who}: honest p99 {:.2} ms alone, {:.2} ms under attack (×{:.2}); delivered {:.1} % / {:.1} %; {} attacker frames",
            x.attack,
            x.baseline.p99_ms,
            x.attacked.p99_ms,
            x.p99_ratio,
            x.delivered_pct.0,
            x.delivered_pct.1,
            x.attack_sent
        ),
        Outcome::FullBoard(x) => format!(
            "fullboard {:?} {who}: honest p50/p99 {:.2}/{:.2} ms alone, {:.2}/{:.2} ms under attack \
             (×{:.2}/×{:.2}); delivered {:.1} % / {:.1} %; {} attacker updates, {} refused; \
             server {:.2}/{:.2} cores",
            x.variant,
            x.baseline.latency.p50_ms,
            x.baseline.latency.p99_ms,
            x.attacked.latency.p50_ms,
            x.attacked.latency.p99_ms,
            x.p50_ratio,
            x.p99_ratio,
            x.baseline.delivered_pct,
            x.attacked.delivered_pct,
            x.attacked.attack_sent,
            x.attacked.attack_denied,
            x.baseline.resources.server_cores.unwrap_or(0.0),
            x.attacked.resources.server_cores.unwrap_or(0.0),
        ),
        Outcome::Skipped { reason } => format!("{} {who}: skipped: {reason}", r.info.workload),
    }
}
