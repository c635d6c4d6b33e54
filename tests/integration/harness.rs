//! Servers under test — Palabre in-process ([`TestServer`], here) or as the real binary
//! ([`ChildServer`], `child.rs`) — plus the shared error type and time bounds; a tiny HTTP
//! client (`http.rs`) and a hand-made WebSocket that never writes (`raw_ws.rs`).

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use palabre::Config;
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

#[path = "harness/child.rs"]
mod child;
#[path = "harness/http.rs"]
mod http;
#[path = "harness/raw_ws.rs"]
mod raw_ws;

pub(crate) use child::{palabre_binary, ChildServer};
pub(crate) use http::{http_get, metrics_of, Metrics};
pub(crate) use raw_ws::RawWebSocket;

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

    /// The data directory (the store's file is in it).
    pub(crate) fn data_dir(&self) -> &std::path::Path {
        &self.config.data_dir
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
