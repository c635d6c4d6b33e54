//! The relay task: reads the streams of the docs open on this node and applies other nodes'
//! updates, gap-free.
//!
//! Position per doc: the last entry id read. A position is only trusted while nothing could
//! have been lost since it was taken; otherwise the doc is *resynced*: take the stream's
//! newest id first, then hand the room what PostgreSQL holds that it lacks, then read on from
//! that id. An update committed before the catch-up is in the catch-up; one committed after
//! it was appended after the id was taken. Resync happens when a doc opens (its load and its
//! first read are not atomic), after any Redis error (the connection, and with it Redis'
//! memory, may be gone), when the stream was trimmed past the position, and when a peer
//! appends a resync marker (it could not publish something), and every few seconds in any case
//! (a peer killed between its commit and its append leaves no marker).

use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use redis::streams::{StreamRangeReply, StreamReadReply};
use tokio::sync::mpsc;
use yrs::updates::decoder::Decode;
use yrs::{Doc, ReadTxn, StateVector, Transact, Update};

use super::follow::FollowSet;
use super::{now_ms, stream_key, ClusterStatus, Control, EntryId};
use crate::doc_id::DocId;
use crate::hub::Hub;
use crate::store::Store;

/// How long one XREAD waits for entries; also how soon a newly opened doc joins the read.
const BLOCK: Duration = Duration::from_millis(100);

/// Entries read per stream and call.
const COUNT: usize = 512;

/// Bound on connecting and on each answer (beyond the XREAD block).
const TIMEOUT: Duration = Duration::from_secs(2);

/// How often positions are checked against the streams' trimmed heads.
const TRIM_CHECK: Duration = Duration::from_secs(2);

/// How often every followed doc is resynced from PostgreSQL regardless: the safety net for a
/// peer killed between its commit and its `XADD` (it can leave no marker). A resync sends the
/// room nothing when it already has everything.
const FULL_RESYNC: Duration = Duration::from_secs(5);

/// How often Redis is pinged while no doc is open here.
const IDLE_PING: Duration = Duration::from_secs(1);

/// Wait before reconnecting after a Redis error.
const RETRY: Duration = Duration::from_millis(250);

pub(super) struct Relay {
    client: redis::Client,
    conn: Option<MultiplexedConnection>,
    hub: Hub,
    store: Arc<dyn Store>,
    status: Arc<ClusterStatus>,
    /// Docs read here -> last id read; `None` until resynced.
    docs: HashMap<DocId, Option<EntryId>>,
    /// Rooms open here and the workshop docs their boards imply ([`FollowSet`]).
    follow: FollowSet,
    last_trim_check: Instant,
    last_full_resync: Instant,
}

impl Relay {
    pub(super) fn new(
        client: redis::Client,
        hub: Hub,
        store: Arc<dyn Store>,
        status: Arc<ClusterStatus>,
    ) -> Self {
        Self {
            client,
            conn: None,
            hub,
            store,
            status,
            docs: HashMap::new(),
            follow: FollowSet::default(),
            last_trim_check: Instant::now(),
            last_full_resync: Instant::now(),
        }
    }

    pub(super) async fn run(mut self, mut control: mpsc::UnboundedReceiver<Control>) {
        loop {
            // Room opens and closes since the last round.
            loop {
                match control.try_recv() {
                    Ok(message) => self.on_control(message),
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => return,
                }
            }
            let outcome = if self.docs.is_empty() {
                match tokio::time::timeout(IDLE_PING, control.recv()).await {
                    Ok(Some(message)) => {
                        self.on_control(message);
                        continue;
                    }
                    Ok(None) => return,
                    // Nothing to read: still watch Redis, for /healthz and /metrics.
                    Err(_) => self.ping().await,
                }
            } else {
                self.round().await
            };
            if let Err(error) = outcome {
                if self.conn.take().is_some() || self.status.redis_up.load(Relaxed) == 1 {
                    tracing::warn!(%error, "lost Redis: serving this node's connections only, relaying again once it is back");
                }
                self.status.redis_up.store(0, Relaxed);
                // Whatever was read before may be all that was: read the store again.
                for position in self.docs.values_mut() {
                    *position = None;
                }
                tokio::time::sleep(RETRY).await;
            }
        }
    }

