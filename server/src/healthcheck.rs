//! `palabre healthcheck`: asks a running node's `/healthz` and exits 0 only on `200 OK`.
//!
//! For container health checks and proxies' external checks: it needs no shell, no curl and
//! no `/dev/tcp` (Debian's `/bin/sh` is dash, which has none). Plain HTTP/1.1 over a std
//! socket, bounded in time and in bytes read.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Most bytes of the answer read: the status line and a short body are all that matter.
const MAX_ANSWER: u64 = 4096;

/// Where to ask, from `--addr` or the node's own `PALABRE_BIND`.
#[derive(Debug, clap::Args)]
pub(crate) struct Options {
    /// Address of the node (an unspecified bind address such as 0.0.0.0 means this machine).
    #[arg(long, env = "PALABRE_BIND", default_value = "127.0.0.1:8080")]
    addr: String,
    /// Give up after this long.
    #[arg(long, default_value = "3s", value_parser = humantime::parse_duration)]
    timeout: Duration,
}

/// Why the node is not healthy.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Unhealthy {
    /// The address does not resolve.
    #[error("cannot resolve {0}")]
    Resolve(String),
    /// Connecting, writing or reading failed (refused, timed out, reset).
    #[error("{addr}: {source}")]
    Io {
        /// The address tried.
        addr: SocketAddr,
        /// What failed.
        source: std::io::Error,
    },
    /// The node answered, but not 200 (shutting down, store or relay unavailable…).
    #[error("{0}")]
    Status(String),
}

/// Asks `/healthz` once; `Ok` with the node's answer body when it is 200.
pub(crate) fn check(options: &Options) -> Result<String, Unhealthy> {
    let mut addr = options
        .addr
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| Unhealthy::Resolve(options.addr.clone()))?;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    let io = |source| Unhealthy::Io { addr, source };
    let mut stream = TcpStream::connect_timeout(&addr, options.timeout).map_err(io)?;
    stream.set_read_timeout(Some(options.timeout)).map_err(io)?;
    stream
        .set_write_timeout(Some(options.timeout))
        .map_err(io)?;
    let request =
        format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nUser-Agent: palabre-healthcheck\r\n\r\n");
    stream.write_all(request.as_bytes()).map_err(io)?;
    let mut answer = Vec::new();
    stream
        .take(MAX_ANSWER)
        .read_to_end(&mut answer)
        .map_err(io)?;
    let text = String::from_utf8_lossy(&answer);
    let status = text.lines().next().unwrap_or_default().trim().to_owned();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.trim().to_owned())
        .unwrap_or_default();
    let code = status.split(' ').nth(1);
    if code == Some("200") {
        Ok(body)
    } else if status.is_empty() {
        Err(Unhealthy::Status("no answer".to_owned()))
    } else {
        Err(Unhealthy::Status(format!("{status}: {body}")))
    }
}
