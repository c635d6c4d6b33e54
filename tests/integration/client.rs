//! A typed yrs client for the tests: speaks y-protocols over tokio-tungstenite, keeps a live
//! `Doc` in step with the server, edits it, announces presence, and can misbehave on purpose
//! (raw frames, held and reordered updates, abrupt disconnects).
//!
//! Over 400 lines: one client type whose misbehaviours (raw frames, held and reordered updates,
//! abrupt disconnects) share its doc and connection state; split, that state would be shared across files.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use palabre::protocol::{self, Message};
use rand::seq::SliceRandom;
use rand::Rng;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::WebSocketStream;
use yrs::sync::awareness::{AwarenessUpdate, AwarenessUpdateEntry};
use yrs::updates::decoder::Decode;
use yrs::{
    Any, Doc, GetString, Map, MapRef, ReadTxn, StateVector, Transact, TransactionMut, Update,
};

use crate::harness::{within, TestError, TestResult, WAIT};

/// The root map every test note lives in: note id -> text.
pub(crate) const NOTES: &str = "notes";

/// How a connection ended, as this client saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Closed {
    /// The close code the server sent, if it sent a close frame.
    pub(crate) code: Option<u16>,
    /// The close reason, or what ended the connection.
    pub(crate) reason: String,
}

/// One awareness entry as last received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Presence {
    /// The announcing client's clock.
    pub(crate) clock: u32,
    /// Its state; `None` once removed.
    pub(crate) state: Option<String>,
}

/// What one connection has seen so far.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConnState {
    /// The server answered our sync step 1.
    pub(crate) synced: bool,
    /// The connection ended.
    pub(crate) closed: Option<Closed>,
    /// Presence of every client the server told us about.
    pub(crate) awareness: HashMap<u64, Presence>,
    /// Incremental update frames received.
    pub(crate) updates_received: u64,
    /// Things the server sent that it never should (undecodable frames, text frames …).
    pub(crate) violations: Vec<String>,
}

/// The observable state of one connection, shared with its reader task.
struct Shared {
    // A std mutex: it is only held for a few field updates, never across an await.
    state: Mutex<ConnState>,
    changed: watch::Sender<u64>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, ConnState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn update(&self, f: impl FnOnce(&mut ConnState)) {
        f(&mut self.lock());
        self.changed.send_modify(|n| *n += 1);
    }
}

struct Connection {
    shared: Arc<Shared>,
    out: mpsc::UnboundedSender<WsMessage>,
    reader: JoinHandle<()>,
    writer: JoinHandle<()>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.reader.abort();
        self.writer.abort();
    }
}

/// A yrs peer connected (or not, between reconnects) to one document of the server.
pub(crate) struct TestClient {
    url: String,
    doc: Doc,
    conn: Option<Connection>,
    held: Option<Vec<Vec<u8>>>,
    awareness_clock: u32,
    awareness_state: Option<String>,
}

impl TestClient {
    /// Connects a fresh doc to `url` and completes the sync handshake.
    pub(crate) async fn connect(url: &str) -> TestResult<Self> {
        Self::connect_with_doc(url, Doc::new()).await
    }

    /// Connects `doc` to `url` and completes the sync handshake.
    pub(crate) async fn connect_with_doc(url: &str, doc: Doc) -> TestResult<Self> {
        let mut client = Self::offline(url, doc);
        client.reconnect().await?;
        Ok(client)
    }

    /// A client that has not connected yet (see [`TestClient::reconnect`]).
    pub(crate) fn offline(url: &str, doc: Doc) -> Self {
        TestClient {
            url: url.to_string(),
            doc,
            conn: None,
            held: None,
            awareness_clock: 0,
            awareness_state: None,
        }
    }

    /// Opens a WebSocket to `url` without any handshake: the server's frames are still read
    /// and applied, but nothing is sent until the test says so.
    pub(crate) async fn connect_raw(url: &str) -> TestResult<Self> {
        let mut client = Self::offline(url, Doc::new());
        let ws = open(url).await?;
        client.conn = Some(attach(&client.doc, ws));
        Ok(client)
    }

    /// (Re)connects to the client's URL with the current doc: sends our step 1 (as
    /// y-websocket does), answers the server's, re-announces our presence, and waits for
    /// the server's step 2.
    pub(crate) async fn reconnect(&mut self) -> TestResult {
        let url = self.url.clone();
        self.reconnect_to(&url).await
    }

