//! Board doc -> locked, as last published by the workshop docs' policies, so a board's policy
//! can check a lock without reading another doc.

use dashmap::{DashMap, DashSet};

use crate::doc_id::DocId;

/// Which boards are locked, per workshop.
#[derive(Debug, Default)]
pub struct Locks {
    locked: DashSet<DocId>,
    /// Workshops whose locks have been published at least once since start.
    known: DashMap<String, ()>,
}

impl Locks {
    /// Whether the board doc `doc` is locked.
    pub fn is_locked(&self, doc: &DocId) -> bool {
        self.locked.contains(doc)
    }

    /// Whether workshop `wid` has published its locks since start.
    pub fn knows(&self, wid: &str) -> bool {
        self.known.contains_key(wid)
    }

    /// Replaces the lock state of every board of workshop `wid`.
    pub fn publish(&self, wid: &str, boards: impl IntoIterator<Item = (String, bool)>) {
        if !self.known.contains_key(wid) {
            self.known.insert(wid.to_string(), ());
        }
        self.locked.retain(|doc| doc.workshop() != wid);
        for (bid, locked) in boards {
            if !locked {
                continue;
            }
            if let Ok(doc) = DocId::board_of(wid, &bid) {
                self.locked.insert(doc);
            }
        }
    }
}
