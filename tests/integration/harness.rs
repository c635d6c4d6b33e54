//! Servers under test — Palabre in-process ([`TestServer`]) or as the real binary
//! ([`ChildServer`]) — plus the shared error type, time bounds and a tiny HTTP client.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use palabre::Config;
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, ChildStdout, Command};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Default bound for one thing a test waits for; generous because the machine is shared.
pub(crate) const WAIT: Duration = Duration::from_secs(15);

/// Why a test helper failed.
#[derive(thiserror::Error)]
pub(crate) enum TestError {
    /// Something did not happen within its time bound.
    #[error("timed out after {after:?} waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// The bound that ran out.
        after: Duration,
    },
    /// A local IO operation (socket, file, process) failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The WebSocket library failed (connect, handshake).
    #[error("websocket {context}: {source}")]
    Ws {
        /// What was being done.
        context: String,
        /// tungstenite's error.
        source: Box<tokio_tungstenite::tungstenite::Error>,
    },
    /// The server under test could not start or did not stop cleanly.
    #[error("server: {0}")]
    Server(String),
    /// A peer broke the protocol, or a connection ended when it should not have.
    #[error("protocol: {0}")]
    Protocol(String),
    /// The Node interop run failed before producing a result.
    #[error("node interop: {0}")]
    Node(String),
}

// Tests print their error with `{:?}`: make that the readable message.
impl std::fmt::Debug for TestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

/// Result of a test or helper.
pub(crate) type TestResult<T = ()> = Result<T, TestError>;

/// Maps an IO error into a [`TestError`] that says what was being done.
pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> TestError {
    let context = context.into();
    move |source| TestError::Io { context, source }
}

/// Runs `fut`, failing with a [`TestError::Timeout`] naming `what` if it takes over `limit`.
pub(crate) async fn within<T>(
    what: &str,
    limit: Duration,
    fut: impl Future<Output = T>,
) -> TestResult<T> {
    tokio::time::timeout(limit, fut)
        .await
        .map_err(|_| TestError::Timeout {
            what: what.to_string(),
            after: limit,
        })
}

/// Polls `check` every few milliseconds until it holds, for at most `limit`.
pub(crate) async fn eventually<F, Fut>(what: &str, limit: Duration, mut check: F) -> TestResult
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if check().await {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(TestError::Timeout {
                what: what.to_string(),
                after: limit,
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Seed for a randomized test: `PALABRE_TEST_SEED` when set (to replay a failure), else `default`.
pub(crate) fn seed(default: u64) -> u64 {
    let seed = std::env::var("PALABRE_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    eprintln!("random seed {seed} (replay with PALABRE_TEST_SEED={seed})");
    seed
}

/// Aborts the whole test binary if it runs far longer than it should. A thread blocked on a
/// lock (in a test or in the server under test) escapes every tokio timeout; this turns such a
/// hang into a failure. `PALABRE_TEST_WATCHDOG_SECS` overrides the limit.
pub(crate) fn start_watchdog() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let secs = std::env::var("PALABRE_TEST_WATCHDOG_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(300);
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(secs));
            eprintln!(
                "integration tests still running after {secs} s: something is stuck; aborting"
            );
            std::process::exit(101);
        });
    });
}

/// Palabre served in this process by `palabre::run`, on 127.0.0.1 with a temporary data dir.
/// Dropping it asks the server to stop; [`TestServer::stop`] waits for a clean stop.
pub(crate) struct TestServer {
    addr: SocketAddr,
    config: Config,
    running: Option<Running>,
    // Last so the directory outlives the server that writes into it.
    _dir: TempDir,
}

struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), palabre::ServerError>>,
}

impl TestServer {
    /// A server with every default option.
    pub(crate) async fn start() -> TestResult<Self> {
        Self::start_with(|_| {}).await
    }

    /// A server whose defaults `tweak` adjusts (small queues, short timeouts …).
    pub(crate) async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestResult<Self> {
        start_watchdog();
        let dir = tempfile::tempdir().map_err(io("creating a data dir"))?;
        let mut config = Config::with_data_dir(dir.path());
        config.web_dir = dir.path().join("no-web-client");
        // Most tests use plain doc names outside any workshop, like any y-websocket app would.
        config.open_docs = true;
        // Every test client is 127.0.0.1: one address playing a whole venue and more. The
        // budgets that span an address's connections are lifted; hostile_writes.rs sets them.
        config.addr_write_bytes_per_sec = u32::MAX;
        config.addr_write_burst_bytes = u32::MAX;
        config.write_bytes_per_sec = u32::MAX;
        config.write_burst_bytes = u32::MAX;
        config.doc_opens_per_min = u32::MAX;
        tweak(&mut config);
        let (addr, running) = serve(&config, 0).await?;
        Ok(TestServer {
            addr,
            config,
            running: Some(running),
            _dir: dir,
        })
    }

