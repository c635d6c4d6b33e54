//! One simulated y-websocket browser: a real yrs doc behind a WebSocket, driven by commands.
//!
//! It behaves like the npm `y-websocket` provider: on open it sends sync step 1 and its awareness
//! state, answers the server's step 1 with step 2, applies every step 2 and update it receives, and
//! renews its awareness every 15 s. Notes are entries of the root map `notes`, each embedding the
//! wall-clock time it was written (`at`, milliseconds since the Unix epoch, fractional) so that every
//! receiver can measure edit-to-delivery latency the moment the note appears in its own doc.
//!
//! With [`Behaviour::Web`] it also asks for confirmation the way Palabre's web client
//! (`DocHandle`, web/src/lib/model/sync.ts) does: a sync step 1, 150 ms after one of its own
//! edits, only while some of them are unconfirmed, one request at a time; the server's step 2
//! answers it. [`Behaviour::WebEager`] is the web client before that change: a step 1 150 ms
//! after any update, its own or others', whenever the doc differs from what was last confirmed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use yrs::types::EntryChange;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::{
    Any, ClientID, Doc, Map, MapRef, Observable, Out, ReadTxn, StateVector, Transact, Update,
};

use crate::wire::{encode_awareness, AwarenessEntry, Message};

/// Root map holding the notes.
pub const NOTES: &str = "notes";
/// How often y-websocket renews a live awareness state (half its 30 s timeout).
const AWARENESS_RENEW: Duration = Duration::from_secs(15);

/// How the target treats sync messages.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// A document server: answers step 1 with step 2 and keeps the doc.
    Crdt,
    /// A bare relay: holds no document, so clients skip the handshake and are synced once the
    /// socket is open; step 1 from peers is ignored so that N joiners do not trigger N² replies.
    Relay,
}

/// What a simulated browser sends besides the y-websocket protocol itself.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Behaviour {
    /// The npm y-websocket provider: nothing more.
    #[default]
    Plain,
    /// Palabre's web client: asks for confirmation only while it has unconfirmed edits.
    Web,
    /// Palabre's web client before issue 9: asks after any update it sees.
    WebEager,
}

/// How long the web client lets edits gather before one confirmation request.
const ACK_DELAY: Duration = Duration::from_millis(150);

/// Where note latencies go; shared by every client of a workload.
#[derive(Debug, Default)]
pub struct LatencySink {
    /// Notes that appeared in some receiver's doc (the writer's own doc excluded).
    pub deliveries: AtomicU64,
    samples_us: Mutex<Vec<u32>>,
}

impl LatencySink {
    /// Takes every latency sample recorded so far, in microseconds.
    pub fn take(&self) -> Vec<u32> {
        std::mem::take(
            &mut *self
                .samples_us
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    fn record(&self, at_ms: f64) {
        let now_ms = epoch_ms();
        let us = ((now_ms - at_ms) * 1000.0).clamp(0.0, f64::from(u32::MAX)) as u32;
        self.deliveries.fetch_add(1, Ordering::Relaxed);
        self.samples_us
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(us);
    }
}

/// Per-doc record of how far each writer's updates have been seen by any connection of that doc:
/// the proof, for W4, that the server has taken an update (and, for Palabre in strict mode, that
/// it is durable, since Palabre relays only committed updates).
#[derive(Debug, Default)]
pub struct AckBoard {
    writers: HashMap<ClientID, watch::Sender<Seen>>,
}

/// The highest clock of one writer seen so far, and when it was first seen.
#[derive(Debug, Clone, Copy)]
pub struct Seen {
    /// Exclusive end of the writer's clock range seen.
    pub clock_end: u32,
    /// When that range was first seen.
    pub at: Instant,
}

impl AckBoard {
    /// Registers a writer and returns the receiver its driver waits on.
    pub fn add_writer(&mut self, client_id: u64) -> watch::Receiver<Seen> {
        let (tx, rx) = watch::channel(Seen {
            clock_end: 0,
            at: Instant::now(),
        });
        self.writers.insert(ClientID::new(client_id), tx);
        rx
    }

    fn observe(&self, update: &Update) {
        let now = Instant::now();
        for (client, ranges) in update.insertions(true).iter() {
            let Some(tx) = self.writers.get(client) else {
                continue;
            };
            let Some(end) = ranges.iter().map(|r| r.end).max() else {
                continue;
            };
            tx.send_if_modified(|seen| {
                if end > seen.clock_end {
                    *seen = Seen {
                        clock_end: end,
                        at: now,
                    };
                    true
                } else {
                    false
                }
            });
        }
    }
}

/// How to build one client.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Full WebSocket URL of the doc.
    pub url: String,
    /// Protocol behaviour of the target.
    pub mode: Mode,
    /// Yjs client id (also the awareness id).
    pub client_id: u64,
    /// Record latencies of notes appearing in this client's doc.
    pub latency: Option<Arc<LatencySink>>,
    /// Report updates seen to this doc's writers.
    pub acks: Option<Arc<AckBoard>>,
    /// When the first awareness renewal happens.
    pub renewal: Renewal,
    /// Confirmation requests on top of the protocol (the web client's).
    pub behaviour: Behaviour,
}

/// Phase of the 15 s awareness renewals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renewal {
    /// 15 s after joining, as a browser that has just joined does.
    AfterJoin,
    /// At a random point of the first 15 s, as in a session whose participants joined at
    /// different times: renewals then arrive at a steady N/15 per second instead of in waves.
    Spread,
}

