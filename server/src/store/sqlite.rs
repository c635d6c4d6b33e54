//! SQLite (WAL) implementation of [`super::Store`] with group commit on a dedicated thread.
//!
//! One file holds everything: `docs` (latest snapshot per doc), `updates` (the log after it)
//! and `meta`. Two threads own the two connections: the writer ([`writer`]) drains its queue
//! into one transaction per batch and answers each waiter only after `COMMIT` returned; the
//! reader ([`reader`]) serves loads from the last committed state. Futures handed out by
//! [`SqliteStore`] only await a oneshot, so nothing here ever blocks the async executor.
//!
//! Opening the file (pragmas, integrity, schema versions) lives in `open.rs`, the threads in
//! `reader.rs` and `writer.rs`, the group commit they share with PostgreSQL in
//! `store::group_commit`.

mod open;
mod reader;
pub(crate) mod stats;
mod writer;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use tokio::sync::oneshot;

pub use stats::{LatencyHistogram, StoreStats, COMMIT_LATENCY_BOUNDS};

use super::group_commit::{self, submit, Queue};
use super::{Seq, Store, StoreError, StoredDoc};
use open::{check_integrity, migrate, open_connection, open_reason};

/// Largest value SQLite stores in one column with the bundled build's default limits.
const MAX_VALUE_BYTES: usize = 1_000_000_000;

/// How to open a [`SqliteStore`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteConfig {
    /// The database file, e.g. `<data-dir>/palabre.db`; missing parent directories are created.
    pub path: PathBuf,
    /// `true`: every commit is fsynced before it is acknowledged (`synchronous=FULL`), so it
    /// survives a power cut. `false`: `synchronous=NORMAL`, which still survives a crash of the
    /// process but may lose the last commits on a power cut.
    pub synchronous_full: bool,
    /// Most commands folded into one group commit.
    pub max_batch: usize,
}

impl SqliteConfig {
    /// Strict durability and batches of up to 1024 commands.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            synchronous_full: true,
            max_batch: 1024,
        }
    }
}

/// The embedded store: a cheap-to-clone handle on the writer and reader threads.
///
/// Writes are applied in call order (the command is queued when the method is called, not
/// when its future is first polled) and survive the caller dropping the future. A failed group
/// commit fails every command of that batch with [`StoreError::Database`]; `flush` does not
/// report such earlier failures, their own futures do.
///
/// When the last handle is dropped without [`SqliteStore::shutdown`], the threads still
/// finish every command already queued, then close their connections and exit; the process
/// should still await `shutdown` before exiting, or queued work may be cut short.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writes: Queue<writer::Op>,
    reads: mpsc::Sender<reader::Command>,
    /// Set by `shutdown` and by either worker thread when it ends (a store that lost one of
    /// its threads is closed as a whole); checked before queueing anything.
    closed: Arc<AtomicBool>,
    counters: Arc<stats::Counters>,
    backlog: Arc<super::Backlog>,
    /// Taken by `shutdown` to join the threads. A std mutex is enough: it is only held to
    /// `take()` the handles, never across I/O or an await.
    threads: Mutex<Option<Vec<JoinHandle<()>>>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .field("closed", &self.inner.closed.load(Ordering::Relaxed))
            .finish()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database, checks and migrates it, and starts the threads.
    ///
    /// Blocking: call it before serving, or from `spawn_blocking`. A file that is not a SQLite
    /// database, is corrupt, belongs to another application or comes from a newer Palabre
    /// gives [`StoreError::Open`].
    pub fn open(config: SqliteConfig) -> Result<Self, StoreError> {
        let path = config.path.clone();
        let fail = |reason: String| StoreError::Open {
            path: path.display().to_string(),
            reason,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|error| {
                fail(format!(
                    "cannot create directory {}: {error}",
                    parent.display()
                ))
            })?;
        }
        let mut write_conn = open_connection(&path, config.synchronous_full).map_err(fail)?;
        check_integrity(&write_conn).map_err(fail)?;
        migrate(&mut write_conn).map_err(fail)?;
        let read_conn = open_connection(&path, config.synchronous_full).map_err(fail)?;
        read_conn
            .pragma_update(None, "query_only", true)
            .map_err(|e| fail(open_reason(&e)))?;

        let closed = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(stats::Counters::default());
        let backlog = Arc::new(super::Backlog::default());
        let (writes, write_queue) = Queue::new(Arc::clone(&closed), Arc::clone(&backlog));
        let (reads, read_queue) = mpsc::channel();
        let writer = group_commit::run(
            writer::Writer::new(write_conn, path.clone()),
            write_queue,
            config.max_batch,
            Arc::clone(&counters),
            Arc::clone(&closed),
        );
        // The thread's own single-threaded runtime only waits on the queue between batches:
        // every SQLite call inside blocks this thread, never the server's executor.
        let lane = tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(|error| fail(format!("cannot start the writer's runtime: {error}")))?;
        let writer_thread = std::thread::Builder::new()
            .name("palabre-store-writer".to_owned())
            .spawn(move || lane.block_on(writer))
            .map_err(|error| fail(format!("cannot start the writer thread: {error}")))?;
        let reader_closed = Arc::clone(&closed);
        let reader_thread = std::thread::Builder::new()
            .name("palabre-store-reader".to_owned())
            .spawn(move || reader::run(read_conn, read_queue, reader_closed))
            .map_err(|error| fail(format!("cannot start the reader thread: {error}")))?;
        tracing::info!(
            path = %path.display(),
            synchronous = if config.synchronous_full { "full" } else { "normal" },
            max_batch = config.max_batch,
            "store opened"
        );
        Ok(Self {
            inner: Arc::new(Inner {
                path,
                writes,
                reads,
                closed,
                counters,
                backlog,
                threads: Mutex::new(Some(vec![writer_thread, reader_thread])),
            }),
        })
    }

    /// The database file this store writes.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Current counters and commit-latency histogram.
    pub fn stats(&self) -> StoreStats {
        self.inner.counters.snapshot()
    }

    /// Commits everything queued, checkpoints the WAL into the main file, closes both
    /// connections and joins the threads. Afterwards every call fails with
    /// [`StoreError::Closed`], including a second `shutdown`.
    pub fn shutdown(&self) -> BoxFuture<'static, Result<(), StoreError>> {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move {
            if inner.closed.swap(true, Ordering::AcqRel) {
                return Err(StoreError::Closed);
            }
            // The reader goes first so that no read transaction holds the checkpoint back.
            let (stop, stopped) = oneshot::channel();
            if inner
                .reads
                .send(reader::Command::Stop { reply: stop })
                .is_ok()
            {
                drop(stopped.await);
            }
            let outcome = inner.writes.shutdown().await;
            let threads = inner.threads.lock().ok().and_then(|mut guard| guard.take());
            if let Some(threads) = threads {
                join(threads).await;
            }
            outcome
        })
    }

    fn read<T: Send + 'static>(
        &self,
        command: impl FnOnce(group_commit::Reply<T>) -> reader::Command,
    ) -> BoxFuture<'static, Result<T, StoreError>> {
        submit(&self.inner.closed, command, |c| {
            self.inner.reads.send(c).is_ok()
        })
    }
}

