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

mod sinks;
mod task;

pub use sinks::{AckBoard, LatencySink, Seen};

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, oneshot, watch};

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
    let task = tokio::spawn(task::run(opts, rx, state_tx));
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
