//! One live document: its yrs `Doc`, presence (awareness) and subscribers.
//!
//! A room is an actor: one task owns the `Doc`, so no lock is ever taken on it and
//! `transact_mut` never contends. Connections talk to it through a bounded inbox and it
//! reaches them through their bounded outboxes ([`Subscriber`]); it never sees a socket.
//!
//! Write path: an update is applied to the `Doc` (which validates it), added to the open
//! *batch*, and after `coalesce` the batch is merged into one update, appended to the store
//! and — in strict durability — relayed as one frame to every subscriber only once the store
//! says it is durable. Sync replies that would reveal not-yet-durable state are held back the
//! same way, so nothing a client has ever seen can be lost by a crash.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::stream::{FuturesOrdered, StreamExt};
use tokio::sync::{mpsc, oneshot};
use yrs::sync::awareness::AwarenessUpdate;
use yrs::{Doc, ReadTxn, StateVector, Transact, Update};

use crate::access::{Access, Locks};
use crate::config::Durability;
use crate::metrics::Metrics;
use crate::presence::Presence;
use crate::protocol::{self, Message};
use crate::store::{Seq, Store, StoreError};

/// Identifies one connection for the lifetime of the process.
pub type ConnId = u64;

/// A WebSocket close code and reason sent to a client the room disconnects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseReason {
    /// RFC 6455 close code.
    pub code: u16,
    /// Human-readable reason (at most 123 bytes on the wire).
    pub reason: String,
}

impl CloseReason {
    /// A close reason with the given code and text.
    pub fn new(code: u16, reason: impl Into<String>) -> Self {
        CloseReason {
            code,
            reason: reason.into(),
        }
    }
}

/// A connection as the room sees it: where to send frames and how to close it.
#[derive(Debug)]
pub struct Subscriber {
    /// The connection's id.
    pub id: ConnId,
    /// Bounded queue of encoded frames; when it is full the connection is too slow.
    pub outbox: mpsc::Sender<Bytes>,
    /// Fired once to make the connection close with a code and reason.
    pub close: oneshot::Sender<CloseReason>,
    /// What this connection may change.
    pub access: crate::access::Access,
}

/// Errors of server-side operations on a room.
#[derive(Debug, thiserror::Error)]
pub enum RoomError {
    /// The room stopped (evicted or shutting down) before handling the request.
    #[error("the document is closing, try again")]
    Closed,
    /// The store failed to load or persist the document.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A server-side edit produced an update the document rejected.
    #[error("edit rejected by the document: {0}")]
    Rejected(String),
}

type Job = Box<dyn FnOnce(&Doc) + Send>;

/// Messages a room's inbox accepts.
pub(crate) enum RoomMsg {
    /// A connection joins; `joined` fires once it is registered.
    Join {
        sub: Subscriber,
        joined: oneshot::Sender<()>,
    },
    /// A connection left (its socket closed).
    Leave { conn: ConnId },
    /// A decoded message from a connection.
    Frame { conn: ConnId, msg: Message },
    /// A server-side change; `done` fires once it is durable.
    Edit {
        job: Job,
        done: oneshot::Sender<Result<(), RoomError>>,
    },
    /// A read of the current state.
    Read { job: Job },
    /// Close every connection matching the predicate (e.g. a revoked credential).
    Kick {
        which: Box<dyn Fn(ConnId) -> bool + Send>,
        reason: CloseReason,
    },
    /// Flush, compact and stop; `done` fires when finished.
    Shutdown { done: oneshot::Sender<()> },
}

/// Tunables of a room, derived from the server configuration.
#[derive(Debug, Clone)]
pub struct RoomConfig {
    /// Strict or relaxed durability.
    pub durability: Durability,
    /// How long updates are gathered before one commit and one relayed frame.
    pub coalesce: Duration,
    /// Compaction threshold in log bytes.
    pub compact_bytes: u64,
    /// Compaction threshold in log entries.
    pub compact_updates: u64,
    /// Idle time with no connection before eviction.
    pub idle: Duration,
    /// Awareness states not renewed for this long are dropped.
    pub awareness_timeout: Duration,
    /// Longest coalescing window, reached by crowded rooms.
    pub coalesce_max: Duration,
    /// A non-facilitator update that would grow the doc past this many bytes is refused.
    pub max_doc_bytes: u64,
    /// A non-facilitator update that would put more items (notes, cards…) on a board is refused.
    pub max_items: usize,
}

