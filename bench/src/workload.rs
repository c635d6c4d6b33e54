//! What every workload shares: the target server, the measurement window, the result records and
//! helpers to connect and close many clients.

pub mod attack;
pub mod drive;
pub mod fullboard;
pub mod w1;
pub mod w2;
pub mod w3;
pub mod w4;

mod record;
mod target;

pub use record::{save, skipped, summary, Outcome, Record, Resources, RunInfo, Window};
pub use target::Target;

use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;
use tokio::sync::Semaphore;

use crate::client::{self, ClientEnd, ClientHandle, ClientOptions, SyncState};
use crate::procstat::{Proc, ProcessSample};

/// A workload could not run or could not save its result.
#[derive(Debug, Error)]
pub enum WorkloadError {
    /// Creating a doc through the server's HTTP API failed.
    #[error("creating doc {doc} via {url}: {why}")]
    Create {
        /// The doc.
        doc: String,
        /// The creation URL.
        url: String,
        /// What went wrong.
        why: String,
    },
    /// The server process could not be sampled.
    #[error(transparent)]
    Proc(#[from] crate::procstat::ProcError),
    /// Too few clients connected to measure anything meaningful.
    #[error("only {connected} of {wanted} clients connected; first error: {first_error}")]
    Connect {
        /// Clients that synced.
        connected: usize,
        /// Clients asked for.
        wanted: usize,
        /// The first failure seen.
        first_error: String,
    },
    /// The result file could not be written.
    #[error("writing {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The result could not be serialised.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

/// Everything a workload needs besides its own sizes.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The server under test.
    pub target: Target,
    /// Its name in result files (`relay`, `y-websocket`, `palabre-strict` …).
    pub server: String,
    /// Its process id, to sample CPU and memory.
    pub server_pid: Option<u32>,
    /// The other nodes of a cluster: their CPU and memory are added to the server's.
    pub other_pids: Vec<u32>,
    /// Shared by every result of one `bench.sh` run, so the report compares like with like.
    pub run_id: String,
    /// Full sizes (`make bench-full`) rather than quick ones.
    pub full: bool,
    /// What the simulated browsers send besides the protocol (plain y-websocket or web-like).
    pub client: crate::client::Behaviour,
    /// /proc reader.
    pub proc: Proc,
}

impl Ctx {
    fn info(&self, workload: &str) -> RunInfo {
        let (cores, cpu_model) = crate::procstat::machine_description();
        RunInfo {
            run_id: self.run_id.clone(),
            server: self.server.clone(),
            workload: workload.into(),
            mode: self.target.mode,
            url_template: self.target.url_template.clone(),
            command: std::env::args().collect::<Vec<_>>().join(" "),
            unix_time: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            cores,
            cpu_model,
            size: if self.full { "full" } else { "quick" }.into(),
        }
    }

    fn server_sample(&self) -> Result<Option<ProcessSample>, WorkloadError> {
        let Some(pid) = self.server_pid else {
            return Ok(None);
        };
        let mut sample = self.proc.process(Some(pid))?;
        for other in &self.other_pids {
            let more = self.proc.process(Some(*other))?;
            sample.cpu_s += more.cpu_s;
            sample.rss_kb += more.rss_kb;
            sample.hwm_kb += more.hwm_kb;
        }
        Ok(Some(sample))
    }

    /// Client ids unique within a run, starting at a random 31-bit base like Yjs's random ids.
    fn client_ids(&self) -> impl Iterator<Item = u64> {
        let base = u64::from(rand::random::<u32>() >> 2) + 1;
        (0..).map(move |i| base + i)
    }
}

/// Connects clients with at most `parallel` handshakes in flight; returns each client with the
/// state it reached (synced or failed) within `limit`.
pub async fn connect_many(
    options: Vec<ClientOptions>,
    parallel: usize,
    limit: Duration,
) -> Vec<(ClientHandle, SyncState)> {
    let gate = Arc::new(Semaphore::new(parallel.max(1)));
    let mut pending = Vec::with_capacity(options.len());
    for opts in options {
        let permit = gate.clone().acquire_owned().await;
        let handle = client::spawn(opts);
        let mut state = handle.state.clone();
        let waiter = tokio::spawn(async move {
            let s = client::wait_synced(&mut state, limit).await;
            drop(permit);
            s
        });
        pending.push((handle, waiter));
    }
    let mut out = Vec::with_capacity(pending.len());
    for (handle, waiter) in pending {
        let state = waiter
            .await
            .unwrap_or_else(|e| SyncState::Failed(e.to_string()));
        out.push((handle, state));
    }
    out
}

/// Keeps the clients that synced; fails when fewer than `min_fraction` did.
pub fn require_synced(
    clients: Vec<(ClientHandle, SyncState)>,
    min_fraction: f64,
) -> Result<(Vec<ClientHandle>, usize), WorkloadError> {
    let wanted = clients.len();
    let mut first_error = String::new();
    let mut ok = Vec::with_capacity(wanted);
    let mut failed = 0;
    for (h, s) in clients {
        match s {
            SyncState::Synced { .. } => ok.push(h),
            SyncState::Failed(e) => {
                if first_error.is_empty() {
                    first_error = e;
                }
                failed += 1;
                h.task.abort();
            }
            SyncState::Pending => {
                failed += 1;
                h.task.abort();
            }
        }
    }
    if (ok.len() as f64) < min_fraction * wanted as f64 {
        return Err(WorkloadError::Connect {
            connected: ok.len(),
            wanted,
            first_error,
        });
    }
    Ok((ok, failed))
}

/// Closes every client at once and gathers what they saw.
pub async fn close_all(clients: Vec<ClientHandle>) -> Vec<ClientEnd> {
    futures_util::future::join_all(clients.into_iter().map(ClientHandle::close)).await
}

/// Clients whose connection ended on its own before the workload closed it.
pub fn dropped(ends: &[ClientEnd]) -> usize {
    ends.iter().filter(|e| e.error.is_some()).count()
}

/// Sleeps until `deadline` or until `done` says so, polling every 50 ms.
pub async fn wait_until(deadline: tokio::time::Instant, mut done: impl FnMut() -> bool) {
    while tokio::time::Instant::now() < deadline && !done() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests;
