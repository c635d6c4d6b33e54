//! The JSON API and the WebSocket edge as a stranger sees them: a small HTTP client, workshops
//! created through `POST /api/workshops`, upgrade probes with chosen headers, the server's own
//! encoding of a doc, and real yrs edits (the board writers) pushed through connected clients.
//!
//! Over 400 lines: the helpers every integration module shares (HTTP client, workshop handle,
//! upgrade probes, doc edits), one import for all of them.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use palabre::protocol::{self, Message};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use yrs::{Doc, Origin, StateVector};

use crate::client::TestClient;
use crate::harness::{io, within, TestError, TestResult, WAIT};

/// One HTTP answer.
#[derive(Debug, Clone)]
pub(crate) struct Response {
    /// Status code.
    pub(crate) status: u16,
    /// Header names (lowercase) and values, in order.
    pub(crate) headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub(crate) body: String,
}

impl Response {
    /// The body parsed as JSON.
    pub(crate) fn json(&self) -> TestResult<Value> {
        serde_json::from_str(&self.body).map_err(|e| {
            TestError::Protocol(format!(
                "answer {} is not JSON ({e}): {:?}",
                self.status, self.body
            ))
        })
    }

    /// The first value of header `name` (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Checks the contract for errors: this status, and a JSON body `{"error": "<message>"}`.
    pub(crate) fn assert_error(&self, status: u16, what: &str) -> TestResult {
        assert_eq!(self.status, status, "{what}: status (body {:?})", self.body);
        let json = self.json()?;
        let message = json.get("error").and_then(Value::as_str);
        assert!(
            message.is_some_and(|m| !m.trim().is_empty()),
            "{what}: error body is not {{\"error\": message}}: {json}"
        );
        Ok(())
    }
}

/// Sends one HTTP/1.1 request (`Connection: close`) and reads the whole answer.
pub(crate) async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> TestResult<Response> {
    within(&format!("{method} {path}"), WAIT, async {
        let mut stream = TcpStream::connect(addr)
            .await
            .map_err(io("connecting for HTTP"))?;
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if let Some(body) = body {
            head.push_str("Content-Type: application/json\r\n");
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        } else if method != "GET" {
            head.push_str("Content-Length: 0\r\n");
        }
        head.push_str("\r\n");
        head.push_str(body.unwrap_or(""));
        stream
            .write_all(head.as_bytes())
            .await
            .map_err(io("sending an HTTP request"))?;
        let mut raw = Vec::new();
        stream
            .read_to_end(&mut raw)
            .await
            .map_err(io("reading an HTTP response"))?;
        parse_response(&raw)
    })
    .await?
}

fn parse_response(raw: &[u8]) -> TestResult<Response> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| TestError::Protocol("HTTP answer without a blank line".into()))?;
    let (head, rest) = raw.split_at(split);
    let body = rest.get(4..).unwrap_or_default();
    let head = String::from_utf8_lossy(head);
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| TestError::Protocol(format!("not an HTTP response: {head:?}")))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_vec()
    };
    let body = String::from_utf8(body)
        .map_err(|e| TestError::Protocol(format!("HTTP body is not UTF-8: {e}")))?;
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn dechunk(mut rest: &[u8]) -> TestResult<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| TestError::Protocol("truncated chunked body".into()))?;
        let size = std::str::from_utf8(rest.get(..line_end).unwrap_or_default())
            .ok()
            .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
            .ok_or_else(|| TestError::Protocol("bad chunk size".into()))?;
        if size == 0 {
            return Ok(out);
        }
        let start = line_end + 2;
        let chunk = rest
            .get(start..start + size)
            .ok_or_else(|| TestError::Protocol("truncated chunk".into()))?;
        out.extend_from_slice(chunk);
        rest = rest.get(start + size + 2..).unwrap_or_default();
    }
}