    /// Like [`TestClient::reconnect`], to another URL (a restarted server).
    pub(crate) async fn reconnect_to(&mut self, url: &str) -> TestResult {
        self.conn = None;
        self.url = url.to_string();
        let ws = open(url).await?;
        let conn = attach(&self.doc, ws);
        let sv = self.doc.transact().state_vector();
        let _ = conn
            .out
            .send(WsMessage::Binary(protocol::encode_sync_step1(&sv)));
        self.conn = Some(conn);
        if let Some(state) = self.awareness_state.clone() {
            self.send_awareness(&state);
        }
        self.wait_synced().await
    }

    /// The local document.
    pub(crate) fn doc(&self) -> &Doc {
        &self.doc
    }

    /// This peer's client id (also its awareness id).
    pub(crate) fn client_id(&self) -> u64 {
        self.doc.client_id().get()
    }

    /// True while a connection is open and not closed by either side.
    pub(crate) fn is_connected(&self) -> bool {
        self.conn
            .as_ref()
            .is_some_and(|c| c.shared.lock().closed.is_none())
    }

    /// A copy of what the current connection has seen (default when offline).
    pub(crate) fn state(&self) -> ConnState {
        self.conn
            .as_ref()
            .map(|c| c.shared.lock().clone())
            .unwrap_or_default()
    }

