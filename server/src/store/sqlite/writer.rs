//! The writer thread: sole owner of the write connection, turning queued commands into group commits.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use super::stats::Counters;
use super::{database_error, Reply};
use crate::store::{Seq, StoreError};

/// A request to the writer thread. Each carries the channel its outcome is sent on, which is
/// only used once the transaction holding the command has committed (or failed).
pub(super) enum Command {
    /// Append one update to a doc's log; replies with its sequence number.
    Append {
        doc: String,
        data: Bytes,
        reply: Reply<Seq>,
    },
    /// Replace a doc's snapshot and drop the log entries it covers.
    Compact {
        doc: String,
        snapshot: Vec<u8>,
        upto: Seq,
        reply: Reply<()>,
    },
    /// Remove a doc's snapshot and log.
    Delete { doc: String, reply: Reply<()> },
    /// Remove every doc of a workshop and the metadata records naming it.
    DeleteWorkshop { wid: String, reply: Reply<()> },
    /// Insert or replace a metadata record.
    PutMeta {
        key: String,
        value: Vec<u8>,
        reply: Reply<()>,
    },
    /// Reply once everything queued before is durable.
    Flush { reply: Reply<()> },
    /// Commit what is queued before, checkpoint the WAL, close the connection and stop.
    Shutdown { reply: Reply<()> },
    /// Run raw SQL inside the next group commit (tests use it to provoke storage errors).
    #[cfg(test)]
    Exec { sql: String, reply: Reply<()> },
}

impl Command {
    fn writes(&self) -> bool {
        match self {
            Command::Flush { .. } | Command::Shutdown { .. } => false,
            #[cfg(test)]
            Command::Exec { .. } => true,
            Command::Append { .. }
            | Command::Compact { .. }
            | Command::Delete { .. }
            | Command::DeleteWorkshop { .. }
            | Command::PutMeta { .. } => true,
        }
    }

    fn doc(&self) -> Option<&str> {
        match self {
            Command::Append { doc, .. }
            | Command::Compact { doc, .. }
            | Command::Delete { doc, .. } => Some(doc),
            _ => None,
        }
    }

    /// Answers the command with a database error.
    fn fail(self, reason: &str) {
        fn error<T>(reason: &str) -> Result<T, StoreError> {
            Err(StoreError::Database(reason.to_owned()))
        }
        // A waiter that gave up (dropped its future) is not an error worth reporting.
        match self {
            Command::Append { reply, .. } => drop(reply.send(error(reason))),
            Command::Compact { reply, .. }
            | Command::Delete { reply, .. }
            | Command::DeleteWorkshop { reply, .. }
            | Command::PutMeta { reply, .. }
            | Command::Flush { reply }
            | Command::Shutdown { reply } => drop(reply.send(error(reason))),
            #[cfg(test)]
            Command::Exec { reply, .. } => drop(reply.send(error(reason))),
        }
    }
}

/// State owned by the writer thread.
pub(super) struct Writer {
    conn: Connection,
    max_batch: usize,
    counters: Arc<Counters>,
    closed: Arc<AtomicBool>,
    /// Next sequence number of each doc seen since open. Only updated after a commit, so a
    /// rolled-back batch leaves no gap and no reuse.
    next_seq: HashMap<String, Seq>,
}

impl Writer {
    pub(super) fn new(
        conn: Connection,
        max_batch: usize,
        counters: Arc<Counters>,
        closed: Arc<AtomicBool>,
    ) -> Self {
        Self {
            conn,
            max_batch: max_batch.max(1),
            counters,
            closed,
            next_seq: HashMap::new(),
        }
    }

    /// Serves commands until [`Command::Shutdown`] or until every sender is gone.
    ///
    /// When the last store handle is dropped the channel disconnects only after the commands
    /// already queued have been received, so they are still committed and answered.
    pub(super) fn run(mut self, commands: Receiver<Command>) {
        let _exit = MarkClosedOnExit(Arc::clone(&self.closed));
        while let Ok(first) = commands.recv() {
            let mut batch = Vec::new();
            let mut shutdown = None;
            let mut next = Some(first);
            while let Some(command) = next.take() {
                if let Command::Shutdown { reply } = command {
                    shutdown = Some(reply);
                    break;
                }
                batch.push(command);
                if batch.len() >= self.max_batch {
                    break;
                }
                // Empty or disconnected: either way the batch is complete.
                next = commands.try_recv().ok();
            }
            self.commit_batch(batch);
            if let Some(reply) = shutdown {
                // Commands queued behind the shutdown are dropped with the receiver when this
                // thread returns; their waiters see `StoreError::Closed`.
                let outcome = self.close();
                drop(reply.send(outcome));
                return;
            }
        }
        tracing::debug!("every store handle dropped; writer thread exits");
    }

