//! Durable storage of documents: an append-only update log plus snapshots, behind [`Store`].
//!
//! Only this module touches the disk. Everything above it holds an `Arc<dyn Store>` (the one
//! place that names [`SqliteStore`] is `lib.rs`, which opens it), so a PostgreSQL (or any
//! other) backend can replace the embedded SQLite one without touching sync logic.

pub mod backlog;
#[cfg(feature = "test-hooks")]
pub mod faults;
mod group_commit;
pub mod postgres;
pub mod sqlite;

#[cfg(test)]
mod conformance;
#[cfg(test)]
pub(crate) mod testdb;

pub use backlog::{Backlog, Marks};
pub use postgres::{PgConfig, PostgresStore};
pub use sqlite::{LatencyHistogram, SqliteConfig, SqliteStore, StoreStats};

use bytes::Bytes;
use futures_util::future::BoxFuture;

/// Most doc ids one [`Store::list_docs`] answers with.
pub const LIST_DOCS_MAX: usize = 10_000;

/// Position of an update in one doc's log. Strictly increasing per doc.
pub type Seq = u64;

/// What is stored for one doc: the latest snapshot and the log entries written after it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StoredDoc {
    /// Full-state update (yrs v1 encoding) covering every log entry up to `snapshot_seq`.
    pub snapshot: Option<Vec<u8>>,
    /// Highest log sequence folded into `snapshot` (0 when there is none).
    pub snapshot_seq: Seq,
    /// Log entries after the snapshot, in append order.
    pub updates: Vec<(Seq, Vec<u8>)>,
}

/// Errors from a storage backend.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The underlying database reported an error.
    #[error("database error: {0}")]
    Database(String),
    /// The data directory or database file could not be opened or is not a database.
    #[error("cannot open storage at {path}: {reason}")]
    Open {
        /// Path that failed to open.
        path: String,
        /// Why.
        reason: String,
    },
    /// The store's worker has stopped (shutdown or crash); nothing more can be written.
    #[error("storage is closed")]
    Closed,
}

/// A durable home for documents.
///
/// Every method returns a `'static` future so callers never hold a borrow of the store
/// across an await, and implementations are free to do their I/O on threads of their own:
/// nothing here may block the async executor.
pub trait Store: Send + Sync + 'static {
    /// Loads a doc's snapshot and log tail. A doc that was never written loads as empty.
    fn load(&self, doc: &str) -> BoxFuture<'static, Result<StoredDoc, StoreError>>;

    /// Appends one update to the doc's log. Resolves once the entry is durable
    /// (committed and synced to disk), with the entry's sequence number.
    fn append(&self, doc: &str, update: Bytes) -> BoxFuture<'static, Result<Seq, StoreError>>;

    /// Atomically stores `snapshot` as the doc's full state and removes log entries `<= upto`.
    fn compact(
        &self,
        doc: &str,
        snapshot: Vec<u8>,
        upto: Seq,
    ) -> BoxFuture<'static, Result<(), StoreError>>;

    /// Removes a doc entirely (snapshot and log).
    fn delete(&self, doc: &str) -> BoxFuture<'static, Result<(), StoreError>>;

    /// Removes a whole workshop in one durable step (RGPD): every doc whose id is `wid` or starts
    /// with `{wid}.`, with its snapshot and log, and every metadata record whose key ends with
    /// `:{wid}` or whose value is exactly `wid` (credentials, join codes, rotated ones too).
    fn delete_workshop(&self, wid: &str) -> BoxFuture<'static, Result<(), StoreError>>;

    /// Keys of the metadata records that start with `prefix` (the retention sweep lists the
    /// workshops).
    fn meta_keys(&self, prefix: &str) -> BoxFuture<'static, Result<Vec<String>, StoreError>>;

    /// Ids of the docs starting with `prefix` that hold anything (a snapshot or log entries),
    /// sorted, at most [`LIST_DOCS_MAX`] (the facilitator lists a board's held docs with it).
    fn list_docs(&self, prefix: &str) -> BoxFuture<'static, Result<Vec<String>, StoreError>>;

    /// Reads a small metadata record (workshop registry, credentials), if present.
    fn get_meta(&self, key: &str) -> BoxFuture<'static, Result<Option<Vec<u8>>, StoreError>>;

    /// Durably writes a small metadata record, replacing any previous value.
    fn put_meta(&self, key: &str, value: Vec<u8>) -> BoxFuture<'static, Result<(), StoreError>>;

    /// Resolves when everything queued before the call is durable.
    fn flush(&self) -> BoxFuture<'static, Result<(), StoreError>>;

    /// Bytes stored for workshop `wid`: its own doc and every `{wid}.{bid}` board, snapshots and
    /// log entries (what the per-workshop quota counts).
    fn workshop_bytes(&self, wid: &str) -> BoxFuture<'static, Result<u64, StoreError>>;

    /// Counters and the commit-latency histogram, for `/metrics`.
    fn stats(&self) -> StoreStats;

    /// What the writer has accepted and not yet made durable, and whether that is past its
    /// high-water mark: the signal the HTTP layer reads before letting client updates in.
    fn backlog(&self) -> std::sync::Arc<Backlog>;

    /// Commits everything queued and closes the store; afterwards every call fails with
    /// [`StoreError::Closed`].
    fn shutdown(&self) -> BoxFuture<'static, Result<(), StoreError>>;
}
