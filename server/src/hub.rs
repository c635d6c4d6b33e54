//! Doc id -> live room: loads a room on first join (concurrent joins share one load),
//! forgets it when the room evicts itself, and routes server-side reads and edits.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use dashmap::DashMap;
use futures_util::FutureExt;
use tokio::sync::{mpsc, oneshot};
use yrs::Doc;

use crate::access::{Access, Locks};
use crate::metrics::Metrics;
use crate::protocol::Message;
use crate::room::{self, CloseReason, ConnId, Room, RoomConfig, RoomError, RoomMsg, Subscriber};
use crate::store::Store;

/// Messages a room's inbox holds before senders wait (back-pressure on reading sockets).
const ROOM_INBOX: usize = 1024;
/// A join that finds its room closing retries this many times before giving up.
const JOIN_ATTEMPTS: usize = 5;

#[derive(Clone)]
struct Entry {
    id: u64,
    tx: mpsc::Sender<RoomMsg>,
}

struct Inner {
    rooms: DashMap<Arc<str>, Entry>,
    store: Arc<dyn Store>,
    cfg: Arc<RoomConfig>,
    metrics: Arc<Metrics>,
    locks: Arc<Locks>,
    next_room: AtomicU64,
}

/// The set of live rooms. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

/// A connection's way into its room.
#[derive(Debug)]
pub struct Membership {
    conn: ConnId,
    tx: mpsc::Sender<RoomMsg>,
    /// Frames the room sends to this connection (bounded in bytes).
    pub outbox: crate::outbox::OutboxReceiver,
    /// Fires when the room wants this connection closed.
    pub close: oneshot::Receiver<CloseReason>,
}

impl Membership {
    /// A handle that sends this connection's messages to the room, so that reading and writing
    /// can run side by side.
    pub fn sender(&self) -> RoomSender {
        RoomSender {
            conn: self.conn,
            tx: self.tx.clone(),
        }
    }

    /// Hands a decoded message to the room; waits if the room is busy (back-pressure).
    /// Returns false when the room is gone.
    pub async fn send(&self, msg: Message) -> bool {
        self.tx
            .send(RoomMsg::Frame {
                conn: self.conn,
                msg,
            })
            .await
            .is_ok()
    }
}

/// Sends one connection's decoded messages to its room (see [`Membership::sender`]).
#[derive(Debug, Clone)]
pub struct RoomSender {
    conn: ConnId,
    tx: mpsc::Sender<RoomMsg>,
}

impl RoomSender {
    /// Hands a decoded message to the room; waits if the room is busy (back-pressure).
    /// Returns false when the room is gone.
    pub async fn send(&self, msg: Message) -> bool {
        self.tx
            .send(RoomMsg::Frame {
                conn: self.conn,
                msg,
            })
            .await
            .is_ok()
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        // Leave must reach the room even when its inbox is full; try first, then queue it.
        if let Err(mpsc::error::TrySendError::Full(msg)) =
            self.tx.try_send(RoomMsg::Leave { conn: self.conn })
        {
            let tx = self.tx.clone();
            tokio::spawn(async move {
                let _ = tx.send(msg).await;
            });
        }
    }
}

