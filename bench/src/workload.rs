//! What every workload shares: the target server, the measurement window, the result records and
//! helpers to connect and close many clients.

pub mod attack;
pub mod drive;
pub mod w1;
pub mod w2;
pub mod w3;
pub mod w4;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Semaphore;

use crate::client::{self, ClientEnd, ClientHandle, ClientOptions, Mode, SyncState};
use crate::procstat::{MachineSample, Proc, ProcessSample};

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

/// The server under test and how to reach a doc on it.
#[derive(Debug, Clone)]
pub struct Target {
    /// WebSocket URL with `{doc}` standing for the doc id.
    pub url_template: String,
    /// Protocol behaviour.
    pub mode: Mode,
    /// HTTP URL to POST `{"docId": ...}` to before connecting (y-sweet's `/doc/new`).
    pub create_url: Option<String>,
}

impl Target {
    /// The WebSocket URL of `doc`.
    pub fn url(&self, doc: &str) -> String {
        self.url_template.replace("{doc}", doc)
    }

    /// Creates `doc` on servers that need it before a WebSocket can join.
    pub async fn prepare(&self, doc: &str) -> Result<(), WorkloadError> {
        let Some(url) = &self.create_url else {
            return Ok(());
        };
        let body = serde_json::json!({ "docId": doc }).to_string();
        post_json(url, &body)
            .await
            .map_err(|why| WorkloadError::Create {
                doc: doc.into(),
                url: url.clone(),
                why,
            })
    }
}

/// Minimal HTTP/1.1 POST to a loopback server; succeeds on any 2xx.
async fn post_json(url: &str, body: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or("only http:// URLs are supported")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    let mut stream = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::net::TcpStream::connect(authority),
    )
    .await
    .map_err(|_| "connect timed out".to_owned())?
    .map_err(|e| e.to_string())?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
        .await
        .map_err(|_| "response timed out".to_owned())?
        .map_err(|e| e.to_string())?;
    let head = String::from_utf8_lossy(response.get(..response.len().min(200)).unwrap_or(&[]))
        .into_owned();
    let status = head.split_whitespace().nth(1).unwrap_or("");
    if status.starts_with('2') {
        Ok(())
    } else {
        Err(format!(
            "HTTP status {status:?}: {}",
            head.lines().next().unwrap_or("")
        ))
    }
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
        match self.server_pid {
            Some(pid) => Ok(Some(self.proc.process(Some(pid))?)),
            None => Ok(None),
        }
    }

    /// Client ids unique within a run, starting at a random 31-bit base like Yjs's random ids.
    fn client_ids(&self) -> impl Iterator<Item = u64> {
        let base = u64::from(rand::random::<u32>() >> 2) + 1;
        (0..).map(move |i| base + i)
    }
}

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
mod tests {
    use super::*;