    /// Edits the local doc in one transaction and sends the resulting update, unless offline
    /// (the next handshake carries it) or holding updates.
    pub(crate) fn edit<R>(&mut self, f: impl FnOnce(&mut TransactionMut<'_>) -> R) -> R {
        let (result, update) = {
            let mut txn = self.doc.transact_mut();
            let result = f(&mut txn);
            (result, txn.encode_update_v1())
        };
        if update.as_slice() != [0, 0] {
            match self.held.as_mut() {
                Some(held) => held.push(update),
                None => self.send_update(&update),
            }
        }
        result
    }

    /// Adds a note (`id` -> `text`) to the shared notes map.
    pub(crate) fn add_note(&mut self, id: &str, text: &str) {
        let notes = self.doc.get_or_insert_map(NOTES);
        self.edit(|txn| {
            notes.insert(txn, id, text);
        });
    }

    /// Adds note `id` as a map carrying `author` as its `authorId` (what the ownership policy
    /// lets a participant holding that device create).
    pub(crate) fn add_note_by(&mut self, id: &str, text: &str, author: &str) {
        let notes = self.doc.get_or_insert_map(NOTES);
        self.edit(|txn| {
            notes.insert(
                txn,
                id,
                yrs::MapPrelim::from([("authorId", author), ("text", text)]),
            );
        });
    }

    /// Sends a v1 update as a sync-update frame without applying it locally.
    pub(crate) fn send_update(&self, update: &[u8]) {
        self.send_raw(protocol::encode_update(update));
    }

    /// Sends one binary WebSocket message as-is.
    pub(crate) fn send_raw(&self, frame: impl Into<Bytes>) {
        self.send(WsMessage::Binary(frame.into()));
    }

    /// Sends one text WebSocket message.
    pub(crate) fn send_text(&self, text: &str) {
        self.send(WsMessage::text(text));
    }

    fn send(&self, msg: WsMessage) {
        if let Some(conn) = &self.conn {
            let _ = conn.out.send(msg);
        }
    }

    /// From now on, local updates are kept back instead of sent.
    pub(crate) fn hold_updates(&mut self) {
        self.held.get_or_insert_with(Vec::new);
    }

    /// Sends every held update, in a random order, and stops holding.
    pub(crate) fn release_updates(&mut self, rng: &mut impl Rng) {
        if let Some(mut held) = self.held.take() {
            held.shuffle(rng);
            for update in held {
                self.send_update(&update);
            }
        }
    }

    /// Drops the connection without a close frame, as a phone losing its network would.
    pub(crate) fn disconnect_abruptly(&mut self) {
        self.conn = None;
    }

    /// Sends a normal close frame and drops the connection.
    pub(crate) async fn close(&mut self) {
        if let Some(conn) = self.conn.take() {
            let _ = conn.out.send(WsMessage::Close(None));
            // Let the writer put the close frame on the wire before the tasks are aborted.
            let _ = tokio::time::timeout(Duration::from_secs(2), async {
                while !conn.writer.is_finished() {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
            .await;
        }
    }

    /// Announces `state` (a JSON value) as this client's presence.
    pub(crate) fn set_awareness(&mut self, state: &str) {
        self.awareness_state = Some(state.to_string());
        self.send_awareness(state);
    }

    /// Announces that this client has no presence any more (state `null`).
    pub(crate) fn clear_awareness(&mut self) {
        self.awareness_state = None;
        self.send_awareness("null");
    }

    fn send_awareness(&mut self, state: &str) {
        self.awareness_clock += 1;
        let mut clients = HashMap::new();
        clients.insert(
            self.doc.client_id(),
            AwarenessUpdateEntry {
                clock: self.awareness_clock,
                json: Arc::from(state),
            },
        );
        self.send_raw(protocol::encode_awareness(&AwarenessUpdate { clients }));
    }

    /// Waits until the server answered our sync step 1.
    pub(crate) async fn wait_synced(&self) -> TestResult {
        self.wait_state("the server's sync step 2", WAIT, |s| s.synced)
            .await
    }

    /// Waits until `pred` holds for the local doc; fails early if the connection ends.
    pub(crate) async fn wait_until(
        &self,
        what: &str,
        limit: Duration,
        pred: impl Fn(&Doc) -> bool,
    ) -> TestResult {
        self.wait_state(what, limit, |_| pred(&self.doc)).await
    }

    /// Waits until `pred` holds for the connection's state; fails early if it ends first.
    pub(crate) async fn wait_state(
        &self,
        what: &str,
        limit: Duration,
        pred: impl Fn(&ConnState) -> bool,
    ) -> TestResult {
        let Some(conn) = &self.conn else {
            return Err(TestError::Protocol(format!(
                "waiting for {what} while offline"
            )));
        };
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let mut changed = conn.shared.changed.subscribe();
            let closed = {
                let state = conn.shared.lock();
                if pred(&state) {
                    return Ok(());
                }
                state.closed.clone()
            };
            if let Some(closed) = closed {
                return Err(TestError::Protocol(format!(
                    "connection closed ({:?} {:?}) while waiting for {what}",
                    closed.code, closed.reason
                )));
            }
            if tokio::time::timeout_at(deadline, changed.changed())
                .await
                .is_err()
            {
                return Err(TestError::Timeout {
                    what: what.to_string(),
                    after: limit,
                });
            }
        }
    }

    /// Waits until the server ends the connection; returns how.
    pub(crate) async fn wait_closed(&self) -> TestResult<Closed> {
        let Some(conn) = &self.conn else {
            return Err(TestError::Protocol(
                "waiting for a close while offline".into(),
            ));
        };
        within("the server to close the connection", WAIT, async {
            loop {
                let mut changed = conn.shared.changed.subscribe();
                if let Some(closed) = conn.shared.lock().closed.clone() {
                    return closed;
                }
                if changed.changed().await.is_err() {
                    return Closed {
                        code: None,
                        reason: "client state dropped".into(),
                    };
                }
            }
        })
        .await
    }

    /// The note ids currently in the local doc.
    pub(crate) fn note_ids(&self) -> BTreeSet<String> {
        note_ids(&self.doc)
    }

    /// A comparable picture of the local doc.
    pub(crate) fn snapshot(&self) -> Snapshot {
        Snapshot::of(&self.doc)
    }
}

/// The note ids in `doc`'s notes map.
pub(crate) fn note_ids(doc: &Doc) -> BTreeSet<String> {
    let notes: MapRef = doc.get_or_insert_map(NOTES);
    let txn = doc.transact();
    notes.keys(&txn).map(str::to_string).collect()
}

/// Everything the tests write, as comparable values: two replicas are in step when equal.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Snapshot {
    /// What the replica has integrated.
    pub(crate) state_vector: StateVector,
    /// Root map `m`.
    pub(crate) map: Any,
    /// Root array `a`.
    pub(crate) array: Any,
    /// Root text `t`.
    pub(crate) text: String,
    /// Root map of notes.
    pub(crate) notes: Any,
}

impl Snapshot {
    /// Reads the roots the tests use from `doc`.
    pub(crate) fn of(doc: &Doc) -> Self {
        use yrs::types::ToJson;
        let map = doc.get_or_insert_map("m");
        let array = doc.get_or_insert_array("a");
        let text = doc.get_or_insert_text("t");
        let notes = doc.get_or_insert_map(NOTES);
        let txn = doc.transact();
        Snapshot {
            state_vector: txn.state_vector(),
            map: map.to_json(&txn),
            array: array.to_json(&txn),
            text: text.get_string(&txn),
            notes: notes.to_json(&txn),
        }
    }
}

async fn open(
    url: &str,
) -> TestResult<WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>> {
    let (ws, _) = within(
        &format!("a WebSocket to {url}"),
        WAIT,
        tokio_tungstenite::connect_async(url),
    )
    .await?
    .map_err(|e| TestError::Ws {
        context: format!("connecting to {url}"),
        source: Box::new(e),
    })?;
    Ok(ws)
}

/// Starts the reader and writer tasks of one connection over `ws`, applying into `doc`.
fn attach<S>(doc: &Doc, ws: WebSocketStream<S>) -> Connection
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sink, stream) = ws.split();
    let (out, out_rx) = mpsc::unbounded_channel();
    let (changed, _) = watch::channel(0);
    let shared = Arc::new(Shared {
        state: Mutex::new(ConnState::default()),
        changed,
    });
    let writer = tokio::spawn(write_loop(sink, out_rx));
    let reader = tokio::spawn(read_loop(stream, doc.clone(), out.clone(), shared.clone()));
    Connection {
        shared,
        out,
        reader,
        writer,
    }
}

