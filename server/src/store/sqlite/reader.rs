//! The reader thread: owns a second, read-only connection that serves loads and metadata reads.
//!
//! Reads get a connection and a thread of their own rather than a turn on the writer thread
//! between batches: in WAL mode a reader works on the last committed state while the writer
//! appends to the log, so a multi-megabyte snapshot load never delays a group commit (and
//! with it every client waiting for its update to be relayed), and a burst of commits never
//! starves a room that is loading.

use std::sync::atomic::AtomicBool;
use std::sync::mpsc::Receiver;
use std::sync::Arc;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use tokio::sync::oneshot;

use super::database_error;
use crate::store::group_commit::{MarkClosedOnExit, Reply};
use crate::store::{Seq, StoredDoc};

/// A request to the reader thread.
pub(super) enum Command {
    /// Load a doc's snapshot and log tail.
    Load {
        doc: String,
        reply: Reply<StoredDoc>,
    },
    /// Read one metadata record.
    GetMeta {
        key: String,
        reply: Reply<Option<Vec<u8>>>,
    },
    /// Keys of the metadata records starting with `prefix`.
    MetaKeys {
        prefix: String,
        reply: Reply<Vec<String>>,
    },
    /// Ids of the docs starting with `prefix`.
    ListDocs {
        prefix: String,
        reply: Reply<Vec<String>>,
    },
    /// Sum the stored bytes of a workshop's docs.
    WorkshopBytes { wid: String, reply: Reply<u64> },
    /// Answer the reads queued before, then close the connection and stop.
    Stop { reply: oneshot::Sender<()> },
}

/// Serves reads until [`Command::Stop`] or until every sender is gone.
pub(super) fn run(mut conn: Connection, commands: Receiver<Command>, closed: Arc<AtomicBool>) {
    let _exit = MarkClosedOnExit(closed);
    while let Ok(command) = commands.recv() {
        match command {
            Command::Load { doc, reply } => {
                let outcome = load(&mut conn, &doc).map_err(|error| {
                    tracing::warn!(doc = %doc, error = %error, "loading a doc failed");
                    database_error(&error)
                });
                drop(reply.send(outcome));
            }
            Command::GetMeta { key, reply } => {
                let outcome = conn
                    .prepare_cached("SELECT value FROM meta WHERE key = ?1")
                    .and_then(|mut statement| {
                        statement
                            .query_row(params![key], |row| row.get(0))
                            .optional()
                    })
                    .map_err(|error| database_error(&error));
                drop(reply.send(outcome));
            }
            Command::MetaKeys { prefix, reply } => {
                let outcome = conn
                    .prepare_cached("SELECT key FROM meta WHERE substr(key, 1, length(?1)) = ?1")
                    .and_then(|mut statement| {
                        statement
                            .query_map(params![prefix], |row| row.get(0))
                            .and_then(|rows| rows.collect::<Result<Vec<String>, _>>())
                    })
                    .map_err(|error| database_error(&error));
                drop(reply.send(outcome));
            }
            Command::ListDocs { prefix, reply } => {
                let outcome = list_docs(&conn, &prefix).map_err(|e| database_error(&e));
                drop(reply.send(outcome));
            }
            Command::WorkshopBytes { wid, reply } => {
                let outcome = workshop_bytes(&mut conn, &wid).map_err(|e| database_error(&e));
                drop(reply.send(outcome));
            }
            Command::Stop { reply } => {
                if let Err((_, error)) = conn.close() {
                    tracing::warn!(error = %error, "closing the read connection failed");
                }
                // Nobody waiting any more is fine: the thread stops either way.
                let _ = reply.send(());
                return;
            }
        }
    }
}

/// Reads the snapshot and the log tail in one read transaction, so a compaction committed
/// between the two queries cannot make the tail miss entries the snapshot does not cover.
fn load(conn: &mut Connection, doc: &str) -> rusqlite::Result<StoredDoc> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
    let (snapshot, snapshot_seq) = tx
        .prepare_cached("SELECT snapshot, snapshot_seq FROM docs WHERE doc = ?1")?
        .query_row(params![doc], |row| {
            Ok((row.get::<_, Option<Vec<u8>>>(0)?, row.get::<_, Seq>(1)?))
        })
        .optional()?
        .unwrap_or((None, 0));
    let updates = tx
        .prepare_cached("SELECT seq, data FROM updates WHERE doc = ?1 AND seq > ?2 ORDER BY seq")?
        .query_map(params![doc, snapshot_seq], |row| {
            Ok((row.get::<_, Seq>(0)?, row.get::<_, Vec<u8>>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    tx.finish()?;
    Ok(StoredDoc {
        snapshot,
        snapshot_seq,
        updates,
    })
}

/// Docs with a snapshot or log entries whose id starts with `prefix`. Doc ids are ASCII, so
/// the prefix's range `[prefix, prefix with its last byte + 1)` uses the primary keys.
fn list_docs(conn: &Connection, prefix: &str) -> rusqlite::Result<Vec<String>> {
    let hi = match prefix.as_bytes().last() {
        Some(&b) if b < 0x7f && prefix.is_ascii() => {
            let mut hi = prefix[..prefix.len() - 1].to_string();
            hi.push(char::from(b + 1));
            hi
        }
        // Not a doc id prefix: nothing can match (an empty prefix lists nothing either).
        _ => return Ok(Vec::new()),
    };
    let limit = i64::try_from(crate::store::LIST_DOCS_MAX).unwrap_or(i64::MAX);
    conn.prepare_cached(
        "SELECT doc FROM docs WHERE doc >= ?1 AND doc < ?2 AND snapshot IS NOT NULL \
         UNION SELECT DISTINCT doc FROM updates WHERE doc >= ?1 AND doc < ?2 \
         ORDER BY 1 LIMIT ?3",
    )?
    .query_map(params![prefix, hi, limit], |row| row.get(0))?
    .collect()
}

/// Snapshots and log entries of `{wid}` and `{wid}.*`, in one read transaction. Doc ids are
/// `[A-Za-z0-9._-]`, so the range `[wid., wid/)` is exactly the boards (`/` follows `.`).
fn workshop_bytes(conn: &mut Connection, wid: &str) -> rusqlite::Result<u64> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
    let lo = format!("{wid}.");
    let hi = format!("{wid}/");
    let snapshots: i64 = tx
        .prepare_cached(
            "SELECT COALESCE(SUM(LENGTH(snapshot)), 0) FROM docs \
             WHERE doc = ?1 OR (doc >= ?2 AND doc < ?3)",
        )?
        .query_row(params![wid, lo, hi], |row| row.get(0))?;
    let log: i64 = tx
        .prepare_cached(
            "SELECT COALESCE(SUM(LENGTH(data)), 0) FROM updates \
             WHERE doc = ?1 OR (doc >= ?2 AND doc < ?3)",
        )?
        .query_row(params![wid, lo, hi], |row| row.get(0))?;
    tx.finish()?;
    Ok(u64::try_from(snapshots.saturating_add(log)).unwrap_or(0))
}
