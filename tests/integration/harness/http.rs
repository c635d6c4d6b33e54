//! A tiny HTTP/1.1 client for tests: `GET` a path, read `/metrics` as series.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{io, within, TestError, TestResult, WAIT};

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
