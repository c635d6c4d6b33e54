//! Board doc -> locked, and board doc -> its phase rules, as last published by the workshop docs'
//! policies, so a board's policy can check them without reading another doc.

use dashmap::{DashMap, DashSet};

use crate::board::phase::BoardRules;
use crate::doc_id::DocId;

/// Which boards are locked, per workshop.
#[derive(Debug, Default)]
pub struct Locks {
    locked: DashSet<DocId>,
    /// Phase, accelerator stage and kind of every board (board-schema §2 `control`).
    rules: DashMap<DocId, BoardRules>,
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

    /// The rules participants write under on board doc `doc`, once its workshop published them.
    pub fn rules(&self, doc: &DocId) -> Option<BoardRules> {
        self.rules.get(doc).map(|r| r.clone())
    }

    /// Replaces the rules of every board of workshop `wid`.
    pub fn publish_rules(&self, wid: &str, boards: impl IntoIterator<Item = (String, BoardRules)>) {
        let boards: Vec<(DocId, BoardRules)> = boards
            .into_iter()
            .filter_map(|(bid, rules)| DocId::board_of(wid, &bid).ok().map(|d| (d, rules)))
            .collect();
        self.rules
            .retain(|doc, _| doc.workshop() != wid || boards.iter().any(|(d, _)| d == doc));
        for (doc, rules) in boards {
            if self.rules.get(&doc).is_none_or(|r| *r != rules) {
                self.rules.insert(doc, rules);
            }
        }
    }
}
