//! What a connection may change in the doc it is attached to, decided per message.
//!
//! The HTTP layer maps a credential's [`crate::auth::Role`] and the doc kind to an [`Access`]
//! once, at upgrade time; the room asks [`Access::may_write`] for every update. Board locks are
//! facilitator control state kept in the workshop doc: the workshop's room republishes them into
//! [`Locks`] after every change, so a board's room can check them without reading another doc.

use dashmap::DashMap;

use crate::board::phase::BoardRules;
use crate::board::schema::board_root;

/// A connection's write rights on one doc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// May change anything (facilitator, or an open doc outside any workshop).
    Full,
    /// May change nothing; the reason is told to the client when it tries.
    ReadOnly(&'static str),
    /// A participant on a board: may write unless the facilitator locked the board.
    UnlessLocked,
}

/// Why a write was refused; sent to the client as a y-protocols permission-denied message.
pub const LOCKED: &str = crate::board::phase::LOCKED;

impl Access {
    /// Whether an update to `doc_id` is allowed now.
    pub fn may_write(&self, doc_id: &str, locks: &Locks) -> Result<(), &'static str> {
        match self {
            Access::Full => Ok(()),
            Access::ReadOnly(reason) => Err(reason),
            Access::UnlessLocked => match locks.rules(doc_id) {
                Some(rules) => rules.forbids_all().map_or(Ok(()), Err),
                None => Ok(()),
            },
        }
    }

    /// Whether presence (awareness) may be announced: everyone but a read-only viewer.
    pub fn may_announce(&self) -> bool {
        !matches!(self, Access::ReadOnly(reason) if *reason == VIEWER)
    }
}

/// Reason given to a viewer (projector link) that tries to write.
pub const VIEWER: &str = "this link is read-only (projector)";
/// Reason given to a participant that tries to change the workshop doc.
pub const WORKSHOP_DOC: &str = "only the facilitator can change the agenda and controls";

/// Board doc id -> the board's rules (lock, phase, stage), as last published by the workshop
/// rooms.
#[derive(Debug, Default)]
pub struct Locks {
    rules: DashMap<String, BoardRules>,
    /// Workshops whose locks have been published at least once since start.
    known: dashmap::DashSet<String>,
}

impl Locks {
    /// Whether the board doc `doc_id` is locked.
    pub fn is_locked(&self, doc_id: &str) -> bool {
        self.rules.get(doc_id).is_some_and(|r| r.locked)
    }

    /// The rules participants write under on board doc `doc_id`, when its workshop set any.
    pub fn rules(&self, doc_id: &str) -> Option<BoardRules> {
        self.rules.get(doc_id).map(|r| r.clone())
    }

    /// Whether workshop `wid` has published its locks since start.
    pub fn knows(&self, wid: &str) -> bool {
        self.known.contains(wid)
    }

    /// Replaces the rules of every board of workshop `wid`.
    pub fn publish(&self, wid: &str, boards: impl IntoIterator<Item = (String, BoardRules)>) {
        if !self.known.contains(wid) {
            self.known.insert(wid.to_string());
        }
        let prefix = format!("{wid}.");
        let boards: Vec<(String, BoardRules)> = boards
            .into_iter()
            .map(|(bid, rules)| (format!("{prefix}{bid}"), rules))
            .collect();
        self.rules
            .retain(|doc, _| !doc.starts_with(&prefix) || boards.iter().any(|(d, _)| d == doc));
        for (doc, rules) in boards {
            let changed = self.rules.get(&doc).is_none_or(|r| *r != rules);
            if changed {
                self.rules.insert(doc, rules);
            }
        }
    }
}

/// The rules of every board listed in a workshop doc (docs/board-schema.md §2).
pub fn locked_boards(workshop: &yrs::Doc) -> Vec<(String, BoardRules)> {
    crate::board::phase::rules_of(workshop)
}

/// How many items people have put on a board: notes, cards, accelerator items, answers
/// (docs/board-schema.md §4), the quantity the `max_items` limit caps.
pub fn item_count(board: &yrs::Doc) -> usize {
    use yrs::{Map, ReadTxn, Transact};
    let txn = board.transact();
    [
        board_root::NOTES,
        board_root::CARDS,
        board_root::ITEMS,
        board_root::ANSWERS,
    ]
    .iter()
    .filter_map(|root| txn.get_map(*root))
    .map(|m| m.len(&txn) as usize)
    .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn participants_write_until_the_board_is_locked() {
        let locks = Locks::default();
        assert!(Access::UnlessLocked.may_write("w.b1", &locks).is_ok());
        let locked = BoardRules {
            locked: true,
            ..BoardRules::default()
        };
        locks.publish(
            "w",
            [
                ("b1".to_string(), locked),
                ("b2".to_string(), BoardRules::default()),
            ],
        );
        assert_eq!(Access::UnlessLocked.may_write("w.b1", &locks), Err(LOCKED));
        assert!(Access::UnlessLocked.may_write("w.b2", &locks).is_ok());
        assert!(Access::Full.may_write("w.b1", &locks).is_ok());
        locks.publish("w", []);
        assert!(Access::UnlessLocked.may_write("w.b1", &locks).is_ok());
    }

    #[test]
    fn viewers_never_write_nor_announce() {
        let locks = Locks::default();
        assert!(Access::ReadOnly(VIEWER).may_write("w", &locks).is_err());
        assert!(!Access::ReadOnly(VIEWER).may_announce());
        assert!(Access::ReadOnly(WORKSHOP_DOC).may_announce());
    }
}
