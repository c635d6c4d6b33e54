//! Fault injection for the integration tests, compiled only with the `test-hooks` feature
//! (which only the tests crate enables): [`FaultyStore`] wraps the real store and, for the doc
//! ids a test names, fails appends or holds their answers back (and holds reads of named meta
//! records). Nothing a client sends can reach it, and a release build does not contain it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use tokio::sync::watch;

use super::{Seq, Store, StoreError, StoreStats, StoredDoc};

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

    fn workshop_bytes(&self, wid: &str) -> BoxFuture<'static, Result<u64, StoreError>> {
        self.inner.workshop_bytes(wid)
    }

    fn stats(&self) -> StoreStats {
        self.inner.stats()
    }

    fn shutdown(&self) -> BoxFuture<'static, Result<(), StoreError>> {
        self.inner.shutdown()
    }
}
