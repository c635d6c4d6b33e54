//! Held-note counts shared by every node (board-schema §6): one Redis hash per board,
//! `palabre:held:{wid}.{bid}`, device → notes held, written by whichever node's room of that
//! held doc changed, and read by every node's counts endpoint and exports.
//!
//! - *Writes* are queued by the held docs' policies ([`SharedHeld::publish`], on room tasks)
//!   and flushed by one task per node: the newest count per held doc (`HSET`, `HDEL` at 0),
//!   then `EXPIRE` [`TTL`]. A failed flush keeps them for the next try; past 65 536 queued
//!   held docs the board's completeness mark is dropped instead, so the next reader recounts.
//! - *Completeness*: the field `*` (never a device id) says every stored held doc of the board
//!   has been counted into the hash. Without it (first read, Redis restarted, the hash expired
//!   an hour after its last write) one reader per node counts the stored held docs from
//!   PostgreSQL — loading them publishes their counts — and queues the mark after them.
//! - *Reads* (`HGETALL`) sum the hash with this node's unflushed counts over it, each field
//!   capped at [`MAX_HELD_NOTES`], and are cached [`CACHE`] per board.
//! - *Redis down*: reads answer `Err` and the caller uses this node's own counts; the
//!   first failure is logged, and Redis is not asked again for [`BACKOFF`].
//! - A deleted workshop's hashes are removed (`SCAN` + `DEL` of its prefix).
//!
//! The queue and the commands a flush sends are in `held/queue.rs`.

mod queue;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dashmap::DashMap;
use redis::aio::ConnectionManager;
use tokio::sync::{Notify, OnceCell};

use crate::board::held::MAX_HELD_NOTES;
use crate::doc_id::DocId;
use crate::policy::{DeviceCounts, SharedHeld, SharedRead};
use queue::{key, Queue, COMPLETE};

/// Bound on connecting and on each answer: a count must not hang on Redis.
const TIMEOUT: Duration = Duration::from_secs(1);
/// Bound on one flush (a deleted workshop's `SCAN` included).
const FLUSH_TIMEOUT: Duration = Duration::from_secs(10);
/// After a failed read, Redis is not asked again for this long (this node's counts answer).
const BACKOFF: Duration = Duration::from_secs(1);
/// Wait before retrying a failed flush.
const RETRY: Duration = Duration::from_millis(250);
/// A board's hash expires this long after its last write (then the next reader recounts).
const TTL: Duration = Duration::from_secs(3600);
/// A board's total is read from Redis at most once per this long on each node.
const CACHE: Duration = Duration::from_millis(250);
/// How long other readers wait for one reader's recount of a board before doing their own.
const RECOUNT_WAIT: Duration = Duration::from_secs(5);

/// The Redis-backed shared counts of one node.
pub(super) struct RedisHeld {
    client: redis::Client,
    conn: OnceCell<ConnectionManager>,
    /// A std mutex: held only to queue or take, never across an await.
    queue: Mutex<Queue>,
    wake: Notify,
    /// Board → (read at, counts).
    cache: DashMap<DocId, (Instant, Arc<DeviceCounts>)>,
    /// Boards being recounted here, since when.
    recounting: DashMap<DocId, Instant>,
    /// Set when a read failed: no read before then.
    down_until: Mutex<Option<Instant>>,
    announced_down: AtomicBool,
}

impl std::fmt::Debug for RedisHeld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisHeld").finish_non_exhaustive()
    }
}

impl RedisHeld {
    pub(super) fn new(client: redis::Client) -> Self {
        RedisHeld {
            client,
            conn: OnceCell::new(),
            queue: Mutex::default(),
            wake: Notify::new(),
            cache: DashMap::new(),
            recounting: DashMap::new(),
            down_until: Mutex::new(None),
            announced_down: AtomicBool::new(false),
        }
    }

    async fn conn(&self) -> Result<ConnectionManager, redis::RedisError> {
        super::lazy_conn(&self.client, &self.conn, TIMEOUT).await
    }

    fn with_queue<R>(&self, f: impl FnOnce(&mut Queue) -> R) -> Option<R> {
        self.queue.lock().ok().map(|mut q| f(&mut q))
    }

    /// Writes what is queued, for as long as the process runs.
    pub(super) async fn run(self: Arc<Self>) {
        loop {
            self.wake.notified().await;
            let mut failed = false;
            while let Err(error) = self.flush().await {
                if !failed {
                    tracing::warn!(%error, "cannot write held-note counts to Redis; retrying");
                    failed = true;
                }
                tokio::time::sleep(RETRY).await;
            }
            if failed {
                tracing::info!("held-note counts are written to Redis again");
            }
        }
    }

    /// One flush of everything queued; on failure it is queued again (newer counts win).
    async fn flush(&self) -> Result<(), redis::RedisError> {
        let Some(batch) = self.with_queue(Queue::take).flatten() else {
            return Ok(());
        };
        let written = bounded(FLUSH_TIMEOUT, async {
            queue::write(&mut self.conn().await?, &batch, TTL).await
        })
        .await;
        let ok = written.is_ok();
        self.with_queue(|q| q.settle(batch, ok));
        written
    }

