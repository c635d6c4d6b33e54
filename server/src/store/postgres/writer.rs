//! The writer task: turns queued commands into group commits, one transaction per batch.
//!
//! Sequence numbers come from `docs.next_seq`, read and bumped under the doc row's lock
//! (`SELECT … FOR UPDATE`), held until `COMMIT`. Two nodes appending to one doc therefore
//! commit in the order they were numbered: a seq can never become visible after a higher one
//! of the same doc (the race `compact.rs` would otherwise lose updates to). The rows are locked
//! in one statement sorted by doc, so two batches touching the same docs cannot deadlock; a
//! deadlock or serialization failure reported anyway is retried.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use deadpool_postgres::Pool;
use tokio::sync::mpsc;
use tokio_postgres::error::SqlState;

use super::{db_error, pool_error, to_seq, Reply};
use crate::store::sqlite::stats::Counters;
use crate::store::{Seq, StoreError};

/// Attempts of one batch when PostgreSQL reports a deadlock or serialization failure.
const ATTEMPTS: usize = 3;

/// A request to the writer task, answered once the transaction holding it has committed.
pub(super) enum Command {
    /// Append one update; replies with its sequence number.
    Append {
        doc: String,
        data: Bytes,
        reply: Reply<Seq>,
    },
    /// Remove a doc's snapshot and log; its log starts again at 1.
    Delete { doc: String, reply: Reply<()> },
    /// Insert or replace a metadata record.
    PutMeta {
        key: String,
        value: Vec<u8>,
        reply: Reply<()>,
    },
    /// Reply once everything queued before is durable.
    Flush { reply: Reply<()> },
    /// Commit what is queued before, then stop.
    Shutdown { reply: Reply<()> },
}

impl Command {
    fn fail(self, error: &StoreError) {
        fn err<T>(error: &StoreError) -> Result<T, StoreError> {
            Err(StoreError::Database(error.to_string()))
        }
        match self {
            Command::Append { reply, .. } => drop(reply.send(err(error))),
            Command::Delete { reply, .. }
            | Command::PutMeta { reply, .. }
            | Command::Flush { reply }
            | Command::Shutdown { reply } => drop(reply.send(err(error))),
        }
    }
}

pub(super) struct Writer {
    pool: Pool,
    max_batch: usize,
    counters: Arc<Counters>,
    closed: Arc<AtomicBool>,
    /// Docs known to have a `docs` row (rows are never removed), so the insert that creates
    /// one runs only the first time this node writes a doc.
    known: HashSet<String>,
}

impl Writer {
    pub(super) fn new(
        pool: Pool,
        max_batch: usize,
        counters: Arc<Counters>,
        closed: Arc<AtomicBool>,
    ) -> Self {
        Self {
            pool,
            max_batch: max_batch.max(1),
            counters,
            closed,
            known: HashSet::new(),
        }
    }

