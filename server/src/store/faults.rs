//! Fault injection for the integration tests, compiled only with the `test-hooks` feature
//! (which only the tests crate enables): [`FaultyStore`] wraps the real store and, for the doc
//! ids a test names, fails appends or holds their answers back (and holds reads of named meta
//! records); and [`slow_commits`] makes one SQLite store's writer as slow as a slow disk.
//! Nothing a client sends can reach it, and a release build does not contain it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use tokio::sync::watch;

use super::backlog::Weigh;
use super::{Backlog, Seq, Store, StoreError, StoreStats, StoredDoc};

#[derive(Default)]
struct Fault {
    /// Appends still to fail.
    fail: u32,
    /// While set, answers to appends wait until it turns true.
    hold: Option<watch::Receiver<bool>>,
}

static FAULTS: Mutex<Option<HashMap<String, Fault>>> = Mutex::new(None);

fn faults() -> MutexGuard<'static, Option<HashMap<String, Fault>>> {
    FAULTS.lock().unwrap_or_else(|p| p.into_inner())
}

/// The next `n` appends to `doc` fail (as a full disk would), in any server of this process.
pub fn fail_appends(doc: &str, n: u32) {
    faults()
        .get_or_insert_with(HashMap::new)
        .entry(doc.to_string())
        .or_default()
        .fail = n;
}

/// Appends to `doc` wait, unwritten, until the returned gate is released or dropped: a commit
/// stays in flight, and the disk does not have it yet.
pub fn hold_appends(doc: &str) -> Gate {
    let (tx, rx) = watch::channel(false);
    faults()
        .get_or_insert_with(HashMap::new)
        .entry(doc.to_string())
        .or_default()
        .hold = Some(rx);
    Gate {
        doc: doc.to_string(),
        tx,
    }
}

/// Reads of the meta record `key` (e.g. `workshop-credentials:{wid}`) wait until the returned
/// gate is released or dropped: whatever needs that record (a credential check) stays in flight.
pub fn hold_meta_reads(key: &str) -> Gate {
    hold_appends(&meta_fault(key))
}

fn meta_fault(key: &str) -> String {
    format!("meta read {key}")
}

/// Releases held appends of one doc when [`Gate::release`]d or dropped.
#[derive(Debug)]
pub struct Gate {
    doc: String,
    tx: watch::Sender<bool>,
}

impl Gate {
    /// Lets every held answer through, and stops holding new ones.
    pub fn release(self) {}
}

impl Drop for Gate {
    fn drop(&mut self) {
        if let Some(f) = faults().as_mut().and_then(|m| m.get_mut(&self.doc)) {
            f.hold = None;
        }
        let _ = self.tx.send(true);
    }
}

/// How slow a store's disk is made: a fixed time per commit plus its bytes at a given rate.
#[derive(Debug, Clone, Copy)]
struct Slow {
    per_commit: Duration,
    bytes_per_sec: u64,
}

static SLOW: Mutex<Vec<(PathBuf, Slow)>> = Mutex::new(Vec::new());

fn slow() -> MutexGuard<'static, Vec<(PathBuf, Slow)>> {
    SLOW.lock().unwrap_or_else(|p| p.into_inner())
}

/// Every commit of the SQLite store under `data_dir` takes `per_commit` plus its bytes at
/// `bytes_per_sec` (the writer thread sleeps, as it would in a slow fsync), until the returned
/// guard is dropped. Other servers of the process are not slowed.
pub fn slow_commits(data_dir: &Path, per_commit: Duration, bytes_per_sec: u64) -> SlowCommits {
    let slow_down = Slow {
        per_commit,
        bytes_per_sec: bytes_per_sec.max(1),
    };
    let mut all = slow();
    all.retain(|(dir, _)| dir != data_dir);
    all.push((data_dir.to_path_buf(), slow_down));
    SlowCommits {
        data_dir: data_dir.to_path_buf(),
    }
}

/// Keeps a store slow ([`slow_commits`]) until dropped.
#[derive(Debug)]
pub struct SlowCommits {
    data_dir: PathBuf,
}

impl Drop for SlowCommits {
    fn drop(&mut self) {
        slow().retain(|(dir, _)| *dir != self.data_dir);
    }
}