/// `GET path` with `Authorization: Bearer token` when given.
pub(crate) async fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> TestResult<Response> {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = bearer
        .iter()
        .map(|b| ("Authorization", b.as_str()))
        .collect();
    request(addr, "GET", path, &headers, None).await
}

/// A request with a JSON body (or none) and a bearer token (or none).
pub(crate) async fn send_json(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> TestResult<Response> {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = bearer
        .iter()
        .map(|b| ("Authorization", b.as_str()))
        .collect();
    let body = body.map(Value::to_string);
    request(addr, method, path, &headers, body.as_deref()).await
}

/// A board as the API lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BoardRef {
    /// Board id within its workshop.
    pub(crate) id: String,
    /// Its doc id, `{wid}.{bid}`.
    pub(crate) doc_id: String,
    /// Its kind (`grid`, `timeline` …).
    pub(crate) kind: String,
    /// Its title in the agenda.
    pub(crate) title: String,
}

impl BoardRef {
    fn from_json(v: &Value) -> TestResult<Self> {
        let field = |name: &str| {
            v.get(name)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| TestError::Protocol(format!("board without {name}: {v}")))
        };
        Ok(BoardRef {
            id: field("id")?,
            doc_id: field("docId")?,
            kind: field("kind")?,
            title: field("title")?,
        })
    }
}

/// The boards listed in a JSON array field `boards`.
pub(crate) fn boards_of(json: &Value) -> TestResult<Vec<BoardRef>> {
    json.get("boards")
        .and_then(Value::as_array)
        .ok_or_else(|| TestError::Protocol(format!("no boards array in {json}")))?
        .iter()
        .map(BoardRef::from_json)
        .collect()
}

/// A workshop created through the API, with the three secrets it handed out.
#[derive(Debug, Clone)]
pub(crate) struct Workshop {
    /// Server address.
    pub(crate) addr: SocketAddr,
    /// Workshop id (also the workshop doc id).
    pub(crate) id: String,
    /// Facilitator secret.
    pub(crate) facilitator: String,
    /// Participant secret.
    pub(crate) participant: String,
    /// Viewer (projector) secret.
    pub(crate) viewer: String,
    /// Join code.
    pub(crate) join_code: String,
    /// Boards in agenda order.
    pub(crate) boards: Vec<BoardRef>,
}

impl Workshop {
    /// `POST /api/workshops {template, title, date}`; fails unless the answer is a 201 with
    /// everything the contract promises.
    pub(crate) async fn create(
        addr: SocketAddr,
        template: &str,
        title: &str,
        date: &str,
    ) -> TestResult<Self> {
        let body = serde_json::json!({ "template": template, "title": title, "date": date });
        let r = send_json(addr, "POST", "/api/workshops", None, Some(&body)).await?;
        if r.status != 201 {
            return Err(TestError::Server(format!(
                "creating a {template} workshop answered {}: {}",
                r.status, r.body
            )));
        }
        let json = r.json()?;
        let text = |path: &[&str]| {
            let mut v = &json;
            for key in path {
                v = v.get(*key).unwrap_or(&Value::Null);
            }
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| TestError::Protocol(format!("no {} in {json}", path.join("."))))
        };
        Ok(Workshop {
            addr,
            id: text(&["id"])?,
            facilitator: text(&["secrets", "facilitator"])?,
            participant: text(&["secrets", "participant"])?,
            viewer: text(&["secrets", "viewer"])?,
            join_code: text(&["joinCode"])?,
            boards: boards_of(&json)?,
        })
    }

    /// The WebSocket URL of `doc` carrying `token`.
    pub(crate) fn ws_url(&self, doc: &str, token: &str) -> String {
        format!("ws://{}/ws/{doc}?token={token}", self.addr)
    }

    /// The id of the device holding `secret` in this workshop (what its `authorId`s must be).
    pub(crate) fn device_id(&self, secret: &str) -> String {
        palabre::device::derive(&self.id, secret)
            .map(|d| d.as_str().to_owned())
            .unwrap_or_default()
    }

    /// The id of the [`DEVICE`] every [`join`] holds.
    pub(crate) fn me(&self) -> String {
        self.device_id(DEVICE)
    }

    /// The board doc of the `nth` board of `kind`.
    pub(crate) fn board(&self, kind: &str, nth: usize) -> TestResult<&BoardRef> {
        self.boards
            .iter()
            .filter(|b| b.kind == kind)
            .nth(nth)
            .ok_or_else(|| TestError::Protocol(format!("no {kind} board #{nth} in {}", self.id)))
    }

    /// `GET /api/workshops/{wid}/export.{ext}` with `token`.
    pub(crate) async fn export(&self, ext: &str, token: &str) -> TestResult<Response> {
        get(
            self.addr,
            &format!("/api/workshops/{}/export.{ext}", self.id),
            Some(token),
        )
        .await
    }

    /// An export that must succeed: its body.
    pub(crate) async fn export_ok(&self, ext: &str) -> TestResult<String> {
        let r = self.export(ext, &self.facilitator).await?;
        if r.status != 200 {
            return Err(TestError::Server(format!(
                "export.{ext} answered {}: {}",
                r.status, r.body
            )));
        }
        Ok(r.body)
    }

    /// The structured export.
    pub(crate) async fn export_json(&self) -> TestResult<Value> {
        let body = self.export_ok("json").await?;
        serde_json::from_str(&body)
            .map_err(|e| TestError::Protocol(format!("export.json is not JSON: {e}")))
    }
}