/// Batches a room may have in the store's queue at once (group commit does the rest).
const MAX_INFLIGHT: usize = 8;

/// Deepest nesting of types a change may land at (the board schema needs 3).
const MAX_DEPTH: usize = 64;
const DEPTH_WATCH: &str = "palabre-depth-watch";

/// Refused writes tolerated on one connection before it is closed.
const DENIALS_BEFORE_CLOSE: u32 = 20;

/// Called by the room when it stops, so the hub forgets it (only if it is still the same room).
pub(crate) type OnExit = Box<dyn FnOnce() + Send>;

struct Conn {
    outbox: mpsc::Sender<Bytes>,
    close: Option<oneshot::Sender<CloseReason>>,
    access: Access,
    /// Writes refused so far on this connection.
    denials: u32,
}

/// Updates applied to the doc but not yet handed to the store.
struct Batch {
    epoch: u64,
    updates: Vec<Bytes>,
    waiters: Vec<oneshot::Sender<Result<(), RoomError>>>,
}

struct CommitDone {
    epoch: u64,
    /// Frames to relay once durable (empty when they were relayed already).
    frames: Vec<Bytes>,
    waiters: Vec<oneshot::Sender<Result<(), RoomError>>>,
    result: Result<Vec<(Seq, u64)>, StoreError>,
}

/// Builds a doc from what the store holds. Entries that no longer decode are reported and skipped.
pub(crate) fn doc_from_stored(doc_id: &str, stored: &crate::store::StoredDoc) -> Doc {
    let doc = Doc::new();
    let parts = stored
        .snapshot
        .iter()
        .map(|s| (0, s.as_slice()))
        .chain(stored.updates.iter().map(|(seq, u)| (*seq, u.as_slice())));
    for (seq, bytes) in parts {
        let outcome = protocol::decode_update(bytes)
            .map_err(|e| e.to_string())
            .and_then(|u| {
                std::panic::catch_unwind(AssertUnwindSafe(|| {
                    doc.transact_mut()
                        .apply_update(u)
                        .map_err(|e| e.to_string())
                }))
                .unwrap_or_else(|_| Err("yrs panicked".to_string()))
            });
        if let Err(e) = outcome {
            tracing::error!(doc = doc_id, seq, error = %e, "skipping a stored update that no longer applies");
        }
    }
    doc
}

pub(crate) struct Room {
    doc_id: Arc<str>,
    doc: Doc,
    cfg: Arc<RoomConfig>,
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
    locks: Arc<Locks>,
    /// Approximate encoded size of the doc: what was loaded plus every update since.
    doc_bytes: u64,
    conns: HashMap<ConnId, Conn>,
    presence: Presence,
    open: Option<Batch>,
    /// A commit is being written; batches are committed one at a time, in order.
    /// Batches handed to the store, oldest first; they complete in order, so relays keep it.
    inflight: FuturesOrdered<BoxFuture<'static, CommitDone>>,
    flush_at: Option<tokio::time::Instant>,
    next_epoch: u64,
    durable_epoch: u64,
    /// Replies held until the batch they reveal is durable: (epoch, connection, frame).
    held: Vec<(u64, ConnId, Bytes)>,
    log_entries: u64,
    log_bytes: u64,
    last_seq: Seq,
    /// The whole doc as a sync-step-2 frame, encoded once per change for joiners with an empty doc.
    full_state: Option<Bytes>,
    empty_since: Option<Instant>,
    /// A commit failed: the in-memory doc holds updates the disk does not and must be rebuilt.
    storage_failed: bool,
    /// Set by the depth watch when a change lands deeper than `MAX_DEPTH` nested types.
    too_deep: Arc<AtomicBool>,
    /// Root types already watched for depth.
    watched_roots: std::collections::HashSet<Arc<str>>,
}

impl Room {
    pub(crate) fn new(
        doc_id: Arc<str>,
        cfg: Arc<RoomConfig>,
        store: Arc<dyn Store>,
        metrics: Arc<Metrics>,
        locks: Arc<Locks>,
        loaded: LoadedDoc,
    ) -> Self {
        let LoadedDoc {
            doc,
            log_entries,
            last_seq,
            bytes,
        } = loaded;
        let room = Room {
            doc_id,
            doc,
            cfg,
            store,
            metrics,
            locks,
            doc_bytes: bytes,
            conns: HashMap::new(),
            presence: Presence::default(),
            open: None,
            inflight: FuturesOrdered::new(),
            flush_at: None,
            next_epoch: 1,
            durable_epoch: 0,
            held: Vec::new(),
            log_entries,
            log_bytes: 0,
            last_seq,
            full_state: None,
            empty_since: Some(Instant::now()),
            storage_failed: false,
            too_deep: Arc::default(),
            watched_roots: Default::default(),
        };
        let mut room = room;
        room.publish_locks();
        room.watch_depth();
        room
    }

