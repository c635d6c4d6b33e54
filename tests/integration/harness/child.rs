//! The real `palabre` binary as a child process, for crashes and signals.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};

use super::{io, start_watchdog, within, TestError, TestResult, WAIT};

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