impl Store for SqliteStore {
    fn load(&self, doc: &str) -> BoxFuture<'static, Result<StoredDoc, StoreError>> {
        let doc = doc.to_owned();
        self.read(|reply| reader::Command::Load { doc, reply })
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
        // Checked here so that a bad argument fails alone instead of rolling back the batch
        // it would have joined.
        if let Err(error) = check_size("snapshot", snapshot.len()).and_then(|()| check_seq(upto)) {
            return Box::pin(std::future::ready(Err(error)));
        }
        let doc = doc.to_owned();
        self.inner.writes.write(writer::Op::Compact {
            doc,
            snapshot,
            upto,
        })
    }

    fn delete(&self, doc: &str) -> BoxFuture<'static, Result<(), StoreError>> {
        let doc = doc.to_owned();
        self.inner.writes.write(writer::Op::Delete { doc })
    }

    fn delete_workshop(&self, wid: &str) -> BoxFuture<'static, Result<(), StoreError>> {
        let wid = wid.to_owned();
        self.inner.writes.write(writer::Op::DeleteWorkshop { wid })
    }

    fn meta_keys(&self, prefix: &str) -> BoxFuture<'static, Result<Vec<String>, StoreError>> {
        let prefix = prefix.to_owned();
        self.read(|reply| reader::Command::MetaKeys { prefix, reply })
    }

    fn list_docs(&self, prefix: &str) -> BoxFuture<'static, Result<Vec<String>, StoreError>> {
        let prefix = prefix.to_owned();
        self.read(|reply| reader::Command::ListDocs { prefix, reply })
    }

    fn get_meta(&self, key: &str) -> BoxFuture<'static, Result<Option<Vec<u8>>, StoreError>> {
        let key = key.to_owned();
        self.read(|reply| reader::Command::GetMeta { key, reply })
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

    fn workshop_bytes(&self, wid: &str) -> BoxFuture<'static, Result<u64, StoreError>> {
        let wid = wid.to_owned();
        self.read(|reply| reader::Command::WorkshopBytes { wid, reply })
    }

    fn stats(&self) -> StoreStats {
        SqliteStore::stats(self)
    }

    fn backlog(&self) -> Arc<super::Backlog> {
        Arc::clone(&self.inner.backlog)
    }

    fn shutdown(&self) -> BoxFuture<'static, Result<(), StoreError>> {
        SqliteStore::shutdown(self)
    }
}

/// Joins the worker threads without blocking the executor: they have already answered their
/// last command, so this only waits for their teardown.
async fn join(threads: Vec<JoinHandle<()>>) {
    let join_all = move || {
        for thread in threads {
            if thread.join().is_err() {
                tracing::error!("a store thread had panicked");
            }
        }
    };
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            if runtime.spawn_blocking(join_all).await.is_err() {
                tracing::error!("joining the store threads failed");
            }
        }
        Err(_) => join_all(),
    }
}

fn check_size(what: &str, len: usize) -> Result<(), StoreError> {
    if len > MAX_VALUE_BYTES {
        return Err(StoreError::Database(format!(
            "{what} of {len} bytes exceeds the {MAX_VALUE_BYTES} bytes SQLite stores in one value"
        )));
    }
    Ok(())
}

fn check_seq(seq: Seq) -> Result<(), StoreError> {
    if i64::try_from(seq).is_err() {
        return Err(StoreError::Database(format!(
            "sequence number {seq} is out of range"
        )));
    }
    Ok(())
}

fn database_error(error: &rusqlite::Error) -> StoreError {
    StoreError::Database(error.to_string())
}