/// How long the writer of the database at `db` sleeps before committing `ops`, if slowed.
pub(crate) fn commit_delay<W: Weigh>(db: &Path, ops: &[&W]) -> Option<Duration> {
    let slow_down = slow()
        .iter()
        .find(|(dir, _)| db.starts_with(dir))
        .map(|(_, s)| *s)?;
    let bytes: u64 = ops.iter().map(|op| op.weight()).sum();
    let secs = bytes as f64 / slow_down.bytes_per_sec as f64;
    Some(slow_down.per_commit + Duration::from_secs_f64(secs))
}

/// The real store, with the faults above applied to the docs tests name.
pub struct FaultyStore {
    inner: Arc<dyn Store>,
}

impl std::fmt::Debug for FaultyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FaultyStore")
    }
}

impl FaultyStore {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Store>) -> Self {
        FaultyStore { inner }
    }
}

impl Store for FaultyStore {
    fn load(&self, doc: &str) -> BoxFuture<'static, Result<StoredDoc, StoreError>> {
        self.inner.load(doc)
    }

    fn append(&self, doc: &str, update: Bytes) -> BoxFuture<'static, Result<Seq, StoreError>> {
        let (fail, hold) = {
            let mut guard = faults();
            match guard.as_mut().and_then(|m| m.get_mut(doc)) {
                Some(f) if f.fail > 0 => {
                    f.fail -= 1;
                    (true, None)
                }
                Some(f) => (false, f.hold.clone()),
                None => (false, None),
            }
        };
        if fail {
            return Box::pin(std::future::ready(Err(StoreError::Database(
                "injected fault: disk full".into(),
            ))));
        }
        let Some(mut hold) = hold else {
            return self.inner.append(doc, update);
        };
        let (inner, doc) = (self.inner.clone(), doc.to_string());
        Box::pin(async move {
            let _ = hold.wait_for(|released| *released).await;
            inner.append(&doc, update).await
        })
    }

    fn compact(
        &self,
        doc: &str,
        snapshot: Vec<u8>,
        upto: Seq,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        self.inner.compact(doc, snapshot, upto)
    }

    fn delete(&self, doc: &str) -> BoxFuture<'static, Result<(), StoreError>> {
        self.inner.delete(doc)
    }

    fn get_meta(&self, key: &str) -> BoxFuture<'static, Result<Option<Vec<u8>>, StoreError>> {
        let hold = faults()
            .as_ref()
            .and_then(|m| m.get(&meta_fault(key)))
            .and_then(|f| f.hold.clone());
        let Some(mut hold) = hold else {
            return self.inner.get_meta(key);
        };
        let (inner, key) = (self.inner.clone(), key.to_string());
        Box::pin(async move {
            let _ = hold.wait_for(|released| *released).await;
            inner.get_meta(&key).await
        })
    }

    fn put_meta(&self, key: &str, value: Vec<u8>) -> BoxFuture<'static, Result<(), StoreError>> {
        self.inner.put_meta(key, value)
    }

    fn flush(&self) -> BoxFuture<'static, Result<(), StoreError>> {
        self.inner.flush()
    }

    fn delete_workshop(&self, wid: &str) -> BoxFuture<'static, Result<(), StoreError>> {
        self.inner.delete_workshop(wid)
    }

    fn meta_keys(&self, prefix: &str) -> BoxFuture<'static, Result<Vec<String>, StoreError>> {
        self.inner.meta_keys(prefix)
    }

    fn list_docs(&self, prefix: &str) -> BoxFuture<'static, Result<Vec<String>, StoreError>> {
        self.inner.list_docs(prefix)
    }

    fn workshop_bytes(&self, wid: &str) -> BoxFuture<'static, Result<u64, StoreError>> {
        self.inner.workshop_bytes(wid)
    }

    fn stats(&self) -> StoreStats {
        self.inner.stats()
    }

    fn backlog(&self) -> Arc<Backlog> {
        self.inner.backlog()
    }

    fn shutdown(&self) -> BoxFuture<'static, Result<(), StoreError>> {
        self.inner.shutdown()
    }
}