/// The status of a WebSocket upgrade to `url` sent with `headers` (101 when accepted), and the
/// body of a refusal.
pub(crate) async fn upgrade(url: &str, headers: &[(&str, &str)]) -> TestResult<(u16, String)> {
    let mut req = url.into_client_request().map_err(|e| TestError::Ws {
        context: format!("building a request for {url}"),
        source: Box::new(e),
    })?;
    for (name, value) in headers {
        let value = HeaderValue::from_str(value)
            .map_err(|e| TestError::Protocol(format!("bad header value {value:?}: {e}")))?;
        let name = tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| TestError::Protocol(format!("bad header name {name:?}: {e}")))?;
        req.headers_mut().insert(name, value);
    }
    let outcome = within(
        &format!("the upgrade of {url}"),
        WAIT,
        tokio_tungstenite::connect_async(req),
    )
    .await?;
    match outcome {
        Ok((mut ws, response)) => {
            // Proof the socket is live: the server opens with its sync step 1.
            let first = within("the server's first frame", WAIT, ws.next()).await?;
            match first {
                Some(Ok(WsMessage::Binary(frame))) => match protocol::decode_message(&frame) {
                    Ok(Message::SyncStep1(_)) => {}
                    other => {
                        return Err(TestError::Protocol(format!(
                            "first frame after the upgrade is not a sync step 1: {other:?}"
                        )))
                    }
                },
                other => {
                    return Err(TestError::Protocol(format!(
                        "no first frame after the upgrade: {other:?}"
                    )))
                }
            }
            let _ = ws.close(None).await;
            Ok((response.status().as_u16(), String::new()))
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let body = response
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            Ok((response.status().as_u16(), body))
        }
        Err(e) => Err(TestError::Ws {
            context: format!("upgrading {url}"),
            source: Box::new(e),
        }),
    }
}

/// A raw WebSocket to `url` that has asked for the whole doc (sync step 1, empty state vector).
pub(crate) async fn ask_everything(
    url: &str,
) -> TestResult<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
> {
    let (mut ws, _) = within(
        &format!("a WebSocket to {url}"),
        WAIT,
        tokio_tungstenite::connect_async(url),
    )
    .await?
    .map_err(|e| TestError::Ws {
        context: format!("connecting to {url}"),
        source: Box::new(e),
    })?;
    let step1 = protocol::encode_sync_step1(&StateVector::default());
    ws.send(WsMessage::Binary(step1))
        .await
        .map_err(|e| TestError::Ws {
            context: "sending sync step 1".into(),
            source: Box::new(e),
        })?;
    Ok(ws)
}

