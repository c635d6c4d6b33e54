//! PostgreSQL implementation of [`super::Store`], shared by every node of a cluster.
//!
//! Same semantics as the SQLite store: an append-only log per doc, snapshots, meta records,
//! group commit (one writer task folds every queued command into one transaction) and an
//! acknowledgement only once `COMMIT` returned with `synchronous_commit = on`. What differs is
//! that several processes write the same docs at once, which makes compaction the delicate part:
//! see [`compact`] for the races and how they are closed.
//!
//! Everything is async (tokio-postgres through a deadpool pool); the only CPU-heavy step, folding
//! a log into a snapshot, runs on the blocking pool. Nothing here blocks the executor.

mod compact;
mod direct;
mod schema;
mod writer;

#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use futures_util::future::BoxFuture;
use tokio_postgres::NoTls;

use super::group_commit::{self, Queue};
use super::sqlite::stats::Counters;
use super::{Seq, Store, StoreError, StoreStats, StoredDoc};

/// Largest value PostgreSQL stores in one `bytea`.
const MAX_VALUE_BYTES: usize = 1_000_000_000;

/// How to reach PostgreSQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgConfig {
    /// `postgres://user:password@host:port/db` (or the key=value form).
    pub url: String,
    /// Connections in the pool (the writer uses one at a time, loads and compactions the rest).
    pub pool_size: usize,
    /// Most commands folded into one group commit.
    pub max_batch: usize,
    /// How long a statement may wait for a connection or for the server before failing.
    pub timeout: Duration,
}

impl PgConfig {
    /// Defaults for `url`: 8 connections, batches of up to 1024, 10 s timeouts.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            pool_size: 8,
            max_batch: 1024,
            timeout: Duration::from_secs(10),
        }
    }
}

/// The cluster store: a cheap-to-clone handle on a connection pool and the writer task.
///
/// Writes are applied in call order (queued when the method is called) except compactions,
/// which run in their own transaction as soon as they are called: they only fold what is
/// already committed, so their place in the queue does not matter.
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    writes: Queue<writer::Op>,
    closed: Arc<AtomicBool>,
    counters: Arc<Counters>,
    backlog: Arc<super::Backlog>,
    /// Shown in logs and errors without the password.
    target: String,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("target", &self.inner.target)
            .finish()
    }
}

impl PostgresStore {
    /// Connects, checks the durability settings, creates or migrates the schema and starts the
    /// writer task. Must be called inside a tokio runtime.
    pub async fn connect(config: PgConfig) -> Result<Self, StoreError> {
        let mut pg: tokio_postgres::Config =
            config
                .url
                .parse()
                .map_err(|e: tokio_postgres::Error| StoreError::Open {
                    path: "postgres URL".to_owned(),
                    reason: e.to_string(),
                })?;
        let target = describe(&pg);
        let fail = |reason: String| StoreError::Open {
            path: target.clone(),
            reason,
        };
        // Acknowledged means committed and flushed on the server, whatever the server's default.
        pg.options("-c synchronous_commit=on");
        pg.connect_timeout(config.timeout);
        pg.application_name("palabre");
        let manager = Manager::from_config(
            pg,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(config.pool_size.max(2))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(config.timeout))
            .create_timeout(Some(config.timeout))
            .recycle_timeout(Some(config.timeout))
            .build()
            .map_err(|e| fail(e.to_string()))?;
        {
            let mut client = pool.get().await.map_err(|e| fail(pool_reason(&e)))?;
            let fsync: String = client
                .query_one("SHOW fsync", &[])
                .await
                .map_err(|e| fail(pg_reason(&e)))?
                .get(0);
            if fsync != "on" {
                tracing::warn!(
                    "PostgreSQL runs with fsync={fsync}: commits survive a crash of the server \
                     process but not of its machine"
                );
            }
            schema::migrate(&mut client).await.map_err(fail)?;
        }
        let closed = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(Counters::default());
        let backlog = Arc::new(super::Backlog::default());
        let (writes, queue) = Queue::new(Arc::clone(&closed), Arc::clone(&backlog));
        tokio::spawn(group_commit::run(
            writer::Writer::new(pool.clone()),
            queue,
            config.max_batch,
            Arc::clone(&counters),
            Arc::clone(&closed),
        ));
        tracing::info!(
            target = %target,
            version = schema::SCHEMA_VERSION,
            pool = config.pool_size,
            "PostgreSQL store opened"
        );
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                writes,
                closed,
                counters,
                backlog,
                target,
            }),
        })
    }

    /// Current counters and commit-latency histogram.
    pub fn stats(&self) -> StoreStats {
        self.inner.counters.snapshot()
    }

    /// Commits everything queued, then closes the pool. Afterwards every call fails with
    /// [`StoreError::Closed`], including a second `shutdown`.
    pub fn shutdown(&self) -> BoxFuture<'static, Result<(), StoreError>> {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move {
            if inner.closed.swap(true, Ordering::AcqRel) {
                return Err(StoreError::Closed);
            }
            let outcome = inner.writes.shutdown().await;
            inner.pool.close();
            tracing::info!("PostgreSQL store closed");
            outcome
        })
    }

    fn pool(&self) -> Result<Pool, StoreError> {
        if self.inner.closed.load(Ordering::Acquire) {
            Err(StoreError::Closed)
        } else {
            Ok(self.inner.pool.clone())
        }
    }
}