    /// The address served.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The WebSocket URL of document `doc`.
    pub(crate) fn ws_url(&self, doc: &str) -> String {
        format!("ws://{}/ws/{doc}", self.addr)
    }

    /// Graceful shutdown, as on SIGTERM: waits until the server has flushed and closed its store.
    pub(crate) async fn stop(&mut self) -> TestResult {
        let Some(running) = self.running.take() else {
            return Ok(());
        };
        let _ = running.stop.send(());
        let outcome = within("the server to shut down", WAIT, running.task).await?;
        match outcome {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(TestError::Server(format!("stopped with an error: {e}"))),
            Err(e) => Err(TestError::Server(format!("server task failed: {e}"))),
        }
    }

    /// Stops gracefully, then serves the same data dir again (on the same port when it is free).
    pub(crate) async fn restart(&mut self) -> TestResult {
        self.stop().await?;
        if self.resume().await.is_err() {
            let (addr, running) = serve(&self.config, 0).await?;
            self.addr = addr;
            self.running = Some(running);
        }
        Ok(())
    }

    /// After [`TestServer::stop`]: serves the same data dir again on the same port, so clients
    /// that reconnect on their own (y-websocket) find it.
    pub(crate) async fn resume(&mut self) -> TestResult {
        if self.running.is_some() {
            return Err(TestError::Server(
                "resume() while the server is running".into(),
            ));
        }
        let (addr, running) = serve(&self.config, self.addr.port()).await?;
        self.addr = addr;
        self.running = Some(running);
        Ok(())
    }

    /// The server's `/metrics`, parsed.
    pub(crate) async fn metrics(&self) -> TestResult<Metrics> {
        metrics_of(self.addr).await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            let _ = running.stop.send(());
        }
    }
}

async fn serve(config: &Config, port: u16) -> TestResult<(SocketAddr, Running)> {
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(io("binding 127.0.0.1"))?;
    let addr = listener
        .local_addr()
        .map_err(io("reading the bound address"))?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(palabre::run(listener, config.clone(), async move {
        let _ = stopped.await;
    }));
    Ok((addr, Running { stop, task }))
}

/// A Prometheus text exposition, as series -> value.
#[derive(Debug, Clone)]
pub(crate) struct Metrics {
    series: BTreeMap<String, f64>,
}

impl Metrics {
    /// Parses `name{labels} value` lines, skipping comments.
    pub(crate) fn parse(text: &str) -> Self {
        let series = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (name, value) = l.rsplit_once(' ')?;
                Some((name.to_string(), value.parse().ok()?))
            })
            .collect();
        Metrics { series }
    }

    /// The value of one series (e.g. `palabre_rejected_total{reason="text_frame"}`), 0 if absent.
    pub(crate) fn value(&self, series: &str) -> f64 {
        self.series.get(series).copied().unwrap_or(0.0)
    }

    /// Whether the series is exposed at all.
    pub(crate) fn has(&self, series: &str) -> bool {
        self.series.contains_key(series)
    }
}

/// `GET /metrics` of the server at `addr`, parsed.
pub(crate) async fn metrics_of(addr: SocketAddr) -> TestResult<Metrics> {
    let (status, body) = http_get(addr, "/metrics").await?;
    if status != 200 {
        return Err(TestError::Server(format!(
            "/metrics answered {status}: {body}"
        )));
    }
    Ok(Metrics::parse(&body))
}

/// A minimal HTTP/1.1 GET (the server closes after answering); returns status and body.
pub(crate) async fn http_get(addr: SocketAddr, path: &str) -> TestResult<(u16, String)> {
    within(&format!("GET {path}"), WAIT, async {
        let mut stream = TcpStream::connect(addr)
            .await
            .map_err(io("connecting for HTTP"))?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(io("sending an HTTP request"))?;
        let mut raw = Vec::new();
        stream
            .read_to_end(&mut raw)
            .await
            .map_err(io("reading an HTTP response"))?;
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text.as_str(), ""));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| TestError::Protocol(format!("not an HTTP response: {head:?}")))?;
        // Bodies here are small; a chunked one is de-chunked well enough for line parsing.
        let body = if head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked")
        {
            dechunk(body)
        } else {
            body.to_string()
        };
        Ok((status, body))
    })
    .await?
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || tail.len() < size {
            break;
        }
        let (chunk, after) = tail.split_at(size);
        out.push_str(chunk);
        rest = after.strip_prefix("\r\n").unwrap_or(after);
    }
    out
}

