//! The server under test: its WebSocket URLs (one or several nodes) and the HTTP call that
//! creates a doc on servers that need one before a client can join.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::WorkloadError;
use crate::client::Mode;

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
    /// The WebSocket URL of `doc` (on the first node, when there are several).
    pub fn url(&self, doc: &str) -> String {
        self.url_of(doc, 0)
    }

    /// The WebSocket URL of `doc` for the `i`-th client: templates separated by commas are
    /// the nodes of a cluster, taken in turn.
    pub fn url_of(&self, doc: &str, i: usize) -> String {
        let nodes: Vec<&str> = self.url_template.split(',').collect();
        nodes
            .get(i % nodes.len().max(1))
            .copied()
            .unwrap_or(&self.url_template)
            .replace("{doc}", doc)
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
