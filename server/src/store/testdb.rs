//! Throwaway PostgreSQL and Redis servers for tests: real engines on free loopback ports in
//! temp dirs, removed afterwards.
//!
//! Shared by the store's unit tests and the integration harness (`#[path]`-included there), so
//! it uses only `std`. As root (CI) PostgreSQL refuses to run, so `initdb`/`pg_ctl` run as the
//! `postgres` user in a directory owned by it. A machine without the binaries skips (the caller
//! prints why); with `CI=true` a missing binary is a failure, never a skip.
//!
//! Cleanup does not rely on `Drop` alone (statics are never dropped, a killed test never drops
//! anything): each server gets a watchdog shell that waits for the test process to disappear,
//! then stops the server and removes its directory.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Why a throwaway server is not available.
#[derive(Debug)]
pub(crate) struct Unavailable(pub(crate) String);

/// `Err` with a clear message when binaries are missing on a developer machine; panics when
/// they are missing under CI, which must never skip these tests.
fn missing(what: &str) -> Unavailable {
    let message = format!("{what} is not installed (apt-get install postgresql redis-server)");
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("CI must run the PostgreSQL/Redis tests, but {message}");
    }
    Unavailable(message)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Runs `program args` as the `postgres` user when we are root, else as ourselves.
fn as_service_user(program: &Path, args: &[&str], root: bool) -> Command {
    if root {
        let mut command = Command::new("runuser");
        command
            .args(["-u", "postgres", "--"])
            .arg(program)
            .args(args);
        command
    } else {
        let mut command = Command::new(program);
        command.args(args);
        command
    }
}

fn postgres_bin_dir() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .filter(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
        .collect();
    // Highest major version last.
    candidates.sort_by_key(|dir| {
        dir.parent()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0)
    });
    candidates.pop()
}

/// Makes a temp dir the service user can own and write.
fn service_dir(prefix: &str, root: bool) -> PathBuf {
    let base = std::env::temp_dir();
    let unique = format!(
        "{prefix}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    );
    let dir = base.join(unique);
    std::fs::create_dir_all(&dir).expect("create service dir");
    if root {
        let status = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(&dir)
            .status()
            .expect("run chown");
        assert!(status.success(), "chown of {} failed", dir.display());
    }
    dir
}

/// Starts a shell that stops the server and removes `dir` once this process is gone.
fn watchdog(stop: &str, dir: &Path, root: bool) {
    let script = format!(
        "while [ -d /proc/{pid} ]; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf '{dir}'",
        pid = std::process::id(),
        dir = dir.display(),
    );
    let sh = Path::new("/bin/sh");
    let mut command = as_service_user(sh, &["-c", &script], root);
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // Not waited for: it outlives this process on purpose.
    drop(command.spawn());
}

/// A PostgreSQL server of our own.
#[derive(Debug)]
pub(crate) struct TestPostgres {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    root: bool,
}

impl TestPostgres {
    /// initdb + start on a free port. Takes a few seconds.
    pub(crate) fn start() -> Result<Self, Unavailable> {
        let Some(bin) = postgres_bin_dir() else {
            return Err(missing("PostgreSQL (initdb, pg_ctl)"));
        };
        let root = is_root();
        let dir = service_dir("palabre-pg", root);
        let data = dir.join("data");
        let data_s = data.display().to_string();
        let output = as_service_user(
            &bin.join("initdb"),
            &[
                "-D",
                &data_s,
                "-U",
                "palabre",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            root,
        )
        .stdin(Stdio::null())
        .output()
        .expect("run initdb");
        assert!(
            output.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let server = TestPostgres {
            bin,
            dir,
            port: free_port(),
            root,
        };
        watchdog(&server.stop_command("immediate"), &server.dir, root);
        server.start_server();
        Ok(server)
    }

    fn stop_command(&self, mode: &str) -> String {
        format!(
            "'{}' -D '{}' -m {mode} -w stop",
            self.bin.join("pg_ctl").display(),
            self.dir.join("data").display()
        )
    }

    fn start_server(&self) {
        // fsync off: these servers test Palabre's commit protocol against process kills and
        // restarts, not the host losing power; the durability setting Palabre relies on
        // (synchronous_commit = on) is the default and is checked by the store at start.
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            self.port,
            self.dir.display()
        );
        let data = self.dir.join("data").display().to_string();
        let log = self.dir.join("log").display().to_string();
        let output = as_service_user(
            &self.bin.join("pg_ctl"),
            &[
                "-D", &data, "-l", &log, "-o", &options, "-w", "-t", "60", "start",
            ],
            self.root,
        )
        .stdin(Stdio::null())
        .output()
        .expect("run pg_ctl start");
        assert!(
            output.status.success(),
            "pg_ctl start failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
        );
    }

    /// Stops the server the way a crash would (`-m immediate`: no checkpoint).
    pub(crate) fn stop(&self) {
        let data = self.dir.join("data").display().to_string();
        let output = as_service_user(
            &self.bin.join("pg_ctl"),
            &["-D", &data, "-m", "immediate", "-w", "stop"],
            self.root,
        )
        .stdin(Stdio::null())
        .output()
        .expect("run pg_ctl stop");
        assert!(output.status.success(), "pg_ctl stop failed");
    }

    /// Starts it again on the same port after [`TestPostgres::stop`].
    pub(crate) fn restart(&self) {
        self.start_server();
    }

    /// Port it listens on (127.0.0.1).
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// URL of database `db` (created with [`TestPostgres::create_database`]).
    pub(crate) fn url(&self, db: &str) -> String {
        format!("postgres://palabre@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates an empty database and returns its URL.
    pub(crate) fn create_database(&self, db: &str) -> String {
        let output = Command::new(self.bin.join("psql"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "palabre",
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                &format!("CREATE DATABASE \"{db}\""),
            ])
            .stdin(Stdio::null())
            .output()
            .expect("run psql");
        assert!(
            output.status.success(),
            "CREATE DATABASE failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        self.url(db)
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        let data = self.dir.join("data").display().to_string();
        drop(
            as_service_user(
                &self.bin.join("pg_ctl"),
                &["-D", &data, "-m", "immediate", "-w", "stop"],
                self.root,
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status(),
        );
        drop(std::fs::remove_dir_all(&self.dir));
    }
}

/// A Redis server of our own (no persistence: the cluster's truth is PostgreSQL).
#[derive(Debug)]
pub(crate) struct TestRedis {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    child: Option<std::process::Child>,
}

impl TestRedis {
    /// Starts redis-server on a free port and waits until it accepts connections.
    pub(crate) fn start() -> Result<Self, Unavailable> {
        let bin = PathBuf::from("/usr/bin/redis-server");
        if !bin.is_file() {
            return Err(missing("redis-server"));
        }
        // Redis runs fine as root; it gets its own dir and port all the same.
        let dir = service_dir("palabre-redis", false);
        let mut server = TestRedis {
            bin,
            dir,
            port: free_port(),
            child: None,
        };
        watchdog(
            &format!("rm -rf '{}'", server.dir.display()),
            &server.dir,
            false,
        );
        server.restart();
        Ok(server)
    }

    /// Starts (again) on the same port.
    pub(crate) fn restart(&mut self) {
        let child = Command::new(&self.bin)
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                &self.dir.display().to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server (SIGKILL).
    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            drop(child.kill());
            drop(child.wait());
        }
    }

    /// `redis://127.0.0.1:<port>/`.
    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        self.stop();
        drop(std::fs::remove_dir_all(&self.dir));
    }
}
