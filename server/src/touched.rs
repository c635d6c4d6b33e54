//! What a change touched in a doc, and the watch that records it: per root, the first-level keys
//! its changes landed under (a board's note ids, header fields…). Generic yrs: no schema, no IO.
//!
//! A policy that must compare a doc before and after an update (ownership, phases) keeps what it
//! read of the doc and re-reads only what the update touched, so a check costs what the update
//! changes, not the size of the board. The [`Watch`] gets this from yrs's deep observers, one
//! per root, which also flag a change landing too deep (yrs recurses over nested types, so a
//! hostile chain of maps could overflow a thread's stack).
//!
//! What the observers cannot see, and how it is covered:
//! - a root yrs has not been told the type of fires no event: the watch types every root as a
//!   map (the board schema's roots all are) before the next change can land in it, and reports a
//!   root it had not watched yet as touched whole;
//! - a nested type yrs reports no events for (a type ref it does not know, an XML hook) shows as
//!   `Out::UndefinedRef`: readers mark the entry holding one as opaque and re-read it at every
//!   check (`board::ownership`).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use yrs::types::{Event, Events, PathSegment};
use yrs::{DeepObservable, Doc, MapRef, Out, ReadTxn, Transact, TransactionMut, WriteTxn};

/// What changes touched in one root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keys {
    /// These first-level keys.
    Some(BTreeSet<Arc<str>>),
    /// Anything in it (a root seen for the first time, a change not under a key).
    Whole,
}

/// What a batch of changes touched in a doc.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Touched {
    /// The doc was replaced (loaded, rebuilt from disk): everything is new.
    everything: bool,
    roots: BTreeMap<Arc<str>, Keys>,
}

impl Touched {
    /// Everything: the doc was loaded or rebuilt.
    pub fn everything() -> Self {
        Touched {
            everything: true,
            roots: BTreeMap::new(),
        }
    }

    /// Whether the whole doc must be read again.
    pub fn is_everything(&self) -> bool {
        self.everything
    }

    /// Whether nothing was touched.
    pub fn is_empty(&self) -> bool {
        !self.everything && self.roots.is_empty()
    }

    /// Records a change under `key` of `root`.
    pub fn key(&mut self, root: &Arc<str>, key: &Arc<str>) {
        match self.roots.get_mut(root) {
            Some(Keys::Whole) => {}
            Some(Keys::Some(keys)) => {
                keys.insert(key.clone());
            }
            None => {
                self.roots
                    .insert(root.clone(), Keys::Some(BTreeSet::from([key.clone()])));
            }
        }
    }

    /// Records a change anywhere in `root`.
    pub fn whole(&mut self, root: &Arc<str>) {
        self.roots.insert(root.clone(), Keys::Whole);
    }

    /// The touched roots and what in each.
    pub fn roots(&self) -> impl Iterator<Item = (&str, &Keys)> {
        self.roots.iter().map(|(r, k)| (r.as_ref(), k))
    }

    /// Adds what `other` touched.
    pub fn merge(&mut self, other: Touched) {
        self.everything |= other.everything;
        for (root, keys) in other.roots {
            match keys {
                Keys::Whole => self.whole(&root),
                Keys::Some(ks) => {
                    for k in ks {
                        self.key(&root, &k);
                    }
                }
            }
        }
    }

    /// Records what one transaction's events on `root` (seen by its deep observer) touched.
    fn record(&mut self, root: &Arc<str>, txn: &TransactionMut, events: &Events) {
        for event in events.iter() {
            let path = event.path();
            match path.front() {
                Some(PathSegment::Key(key)) => self.key(root, key),
                Some(PathSegment::Index(_)) => self.whole(root),
                None => match event {
                    Event::Map(e) => {
                        for key in e.keys(txn).keys() {
                            self.key(root, key);
                        }
                    }
                    _ => self.whole(root),
                },
            }
        }
    }
}

/// Deepest nesting of types a change may land at (the board schema needs 3).
pub const MAX_DEPTH: usize = 64;
const WATCH: &str = "palabre-watch";

/// Watches a doc's roots: what changes touched since [`Watch::take`], and whether one landed
/// deeper than [`MAX_DEPTH`]. One watch per doc; a rebuilt doc gets a new one.
#[derive(Default)]
pub struct Watch {
    too_deep: Arc<AtomicBool>,
    touched: Arc<Mutex<Touched>>,
    watched: HashSet<Arc<str>>,
}

