//! The SQLite engine of the group commit (`store::group_commit`): sole owner of the write
//! connection, it runs each batch in one `IMMEDIATE` transaction on the writer thread.

use std::collections::HashMap;

use bytes::Bytes;
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use super::database_error;
use crate::store::group_commit::{Applied, Engine};
use crate::store::{Seq, StoreError};

/// One write, as the writer thread runs it.
pub(super) enum Op {
    /// Append one update to a doc's log (answered with its sequence number).
    Append { doc: String, data: Bytes },
    /// Replace a doc's snapshot and drop the log entries it covers.
    Compact {
        doc: String,
        snapshot: Vec<u8>,
        upto: Seq,
    },
    /// Remove a doc's snapshot and log.
    Delete { doc: String },
    /// Remove every doc of a workshop and the metadata records naming it.
    DeleteWorkshop { wid: String },
    /// Insert or replace a metadata record.
    PutMeta { key: String, value: Vec<u8> },
    /// Run raw SQL inside the next group commit (tests use it to provoke storage errors).
    #[cfg(test)]
    Exec { sql: String },
}

impl crate::store::backlog::Weigh for Op {
    fn weight(&self) -> u64 {
        let bytes = match self {
            Op::Append { doc, data } => doc.len() + data.len(),
            Op::Compact { doc, snapshot, .. } => doc.len() + snapshot.len(),
            Op::Delete { doc } => doc.len(),
            Op::DeleteWorkshop { wid } => wid.len(),
            Op::PutMeta { key, value } => key.len() + value.len(),
            #[cfg(test)]
            Op::Exec { sql } => sql.len(),
        };
        bytes as u64
    }
}

impl Op {
    fn doc(&self) -> Option<&str> {
        match self {
            Op::Append { doc, .. } | Op::Compact { doc, .. } | Op::Delete { doc } => Some(doc),
            _ => None,
        }
    }
}

/// State owned by the writer thread.
pub(super) struct Writer {
    conn: Connection,
    /// The database file, which names this store to the test hooks (`store::faults`).
    #[cfg_attr(not(feature = "test-hooks"), allow(dead_code))]
    path: std::path::PathBuf,
    /// Next sequence number of each doc seen since open. Only updated after a commit, so a
    /// rolled-back batch leaves no gap and no reuse.
    next_seq: HashMap<String, Seq>,
}

impl Writer {
    pub(super) fn new(conn: Connection, path: std::path::PathBuf) -> Self {
        Self {
            conn,
            path,
            next_seq: HashMap::new(),
        }
    }
}

impl Engine for Writer {
    type Op = Op;

    async fn apply(&mut self, ops: &[&Op]) -> Result<Applied, StoreError> {
        // A slow disk, for the tests: this is the writer's own thread, which a slow fsync
        // would block just the same.
        #[cfg(feature = "test-hooks")]
        if let Some(delay) = crate::store::faults::commit_delay(&self.path, ops) {
            std::thread::sleep(delay);
        }
        let (applied, next_seq) =
            apply(&mut self.conn, &self.next_seq, ops).map_err(|e| database_error(&e))?;
        self.next_seq.extend(next_seq);
        Ok(applied)
    }

    fn rolled_back(&mut self, ops: &[&Op]) {
        // Re-read these docs' next seq from disk next time: after an I/O error inside COMMIT,
        // SQLite may yet find the batch's WAL frames valid, and a cached seq would then collide
        // with a stored one forever.
        for doc in ops.iter().filter_map(|op| op.doc()) {
            self.next_seq.remove(doc);
        }
    }

    /// Checkpoints the WAL into the main file and closes the connection.
    async fn close(self) -> Result<(), StoreError> {
        let checkpoint = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| {
                row.get::<_, i64>(0)
            });
        match checkpoint {
            Ok(0) => {}
            Ok(_) => {
                tracing::warn!("WAL checkpoint at shutdown could not complete (database busy)")
            }
            Err(error) => tracing::warn!(error = %error, "WAL checkpoint at shutdown failed"),
        }
        self.conn
            .close()
            .map_err(|(_, error)| database_error(&error))?;
        tracing::info!("store closed");
        Ok(())
    }
}