    /// yrs recurses over nested types when it deletes or encodes them, so a hostile chain of
    /// maps a few hundred thousand deep could overflow a thread's stack. Every root type gets a
    /// deep observer that flags a change landing deeper than `MAX_DEPTH`; a new subtree is seen
    /// when the next change attaches to it, so a chain can never grow past one message's worth.
    fn watch_depth(&mut self) {
        let roots: Vec<(Arc<str>, yrs::Out)> = {
            let txn = self.doc.transact();
            txn.root_refs()
                .filter(|(name, _)| !self.watched_roots.contains(*name))
                .map(|(name, out)| (Arc::from(name), out))
                .collect()
        };
        for (name, out) in roots {
            let flag = self.too_deep.clone();
            let watch = move |_: &yrs::TransactionMut, events: &yrs::types::Events| {
                if events.iter().any(|e| e.path().len() > MAX_DEPTH) {
                    flag.store(true, std::sync::atomic::Ordering::Relaxed);
                }
            };
            use yrs::DeepObservable;
            match out {
                yrs::Out::YMap(m) => m.observe_deep(DEPTH_WATCH, watch),
                yrs::Out::YArray(a) => a.observe_deep(DEPTH_WATCH, watch),
                yrs::Out::YText(t) => t.observe_deep(DEPTH_WATCH, watch),
                yrs::Out::YXmlFragment(x) => x.observe_deep(DEPTH_WATCH, watch),
                yrs::Out::YXmlElement(x) => x.observe_deep(DEPTH_WATCH, watch),
                yrs::Out::YXmlText(x) => x.observe_deep(DEPTH_WATCH, watch),
                yrs::Out::UndefinedRef(b) => yrs::MapRef::from(b).observe_deep(DEPTH_WATCH, watch),
                _ => {}
            }
            self.watched_roots.insert(name);
        }
    }

    /// A workshop doc's room republishes its boards' locks after every change.
    fn publish_locks(&self) {
        if !self.doc_id.contains('.') {
            self.locks
                .publish(&self.doc_id, crate::access::locked_boards(&self.doc));
        }
    }