async fn write_loop<S>(
    mut sink: SplitSink<WebSocketStream<S>, WsMessage>,
    mut out: mpsc::UnboundedReceiver<WsMessage>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    while let Some(msg) = out.recv().await {
        let is_close = matches!(msg, WsMessage::Close(_));
        if sink.send(msg).await.is_err() || is_close {
            return;
        }
    }
}

async fn read_loop<S>(
    mut stream: SplitStream<WebSocketStream<S>>,
    doc: Doc,
    out: mpsc::UnboundedSender<WsMessage>,
    shared: Arc<Shared>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let closed = loop {
        match stream.next().await {
            Some(Ok(WsMessage::Binary(frame))) => on_frame(&frame, &doc, &out, &shared),
            Some(Ok(WsMessage::Close(frame))) => {
                break match frame {
                    Some(f) => Closed {
                        code: Some(u16::from(f.code)),
                        reason: f.reason.to_string(),
                    },
                    None => Closed {
                        code: None,
                        reason: "close frame without a code".into(),
                    },
                };
            }
            Some(Ok(WsMessage::Text(t))) => {
                shared.update(|s| {
                    s.violations
                        .push(format!("text frame from the server: {t}"))
                });
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                break Closed {
                    code: None,
                    reason: format!("connection error: {e}"),
                }
            }
            None => {
                break Closed {
                    code: None,
                    reason: "connection ended without a close frame".into(),
                }
            }
        }
    };
    shared.update(|s| s.closed = Some(closed));
}

fn on_frame(frame: &[u8], doc: &Doc, out: &mpsc::UnboundedSender<WsMessage>, shared: &Shared) {
    let msg = match protocol::decode_message(frame) {
        Ok(msg) => msg,
        Err(e) => {
            shared.update(|s| {
                s.violations
                    .push(format!("undecodable frame from the server: {e}"))
            });
            return;
        }
    };
    match msg {
        Message::SyncStep1(sv) => {
            let update = doc.transact().encode_state_as_update_v1(&sv);
            let _ = out.send(WsMessage::Binary(protocol::encode_sync_step2(&update)));
        }
        Message::SyncStep2(update) => {
            let applied = apply(doc, &update);
            shared.update(|s| {
                s.synced = true;
                s.violations.extend(applied.err());
            });
        }
        Message::Update(update) => {
            let applied = apply(doc, &update);
            shared.update(|s| {
                s.updates_received += 1;
                s.violations.extend(applied.err());
            });
        }
        Message::Awareness { update, .. } => shared.update(|s| {
            for (client, entry) in update.clients {
                let state = (&*entry.json != "null").then(|| entry.json.to_string());
                let known = s.awareness.get(&client.get());
                // The y-protocols rule: a newer clock wins; at equal clocks a removal wins.
                let newer = known.is_none_or(|p| {
                    p.clock < entry.clock || (p.clock == entry.clock && state.is_none())
                });
                if newer {
                    s.awareness.insert(
                        client.get(),
                        Presence {
                            clock: entry.clock,
                            state,
                        },
                    );
                }
            }
        }),
        other => shared.update(|s| {
            s.violations
                .push(format!("unexpected message from the server: {other:?}"))
        }),
    }
}

fn apply(doc: &Doc, update: &[u8]) -> Result<(), String> {
    let update =
        Update::decode_v1(update).map_err(|e| format!("server sent an undecodable update: {e}"))?;
    doc.transact_mut_with("server")
        .apply_update(update)
        .map_err(|e| format!("server sent an update yrs rejects: {e}"))
}
