//! The little of Palabre's HTTP API the full-board workload needs: a workshop created through
//! `POST /api/workshops` (its secrets and its grid board), and the device id a participant's
//! secret stands for in it (docs/board-schema.md §1.1), which its notes carry as `authorId`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A workshop as its creation answered.
#[derive(Debug, Clone)]
pub struct Workshop {
    /// Workshop id (the salt of device ids).
    pub id: String,
    /// Facilitator link secret.
    pub facilitator: String,
    /// Participant link secret.
    pub participant: String,
    /// Doc id of its first grid board, `{wid}.{bid}`.
    pub board_doc: String,
}

/// `POST /api/workshops` on `host` (`host:port`) with a template holding a grid board.
pub async fn create(host: &str, template: &str) -> anyhow::Result<Workshop> {
    let body = serde_json::json!({"template": template, "title": "Bench", "date": "2026-05-09"})
        .to_string();
    let request = format!(
        "POST /api/workshops HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(host).await?;
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let raw = String::from_utf8_lossy(&raw);
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .ok_or_else(|| anyhow::anyhow!("not an HTTP answer: {raw:?}"))?;
    if !head.starts_with("HTTP/1.1 201") {
        anyhow::bail!("creating a workshop answered {head:?}: {body}");
    }
    let json: Value = serde_json::from_str(body)?;
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let board_doc = json["boards"]
        .as_array()
        .and_then(|boards| boards.iter().find(|b| b["kind"] == "grid"))
        .and_then(|b| text(&b["docId"]));
    match (
        text(&json["id"]),
        text(&json["secrets"]["facilitator"]),
        text(&json["secrets"]["participant"]),
        board_doc,
    ) {
        (Some(id), Some(facilitator), Some(participant), Some(board_doc)) => Ok(Workshop {
            id,
            facilitator,
            participant,
            board_doc,
        }),
        _ => anyhow::bail!("workshop answer without id, secrets or a grid board: {json}"),
    }
}

/// base64url(SHA-256("palabre device v1\0" ‖ workshop ‖ "\0" ‖ secret)) cut to 22 characters.
pub fn device_id(workshop: &str, secret: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"palabre device v1\0");
    h.update(workshop.as_bytes());
    h.update([0u8]);
    h.update(secret.as_bytes());
    let mut id = URL_SAFE_NO_PAD.encode(h.finalize());
    id.truncate(22);
    id
}

/// A device secret (16–64 base64url characters) unique to `n`.
pub fn secret(n: u64) -> String {
    format!("benchdevice{n:016x}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn device_ids_are_22_base64url_characters() {
        let id = super::device_id("abcdefghijklmnop", &super::secret(7));
        assert_eq!(id.len(), 22);
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    }
}