/// The `palabre` binary under test: `PALABRE_BIN`, else `palabre` next to this test's target dir.
pub(crate) fn palabre_binary() -> TestResult<PathBuf> {
    if let Some(bin) = std::env::var_os("PALABRE_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let exe = std::env::current_exe().map_err(io("locating the test binary"))?;
    // The test runs from <target>/debug/deps/integration-<hash>.
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|debug| debug.join(format!("palabre{}", std::env::consts::EXE_SUFFIX)))
        .ok_or_else(|| {
            TestError::Server(format!(
                "cannot derive the target dir from {}",
                exe.display()
            ))
        })?;
    if !bin.is_file() {
        return Err(TestError::Server(format!(
            "the server binary {} is missing: run `cargo build -p palabre` first (or set PALABRE_BIN)",
            bin.display()
        )));
    }
    Ok(bin)
}

/// The real `palabre serve` running as a child process, for crashes and signals.
/// Its log goes to `server.log` in the directory given at start; it is killed on drop.
pub(crate) struct ChildServer {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
    // Kept open so a late write to stdout never meets a closed pipe.
    _stdout: BufReader<ChildStdout>,
}

impl ChildServer {
    /// Starts `palabre serve --bind 127.0.0.1:0 --data-dir <data_dir> <extra…>` and waits for
    /// its "listening on" line.
    pub(crate) async fn start(data_dir: &Path, log_dir: &Path, extra: &[&str]) -> TestResult<Self> {
        start_watchdog();
        let bin = palabre_binary()?;
        let log = log_dir.join("server.log");
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(io("opening the server log"))?;
        let mut child = Command::new(&bin)
            .arg("serve")
            .arg("--bind")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--web-dir")
            .arg(log_dir.join("no-web-client"))
            .arg("--open-docs")
            .args(extra)
            .env("PALABRE_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .kill_on_drop(true)
            .spawn()
            .map_err(io(format!("starting {}", bin.display())))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| TestError::Server("the child's stdout was not captured".into()))?;
        let mut stdout = BufReader::new(stdout);
        let addr = within("the server's \"listening on\" line", WAIT, async {
            let mut line = String::new();
            loop {
                line.clear();
                let n = stdout
                    .read_line(&mut line)
                    .await
                    .map_err(io("reading the server's stdout"))?;
                if n == 0 {
                    return Err(TestError::Server(format!(
                        "the server exited before listening; see {}",
                        log.display()
                    )));
                }
                if let Some(url) = line.trim().strip_prefix("listening on http://") {
                    return url
                        .parse::<SocketAddr>()
                        .map_err(|e| TestError::Server(format!("bad address in {line:?}: {e}")));
                }
            }
        })
        .await??;
        Ok(ChildServer {
            child,
            addr,
            log,
            _stdout: stdout,
        })
    }

    /// The address served.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The WebSocket URL of document `doc`.
    pub(crate) fn ws_url(&self, doc: &str) -> String {
        format!("ws://{}/ws/{doc}", self.addr)
    }

    /// The server's log so far (for failure messages).
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The process's peak resident memory, from /proc (Linux only).
    pub(crate) fn peak_rss_kib(&self) -> TestResult<u64> {
        let pid = self
            .child
            .id()
            .ok_or_else(|| TestError::Server("the server has exited".into()))?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .map_err(io("reading /proc status"))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| TestError::Server("no VmHWM line in /proc status".into()))
    }

    /// SIGKILL: the process dies on the spot, with no chance to flush anything.
    pub(crate) async fn kill(mut self) -> TestResult {
        self.child.start_kill().map_err(io("sending SIGKILL"))?;
        within("the killed server to exit", WAIT, self.child.wait())
            .await?
            .map_err(io("waiting for the killed server"))?;
        Ok(())
    }

    /// SIGTERM, then waits for the process to exit; returns its exit status.
    pub(crate) async fn terminate(mut self) -> TestResult<ExitStatus> {
        let pid = self
            .child
            .id()
            .ok_or_else(|| TestError::Server("the server has already exited".into()))?;
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status()
            .await
            .map_err(io("running kill -TERM"))?;
        if !status.success() {
            return Err(TestError::Server(format!(
                "kill -TERM {pid} failed: {status}"
            )));
        }
        within("the server to exit after SIGTERM", WAIT, self.child.wait())
            .await?
            .map_err(io("waiting for the server"))
    }
}

