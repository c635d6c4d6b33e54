//! One live document: its yrs `Doc`, presence (awareness) and subscribers, as an actor.
//!
//! One task owns the `Doc`, so no lock is ever taken on it and `transact_mut` never contends.
//! Connections talk to it through a bounded inbox and it reaches them through their bounded
//! outboxes ([`Subscriber`]); it never sees a socket. It applies its [`WritePolicy`]'s verdicts
//! without knowing roles, schema or doc-id conventions.
//!
//! The parts, one job each:
//! - this file: the actor loop and carrying out the pipeline's actions;
//! - `api`: its messages, config, parts and errors, the types the hub and every part share;
//! - [`pipeline`]: the commit pipeline as a plain state machine (batches, window, in-flight
//!   commits in order, held replies, failure and recovery decisions), unit-tested without IO;
//! - `writes`: what a connection's messages do (policy verdicts, sync replies, presence, edits);
//! - `apply`: applying an update to the doc (panics caught); the doc's [`crate::touched::Watch`]
//!   flags changes nested too deeply and says what each change touched, for the policy;
//! - `members`: membership and fan-out to local connections;
//! - `load`: loading, rebuilding and compaction, each heavy step off the async threads;
//! - [`FanOut`]: the seam to other nodes (publish durable updates, apply theirs).

mod api;
mod apply;
mod fanout;
mod load;
mod members;
mod pipeline;
mod remote_presence;
mod writes;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{mpsc, oneshot};
use yrs::Doc;

use api::{Job, Waiter};
pub(crate) use api::{OnExit, RoomMsg, RoomParts};
pub use api::{RoomConfig, RoomError, Subscriber};
pub use fanout::{FanOut, LocalOnly};
pub(crate) use load::{doc_from_stored, load, LoadedDoc};

pub use crate::conn::{CloseReason, ConnId};
use crate::doc_id::DocId;
use crate::metrics::Metrics;
use crate::policy::{Peer, PeerState, WritePolicy};
use crate::presence::Presence;
use crate::protocol;
use crate::store::{Seq, Store, StoreError};
use pipeline::{Action, CompactAt, Event, Pipeline};

struct Conn {
    outbox: crate::outbox::OutboxSender,
    close: Option<oneshot::Sender<CloseReason>>,
    peer: Peer,
    /// Kept for the policy: refusals, budgets.
    state: PeerState,
    /// A sync step 1 that arrived while this connection had not read its previous frames: it
    /// is answered (once, for the latest vector) when its queue has drained.
    deferred_sync: Option<yrs::StateVector>,
}

type CommitResult = (u64, Result<Vec<(Seq, u64)>, String>);

pub(crate) struct Room {
    doc_id: DocId,
    doc: Doc,
    cfg: Arc<RoomConfig>,
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
    policy: Arc<dyn WritePolicy>,
    fanout: Arc<dyn FanOut>,
    /// Approximate encoded size of the doc: what was loaded plus every update since.
    doc_bytes: u64,
    conns: HashMap<ConnId, Conn>,
    presence: Presence,
    /// Other nodes' presence (cluster mode).
    remote_presence: remote_presence::RemotePresence,
    pipeline: Pipeline<Waiter>,
    /// The store's answers to the pipeline's appends (the pipeline puts them in order).
    commits: FuturesUnordered<BoxFuture<'static, CommitResult>>,
    flush_at: Option<tokio::time::Instant>,
    /// Sync-step-2 replies of the current state, encoded once per state vector per change.
    replies: crate::replies::ReplyCache,
    /// The store cannot take writes (see [`crate::health`]): updates are refused, reads go on.
    storage_down: bool,
    /// Follows the storage fault, so a recovery re-asks every client for what it holds.
    health: tokio::sync::watch::Receiver<Option<String>>,
    empty_since: Option<Instant>,
    watch: crate::touched::Watch,
    /// Set when a reload from the store failed: the doc in memory may hold updates that never
    /// became durable and cannot be rebuilt now, so the room stops (without compacting) and the
    /// next join loads the doc again once the store answers.
    unloadable: bool,
}

