//! What a connection's messages do to the room: the policy's verdict on each, applying updates
//! (yrs validates them; a panic inside yrs is caught), the depth guard, sync replies, presence,
//! server-side edits and updates from other nodes. Anything that leaves the doc holding what
//! the disk must not have poisons it: the pipeline then commits what was valid and reloads.

use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use yrs::sync::awareness::AwarenessUpdate;
use yrs::{Doc, ReadTxn, StateVector, Transact, Update};

use super::pipeline::Event;
use super::{CloseReason, ConnId, Job, Room, RoomError, Waiter};
use crate::policy::{Context, Judged, Refusal, Verdict, REFUSALS_BEFORE_CLOSE};
use crate::protocol::{self, Message};

/// Bytes queued and unread towards a connection past which its sync step 1s wait for it to read.
const DEFER_SYNC_AT: usize = 256 * 1024;

/// Deepest nesting of types a change may land at (the board schema needs 3).
const MAX_DEPTH: usize = 64;
const DEPTH_WATCH: &str = "palabre-depth-watch";

/// yrs recurses over nested types when it deletes or encodes them, so a hostile chain of maps a
/// few hundred thousand deep could overflow a thread's stack. Every root type gets a deep
/// observer that flags a change landing deeper than `MAX_DEPTH`; a new subtree is seen when the
/// next change attaches to it, so a chain can never grow past one message's worth.
#[derive(Default)]
pub(super) struct DepthGuard {
    too_deep: Arc<AtomicBool>,
    watched: HashSet<Arc<str>>,
}

impl DepthGuard {
    /// Watches every root type of `doc` not watched yet.
    pub(super) fn watch(&mut self, doc: &Doc) {
        let roots: Vec<(Arc<str>, yrs::Out)> = {
            let txn = doc.transact();
            txn.root_refs()
                .filter(|(name, _)| !self.watched.contains(*name))
                .map(|(name, out)| (Arc::from(name), out))
                .collect()
        };
        for (name, out) in roots {
            let flag = self.too_deep.clone();
            let watch = move |_: &yrs::TransactionMut, events: &yrs::types::Events| {
                if events.iter().any(|e| e.path().len() > MAX_DEPTH) {
                    flag.store(true, Relaxed);
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
            self.watched.insert(name);
        }
    }

    fn reset(&self) {
        self.too_deep.store(false, Relaxed);
    }

    /// Whether a change landed too deep since the last reset (and resets).
    fn tripped(&self) -> bool {
        self.too_deep.swap(false, Relaxed)
    }
}

/// Why an update could not be applied.
pub(super) struct ApplyFailure {
    message: String,
    /// The doc may have been changed before the failure and must be rebuilt.
    poisoned: bool,
}

impl std::fmt::Display for ApplyFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// An update with no structs and no deletions (what a client in step sends as sync step 2).
fn is_empty_update(update: &[u8]) -> bool {
    update == [0, 0]
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
        self.depth.reset();
        match self.apply_bytes(&update) {
            Ok(()) => {
                self.depth.watch(&self.doc);
                let refusal = if self.depth.tripped() {
                    Some(Refusal::new("too_deep", "nested too deeply"))
                } else {
                    check.and_then(|check| check(&self.doc).err())
                };
                if let Some(refusal) = refusal {
                    // Undone by rebuilding from storage, which never saw this update.
                    self.deny(conn, refusal);
                    self.step(Event::Poisoned).await;
                    return;
                }
                #[cfg(feature = "test-hooks")]
                crate::testing::maybe_panic(self.doc_id.as_str());
                let len = update.len() as u64;
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.state.bytes_accepted += len;
                }
                self.accepted(update, None).await;
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
    async fn accepted(&mut self, update: Bytes, waiter: Option<Waiter>) {
        self.doc_bytes += update.len() as u64;
        self.policy.changed(&self.doc);
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
                self.depth.watch(&self.doc);
                self.depth.reset();
                self.doc_bytes += update.len() as u64;
                self.policy.changed(&self.doc);
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

    /// The sync-step-2 reply for a peer at `sv`, encoded once per doc state and vector.
    fn sync_step2_for(&mut self, sv: &StateVector) -> Bytes {
        self.replies.reply(&self.doc, sv)
    }

    fn apply_bytes(&mut self, bytes: &[u8]) -> Result<(), ApplyFailure> {
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
        self.replies.clear();
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
        self.depth.watch(&self.doc);
        let mut done = Some(done);
        let count = updates.len();
        for (i, u) in updates.into_iter().enumerate() {
            let waiter = if i + 1 == count { done.take() } else { None };
            self.accepted(Bytes::from(u), waiter).await;
        }
    }
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