impl Watch {
    /// Watches every root of `doc` not watched yet. A root seen for the first time counts as
    /// touched whole (its content arrived unobserved); it is typed as a map first, so that yrs
    /// reports the changes made to it from now on. Call after every change to the doc.
    pub fn watch(&mut self, doc: &Doc) {
        let fresh: Vec<(Arc<str>, bool)> = {
            let txn = doc.transact();
            txn.root_refs()
                .filter(|(name, _)| !self.watched.contains(*name))
                .map(|(name, out)| (Arc::from(name), matches!(out, Out::UndefinedRef(_))))
                .collect()
        };
        if fresh.is_empty() {
            return;
        }
        if fresh.iter().any(|(_, untyped)| *untyped) {
            // Typing a root changes nothing stored: a root's type is never encoded.
            if let Ok(mut txn) = doc.try_transact_mut() {
                for (name, _) in fresh.iter().filter(|(_, untyped)| *untyped) {
                    txn.get_or_insert_map(name.clone());
                }
            }
        }
        let outs: Vec<(Arc<str>, Out)> = {
            let txn = doc.transact();
            fresh
                .into_iter()
                .filter_map(|(name, _)| txn.get(&name).map(|out| (name, out)))
                .collect()
        };
        for (name, out) in outs {
            let flag = self.too_deep.clone();
            let touched = self.touched.clone();
            let root = name.clone();
            let observe = move |txn: &TransactionMut, events: &Events| {
                if events.iter().any(|e| e.path().len() > MAX_DEPTH) {
                    flag.store(true, Relaxed);
                }
                if let Ok(mut t) = touched.lock() {
                    t.record(&root, txn, events);
                }
            };
            match out {
                Out::YMap(m) => m.observe_deep(WATCH, observe),
                Out::YArray(a) => a.observe_deep(WATCH, observe),
                Out::YText(t) => t.observe_deep(WATCH, observe),
                Out::YXmlFragment(x) => x.observe_deep(WATCH, observe),
                Out::YXmlElement(x) => x.observe_deep(WATCH, observe),
                Out::YXmlText(x) => x.observe_deep(WATCH, observe),
                Out::UndefinedRef(b) => MapRef::from(b).observe_deep(WATCH, observe),
                _ => {}
            }
            if let Ok(mut t) = self.touched.lock() {
                t.whole(&name);
            }
            self.watched.insert(name);
        }
    }

    /// What changes touched since the last call (and forgets it).
    pub fn take(&self) -> Touched {
        self.touched
            .lock()
            .map(|mut t| std::mem::take(&mut *t))
            .unwrap_or_else(|_| Touched::everything())
    }

    /// Forgets an earlier change landing too deep.
    pub fn reset_depth(&self) {
        self.too_deep.store(false, Relaxed);
    }

    /// Whether a change landed too deep since the last reset (and resets).
    pub fn tripped(&self) -> bool {
        self.too_deep.swap(false, Relaxed)
    }
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch")
            .field("watched", &self.watched.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrs::{Map, MapPrelim, Text, TextPrelim};

    fn keys(t: &Touched, root: &str) -> Option<Vec<String>> {
        t.roots().find(|(r, _)| *r == root).map(|(_, k)| match k {
            Keys::Whole => vec!["*".to_owned()],
            Keys::Some(ks) => ks.iter().map(|k| k.to_string()).collect(),
        })
    }

    /// A doc whose `notes` root holds `a` (with a text) and `b`, watched.
    fn watched() -> (Doc, Watch) {
        let doc = Doc::new();
        {
            let mut txn = doc.transact_mut();
            let notes = txn.get_or_insert_map("notes");
            for id in ["a", "b"] {
                let note = notes.insert(&mut txn, id, MapPrelim::default());
                note.insert(&mut txn, "text", TextPrelim::new("hello"));
            }
        }
        let mut watch = Watch::default();
        watch.watch(&doc);
        assert_eq!(keys(&watch.take(), "notes"), Some(vec!["*".to_owned()]));
        (doc, watch)
    }

    #[test]
    fn nested_changes_are_reported_under_their_first_key() {
        let (doc, watch) = watched();
        {
            let mut txn = doc.transact_mut();
            let notes = txn.get_map("notes").expect("notes");
            let Some(Out::YMap(a)) = notes.get(&txn, "a") else {
                panic!("a");
            };
            let Some(Out::YText(text)) = a.get(&txn, "text") else {
                panic!("text");
            };
            text.push(&mut txn, "!");
            notes.insert(&mut txn, "c", "plain");
            notes.remove(&mut txn, "b");
        }
        let t = watch.take();
        assert_eq!(
            keys(&t, "notes"),
            Some(vec!["a".to_owned(), "b".to_owned(), "c".to_owned()])
        );
        assert!(watch.take().is_empty(), "taken once");
    }

    #[test]
    fn a_root_seen_for_the_first_time_is_touched_whole_and_typed() {
        let (doc, mut watch) = watched();
        // An update from elsewhere creates root `columns`, untyped until read.
        let other = Doc::new();
        {
            let mut txn = other.transact_mut();
            txn.get_or_insert_map("columns").insert(&mut txn, "k", 1);
        }
        let update = other
            .transact()
            .encode_state_as_update_v1(&yrs::StateVector::default());
        {
            let mut txn = doc.transact_mut();
            let update = yrs::updates::decoder::Decode::decode_v1(&update).expect("decode");
            txn.apply_update(update).expect("apply");
        }
        watch.watch(&doc);
        assert_eq!(keys(&watch.take(), "columns"), Some(vec!["*".to_owned()]));
        // From now on its changes are seen key by key.
        {
            let mut txn = doc.transact_mut();
            txn.get_or_insert_map("columns").insert(&mut txn, "j", 2);
        }
        assert_eq!(keys(&watch.take(), "columns"), Some(vec!["j".to_owned()]));
    }

    #[test]
    fn merge_keeps_whole_roots_whole() {
        let root: Arc<str> = Arc::from("notes");
        let mut a = Touched::default();
        a.key(&root, &Arc::from("x"));
        let mut b = Touched::default();
        b.whole(&root);
        a.merge(b);
        assert_eq!(keys(&a, "notes"), Some(vec!["*".to_owned()]));
        assert!(!a.is_everything());
        a.merge(Touched::everything());
        assert!(a.is_everything());
    }
}