fn merge(updates: Vec<Bytes>) -> Vec<Bytes> {
    match yrs::merge_updates_v1(updates.iter().map(|b| b.as_ref())) {
        Ok(m) => vec![Bytes::from(m)],
        Err(e) => {
            tracing::warn!(error = %e, "could not merge a batch; storing it entry by entry");
            updates
        }
    }
}

impl Room {
    pub(crate) fn new(doc_id: DocId, parts: RoomParts, loaded: LoadedDoc) -> Self {
        let RoomParts {
            cfg,
            store,
            metrics,
            policy,
            fanout,
        } = parts;
        let pipeline = Pipeline::new(
            cfg.durability,
            merge,
            CompactAt {
                entries: cfg.compact_updates,
                bytes: cfg.compact_bytes,
            },
            loaded.log_entries,
            loaded.last_seq,
        );
        let presence_limits = crate::presence::PresenceLimits {
            state_bytes: cfg.presence_state_bytes,
            doc_bytes: cfg.presence_doc_bytes,
        };
        let health = metrics.health.subscribe();
        let storage_down = health.borrow().is_some();
        let mut room = Room {
            doc_id,
            doc: loaded.doc,
            cfg,
            store,
            metrics,
            policy,
            fanout,
            doc_bytes: loaded.bytes,
            conns: HashMap::new(),
            presence: Presence::with_limits(presence_limits),
            remote_presence: remote_presence::RemotePresence::new(
                presence_limits.state_bytes,
                presence_limits.doc_bytes,
            ),
            pipeline,
            commits: FuturesUnordered::new(),
            flush_at: None,
            replies: Default::default(),
            storage_down,
            health,
            empty_since: Some(Instant::now()),
            watch: crate::touched::Watch::default(),
            unloadable: false,
        };
        room.watch.watch(&room.doc);
        room.watch.take();
        room.policy
            .changed(&room.doc, &crate::touched::Touched::everything());
        room.fanout.opened(&room.doc_id);
        room
    }