/// The server's own encoding of a doc: the sync step 2 it answers to an empty state vector.
/// Two calls return the same bytes exactly when the server's doc did not change in between.
pub(crate) async fn server_state(url: &str) -> TestResult<Vec<u8>> {
    let mut ws = ask_everything(url).await?;
    let state = within("the server's sync step 2", WAIT, async {
        loop {
            match ws.next().await {
                Some(Ok(WsMessage::Binary(frame))) => {
                    if let Ok(Message::SyncStep2(update)) = protocol::decode_message(&frame) {
                        return Ok(update.to_vec());
                    }
                }
                Some(Ok(_)) => {}
                other => {
                    return Err(TestError::Protocol(format!(
                        "connection ended before sync step 2: {other:?}"
                    )))
                }
            }
        }
    })
    .await??;
    let _ = ws.close(None).await;
    Ok(state)
}

/// The permission-denied reasons this client's connection received so far. The typed client
/// does not model y-protocols auth messages: it files them among its violations, which is where
/// they are read from.
pub(crate) fn denials(client: &TestClient) -> Vec<String> {
    client
        .state()
        .violations
        .into_iter()
        .filter(|v| v.contains("Auth {"))
        .collect()
}

/// Waits until `client` has received more than `already` permission-denied messages.
pub(crate) async fn wait_denied(client: &TestClient, already: usize) -> TestResult<Vec<String>> {
    client
        .wait_state("a permission-denied message", WAIT, |s| {
            s.violations.iter().filter(|v| v.contains("Auth {")).count() > already
        })
        .await?;
    Ok(denials(client))
}

/// Runs `edit` (which may write any number of transactions into these clients' docs with the
/// board writers), then sends every transaction's update through its client's connection, in
/// order, as a y-websocket client would.
pub(crate) fn edit_docs<R>(clients: &[&TestClient], edit: impl FnOnce() -> R) -> TestResult<R> {
    const KEY: &str = "palabre-tests-recorder";
    let mut recorded = Vec::new();
    for client in clients {
        let updates: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let sink = updates.clone();
        // The client's reader task may be applying an update right now, and yrs refuses to
        // (un)register an observer during a transaction: try again until it is free.
        retry_while_busy("observing a doc", || {
            let sink = sink.clone();
            client
                .doc()
                .observe_update_v1(KEY, move |txn, e| {
                    // Updates the client applied from the server are not ours to send back.
                    if txn.origin() != Some(&Origin::from("server")) {
                        sink.lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push(e.update.clone());
                    }
                })
                .map(drop)
        })?;
        recorded.push(updates);
    }
    let result = edit();
    for (client, updates) in clients.iter().zip(recorded) {
        retry_while_busy("unobserving a doc", || {
            client.doc().unobserve_update_v1(KEY).map(drop)
        })?;
        let updates = std::mem::take(&mut *updates.lock().unwrap_or_else(|p| p.into_inner()));
        for update in updates {
            if update != [0, 0] {
                client.send_update(&update);
            }
        }
    }
    Ok(result)
}

/// Runs `op` until yrs stops answering that a transaction is in the way (bounded in tries).
fn retry_while_busy(
    what: &str,
    mut op: impl FnMut() -> Result<(), yrs::TransactionAcqError>,
) -> TestResult {
    let mut last = None;
    for _ in 0..100_000 {
        match op() {
            Ok(()) => return Ok(()),
            Err(e) => last = Some(e),
        }
        std::thread::yield_now();
    }
    Err(TestError::Protocol(format!(
        "{what}: {}",
        last.map(|e| e.to_string()).unwrap_or_default()
    )))
}

/// [`edit_docs`] for one client: `edit` gets its doc.
pub(crate) fn edit_doc<R>(client: &TestClient, edit: impl FnOnce(&Doc) -> R) -> TestResult<R> {
    edit_docs(&[client], || edit(client.doc()))
}

