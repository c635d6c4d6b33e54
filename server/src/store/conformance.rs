//! What every [`Store`] backend must do, as tests written once and run against SQLite
//! (`sqlite/tests.rs`) and PostgreSQL (`postgres/tests.rs`).
//!
//! The updates are real Yjs updates (a map key per write) and documents are compared by
//! content, because PostgreSQL compaction merges the log rather than storing the caller's
//! snapshot as is.

use std::collections::BTreeSet;

use bytes::Bytes;
use yrs::updates::decoder::Decode;
use yrs::{Doc, Map, ReadTxn, StateVector, Transact, Update};

use super::{Seq, Store, StoredDoc};

/// A writer producing one Yjs update per call: a new key in map `m`.
pub(crate) struct Author {
    doc: Doc,
}

impl Author {
    pub(crate) fn new(client_id: u64) -> Self {
        Self {
            doc: Doc::with_client_id(client_id),
        }
    }

    /// The update that adds `key` to map `m`.
    pub(crate) fn write(&self, key: &str) -> Bytes {
        let map = self.doc.get_or_insert_map("m");
        let before = self.doc.transact().state_vector();
        let mut txn = self.doc.transact_mut();
        map.insert(&mut txn, key, key.to_owned());
        Bytes::from(txn.encode_state_as_update_v1(&before))
    }

    /// Full state, as a room's snapshot.
    pub(crate) fn snapshot(&self) -> Vec<u8> {
        self.doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default())
    }
}

/// The keys of map `m` in the doc rebuilt from what the store holds.
pub(crate) fn keys(stored: &StoredDoc) -> BTreeSet<String> {
    let doc = Doc::new();
    {
        let mut txn = doc.transact_mut();
        for bytes in stored
            .snapshot
            .iter()
            .chain(stored.updates.iter().map(|(_, u)| u))
        {
            let update = Update::decode_v1(bytes).expect("stored bytes decode");
            txn.apply_update(update).expect("stored update applies");
        }
    }
    let map = doc.get_or_insert_map("m");
    let txn = doc.transact();
    map.keys(&txn).map(str::to_owned).collect()
}

