//! What a connection's messages do to the room: the policy's verdict on each, what follows an
//! applied (or failed) update, sync replies, presence, server-side edits and updates from other
//! nodes; applying the bytes is `apply`'s. Anything that leaves the doc
//! holding what the disk must not have poisons it: the pipeline then commits what was valid and
//! reloads.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use yrs::sync::awareness::AwarenessUpdate;
use yrs::{Doc, ReadTxn, StateVector, Transact};

use super::apply::is_empty_update;
use super::pipeline::Event;
use super::{CloseReason, ConnId, Job, Room, RoomError, Waiter};
use crate::policy::{
    Context, Judged, Refusal, Verdict, REFUSALS_BEFORE_CLOSE, UNDONE_PER_WINDOW, UNDONE_WINDOW,
};
use crate::protocol::{self, Message};
use crate::touched::Touched;

/// Bytes queued and unread towards a connection past which its sync step 1s wait for it to read.
const DEFER_SYNC_AT: usize = 256 * 1024;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Room {
    /// The policy's verdict on a message from `conn`; `None` when the connection is gone.
    fn judge(&mut self, conn: ConnId, msg: Judged<'_>) -> Option<Verdict> {
        let c = self.conns.get_mut(&conn)?;
        Some(self.policy.judge(
            Context {
                peer: &c.peer,
                state: &mut c.state,
                doc: &self.doc,
                doc_bytes: self.doc_bytes,
            },
            msg,
        ))
    }

    /// Applies a verdict that stops a message: tell, ignore or close.
    fn refused(&mut self, conn: ConnId, verdict: Verdict) {
        match verdict {
            Verdict::Refuse(refusal) => self.deny(conn, refusal),
            Verdict::Close(reason) => self.disconnect(conn, reason),
            Verdict::Ignore | Verdict::Accept | Verdict::AcceptThenCheck(_) => {}
        }
    }

    pub(super) async fn on_frame(&mut self, conn: ConnId, msg: Message) {
        match msg {
            Message::SyncStep1(sv) => match self.judge(conn, Judged::SyncRequest) {
                Some(Verdict::Accept | Verdict::AcceptThenCheck(_)) => {
                    let Some(c) = self.conns.get_mut(&conn) else {
                        return;
                    };
                    c.state.sync_requests += 1;
                    if c.outbox.queued() >= DEFER_SYNC_AT {
                        // Not reading what it was sent: encoding more for it is wasted work
                        // (and a viewer link could make the room do nothing else).
                        c.deferred_sync = Some(sv);
                        self.metrics.reject("sync_deferred");
                        return;
                    }
                    let frame = self.sync_step2_for(&sv);
                    self.step(Event::Reply { conn, frame }).await;
                }
                Some(other) => self.refused(conn, other),
                None => {}
            },
            Message::SyncStep2(update) | Message::Update(update) => {
                self.on_update(conn, update).await;
            }
            Message::Awareness { update, raw } => {
                match self.judge(conn, Judged::Awareness { len: raw.len() }) {
                    Some(Verdict::Accept | Verdict::AcceptThenCheck(_)) => {
                        let rights = self
                            .conns
                            .get(&conn)
                            .map(|c| crate::policy::presence_rights(&c.peer))
                            .unwrap_or_default();
                        let changed = self.presence.apply(conn, &rights, update, Instant::now());
                        for reason in self.presence.take_drops() {
                            self.metrics.reject(reason);
                        }
                        if changed {
                            self.schedule_flush();
                        }
                    }
                    Some(other) => self.refused(conn, other),
                    None => {}
                }
            }
            Message::QueryAwareness => {
                let mut everyone = self.presence.snapshot().unwrap_or(AwarenessUpdate {
                    clients: Default::default(),
                });
                if let Some(elsewhere) = self.remote_presence.snapshot() {
                    for (client, entry) in elsewhere.clients {
                        let newer = everyone
                            .clients
                            .get(&client)
                            .is_none_or(|e| e.clock < entry.clock);
                        if newer {
                            everyone.clients.insert(client, entry);
                        }
                    }
                }
                self.send_to(conn, protocol::encode_awareness(&everyone));
            }
            Message::Auth { .. } => {}
        }
    }

    async fn on_update(&mut self, conn: ConnId, update: Bytes) {
        self.metrics.updates_in.fetch_add(1, Relaxed);
        if is_empty_update(&update) {
            return;
        }
        if self.storage_down {
            if !self.changes_nothing(&update) {
                self.refuse_while_storage_down(conn);
            }
            return;
        }
        let check = match self.judge(conn, Judged::Update { bytes: &update }) {
            None => return,
            Some(Verdict::Accept) => None,
            Some(Verdict::AcceptThenCheck(check)) => Some(check),
            Some(Verdict::Refuse(_)) if self.changes_nothing(&update) => {
                // A read-only client with a cached copy answers our sync step 1 with its
                // whole delete set: nothing new, so nothing to refuse.
                return;
            }
            Some(other) => {
                self.refused(conn, other);
                return;
            }
        };
        self.watch.reset_depth();
        match self.apply_bytes(&update) {
            Ok(()) => {
                self.watch.watch(&self.doc);
                let touched = self.watch.take();
                let refusal = if self.watch.tripped() {
                    Some(Refusal::new("too_deep", "nested too deeply"))
                } else {
                    check.and_then(|check| check(&self.doc, &touched).err())
                };
                if let Some(refusal) = refusal {
                    // Undone by rebuilding from storage, which never saw this update.
                    self.deny_undone(conn, refusal);
                    self.step(Event::Poisoned).await;
                    return;
                }
                #[cfg(feature = "test-hooks")]
                crate::testing::maybe_panic(self.doc_id.as_str());
                let len = update.len() as u64;
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.state.bytes_accepted += len;
                }
                self.accepted(update, None, &touched).await;
                if let Some(follow_up) = self.policy.follow_up() {
                    let now = now_ms();
                    let (done, _) = tokio::sync::oneshot::channel();
                    self.edit(Box::new(move |doc: &Doc| follow_up(doc, now)), done)
                        .await;
                }
            }
            Err(reason) => {
                self.metrics.reject("update_rejected");
                tracing::warn!(doc = %self.doc_id, conn, %reason, "rejected an update");
                self.disconnect(
                    conn,
                    CloseReason::new(1007, format!("update rejected: {reason}")),
                );
                if reason.poisoned {
                    self.step(Event::Poisoned).await;
                }
            }
        }
    }

    /// An applied update joins the pipeline.
    async fn accepted(&mut self, update: Bytes, waiter: Option<Waiter>, touched: &Touched) {
        self.doc_bytes += update.len() as u64;
        self.policy.changed(&self.doc, touched);
        self.step(Event::Applied { update, waiter }).await;
    }

    /// A durable update another node published: applied and relayed to the connections here,
    /// neither stored again nor held (it is durable where it was committed).
    pub(super) async fn apply_remote(&mut self, update: Bytes) {
        if is_empty_update(&update) {
            return;
        }
        match self.apply_bytes(&update) {
            Ok(()) => {
                self.watch.watch(&self.doc);
                self.watch.reset_depth();
                let touched = self.watch.take();
                self.doc_bytes += update.len() as u64;
                self.policy.changed(&self.doc, &touched);
                self.broadcast(protocol::encode_update(&update));
            }
            Err(reason) => {
                tracing::warn!(doc = %self.doc_id, %reason, "a remote update does not apply");
                if reason.poisoned {
                    self.step(Event::Poisoned).await;
                }
            }
        }
    }

    /// Answers the deferred sync step 1s of connections whose queues have drained.
    pub(super) async fn answer_deferred_syncs(&mut self) {
        let ready: Vec<(ConnId, StateVector)> = self
            .conns
            .iter_mut()
            .filter(|(_, c)| c.deferred_sync.is_some() && c.outbox.queued() < DEFER_SYNC_AT)
            .filter_map(|(id, c)| c.deferred_sync.take().map(|sv| (*id, sv)))
            .collect();
        for (conn, sv) in ready {
            let frame = self.sync_step2_for(&sv);
            self.step(Event::Reply { conn, frame }).await;
        }
    }

    /// The store cannot take writes: say so, without counting it against the connection (the
    /// client did nothing wrong, and closing it would only make it reconnect and retry).
    fn refuse_while_storage_down(&mut self, conn: ConnId) {
        self.metrics.reject("storage_down");
        let reason = self
            .metrics
            .health
            .fault()
            .unwrap_or_else(|| "storage unavailable".to_string());
        let text =
            format!("{reason}; your changes stay on your device and are sent when it recovers");
        self.send_to(conn, protocol::encode_permission_denied(&text));
    }

    /// The storage fault came or went. On recovery every connection is sent our state vector
    /// (sync step 1), and answers with whatever it holds that we lack: the changes refused
    /// meanwhile arrive without anyone reconnecting.
    pub(super) fn on_health(&mut self) {
        let down = self.health.borrow_and_update().is_some();
        let recovered = self.storage_down && !down;
        self.storage_down = down;
        if recovered {
            let sv = self.doc.transact().state_vector();
            self.broadcast(protocol::encode_sync_step1(&sv));
        }
    }

    /// Refuses a write: tells the client why (y-protocols permission denied) and keeps the
    /// connection, unless it keeps trying.
    fn deny(&mut self, conn: ConnId, refusal: Refusal) {
        self.metrics.reject(refusal.metric);
        let refusals = self.conns.get_mut(&conn).map_or(0, |c| {
            c.state.refusals += 1;
            c.state.refusals
        });
        if refusals > REFUSALS_BEFORE_CLOSE {
            self.disconnect(conn, CloseReason::new(1008, refusal.reason.into_owned()));
        } else {
            self.send_to(conn, protocol::encode_permission_denied(&refusal.reason));
        }
    }

    /// Refuses a write that was applied and is undone by rebuilding the doc: like [`Self::deny`],
    /// but a connection gets only [`UNDONE_PER_WINDOW`] of these a minute before it is closed.
    fn deny_undone(&mut self, conn: ConnId, refusal: Refusal) {
        let now = Instant::now();
        let over = self.conns.get_mut(&conn).is_some_and(|c| {
            let s = &mut c.state;
            if s.undone_since
                .is_none_or(|t| now.duration_since(t) >= UNDONE_WINDOW)
            {
                s.undone_since = Some(now);
                s.undone = 0;
            }
            s.undone += 1;
            s.undone > UNDONE_PER_WINDOW
        });
        if over {
            self.metrics.reject(refusal.metric);
            self.metrics.reject("undone_flood");
            let reason = format!("{} (too many refused changes)", refusal.reason);
            self.disconnect(conn, CloseReason::new(1008, reason));
        } else {
            self.deny(conn, refusal);
        }
    }

    /// The sync-step-2 reply for a peer at `sv`, encoded once per doc state and vector.
    fn sync_step2_for(&mut self, sv: &StateVector) -> Bytes {
        self.replies.reply(&self.doc, sv)
    }

    /// A server-side change (REST): runs `job` on the doc, and the updates it produced join the
    /// pipeline; `done` fires once they are durable.
    pub(super) async fn edit(&mut self, job: Job, done: Waiter) {
        if let Some(reason) = self
            .storage_down
            .then(|| self.metrics.health.fault())
            .flatten()
        {
            let _ = done.send(Err(RoomError::Store(crate::store::StoreError::Database(
                reason,
            ))));
            return;
        }
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
        self.replies.clear();
        let updates = captured
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default();
        if outcome.is_err() {
            let _ = done.send(Err(RoomError::Rejected("edit failed".into())));
            self.step(Event::Poisoned).await;
            return;
        }
        if updates.is_empty() {
            let _ = done.send(Ok(()));
            return;
        }
        self.watch.watch(&self.doc);
        let mut touched = self.watch.take();
        let mut done = Some(done);
        let count = updates.len();
        for (i, u) in updates.into_iter().enumerate() {
            let waiter = if i + 1 == count { done.take() } else { None };
            // The policy learns what the whole edit touched with its first update.
            let touched = std::mem::take(&mut touched);
            self.accepted(Bytes::from(u), waiter, &touched).await;
        }
    }
}