    /// Runs the room until it is evicted or shut down.
    pub(crate) async fn run(mut self, mut inbox: mpsc::Receiver<RoomMsg>, on_exit: OnExit) {
        let tick_every =
            (self.cfg.idle / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
        let mut tick = tokio::time::interval(tick_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut on_exit = Some(on_exit);
        loop {
            if self.unloadable {
                tracing::warn!(doc = %self.doc_id, "storage unavailable: unloading the document until it answers");
                self.fanout.closed(&self.doc_id);
                if let Some(f) = on_exit.take() {
                    f();
                }
                return;
            }
            let flush_at = self.flush_at;
            let accepting = self.pipeline.accepting();
            tokio::select! {
                msg = inbox.recv(), if accepting => match msg {
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
                Some((epoch, result)) = self.commits.next(), if !self.commits.is_empty() => {
                    self.step(Event::Committed { epoch, result }).await;
                }
                _ = sleep_until_opt(flush_at) => self.on_window().await,
                Ok(()) = self.health.changed() => self.on_health(),
                _ = tick.tick() => {
                    self.answer_deferred_syncs().await;
                    let now = Instant::now();
                    if self.presence.expire(now, self.cfg.awareness_timeout) {
                        self.schedule_flush();
                    }
                    if let Some(renewals) = self.presence.take_renewals(now, self.cfg.awareness_timeout / 6) {
                        self.broadcast(protocol::encode_awareness(&renewals));
                        self.fanout.presence(&self.doc_id, &renewals);
                    }
                    if let Some(gone) = self.remote_presence.expire(now, self.cfg.awareness_timeout) {
                        self.broadcast(protocol::encode_awareness(&gone));
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
            && self.pipeline.idle()
            && self.commits.is_empty()
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
            RoomMsg::Read { job } => self.read(job).await,
            RoomMsg::Remote { update } => self.apply_remote(update).await,
            RoomMsg::RemotePresence { update } => {
                if let Some(new) = self.remote_presence.apply(update, Instant::now()) {
                    self.broadcast(protocol::encode_awareness(&new));
                }
            }
            RoomMsg::Kick { which, reason } => {
                let ids: Vec<ConnId> = self.conns.keys().copied().filter(|c| which(*c)).collect();
                for id in ids {
                    self.disconnect(id, reason.clone());
                }
            }
            RoomMsg::Shutdown { .. } => {}
        }
    }

    /// Feeds the pipeline one event and carries out what it decides.
    async fn step(&mut self, event: Event<Waiter>) {
        let actions = self.pipeline.handle(event);
        for action in actions {
            match action {
                Action::ArmWindow => self.schedule_flush(),
                Action::Append { epoch, updates } => self.append(epoch, updates),
                Action::Relay(updates) => {
                    for u in &updates {
                        self.broadcast(protocol::encode_update(u));
                    }
                }
                Action::Publish(updates) => {
                    for u in &updates {
                        self.fanout.publish(&self.doc_id, u);
                    }
                }
                Action::Send { conn, frame } => self.send_to(conn, frame),
                Action::Resolve { waiter, result } => {
                    let _ =
                        waiter.send(result.map_err(|e| RoomError::Store(StoreError::Database(e))));
                }
                Action::Failed { joiners } => {
                    tracing::error!(doc = %self.doc_id, "commit failed; refusing writes until storage recovers");
                    self.metrics.reject("storage_error");
                    // Readers stay; only joiners whose first reply would have revealed the lost
                    // batch are closed, and get what is on disk when they reconnect.
                    for c in joiners {
                        self.disconnect(
                            c,
                            CloseReason::new(1011, "storage error, reconnect shortly"),
                        );
                    }
                    self.storage_down = true;
                }
                Action::Reload => {
                    self.reload().await;
                    // Nothing comes of it but a state change.
                    let _ = self.pipeline.handle(Event::Reloaded);
                }
                Action::Compact { upto } => self.compact_in_background(upto).await,
            }
        }
    }

    /// Queues the appends with the store now, in order, and awaits them as one commit.
    fn append(&mut self, epoch: u64, updates: Vec<Bytes>) {
        let appends: Vec<_> = updates
            .iter()
            .map(|u| {
                (
                    u.len() as u64,
                    self.store.append(self.doc_id.as_str(), u.clone()),
                )
            })
            .collect();
        let metrics = self.metrics.clone();
        self.commits.push(Box::pin(async move {
            let mut entries = Vec::with_capacity(appends.len());
            for (len, append) in appends {
                match append.await {
                    Ok(seq) => entries.push((seq, len)),
                    Err(e) => {
                        // Every room stops taking writes, not only this one.
                        metrics.health.storage_failed(&e.to_string());
                        return (epoch, Err(e.to_string()));
                    }
                }
            }
            (epoch, Ok(entries))
        }));
    }

    /// Coalescing window over: relay presence changes, let the pipeline close the batch.
    async fn on_window(&mut self) {
        self.flush_at = None;
        if let Some(changes) = self.presence.take_changes() {
            self.broadcast(protocol::encode_awareness(&changes));
            self.fanout.presence(&self.doc_id, &changes);
        }
        self.step(Event::Window).await;
    }

    /// Waits until every applied update is committed.
    async fn drain_commits(&mut self) {
        self.step(Event::Drain).await;
        while !self.pipeline.idle() {
            match self.commits.next().await {
                Some((epoch, result)) => self.step(Event::Committed { epoch, result }).await,
                None => break,
            }
        }
    }

    /// Commits what is pending and folds the log into a snapshot, before eviction or shutdown.
    async fn finish(&mut self) {
        self.flush_at = None;
        self.drain_commits().await;
        self.fanout.closed(&self.doc_id);
        if self.pipeline.log_entries() > 0 {
            let upto = self.pipeline.compacting();
            self.compact_now(upto).await;
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

    fn schedule_flush(&mut self) {
        if self.flush_at.is_none() {
            self.flush_at = Some(tokio::time::Instant::now() + self.window());
        }
    }
}

async fn sleep_until_opt(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