impl Store for PostgresStore {
    fn load(&self, doc: &str) -> BoxFuture<'static, Result<StoredDoc, StoreError>> {
        let pool = self.pool();
        let doc = doc.to_owned();
        Box::pin(async move { direct::load(&pool?, &doc).await })
    }

    fn append(&self, doc: &str, update: Bytes) -> BoxFuture<'static, Result<Seq, StoreError>> {
        if let Err(error) = check_size("update", update.len()) {
            return Box::pin(std::future::ready(Err(error)));
        }
        let doc = doc.to_owned();
        self.inner
            .writes
            .append(writer::Op::Append { doc, data: update })
    }

    fn compact(
        &self,
        doc: &str,
        snapshot: Vec<u8>,
        upto: Seq,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        let checked = check_size("snapshot", snapshot.len()).and_then(|()| to_i64(upto));
        let pool = self.pool();
        let counters = Arc::clone(&self.inner.counters);
        let doc = doc.to_owned();
        Box::pin(async move {
            let upto = checked?;
            compact::compact(&pool?, &counters, &doc, snapshot, upto).await
        })
    }

    fn delete(&self, doc: &str) -> BoxFuture<'static, Result<(), StoreError>> {
        let doc = doc.to_owned();
        self.inner.writes.write(writer::Op::Delete { doc })
    }

    fn get_meta(&self, key: &str) -> BoxFuture<'static, Result<Option<Vec<u8>>, StoreError>> {
        let pool = self.pool();
        let key = key.to_owned();
        Box::pin(async move { direct::get_meta(&pool?, &key).await })
    }

    fn delete_workshop(&self, wid: &str) -> BoxFuture<'static, Result<(), StoreError>> {
        let pool = self.pool();
        let wid = wid.to_owned();
        Box::pin(async move { direct::delete_workshop(&pool?, &wid).await })
    }

    fn meta_keys(&self, prefix: &str) -> BoxFuture<'static, Result<Vec<String>, StoreError>> {
        let pool = self.pool();
        let prefix = prefix.to_owned();
        Box::pin(async move { direct::meta_keys(&pool?, &prefix).await })
    }

    fn list_docs(&self, prefix: &str) -> BoxFuture<'static, Result<Vec<String>, StoreError>> {
        let pool = self.pool();
        let prefix = prefix.to_owned();
        let limit = i64::try_from(crate::store::LIST_DOCS_MAX).unwrap_or(i64::MAX);
        Box::pin(async move {
            if prefix.is_empty() {
                return Ok(Vec::new());
            }
            let client = pool?.get().await.map_err(|e| pool_error(&e))?;
            let rows = client
                .query(
                    "SELECT doc FROM docs WHERE starts_with(doc, $1) AND snapshot IS NOT NULL \
                     UNION SELECT doc FROM updates WHERE starts_with(doc, $1) \
                     ORDER BY 1 LIMIT $2",
                    &[&prefix, &limit],
                )
                .await
                .map_err(|e| db_error(&e))?;
            Ok(rows.iter().map(|row| row.get(0)).collect())
        })
    }

    fn workshop_bytes(&self, wid: &str) -> BoxFuture<'static, Result<u64, StoreError>> {
        let pool = self.pool();
        let wid = wid.to_owned();
        Box::pin(async move { direct::workshop_bytes(&pool?, &wid).await })
    }

    fn put_meta(&self, key: &str, value: Vec<u8>) -> BoxFuture<'static, Result<(), StoreError>> {
        if let Err(error) = check_size("metadata value", value.len()) {
            return Box::pin(std::future::ready(Err(error)));
        }
        let key = key.to_owned();
        self.inner.writes.write(writer::Op::PutMeta { key, value })
    }

    fn flush(&self) -> BoxFuture<'static, Result<(), StoreError>> {
        self.inner.writes.flush()
    }

    fn stats(&self) -> StoreStats {
        PostgresStore::stats(self)
    }

    fn backlog(&self) -> Arc<super::Backlog> {
        Arc::clone(&self.inner.backlog)
    }

    fn shutdown(&self) -> BoxFuture<'static, Result<(), StoreError>> {
        PostgresStore::shutdown(self)
    }
}

fn check_size(what: &str, len: usize) -> Result<(), StoreError> {
    if len > MAX_VALUE_BYTES {
        return Err(StoreError::Database(format!(
            "{what} of {len} bytes exceeds the {MAX_VALUE_BYTES} bytes PostgreSQL stores in one value"
        )));
    }
    Ok(())
}

fn to_i64(seq: Seq) -> Result<i64, StoreError> {
    i64::try_from(seq)
        .map_err(|_| StoreError::Database(format!("sequence number {seq} is out of range")))
}

fn to_seq(value: i64) -> Result<Seq, StoreError> {
    Seq::try_from(value)
        .map_err(|_| StoreError::Database(format!("negative sequence number {value} stored")))
}

/// The server's own message when there is one (tokio-postgres' `Display` is only "db error").
fn pg_reason(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => error.to_string(),
    }
}

fn db_error(error: &tokio_postgres::Error) -> StoreError {
    StoreError::Database(pg_reason(error))
}

fn pool_reason(error: &deadpool_postgres::PoolError) -> String {
    match error {
        deadpool_postgres::PoolError::Backend(e) => pg_reason(e),
        other => other.to_string(),
    }
}

fn pool_error(error: &deadpool_postgres::PoolError) -> StoreError {
    StoreError::Database(format!("PostgreSQL unavailable: {}", pool_reason(error)))
}

/// `user@host:port/db`, never the password.
fn describe(pg: &tokio_postgres::Config) -> String {
    let host = pg
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_default();
    let port = pg.get_ports().first().copied().unwrap_or(5432);
    format!(
        "{}@{host}:{port}/{}",
        pg.get_user().unwrap_or(""),
        pg.get_dbname().unwrap_or("")
    )
}