/// A WebSocket opened by hand on a raw socket, for clients that must never write again after
/// the handshake (a WebSocket library would answer pings, and a write to a connection the
/// server has closed makes the kernel discard what is still unread, close frame included).
pub(crate) struct RawWebSocket {
    stream: TcpStream,
    buffered: Vec<u8>,
}

impl RawWebSocket {
    /// Connects to `addr`, optionally with a small receive buffer, and upgrades `path`.
    pub(crate) async fn connect(
        addr: SocketAddr,
        path: &str,
        recv_buffer: Option<u32>,
    ) -> TestResult<Self> {
        let socket = tokio::net::TcpSocket::new_v4().map_err(io("creating a socket"))?;
        if let Some(size) = recv_buffer {
            socket
                .set_recv_buffer_size(size)
                .map_err(io("setting the receive buffer"))?;
        }
        let mut stream = socket.connect(addr).await.map_err(io("connecting"))?;
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(io("sending the upgrade"))?;
        let mut buffered = Vec::new();
        let mut chunk = [0u8; 1024];
        let head_end = within("the upgrade response", WAIT, async {
            loop {
                if let Some(at) = buffered.windows(4).position(|w| w == b"\r\n\r\n") {
                    return Ok(at + 4);
                }
                let n = stream
                    .read(&mut chunk)
                    .await
                    .map_err(io("reading the upgrade response"))?;
                if n == 0 {
                    return Err(TestError::Protocol(
                        "connection closed during the upgrade".into(),
                    ));
                }
                buffered.extend_from_slice(chunk.get(..n).unwrap_or_default());
            }
        })
        .await??;
        let head =
            String::from_utf8_lossy(buffered.get(..head_end).unwrap_or_default()).into_owned();
        if !head.starts_with("HTTP/1.1 101") {
            return Err(TestError::Protocol(format!("upgrade refused: {head}")));
        }
        buffered.drain(..head_end);
        Ok(RawWebSocket { stream, buffered })
    }

    /// Reads (never writes) until the server's close frame or the end of the connection;
    /// returns the close code, if a close frame came, and how many data frames preceded it.
    /// Reads at most `chunk` bytes every `pace` (a reader slower than the server writes) until
    /// `hurry` fires or the connection ends, then like [`RawWebSocket::read_until_close`].
    pub(crate) async fn read_slowly_until_close(
        mut self,
        chunk: usize,
        pace: Duration,
        mut hurry: oneshot::Receiver<()>,
    ) -> TestResult<(Option<u16>, usize)> {
        let mut buf = vec![0u8; chunk];
        loop {
            tokio::select! {
                _ = &mut hurry => break,
                _ = tokio::time::sleep(pace) => match self.stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => self.buffered.extend_from_slice(buf.get(..n).unwrap_or_default()),
                },
            }
        }
        self.read_until_close().await
    }

    pub(crate) async fn read_until_close(mut self) -> TestResult<(Option<u16>, usize)> {
        within("the server to end the connection", WAIT, async move {
            let mut frames = 0;
            let mut chunk = vec![0u8; 64 * 1024];
            loop {
                while let Some((opcode, payload, used)) = parse_frame(&self.buffered) {
                    if opcode == 0x8 {
                        let code = match payload.as_slice() {
                            [hi, lo, ..] => Some(u16::from_be_bytes([*hi, *lo])),
                            _ => None,
                        };
                        return Ok((code, frames));
                    }
                    if opcode == 0x2 {
                        frames += 1;
                    }
                    self.buffered.drain(..used);
                }
                match self.stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => return Ok((None, frames)),
                    Ok(n) => self
                        .buffered
                        .extend_from_slice(chunk.get(..n).unwrap_or_default()),
                }
            }
        })
        .await?
    }
}

/// One unmasked server frame at the start of `buf`: (opcode, payload, bytes used).
fn parse_frame(buf: &[u8]) -> Option<(u8, Vec<u8>, usize)> {
    let opcode = buf.first()? & 0x0f;
    let len7 = buf.get(1)? & 0x7f;
    let (len, header) = match len7 {
        126 => (
            u64::from(u16::from_be_bytes([*buf.get(2)?, *buf.get(3)?])),
            4,
        ),
        127 => {
            let bytes: [u8; 8] = buf.get(2..10)?.try_into().ok()?;
            (u64::from_be_bytes(bytes), 10)
        }
        n => (u64::from(n), 2),
    };
    let end = header + usize::try_from(len).ok()?;
    let payload = buf.get(header..end)?.to_vec();
    Some((opcode, payload, end))
}