    /// The board's hash with this node's unflushed counts over it; `None` without the mark.
    async fn fetch(&self, board: &DocId) -> Result<Option<DeviceCounts>, redis::RedisError> {
        let mut conn = self.conn().await?;
        let mut fields: HashMap<String, String> = redis::cmd("HGETALL")
            .arg(key(board))
            .query_async(&mut conn)
            .await?;
        if fields.remove(COMPLETE).is_none() {
            return Ok(None);
        }
        // Redis is not trusted to stay within the cap a held doc's policy keeps.
        let mut devices: DeviceCounts = fields
            .into_iter()
            .filter_map(|(device, n)| {
                let n = n.parse::<usize>().ok()?;
                Some((device, n.min(MAX_HELD_NOTES)))
            })
            .collect();
        self.with_queue(|q| q.overlay(board, &mut devices));
        Ok(Some(devices))
    }

    /// A total read less than [`CACHE`] ago (and not before `not_before`).
    fn cached(&self, board: &DocId, not_before: Option<Instant>) -> Option<Arc<DeviceCounts>> {
        self.cache
            .get(board)
            .filter(|e| e.0.elapsed() < CACHE && not_before.is_none_or(|t| e.0 >= t))
            .map(|e| Arc::clone(&e.1))
    }

    fn remember(&self, board: &DocId, counts: DeviceCounts) -> Arc<DeviceCounts> {
        if self.cache.len() > 10_000 {
            self.cache.retain(|_, e| e.0.elapsed() < CACHE);
        }
        let counts = Arc::new(counts);
        self.cache
            .insert(board.clone(), (Instant::now(), Arc::clone(&counts)));
        counts
    }

    fn is_down(&self) -> bool {
        self.down_until
            .lock()
            .ok()
            .and_then(|d| *d)
            .is_some_and(|until| Instant::now() < until)
    }

    fn went_down(&self, error: &redis::RedisError) {
        if let Ok(mut d) = self.down_until.lock() {
            *d = Some(Instant::now() + BACKOFF);
        }
        if !self.announced_down.swap(true, Relaxed) {
            tracing::warn!(%error, "cannot read held-note counts from Redis: each node counts on its own meanwhile");
        }
    }

    async fn board_counts(&self, board: &DocId) -> Result<Option<Arc<DeviceCounts>>, String> {
        let asked = Instant::now();
        if let Some(counts) = self.cached(board, None) {
            return Ok(Some(counts));
        }
        loop {
            if self.is_down() {
                return Err("Redis unreachable".into());
            }
            let read = bounded(TIMEOUT, self.fetch(board)).await;
            let counts = match read {
                Ok(counts) => counts,
                Err(error) => {
                    self.went_down(&error);
                    return Err(error.to_string());
                }
            };
            if self.announced_down.swap(false, Relaxed) {
                tracing::info!("held-note counts are read from Redis again");
            }
            if let Some(counts) = counts {
                return Ok(Some(self.remember(board, counts)));
            }
            // Not counted yet: one reader per node counts, the others wait for its total.
            let mut mine = false;
            self.recounting
                .entry(board.clone())
                .and_modify(|since| {
                    if since.elapsed() > RECOUNT_WAIT {
                        *since = Instant::now();
                        mine = true;
                    }
                })
                .or_insert_with(|| {
                    mine = true;
                    Instant::now()
                });
            if mine || asked.elapsed() > RECOUNT_WAIT {
                return Ok(None);
            }
            while self.recounting.contains_key(board) && asked.elapsed() < RECOUNT_WAIT {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            if let Some(counts) = self.cached(board, Some(asked)) {
                return Ok(Some(counts));
            }
        }
    }
}

/// `call`, or an error if Redis has not answered within `limit` (a reconnecting connection
/// manager may otherwise keep a caller waiting for its retries).
async fn bounded<T>(
    limit: Duration,
    call: impl std::future::Future<Output = Result<T, redis::RedisError>>,
) -> Result<T, redis::RedisError> {
    tokio::time::timeout(limit, call).await.unwrap_or_else(|_| {
        Err(redis::RedisError::from((
            redis::ErrorKind::Io,
            "Redis did not answer in time",
        )))
    })
}

impl SharedHeld for RedisHeld {
    fn publish(&self, held: &DocId, n: usize) {
        if let Some(board) = held.board_doc() {
            self.cache.remove(&board);
        }
        self.with_queue(|q| q.put(held, n));
        self.wake.notify_one();
    }

    fn read<'a>(&'a self, board: &'a DocId) -> SharedRead<'a> {
        Box::pin(self.board_counts(board))
    }

    fn mark_complete(&self, board: &DocId, counts: DeviceCounts) {
        self.with_queue(|q| q.complete(board));
        self.remember(board, counts);
        self.recounting.remove(board);
        self.wake.notify_one();
    }

    fn recount_failed(&self, board: &DocId) {
        self.recounting.remove(board);
    }

    fn forget_workshop(&self, wid: &str) {
        self.with_queue(|q| q.forget(wid));
        self.cache.retain(|board, _| board.workshop() != wid);
        self.wake.notify_one();
    }
}