    async fn relay_ctx() -> (Ctx, tokio::task::JoinHandle<std::io::Result<()>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(crate::relay::run(listener));
        let ctx = Ctx {
            target: Target {
                url_template: format!("ws://{addr}/{{doc}}"),
                mode: Mode::Relay,
                create_url: None,
            },
            server: "relay".into(),
            server_pid: Some(std::process::id()),
            run_id: "test".into(),
            full: false,
            client: crate::client::Behaviour::Plain,
            proc: Proc::new(),
        };
        (ctx, server)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn w1_through_the_relay_delivers_every_note_to_every_other_client() {
        let (ctx, server) = relay_ctx().await;
        let sizes = w1::W1Sizes {
            clients: 6,
            writers: 2,
            seconds: 2,
            drain_s: 10,
        };
        let record = w1::run(&ctx, sizes).await.expect("w1 runs");
        let Outcome::W1(r) = record.outcome else {
            panic!("not a W1 outcome");
        };
        assert_eq!(r.connected, 6);
        assert_eq!(r.notes_sent, 4);
        assert_eq!(r.expected, 4 * 5);
        assert_eq!(r.delivered, r.expected);
        assert_eq!(r.latency.count, r.expected);
        assert!(r.server_us_per_delivery.is_some());
        server.abort();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn w4_acknowledges_through_co_writers() {
        let (ctx, server) = relay_ctx().await;
        let sizes = w4::W4Sizes {
            docs: 2,
            writers_per_doc: 2,
            window: 2,
            seconds: 1,
        };
        let record = w4::run(&ctx, sizes).await.expect("w4 runs");
        let Outcome::W4(r) = record.outcome else {
            panic!("not a W4 outcome");
        };
        assert!(r.sent > 0);
        assert_eq!(r.acked, r.sent, "every update is seen by the other writer");
        assert_eq!(r.ack_latency.count, r.acked);
        server.abort();
    }

    /// A minimal y-websocket server for tests: one shared yrs doc per process, step 1 on connect,
    /// step 2 for every step 1, and every update applied then broadcast to all (sender included),
    /// as @y/websocket-server does.
    async fn crdt_server() -> (String, tokio::task::JoinHandle<()>) {
        use futures_util::{SinkExt, StreamExt};
        use tokio_tungstenite::tungstenite::Message as Ws;
        use yrs::updates::decoder::Decode;
        use yrs::updates::encoder::Encode;
        use yrs::{ReadTxn, Transact};

        use crate::wire::Message;

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let doc = Arc::new(std::sync::Mutex::new(yrs::Doc::new()));
        let (fanout, _) = tokio::sync::broadcast::channel::<Vec<u8>>(4096);
        let server = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let doc = doc.clone();
                let fanout = fanout.clone();
                tokio::spawn(async move {
                    let Ok(ws) = tokio_tungstenite::accept_async(tcp).await else {
                        return;
                    };
                    let (mut tx, mut rx) = ws.split();
                    let mut updates = fanout.subscribe();
                    let hello = {
                        let d = doc.lock().expect("doc");
                        let sv = d.transact().state_vector().encode_v1();
                        Message::SyncStep1(&sv).encode()
                    };
                    if tx.send(Ws::Binary(hello.into())).await.is_err() {
                        return;
                    }
                    loop {
                        tokio::select! {
                            frame = rx.next() => {
                                let Some(Ok(Ws::Binary(bytes))) = frame else { return };
                                let reply = match Message::decode(&bytes) {
                                    Ok(Message::SyncStep1(sv)) => {
                                        let sv = yrs::StateVector::decode_v1(sv).expect("sv");
                                        let d = doc.lock().expect("doc");
                                        let diff = d.transact().encode_diff_v1(&sv);
                                        Some(Message::SyncStep2(&diff).encode())
                                    }
                                    Ok(Message::SyncStep2(u)) | Ok(Message::Update(u)) => {
                                        let update = yrs::Update::decode_v1(u).expect("update");
                                        let d = doc.lock().expect("doc");
                                        d.transact_mut().apply_update(update).expect("apply");
                                        let _ = fanout.send(Message::Update(u).encode());
                                        None
                                    }
                                    _ => None,
                                };
                                if let Some(r) = reply {
                                    if tx.send(Ws::Binary(r.into())).await.is_err() {
                                        return;
                                    }
                                }
                            }
                            update = updates.recv() => {
                                let Ok(u) = update else { return };
                                if tx.send(Ws::Binary(u.into())).await.is_err() {
                                    return;
                                }
                            }
                        }
                    }
                });
            }
        });
        (format!("ws://{addr}/{{doc}}"), server)
    }

    fn crdt_ctx(url_template: String) -> Ctx {
        Ctx {
            target: Target {
                url_template,
                mode: Mode::Crdt,
                create_url: None,
            },
            server: "test-crdt".into(),
            server_pid: None,
            run_id: "test".into(),
            full: false,
            client: crate::client::Behaviour::Plain,
            proc: Proc::new(),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn w3_joiners_sync_every_note_from_a_document_server() {
        let (url, server) = crdt_server().await;
        let ctx = crdt_ctx(url);
        let sizes = w3::W3Sizes {
            notes: 300,
            joiners: 5,
        };
        let record = w3::run(&ctx, sizes).await.expect("w3 runs");
        let Outcome::W3(r) = record.outcome else {
            panic!("not a W3 outcome");
        };
        assert_eq!((r.synced, r.failed), (5, 0), "{:?}", r.first_error);
        assert!(r.doc_bytes > 300 * 20, "300 notes take some room");
        assert!(r.time_to_open.p50_ms <= r.time_to_step2.p50_ms);
        assert!(r.time_to_step2.max_ms <= r.time_to_sync.max_ms);
        assert!(r.resources.server_cpu_s.is_none(), "no pid given");
        server.abort();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn w1_and_w4_work_against_a_document_server_that_echoes() {
        let (url, server) = crdt_server().await;
        let ctx = crdt_ctx(url);
        let w1 = w1::W1Sizes {
            clients: 4,
            writers: 2,
            seconds: 2,
            drain_s: 10,
        };
        let Outcome::W1(r) = w1::run(&ctx, w1).await.expect("w1").outcome else {
            panic!("not a W1 outcome");
        };
        assert_eq!(r.delivered, r.notes_sent * 3);
        let w4 = w4::W4Sizes {
            docs: 1,
            writers_per_doc: 1,
            window: 3,
            seconds: 1,
        };
        let Outcome::W4(r) = w4::run(&ctx, w4).await.expect("w4").outcome else {
            panic!("not a W4 outcome");
        };
        assert!(r.sent > 0);
        assert_eq!(r.acked, r.sent, "a lone writer is acknowledged by the echo");
        server.abort();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn web_clients_ask_only_about_their_own_notes() {
        use crate::client::Behaviour;
        let (url, server) = crdt_server().await;
        let sizes = w1::W1Sizes {
            clients: 6,
            writers: 2,
            seconds: 2,
            drain_s: 10,
        };
        let mut probes = Vec::new();
        for client in [Behaviour::Plain, Behaviour::Web, Behaviour::WebEager] {
            let ctx = Ctx {
                client,
                ..crdt_ctx(url.clone())
            };
            let Outcome::W1(r) = w1::run(&ctx, sizes).await.expect("w1").outcome else {
                panic!("not a W1 outcome");
            };
            assert_eq!(r.delivered, r.expected, "{client:?}");
            assert_eq!(r.client, client);
            probes.push((r.probes_sent, r.notes_sent));
        }
        let [(plain, _), (web, notes), (eager, _)] = probes[..] else {
            panic!("three runs");
        };
        assert_eq!(plain, 0, "plain y-websocket clients never ask");
        // Only writers ask, at most once per note of their own (notes close together share one).
        assert!(web > 0 && web <= notes, "web {web} for {notes} notes");
        // The old web client also asked about every note it received: six clients, not two.
        assert!(eager > web, "eager {eager} vs web {web}");
        server.abort();
    }

    #[tokio::test]
    async fn w3_is_skipped_for_a_relay() {
        let (ctx, server) = relay_ctx().await;
        let record = w3::run(&ctx, w3::W3Sizes::quick()).await.expect("w3");
        assert!(matches!(record.outcome, Outcome::Skipped { .. }));
        server.abort();
    }
}
