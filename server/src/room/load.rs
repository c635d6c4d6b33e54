//! Loading, rebuilding and compacting a room's doc. Each heavy step — decoding stored bytes
//! into a doc, encoding a snapshot, running a read job — runs on tokio's blocking threads while
//! the room task waits, so the async threads never do it and nobody else touches the doc.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use yrs::{Doc, ReadTxn, StateVector, Transact};

use super::{CloseReason, Job, Room};
use crate::doc_id::DocId;
use crate::protocol;
use crate::store::{Seq, Store, StoreError, StoredDoc};

/// A doc as loaded from the store, with what the room needs to know about its log.
pub(crate) struct LoadedDoc {
    pub(super) doc: Doc,
    pub(super) log_entries: u64,
    pub(super) last_seq: Seq,
    pub(super) bytes: u64,
}

/// Builds a doc from what the store holds. Entries that no longer decode are reported and skipped.
pub(crate) fn doc_from_stored(doc_id: &str, stored: &StoredDoc) -> Doc {
    let doc = Doc::new();
    let parts = stored
        .snapshot
        .iter()
        .map(|s| (0, s.as_slice()))
        .chain(stored.updates.iter().map(|(seq, u)| (*seq, u.as_slice())));
    for (seq, bytes) in parts {
        let outcome = protocol::decode_update(bytes)
            .map_err(|e| e.to_string())
            .and_then(|u| {
                std::panic::catch_unwind(AssertUnwindSafe(|| {
                    doc.transact_mut()
                        .apply_update(u)
                        .map_err(|e| e.to_string())
                }))
                .unwrap_or_else(|_| Err("yrs panicked".to_string()))
            });
        if let Err(e) = outcome {
            tracing::error!(doc = doc_id, seq, error = %e, "skipping a stored update that no longer applies");
        }
    }
    doc
}

fn stored_bytes(stored: &StoredDoc) -> u64 {
    let snapshot = stored.snapshot.as_ref().map_or(0, |s| s.len() as u64);
    snapshot
        + stored
            .updates
            .iter()
            .map(|(_, u)| u.len() as u64)
            .sum::<u64>()
}

/// Loads a doc's stored state into a fresh `Doc`, decoding off the async threads.
pub(crate) async fn load(store: &Arc<dyn Store>, doc_id: &DocId) -> Result<LoadedDoc, StoreError> {
    let stored = store.load(doc_id.as_str()).await?;
    let log_entries = stored.updates.len() as u64;
    let last_seq = stored
        .updates
        .last()
        .map_or(stored.snapshot_seq, |(s, _)| *s);
    let bytes = stored_bytes(&stored);
    let doc = rebuild(doc_id.clone(), stored).await?;
    Ok(LoadedDoc {
        doc,
        log_entries,
        last_seq,
        bytes,
    })
}

async fn rebuild(doc_id: DocId, stored: StoredDoc) -> Result<Doc, StoreError> {
    tokio::task::spawn_blocking(move || doc_from_stored(doc_id.as_str(), &stored))
        .await
        .map_err(|e| StoreError::Database(format!("loading task failed: {e}")))
}

/// The whole doc as one update, encoded off the async threads.
async fn encode_snapshot(doc: &Doc) -> Option<Vec<u8>> {
    let doc = doc.clone();
    tokio::task::spawn_blocking(move || {
        doc.transact()
            .encode_state_as_update_v1(&StateVector::default())
    })
    .await
    .ok()
}

impl Room {
    /// Rebuilds the doc from the store (the pipeline asks once nothing is in flight): after a
    /// refused update left it changed, or a failed commit left it ahead of the disk. Connected
    /// clients never saw what the disk lacks, so they stay in step.
    pub(super) async fn reload(&mut self) {
        tracing::warn!(doc = %self.doc_id, "reloading the document from storage");
        let rebuilt = match self.store.load(self.doc_id.as_str()).await {
            Ok(stored) => {
                let bytes = stored_bytes(&stored);
                rebuild(self.doc_id.clone(), stored)
                    .await
                    .map(|d| (d, bytes))
            }
            Err(e) => Err(e),
        };
        match rebuilt {
            Ok((doc, bytes)) => {
                self.doc_bytes = bytes;
                self.doc = doc;
                self.replies.clear();
                self.watch = crate::touched::Watch::default();
                self.watch.watch(&self.doc);
                self.watch.take();
                self.policy
                    .changed(&self.doc, &crate::touched::Touched::everything());
            }
            Err(e) => {
                tracing::error!(doc = %self.doc_id, error = %e, "cannot reload document; closing its connections");
                self.kick_all(CloseReason::new(
                    1011,
                    "document unavailable, reconnect later",
                ));
                // What the doc holds beyond the disk cannot be dropped now: never serve it.
                self.unloadable = true;
            }
        }
    }

    /// Runs a read job on the blocking threads; the room waits, so the doc does not change under it.
    pub(super) async fn read(&mut self, job: Job) {
        let doc = self.doc.clone();
        if tokio::task::spawn_blocking(move || job(&doc))
            .await
            .is_err()
        {
            tracing::error!(doc = %self.doc_id, "a read job panicked");
        }
    }

    /// Folds the log up to `upto` into a snapshot; the snapshot is encoded before the room goes
    /// on, the store writes it in the background.
    pub(super) async fn compact_in_background(&mut self, upto: Seq) {
        let Some(snapshot) = encode_snapshot(&self.doc).await else {
            return;
        };
        self.metrics.compactions.fetch_add(1, Relaxed);
        let fut = self.store.compact(self.doc_id.as_str(), snapshot, upto);
        let doc_id = self.doc_id.clone();
        tokio::spawn(async move {
            if let Err(e) = fut.await {
                tracing::error!(doc = %doc_id, error = %e, "compaction failed; the log is kept");
            }
        });
    }

    /// Folds the log up to `upto` into a snapshot and waits for it (eviction, shutdown).
    pub(super) async fn compact_now(&mut self, upto: Seq) {
        let Some(snapshot) = encode_snapshot(&self.doc).await else {
            return;
        };
        self.metrics.compactions.fetch_add(1, Relaxed);
        if let Err(e) = self
            .store
            .compact(self.doc_id.as_str(), snapshot, upto)
            .await
        {
            tracing::error!(doc = %self.doc_id, error = %e, "final compaction failed; the log is kept");
        }
    }
}