    fn on_control(&mut self, message: Control) {
        let change = match message {
            Control::Opened(doc) => {
                let locks = self.hub.locks();
                self.follow.opened(doc, |wid| locks.knows(wid))
            }
            Control::Closed(doc) => self.follow.closed(&doc),
        };
        for doc in change.drop {
            self.docs.remove(&doc);
        }
        for doc in change.follow {
            // A doc (re)opened is resynced: its load and its first read are not atomic.
            self.docs.insert(doc, None);
        }
        self.status
            .docs_followed
            .store(self.docs.len() as u64, Relaxed);
    }

    /// Resyncs whatever needs it, then reads once from every position.
    async fn round(&mut self) -> Result<(), redis::RedisError> {
        if self.last_full_resync.elapsed() >= FULL_RESYNC {
            self.last_full_resync = Instant::now();
            for position in self.docs.values_mut() {
                *position = None;
            }
        }
        let stale: Vec<DocId> = self
            .docs
            .iter()
            .filter(|(_, position)| position.is_none())
            .map(|(doc, _)| doc.clone())
            .collect();
        for doc in stale {
            self.resync(&doc).await?;
        }
        if self.last_trim_check.elapsed() >= TRIM_CHECK {
            self.last_trim_check = Instant::now();
            self.check_trimmed().await?;
        }
        let (keys, ids): (Vec<String>, Vec<String>) = self
            .docs
            .iter()
            .filter_map(|(doc, position)| position.map(|id| (stream_key(doc), id.to_string())))
            .unzip();
        if keys.is_empty() {
            return Ok(());
        }
        let reply: Option<StreamReadReply> = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(COUNT)
            .arg("BLOCK")
            .arg(BLOCK.as_millis() as u64)
            .arg("STREAMS")
            .arg(&keys)
            .arg(&ids)
            .query_async(self.connection().await?)
            .await?;
        self.status.redis_up.store(1, Relaxed);
        let Some(reply) = reply else {
            return Ok(());
        };
        for stream in reply.keys {
            let Some(doc) = stream
                .key
                .strip_prefix("palabre:doc:")
                .and_then(|id| DocId::parse(id).ok())
            else {
                continue;
            };
            let mut resync = false;
            let mut unloaded = false;
            for entry in &stream.ids {
                let Some(id) = EntryId::parse(&entry.id) else {
                    continue;
                };
                match self.docs.get_mut(&doc) {
                    Some(position) => *position = Some(id),
                    None => break,
                }
                if entry.get::<String>("n").as_deref() == Some(self.status.node()) {
                    continue;
                }
                if entry.map.contains_key("r") {
                    resync = true;
                    continue;
                }
                let Some(update) = entry.get::<Vec<u8>>("u") else {
                    continue;
                };
                if !self.hub.apply_remote(&doc, update.into()).await {
                    // A workshop doc read for its boards, whose room is not loaded here: load
                    // it (PostgreSQL has this update), so that its policy publishes the locks.
                    unloaded = true;
                } else {
                    let lag = now_ms().saturating_sub(id.millis());
                    self.status.applied.fetch_add(1, Relaxed);
                    self.status.lag_ms_last.store(lag, Relaxed);
                    self.status.lag_ms_sum.fetch_add(lag, Relaxed);
                }
            }
            if unloaded {
                self.load_implied(&doc);
            }
            if resync {
                if let Some(position) = self.docs.get_mut(&doc) {
                    *position = None;
                }
            }
        }
        Ok(())
    }

    async fn ping(&mut self) -> Result<(), redis::RedisError> {
        redis::cmd("PING")
            .query_async::<()>(self.connection().await?)
            .await?;
        self.status.redis_up.store(1, Relaxed);
        Ok(())
    }

    /// Takes the stream's newest id, then gives the room what the store holds that it lacks.
    async fn resync(&mut self, doc: &DocId) -> Result<(), redis::RedisError> {
        let key = stream_key(doc);
        let newest: StreamRangeReply = redis::cmd("XREVRANGE")
            .arg(&key)
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query_async(self.connection().await?)
            .await?;
        self.status.redis_up.store(1, Relaxed);
        let position = newest
            .ids
            .first()
            .and_then(|entry| EntryId::parse(&entry.id))
            .unwrap_or_default();
        if let Err(error) = self.catch_up(doc).await {
            // The room keeps what it has; the next round tries again.
            tracing::warn!(doc = %doc, %error, "catching up from the store failed");
            return Ok(());
        }
        self.status.catchups.fetch_add(1, Relaxed);
        if let Some(slot) = self.docs.get_mut(doc) {
            *slot = Some(position);
        }
        Ok(())
    }