/// What the workload asks a client to do.
#[derive(Debug)]
pub enum Command {
    /// Add `notes` notes in one transaction and send them as one update.
    Write {
        /// How many notes.
        notes: usize,
        /// Told the clock reached and when the frame was handed to the socket.
        reply: Option<oneshot::Sender<Written>>,
    },
    /// Report the size of the whole doc encoded as one update (v1).
    EncodedSize(oneshot::Sender<usize>),
    /// Close the socket and end the task.
    Close,
}

/// The result of a [`Command::Write`].
#[derive(Debug, Clone, Copy)]
pub struct Written {
    /// This client's clock after the write (exclusive end).
    pub clock_end: u32,
    /// When the update frame was sent.
    pub sent_at: Instant,
}

/// Connection progress, published on a watch channel.
#[derive(Debug, Clone, PartialEq)]
pub enum SyncState {
    /// Connecting or waiting for step 2.
    Pending,
    /// Received step 2 (or, for a relay, opened).
    Synced {
        /// From the start of the TCP connect until step 2 was applied.
        after: Duration,
        /// From the start of the TCP connect until the WebSocket handshake completed.
        opened: Duration,
        /// From the start of the TCP connect until the whole step 2 frame was read.
        received: Duration,
        /// Notes in the doc right after step 2 was applied.
        notes: u32,
    },
    /// Could not connect, or the connection ended before syncing.
    Failed(String),
}

/// What a client saw during its life.
#[derive(Debug, Clone, Default)]
pub struct ClientEnd {
    /// Frames received.
    pub frames_in: u64,
    /// Payload bytes received.
    pub bytes_in: u64,
    /// Frames that did not decode or updates yrs refused.
    pub bad_frames: u64,
    /// Confirmation requests sent (sync step 1 after the one of the handshake).
    pub probes_sent: u64,
    /// Why the connection ended, when the client did not close it itself.
    pub error: Option<String>,
}

/// A running client.
#[derive(Debug)]
pub struct ClientHandle {
    /// Commands to the client task.
    pub commands: mpsc::Sender<Command>,
    /// Connection progress.
    pub state: watch::Receiver<SyncState>,
    /// The task; yields what it saw.
    pub task: tokio::task::JoinHandle<ClientEnd>,
}

impl ClientHandle {
    /// Waits until synced or failed, at most `limit`.
    pub async fn wait_synced(&mut self, limit: Duration) -> SyncState {
        wait_synced(&mut self.state, limit).await
    }

    /// Asks the client to close and waits for its summary.
    pub async fn close(self) -> ClientEnd {
        let _ = self.commands.send(Command::Close).await;
        match tokio::time::timeout(Duration::from_secs(5), self.task).await {
            Ok(Ok(end)) => end,
            Ok(Err(e)) => ClientEnd {
                error: Some(e.to_string()),
                ..ClientEnd::default()
            },
            Err(_) => ClientEnd {
                error: Some("did not close within 5 s".into()),
                ..ClientEnd::default()
            },
        }
    }
}