/// Runs every command of a batch in one `IMMEDIATE` transaction and commits it.
///
/// Any error rolls the whole batch back (the `Transaction` rolls back on drop): the errors that
/// can happen here (busy, disk full, I/O) concern the database, not one command, because the
/// handle validates arguments before they are queued.
///
/// Returns, beside what the batch produced, the next sequence numbers of the docs it touched,
/// to publish only after the commit.
fn apply(
    conn: &mut Connection,
    committed_next: &HashMap<String, Seq>,
    batch: &[&Op],
) -> rusqlite::Result<(Applied, HashMap<String, Seq>)> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut applied = Applied::default();
    let mut touched: HashMap<String, Seq> = HashMap::new();
    for op in batch {
        match op {
            Op::Append { doc, data } => {
                let seq = next_seq(&tx, committed_next, &touched, doc)?;
                tx.prepare_cached("INSERT INTO updates (doc, seq, data) VALUES (?1, ?2, ?3)")?
                    .execute(params![doc, seq, &data[..]])?;
                touched.insert(doc.clone(), seq.saturating_add(1));
                applied.seqs.push(seq);
                applied.rows += 1;
                applied.bytes += u64::try_from(data.len()).unwrap_or(u64::MAX);
            }
            Op::Compact {
                doc,
                snapshot,
                upto,
            } => {
                // A snapshot older than the stored one would lose entries it does not cover,
                // so it is ignored; the entries it covers are already gone.
                let written = tx
                    .prepare_cached(
                        "INSERT INTO docs (doc, snapshot, snapshot_seq) VALUES (?1, ?2, ?3)
                         ON CONFLICT (doc) DO UPDATE
                         SET snapshot = excluded.snapshot, snapshot_seq = excluded.snapshot_seq
                         WHERE excluded.snapshot_seq >= docs.snapshot_seq",
                    )?
                    .execute(params![doc, snapshot, upto])?;
                if written == 0 {
                    tracing::warn!(doc = %doc, upto, "stale compaction ignored");
                }
                tx.prepare_cached("DELETE FROM updates WHERE doc = ?1 AND seq <= ?2")?
                    .execute(params![doc, upto])?;
                let next = next_seq(&tx, committed_next, &touched, doc)?;
                touched.insert(doc.clone(), next.max(upto.saturating_add(1)));
                applied.compactions += 1;
            }
            Op::Delete { doc } => {
                tx.prepare_cached("DELETE FROM docs WHERE doc = ?1")?
                    .execute(params![doc])?;
                tx.prepare_cached("DELETE FROM updates WHERE doc = ?1")?
                    .execute(params![doc])?;
                // A deleted doc is a new doc: its log starts again at 1.
                touched.insert(doc.clone(), 1);
            }
            Op::DeleteWorkshop { wid } => {
                // `{wid}` and `{wid}.{bid}`: ids never hold a '.', so the prefix is exact.
                let boards = format!("{wid}.");
                let docs: Vec<String> = tx
                    .prepare_cached(
                        "SELECT doc FROM docs WHERE doc = ?1 OR substr(doc, 1, length(?2)) = ?2
                         UNION SELECT doc FROM updates
                         WHERE doc = ?1 OR substr(doc, 1, length(?2)) = ?2",
                    )?
                    .query_map(params![wid, boards], |row| row.get(0))?
                    .collect::<Result<_, _>>()?;
                for doc in docs {
                    tx.prepare_cached("DELETE FROM docs WHERE doc = ?1")?
                        .execute(params![doc])?;
                    tx.prepare_cached("DELETE FROM updates WHERE doc = ?1")?
                        .execute(params![doc])?;
                    touched.insert(doc, 1);
                }
                // Records naming the workshop: keyed `…:{wid}`, or holding its id (join codes,
                // including rotated ones).
                let suffix = format!(":{wid}");
                tx.prepare_cached(
                    "DELETE FROM meta WHERE substr(key, -length(?1)) = ?1 OR value = ?2",
                )?
                .execute(params![suffix, wid.as_bytes()])?;
            }
            Op::PutMeta { key, value } => {
                tx.prepare_cached(
                    "INSERT INTO meta (key, value) VALUES (?1, ?2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                )?
                .execute(params![key, value])?;
            }
            #[cfg(test)]
            Op::Exec { sql } => tx.execute_batch(sql)?,
        }
    }
    tx.commit()?;
    Ok((applied, touched))
}

/// The next sequence number of `doc`: from this batch, else from the committed cache, else
/// from disk (`max(snapshot_seq, max(seq)) + 1`).
fn next_seq(
    tx: &Transaction<'_>,
    committed: &HashMap<String, Seq>,
    in_batch: &HashMap<String, Seq>,
    doc: &str,
) -> rusqlite::Result<Seq> {
    if let Some(next) = in_batch.get(doc).or_else(|| committed.get(doc)) {
        return Ok(*next);
    }
    let snapshot_seq: Option<Seq> = tx
        .prepare_cached("SELECT snapshot_seq FROM docs WHERE doc = ?1")?
        .query_row(params![doc], |row| row.get(0))
        .optional()?;
    let last_seq: Option<Seq> = tx
        .prepare_cached("SELECT max(seq) FROM updates WHERE doc = ?1")?
        .query_row(params![doc], |row| row.get(0))?;
    Ok(snapshot_seq
        .unwrap_or(0)
        .max(last_seq.unwrap_or(0))
        .saturating_add(1))
}