/// Runs the hub's "forget this room" callback at most once, from whichever path gets there first.
fn take_and_run(slot: &std::sync::Mutex<Option<impl FnOnce()>>) {
    let f = slot
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .take();
    if let Some(f) = f {
        f();
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

/// Errors of hub operations.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// The document could not be loaded or kept open.
    #[error("document {0} is unavailable right now")]
    Unavailable(String),
    /// The room refused or failed the operation.
    #[error(transparent)]
    Room(#[from] RoomError),
}

impl Hub {
    /// A hub over `store`.
    pub fn new(store: Arc<dyn Store>, cfg: RoomConfig, metrics: Arc<Metrics>) -> Self {
        Hub {
            inner: Arc::new(Inner {
                rooms: DashMap::new(),
                store,
                cfg: Arc::new(cfg),
                metrics,
                locks: Arc::new(Locks::default()),
                next_room: AtomicU64::new(1),
            }),
        }
    }

    /// Board locks as published by the workshop rooms.
    pub fn locks(&self) -> &Locks {
        &self.inner.locks
    }

    /// Number of rooms in memory.
    pub fn rooms(&self) -> usize {
        self.inner.rooms.len()
    }

    fn entry(&self, doc_id: &str) -> Entry {
        if let Some(e) = self.inner.rooms.get(doc_id) {
            if !e.tx.is_closed() {
                return e.clone();
            }
        }
        // A room whose inbox is closed is gone (evicted, or its task panicked and is still
        // unwinding): replace it rather than retrying against it.
        self.inner.rooms.remove_if(doc_id, |_, e| e.tx.is_closed());
        let key: Arc<str> = Arc::from(doc_id);
        self.inner
            .rooms
            .entry(key.clone())
            .or_insert_with(|| self.spawn(key))
            .clone()
    }

    fn spawn(&self, doc_id: Arc<str>) -> Entry {
        let (tx, rx) = mpsc::channel(ROOM_INBOX);
        let id = self.inner.next_room.fetch_add(1, Relaxed);
        let inner = self.inner.clone();
        tokio::spawn(async move {
            let forget = {
                let inner = inner.clone();
                let doc_id = doc_id.clone();
                move || {
                    inner.rooms.remove_if(&doc_id, |_, e| e.id == id);
                }
            };
            match room::load(&inner.store, &doc_id).await {
                Ok(loaded) => {
                    inner.metrics.rooms_loaded.fetch_add(1, Relaxed);
                    let room = Room::new(
                        doc_id.clone(),
                        inner.cfg.clone(),
                        inner.store.clone(),
                        inner.metrics.clone(),
                        inner.locks.clone(),
                        loaded,
                    );
                    // The room's panic boundary: every yrs call that sees client data runs on
                    // this task. A panic drops the room (its connections see their queues close
                    // and reconnect); the next join loads what the store holds.
                    let forget = Arc::new(std::sync::Mutex::new(Some(forget)));
                    let on_exit = {
                        let forget = forget.clone();
                        move || take_and_run(&forget)
                    };
                    let run = std::panic::AssertUnwindSafe(room.run(rx, Box::new(on_exit)));
                    if let Err(panic) = run.catch_unwind().await {
                        let what = panic_message(panic.as_ref());
                        tracing::error!(doc = %doc_id, panic = %what, "room panicked; dropped, the next join reloads it from storage");
                        inner.metrics.room_panics.fetch_add(1, Relaxed);
                        take_and_run(&forget);
                    }
                    inner.metrics.rooms_loaded.fetch_sub(1, Relaxed);
                }
                Err(e) => {
                    tracing::error!(doc = %doc_id, error = %e, "cannot load document");
                    forget();
                    drop(rx);
                }
            }
        });
        Entry { id, tx }
    }

    /// Registers a connection with the room of `doc_id`, loading it if needed.
    pub async fn join(
        &self,
        doc_id: &str,
        conn: ConnId,
        access: Access,
        queue_bytes: usize,
    ) -> Result<Membership, HubError> {
        for _ in 0..JOIN_ATTEMPTS {
            let entry = self.entry(doc_id);
            let (out_tx, outbox) = crate::outbox::channel(queue_bytes);
            let (close_tx, close) = oneshot::channel();
            let (joined_tx, joined) = oneshot::channel();
            let sub = Subscriber {
                id: conn,
                outbox: out_tx,
                close: close_tx,
                access: access.clone(),
            };
            if entry
                .tx
                .send(RoomMsg::Join {
                    sub,
                    joined: joined_tx,
                })
                .await
                .is_err()
            {
                continue;
            }
            if joined.await.is_ok() {
                return Ok(Membership {
                    conn,
                    tx: entry.tx,
                    outbox,
                    close,
                });
            }
        }
        Err(HubError::Unavailable(doc_id.to_string()))
    }

    /// Runs `f` on the current state of `doc_id` (loading it if needed) and returns its result.
    /// `f` is cloned to be retried if the room was closing when asked.
    pub async fn read<T, F>(&self, doc_id: &str, f: F) -> Result<T, HubError>
    where
        T: Send + 'static,
        F: FnOnce(&Doc) -> T + Clone + Send + 'static,
    {
        for _ in 0..JOIN_ATTEMPTS {
            let entry = self.entry(doc_id);
            let (tx, rx) = oneshot::channel();
            let f = f.clone();
            let job = Box::new(move |doc: &Doc| {
                let _ = tx.send(f(doc));
            });
            if entry.tx.send(RoomMsg::Read { job }).await.is_err() {
                continue;
            }
            if let Ok(v) = rx.await {
                return Ok(v);
            }
        }
        Err(HubError::Unavailable(doc_id.to_string()))
    }

    /// Runs `f` as a server-side change of `doc_id`; resolves once the change is durable
    /// (and relayed to every connection of the doc). `f` is cloned to be retried if the room
    /// was closing when asked; it runs exactly once on a live document.
    pub async fn edit<T, F>(&self, doc_id: &str, f: F) -> Result<T, HubError>
    where
        T: Send + 'static,
        F: FnOnce(&Doc) -> T + Clone + Send + 'static,
    {
        for _ in 0..JOIN_ATTEMPTS {
            let entry = self.entry(doc_id);
            let (tx, rx) = oneshot::channel();
            let (done_tx, done_rx) = oneshot::channel();
            let f = f.clone();
            let job = Box::new(move |doc: &Doc| {
                let _ = tx.send(f(doc));
            });
            if entry
                .tx
                .send(RoomMsg::Edit { job, done: done_tx })
                .await
                .is_err()
            {
                continue;
            }
            let Ok(value) = rx.await else { continue };
            done_rx
                .await
                .map_err(|_| HubError::Unavailable(doc_id.to_string()))??;
            return Ok(value);
        }
        Err(HubError::Unavailable(doc_id.to_string()))
    }

    /// Closes every connection of `doc_id` for which `which` is true.
    pub async fn kick(
        &self,
        doc_id: &str,
        which: Box<dyn Fn(ConnId) -> bool + Send>,
        reason: CloseReason,
    ) {
        let entry = self.inner.rooms.get(doc_id).map(|e| e.clone());
        if let Some(entry) = entry {
            let _ = entry.tx.send(RoomMsg::Kick { which, reason }).await;
        }
    }

    /// Ids of the documents currently loaded.
    pub fn loaded(&self) -> Vec<Arc<str>> {
        self.inner.rooms.iter().map(|e| e.key().clone()).collect()
    }

    /// Asks every room to close its connections, commit and compact; waits for all of them.
    pub async fn shutdown(&self) {
        let entries: Vec<Entry> = self.inner.rooms.iter().map(|e| e.value().clone()).collect();
        let mut waits = Vec::with_capacity(entries.len());
        for e in entries {
            let (done, wait) = oneshot::channel();
            if e.tx.send(RoomMsg::Shutdown { done }).await.is_ok() {
                waits.push(wait);
            }
        }
        for w in waits {
            let _ = w.await;
        }
    }
}