/// Waits until a client's state leaves [`SyncState::Pending`], at most `limit`.
pub async fn wait_synced(state: &mut watch::Receiver<SyncState>, limit: Duration) -> SyncState {
    let waited = tokio::time::timeout(limit, async move {
        state
            .wait_for(|s| !matches!(s, SyncState::Pending))
            .await
            .map(|s| s.clone())
    })
    .await;
    match waited {
        Ok(Ok(s)) => s,
        Ok(Err(_)) => SyncState::Failed("client task ended".into()),
        Err(_) => SyncState::Failed(format!("not synced after {limit:?}")),
    }
}

/// Starts a client task.
pub fn spawn(opts: ClientOptions) -> ClientHandle {
    let (commands, rx) = mpsc::channel(16);
    let (state_tx, state) = watch::channel(SyncState::Pending);
    let task = tokio::spawn(run(opts, rx, state_tx));
    ClientHandle {
        commands,
        state,
        task,
    }
}

/// Milliseconds since the Unix epoch, with sub-millisecond precision.
pub fn epoch_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

fn as_f64(v: &Any) -> Option<f64> {
    match v {
        Any::Number(n) => n.as_f64(),
        _ => None,
    }
}

fn ws_config() -> WebSocketConfig {
    // Small buffers: 10 000 simulated browsers must fit next to the server on this machine.
    WebSocketConfig::default()
        .read_buffer_size(16 * 1024)
        .write_buffer_size(0)
        .max_message_size(Some(64 << 20))
}

struct Client {
    opts: ClientOptions,
    opened: Duration,
    doc: Doc,
    notes: MapRef,
    seq: u64,
    awareness_clock: u64,
    end: ClientEnd,
    synced: bool,
    probe: Probe,
}

/// The web client's confirmation state (unused by plain clients).
#[derive(Debug, Default)]
struct Probe {
    /// When the next request goes out, if one is scheduled.
    due: Option<tokio::time::Instant>,
    /// The state vector of the unanswered request.
    in_flight: Option<StateVector>,
    /// What the server last confirmed.
    acked: StateVector,
}