/// The device secret every [`join`] sends: all those clients are one person's phones.
pub(crate) const DEVICE: &str = "integration-test-device-0";

/// Connects a client to `doc` with `token` (and the device [`DEVICE`]) and completes the handshake.
pub(crate) async fn join(w: &Workshop, doc: &str, token: &str) -> TestResult<TestClient> {
    join_device(w, doc, token, DEVICE).await
}

/// Connects a client holding device secret `secret` to `doc` with `token`.
pub(crate) async fn join_device(
    w: &Workshop,
    doc: &str,
    token: &str,
    secret: &str,
) -> TestResult<TestClient> {
    TestClient::connect(&format!("{}&device={secret}", w.ws_url(doc, token))).await
}

/// A board writer's refusal, as a test error.
pub(crate) fn model(e: palabre::board::BoardError) -> TestError {
    TestError::Protocol(format!("board writer refused: {e}"))
}

/// Waits until the server's copy of the doc at `url` holds everything `client` has written.
pub(crate) async fn wait_server_has(url: &str, client: &TestClient) -> TestResult {
    use yrs::updates::decoder::Decode;
    use yrs::{ReadTxn, Transact, Update};
    let want = client.doc().transact().state_vector();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let bytes = server_state(url).await?;
        let update = Update::decode_v1(&bytes)
            .map_err(|e| TestError::Protocol(format!("the server's state does not decode: {e}")))?;
        let doc = Doc::new();
        doc.transact_mut()
            .apply_update(update)
            .map_err(|e| TestError::Protocol(format!("the server's state does not apply: {e}")))?;
        let have = doc.transact().state_vector();
        if want.iter().all(|(c, clock)| have.get(c) >= *clock) {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(TestError::Timeout {
                what: format!("the server to hold the client's edits of {url}"),
                after: WAIT,
            });
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Reconnects to `url` the way y-websocket does with a doc cached from an earlier visit: answers
/// the server's sync step 1 with what `cached` holds beyond it, then asks for the server's state.
/// Returns the permission-denied reasons received before the server's answer (the server handles
/// one connection's messages in order, so any refusal of the first comes before that answer).
pub(crate) async fn resync_cached(url: &str, cached: &Doc) -> TestResult<Vec<String>> {
    use yrs::{ReadTxn, Transact};
    let (mut ws, _) = within(
        &format!("a WebSocket to {url}"),
        WAIT,
        tokio_tungstenite::connect_async(url),
    )
    .await?
    .map_err(|e| TestError::Ws {
        context: format!("connecting to {url}"),
        source: Box::new(e),
    })?;
    let mut denied = Vec::new();
    let mut answered = false;
    within("a resync with a cached doc", WAIT, async {
        loop {
            let frame = match ws.next().await {
                Some(Ok(WsMessage::Binary(frame))) => frame,
                Some(Ok(_)) => continue,
                other => {
                    return Err(TestError::Protocol(format!(
                        "connection ended during the resync: {other:?}"
                    )))
                }
            };
            match protocol::decode_message(&frame) {
                Ok(Message::SyncStep1(sv)) if !answered => {
                    answered = true;
                    let (reply, ours) = {
                        let txn = cached.transact();
                        (txn.encode_state_as_update_v1(&sv), txn.state_vector())
                    };
                    for out in [
                        protocol::encode_sync_step2(&reply),
                        protocol::encode_sync_step1(&ours),
                    ] {
                        ws.send(WsMessage::Binary(out))
                            .await
                            .map_err(|e| TestError::Ws {
                                context: "sending the resync".into(),
                                source: Box::new(e),
                            })?;
                    }
                }
                Ok(Message::Auth { denied_reason }) => denied.push(denied_reason),
                Ok(Message::SyncStep2(_)) if answered => return Ok(()),
                _ => {}
            }
        }
    })
    .await??;
    let _ = ws.close(None).await;
    Ok(denied)
}