fn seqs(stored: &StoredDoc) -> Vec<Seq> {
    stored.updates.iter().map(|(seq, _)| *seq).collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// Sequence numbers start at 1 per doc and loads return entries in append order.
pub(crate) async fn appends_load_back_in_order(store: &dyn Store) {
    let a = Author::new(1);
    let b = Author::new(2);
    assert_eq!(store.append("w1", a.write("a")).await.expect("append"), 1);
    assert_eq!(
        store.append("w1.b1", b.write("x")).await.expect("append"),
        1
    );
    assert_eq!(store.append("w1", a.write("b")).await.expect("append"), 2);
    assert_eq!(store.append("w1", a.write("c")).await.expect("append"), 3);
    let doc = store.load("w1").await.expect("load");
    assert_eq!(doc.snapshot, None);
    assert_eq!(seqs(&doc), [1, 2, 3]);
    assert_eq!(keys(&doc), set(&["a", "b", "c"]));
    assert_eq!(
        store.load("never-written").await.expect("load"),
        StoredDoc::default()
    );
}

/// Compaction keeps the entries after `upto`, and later appends continue the numbering.
pub(crate) async fn compaction_keeps_later_entries(store: &dyn Store) {
    let a = Author::new(3);
    for key in ["1", "2", "3"] {
        store.append("doc", a.write(key)).await.expect("append");
    }
    let at_three = a.snapshot();
    for key in ["4", "5"] {
        store.append("doc", a.write(key)).await.expect("append");
    }
    let compaction = store.compact("doc", at_three, 3);
    let later = store.append("doc", a.write("6"));
    compaction.await.expect("compact");
    assert_eq!(later.await.expect("append"), 6);
    let doc = store.load("doc").await.expect("load");
    assert!(doc.snapshot.is_some());
    assert_eq!(doc.snapshot_seq, 3);
    assert_eq!(seqs(&doc), [4, 5, 6]);
    assert_eq!(keys(&doc), set(&["1", "2", "3", "4", "5", "6"]));

    // An older snapshot arriving late changes nothing.
    let stale = Author::new(3);
    stale.write("1");
    store
        .compact("doc", stale.snapshot(), 2)
        .await
        .expect("stale compact");
    let again = store.load("doc").await.expect("load");
    assert_eq!(again.snapshot_seq, 3);
    assert_eq!(keys(&again), keys(&doc));

    // Compacting everything leaves no entry: the next seq continues after the mark.
    store
        .compact("doc", a.snapshot(), 6)
        .await
        .expect("compact all");
    assert_eq!(store.append("doc", a.write("7")).await.expect("append"), 7);
    let last = store.load("doc").await.expect("load");
    assert_eq!(seqs(&last), [7]);
    assert_eq!(keys(&last), set(&["1", "2", "3", "4", "5", "6", "7"]));
}

/// Meta records round-trip and replace; an empty value is a value.
pub(crate) async fn meta_records_round_trip(store: &dyn Store) {
    assert_eq!(store.get_meta("workshops").await.expect("get"), None);
    store
        .put_meta("workshops", b"[1]".to_vec())
        .await
        .expect("put");
    store
        .put_meta("workshops", b"[1,2]".to_vec())
        .await
        .expect("put");
    store.put_meta("empty", Vec::new()).await.expect("put");
    assert_eq!(
        store.get_meta("workshops").await.expect("get"),
        Some(b"[1,2]".to_vec())
    );
    assert_eq!(
        store.get_meta("empty").await.expect("get"),
        Some(Vec::new())
    );
}

/// `list_docs` names the docs under a prefix that hold anything, snapshot or log, sorted.
pub(crate) async fn list_docs_by_prefix(store: &dyn Store) {
    let a = Author::new(11);
    for doc in [
        "w.b~dev2", "w.b~dev1", "w.b", "w.bb~x", "w.c~dev1", "v.b~dev1",
    ] {
        store.append(doc, a.write(doc)).await.expect("append");
    }
    // A compacted doc has no log entries left, only its snapshot.
    let seq = store
        .append("w.b~dev3", a.write("dev3"))
        .await
        .expect("append");
    store
        .compact("w.b~dev3", a.snapshot(), seq)
        .await
        .expect("compact");
    store.flush().await.expect("flush");
    assert_eq!(
        store.list_docs("w.b~").await.expect("list"),
        ["w.b~dev1", "w.b~dev2", "w.b~dev3"]
    );
    assert!(store.list_docs("w.z~").await.expect("list").is_empty());
    assert!(store.list_docs("").await.expect("list").is_empty());
    store.delete("w.b~dev2").await.expect("delete");
    assert_eq!(
        store.list_docs("w.b~").await.expect("list"),
        ["w.b~dev1", "w.b~dev3"]
    );
}

/// Delete removes one doc entirely; a doc re-created after it starts a fresh log.
pub(crate) async fn delete_removes_one_doc(store: &dyn Store) {
    let a = Author::new(4);
    for key in ["a", "b", "c"] {
        store.append("gone", a.write(key)).await.expect("append");
    }
    store
        .compact("gone", a.snapshot(), 2)
        .await
        .expect("compact");
    let k = Author::new(5);
    store.append("kept", k.write("k")).await.expect("append");
    store.delete("gone").await.expect("delete");
    assert_eq!(
        store.load("gone").await.expect("load"),
        StoredDoc::default()
    );
    assert_eq!(keys(&store.load("kept").await.expect("load")), set(&["k"]));
    let fresh = Author::new(6);
    assert_eq!(
        store
            .append("gone", fresh.write("new"))
            .await
            .expect("append"),
        1
    );
    assert_eq!(
        keys(&store.load("gone").await.expect("load")),
        set(&["new"])
    );
}

/// Appends queued together from many tasks are all acknowledged with distinct, gap-free seqs,
/// and `flush` resolves after them.
pub(crate) async fn concurrent_appends_are_all_acknowledged(store: &dyn Store) {
    const APPENDS: u64 = 100;
    let authors: Vec<Author> = (0..4).map(|i| Author::new(100 + i)).collect();
    let pending: Vec<_> = (0..APPENDS)
        .map(|i| {
            let doc = format!("doc{}", i % 4);
            let update = authors[(i % 4) as usize].write(&format!("k{i}"));
            (doc.clone(), store.append(&doc, update))
        })
        .collect();
    let flushed = store.flush();
    let mut acked: Vec<(String, Seq)> = Vec::new();
    for (doc, append) in pending {
        acked.push((doc, append.await.expect("append")));
    }
    flushed.await.expect("flush");
    for d in 0..4 {
        let doc = format!("doc{d}");
        let mut mine: Vec<Seq> = acked
            .iter()
            .filter(|(name, _)| *name == doc)
            .map(|(_, seq)| *seq)
            .collect();
        mine.sort_unstable();
        assert_eq!(mine, (1..=APPENDS / 4).collect::<Vec<_>>());
        let stored = store.load(&doc).await.expect("load");
        assert_eq!(keys(&stored).len() as u64, APPENDS / 4);
    }
    let stats = store.stats();
    assert_eq!(stats.rows_appended, APPENDS);
    assert!(stats.commits >= 1);
}