async fn sleep_until_or_never(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn run(
    opts: ClientOptions,
    mut commands: mpsc::Receiver<Command>,
    state: watch::Sender<SyncState>,
) -> ClientEnd {
    let started = Instant::now();
    let connected =
        tokio_tungstenite::connect_async_with_config(opts.url.as_str(), Some(ws_config()), true)
            .await;
    let ws = match connected {
        Ok((ws, _response)) => ws,
        Err(e) => {
            let msg = format!("connect: {e}");
            state.send_replace(SyncState::Failed(msg.clone()));
            return ClientEnd {
                error: Some(msg),
                ..ClientEnd::default()
            };
        }
    };
    let opened = started.elapsed();
    let (mut sink, mut stream) = ws.split();
    let mut c = Client::new(opts, opened);

    let mut hello = Vec::with_capacity(2);
    if c.opts.mode == Mode::Crdt {
        let sv = c.doc.transact().state_vector().encode_v1();
        hello.push(Message::SyncStep1(&sv).encode());
    } else {
        state.send_replace(SyncState::Synced {
            after: opened,
            opened,
            received: opened,
            notes: 0,
        });
    }
    hello.push(c.awareness_frame());
    for frame in hello {
        if let Err(e) = sink.send(WsMessage::Binary(frame.into())).await {
            return c.fail(&state, format!("send hello: {e}"));
        }
    }

    let first_renewal = match c.opts.renewal {
        Renewal::AfterJoin => AWARENESS_RENEW,
        Renewal::Spread => AWARENESS_RENEW.mul_f64(rand::random::<f64>()),
    };
    let mut renew =
        tokio::time::interval_at(tokio::time::Instant::now() + first_renewal, AWARENESS_RENEW);
    loop {
        tokio::select! {
            frame = stream.next() => match frame {
                Some(Ok(WsMessage::Binary(bytes))) => {
                    c.end.frames_in += 1;
                    c.end.bytes_in += bytes.len() as u64;
                    let replies = c.on_frame(&bytes, started, &state);
                    for r in replies {
                        if let Err(e) = sink.send(WsMessage::Binary(r.into())).await {
                            return c.fail(&state, format!("send: {e}"));
                        }
                    }
                }
                Some(Ok(WsMessage::Close(frame))) => {
                    let why = frame.map(|f| format!("{} {}", f.code, f.reason)).unwrap_or_default();
                    return c.fail(&state, format!("closed by server: {why}"));
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return c.fail(&state, format!("read: {e}")),
                None => return c.fail(&state, "connection ended".into()),
            },
            cmd = commands.recv() => match cmd {
                Some(Command::Write { notes, reply }) => {
                    let (frame, clock_end) = c.write_notes(notes);
                    if let Err(e) = sink.send(WsMessage::Binary(frame.into())).await {
                        return c.fail(&state, format!("send update: {e}"));
                    }
                    c.schedule_probe();
                    if let Some(reply) = reply {
                        let _ = reply.send(Written { clock_end, sent_at: Instant::now() });
                    }
                }
                Some(Command::EncodedSize(reply)) => {
                    let size = c
                        .doc
                        .transact()
                        .encode_state_as_update_v1(&StateVector::default())
                        .len();
                    let _ = reply.send(size);
                }
                Some(Command::Close) | None => {
                    let _ = sink.send(WsMessage::Close(None)).await;
                    let _ = sink.close().await;
                    return c.end;
                }
            },
            _ = sleep_until_or_never(c.probe.due) => {
                c.probe.due = None;
                if let Some(frame) = c.probe_frame() {
                    if let Err(e) = sink.send(WsMessage::Binary(frame.into())).await {
                        return c.fail(&state, format!("send probe: {e}"));
                    }
                }
            }
            _ = renew.tick() => {
                let frame = c.awareness_frame();
                if let Err(e) = sink.send(WsMessage::Binary(frame.into())).await {
                    return c.fail(&state, format!("send awareness: {e}"));
                }
            }
        }
    }
}

impl Client {
    fn new(opts: ClientOptions, opened: Duration) -> Self {
        let doc = Doc::with_client_id(opts.client_id);
        let notes = doc.get_or_insert_map(NOTES);
        if let Some(sink) = opts.latency.clone() {
            notes.observe(
                "latency",
                move |txn: &yrs::TransactionMut, event: &yrs::types::map::MapEvent| {
                    // Local writes carry an origin; only notes that came over the wire count.
                    if txn.origin().is_some() {
                        return;
                    }
                    for change in event.keys(txn).values() {
                        if let EntryChange::Inserted(Out::Any(Any::Map(note))) = change {
                            if let Some(at) = note.get("at").and_then(as_f64) {
                                sink.record(at);
                            }
                        }
                    }
                },
            );
        }
        Self {
            opts,
            opened,
            doc,
            notes,
            seq: 0,
            awareness_clock: 0,
            end: ClientEnd::default(),
            synced: false,
            probe: Probe::default(),
        }
    }

    /// Whether the doc holds something the server has not confirmed that this client must ask
    /// about: its own edits (web), or anything at all (web-eager).
    fn unconfirmed(&self) -> bool {
        let sv = self.doc.transact().state_vector();
        match self.opts.behaviour {
            Behaviour::Plain => false,
            Behaviour::Web => {
                let own = ClientID::new(self.opts.client_id);
                sv.get(&own) > self.probe.acked.get(&own)
            }
            Behaviour::WebEager => sv != self.probe.acked,
        }
    }

    /// Schedules a confirmation request `ACK_DELAY` from now, unless one is due or out already.
    fn schedule_probe(&mut self) {
        if self.probe.due.is_some() || self.probe.in_flight.is_some() || !self.unconfirmed() {
            return;
        }
        self.probe.due = Some(tokio::time::Instant::now() + ACK_DELAY);
    }

    /// The request to send now, if one is still needed.
    fn probe_frame(&mut self) -> Option<Vec<u8>> {
        if !self.synced || self.probe.in_flight.is_some() || !self.unconfirmed() {
            return None;
        }
        let sv = self.doc.transact().state_vector();
        let frame = Message::SyncStep1(&sv.encode_v1()).encode();
        self.probe.in_flight = Some(sv);
        self.end.probes_sent += 1;
        Some(frame)
    }

    fn fail(mut self, state: &watch::Sender<SyncState>, why: String) -> ClientEnd {
        state.send_if_modified(|s| {
            if matches!(s, SyncState::Pending) {
                *s = SyncState::Failed(why.clone());
                true
            } else {
                false
            }
        });
        self.end.error = Some(why);
        self.end
    }

    fn awareness_frame(&mut self) -> Vec<u8> {
        self.awareness_clock += 1;
        let id = self.opts.client_id;
        let entry = AwarenessEntry {
            client_id: id,
            clock: self.awareness_clock,
            state_json: format!(
                "{{\"user\":{{\"name\":\"Poste {id}\",\"color\":\"#{:06x}\"}}}}",
                id & 0xff_ffff
            ),
        };
        Message::Awareness(&encode_awareness(&[entry])).encode()
    }

    /// Handles one frame; returns the frames to send back.
    fn on_frame(
        &mut self,
        frame: &[u8],
        started: Instant,
        state: &watch::Sender<SyncState>,
    ) -> Vec<Vec<u8>> {
        let msg = match Message::decode(frame) {
            Ok(m) => m,
            Err(_) => {
                self.end.bad_frames += 1;
                return Vec::new();
            }
        };
        match msg {
            Message::SyncStep1(sv) if self.opts.mode == Mode::Crdt => {
                match StateVector::decode_v1(sv) {
                    Ok(sv) => {
                        let diff = self.doc.transact().encode_diff_v1(&sv);
                        vec![Message::SyncStep2(&diff).encode()]
                    }
                    Err(_) => {
                        self.end.bad_frames += 1;
                        Vec::new()
                    }
                }
            }
            Message::SyncStep1(_) => Vec::new(),
            Message::SyncStep2(update) => {
                let received = started.elapsed();
                self.apply(update);
                self.synced = true;
                if let Some(sv) = self.probe.in_flight.take() {
                    // The server answers a step 1 only once all before it is durable.
                    self.probe.acked = sv;
                    self.schedule_probe();
                }
                let notes = self.notes.len(&self.doc.transact());
                let opened = self.opened;
                state.send_if_modified(|s| {
                    if matches!(s, SyncState::Pending) {
                        *s = SyncState::Synced {
                            after: started.elapsed(),
                            opened,
                            received,
                            notes,
                        };
                        true
                    } else {
                        false
                    }
                });
                Vec::new()
            }
            Message::Update(update) => {
                self.apply(update);
                if self.opts.behaviour == Behaviour::WebEager {
                    self.schedule_probe();
                }
                Vec::new()
            }
            Message::QueryAwareness => vec![self.awareness_frame()],
            Message::Awareness(_) => Vec::new(),
            Message::AuthDenied(_) => {
                self.end.bad_frames += 1;
                Vec::new()
            }
        }
    }

    fn apply(&mut self, bytes: &[u8]) {
        let update = match Update::decode_v1(bytes) {
            Ok(u) => u,
            Err(_) => {
                self.end.bad_frames += 1;
                return;
            }
        };
        if let Some(acks) = &self.opts.acks {
            acks.observe(&update);
        }
        if self.doc.transact_mut().apply_update(update).is_err() {
            self.end.bad_frames += 1;
        }
    }

    /// Adds notes in one local transaction; returns the update frame and the new clock.
    fn write_notes(&mut self, count: usize) -> (Vec<u8>, u32) {
        let id = self.opts.client_id;
        let mut txn = self.doc.transact_mut_with("local");
        for _ in 0..count {
            self.seq += 1;
            let key = format!("{id:x}-{}", self.seq);
            let note: HashMap<String, Any> = HashMap::from([
                (
                    "text".to_owned(),
                    Any::from(format!("Idée n°{} du poste {id}", self.seq)),
                ),
                ("col".to_owned(), Any::from("amplifier")),
                ("at".to_owned(), Any::from(epoch_ms())),
            ]);
            self.notes.insert(&mut txn, key, Any::from(note));
        }
        let update = txn.encode_update_v1();
        let clock_end = txn.state_vector().get(&ClientID::new(id));
        drop(txn);
        (Message::Update(&update).encode(), clock_end)
    }
}
