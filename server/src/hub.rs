//! Doc id -> live room: loads a room on first join (concurrent joins share one load), gives it
//! the write policy of its kind of doc and the fan-out, forgets it when the room evicts itself,
//! and routes server-side reads, edits and updates published by other nodes.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use dashmap::DashMap;
use futures_util::FutureExt;
use tokio::sync::{mpsc, oneshot};

use crate::doc_id::{DocId, DocKind};
use crate::metrics::Metrics;
use crate::policy::{Locks, Peer, Policies};
use crate::room::{self, FanOut, Room, RoomConfig, RoomError, RoomMsg, RoomParts, Subscriber};
use crate::store::Store;

mod jobs;
mod membership;

pub use membership::{Membership, RoomSender};

/// Messages a room's inbox holds before senders wait (back-pressure on reading sockets).
const ROOM_INBOX: usize = 1024;
/// A join that finds its room closing retries this many times before giving up.
const JOIN_ATTEMPTS: usize = 5;

#[derive(Clone)]
struct Entry {
    id: u64,
    kind: DocKind,
    tx: mpsc::Sender<RoomMsg>,
}

struct Inner {
    rooms: DashMap<DocId, Entry>,
    store: Arc<dyn Store>,
    cfg: Arc<RoomConfig>,
    metrics: Arc<Metrics>,
    policies: Policies,
    fanout: Arc<dyn FanOut>,
    next_room: AtomicU64,
}

/// The set of live rooms. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
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
    Unavailable(DocId),
    /// The document is open as another kind (an open doc named like a workshop's).
    #[error("document {0} is open as another kind of document")]
    KindMismatch(DocId),
    /// The room refused or failed the operation.
    #[error(transparent)]
    Room(#[from] RoomError),
}

impl Hub {
    /// A hub over `store`: rooms get their policy from `policies` and fan out through `fanout`.
    pub fn new(
        store: Arc<dyn Store>,
        cfg: RoomConfig,
        metrics: Arc<Metrics>,
        policies: Policies,
        fanout: Arc<dyn FanOut>,
    ) -> Self {
        Hub {
            inner: Arc::new(Inner {
                rooms: DashMap::new(),
                store,
                cfg: Arc::new(cfg),
                metrics,
                policies,
                fanout,
                next_room: AtomicU64::new(1),
            }),
        }
    }

    /// Board locks as published by the workshop docs' policies.
    pub fn locks(&self) -> &Locks {
        self.inner.policies.locks()
    }

    /// Notes held per board, as the held docs' policies publish them (counts, never texts).
    pub fn held_counts(&self) -> &crate::policy::HeldCounts {
        self.inner.policies.held()
    }

    /// Stored bytes per workshop, as the policies count them against the quota.
    pub fn usage(&self) -> &crate::policy::Usage {
        self.inner.policies.usage()
    }

    /// Number of rooms in memory.
    pub fn rooms(&self) -> usize {
        self.inner.rooms.len()
    }

    /// The room of `doc_id`, started as a `kind` doc if it is not loaded.
    fn entry(&self, doc_id: &DocId, kind: DocKind) -> Result<Entry, HubError> {
        let live = self
            .inner
            .rooms
            .get(doc_id)
            .map(|e| e.clone())
            .filter(|e| !e.tx.is_closed());
        let entry = match live {
            Some(e) => e,
            None => {
                // A room whose inbox is closed is gone (evicted, or its task panicked and is
                // still unwinding): replace it rather than retrying against it.
                self.inner.rooms.remove_if(doc_id, |_, e| e.tx.is_closed());
                self.inner
                    .rooms
                    .entry(doc_id.clone())
                    .or_insert_with(|| self.spawn(doc_id.clone(), kind))
                    .clone()
            }
        };
        if entry.kind != kind {
            tracing::warn!(doc = %doc_id, "a document is asked for as another kind than it is open as");
            return Err(HubError::KindMismatch(doc_id.clone()));
        }
        Ok(entry)
    }

    fn spawn(&self, doc_id: DocId, kind: DocKind) -> Entry {
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
                    let parts = RoomParts {
                        cfg: inner.cfg.clone(),
                        store: inner.store.clone(),
                        metrics: inner.metrics.clone(),
                        policy: inner.policies.for_doc(&doc_id, kind),
                        fanout: inner.fanout.clone(),
                    };
                    let room = Room::new(doc_id.clone(), parts, loaded);
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
        Entry { id, kind, tx }
    }

    /// Registers a connection with the room of `doc_id` (a `kind` doc), loading it if needed.
    pub async fn join(
        &self,
        doc_id: &DocId,
        kind: DocKind,
        peer: Peer,
        queue_bytes: usize,
    ) -> Result<Membership, HubError> {
        let conn = peer.conn;
        for _ in 0..JOIN_ATTEMPTS {
            let entry = self.entry(doc_id, kind)?;
            let (out_tx, outbox) = crate::outbox::channel(queue_bytes);
            let (close_tx, close) = oneshot::channel();
            let (joined_tx, joined) = oneshot::channel();
            let sub = Subscriber {
                id: conn,
                outbox: out_tx,
                close: close_tx,
                peer: peer.clone(),
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
        Err(HubError::Unavailable(doc_id.clone()))
    }

    /// Whether `doc_id` is in memory (joining it needs no read from the store).
    pub fn is_loaded(&self, doc_id: &DocId) -> bool {
        self.inner
            .rooms
            .get(doc_id)
            .is_some_and(|e| !e.tx.is_closed())
    }

    /// Ids of the documents currently loaded.
    pub fn loaded(&self) -> Vec<DocId> {
        self.inner.rooms.iter().map(|e| e.key().clone()).collect()
    }

    /// Closes the rooms of workshop `wid` (connections closed, commits and compaction done) and
    /// waits for them, before the workshop is deleted from the store.
    pub async fn close_workshop(&self, wid: &str) {
        let entries: Vec<Entry> = self
            .inner
            .rooms
            .iter()
            .filter(|e| e.key().workshop() == wid)
            .map(|e| e.value().clone())
            .collect();
        for e in entries {
            let (done, wait) = oneshot::channel();
            if e.tx.send(RoomMsg::Shutdown { done }).await.is_ok() {
                let _ = wait.await;
            }
        }
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

#[cfg(test)]
mod tests;