    fn commit_batch(&mut self, batch: Vec<Command>) {
        if batch.is_empty() {
            return;
        }
        if !batch.iter().any(Command::writes) {
            // Only flushes: everything before them was committed by earlier batches.
            for command in batch {
                if let Command::Flush { reply } = command {
                    drop(reply.send(Ok(())));
                }
            }
            return;
        }
        let started = Instant::now();
        match apply(&mut self.conn, &self.next_seq, &batch) {
            Ok(applied) => {
                let latency = started.elapsed();
                self.counters.record_commit(
                    latency,
                    applied.rows,
                    applied.bytes,
                    applied.compactions,
                );
                self.next_seq.extend(applied.next_seq);
                tracing::trace!(
                    commands = batch.len(),
                    latency_us = latency.as_micros(),
                    "group commit"
                );
                let mut seqs = applied.seqs.into_iter();
                for command in batch {
                    answer(command, &mut seqs);
                }
            }
            Err(error) => {
                self.counters.record_failed_batch();
                tracing::warn!(
                    commands = batch.len(),
                    error = %error,
                    "group commit failed and was rolled back"
                );
                let reason = error.to_string();
                for command in batch {
                    // Re-read these docs' next seq from disk next time: after an I/O error
                    // inside COMMIT, SQLite may yet find the batch's WAL frames valid, and a
                    // cached seq would then collide with a stored one forever.
                    if let Some(doc) = command.doc() {
                        self.next_seq.remove(doc);
                    }
                    command.fail(&reason);
                }
            }
        }
    }

    fn close(self) -> Result<(), StoreError> {
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

/// What a committed batch produced.
struct Applied {
    /// Sequence numbers of the batch's appends, in order.
    seqs: Vec<Seq>,
    /// Next sequence numbers of the docs the batch touched, to publish after the commit.
    next_seq: HashMap<String, Seq>,
    rows: u64,
    bytes: u64,
    compactions: u64,
}

/// Runs every command of a batch in one `IMMEDIATE` transaction and commits it.
///
/// Any error rolls the whole batch back (the `Transaction` rolls back on drop): the errors that
/// can happen here (busy, disk full, I/O) concern the database, not one command, because the
/// handle validates arguments before they are queued.
fn apply(
    conn: &mut Connection,
    committed_next: &HashMap<String, Seq>,
    batch: &[Command],
) -> rusqlite::Result<Applied> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut applied = Applied {
        seqs: Vec::new(),
        next_seq: HashMap::new(),
        rows: 0,
        bytes: 0,
        compactions: 0,
    };
    for command in batch {
        match command {
            Command::Append { doc, data, .. } => {
                let seq = next_seq(&tx, committed_next, &applied.next_seq, doc)?;
                tx.prepare_cached("INSERT INTO updates (doc, seq, data) VALUES (?1, ?2, ?3)")?
                    .execute(params![doc, seq, &data[..]])?;
                applied.next_seq.insert(doc.clone(), seq.saturating_add(1));
                applied.seqs.push(seq);
                applied.rows += 1;
                applied.bytes += u64::try_from(data.len()).unwrap_or(u64::MAX);
            }
            Command::Compact {
                doc,
                snapshot,
                upto,
                ..
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
                let next = next_seq(&tx, committed_next, &applied.next_seq, doc)?;
                applied
                    .next_seq
                    .insert(doc.clone(), next.max(upto.saturating_add(1)));
                applied.compactions += 1;
            }
            Command::Delete { doc, .. } => {
                tx.prepare_cached("DELETE FROM docs WHERE doc = ?1")?
                    .execute(params![doc])?;
                tx.prepare_cached("DELETE FROM updates WHERE doc = ?1")?
                    .execute(params![doc])?;
                // A deleted doc is a new doc: its log starts again at 1.
                applied.next_seq.insert(doc.clone(), 1);
            }
            Command::DeleteWorkshop { wid, .. } => {
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
                    applied.next_seq.insert(doc, 1);
                }
                // Records naming the workshop: keyed `…:{wid}`, or holding its id (join codes,
                // including rotated ones).
                let suffix = format!(":{wid}");
                tx.prepare_cached(
                    "DELETE FROM meta WHERE substr(key, -length(?1)) = ?1 OR value = ?2",
                )?
                .execute(params![suffix, wid.as_bytes()])?;
            }
            Command::PutMeta { key, value, .. } => {
                tx.prepare_cached(
                    "INSERT INTO meta (key, value) VALUES (?1, ?2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                )?
                .execute(params![key, value])?;
            }
            #[cfg(test)]
            Command::Exec { sql, .. } => tx.execute_batch(sql)?,
            Command::Flush { .. } | Command::Shutdown { .. } => {}
        }
    }
    tx.commit()?;
    Ok(applied)
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

/// Sends a committed command's outcome to its waiter.
fn answer(command: Command, seqs: &mut impl Iterator<Item = Seq>) {
    let ok = || Ok(());
    match command {
        Command::Append { reply, .. } => {
            let outcome = seqs.next().ok_or_else(|| {
                StoreError::Database("append committed without a sequence number".to_owned())
            });
            drop(reply.send(outcome));
        }
        Command::Compact { reply, .. }
        | Command::Delete { reply, .. }
        | Command::DeleteWorkshop { reply, .. }
        | Command::PutMeta { reply, .. }
        | Command::Flush { reply }
        | Command::Shutdown { reply } => drop(reply.send(ok())),
        #[cfg(test)]
        Command::Exec { reply, .. } => drop(reply.send(ok())),
    }
}

/// Marks the store closed when the worker thread ends, whether it returns or panics, so later
/// calls fail fast with `StoreError::Closed`; waiters of unanswered commands see their reply
/// channel dropped, which the handle maps to the same error.
pub(super) struct MarkClosedOnExit(pub(super) Arc<AtomicBool>);

impl Drop for MarkClosedOnExit {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
        if std::thread::panicking() {
            tracing::error!(
                thread = std::thread::current().name().unwrap_or("store"),
                "store worker thread panicked; the store is closed"
            );
        }
    }
}
