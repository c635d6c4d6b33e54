//! Applying an update to the room's doc: yrs validates it, a panic inside yrs is caught and
//! reported as a poisoned doc, and the depth guard flags changes nested too deeply; plus whether
//! an update would change anything at all. No policy and no pipeline: `writes` decides what to
//! do with the outcome.

use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;

use yrs::{Doc, ReadTxn, Transact, Update};

use super::Room;
use crate::protocol;

/// Deepest nesting of types a change may land at (the board schema needs 3).
const MAX_DEPTH: usize = 64;
const DEPTH_WATCH: &str = "palabre-depth-watch";

/// yrs recurses over nested types when it deletes or encodes them, so a hostile chain of maps a
/// few hundred thousand deep could overflow a thread's stack. Every root type gets a deep
/// observer that flags a change landing deeper than `MAX_DEPTH`; a new subtree is seen when the
/// next change attaches to it, so a chain can never grow past one message's worth.
#[derive(Default)]
pub(super) struct DepthGuard {
    too_deep: Arc<AtomicBool>,
    watched: HashSet<Arc<str>>,
}

impl DepthGuard {
    /// Watches every root type of `doc` not watched yet.
    pub(super) fn watch(&mut self, doc: &Doc) {
        let roots: Vec<(Arc<str>, yrs::Out)> = {
            let txn = doc.transact();
            txn.root_refs()
                .filter(|(name, _)| !self.watched.contains(*name))
                .map(|(name, out)| (Arc::from(name), out))
                .collect()
        };
        for (name, out) in roots {
            let flag = self.too_deep.clone();
            let watch = move |_: &yrs::TransactionMut, events: &yrs::types::Events| {
                if events.iter().any(|e| e.path().len() > MAX_DEPTH) {
                    flag.store(true, Relaxed);
                }
            };
            use yrs::DeepObservable;
            match out {
                yrs::Out::YMap(m) => m.observe_deep(DEPTH_WATCH, watch),
                yrs::Out::YArray(a) => a.observe_deep(DEPTH_WATCH, watch),
                yrs::Out::YText(t) => t.observe_deep(DEPTH_WATCH, watch),
                yrs::Out::YXmlFragment(x) => x.observe_deep(DEPTH_WATCH, watch),
                yrs::Out::YXmlElement(x) => x.observe_deep(DEPTH_WATCH, watch),
                yrs::Out::YXmlText(x) => x.observe_deep(DEPTH_WATCH, watch),
                yrs::Out::UndefinedRef(b) => yrs::MapRef::from(b).observe_deep(DEPTH_WATCH, watch),
                _ => {}
            }
            self.watched.insert(name);
        }
    }

    pub(super) fn reset(&self) {
        self.too_deep.store(false, Relaxed);
    }

    /// Whether a change landed too deep since the last reset (and resets).
    pub(super) fn tripped(&self) -> bool {
        self.too_deep.swap(false, Relaxed)
    }
}

/// Why an update could not be applied.
pub(super) struct ApplyFailure {
    message: String,
    /// The doc may have been changed before the failure and must be rebuilt.
    pub(super) poisoned: bool,
}

impl std::fmt::Display for ApplyFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// An update with no structs and no deletions (what a client in step sends as sync step 2).
pub(super) fn is_empty_update(update: &[u8]) -> bool {
    update == [0, 0]
}

impl Room {
    /// True when applying `update` would change nothing: every block is known and every
    /// deletion already applied.
    pub(super) fn changes_nothing(&self, update: &[u8]) -> bool {
        let Ok(update) = protocol::decode_update(update) else {
            return false;
        };
        let txn = self.doc.transact();
        let mut have = yrs::IdSet::default();
        for (client, clock) in txn.state_vector().iter() {
            have.insert(yrs::ID::new(*client, 0), *clock);
        }
        let mut new_items = update.insertions(true);
        new_items.diff_with(&have);
        if !new_items.is_empty() {
            return false;
        }
        let mut new_deletions = update.delete_set().clone();
        new_deletions.diff_with(&txn.snapshot().delete_set);
        new_deletions.is_empty()
    }

    pub(super) fn apply_bytes(&mut self, bytes: &[u8]) -> Result<(), ApplyFailure> {
        let update = protocol::decode_update(bytes).map_err(|e| ApplyFailure {
            message: e.to_string(),
            poisoned: false,
        })?;
        self.apply(update)
    }

    fn apply(&mut self, update: Update) -> Result<(), ApplyFailure> {
        let doc = &self.doc;
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let mut txn = doc.try_transact_mut().map_err(|e| e.to_string())?;
            txn.apply_update(update).map_err(|e| e.to_string())
        }));
        self.replies.clear();
        match outcome {
            Ok(Ok(())) => Ok(()),
            // The update may have been partly integrated before yrs gave up.
            Ok(Err(message)) => Err(ApplyFailure {
                message,
                poisoned: true,
            }),
            Err(_) => Err(ApplyFailure {
                message: "the document engine failed on it".into(),
                poisoned: true,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yrs::updates::decoder::Decode;
    use yrs::StateVector;

    #[test]
    fn empty_update_is_recognised() {
        let doc = Doc::new();
        let empty = doc
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        assert!(is_empty_update(&empty));
        assert!(Update::decode_v1(&empty).is_ok());
    }
}