    /// Runs the room until it is evicted or shut down.
    pub(crate) async fn run(mut self, mut inbox: mpsc::Receiver<RoomMsg>, on_exit: OnExit) {
        let tick_every =
            (self.cfg.idle / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
        let mut tick = tokio::time::interval(tick_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut on_exit = Some(on_exit);
        loop {
            let flush_at = self.flush_at;
            tokio::select! {
                msg = inbox.recv() => match msg {
                    Some(RoomMsg::Shutdown { done }) => {
                        self.kick_all(CloseReason::new(1001, "server shutting down"));
                        self.finish().await;
                        if let Some(f) = on_exit.take() { f(); }
                        let _ = done.send(());
                        return;
                    }
                    Some(msg) => self.handle(msg).await,
                    None => break,
                },
                Some(done) = self.inflight.next(), if !self.inflight.is_empty() => {
                    self.on_commit(done);
                    if std::mem::take(&mut self.storage_failed) {
                        self.recover().await;
                    }
                }
                _ = sleep_until_opt(flush_at) => self.flush(),
                _ = tick.tick() => {
                    let now = Instant::now();
                    if self.presence.expire(now, self.cfg.awareness_timeout) {
                        self.schedule_flush();
                    }
                    if let Some(renewals) = self.presence.take_renewals(now, self.cfg.awareness_timeout / 6) {
                        self.broadcast(protocol::encode_awareness(&renewals));
                    }
                    if self.should_evict() {
                        // Remove ourselves first (while the hub's entry still points at us, under
                        // its shard lock) so no new join can reach a room that is going away; joins
                        // already queued are answered by dropping them, and their senders retry.
                        self.finish().await;
                        if let Some(f) = on_exit.take() { f(); }
                        self.metrics.evictions.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        tracing::debug!(doc = %self.doc_id, "evicted idle document");
                        return;
                    }
                }
            }
        }
        self.finish().await;
        if let Some(f) = on_exit.take() {
            f();
        }
    }

    fn should_evict(&self) -> bool {
        self.conns.is_empty()
            && self.open.is_none()
            && self.inflight.is_empty()
            && self
                .empty_since
                .is_some_and(|t| t.elapsed() >= self.cfg.idle)
    }

    async fn handle(&mut self, msg: RoomMsg) {
        match msg {
            RoomMsg::Join { sub, joined } => self.join(sub, joined),
            RoomMsg::Leave { conn } => self.leave(conn),
            RoomMsg::Frame { conn, msg } => self.on_frame(conn, msg).await,
            RoomMsg::Edit { job, done } => self.edit(job, done).await,
            RoomMsg::Read { job } => job(&self.doc),
            RoomMsg::Kick { which, reason } => {
                let ids: Vec<ConnId> = self.conns.keys().copied().filter(|c| which(*c)).collect();
                for id in ids {
                    self.disconnect(id, reason.clone());
                }
            }
            RoomMsg::Shutdown { .. } => {}
        }
    }

    fn join(&mut self, sub: Subscriber, joined: oneshot::Sender<()>) {
        let mut conn = Conn {
            outbox: sub.outbox,
            close: Some(sub.close),
            access: sub.access,
            denials: 0,
        };
        // Like the reference server: announce our state vector so the client sends what we lack,
        // then the presence of everyone already here.
        let sv = self.doc.transact().state_vector();
        let mut ok = conn
            .outbox
            .try_send(protocol::encode_sync_step1(&sv))
            .is_ok();
        if let Some(everyone) = self.presence.snapshot() {
            ok &= conn
                .outbox
                .try_send(protocol::encode_awareness(&everyone))
                .is_ok();
        }
        if !ok {
            if let Some(close) = conn.close.take() {
                let _ = close.send(CloseReason::new(1013, "too slow"));
            }
            return;
        }
        self.conns.insert(sub.id, conn);
        self.empty_since = None;
        let _ = joined.send(());
    }

    fn leave(&mut self, id: ConnId) {
        if self.conns.remove(&id).is_some() && self.presence.forget_conn(id, Instant::now()) {
            self.schedule_flush();
        }
        self.held.retain(|(_, c, _)| *c != id);
        if self.conns.is_empty() {
            self.empty_since = Some(Instant::now());
        }
    }

    fn disconnect(&mut self, id: ConnId, reason: CloseReason) {
        if let Some(mut conn) = self.conns.remove(&id) {
            if let Some(close) = conn.close.take() {
                let _ = close.send(reason);
            }
            if self.presence.forget_conn(id, Instant::now()) {
                self.schedule_flush();
            }
        }
        self.held.retain(|(_, c, _)| *c != id);
        if self.conns.is_empty() {
            self.empty_since = Some(Instant::now());
        }
    }

    fn kick_all(&mut self, reason: CloseReason) {
        let ids: Vec<ConnId> = self.conns.keys().copied().collect();
        for id in ids {
            self.disconnect(id, reason.clone());
        }
    }

    async fn on_frame(&mut self, conn: ConnId, msg: Message) {
        let Some(access) = self.conns.get(&conn).map(|c| c.access.clone()) else {
            return;
        };
        match msg {
            Message::SyncStep1(sv) => {
                let frame = self.sync_step2_for(&sv);
                self.send_when_durable(conn, frame);
            }
            Message::SyncStep2(update) | Message::Update(update) => {
                self.metrics
                    .updates_in
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if is_empty_update(&update) {
                    return;
                }
                if let Err(reason) = access.may_write(&self.doc_id, &self.locks) {
                    // A read-only client with a cached copy answers our sync step 1 with its
                    // whole delete set: nothing new, so nothing to refuse.
                    if !self.changes_nothing(&update) {
                        self.deny(conn, "write_denied", reason);
                    }
                    return;
                }
                let grows_past =
                    self.doc_bytes.saturating_add(update.len() as u64) > self.cfg.max_doc_bytes;
                if grows_past && access != Access::Full {
                    self.deny(
                        conn,
                        "doc_too_large",
                        "the document has reached its size limit",
                    );
                    return;
                }
                let items_before =
                    (access != Access::Full).then(|| crate::access::item_count(&self.doc));
                // What the board's phase and stage put out of a participant's reach.
                let guarded = (access == Access::UnlessLocked)
                    .then(|| self.locks.rules(&self.doc_id))
                    .flatten()
                    .map(|rules| {
                        let before = crate::board::phase::protected(&self.doc, &rules);
                        (rules, before)
                    });
                self.too_deep
                    .store(false, std::sync::atomic::Ordering::Relaxed);
                match self.apply_client_update(&update) {
                    Ok(()) => {
                        self.watch_depth();
                        if self
                            .too_deep
                            .swap(false, std::sync::atomic::Ordering::Relaxed)
                        {
                            // Undo by rebuilding from storage, which never saw this update.
                            self.deny(conn, "too_deep", "nested too deeply");
                            self.recover().await;
                            return;
                        }
                        let over = items_before.is_some_and(|before| {
                            let after = crate::access::item_count(&self.doc);
                            after > before && after > self.cfg.max_items
                        });
                        if over {
                            // Undo by rebuilding from storage, which never saw this update.
                            self.deny(conn, "too_many_items", "this board is full");
                            self.recover().await;
                            return;
                        }
                        if let Some((rules, before)) = guarded {
                            let after = crate::board::phase::protected(&self.doc, &rules);
                            if let Err(reason) =
                                crate::board::phase::verdict_for(&rules, &before, &after)
                            {
                                // Undo by rebuilding from storage, which never saw this update.
                                self.deny(conn, "phase_denied", reason);
                                self.recover().await;
                                return;
                            }
                        }
                        self.doc_bytes += update.len() as u64;
                        self.push(update, None);
                    }
                    Err(reason) => {
                        self.metrics.reject("update_rejected");
                        tracing::warn!(doc = %self.doc_id, conn, %reason, "rejected an update");
                        self.disconnect(
                            conn,
                            CloseReason::new(1007, format!("update rejected: {reason}")),
                        );
                        if reason.poisoned {
                            self.recover().await;
                        }
                    }
                }
            }
            Message::Awareness { update, .. } => {
                if !access.may_announce() {
                    // Viewers (the projector) may still be counted as present, but may not
                    // announce a state: they get nothing to relay.
                    return;
                }
                if self.presence.apply(conn, update, Instant::now()) {
                    self.schedule_flush();
                }
            }
            Message::QueryAwareness => {
                let everyone = self.presence.snapshot().unwrap_or(AwarenessUpdate {
                    clients: Default::default(),
                });
                self.send_to(conn, protocol::encode_awareness(&everyone));
            }
            Message::Auth { .. } => {}
        }
    }

    /// True when applying `update` would change nothing: every block is known and every
    /// deletion already applied.
    fn changes_nothing(&self, update: &[u8]) -> bool {
        let Ok(update) = protocol::decode_update(update) else {
            return false;
        };
        let txn = self.doc.transact();
        let mut have = yrs::IdSet::default();
        for (client, clock) in txn.state_vector().iter() {
            have.insert(yrs::ID::new(*client, 0), *clock);
        }
        let mut new_items = update.insertions(true);
        new_items.diff_with(&have);
        if !new_items.is_empty() {
            return false;
        }
        let mut new_deletions = update.delete_set().clone();
        new_deletions.diff_with(&txn.snapshot().delete_set);
        new_deletions.is_empty()
    }

    /// Refuses a write: tells the client why (y-protocols permission denied) and keeps the
    /// connection, unless it keeps trying.
    fn deny(&mut self, conn: ConnId, metric: &'static str, reason: &str) {
        self.metrics.reject(metric);
        let denials = self.conns.get_mut(&conn).map_or(0, |c| {
            c.denials += 1;
            c.denials
        });
        if denials > DENIALS_BEFORE_CLOSE {
            self.disconnect(conn, CloseReason::new(1008, reason));
        } else {
            self.send_to(conn, protocol::encode_permission_denied(reason));
        }
    }

    /// The sync-step-2 reply for a peer at `sv`; the whole-doc reply is cached until the doc changes.
    fn sync_step2_for(&mut self, sv: &StateVector) -> Bytes {
        if sv.is_empty() {
            if let Some(frame) = &self.full_state {
                return frame.clone();
            }
            let update = self.doc.transact().encode_state_as_update_v1(sv);
            let frame = protocol::encode_sync_step2(&update);
            self.full_state = Some(frame.clone());
            return frame;
        }
        let update = self.doc.transact().encode_state_as_update_v1(sv);
        protocol::encode_sync_step2(&update)
    }

    fn apply_client_update(&mut self, bytes: &[u8]) -> Result<(), ApplyFailure> {
        let update = protocol::decode_update(bytes).map_err(|e| ApplyFailure {
            message: e.to_string(),
            poisoned: false,
        })?;
        self.apply(update)
    }

    fn apply(&mut self, update: Update) -> Result<(), ApplyFailure> {
        let doc = &self.doc;
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let mut txn = doc.try_transact_mut().map_err(|e| e.to_string())?;
            txn.apply_update(update).map_err(|e| e.to_string())
        }));
        self.full_state = None;
        match outcome {
            Ok(Ok(())) => Ok(()),
            // The update may have been partly integrated before yrs gave up.
            Ok(Err(message)) => Err(ApplyFailure {
                message,
                poisoned: true,
            }),
            Err(_) => Err(ApplyFailure {
                message: "the document engine failed on it".into(),
                poisoned: true,
            }),
        }
    }

    /// Rebuilds the doc from the store after a rejected update may have left it half-changed.
    /// Everything valid applied before is committed first, so nothing is lost; connected
    /// clients never saw the bad update, so they stay in step.
    async fn recover(&mut self) {
        tracing::warn!(doc = %self.doc_id, "reloading the document from storage after a rejected update");
        self.drain_commits().await;
        match self.store.load(&self.doc_id).await {
            Ok(stored) => {
                self.doc_bytes = stored_bytes(&stored);
                self.doc = doc_from_stored(&self.doc_id, &stored);
                self.full_state = None;
                self.watched_roots.clear();
                self.watch_depth();
                self.publish_locks();
            }
            Err(e) => {
                tracing::error!(doc = %self.doc_id, error = %e, "cannot reload document; closing its connections");
                self.kick_all(CloseReason::new(
                    1011,
                    "document unavailable, reconnect later",
                ));
            }
        }
    }

    async fn edit(&mut self, job: Job, done: oneshot::Sender<Result<(), RoomError>>) {
        let captured: Arc<std::sync::Mutex<Vec<Vec<u8>>>> = Arc::default();
        let sink = captured.clone();
        let key = "palabre-edit";
        if self
            .doc
            .observe_update_v1(key, move |_, e| {
                if let Ok(mut v) = sink.lock() {
                    v.push(e.update.clone());
                }
            })
            .is_err()
        {
            let _ = done.send(Err(RoomError::Rejected("document busy".into())));
            return;
        }
        let doc = &self.doc;
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| job(doc)));
        let _ = self.doc.unobserve_update_v1(key);
        self.full_state = None;
        let updates = captured
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default();
        if outcome.is_err() {
            let _ = done.send(Err(RoomError::Rejected("edit failed".into())));
            self.recover().await;
            return;
        }
        if updates.is_empty() {
            let _ = done.send(Ok(()));
            return;
        }
        let mut done = Some(done);
        let count = updates.len();
        for (i, u) in updates.into_iter().enumerate() {
            let waiter = if i + 1 == count { done.take() } else { None };
            self.push(Bytes::from(u), waiter);
        }
    }

    /// How long to gather updates before one commit and one relayed frame. Relaying costs a
    /// frame — a send and the peer's receive, ~13 µs of kernel time here — per connection, so a
    /// crowded room waits a little longer and sends fewer, fuller frames: 2 ms alone, 8 ms for
    /// 300 phones, 20 ms (the cap) for a plenary of a thousand.
    fn window(&self) -> Duration {
        let per_conn = Duration::from_micros(20).saturating_mul(self.conns.len() as u32);
        (self.cfg.coalesce + per_conn).min(self.cfg.coalesce_max.max(self.cfg.coalesce))
    }

    /// Adds an applied update to the open batch, opening one if needed.
    fn push(&mut self, update: Bytes, waiter: Option<oneshot::Sender<Result<(), RoomError>>>) {
        self.publish_locks();
        if self.open.is_none() {
            let epoch = self.next_epoch;
            self.next_epoch += 1;
            self.open = Some(Batch {
                epoch,
                updates: Vec::new(),
                waiters: Vec::new(),
            });
            self.schedule_flush();
        }
        if let Some(batch) = self.open.as_mut() {
            batch.updates.push(update);
            batch.waiters.extend(waiter);
        }
    }

    /// Coalescing window over: relay presence changes and hand the open batch to the store.
    fn flush(&mut self) {
        self.flush_at = None;
        if let Some(changes) = self.presence.take_changes() {
            self.broadcast(protocol::encode_awareness(&changes));
        }
        if self.inflight.len() < MAX_INFLIGHT {
            self.submit();
        }
    }

    fn submit(&mut self) {
        let Some(batch) = self.open.take() else {
            return;
        };
        let merged: Vec<Bytes> = if batch.updates.len() == 1 {
            batch.updates
        } else {
            match yrs::merge_updates_v1(batch.updates.iter().map(|b| b.as_ref())) {
                Ok(m) => vec![Bytes::from(m)],
                Err(e) => {
                    tracing::warn!(doc = %self.doc_id, error = %e, "could not merge a batch; storing it entry by entry");
                    batch.updates
                }
            }
        };
        let frames: Vec<Bytes> = merged.iter().map(|u| protocol::encode_update(u)).collect();
        let relay_now = self.cfg.durability == Durability::Relaxed;
        let frames = if relay_now {
            for f in frames {
                self.broadcast(f);
            }
            Vec::new()
        } else {
            frames
        };
        // Appends are queued with the store now, in this order, even though they are awaited later.
        let appends: Vec<_> = merged
            .iter()
            .map(|u| (u.len() as u64, self.store.append(&self.doc_id, u.clone())))
            .collect();
        let (epoch, waiters) = (batch.epoch, batch.waiters);
        self.inflight.push_back(Box::pin(async move {
            let mut result = Ok(Vec::with_capacity(appends.len()));
            for (len, append) in appends {
                match append.await {
                    Ok(seq) => {
                        if let Ok(v) = result.as_mut() {
                            v.push((seq, len));
                        }
                    }
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
            CommitDone {
                epoch,
                frames,
                waiters,
                result,
            }
        }));
    }

    fn on_commit(&mut self, done: CommitDone) {
        match done.result {
            Ok(entries) => {
                for (seq, len) in entries {
                    self.last_seq = self.last_seq.max(seq);
                    self.log_entries += 1;
                    self.log_bytes += len;
                }
                self.durable_epoch = done.epoch;
                for frame in done.frames {
                    self.broadcast(frame);
                }
                for w in done.waiters {
                    let _ = w.send(Ok(()));
                }
                self.release_held();
                if self.log_entries >= self.cfg.compact_updates
                    || self.log_bytes >= self.cfg.compact_bytes
                {
                    self.compact_in_background();
                }
            }
            Err(e) => {
                // Not durable: never relay it, and never let a sync reply reveal it. Everyone is
                // disconnected and the doc is rebuilt from disk (see `run`); clients resend what
                // the server lacks when they reconnect, so the update is retried, not lost.
                tracing::error!(doc = %self.doc_id, error = %e, "commit failed");
                self.metrics.reject("storage_error");
                for w in done.waiters {
                    let _ = w.send(Err(RoomError::Store(StoreError::Database(e.to_string()))));
                }
                self.held.clear();
                self.kick_all(CloseReason::new(1011, "storage error, reconnect shortly"));
                self.storage_failed = true;
            }
        }
        if self.open.is_some() {
            let due = self
                .flush_at
                .is_none_or(|t| t <= tokio::time::Instant::now());
            if due {
                self.flush();
            }
        }
    }

    fn release_held(&mut self) {
        if self.held.is_empty() {
            return;
        }
        let durable = self.durable_epoch;
        let held = std::mem::take(&mut self.held);
        let mut keep = Vec::new();
        for (epoch, conn, frame) in held {
            if epoch <= durable {
                self.send_to(conn, frame);
            } else {
                keep.push((epoch, conn, frame));
            }
        }
        self.held.extend(keep);
    }

    /// Sends `frame` to `conn` now, or once every update it may reveal is durable.
    fn send_when_durable(&mut self, conn: ConnId, frame: Bytes) {
        let applied = self.open.as_ref().map_or(self.next_epoch - 1, |b| b.epoch);
        if self.cfg.durability == Durability::Strict && applied > self.durable_epoch {
            self.held.push((applied, conn, frame));
        } else {
            self.send_to(conn, frame);
        }
    }

    fn compact_in_background(&mut self) {
        let snapshot = self
            .doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        let upto = self.last_seq;
        self.log_entries = 0;
        self.log_bytes = 0;
        self.metrics
            .compactions
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let fut = self.store.compact(&self.doc_id, snapshot, upto);
        let doc_id = self.doc_id.clone();
        tokio::spawn(async move {
            if let Err(e) = fut.await {
                tracing::error!(doc = %doc_id, error = %e, "compaction failed; the log is kept");
            }
        });
    }

    /// Waits until every applied update is committed.
    async fn drain_commits(&mut self) {
        loop {
            if self.open.is_some() && self.inflight.len() < MAX_INFLIGHT {
                self.submit();
            }
            match self.inflight.next().await {
                Some(done) => self.on_commit(done),
                None if self.open.is_none() => return,
                None => {}
            }
        }
    }

    /// Commits what is pending and folds the log into a snapshot, before eviction or shutdown.
    async fn finish(&mut self) {
        self.flush_at = None;
        self.drain_commits().await;
        if self.log_entries > 0 {
            let snapshot = self
                .doc
                .transact()
                .encode_state_as_update_v1(&StateVector::default());
            self.metrics
                .compactions
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if let Err(e) = self
                .store
                .compact(&self.doc_id, snapshot, self.last_seq)
                .await
            {
                tracing::error!(doc = %self.doc_id, error = %e, "final compaction failed; the log is kept");
            }
            self.log_entries = 0;
            self.log_bytes = 0;
        }
    }

    fn broadcast(&mut self, frame: Bytes) {
        let mut slow = Vec::new();
        for (id, conn) in &self.conns {
            match conn.outbox.try_send(frame.clone()) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => slow.push(*id),
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            }
        }
        let n = (self.conns.len() - slow.len()) as u64;
        self.metrics
            .frames_relayed
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        self.metrics
            .bytes_out
            .fetch_add(n * frame.len() as u64, std::sync::atomic::Ordering::Relaxed);
        for id in slow {
            self.too_slow(id);
        }
    }

    fn send_to(&mut self, id: ConnId, frame: Bytes) {
        let Some(conn) = self.conns.get(&id) else {
            return;
        };
        let len = frame.len() as u64;
        match conn.outbox.try_send(frame) {
            Ok(()) => {
                self.metrics
                    .bytes_out
                    .fetch_add(len, std::sync::atomic::Ordering::Relaxed);
            }
            Err(mpsc::error::TrySendError::Full(_)) => self.too_slow(id),
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    fn too_slow(&mut self, id: ConnId) {
        self.metrics
            .slow_disconnects
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::info!(doc = %self.doc_id, conn = id, "disconnecting a client that fell behind");
        self.disconnect(id, CloseReason::new(1013, "too slow: reconnect to resync"));
    }

    fn schedule_flush(&mut self) {
        if self.flush_at.is_none() {
            self.flush_at = Some(tokio::time::Instant::now() + self.window());
        }
    }
}

struct ApplyFailure {
    message: String,
    /// The doc may have been changed before the failure and must be rebuilt.
    poisoned: bool,
}

impl std::fmt::Display for ApplyFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// An update with no structs and no deletions (what a client in step sends as sync step 2).
fn is_empty_update(update: &[u8]) -> bool {
    update == [0, 0]
}

async fn sleep_until_opt(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// A doc as loaded from the store, with what the room needs to know about its log.
pub(crate) struct LoadedDoc {
    doc: Doc,
    log_entries: u64,
    last_seq: Seq,
    bytes: u64,
}

fn stored_bytes(stored: &crate::store::StoredDoc) -> u64 {
    let snapshot = stored.snapshot.as_ref().map_or(0, |s| s.len() as u64);
    snapshot
        + stored
            .updates
            .iter()
            .map(|(_, u)| u.len() as u64)
            .sum::<u64>()
}

/// Loads a doc's stored state into a fresh `Doc` off the async executor.
pub(crate) async fn load(
    store: &Arc<dyn Store>,
    doc_id: &Arc<str>,
) -> Result<LoadedDoc, StoreError> {
    let stored = store.load(doc_id).await?;
    let doc_id = doc_id.clone();
    let log_entries = stored.updates.len() as u64;
    let last_seq = stored
        .updates
        .last()
        .map_or(stored.snapshot_seq, |(s, _)| *s);
    let bytes = stored_bytes(&stored);
    let doc = tokio::task::spawn_blocking(move || doc_from_stored(&doc_id, &stored))
        .await
        .map_err(|e| StoreError::Database(format!("loading task failed: {e}")))?;
    Ok(LoadedDoc {
        doc,
        log_entries,
        last_seq,
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrs::updates::decoder::Decode;

    #[test]
    fn empty_update_is_recognised() {
        let doc = Doc::new();
        let empty = doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        assert!(is_empty_update(&empty));
        assert!(Update::decode_v1(&empty).is_ok());
    }
}
