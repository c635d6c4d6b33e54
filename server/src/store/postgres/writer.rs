//! The PostgreSQL engine of the group commit (`store::group_commit`): runs each batch in one
//! transaction, on the writer task.
//!
//! Sequence numbers come from `docs.next_seq`, read and bumped under the doc row's lock
//! (`SELECT … FOR UPDATE`), held until `COMMIT`. Two nodes appending to one doc therefore
//! commit in the order they were numbered: a seq can never become visible after a higher one
//! of the same doc (the race `compact.rs` would otherwise lose updates to). The rows are locked
//! in one statement sorted by doc, so two batches touching the same docs cannot deadlock; a
//! deadlock or serialization failure reported anyway is retried.

use std::collections::{BTreeSet, HashMap, HashSet};

use bytes::Bytes;
use deadpool_postgres::Pool;
use tokio_postgres::error::SqlState;

use super::{db_error, pool_error, to_seq};
use crate::store::group_commit::{Applied, Engine};
use crate::store::StoreError;

/// Attempts of one batch when PostgreSQL reports a deadlock or serialization failure.
const ATTEMPTS: usize = 3;

/// One write, as the writer task runs it.
pub(super) enum Op {
    /// Append one update (answered with its sequence number).
    Append { doc: String, data: Bytes },
    /// Remove a doc's snapshot and log; its log starts again at 1.
    Delete { doc: String },
    /// Insert or replace a metadata record.
    PutMeta { key: String, value: Vec<u8> },
}

impl crate::store::backlog::Weigh for Op {
    fn weight(&self) -> u64 {
        let bytes = match self {
            Op::Append { doc, data } => doc.len() + data.len(),
            Op::Delete { doc } => doc.len(),
            Op::PutMeta { key, value } => key.len() + value.len(),
        };
        bytes as u64
    }
}

pub(super) struct Writer {
    pool: Pool,
    /// Docs known to have a `docs` row (rows are never removed), so the insert that creates
    /// one runs only the first time this node writes a doc.
    known: HashSet<String>,
}

impl Writer {
    pub(super) fn new(pool: Pool) -> Self {
        Self {
            pool,
            known: HashSet::new(),
        }
    }
}

impl Engine for Writer {
    type Op = Op;

    /// Retries the whole batch when PostgreSQL reports a deadlock or serialization failure.
    async fn apply(&mut self, ops: &[&Op]) -> Result<Applied, StoreError> {
        let mut attempt = 1;
        loop {
            match self.attempt(ops).await {
                Err(Retry::Transient(reason)) if attempt < ATTEMPTS => {
                    tracing::debug!(attempt, %reason, "group commit retried");
                    attempt += 1;
                }
                outcome => return outcome.map_err(Retry::into_store_error),
            }
        }
    }

    fn rolled_back(&mut self, _ops: &[&Op]) {
        // Nothing cached depends on the batch: `known` only grows once a commit returned, and
        // sequence numbers live in the database.
    }

    async fn close(self) -> Result<(), StoreError> {
        Ok(())
    }
}

impl Writer {
    /// One attempt at the whole batch in one transaction.
    async fn attempt(&mut self, batch: &[&Op]) -> Result<Applied, Retry> {
        let locked: BTreeSet<&str> = batch
            .iter()
            .filter_map(|op| match op {
                Op::Append { doc, .. } | Op::Delete { doc } => Some(doc.as_str()),
                Op::PutMeta { .. } => None,
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
        // A deleted workshop stays deleted: another node may still hold one of its rooms and
        // append (or flush on eviction) after the deletion committed. Checked here, after the
        // row locks, so a deletion that committed while this batch waited is seen; its docs'
        // appends are dropped (nobody can open them any more) and the row the insert above may
        // have re-created is removed.
        let gone = deleted_docs(&tx, &docs).await?;
        if !gone.is_empty() {
            tracing::info!(docs = ?gone, "dropping writes to deleted workshops");
            tx.execute("DELETE FROM docs WHERE doc = ANY($1)", &[&gone])
                .await
                .map_err(Retry::from)?;
            for doc in &gone {
                next.remove(*doc);
            }
        }
        let mut applied = Applied::default();
        let mut pending = PendingAppends::default();
        for op in batch {
            match op {
                Op::Append { doc, .. } if gone.contains(&doc.as_str()) => applied.seqs.push(0),
                Op::Delete { doc } if gone.contains(&doc.as_str()) => {}
                Op::Append { doc, data } => {
                    let seq = next.entry(doc.clone()).or_insert(1);
                    pending.push(doc, *seq, data);
                    applied.seqs.push(to_seq(*seq).map_err(Retry::Fatal)?);
                    applied.rows += 1;
                    applied.bytes += u64::try_from(data.len()).unwrap_or(u64::MAX);
                    *seq += 1;
                }
                Op::Delete { doc } => {
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
                Op::PutMeta { key, value } => {
                    tx.execute(
                        "INSERT INTO meta (key, value) VALUES ($1, $2)
                         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        &[key, value],
                    )
                    .await
                    .map_err(Retry::from)?;
                }
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
        self.known.extend(
            docs.iter()
                .filter(|d| !gone.contains(*d))
                .map(|d| (*d).to_owned()),
        );
        Ok(applied)
    }
}

/// The docs among `docs` whose workshop was deleted (`{wid}`, `{wid}.…`).
async fn deleted_docs<'d>(
    tx: &deadpool_postgres::Transaction<'_>,
    docs: &[&'d str],
) -> Result<Vec<&'d str>, Retry> {
    if docs.is_empty() {
        return Ok(Vec::new());
    }
    let workshops: Vec<String> = docs.iter().map(|d| workshop_of(d)).collect();
    let rows = tx
        .query(
            "SELECT wid FROM deleted_workshops WHERE wid = ANY($1)",
            &[&workshops],
        )
        .await
        .map_err(Retry::from)?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let deleted: BTreeSet<String> = rows.iter().map(|r| r.get::<_, String>(0)).collect();
    Ok(docs
        .iter()
        .copied()
        .filter(|d| deleted.contains(&workshop_of(d)))
        .collect())
}

/// The workshop part of a stored doc id (`doc_id` owns the convention; an id it refuses, which
/// no room ever stores, is its own workshop).
fn workshop_of(doc: &str) -> String {
    crate::doc_id::DocId::parse(doc).map_or_else(|_| doc.to_owned(), |id| id.workshop().to_owned())
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