    /// Applies to the room the part of the stored doc it does not have (nothing at all when
    /// it has every insertion and deletion, the common case).
    async fn catch_up(&self, doc: &DocId) -> Result<(), String> {
        let stored = self
            .store
            .load(doc.as_str())
            .await
            .map_err(|e| e.to_string())?;
        let Some((room_state, room_deleted)) = self
            .hub
            .read_loaded(doc, |d: &Doc| {
                let txn = d.transact();
                (txn.state_vector(), txn.snapshot().delete_set)
            })
            .await
        else {
            // Not loaded: a workshop doc read for its boards is loaded (which reads the store
            // and publishes its locks); any other doc closed meanwhile needs nothing.
            self.load_implied(doc);
            return Ok(());
        };
        let missing = tokio::task::spawn_blocking(move || {
            let full = Doc::new();
            {
                let mut txn = full.transact_mut();
                for bytes in stored
                    .snapshot
                    .iter()
                    .chain(stored.updates.iter().map(|(_, u)| u))
                {
                    if let Ok(update) = Update::decode_v1(bytes) {
                        // The room refuses what does not apply; here it is only skipped.
                        let _ = txn.apply_update(update);
                    }
                }
            }
            let txn = full.transact();
            let mut new_deletions = txn.snapshot().delete_set;
            new_deletions.diff_with(&room_deleted);
            if covers(&room_state, &txn.state_vector()) && new_deletions.is_empty() {
                None
            } else {
                Some(txn.encode_state_as_update_v1(&room_state))
            }
        })
        .await
        .map_err(|e| e.to_string())?;
        if let Some(update) = missing {
            self.hub.apply_remote(doc, update.into()).await;
        }
        Ok(())
    }

    /// Loads workshop doc `doc` in the background if it is read on behalf of boards open
    /// here: loading reads PostgreSQL, and the workshop policy publishes the current locks.
    fn load_implied(&self, doc: &DocId) {
        if !self.follow.is_implied(doc) {
            return;
        }
        let hub = self.hub.clone();
        let doc = doc.clone();
        tokio::spawn(async move {
            if let Err(error) = hub.read(&doc, |_| ()).await {
                tracing::warn!(doc = %doc, %error, "cannot load a workshop doc for its boards' locks");
            }
        });
    }

    /// Compares each stream's trimmed head (`max-deleted-entry-id`) with the position.
    async fn check_trimmed(&mut self) -> Result<(), redis::RedisError> {
        let docs: Vec<(DocId, EntryId)> = self
            .docs
            .iter()
            .filter_map(|(doc, position)| position.map(|id| (doc.clone(), id)))
            .collect();
        for (doc, position) in docs {
            let info: redis::RedisResult<HashMap<String, redis::Value>> = redis::cmd("XINFO")
                .arg("STREAM")
                .arg(stream_key(&doc))
                .query_async(self.connection().await?)
                .await;
            let Ok(info) = info else {
                // No such stream yet: nothing trimmed.
                continue;
            };
            let deleted = info
                .get("max-deleted-entry-id")
                .and_then(|v| redis::from_redis_value_ref::<String>(v).ok())
                .and_then(|s| EntryId::parse(&s));
            if deleted.is_some_and(|deleted| deleted > position) {
                tracing::info!(doc = %doc, "stream trimmed past this node's position: catching up from the store");
                if let Some(slot) = self.docs.get_mut(&doc) {
                    *slot = None;
                }
            }
        }
        Ok(())
    }

    async fn connection(&mut self) -> Result<&mut MultiplexedConnection, redis::RedisError> {
        if self.conn.is_none() {
            let config = redis::AsyncConnectionConfig::new()
                .set_connection_timeout(Some(TIMEOUT))
                .set_response_timeout(Some(TIMEOUT + BLOCK));
            let conn = self
                .client
                .get_multiplexed_async_connection_with_config(&config)
                .await?;
            if self.status.redis_up.load(Relaxed) == 0 {
                tracing::info!("relaying through Redis");
            }
            self.conn = Some(conn);
        }
        match self.conn.as_mut() {
            Some(conn) => Ok(conn),
            None => Err(redis::RedisError::from((
                redis::ErrorKind::Io,
                "no Redis connection",
            ))),
        }
    }
}

/// Whether `room` has every insertion `stored` has.
fn covers(room: &StateVector, stored: &StateVector) -> bool {
    stored
        .iter()
        .all(|(client, clock)| room.get(client) >= *clock)
}