    /// Serves commands until [`Command::Shutdown`] or until every handle is gone.
    pub(super) async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        while let Some(first) = commands.recv().await {
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
                next = commands.try_recv().ok();
            }
            self.commit_batch(batch).await;
            if let Some(reply) = shutdown {
                self.closed.store(true, Ordering::Release);
                drop(reply.send(Ok(())));
                return;
            }
        }
        self.closed.store(true, Ordering::Release);
    }

    async fn commit_batch(&mut self, batch: Vec<Command>) {
        if batch.iter().all(|c| matches!(c, Command::Flush { .. })) {
            for command in batch {
                if let Command::Flush { reply } = command {
                    drop(reply.send(Ok(())));
                }
            }
            return;
        }
        let started = Instant::now();
        let mut outcome = Err(Retry::Fatal(StoreError::Closed));
        for attempt in 1..=ATTEMPTS {
            outcome = self.apply(&batch).await;
            match &outcome {
                Err(Retry::Transient(reason)) if attempt < ATTEMPTS => {
                    tracing::debug!(attempt, %reason, "group commit retried");
                }
                _ => break,
            }
        }
        match outcome {
            Ok(applied) => {
                self.counters
                    .record_commit(started.elapsed(), applied.rows, applied.bytes, 0);
                let mut seqs = applied.seqs.into_iter();
                for command in batch {
                    answer(command, &mut seqs);
                }
            }
            Err(error) => {
                let error = error.into_store_error();
                self.counters.record_failed_batch();
                tracing::warn!(commands = batch.len(), error = %error, "group commit failed and was rolled back");
                for command in batch {
                    command.fail(&error);
                }
            }
        }
    }

    /// One attempt at the whole batch in one transaction.
    async fn apply(&mut self, batch: &[Command]) -> Result<Applied, Retry> {
        let locked: BTreeSet<&str> = batch
            .iter()
            .filter_map(|c| match c {
                Command::Append { doc, .. } | Command::Delete { doc, .. } => Some(doc.as_str()),
                _ => None,
            })
            .collect();
        let mut client = self
            .pool
            .get()
            .await
            .map_err(|e| Retry::Fatal(pool_error(&e)))?;
        // Rows are created outside the batch's transaction: an uncommitted insert would be a
        // lock taken before the sorted `FOR UPDATE` below, and two batches could then deadlock.
        let missing: Vec<&str> = locked
            .iter()
            .copied()
            .filter(|doc| !self.known.contains(*doc))
            .collect();
        if !missing.is_empty() {
            client
                .execute(
                    "INSERT INTO docs (doc) SELECT unnest($1::text[]) ON CONFLICT (doc) DO NOTHING",
                    &[&missing],
                )
                .await
                .map_err(Retry::from)?;
        }
        let tx = client.transaction().await.map_err(Retry::from)?;
        let docs: Vec<&str> = locked.iter().copied().collect();
        let mut next: HashMap<String, i64> = HashMap::new();
        if !docs.is_empty() {
            let rows = tx
                .query(
                    "SELECT doc, next_seq FROM docs WHERE doc = ANY($1) ORDER BY doc FOR UPDATE",
                    &[&docs],
                )
                .await
                .map_err(Retry::from)?;
            for row in rows {
                next.insert(row.get(0), row.get(1));
            }
        }
        let mut applied = Applied::default();
        let mut pending = PendingAppends::default();
        for command in batch {
            match command {
                Command::Append { doc, data, .. } => {
                    let seq = next.entry(doc.clone()).or_insert(1);
                    pending.push(doc, *seq, data);
                    applied.seqs.push(to_seq(*seq).map_err(Retry::Fatal)?);
                    applied.rows += 1;
                    applied.bytes += u64::try_from(data.len()).unwrap_or(u64::MAX);
                    *seq += 1;
                }
                Command::Delete { doc, .. } => {
                    pending.insert(&tx).await?;
                    tx.execute("DELETE FROM updates WHERE doc = $1", &[doc])
                        .await
                        .map_err(Retry::from)?;
                    tx.execute(
                        "UPDATE docs SET snapshot = NULL, snapshot_seq = 0 WHERE doc = $1",
                        &[doc],
                    )
                    .await
                    .map_err(Retry::from)?;
                    next.insert(doc.clone(), 1);
                }
                Command::PutMeta { key, value, .. } => {
                    tx.execute(
                        "INSERT INTO meta (key, value) VALUES ($1, $2)
                         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        &[key, value],
                    )
                    .await
                    .map_err(Retry::from)?;
                }
                Command::Flush { .. } | Command::Shutdown { .. } => {}
            }
        }
        pending.insert(&tx).await?;
        if !next.is_empty() {
            let (names, values): (Vec<&str>, Vec<i64>) =
                next.iter().map(|(doc, seq)| (doc.as_str(), *seq)).unzip();
            tx.execute(
                "UPDATE docs SET next_seq = v.next FROM unnest($1::text[], $2::bigint[]) AS v(doc, next)
                 WHERE docs.doc = v.doc",
                &[&names, &values],
            )
            .await
            .map_err(Retry::from)?;
        }
        tx.commit().await.map_err(Retry::from)?;
        self.known.extend(docs.iter().map(|d| (*d).to_owned()));
        Ok(applied)
    }
}

/// Appends gathered for one bulk insert.
#[derive(Default)]
struct PendingAppends<'a> {
    docs: Vec<&'a str>,
    seqs: Vec<i64>,
    data: Vec<&'a [u8]>,
}

impl<'a> PendingAppends<'a> {
    fn push(&mut self, doc: &'a str, seq: i64, data: &'a Bytes) {
        self.docs.push(doc);
        self.seqs.push(seq);
        self.data.push(&data[..]);
    }

    async fn insert(&mut self, tx: &deadpool_postgres::Transaction<'_>) -> Result<(), Retry> {
        if self.docs.is_empty() {
            return Ok(());
        }
        tx.execute(
            "INSERT INTO updates (doc, seq, data)
             SELECT * FROM unnest($1::text[], $2::bigint[], $3::bytea[])",
            &[&self.docs, &self.seqs, &self.data],
        )
        .await
        .map_err(Retry::from)?;
        self.docs.clear();
        self.seqs.clear();
        self.data.clear();
        Ok(())
    }
}

#[derive(Default)]
struct Applied {
    seqs: Vec<Seq>,
    rows: u64,
    bytes: u64,
}

/// Why an attempt failed: worth another attempt, or not.
enum Retry {
    Transient(String),
    Fatal(StoreError),
}

impl Retry {
    fn into_store_error(self) -> StoreError {
        match self {
            Retry::Transient(reason) => StoreError::Database(reason),
            Retry::Fatal(error) => error,
        }
    }
}

impl From<tokio_postgres::Error> for Retry {
    fn from(error: tokio_postgres::Error) -> Self {
        match error.code() {
            Some(code)
                if *code == SqlState::T_R_DEADLOCK_DETECTED
                    || *code == SqlState::T_R_SERIALIZATION_FAILURE =>
            {
                Retry::Transient(super::pg_reason(&error))
            }
            _ => Retry::Fatal(db_error(&error)),
        }
    }
}

fn answer(command: Command, seqs: &mut impl Iterator<Item = Seq>) {
    match command {
        Command::Append { reply, .. } => {
            let outcome = seqs.next().ok_or_else(|| {
                StoreError::Database("append committed without a sequence number".to_owned())
            });
            drop(reply.send(outcome));
        }
        Command::Delete { reply, .. }
        | Command::PutMeta { reply, .. }
        | Command::Flush { reply }
        | Command::Shutdown { reply } => drop(reply.send(Ok(()))),
    }
}
