//! Board doc -> locked, its phase rules, and which boards are on each agenda, as last published
//! by the workshop docs' policies, so a board's policy can check them without reading another doc.

use std::collections::HashSet;

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
    /// Board ids on each workshop's agenda.
    agenda: DashMap<String, HashSet<String>>,
    /// Boards seen on an agenda since start and removed from it since.
    removed: DashSet<DocId>,
}

/// Where a board stands with its workshop's agenda.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// On the agenda.
    OnAgenda,
    /// Was on the agenda since the server started, and was removed: read-only but for the
    /// facilitator.
    Removed,
    /// Not on the agenda (never was, or removed before the server started): not served but to
    /// the facilitator.
    Unknown,
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

    /// Where board doc `doc` stands with its workshop's agenda (as last published).
    pub fn standing(&self, doc: &DocId) -> Standing {
        let on = doc.board().is_some_and(|bid| {
            self.agenda
                .get(doc.workshop())
                .is_some_and(|a| a.contains(bid))
        });
        if on {
            Standing::OnAgenda
        } else if self.removed.contains(doc) {
            Standing::Removed
        } else {
            Standing::Unknown
        }
    }

    /// How many boards workshop `wid`'s agenda holds (as last published).
    pub fn boards(&self, wid: &str) -> usize {
        self.agenda.get(wid).map_or(0, |a| a.len())
    }

    /// Replaces the agenda of workshop `wid`; boards that left it are remembered as removed.
    pub fn publish_agenda(&self, wid: &str, boards: impl IntoIterator<Item = String>) {
        let now: HashSet<String> = boards.into_iter().collect();
        for bid in &now {
            if let Ok(doc) = DocId::board_of(wid, bid) {
                self.removed.remove(&doc);
            }
        }
        let before = self.agenda.insert(wid.to_string(), now.clone());
        for bid in before.iter().flatten().filter(|b| !now.contains(*b)) {
            if let Ok(doc) = DocId::board_of(wid, bid) {
                self.removed.insert(doc);
            }
        }
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
